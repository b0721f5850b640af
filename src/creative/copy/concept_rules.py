"""The drafter's rules as checks on copy written by someone else (a copywriter model).

Each check returns plain sentences saying what is wrong, fit to show a user and to send back
to the model for a repair: length per layout box, the avoid list and banned words, no number
(price, rating, percentage) or claim that is not in the facts, the page's language, distinct
angles and headlines, and a scene that asks for no text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Iterable, Sequence

from creative.copy.brief import SUBHEAD_MAX, check_policy
from creative.core.errors import InputError
from creative.core.models import Brief, Concept

# Claims a model likes to add; each is allowed only when the facts say it too.
CLAIMS = (
    "#1", "number one", "best", "best-selling", "bestseller", "clinically", "proven", "dermatologist",
    "doctor", "award", "guarantee", "guaranteed", "certified", "organic", "vegan", "cruelty-free",
    "hypoallergenic", "patented", "free shipping", "free delivery", "sale", "% off", "limited",
)
# Words in a scene that ask the image model for text (it must draw none: copy is typeset later).
_TEXT_WORDS = re.compile(
    r"\b(text|texts|letters?|lettering|typography|words?|logos?|signs?|signage|labels?|captions?|slogans?|"
    r"headlines?|watermarks?|writing|written|fonts?|inscriptions?|brand name|price tags?|numbers?)\b",
    re.I,
)
_NEGATION = re.compile(r"\b(no|without|free of|not|never)\s+(?:\w+\s+){0,2}$", re.I)
# A figure: "1 148" (space-grouped thousands), "1,204", "34.00", "4.8", "50".
_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\d)|\d(?:[\d.,\u00a0\u202f]*\d)?")
# Lingua's languages for the check: the page's language is added when it is another one.
_COMMON_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "vi", "ja", "ko")
MIN_WORDS_FOR_LANGUAGE = 3  # fewer words (names removed) say too little about the language
# The CTA is one line on a button (max_lines: 1 in every layout): longer text shrinks it unreadably.
CTA_MAX = 16


@dataclass(frozen=True)
class CopyRules:
    """What a concept must respect; built once per brief."""

    headline_max: int
    avoid: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    language: str | None = None  # 2-letter code of the page's language
    facts: str = ""  # every fact the copy may quote, as one text
    names: tuple[str, ...] = ()  # brand and product names: any language, ignored by the language check
    subhead_max: int = SUBHEAD_MAX
    cta_max: int = CTA_MAX
    brand: str = "brand"
    channel: str = "channel"
    _fact_numbers: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fact_numbers", frozenset(_numbers(self.facts)))


def concept_errors(concept: Concept, rules: CopyRules) -> list[str]:
    """Every rule this one concept breaks (empty when it is fine)."""
    errors = _length_errors(concept, rules)
    errors += _policy_errors(concept, rules)
    errors += _fact_errors(concept, rules)
    errors += _language_errors(concept, rules)
    errors += _scene_errors(concept)
    return errors


def duplicate_errors(concepts: Sequence[Concept]) -> dict[int, list[str]]:
    """Index -> errors for concepts repeating an earlier concept's angle or headline."""
    out: dict[int, list[str]] = {}
    names: dict[str, int] = {}
    headlines: dict[str, int] = {}
    for i, concept in enumerate(concepts):
        key = " ".join(concept.headline.lower().split())
        if concept.name in names:
            out.setdefault(i, []).append(f"angle {concept.name!r} is already used by concept {names[concept.name] + 1}")
        elif key and key in headlines:
            out.setdefault(i, []).append(
                f"headline {concept.headline!r} repeats concept {headlines[key] + 1}'s; each angle needs its own")
        names.setdefault(concept.name, i)
        headlines.setdefault(key, i)
    return out


# --- the checks ------------------------------------------------------------------


def _length_errors(concept: Concept, rules: CopyRules) -> list[str]:
    errors = []
    for name, value, limit in (("headline", concept.headline, rules.headline_max),
                               ("subhead", concept.subhead, rules.subhead_max),
                               ("CTA", concept.cta, rules.cta_max)):
        if len(value) > limit:
            errors.append(f"{name} {value!r} is {len(value)} characters; its box holds at most {limit}")
    for name, value in (("headline", concept.headline), ("CTA", concept.cta), ("scene", concept.scene)):
        if not value.strip():
            errors.append(f"{name} is empty")
    return errors


def _policy_errors(concept: Concept, rules: CopyRules) -> list[str]:
    """The brief's own policy check, on this concept alone (so both always agree)."""
    # model_construct: a one-concept brief is not a valid brief, but check_policy only reads it.
    single = Brief.model_construct(brand=rules.brand, channel=rules.channel, avoid=list(rules.avoid),
                                   concepts=[concept])
    try:
        check_policy(single, rules.banned)
    except InputError as exc:
        return [exc.message.replace("Copy refused: ", "")]
    return []


def _fact_errors(concept: Concept, rules: CopyRules) -> list[str]:
    errors = []
    copy = f"{concept.headline} {concept.subhead} {concept.cta}"
    for number in _number_tokens(copy):
        if not (_numbers(number) & rules._fact_numbers):
            errors.append(f"{number!r} is not in the facts (no price, rating or figure may be invented)")
    facts = rules.facts.lower()
    for claim in CLAIMS:
        if _has_claim(copy, claim) and not _has_claim(facts, claim):
            errors.append(f"the claim {claim!r} is not in the facts")
    return errors


def _language_errors(concept: Concept, rules: CopyRules) -> list[str]:
    if not rules.language:
        return []
    text = f"{concept.headline}. {concept.subhead}. {concept.cta}"
    for name in sorted(rules.names, key=len, reverse=True):
        text = re.sub(re.escape(name), " ", text, flags=re.I)
    words = re.findall(r"[^\W\d_]+", text)
    if len(words) < MIN_WORDS_FOR_LANGUAGE:
        return []
    found = detect_language(" ".join(words), rules.language)
    if found is None or found == rules.language:
        return []
    return [f"the copy is in {language_name(found)}, not in the page's language ({language_name(rules.language)})"]


def _scene_errors(concept: Concept) -> list[str]:
    errors = []
    if re.search(r"[\"“”«»„]", concept.scene):
        errors.append("the scene quotes words; the background must carry no text")
    for match in _TEXT_WORDS.finditer(concept.scene):
        before = concept.scene[:match.start()]
        after = concept.scene[match.end():match.end() + 5]
        if _NEGATION.search(before) or after.startswith("-free") or before.lower().endswith(("un", "non-")):
            continue
        errors.append(f"the scene asks for {match.group(0)!r}; backgrounds are text-free (copy is set on top)")
        break
    return errors


# --- helpers ----------------------------------------------------------------------


def _number_tokens(text: str) -> list[str]:
    return [m.group(0).strip(" .,") for m in _NUMBER.finditer(text)]


def _numbers(text: str) -> set[str]:
    """Every number in `text`, normalised: '1,204' and '1.204' -> {'1204'}, '$34.00' -> {'34'}."""
    from price_parser import Price  # only a model's concepts are checked for numbers: loaded then

    out: set[str] = set()
    for token in _number_tokens(text):
        digits = re.sub(r"\D", "", token)
        out.add(digits.lstrip("0") or "0")
        amount = Price.fromstring(token).amount
        if amount is not None:
            out.add(_plain(amount))
    return out


def _plain(amount: Decimal) -> str:
    """34.00 -> '34', 4.80 -> '4.8' (the same figure however the page wrote it)."""
    return format(amount.normalize(), "f")


def _has_claim(text: str, claim: str) -> bool:
    if not claim[0].isalnum():
        return claim in text.lower()
    return re.search(r"(?<!\w)" + re.escape(claim) + r"(?!\w)", text, re.I) is not None


def language_name(code: str) -> str:
    """'vi' -> 'Vietnamese' (the code itself when lingua does not know it)."""
    from lingua import IsoCode639_1, Language

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title()
    except ValueError:
        return code


def detect_language(text: str, expected: str) -> str | None:
    """2-letter code of the language `text` is written in, or None when unsure (or `expected` is unknown)."""
    if language_name(expected) == expected:
        return None
    detector = _detector(tuple(sorted({*_COMMON_LANGUAGES, expected})))
    if detector is None:
        return None
    values = {c.language.iso_code_639_1.name.lower(): c.value for c in detector.compute_language_confidence_values(text)}
    best = max(values, key=values.get)
    # Only a clear verdict counts: short copy and loanwords make weak guesses.
    if best != expected and values[best] >= 0.8 and values.get(expected, 0.0) < 0.1:
        return best
    return expected


@lru_cache(maxsize=4)
def _detector(codes: Iterable[str]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    known = []
    for code in codes:
        try:
            known.append(IsoCode639_1.from_str(code))
        except ValueError:
            continue
    if len(known) < 2:
        return None
    # Low accuracy mode: small models, loaded in a fraction of a second, good enough for a clear verdict.
    return LanguageDetectorBuilder.from_iso_codes_639_1(*known).with_low_accuracy_mode().build()
