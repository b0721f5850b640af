"""Extract product facts from HTML: <title>, meta, OpenGraph, schema.org JSON-LD, bullets, text.

Uses only the stdlib html.parser so a broken page degrades to fewer facts, never a crash.
"""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser
from typing import Any, Iterator
from urllib.parse import urljoin

from creative.core.json_text import loads as json_loads
from creative.core.models import ResearchNotes

log = logging.getLogger(__name__)

_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}
_SKIP_TEXT = {"script", "style", "noscript", "template", "svg", "head", "title", "select", "button"}
_CHROME = {"nav", "header", "footer", "aside", "form", "dialog"}
# class/id words that mark navigation or page chrome rather than product content
_CHROME_HINT = re.compile(r"\b(nav|menu|breadcrumb|footer|header|cookie|sidebar|related|newsletter)", re.I)
# class/id words that mark the product description / feature list
_PRODUCT_HINT = re.compile(r"(descr|feature|benefit|detail|highlight|product|summary|bullet)", re.I)
_WS = re.compile(r"\s+")
MAX_MAIN_TEXT = 4000
MAX_FEATURES = 12
MIN_PARAGRAPH_WORDS = 8


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


class _Collector(HTMLParser):
    """One pass over the document collecting everything extract_notes needs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, in_chrome, in_product)
        self.lang: str | None = None
        self.base_href: str | None = None
        self.title_parts: list[str] = []
        self.meta: dict[str, str] = {}
        self.jsonld: list[str] = []
        self.images: list[str] = []
        self.items: list[tuple[str, bool, bool, bool]] = []  # (text, chrome, product, link_only)
        self.paragraphs: list[tuple[str, bool, bool]] = []
        self._script_kind: str | None = None
        self._script_buf: list[str] = []
        self._title = False
        self._li: list[list[Any]] | None = None  # stack of [text parts, link text parts]
        self._p: list[str] | None = None
        self._in_a = 0

    # --- context -----------------------------------------------------------
    @property
    def chrome(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    @property
    def product(self) -> bool:
        return bool(self.stack) and self.stack[-1][2]

    def _skipping(self) -> bool:
        return any(t in _SKIP_TEXT for t, _, _ in self.stack)

    # --- parser callbacks ------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "html" and a.get("lang"):
            self.lang = a["lang"].strip()
        elif tag == "base" and a.get("href") and self.base_href is None:
            self.base_href = a["href"].strip()
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").strip().lower()
            if not key and a.get("http-equiv"):
                key = "http-equiv:" + a["http-equiv"].strip().lower()
            if key and "content" in a and key not in self.meta:
                self.meta[key] = a["content"]
        elif tag == "img":
            src = a.get("src") or a.get("data-src") or ""
            if src and not src.startswith("data:"):
                self.images.append(src.strip())
        elif tag == "title" and not any(t == "svg" for t, _, _ in self.stack):
            self._title = True
        elif tag == "script":
            self._script_kind = a.get("type", "").strip().lower()
            self._script_buf = []
        elif tag == "li":
            self._close_open("li")
        elif tag == "p":
            self._close_open("p")
        elif tag == "a":
            self._in_a += 1
        if tag in _VOID:
            return
        marker = f"{a.get('class', '')} {a.get('id', '')}"
        chrome = self.chrome or tag in _CHROME or bool(_CHROME_HINT.search(marker))
        product = self.product or tag in ("main", "article") or bool(_PRODUCT_HINT.search(marker))
        self.stack.append((tag, chrome, product))
        if tag == "li" and self._li is None:
            self._li = [[], []]
            self._li_depth = len(self.stack)
        elif tag == "p" and self._p is None:
            self._p = []
            self._p_depth = len(self.stack)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def _close_open(self, tag: str) -> None:
        """An unclosed <li>/<p> is closed by the next one (HTML's implied end tags)."""
        for i in range(len(self.stack) - 1, -1, -1):
            t = self.stack[i][0]
            if t == tag:
                self.handle_endtag(tag)
                return
            if t in ("ul", "ol", "div", "section", "article", "main", "td", "table"):
                return

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        elif tag == "script":
            if self._script_kind == "application/ld+json":
                self.jsonld.append("".join(self._script_buf))
            self._script_kind = None
        elif tag == "a" and self._in_a:
            self._in_a -= 1
        if tag in _VOID or not any(t == tag for t, _, _ in self.stack):
            return
        while self.stack:
            depth = len(self.stack)
            t, chrome, product = self.stack.pop()
            if t == "li" and self._li is not None and depth == self._li_depth:
                text = _clean("".join(self._li[0]))
                link = _clean("".join(self._li[1]))
                if text:
                    self.items.append((text, chrome, product, link == text))
                self._li = None
            elif t == "p" and self._p is not None and depth == self._p_depth:
                text = _clean("".join(self._p))
                if text:
                    self.paragraphs.append((text, chrome, product))
                self._p = None
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._script_kind is not None:
            self._script_buf.append(data)
            return
        if self._title:
            self.title_parts.append(data)
            return
        if self._skipping():
            return
        if self._li is not None:
            self._li[0].append(data)
            if self._in_a:
                self._li[1].append(data)
        if self._p is not None:
            self._p.append(data)


# --- JSON-LD ------------------------------------------------------------------


def _load_jsonld(raw: str) -> Any:
    text = raw.strip()
    if text.startswith("<!--"):
        text = text[4:].rstrip("->").strip()
    try:
        return json_loads(text, parse_float=str, parse_int=str, strict=False)  # depth-capped
    except json.JSONDecodeError:
        # Hand-written JSON-LD often has trailing commas; one tolerant retry.
        try:
            fixed = re.sub(r",\s*([}\]])", r"\1", text)
            return json_loads(fixed, parse_float=str, parse_int=str, strict=False)
        except json.JSONDecodeError as exc:
            log.warning("ignoring invalid JSON-LD block: %s", exc)
            return None


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in ("@graph", "mainEntity", "itemListElement", "item", "hasVariant", "about"):
                yield from _walk(value)


def _types(node: dict) -> set[str]:
    t = node.get("@type", [])
    values = t if isinstance(t, list) else [t]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _text(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("url")
    if value is None or isinstance(value, (dict, list)):
        return None
    return _clean(str(value)) or None


def _offers(product: dict) -> Iterator[dict]:
    offers = product.get("offers")
    for offer in offers if isinstance(offers, list) else [offers]:
        if not isinstance(offer, dict):
            continue
        yield offer
        # AggregateOffer may nest the concrete offers.
        yield from _offers(offer)


def _offer_price(offer: dict) -> tuple[str | None, str | None]:
    spec = _first(offer.get("priceSpecification"))
    spec = spec if isinstance(spec, dict) else {}
    price = _text(offer.get("price")) or _text(offer.get("lowPrice")) or _text(spec.get("price"))
    currency = _text(offer.get("priceCurrency")) or _text(spec.get("priceCurrency"))
    return price, currency


def _availability(value: str | None) -> str | None:
    """'https://schema.org/InStock' -> 'in stock'."""
    if not value:
        return None
    word = value.rsplit("/", 1)[-1]
    return _clean(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", word)).lower() or None


def _number(value: Any) -> float | None:
    text = _text(value)
    if not text:
        return None
    m = re.search(r"\d+(?:[.,]\d+)?", text)
    return float(m.group().replace(",", ".")) if m else None


def _count(value: Any) -> int | None:
    text = _text(value)
    if not text:
        return None
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    # Separators vary by locale ("1,284", "2.315", "1 284"); a count has no fraction.
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits else None


def _price_text(value: str | None) -> str | None:
    """Keep the price as written, minus currency symbols and thousands separators noise."""
    if not value:
        return None
    m = re.search(r"\d[\d.,\s]*", value)
    return m.group().strip().rstrip(".,") if m else None


def _images(value: Any) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("url") or item.get("contentUrl")
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    return out


# --- main entry ---------------------------------------------------------------


def extract_notes(html: str, url: str, backend: str = "static") -> ResearchNotes:
    """Parse `html` (fetched from `url`) into ResearchNotes with the source of each fact."""
    c = _Collector()
    try:
        c.feed(html)
        c.close()
        while c.stack:  # flush elements left open at end of file
            c.handle_endtag(c.stack[-1][0])
    except Exception as exc:  # noqa: BLE001 - html.parser can choke on pathological markup
        log.warning("HTML parse stopped early for %s: %s", url, exc)
    base = urljoin(url, c.base_href) if c.base_href else url
    meta = c.meta
    facts: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def put(key: str, value: Any, source: str) -> None:
        if value in (None, "", []) or key in facts:
            return
        facts[key] = value
        sources[key] = source

    # schema.org Product first: the most structured and least ambiguous source.
    products = [
        n for raw in c.jsonld for n in _walk(_load_jsonld(raw)) if _types(n) & {"product", "productgroup"}
    ]
    for product in products:
        put("product_name", _text(product.get("name")), "json-ld Product.name")
        put("brand", _text(product.get("brand")) or _text(product.get("manufacturer")), "json-ld Product.brand")
        put("description", _text(product.get("description")), "json-ld Product.description")
        for offer in _offers(product):
            price, currency = _offer_price(offer)
            put("price", _price_text(price), "json-ld Product.offers")
            put("currency", currency, "json-ld Product.offers")
            put("availability", _availability(_text(offer.get("availability"))), "json-ld Product.offers")
        rating = product.get("aggregateRating")
        if isinstance(rating, dict):
            put("rating", _number(rating.get("ratingValue")), "json-ld Product.aggregateRating")
            put(
                "review_count",
                _count(rating.get("reviewCount")) or _count(rating.get("ratingCount")),
                "json-ld Product.aggregateRating",
            )
    jsonld_images = [img for p in products for img in _images(p.get("image"))]

    put("product_name", _clean(meta.get("og:title")), "og:title")
    put("brand", _clean(meta.get("product:brand") or meta.get("og:brand")), "product:brand")
    put("brand", _clean(meta.get("og:site_name")), "og:site_name")
    for prefix in ("product:price", "og:price"):
        put("price", _price_text(meta.get(f"{prefix}:amount")), f"{prefix}:amount")
        put("currency", _clean(meta.get(f"{prefix}:currency")), f"{prefix}:currency")
    put("price", _price_text(meta.get("price")), "meta itemprop=price")
    put("currency", _clean(meta.get("pricecurrency")), "meta itemprop=priceCurrency")
    for key in ("product:availability", "og:availability"):
        put("availability", _availability(_clean(meta.get(key))), key)
    put("description", _clean(meta.get("description")), "meta description")
    put("description", _clean(meta.get("og:description")), "og:description")

    title = _clean("".join(c.title_parts))
    put("title", title, "html <title>")
    put("product_name", _strip_site(title, facts.get("brand")), "html <title>")

    lang = c.lang or meta.get("http-equiv:content-language") or meta.get("og:locale")
    put("language", _clean(lang).replace("_", "-") or None, "html lang" if c.lang else "meta")

    features, feature_source = _features(c.items)
    put("features", features, feature_source)
    main_text = _main_text(c.paragraphs)
    put("main_text", main_text, "html paragraphs")

    image_urls = _absolute(base, [meta.get("og:image", ""), *jsonld_images, *c.images])
    put("image_urls", image_urls, "og:image, json-ld Product.image, html <img> (reference only)")

    notes = ResearchNotes(url=url, backend=backend, sources=sources, **facts)
    log.info("extracted %d facts from %s", len(sources), url)
    return notes


def _strip_site(title: str, site: str | None) -> str | None:
    """'Glow Serum | Lumen Skin' -> 'Glow Serum' when the other part is the site name."""
    if not title:
        return None
    parts = [p.strip() for p in re.split(r"\s+[|–—·-]\s+", title) if p.strip()]
    if len(parts) > 1:
        rest = [p for p in parts if not site or p.lower() != site.lower()]
        return rest[0] if rest and len(rest) < len(parts) else parts[0]
    return title


def _features(items: list[tuple[str, bool, bool, bool]]) -> tuple[list[str], str]:
    """Feature bullets: <li> text in the product area, never navigation or link-only lists."""
    usable = [
        (text, product)
        for text, chrome, product, link_only in items
        if not chrome and not link_only and 3 <= len(text) <= 240
    ]
    in_product = [t for t, p in usable if p]
    chosen = in_product or [t for t, _ in usable]
    source = "html <li> in product content" if in_product else "html <li>"
    seen: set[str] = set()
    out = []
    for text in chosen:
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out[:MAX_FEATURES], source


def _main_text(paragraphs: list[tuple[str, bool, bool]]) -> str | None:
    # Short lines (eyebrows, prices, stock notes) are page furniture, not description.
    prose = [(t, chrome, p) for t, chrome, p in paragraphs if len(t.split()) >= MIN_PARAGRAPH_WORDS]
    content = [t for t, chrome, _ in prose if not chrome]
    product = [t for t, chrome, p in prose if p and not chrome]
    text = "\n\n".join(product or content)
    if len(text) > MAX_MAIN_TEXT:
        text = text[:MAX_MAIN_TEXT].rsplit(" ", 1)[0] + " …"
    return text or None


def _absolute(base: str, urls: list[str]) -> list[str]:
    out: list[str] = []
    for u in urls:
        u = u.strip()
        if not u or u.startswith(("data:", "javascript:")):
            continue
        full = urljoin(base, u)
        if full not in out:
            out.append(full)
    return out
