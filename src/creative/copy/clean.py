"""Copy hygiene: unescape, strip markup, spot shop chrome, shorten at word boundaries."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from functools import lru_cache
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
    re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"),  # dates: review widgets, order histories
    # words glued by a scraper: "instructionsFJANTIG", "toyArticle", "FJANTIGHook", "Länge33", "(LxBxH)16"
    re.compile(r"(?<![A-Za-z])[a-z]{4,}[A-Z]|(?<![A-Za-z])[a-z]{3,}[A-Z][a-z]|[A-Z]{4,}[a-z]{2,}"
               r"|[^\W\d_]{4,}\d{2,}\b|\)\d"),
]
# An amount of money: features naming one are other products' prices or fees, not benefits.
MONEY = re.compile(r"[$€£¥₹₫₪₩]\s?\d|\d\s?(?:[$€£¥₹₫₪₩元円]|zł|kr|usd|eur|gbp|chf|pln|clp)(?!\w)", re.I)
_TRAILING_JUNK = {
    "and", "or", "with", "for", "the", "a", "an", "of", "to", "in", "on", "at", "by", "from", "&",
    "your", "our", "that", "which", "while", "without", "plus", "into",
    "und", "oder", "mit", "für", "et", "ou", "avec", "pour", "y", "o", "con", "para", "e", "per", "di", "de",
    "en", "met", "voor", "i", "z", "w", "na", "и", "с", "для", "в", "và", "với", "cho", "từ", "của",
    # a phrase does not end on a pronoun or an auxiliary: "Helps you", "Odds are"
    "you", "us", "them", "it", "its", "their", "is", "are", "was", "were", "be", "been", "has", "have",
    "can", "will", "may", "do", "does", "sie", "vous", "te", "tu", "su",
}
_PREPOSITIONS = {"in", "with", "for", "on", "at", "by", "from", "to", "under", "over", "without", "into"}
# Words a new phrase starts with: cutting right before one leaves a whole phrase.
_PHRASE_STARTS = _PREPOSITIONS | {
    "while", "that", "which", "who", "plus", "thanks", "because",
    "mit", "für", "ohne", "avec", "pour", "sans", "con", "para", "sin", "per", "senza",
    "com", "sem", "met", "voor", "zonder", "z", "dla", "bez", "с", "для", "без", "với", "cho", "từ"}
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
    spaces (Japanese, Chinese) is cut at a clause mark or a Unicode line-break opportunity.
    """
    text = " ".join(text.split()).strip(" .;:")
    if len(text) <= limit:
        return text
    if " " not in text and has_cjk(text):
        return _shorten_units(text, limit)
    kept, clean_cut = _cut_words(text, limit)
    return " ".join(kept).rstrip(",;:—–- ")


def shorten_phrase(text: str, limit: int) -> str | None:
    """Like shorten, but only where a phrase ends: at ';', ':' or a dash, or before a preposition
    or a joining word that follows no verb ("Visibly brighter skin | in 4 weeks"). A headline cut
    mid-clause ("Bluetooth technology allows | for ...") is no headline: None then."""
    text = " ".join(text.split()).strip(" .;:")
    if len(text) <= limit:
        return text
    if " " not in text and has_cjk(text):
        clause = re.split(r"[、，。！？]", text)[0]
        return clause if 0 < len(clause) <= limit and clause != text else None
    words = text.split(" ")
    for end in range(len(words) - 1, 1, -1):
        kept = words[:end]
        out = " ".join(kept).rstrip(",;:—–- ")
        if len(out) <= limit and _phrase_ends(words, end) and balanced(out) and end >= 3 \
                and kept[-1].lower().strip(",;:") not in _TRAILING_JUNK:
            return out
    return None


def _phrase_ends(words: list[str], end: int) -> bool:
    """Whether a phrase ends between words[end - 1] and words[end]."""
    before, after = words[end - 1], words[end]
    if before[-1:] in ";:" or after in ("—", "–", "-"):
        return True
    if _capital(before) and _capital(after) and end > 1:
        return False  # inside a name: "from Thái | Nguyên"
    if before[-1:] == "," or after.lower() == "to":
        return False  # a list or a verb's complement goes on
    return after.lower() in _PHRASE_STARTS and not _verbish(before)


def _verbish(word: str) -> bool:
    """'allows', 'delivers', 'finished', 'suitable': an English verb or such an adjective wants
    what follows it ("allows for", "suitable for")."""
    w = word.lower()
    return bool(re.fullmatch(r"[a-z]+(?:[^su]s|ed|able|ible)", w)) and w not in _NOT_VERBS


_NOT_VERBS = {"glass", "lens", "series", "hours", "weeks", "days", "years", "months", "minutes", "seeds",
              "bed", "speed", "feed", "seed", "need", "red", "shed", "led", "wed"}


def _cut_words(text: str, limit: int) -> tuple[list[str], bool]:
    """Words of `text` that fit `limit`, tidied; and whether the cut fell where a phrase ends."""
    words = text.split(" ")
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) > limit:
            break
        kept.append(word)
    if not kept:
        log.warning("cannot shorten %r to %d chars at a word boundary", text, limit)
        return [words[0]], False
    clean_cut = kept[-1][-1:] in ",;:" or words[len(kept)].lower() in _PHRASE_STARTS \
        or words[len(kept)] in "—–-"
    # Never end inside a name within a sentence: "... from Thái" of "from Thái Nguyên".
    run = len(kept)
    while run > 0 and _capital(kept[run - 1]):
        run -= 1
    if 1 < run < len(kept) and _capital(words[len(kept)]):
        kept, clean_cut = kept[:run], True
    # Drop an incomplete prepositional phrase at the end when enough remains.
    for i in range(len(kept) - 1, 0, -1):
        if kept[i].lower() in _PREPOSITIONS:
            if i >= 2:
                kept, clean_cut = kept[:i], True
            break
    while len(kept) > 1 and (kept[-1].lower().strip(",;:—–-") in _TRAILING_JUNK or kept[-1] in "—–-/|"
                             or not re.search(r"\w", kept[-1])):
        kept.pop()
    return _drop_open_bracket(kept), clean_cut


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


def _drop_open_bracket(words: list[str]) -> list[str]:
    """'Lamp (oak, 40' -> 'Lamp': a cut never leaves a bracket or quote open."""
    while len(words) > 1 and not balanced(" ".join(words)):
        words = words[:-1]
    return words
