"""Parse a page into an lxml tree once, and turn any page text into clean plain text."""

from __future__ import annotations

import html as html_lib
import re

import lxml.html
from lxml import etree

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
# Characters that never belong in page text (controls, zero-width marks, soft hyphen).
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b-\u200d\u2060\ufeff]")


def _parser() -> etree.HTMLParser:
    """An HTML parser whose elements are all lxml.html's HtmlElement, chosen in C.

    lxml.html's own parser asks a Python function for the class of every element each time one
    is first touched: a fifth of the extraction's time. Its per-tag classes (forms, inputs) are
    never used here; lxml.html's methods are (extruct's microdata cleans text through them)."""
    parser = etree.HTMLParser()
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))
    return parser


def parse_document(html: str) -> lxml.html.HtmlElement:
    """The page as an lxml tree; an empty or broken page gives an empty <html>, never an error."""
    text = html.lstrip("\ufeff")
    # lxml refuses str input that declares an encoding; the text is already decoded.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    parser = _parser()
    try:
        doc = etree.fromstring(text, parser) if text.strip() else None
    except (etree.LxmlError, ValueError):  # recover=True rarely gives up, but never fail a page for it
        doc = None
    return doc if doc is not None else etree.fromstring("<html><body></body></html>", parser)


def clean_text(value: object) -> str:
    """Unescape entities (twice, for double-escaped feeds), drop tags, collapse white space."""
    if value is None:
        return ""
    text = str(value)
    for _ in range(2):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html_lib.unescape(text)
    if "<" in text and _TAG.search(text):
        text = _TAG.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    return _WS.sub(" ", text).strip()


def strip_hidden(doc: lxml.html.HtmlElement) -> None:
    """Remove scripts, styles, templates and comments, once structured data has been read."""
    etree.strip_elements(doc, "script", "style", "noscript", "template", "svg", with_tail=False)
    etree.strip_elements(doc, etree.Comment, etree.ProcessingInstruction, with_tail=False)


def element_text(el: etree._Element) -> str:
    """Visible text of one element (after strip_hidden), cleaned."""
    return clean_text(" ".join(el.itertext()))


def marker(el: etree._Element) -> str:
    """The class and id of an element, lower-cased: what shops name their parts by."""
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower()


def marked(doc: etree._Element) -> list[tuple[etree._Element, str]]:
    """Every element with a class, id or itemprop, with those lower-cased: read once per page,
    searched by each rule (prices, brand, breadcrumbs, chrome) without walking the tree again."""
    out = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        attrs = el.attrib
        if "class" in attrs or "id" in attrs or "itemprop" in attrs or "role" in attrs:
            out.append((el, f"{attrs.get('class', '')} {attrs.get('id', '')} {attrs.get('itemprop', '')} "
                            f"{attrs.get('role', '')}".lower()))
    return out
