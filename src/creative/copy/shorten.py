"""Shortening copy to a length: at word boundaries, and for headlines only where a phrase ends."""

from __future__ import annotations

import logging
import re

from uniseg.linebreak import line_break_units

from creative.copy.clean import balanced, has_cjk

log = logging.getLogger(__name__)

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
    return " ".join(_cut_words(text, limit)).rstrip(",;:—–- ")


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


def _cut_words(text: str, limit: int) -> list[str]:
    """Words of `text` that fit `limit`, without a name cut in two, a dangling preposition or joiner."""
    words = text.split(" ")
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) > limit:
            break
        kept.append(word)
    if not kept:
        log.warning("cannot shorten %r to %d chars at a word boundary", text, limit)
        return [words[0]]
    # Never end inside a name within a sentence: "... from Thái" of "from Thái Nguyên".
    run = len(kept)
    while run > 0 and _capital(kept[run - 1]):
        run -= 1
    if 1 < run < len(kept) and _capital(words[len(kept)]):
        kept = kept[:run]
    # Drop an incomplete prepositional phrase at the end when enough remains.
    for i in range(len(kept) - 1, 0, -1):
        if kept[i].lower() in _PREPOSITIONS:
            if i >= 2:
                kept = kept[:i]
            break
    while len(kept) > 1 and (kept[-1].lower().strip(",;:—–-") in _TRAILING_JUNK or kept[-1] in "—–-/|"
                             or not re.search(r"\w", kept[-1])):
        kept.pop()
    return _drop_open_bracket(kept)


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
