"""Extract product facts from a page: structured data first, confirmed and completed by the page.

One lxml parse; extruct reads the structured syntaxes, price-parser the printed prices, jusText
the body text, py3langid the language when the page does not declare it. The rules that choose
among candidates live in prices, naming, category and features.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urljoin

from creative.core.models import ResearchNotes
from creative.research import category as cat
from creative.research import features as feat
from creative.research import naming
from creative.research.currency import from_symbol, url_territory
from creative.research.dom import clean_text, element_text, marked, parse_document, strip_hidden
from creative.research.language import detect
from creative.research.prices import choose_price, structured_candidates, visible_prices
from creative.research.structured import Structured, read_structured, schema_text

log = logging.getLogger(__name__)

# schema.org types that describe a thing for sale.
PRODUCT_TYPES = ("product", "productgroup", "productmodel", "individualproduct", "someproducts",
                 "book", "vehicle", "car", "softwareapplication", "mobileapplication", "webapplication",
                 "videogame", "event")
_AVAILABILITY = ("instock", "outofstock", "preorder", "backorder", "limitedavailability",
                 "discontinued", "soldout", "onlineonly", "instoreonly", "presale")


def extract_notes(html: str, url: str, backend: str = "static") -> ResearchNotes:
    """Parse `html` (fetched from `url`) into ResearchNotes with the source of each fact."""
    doc = parse_document(html)
    base = url
    base_el = doc.find(".//base[@href]")
    if base_el is not None:
        base = urljoin(url, base_el.get("href", "").strip())
    data = read_structured(doc, html, base)
    facts: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def put(key: str, value: Any, source: str | None) -> None:
        if value in (None, "", []) or key in facts:
            return
        facts[key] = value
        sources[key] = source or "page"

    html_el = doc if doc.tag == "html" else doc.find(".//html")
    html_lang = html_el.get("lang") or html_el.get("xml:lang") if html_el is not None else None
    title_el = doc.find("head/title")
    if title_el is None:  # a <title> outside <head>, but never an SVG's
        title_el = next((t for t in doc.iter("title") if not any(a.tag == "svg" for a in t.iterancestors())),
                        None)
    title = element_text(title_el) if title_el is not None else ""
    canonical = _canonical(doc, data)

    strip_hidden(doc)
    marks = marked(doc)
    h1s = naming.headings(doc)
    og_title, _ = data.first_meta("og:title", "twitter:title")
    products = _main_products(data, [element_text(h) for h in h1s[:3]] + [og_title or "", title])

    # --- names ---------------------------------------------------------------------------
    site, site_source = naming.site_name(data)
    put("site_name", site, site_source)
    tokens = naming.site_tokens(site, [canonical or "", url])
    structured_names = [(schema_text(p.get("name")), f"{syn} Product.name")
                        for syn, p in products]
    structured_names = [(n, s) for n, s in structured_names if n]
    titles = [(t, s) for t, s in ((og_title, "og:title"), (title, "html <title>")) if t]
    name, name_source, h1_index = naming.choose_name([element_text(h) for h in h1s],
                                                     structured_names, titles, tokens)
    h1 = h1s[h1_index] if h1_index is not None else (h1s[0] if h1s else None)
    put("product_name", name, name_source)
    put("title", title, "html <title>")

    brands = naming.structured_brands(products, data)
    spec = naming.spec_brand(doc)
    page_brand = spec or naming.dom_brand(marks)
    brand, brand_source = naming.choose_brand(
        brands, page_brand, name, site, tokens, tuple(n for n, _ in structured_names),
        "html specification table 'Brand'" if spec else "html brand element")
    put("brand", brand, brand_source)

    # --- language ------------------------------------------------------------------------
    og_locale, _ = data.first_meta("og:locale")
    content_lang, _ = data.first_meta("http-equiv:content-language", "language")
    sample = " ".join(filter(None, [name, title, *_sample_text(doc)]))
    language, region, locale, lang_source = detect(html_lang, og_locale, content_lang, sample,
                                                   url_territory(canonical) or url_territory(url))
    put("language", language, lang_source)
    put("locale", locale, lang_source)

    # --- price ---------------------------------------------------------------------------
    choice = choose_price(structured_candidates(data, products), visible_prices(marks, h1))
    put("price", choice.price, choice.source)
    put("regular_price", choice.regular_price if choice.price else None, choice.source)
    territory = region or url_territory(canonical) or url_territory(url)
    currency, cur_source = choice.currency, choice.currency_source
    if not currency:
        currency = from_symbol(choice.symbol, territory)
        cur_source = "visible price symbol" + (f" in {territory}" if territory else "")
    put("currency", currency, cur_source)

    # --- structured extras -----------------------------------------------------------------
    for syn, p in products:
        put("description", feat.clean_description(schema_text(p.get("description")), tokens),
            f"{syn} Product.description")
        _rating(p, syn, put)
        for offer in _as_list(p.get("offers")):
            if isinstance(offer, dict):
                put("availability", _availability(offer.get("availability")), f"{syn} Product.offers")
    for key in ("product:availability", "og:availability"):
        value, _ = data.first_meta(key)
        put("availability", _availability(value), key)
    for key in ("description", "og:description", "twitter:description"):
        value, _ = data.first_meta(key)
        put("description", feat.clean_description(clean_text(value), tokens), f"meta {key}")

    trail, trail_source = cat.breadcrumbs(data, marks, name, lambda c: naming.is_site_part(c, tokens))
    put("breadcrumbs", trail, trail_source)
    category, category_source = cat.category(products, data, trail, trail_source)
    put("category", category, category_source)

    og_image, _ = data.first_meta("og:image", "og:image:url", "twitter:image")
    images = [i for _, p in products for i in _images(p.get("image"))]
    page_images = [img.get("src") or img.get("data-src") or "" for img in doc.iter("img")]
    put("image_urls", _absolute(base, [og_image or "", *images, *page_images]),
        "og:image, structured Product.image, html <img> (reference only)")

    # --- text (last: it removes the page's chrome from the tree) ----------------------------
    feat.drop_chrome(doc, marks, h1)
    paras = feat.paragraphs(doc, language)
    found, feature_source = feat.features(paras, doc)
    put("features", found, feature_source)
    put("main_text", feat.main_text(paras), "page text (jusText)")

    notes = ResearchNotes(url=url, backend=backend, sources=sources, **facts)
    log.info("extracted %d facts from %s", len(sources), url)
    return notes


def _main_products(data: Structured, page_names: list[str]) -> list[tuple[str, dict]]:
    """Product nodes, the page's own first: the one named like the page's heading and title, then
    ones with an offer, before the other products a page lists in carousels."""
    found = [(s, p) for s, p in data.of_type(*PRODUCT_TYPES) if p.get("offers") or p.get("name")]

    def named_like_page(product: dict) -> bool:
        name = schema_text(product.get("name"))
        return bool(name) and any(naming.overlap(name, n) >= naming.AGREE for n in page_names if n)

    return sorted(found, key=lambda sp: (not named_like_page(sp[1]), not sp[1].get("offers"),
                                         _syntax_rank(sp[0])))


def _syntax_rank(syntax: str) -> int:
    return {"json-ld": 0, "microdata": 1, "rdfa": 2}.get(syntax, 3)


def _canonical(doc, data: Structured) -> str | None:
    value, _ = data.first_meta("og:url")
    if value:
        return value
    link = doc.find(".//link[@rel='canonical']")
    return link.get("href") if link is not None else None


def _sample_text(doc) -> list[str]:
    """A few paragraphs of page text for the language identifier."""
    out, size = [], 0
    for el in doc.iter("p", "li", "h2", "td"):
        text = element_text(el)
        if len(text) > 30:
            out.append(text)
            size += len(text)
        if size > 1500:
            break
    return out


def _rating(product: dict, syntax: str, put) -> None:
    rating = product.get("aggregateRating")
    rating = rating[0] if isinstance(rating, list) and rating else rating
    if not isinstance(rating, dict):
        return
    value = _float(rating.get("ratingValue"))
    best = _float(rating.get("bestRating"))
    worst = _float(rating.get("worstRating"))
    count = _int(rating.get("reviewCount")) or _int(rating.get("ratingCount"))
    if value is None or value <= 0:
        return
    if best is None:
        # schema.org's default scale is 1-5; a value above 5 means an undeclared scale.
        best = 5.0 if value <= 5 and (worst is None or worst <= 1) else None
    source = f"{syntax} Product.aggregateRating"
    put("review_count", count, source)
    if best is None or value > best:
        return  # a rating on an unknown scale cannot be printed honestly
    put("rating", value, source)
    put("rating_scale", best, source + (".bestRating" if rating.get("bestRating") else " (1-5 default)"))


def _float(value: Any) -> float | None:
    value = value[0] if isinstance(value, list) and value else value
    try:
        return float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    value = value[0] if isinstance(value, list) and value else value
    text = str(value if value is not None else "").strip()
    if re.fullmatch(r"\d+\.0+", text):  # a JSON float count, "12.0"
        text = text.split(".")[0]
    # Separators vary by locale ("1,284", "2.315", "1 284"); a count has no fraction.
    digits = re.sub(r"\D", "", text)
    return int(digits) if digits else None


def _availability(value: Any) -> str | None:
    """'https://schema.org/InStock' -> 'in stock'; words that are not a schema.org state -> None."""
    value = value[0] if isinstance(value, list) and value else value
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().rsplit("/", 1)[-1]
    if word.replace(" ", "").replace("_", "").lower() not in _AVAILABILITY:
        return None
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", word).lower().replace("_", " ")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _images(value: Any) -> list[str]:
    out: list[str] = []
    for item in _as_list(value):
        if isinstance(item, dict):
            item = item.get("url") or item.get("contentUrl")
            item = item[0] if isinstance(item, list) and item else item
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    return out


MAX_IMAGE_URLS = 40  # reference only (never sent anywhere): enough to look at, bounded on hostile pages


def _absolute(base: str, urls: list[str]) -> list[str]:
    """The first MAX_IMAGE_URLS distinct image addresses, made absolute; linear in the page."""
    out: dict[str, None] = {}
    seen: set[str] = set()
    for u in urls:
        u = u.strip()
        if not u or u in seen or u.startswith(("data:", "javascript:")):
            continue
        seen.add(u)
        out.setdefault(urljoin(base, u))
        if len(out) >= MAX_IMAGE_URLS:
            break
    return list(out)
