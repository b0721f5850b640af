"""Copy hygiene: unescape, strip markup, spot shop chrome and tracking strings."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from typing import Iterable
from creative.copy.policy import clean_terms, contains_term  # noqa: F401 - one matcher for drafting and policy
from creative.core.text import CharRanges

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>|<!--.*?-->", re.S)
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_LEAD = re.compile(r"^[\s•·●▪■□◆◇►▶➤✓✔✅☑*+\-–—>|:;,.]+")
_TRAIL = re.compile(r"[\s•·|:;,\-–—/]+$")
_CJK = CharRanges("\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef")

# Shapes of text that is never copy: tracking ids, timestamps, addresses, code, spec codes.
_NOT_COPY = [
    re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b", re.I),  # snake_case ids: bvseo_fps, prod_bvrr
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?"),  # timestamps
    re.compile(r"https?://|www\.|\S+@\S+\.\w+", re.I),  # links and e-mail addresses
    re.compile(r"[{}\[\]<>\\]|=>|\bfunction\b|\bvar\b", re.I),  # code
    re.compile(r"\b(?:sku|ean|gtin|upc|isbn|mpn)\b", re.I),
    re.compile(r"\b1 reviews\b", re.I),
    re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"),  # dates: review widgets, order histories
    # words glued by a scraper: "instructionsFJANTIG", "toyArticle", "FJANTIGHook", "Länge33", "(LxBxH)16"
    re.compile(r"(?<![A-Za-z])[a-z]{4,}[A-Z]|(?<![A-Za-z])[a-z]{3,}[A-Z][a-z]|[A-Z]{4,}[a-z]{2,}"
               r"|[^\W\d_]{4,}\d{2,}\b|\)\d"),
]
# An amount of money: features naming one are other products' prices or fees, not benefits.
MONEY = re.compile(r"[$€£¥₹₫₪₩]\s?\d|\d\s?(?:[$€£¥₹₫₪₩元円]|zł|kr|usd|eur|gbp|chf|pln|clp)(?!\w)", re.I)
OPEN_CLOSE = {"(": ")", "[": "]", "«": "»", "“": "”", "„": "“", "‘": "’", "「": "」", "『": "』", "（": "）"}


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
    return _CJK.found_in(text)


class TermMatcher:
    """Finds terms where a word starts (anywhere for CJK terms), case-insensitively.

    Indexed by the first letters instead of one big regex: compiling an alternation of
    hundreds of terms costs more than drafting a whole brief. With `whole_under`, terms
    shorter than that must end where the word ends (a plural s/es allowed): "pan" is not "panel".
    """

    def __init__(self, terms: Iterable[str], whole_under: int = 0):
        self.whole_under = whole_under
        self.cjk = tuple(sorted({t.lower() for t in terms if t and has_cjk(t)}))
        self.by_head: dict[str, list[str]] = {}
        for term in sorted({t.lower() for t in terms if t and not has_cjk(t)}):
            self.by_head.setdefault(term[:2], []).append(term)

    def count(self, text: str) -> int:
        """How many term occurrences the text has (at most one per word start)."""
        low = text.lower()
        hits = sum(low.count(term) for term in self.cjk)
        for i, ch in enumerate(low):
            if i and (low[i - 1].isalnum() or low[i - 1] == "_"):
                continue
            for term in self.by_head.get(low[i:i + 2], ()):
                if low.startswith(term, i) and self._ends_ok(low, i + len(term), term):
                    hits += 1
                    break
        return hits

    def search(self, text: str) -> bool:
        return self.count(text) > 0

    def _ends_ok(self, low: str, end: int, term: str) -> bool:
        if len(term) >= self.whole_under or not term[-1:].isalnum():
            return True
        rest = low[end:end + 3]
        for suffix in ("", "s", "es"):
            after = rest[len(suffix):len(suffix) + 1]
            if rest.startswith(suffix) and not (after.isalnum() or after == "_"):
                return True
        return False


@lru_cache(maxsize=64)
def word_starts(terms: tuple[str, ...]) -> TermMatcher:
    """A cached TermMatcher for a tuple of terms."""
    return TermMatcher(terms)


def is_junk(text: str, junk_terms: tuple[str, ...]) -> bool:
    """True for shop chrome (consent, payment, shipping, log-in ...), tracking strings and code."""
    if not text or any(rx.search(text) for rx in _NOT_COPY):
        return True
    if word_starts(tuple(junk_terms)).search(text):
        return True
    return not balanced(text)


def balanced(text: str) -> bool:
    """Every opening bracket or quote is closed, and straight double quotes pair up."""
    stack: list[str] = []
    for ch in text:
        if ch in OPEN_CLOSE:
            stack.append(OPEN_CLOSE[ch])
        elif ch in OPEN_CLOSE.values() and ch not in OPEN_CLOSE:
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
