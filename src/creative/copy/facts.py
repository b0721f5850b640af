"""Copy-ready facts from research notes: benefit lines, problem-solved lines, a short product name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from creative.copy.clean import (
    MONEY, capitalize_first, clean_text, contains_term, has_cjk, is_junk, word_starts,
)
from creative.copy.phrases import Phrases
from creative.core.models import ResearchNotes

# How a fact reads as a headline: concrete benefits first, raw specs last.
_SPEC_KEY = re.compile(r"^(?P<key>[^:]{1,32}?)(?::|\s+-)\s+(?P<value>.+)$")
_SPEC_SHAPE = re.compile(
    r"^[\d\s.,x×/%-]*(?:cm|mm|m|kg|g|mg|ml|l|w|kw|v|mah|gb|tb|mb|hz|ghz|inch|in|\"|″|k)?\b[\d\s.,x×/%-]*$", re.I)
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?。！？])\s*|\s+[–—]\s+|;\s+|\s+\|\s+")
_NAME_SPLIT = re.compile(r"\s+[-–—|/]\s+|,\s+|\s+\(")
_FOR_TAIL = re.compile(r"\bfor\s+(.+)$", re.I)
ENGLISH_BENEFIT_STEMS = ("brighter", "softer", "smoother", "easier", "faster", "lighter", "stronger", "better")
MAX_WORDS = 18
_FIRST_PERSON = re.compile(r"^(?:i|i'm|i've|my|je|j'|ich|mein|yo|io|eu|ik|ja|я|мне)\b", re.I)
# A line that starts by leaning on the one before it, or stops in the middle: page text, not copy.
_LEANING_START = {"but", "and", "or", "so", "also", "plus", "then", "aber", "und", "oder", "mais", "et", "pero",
                  "y", "ma", "e", "mas", "maar", "en", "ale", "i", "но", "и", "а", "nhưng", "và"}
_DANGLING_END = {"the", "a", "an", "of", "to", "and", "or", "with", "for", "your", "our", "you", "us", "their",
                 "its", "my", "is", "are", "be", "der", "die", "das", "den", "dem", "ein", "eine", "und", "oder",
                 "le", "la", "les", "des", "du", "un", "une", "votre", "vos", "et", "ou", "el", "los", "las",
                 "su", "sus", "il", "lo", "di", "de", "het", "een", "w", "z", "i"}


@dataclass
class Candidate:
    text: str
    score: float
    order: int


def _words(text: str) -> int:
    return len(text.split()) if not has_cjk(text) else max(1, len(text) // 3)


def _has_word(text: str, stems: tuple[str, ...]) -> bool:
    return word_starts(stems).search(text)


def _clauses(text: str) -> list[str]:
    return [c for c in (clean_text(p) for p in _CLAUSE_SPLIT.split(text)) if c]


def _usable(text: str, junk: tuple[str, ...], refused: list[str], product: str | None) -> bool:
    if not text or not re.search(r"\w", text) or is_junk(text, junk):
        return False
    if any(contains_term(text, t) for t in refused):
        return False
    if _SPEC_SHAPE.fullmatch(text) or sum(ch.isdigit() for ch in text) > 0.3 * len(text):
        return False
    if MONEY.search(text):  # other products' prices, fees: the price has its own line
        return False
    words = text.lower().rstrip(".,;:!?").split()
    if not has_cjk(text) and (words[0].strip(",") in _LEANING_START or words[-1] in _DANGLING_END):
        return False
    if _FIRST_PERSON.match(text):  # "I love it", "Je recommande": a customer's review, not our copy
        return False
    if text.isupper() and len(text.split()) > 3:  # shouting: review titles, banners
        return False
    if product and text.lower() == product.lower():
        return False
    n = _words(text)
    return (n >= 2 or has_cjk(text)) and n <= MAX_WORDS


def _label(text: str) -> bool:
    """'Memory Card Supported': a short line in Title Case names a spec, it does not sell."""
    words = text.split()
    return len(words) <= 3 and all(w[:1].isupper() or not w[:1].isalpha() for w in words)


def _spec_value(text: str) -> tuple[str, bool]:
    """'Material: 100% cotton' -> ('100% cotton', True); other lines unchanged."""
    m = _SPEC_KEY.match(text)
    if m and len(m.group("key").split()) <= 3:
        return m.group("value").strip(), True
    return text, False


def copy_lines(notes: ResearchNotes, phrases: Phrases, junk: tuple[str, ...], refused: list[str],
               product: str | None) -> list[tuple[str, bool, bool]]:
    """Every usable line from the facts, in page order: (text, is_from_features, is_spec)."""
    out: list[tuple[str, bool, bool]] = []
    for raw in notes.features:
        text, spec = _spec_value(clean_text(raw))
        if spec and _words(text) < 3:
            continue  # "Upper: leather", "Style - Chelsea Boots": data for a table, not an ad
        for i, clause in enumerate(_clauses(text)[:2]):
            if i and _words(clause) < 3:
                continue  # a trailing fragment ("— “slow roast”") is no message of its own
            out.append((clause, True, spec))
            tail = _FOR_TAIL.search(clause)  # "15% vitamin C for visibly brighter skin": the benefit
            if tail and phrases.language == "en" and _has_word(tail.group(1), phrases.benefit_words):
                out.append((tail.group(1), True, spec))
    for text in (notes.description, notes.main_text if not notes.description else None):
        clauses = _clauses(clean_text(text))
        if clauses and re.search(r"(\.\.\.|…)\s*$", text or ""):
            clauses = clauses[:-1]  # a description cut off by the shop ends mid-sentence
        for clause in clauses[:4]:
            out.append((clause, False, False))
    seen: set[str] = set()
    usable = []
    for text, from_features, spec in out:
        text = clean_text(text.rstrip(".。!！ "))
        key = text.lower()
        if key in seen or not _usable(text, junk, refused, product):
            continue
        seen.add(key)
        usable.append((capitalize_first(text), from_features, spec))
    return usable


def benefit_lines(lines: list[tuple[str, bool, bool]], phrases: Phrases, limit: int) -> list[str]:
    """Lines ranked as benefit headlines: a benefit word, short enough, a feature not a spec."""
    stems = phrases.benefit_words + ENGLISH_BENEFIT_STEMS
    ranked: list[Candidate] = []
    for order, (text, from_features, spec) in enumerate(lines):
        score = 0.0
        benefit = _has_word(text, stems)
        if not benefit and (spec or text[:1].isdigit() or _label(text)):
            continue  # "Dual Sim", "1000 mAh Battery": a spec sheet, not a benefit
        if re.search(r"\s\d{1,2}$", text):
            continue  # "Cama Ergo T 1": another product's tile with its rating count
        if benefit:
            score += 3
        if len(text) <= limit:
            score += 2
        if from_features:
            score += 1
        if spec:
            score -= 2
        if text[:1].isdigit():  # "1000 mAh Battery", "2 years Warranty": a spec sheet line
            score -= 3
        if text.isupper() and len(text) > 6:
            score -= 3
        score -= max(0, _words(text) - 8) / 4
        ranked.append(Candidate(text, score, order))
    ranked.sort(key=lambda c: (-c.score, c.order))
    return [c.text for c in ranked]


def problem_lines(lines: list[tuple[str, bool, bool]], phrases: Phrases) -> list[str]:
    """Lines that say what problem the product takes away ('without', 'no more', 'prevents' ...)."""
    markers = [m for m in phrases.problem_markers if m]
    out = []
    for text, _, spec in lines:
        if spec:
            continue
        low = text.lower()
        for marker in markers:  # markers are small regexes ("prevents?")
            bounded = has_cjk(marker) or not marker[:1].isalnum()  # "-free" follows a word
            if re.search(marker if bounded else r"(?<!\w)" + marker, low):
                out.append(text)
                break
    return out


def product_label(notes: ResearchNotes, brand: str, limit: int = 40) -> str | None:
    """The product's name for copy: clean, without a leading brand, cut at a natural separator."""
    name = clean_text(notes.product_name or notes.title)
    if not name:
        return None
    for prefix in (brand, notes.brand):
        prefix = clean_text(prefix)
        rest = name[len(prefix):].strip(" -–|:,") if prefix else ""
        # "Origins A Perfect World" -> "A Perfect World"; not "Girard for Herman Miller" -> "for ..."
        if prefix and name.lower().startswith(prefix.lower() + " ") and len(rest) > 3 and not rest[:1].islower():
            name = rest
    if len(name) > limit:
        head = _NAME_SPLIT.split(name)[0]
        if 2 <= len(head) <= limit:
            name = head
    if len(name) > limit:  # a title is all name: cut at the last whole word, joiners dropped
        words = name[:limit + 1].split(" ")[:-1] or [name[:limit]]
        while len(words) > 1 and words[-1].lower() in _DANGLING_END | {"-", "–", "|", "&", "+"}:
            words.pop()
        name = " ".join(words).rstrip(",;:-–")
    return name or None
