"""Read a shop's home page for its brand: name, logo candidates, theme colour, stylesheets, copy.

Structured data (JSON-LD, microdata, OpenGraph) is read with extruct; the DOM with lxml. Every
fact keeps a `source` string so brand.yaml can say where each value came from.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import extruct
import lxml.html
from lxml import etree

log = logging.getLogger(__name__)

# schema.org types that name the business itself (not a product it sells)
ORG_TYPES = {"Organization", "Corporation", "Brand", "LocalBusiness", "Store", "OnlineStore", "OnlineBusiness"}
_LOGO_HINT = re.compile(r"logo|brand-?mark|site-?mark", re.I)
_WS = re.compile(r"\s+")
# "Home | Northbean Roasters", "Northbean Roasters – Coffee gear"
_TITLE_SPLIT = re.compile(r"\s+[|–—·:-]\s+")


@dataclass(frozen=True)
class Sourced:
    """A value and where on the site it was found."""

    value: str
    source: str


@dataclass(frozen=True)
class LogoCandidate:
    """A logo to try: a URL, or inline SVG markup (`svg`); `size` is the declared icon size."""

    source: str
    url: str | None = None
    svg: str | None = None
    size: int = 0


@dataclass
class SiteFacts:
    """What the page says about the brand."""

    url: str
    name: Sourced | None = None
    logos: list[LogoCandidate] = field(default_factory=list)
    theme_color: str | None = None
    stylesheets: list[str] = field(default_factory=list)  # absolute URLs, in page order
    inline_css: list[Sourced] = field(default_factory=list)  # <style> blocks and style="" attributes
    description: str | None = None
    headlines: list[str] = field(default_factory=list)
    language: str | None = None


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def _types(item: dict) -> set[str]:
    kind = item.get("@type") or item.get("type") or []
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds}


def _walk(items: list) -> list[dict]:
    """Every dict in the structured data, including nested ones and @graph members."""
    found: list[dict] = []
    stack = list(items)
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            found.append(item)
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _url_of(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _url_of(value.get("url") or value.get("contentUrl") or value.get("@id"))
    if isinstance(value, list) and value:
        return _url_of(value[0])
    return None


def _name_of(value: object) -> str | None:
    if isinstance(value, str):
        return _clean(value) or None
    if isinstance(value, list) and value:
        return _name_of(value[0])
    if isinstance(value, dict):
        return _name_of(value.get("name"))
    return None


def _structured(html: str, url: str) -> tuple[list[dict], dict[str, str]]:
    try:
        data = extruct.extract(html, base_url=url, syntaxes=["json-ld", "microdata", "opengraph"], uniform=True)
    except Exception as exc:  # extruct raises parser-specific errors on broken markup; fewer facts, no crash
        log.warning("structured data on %s unreadable: %s", url, exc)
        return [], {}
    items = _walk(data.get("json-ld", []) + data.get("microdata", []))
    og: dict[str, str] = {}
    for entry in data.get("opengraph", []):
        for key, value in entry.items():
            if isinstance(value, str) and key not in og:
                og[key] = value
    return items, og


def _marker(el: etree._Element) -> str:
    return " ".join(el.get(a, "") for a in ("class", "id", "alt", "aria-label", "title", "src", "data-src"))


def _in_header(el: etree._Element) -> bool:
    for parent in el.iterancestors():
        if parent.tag in ("header", "nav") or re.search(r"header|masthead|navbar", _marker(parent), re.I):
            return True
    return False


def _icon_size(sizes: str | None) -> int:
    best = 0
    for token in (sizes or "").split():
        w, _, h = token.lower().partition("x")
        if w.isdigit() and h.isdigit():
            best = max(best, min(int(w), int(h)))
        elif token.lower() == "any":
            best = max(best, 10_000)  # "any" is a scalable (SVG) icon
    return best


def _dom_logos(doc: etree._Element, base: str) -> list[LogoCandidate]:
    """Header images and inline SVGs marked as a logo, header ones first."""
    found: list[tuple[int, LogoCandidate]] = []
    for el in doc.iter("img", "svg", "{http://www.w3.org/2000/svg}svg"):
        own = _marker(el)
        parent = el.getparent()
        # a logo link (<a class="logo"><img></a>) marks its image too
        marked = bool(_LOGO_HINT.search(own)) or (parent is not None and bool(_LOGO_HINT.search(_marker(parent))))
        if not marked:
            continue
        where = "header " if _in_header(el) else ""
        rank = 0 if where else 1
        if el.tag == "img":
            src = el.get("src") or el.get("data-src")
            if src and not src.startswith("data:"):
                kind = "SVG image" if src.lower().split("?")[0].endswith(".svg") else "image"
                found.append((rank, LogoCandidate(f"{where}{kind} marked as a logo ({src})", url=urljoin(base, src))))
        else:
            markup = etree.tostring(el, encoding="unicode")
            found.append((rank, LogoCandidate(f"{where}inline SVG marked as a logo", svg=markup)))
    return [c for _, c in sorted(found, key=lambda x: x[0])]


def _icons(doc: etree._Element, base: str) -> list[LogoCandidate]:
    """apple-touch-icon first, then other icons, largest first: the last resort for a logo."""
    touch, other = [], []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = link.get("href")
        if not href:
            continue
        size = _icon_size(link.get("sizes"))
        if "apple-touch-icon" in rel or "apple-touch-icon-precomposed" in rel:
            touch.append(LogoCandidate(f"<link rel=apple-touch-icon> ({href})", url=urljoin(base, href),
                                       size=size or 180))
        elif "icon" in rel:
            other.append(LogoCandidate(f"<link rel=icon> ({href})", url=urljoin(base, href), size=size))
    by_size = lambda c: -c.size  # noqa: E731
    return sorted(touch, key=by_size) + sorted(other, key=by_size)


def read_site(html: str, url: str) -> SiteFacts:
    """Collect brand facts from a page's HTML (`url` is where it was fetched from)."""
    facts = SiteFacts(url=url)
    items, og = _structured(html, url)
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        log.warning("%s: HTML unreadable (%s)", url, exc)
        return facts
    base_el = doc.find(".//base[@href]")
    base = urljoin(url, base_el.get("href")) if base_el is not None else url
    facts.language = _clean(doc.get("lang")) or None

    orgs = [i for i in items if _types(i) & ORG_TYPES]
    for org in orgs:
        name = _name_of(org.get("name"))
        if name and facts.name is None:
            facts.name = Sourced(name, f"structured data {sorted(_types(org) & ORG_TYPES)[0]}.name")
        logo = _url_of(org.get("logo"))
        if logo:
            facts.logos.append(LogoCandidate(f"structured data {sorted(_types(org) & ORG_TYPES)[0]}.logo",
                                             url=urljoin(base, logo)))
    if facts.name is None and og.get("og:site_name"):
        facts.name = Sourced(_clean(og["og:site_name"]), "og:site_name")
    meta = {(m.get("name") or m.get("property") or "").lower(): m.get("content") or "" for m in doc.iter("meta")}
    if facts.name is None and meta.get("application-name"):
        facts.name = Sourced(_clean(meta["application-name"]), "<meta name=application-name>")
    title = _clean(doc.findtext(".//title"))
    if facts.name is None and title:
        # the site name is usually the last part of "Page | Site"; a lone title is the name itself
        facts.name = Sourced(_TITLE_SPLIT.split(title)[-1], "<title>")

    facts.logos += _dom_logos(doc, base)
    facts.logos += _icons(doc, base)
    facts.theme_color = _clean(meta.get("theme-color")) or None
    facts.description = _clean(meta.get("description") or og.get("og:description")) or None
    for el in doc.iter("h1", "h2"):
        text = _clean(el.text_content())
        if text and text not in facts.headlines:
            facts.headlines.append(text)

    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "stylesheet" in rel and link.get("href"):
            facts.stylesheets.append(urljoin(base, link.get("href")))
    for i, style in enumerate(doc.iter("style"), 1):
        if style.text:
            facts.inline_css.append(Sourced(style.text, f"<style> block {i}"))
    for el in doc.iter():
        if isinstance(el.tag, str) and el.get("style"):
            facts.inline_css.append(Sourced(f"x{{{el.get('style')}}}", f'style="" on <{el.tag}>'))
    return facts
