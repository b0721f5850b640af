"""Feature bullets and body text: boilerplate removed with jusText, shop chrome filtered out.

jusText (stop-word density and link density per block, with its own stop lists for ~100
languages) separates the product's text from menus and footers; what it cannot know, the
shop's own chrome inside the content (consent, payment, shipping, review widgets), our filter drops.

Why jusText: it judges each block (paragraph, list item) on its own, so it keeps the bullet lists
product pages are made of, and it runs on the lxml tree already parsed. readability keeps one
main block and drops lists around it; trafilatura is aimed at articles and costs a further parse
and about 0.4 s of imports per run.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree

from creative.core.text import CharRanges
from creative.research.dom import clean_text, element_text, marker

MAX_FEATURES = 12
MAX_FEATURE_LEN = 200
MAX_FEATURE_LEN_CJK = 60  # characters carry more in CJK scripts: a long line there is a paragraph
MAX_MAIN_TEXT = 4000
MAX_LINK_SHARE = 0.5  # a list item more than half link text is navigation
# Page parts that never hold the product's features. These patterns read markers (dom.marker), which
# are lower-cased already: without re.I a search is 3 to 9 times faster, over thousands of elements.
_CHROME_TAGS = ("nav", "header", "footer", "aside", "form", "dialog", "select", "button", "label")
_CHROME_AREA = re.compile(
    r"(^|[\s_-])(nav|menu|breadcrumb|footer|header|cookie|consent|gdpr|privacy|newsletter|sidebar|"
    r"related|recommend|similar|carousel|slider|swiper|upsell|cross-?sell|recent|review|rating|"
    r"bv[-_]|bazaarvoice|yotpo|trustpilot|payment|shipping|delivery|returns|social|share|modal|popup|"
    r"banner|promo|account|login|signin|cart|basket|wishlist|filter|facet|pagination|tab-?list)")
_PRODUCT_AREA = re.compile(r"(descr|feature|benefit|highlight|bullet|key-?point|summary|detail|usp|"
                           r"about|spec|product-?info|overview)")
_CHROME_ROLES = ("navigation", "banner", "contentinfo", "dialog", "complementary")
# Text that is shop chrome in any of the languages shops write in.
_JUNK = re.compile(
    r"(cookie|consent|privacy|gdpr|datenschutz|dsgvo|tietosuoja|polityk\w* prywatno|"
    r"listed in category|sicher\w* kauf|rechnung|ratenzahlung|paypal|klarna|afterpay|"
    r"credit card|kreditkarte|carte bancaire|tarjeta|payment|zahlung|paiement|pago|pagamento|"
    r"płatno|оплат|shipping|delivery|lieferung|versand|livraison|envío|envio|spedizione|"
    r"consegna|dostaw|доставк|verzending|retour|return policy|rücksend|devoluci|reso\b|"
    r"\breviews?\b|bewertung|\bavis\b|reseñ|recensi|opini|отзыв|rating|\bstars?\b|"
    r"sign in|log ?in|anmelden|(my|your|create an?) account|mein konto|wishlist|wunschliste|merkzettel|basket|warenkorb|"
    r"panier|carrito|carrello|koszyk|корзин|add to cart|checkout|newsletter|subscribe|"
    r"customer service|kundenservice|contact us|follow us|share on|javascript|browser|"
    r"copyright|©|all rights reserved|refund|terms and conditions|terms of (use|sale)|\bagb\b|\bcgv\b|"
    r"términos y condiciones|condizioni|warunki|условия|退費|退票|退款|規定|条款|條款|利用規約|약관|"
    r"原價|價格|价格|折扣|折起|discount|rabatt|remise|descuento|sconto|скидк|lead time|"
    r"product code|article no|artikelnummer|\bsku\b|\bean\b|\bisbn\b|référence|"
    r"assembly instructions|other documents|plus de produits|more from|more products|mehr von|"
    r"weitere produkte|más productos|altri prodotti)", re.I)
_TRACKING = re.compile(r"\b[a-z]+_[a-z]+_[a-z0-9]+\b|\b[a-z]+_[a-z]+\b.*\b[a-z]+_[a-z]+\b|"
                       r"\b[a-z]{1,6}_\d+\b|\bbv[a-z]*(_|\d)|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\{\{|\}\}|\$\{|function\s*\(", re.I)
_PRICE_LIKE = re.compile(r"^[\W\d\s.,]*\d[\W\d\s.,]*$|[€$£₫₽¥₩]\s?\d|\d\s?(€|zł|₫|₽|kr|usd|eur)\b", re.I)
_CJK = CharRanges("\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af")


def is_junk(text: str) -> bool:
    """Chrome, tracking strings, prices or fragments rather than a product feature."""
    if _JUNK.search(text) or _TRACKING.search(text) or _PRICE_LIKE.search(text):
        return True
    if text.startswith(("|", "›", ">", "»")) or text.rstrip().endswith((":", "|", "/")):
        return True
    if len(re.findall(r"\s[>›»/]\s", text)) >= 2:  # a breadcrumb trail
        return True
    words = len(text.split())
    return words < 2 and not (_CJK.found_in(text) and len(text) >= 4)


def drop_chrome(doc: etree._Element, marks: list[tuple[etree._Element, str]],
                heading: etree._Element | None = None) -> None:
    """Remove the page's chrome in place (the last step of extraction: it changes the tree).

    The product heading's ancestors stay whatever their names: a wrapper called "has-header"
    holds the whole product."""
    keep = {id(a) for a in heading.iterancestors()} if heading is not None else set()
    doomed = [el for el in doc.iter(*_CHROME_TAGS) if id(el) not in keep]
    for el, mark in marks:
        if el.tag in ("html", "body", "main", "article") or id(el) in keep:
            continue
        if (_CHROME_AREA.search(mark) and not _PRODUCT_AREA.search(mark)) or \
                el.get("role") in _CHROME_ROLES:
            doomed.append(el)
    for el in doomed:
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)


@lru_cache(maxsize=64)
def _stoplist(language: str | None) -> frozenset[str]:
    import justext
    from babel import Locale

    if not language:
        return frozenset()
    try:
        name = Locale.parse(language).english_name.replace(" ", "_")
    except Exception:  # noqa: BLE001 - an unknown language reads without stop words
        return frozenset()
    if language == "nb" or language == "no":
        name = "Norwegian_Bokmal"
    try:
        return frozenset(justext.get_stoplist(name))
    except ValueError:
        return frozenset()


def paragraphs(doc: etree._Element, language: str | None) -> list:
    """jusText's classified paragraphs of the (chrome-free) page."""
    from justext.core import ParagraphMaker, classify_paragraphs, revise_paragraph_classification

    body = doc.find("body")
    root = body if body is not None else doc
    paras = ParagraphMaker.make_paragraphs(root)
    stop = _stoplist(language)
    # Product copy is shorter than the articles jusText's defaults (70/200 chars) were set for.
    lengths = {"length_low": 40, "length_high": 120}
    if stop:
        classify_paragraphs(paras, stop, **lengths)
    else:  # no stop list (Chinese, Japanese, Thai...): jusText's language-independent mode
        classify_paragraphs(paras, frozenset(), stopwords_low=0, stopwords_high=0, **lengths)
    revise_paragraph_classification(paras)
    return paras


def features(paras: list, doc: etree._Element) -> tuple[list[str], str | None]:
    """List items jusText keeps as content, else list items in a part named for features, else
    list items left once the chrome is gone; never items that are mostly links (menus, 'more X')."""
    kept = [clean_text(p.text) for p in paras
            if p.dom_path.endswith(".li") and not p.is_boilerplate and p.links_density() < MAX_LINK_SHARE]
    source = "html <li> in content (jusText)"
    out = _usable(kept)
    if not out:
        named = [li for el in doc.iter("ul", "ol") if _named_for_product(el) for li in el.iter("li")]
        out, source = _usable(_texts(named)), "html <li> in the product's feature list"
    if not out:
        out, source = _usable(_texts(doc.iter("li"))), "html <li> outside page chrome"
    return out, source if out else None


def _texts(items) -> list[str]:
    """The text of list items that are not mostly link text."""
    out = []
    for li in items:
        text = element_text(li)
        linked = sum(len(element_text(a)) for a in li.iter("a"))
        if text and linked / len(text) < MAX_LINK_SHARE:
            out.append(text)
    return out


def _named_for_product(el: etree._Element) -> bool:
    for node in [el, *list(el.iterancestors())[:4]]:
        if _PRODUCT_AREA.search(marker(node)):
            return True
    return False


def _usable(texts: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for text in texts:
        text = text.strip(" •·-–—*✓✔")
        key = text.casefold()
        limit = MAX_FEATURE_LEN_CJK if _CJK.found_in(text) else MAX_FEATURE_LEN
        if 3 <= len(text) <= limit and key not in seen and not is_junk(text):
            seen.add(key)
            out.append(text)
    return out[:MAX_FEATURES]


def main_text(paras: list) -> str | None:
    """The page's prose: jusText's good paragraphs that are not list items or headings."""
    blocks = [p for p in paras if not p.is_heading and not p.dom_path.endswith(".li")]
    kept = [p for p in blocks if not p.is_boilerplate]
    # A short page may have no block jusText calls good in context; its own verdict per block
    # (good or near-good before looking at neighbours) then decides.
    kept = kept or [p for p in blocks if p.cf_class in ("good", "neargood")]
    prose = [clean_text(p.text) for p in kept]
    prose = [t for t in prose if len(t.split()) >= 8 or (_CJK.found_in(t) and len(t) >= 20)]
    prose = [t for t in prose if not _JUNK.search(t) and not _TRACKING.search(t)]
    text = "\n\n".join(prose)
    if len(text) > MAX_MAIN_TEXT:
        text = text[:MAX_MAIN_TEXT].rsplit(" ", 1)[0] + " …"
    return text or None


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


def clean_description(text: str | None, shop_words: list[str]) -> str | None:
    """The description without its shop sentences ('Buy X at Argos. Free delivery over £50.')."""
    if not text:
        return None
    kept = []
    for sentence in _SENTENCE_END.split(text):
        low = sentence.lower()
        if _JUNK.search(sentence) or _TRACKING.search(sentence) or any(len(w) >= 4 and w in low for w in shop_words):
            continue
        kept.append(sentence)
    return " ".join(kept).strip() or None
