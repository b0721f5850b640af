"""Product name, maker brand and shop name: the heading and structured name before the title,
shop chrome stripped, and the maker rather than the retailer as the brand."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from lxml import etree

from creative.research.dom import clean_text, element_text, marker
from creative.research.structured import Structured, schema_text

_SEPARATOR_LEVELS = (
    re.compile(r"\s*\|\s*|\s+::\s+"),
    re.compile(r"\s*:\s+"),
    re.compile(r"\s+[–—·•»«/-]\s+"),
)
# Verbs shops put before the product in titles: "Buy …", "Kaufen …", "Comprar …".
_BUY_PREFIX = re.compile(r"^(buy|shop|order|comprar|compra|acheter|achetez|kaufen|kup|купить|mua|"
                         r"acquista|koop|köp|kjøp|osta)\s+", re.I)
_PRICE_PART = re.compile(r"^\W*\d[\d\s.,]*\W*$|^\W*[^\w\s]{1,3}\s?\d|\d\s?[€$£₫₽zł]")
# Class or id words (at the start of a class token) of areas that are not the product.
_CHROME_AREA = re.compile(r"(?:^|\s)(?:site-?header|header|nav|menu|footer|logo|cookie|modal|popup|"
                          r"newsletter|cart|basket|panier|warenkorb|carrito|minicart|account|login|"
                          r"review|rating|related|recommend)")
MAX_NAME = 200
# A trailing label with no value ("… Model:"): the value sat in another element.
_DANGLING_LABEL = re.compile(r"\s+\S+:\s*$")
# An <h1> that agrees with the other names shares this much of their words.
AGREE = 0.6


def site_name(data: Structured) -> tuple[str | None, str | None]:
    """The shop's name: og:site_name, application-name, or the schema.org WebSite's name."""
    for key in ("og:site_name", "application-name", "apple-mobile-web-app-title"):
        value, _ = data.first_meta(key)
        if value and clean_text(value):
            return clean_text(value), key
    for syntax, node in data.of_type("website"):
        name = schema_text(node.get("name"))
        if name:
            return name, f"{syntax} WebSite.name"
    return None, None


def site_tokens(site: str | None, urls: list[str]) -> list[str]:
    """Ways the shop names itself: its site name and its domain's name ('argos' of www.argos.co.uk)."""
    out = [site.lower()] if site else []
    for url in urls:
        host = (urlparse(url or "").hostname or "").lower()
        if not host:
            continue
        labels = [lab for lab in host.split(".") if lab not in ("www", "m", "shop", "store")]
        if labels:
            out.append(".".join(labels))
            out.append(labels[0])
    return [t for t in dict.fromkeys(out) if len(t) >= 2]


# Words that surround a shop's name in titles without naming a product.
_SHOP_WORDS = {"online", "shop", "store", "onlineshop", "official", "site", "website", "tienda",
               "boutique", "loja", "negozio", "sklep", "магазин", "winkel", "butik", "the", "de", "la",
               "le", "at", "by", "en", "official-site", "com"}


def is_site_part(part: str, tokens: list[str]) -> bool:
    """'Argos', 'Amazon.co.uk', 'OTTO Onlineshop': a title part that is the shop's name."""
    low = part.lower().strip(" .!")
    squashed = re.sub(r"[\s\-_.']", "", low)
    for tok in tokens:
        tok_sq = re.sub(r"[\s\-_.']", "", tok)
        if not tok_sq:
            continue
        if low == tok or squashed == tok_sq:
            return True
        if tok_sq in squashed and len(tok_sq) >= 3:
            rest = low.replace(tok, " ") if tok in low else low
            rest_words = [w for w in re.split(r"[\s.\-|:]+", rest) if w]
            # What is left is a domain ending or shop words: the part names only the shop.
            if all(w in _SHOP_WORDS or re.fullmatch(r"[a-z]{2,3}", w) and len(rest_words) <= 2
                   for w in rest_words):
                return True
    return False


def strip_chrome(title: str | None, tokens: list[str]) -> str | None:
    """'Buy Oak Lamp | Argos' -> 'Oak Lamp'; 'Amazon.com: Echo Dot - Charcoal: Electronics' ->
    'Echo Dot - Charcoal'. Separators are tried strongest first ('|', then ': ', then ' - ' and
    the like), so a name's own dashes survive when the shop is set off by bars or colons."""
    text = clean_text(title)
    if not text:
        return None
    text = _BUY_PREFIX.sub("", text)
    for separators in _SEPARATOR_LEVELS:
        parts = [p.strip() for p in separators.split(text) if p and p.strip()]
        site_at = [i for i, p in enumerate(parts)
                   if is_site_part(p, tokens) or (i and _is_pitch(p, tokens))]
        if len(parts) > 1 and site_at:
            return _without_site(parts, site_at[0], tokens)
    return _DANGLING_LABEL.sub("", _trim_at_site(text, tokens)) or None


def _without_site(parts: list[str], i: int, tokens: list[str]) -> str | None:
    # Chrome follows the shop's name ("Name | Shop | Category"); a leading shop name is followed
    # by the product ("Shop: Name: Category").
    kept = parts[:i] if i > 0 else [p for p in parts[1:2] if not is_site_part(p, tokens)]
    kept = [p for p in kept if not _PRICE_PART.search(p)] or kept
    if not kept:
        return None
    # What is left may itself hold the shop or a price at a weaker separator ("Name - Kiabi - 20€").
    inner = strip_chrome(" - ".join(kept), tokens) if len(kept) == 1 else " - ".join(kept)
    return _DANGLING_LABEL.sub("", inner or "") or None


def _is_pitch(part: str, tokens: list[str]) -> bool:
    """'Buy Cheese Slicer, … Product on Alibaba.com': a sales line naming the shop, not the product."""
    low = part.lower()
    return bool(_BUY_PREFIX.match(part)) or any(len(t) >= 4 and t in low for t in tokens)


def _trim_at_site(text: str, tokens: list[str]) -> str:
    """'Oak Lamp at Argos' / 'Lampe bei OTTO' -> the product alone."""
    for tok in tokens:
        m = re.search(rf"\s+(at|bei|chez|en|su|на|w|in)\s+{re.escape(tok)}\b.*$", text, re.I)
        if m:
            return text[: m.start()].strip()
    return text


def headings(doc: etree._Element) -> list[etree._Element]:
    """Candidate product headings: <h1>s outside header, navigation, cart and pop-ups, one marked
    itemprop=name first."""
    found = []
    for h1 in doc.iter("h1"):
        if any(p.tag in ("header", "nav", "footer", "aside", "dialog") or _CHROME_AREA.search(marker(p))
               for p in h1.iterancestors()):
            continue
        if 2 <= len(element_text(h1)) <= MAX_NAME:
            found.append(h1)
    return sorted(found, key=lambda h: h.get("itemprop") != "name")


def overlap(a: str, b: str) -> float:
    """Share of the shorter text's words found in the other one."""
    wa, wb = set(_words(a)), set(_words(b))
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def _words(text: str) -> list[str]:
    out: list[str] = []
    for w in re.findall(r"\w+", text.casefold()):
        # Scripts without spaces compare by character.
        out.extend(list(w) if re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", w) else [w])
    return out


def choose_name(h1_texts: list[str], structured: list[tuple[str, str]], titles: list[tuple[str, str]],
                tokens: list[str]) -> tuple[str | None, str | None, int | None]:
    """The product's name, its source, and which heading (index in `h1_texts`) it came from.

    The first <h1> that names the same thing as the structured name or the titles, unless the
    structured name says it better (below); else the structured name; else the first title
    stripped of shop chrome.
    """
    stripped = [(strip_chrome(t, tokens), src) for t, src in titles]
    stripped = [(t, src) for t, src in stripped if t]
    structured_clean = [(strip_chrome(n, tokens), src) for n, src in structured]
    structured_clean = [(n, src) for n, src in structured_clean if n and not is_site_part(n, tokens)]
    others = [n for n, _ in structured_clean] + [t for t, _ in stripped]
    for index, text in enumerate(h1_texts):
        h1 = _trim_at_site(_BUY_PREFIX.sub("", text), tokens)
        if not h1 or is_site_part(h1, tokens) or (others and not any(overlap(h1, o) >= AGREE for o in others)):
            continue
        for name, src in structured_clean[:1]:
            if _better_than_heading(name, h1):
                return name[:MAX_NAME], src, index
        return h1[:MAX_NAME], "html <h1>", index
    for name, src in structured_clean:
        return name[:MAX_NAME], src, None
    for name, src in stripped:
        if not is_site_part(name, tokens):
            return name[:MAX_NAME], src, None
    return None, None, None


def _better_than_heading(name: str, h1: str) -> bool:
    """The structured name beats an agreeing heading when the heading only repeats its words
    (a brand label drawn twice), has swallowed button or pop-up text, or lacks a size or colour
    the name adds; a name that adds a whole phrase (a venue, a pitch) does not."""
    wn, wh = _words(name), _words(h1)
    extra_in_h1 = [w for w in wh if w not in set(wn)]
    extra_in_name = [w for w in wn if w not in set(wh)]
    if not extra_in_h1 and len(wh) > len(wn):
        return True  # the heading repeats the name's own words
    if len(h1) > 1.6 * len(name) and overlap(h1, name) >= 0.9:
        return True
    return not extra_in_h1 and 0 < len(extra_in_name) <= 2


def structured_brands(products: list[tuple[str, dict]], data: Structured) -> list[tuple[str, str]]:
    """Brand candidates with their sources: Product brand and manufacturer, then OpenGraph's."""
    out: list[tuple[str, str]] = []
    for syntax, product in products:
        for key in ("brand", "manufacturer"):
            text = schema_text(product.get(key))
            if text:
                out.append((text, f"{syntax} Product.{key}"))
    for key in ("product:brand", "og:brand", "product:manufacturer"):
        value, _ = data.first_meta(key)
        if value:
            out.append((value, key))
    return out


def choose_brand(structured: list[tuple[str, str]], dom_brand: str | None, name: str | None,
                 site: str | None, tokens: list[str],
                 other_names: tuple[str, ...] = (),
                 dom_source: str = "html brand element") -> tuple[str | None, str | None]:
    """The maker: structured brand/manufacturer, a brand element, a leading brand-like word in the
    name; the shop only when the product is its own (the shop's name starts the product name)."""
    for brand, src in structured:
        brand = strip_chrome(brand, tokens) or ""
        if brand and len(brand) <= 80 and not re.fullmatch(r"[\d\W]+", brand):
            return brand, src
    if dom_brand and not is_site_part(dom_brand, tokens):
        return dom_brand, dom_source
    if name and _own_product(name, tokens) and site:
        return site, "og:site_name (the shop's own product)"
    for text in (name, *other_names):
        lead = _leading_brand(strip_chrome(text, tokens))
        if lead and not is_site_part(lead, tokens):
            return lead, "leading brand word in the product name"
    return None, None


def _own_product(name: str | None, tokens: list[str]) -> bool:
    if not name:
        return False
    low = name.lower()
    return any(low.startswith(t) and len(t) >= 3 for t in tokens)


def _leading_brand(name: str | None) -> str | None:
    """'KORG Kross 2 …' -> 'KORG': an upper-case word of letters leading a Latin-script name reads as
    the maker; in a name written in another script, the first such Latin word does ('… OPTIPLEX 9010')."""
    if not name:
        return None
    caps = r"([A-Z][A-Z&'\-]+(?:\s+[A-Z][A-Z&'\-]+)?)(?=\s|$)"
    first = next((ch for ch in name if ch.isalpha()), "")
    m = re.match(rf"^{caps}\s+\S", name) if first.isascii() else re.search(rf"(?<![\w]){caps}", name)
    if m and len(m.group(1)) <= 30 and m.group(1).split()[0] not in _NOT_BRANDS:
        return m.group(1)
    return None


# Upper-case words that lead names without being makers.
_NOT_BRANDS = {"LED", "USB", "HD", "TV", "XL", "XXL", "LCD", "DVD", "PC", "GPS", "UV", "SPF", "DIY", "NEW",
               "SALE", "THE", "SET", "BIO", "ECO", "PRO", "MAX", "MINI", "OLED", "SSD", "HDMI", "WIFI"}


# "Brand" in the languages of specification tables, and how bylines name the maker.
_BRAND_LABELS = ("brand", "brand name", "marke", "hersteller", "marque", "marca", "merk", "marka",
                 "бренд", "производитель", "märke", "merkki", "thương hiệu", "ブランド", "브랜드", "品牌",
                 "manufacturer", "fabricant", "fabricante", "produttore")
_BRAND_LABEL = re.compile(rf"^\s*(?:{'|'.join(map(re.escape, _BRAND_LABELS))})\s*[:：]?\s*", re.I)
_BYLINE = re.compile(r"^(?:visit the (.+?) store|besuchen sie den (.+?)[- ]store|"
                     r"visiter la boutique (.+)|visita la tienda de (.+)|visita lo store di (.+)|"
                     r"by (.+))$", re.I)
_LABEL_TEXTS = frozenset(w for label in _BRAND_LABELS for w in (label, label + ":", label + "："))
_LABEL_TAGS = ("dt", "th", "td", "span", "div", "li", "b", "strong", "label", "p")


def spec_brand(doc: etree._Element) -> str | None:
    """The value beside a 'Brand' label in a specification table (dt/dd, th/td, label/value)."""
    labels = (el for el in doc.iter(*_LABEL_TAGS)
              if el.text and len(el.text) < 30 and el.text.strip().lower() in _LABEL_TEXTS)
    for _, label in zip(range(5), labels):
        # The value is the label's next sibling, or its cell's or row's ("<td><b>Brand</b></td><td>…").
        value, node = None, label
        for _ in range(4):
            value = node.getnext()
            if value is not None or node.getparent() is None:
                break
            node = node.getparent()
        text = _BRAND_LABEL.sub("", element_text(value)) if value is not None else ""
        if 2 <= len(text) <= 40 and len(text.split()) <= 4:
            return text
    return None


def dom_brand(marks: list[tuple[etree._Element, str]]) -> str | None:
    """A short text in an element named 'brand' or a byline ('Visit the Bosch Store')."""
    for el, mark in marks:
        if ("brand" not in mark and "byline" not in mark) or len(el) > 3 or _CHROME_AREA.search(mark) \
                or "logo" in mark:
            continue
        text = _BRAND_LABEL.sub("", element_text(el))
        m = _BYLINE.match(text)
        if m:
            text = next(g for g in m.groups() if g)
        if 2 <= len(text) <= 40 and len(text.split()) <= 4 and not re.search(r"[:|]", text):
            return text
    return None
