"""Copy hygiene: unescape, strip markup, spot shop chrome, shorten at word boundaries."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from typing import Iterable

from uniseg.linebreak import line_break_units

log = logging.getLogger(__name__)

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>|<!--.*?-->", re.S)
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_LEAD = re.compile(r"^[\s•·●▪■□◆◇►▶➤✓✔✅☑*+\-–—>|:;,.]+")
_TRAIL = re.compile(r"[\s•·|:;,\-–—/]+$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")

# Shapes of text that is never copy: tracking ids, timestamps, addresses, code, spec codes.
_NOT_COPY = [
    re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b", re.I),  # snake_case ids: bvseo_fps, prod_bvrr
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?"),  # timestamps
    re.compile(r"https?://|www\.|\S+@\S+\.\w+", re.I),  # links and e-mail addresses
    re.compile(r"[{}\[\]<>\\]|=>|\bfunction\b|\bvar\b", re.I),  # code
    re.compile(r"\b(?:sku|ean|gtin|upc|isbn|mpn)\b", re.I),
    re.compile(r"\b1 reviews\b", re.I),
]
_TRAILING_JUNK = {
    "and", "or", "with", "for", "the", "a", "an", "of", "to", "in", "on", "at", "by", "from", "&",
    "your", "our", "that", "which", "while", "without", "plus", "into",
    "und", "oder", "mit", "für", "et", "ou", "avec", "pour", "y", "o", "con", "para", "e", "per", "di", "de",
    "en", "met", "voor", "i", "z", "w", "na", "и", "с", "для", "в", "và", "với", "cho", "từ", "của",
}
_PREPOSITIONS = {"in", "with", "for", "on", "at", "by", "from", "to", "under", "over", "without", "into"}
_OPEN_CLOSE = {"(": ")", "[": "]", "«": "»", "“": "”", "„": "“", "‘": "’", "「": "」", "『": "』", "（": "）"}


def clean_text(text: str | None) -> str:
    """Entities decoded (twice: shops double-escape), tags and invisible characters removed,
    whitespace collapsed, leading bullets and trailing separators dropped."""
    if not text:
        return ""
    text = html.unescape(html.unescape(str(text)))
    text = _TAG.sub(" ", text)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = " ".join(text.split())
    text = _LEAD.sub("", text)
    return _TRAIL.sub("", text).strip()


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def is_junk(text: str, junk_terms: Iterable[str]) -> bool:
    """True for shop chrome (consent, payment, shipping, log-in ...), tracking strings and code."""
    if not text or any(rx.search(text) for rx in _NOT_COPY):
        return True
    low = text.lower()
    for term in junk_terms:
        if has_cjk(term):
            if term in low:
                return True
        elif re.search(r"(?<!\w)" + re.escape(term), low):
            return True
    return not balanced(text)


def balanced(text: str) -> bool:
    """Every opening bracket or quote is closed, and straight double quotes pair up."""
    stack: list[str] = []
    for ch in text:
        if ch in _OPEN_CLOSE:
            stack.append(_OPEN_CLOSE[ch])
        elif ch in _OPEN_CLOSE.values() and ch not in _OPEN_CLOSE:
            if not stack or stack.pop() != ch:
                return False
    return not stack and text.count('"') % 2 == 0


def capitalize_first(text: str) -> str:
    """Capitalise the first letter unless the first word has its own casing ('iPadOS', 'eBay')."""
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if first[:1].islower() and first.isalpha() and first == first.lower():
        return text[:1].upper() + text[1:]
    return text


def contains_term(text: str, term: str) -> bool:
    """Whole-word, case-insensitive match of a (multi-word) term."""
    return term_regex(term).search(text) is not None


def term_regex(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.I)


def clean_terms(terms: Iterable[str]) -> list[str]:
    return [t.strip() for t in terms if t and t.strip()]


def shorten(text: str, limit: int) -> str:
    """Fit `text` in `limit` chars at a word boundary, never mid-word, without a dangling tail.

    When words must go, a cut-off prepositional phrase ("... in 4") and trailing joiners
    ("and", "with", commas) go with them so the result still reads as a phrase. Text without
    spaces (Japanese, Chinese) is cut at a Unicode line-break opportunity.
    """
    text = " ".join(text.split()).strip(" .;:")
    if len(text) <= limit:
        return text
    if " " not in text and has_cjk(text):
        return _shorten_units(text, limit)
    words = text.split(" ")
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) > limit:
            break
        kept.append(word)
    if not kept:
        log.warning("cannot shorten %r to %d chars at a word boundary", text, limit)
        return words[0]
    # Never end inside a name: "... from Thái" of "from Thái Nguyên" loses the whole name.
    while len(kept) > 1 and len(kept) < len(words) and _capital(kept[-1]) and _capital(words[len(kept)]):
        while len(kept) > 1 and _capital(kept[-1]):
            kept.pop()
    # Drop an incomplete prepositional phrase at the end when enough remains.
    for i in range(len(kept) - 1, 0, -1):
        if kept[i].lower() in _PREPOSITIONS:
            if i >= 2:
                kept = kept[:i]
            break
    while len(kept) > 1 and (kept[-1].lower().strip(",;:—–-") in _TRAILING_JUNK or kept[-1] in "—–-"):
        kept.pop()
    out = " ".join(kept).rstrip(",;:—–- ")
    return _drop_open_bracket(out)


def _capital(word: str) -> bool:
    return word[:1].isupper()


def _shorten_units(text: str, limit: int) -> str:
    # prefer a whole clause ("、" / "，"), else line-break units
    clause = re.split(r"[、，。！？]", text)[0]
    if 0 < len(clause) <= limit:
        return clause
    out = ""
    for unit in line_break_units(text):
        if len(out + unit) > limit:
            break
        out += unit
    return out.rstrip("、，") or text[:limit]


def _drop_open_bracket(text: str) -> str:
    """'Lamp (oak, 40' -> 'Lamp': a cut never leaves a bracket or quote open."""
    while text and not balanced(text):
        cut = max(text.rfind(ch) for ch in (*_OPEN_CLOSE, '"'))
        if cut <= 0:
            break
        text = text[:cut].rstrip(" ,;:—–-")
    return text
