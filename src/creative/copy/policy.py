"""Copy policy: avoid terms and banned words matched the way a reader's eye sees the ad.

A word is matched after NFKC normalisation (full-width and ligature forms become plain
letters), with invisible format characters removed (zero-width space and joiners, soft hyphen,
bidi controls: Unicode category Cf) and look-alike letters folded to Latin with Unicode's
confusables data (UTS #39, shipped by `confusable_homoglyphs`): "mіracle" with a Cyrillic
"і" reads as "miracle" and is refused as such. Words that mix scripts are refused outright,
and so is text that carries a decoding accident (U+FFFD from invalid UTF-8, an HTML entity
that was never resolved, control characters): none of it may be drawn on an ad.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

from creative.core.errors import InputError
from creative.core.models import Brief

# The fields drawn on the ad, with the labels brief.md uses for them.
COPY_FIELDS = {"headline": "Headline", "subhead": "Subhead", "cta": "CTA"}
# Script sets a single word may legitimately combine (UTS #39 "highly restrictive").
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_NEUTRAL_SCRIPTS = {"COMMON", "INHERITED", "UNKNOWN"}
_WORD = re.compile(r"[^\s]+")
# What an HTML entity looks like when nothing resolved it (&nbsp; that reached text as-is).
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
REPLACEMENT_CHAR = "\ufffd"
HINT = "edit brief.md to reword it, or remove the term from the list, then run again"


def clean_terms(terms: Iterable[str]) -> list[str]:
    """The non-empty terms, stripped."""
    return [t.strip() for t in terms if t and t.strip()]


def _without_format(text: str) -> str:
    """`text` without format characters (zero-width, soft hyphen, bidi controls): none is drawn."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def strip_invisible(text: str) -> str:
    """`text` without format characters, NFKC-normalised (full-width and ligature forms made plain)."""
    return unicodedata.normalize("NFKC", _without_format(text))


@lru_cache(maxsize=4096)
def _latin_look_alike(ch: str) -> str:
    """The Latin letter `ch` is drawn like, or `ch` itself."""
    if unicodedata.name(ch, "").startswith("LATIN "):  # é, ß, ł, ơ: Latin already, nothing to fold
        return ch
    # Loaded on the first other non-ASCII character: its tables cost more than most briefs take to draft.
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(ch, preferred_aliases=["latin"], greedy=False)
    if found:
        for glyph in found[0]["homoglyphs"]:
            if glyph["c"].isascii():
                return glyph["c"]
    return ch


def visible_form(text: str) -> str:
    """How `text` reads on the ad, for matching: invisible characters gone, look-alikes folded, casefolded."""
    plain = strip_invisible(text)
    folded = "".join(ch if ch.isascii() else _latin_look_alike(ch) for ch in plain)
    return folded.casefold()


@lru_cache(maxsize=1024)
def _term_regex(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in visible_form(term).split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def contains_term(text: str, term: str) -> bool:
    """True when `term` appears in `text` as whole words, as a reader would see them."""
    return _term_regex(term).search(visible_form(text)) is not None


def mixed_script_word(text: str) -> str | None:
    """The first word of `text` that mixes scripts (Latin with Cyrillic, ...), or None."""
    if text.isascii():  # Latin and Common letters only: no word can mix scripts (and no script tables to load)
        return None
    from confusable_homoglyphs import categories

    # NFC, not NFKC: the micro sign in "5µm" is Common, its NFKC form a Greek mu
    for word in _WORD.findall(unicodedata.normalize("NFC", _without_format(text))):
        scripts = categories.unique_aliases(word) - _NEUTRAL_SCRIPTS
        if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_MIXES):
            return word
    return None


def decoding_accident(text: str) -> str | None:
    """Why `text` cannot be drawn as it is (undecodable bytes, a raw entity, control characters), or None."""
    if REPLACEMENT_CHAR in text:
        return "holds U+FFFD, the mark of bytes that were not valid UTF-8"
    entity = _ENTITY.search(text)
    if entity:
        return f"holds the unresolved HTML entity {entity.group(0)!r}"
    control = next((ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"), None)
    if control is not None:
        return f"holds the control character U+{ord(control):04X}"
    return None


def check_policy(brief: Brief, banned_words: Iterable[str]) -> None:
    """Refuse copy that contains a term from brief.avoid or the brand's banned words (as read by
    the eye), a word that mixes scripts, or text that is not clean Unicode."""
    terms = [(t, "the brief's avoid list") for t in clean_terms(brief.avoid)]
    terms += [(t, "the brand's banned words") for t in clean_terms(banned_words)]
    hits = []
    for concept in brief.concepts:
        for field, label in COPY_FIELDS.items():
            value = getattr(concept, field) or ""
            where = f"concept {concept.name!r} {label} {value!r}"
            accident = decoding_accident(value)
            if accident:
                raise InputError(f"Copy refused: {where} {accident}",
                                 hint="retype that text in brief.md as plain UTF-8, then run again")
            word = mixed_script_word(value)
            if word:
                raise InputError(f"Copy refused: {where} has the word {word!r}, which mixes "
                                 f"letters from different scripts (a look-alike spelling)",
                                 hint="retype the word in one alphabet, then run again")
            hits += [(where, term, origin) for term, origin in terms if contains_term(value, term)]
    if hits:
        where, term, origin = hits[0]
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        raise InputError(f"Copy refused: {where} contains {term!r} from {origin}{more}", hint=HINT)
