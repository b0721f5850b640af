"""Draft a brief from research facts: six concepts from six angles, in the page's language.

Angles, in order: offer, main benefit, second benefit, proof, problem and solution, the product
itself. An angle the facts cannot support is dropped and the brief says why; another benefit
takes its place when the page has one, so every concept carries its own message.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable

from creative.copy import money
from creative.copy.clean import capitalize_first, clean_terms, clean_text, contains_term, is_junk
from creative.copy.shorten import shorten_phrase
from creative.copy.facts import benefit_lines, copy_lines, problem_lines, product_label
from creative.copy.phrases import Phrases, all_junk_terms, load_phrases
from creative.copy.scenes import load_scenes, pick_family, scene_for, scenes_path
from creative.core.errors import InputError
from creative.core.models import Brief, Channel, Concept, ResearchNotes

log = logging.getLogger(__name__)

SUBHEAD_MAX = 60
MIN_RATING = 4.0  # out of 5: below this, reviews are not something to put on an ad
CONCEPTS = 6  # one per variant of a default run
ANGLES = ("offer", "benefit", "second", "proof", "problem", "product")


def _normalise_offer(offer: str) -> str:
    """'buy 2 get 1' -> 'Buy 2, get 1 free'; anything else is kept, first letter capitalised."""
    text = " ".join(clean_text(offer).split())
    m = re.fullmatch(r"buy\s+(\d+)\s*[,&+]?\s*(?:and\s+)?get\s+(\d+)(\s+free)?\s*!?", text, re.I)
    if m:
        return f"Buy {m.group(1)}, get {m.group(2)} free"
    return capitalize_first(text)


class _Draft:
    """Concepts being drafted: distinct headlines, refused terms kept out, notes for the reader."""

    def __init__(self, notes: ResearchNotes, phrases: Phrases, *, limit: int, cta: str | None,
                 refused: list[str], junk: tuple[str, ...], templates_dir: Path | None):
        self.notes, self.phrases, self.limit, self.cta = notes, phrases, limit, cta
        self.refused, self.junk = refused, junk
        self.book = load_scenes(str(scenes_path(templates_dir)))
        self.family = pick_family(notes, self.book)
        self.concepts: list[Concept] = []
        self.remarks: list[str] = []
        self.used: set[str] = set()
        self.dropped: list[str] = []  # their shots go to the benefits standing in for them

    def ok(self, text: str | None, limit: int) -> bool:
        return bool(text) and len(text) <= limit and not is_junk(text, self.junk) and not any(
            contains_term(text, t) for t in self.refused)

    def fresh(self, text: str) -> bool:
        """Not a headline already drafted, nor nearly one (mostly the same words)."""
        return not any(_similar(text, used) for used in self.used)

    def pick(self, candidates: Iterable[str | None], limit: int) -> str | None:
        """The first candidate, best first, that is new and fits whole or cut where a phrase ends."""
        for c in candidates:
            if not c:
                continue
            short = c if len(c) <= limit else shorten_phrase(c, limit)
            if short and self.ok(short, limit) and self.fresh(short):
                return short
        return None

    def add(self, name: str, kind: str, headline: str, subheads: Iterable[str | None],
            shot: str | None = None) -> None:
        self.used.add(headline.lower())
        sub = next((s for s in (shorten_phrase(x, SUBHEAD_MAX) for x in subheads if x)
                    if s and self.ok(s, SUBHEAD_MAX) and not _similar(s, headline)), "")
        self.concepts.append(Concept(
            name=name, headline=headline, subhead=sub,
            cta=self.cta or self.phrases.cta[kind],
            scene=scene_for(self.notes, shot or kind, self.family, self.book),
            mood=self.family.mood,
        ))

    def angle(self, name: str, candidates: Iterable[str | None], subheads: Iterable[str | None],
              missing: str) -> None:
        """The angle's concept from the first candidate that fits, or the angle dropped saying why."""
        headline = self.pick(candidates, self.limit)
        if headline:
            self.add(name, name, headline, subheads)
        else:
            self.drop(name, missing)

    def drop(self, angle: str, why: str) -> None:
        self.dropped.append(angle)
        self.remarks.append(f"Angle '{angle}' dropped: {why}.")
        log.info("angle %s dropped: %s", angle, why)


def draft_brief(
    notes: ResearchNotes,
    *,
    brand: str,
    channel_name: str,
    channel: Channel,
    offer: str | None,
    cta: str | None = None,
    avoid: Iterable[str] = (),
    must_have: Iterable[str] = (),
    banned_words: Iterable[str] = (),
    templates_dir: Path | None = None,
) -> Brief:
    """Draft a brief of up to six concepts, each from its own angle, in the page's language.

    Facts containing an `avoid` term or a brand `banned_words` term are not used for copy,
    so a drafted brief passes check_policy unless the offer or CTA itself is refused.
    """
    avoid_list = clean_terms(avoid)
    refused = avoid_list + clean_terms(banned_words)
    phrases = load_phrases(notes.language, templates_dir)
    cta_text = cta.strip() if cta and cta.strip() else None
    d = _Draft(notes, phrases, limit=channel.headline_max_chars, cta=cta_text, refused=refused,
               junk=all_junk_terms(templates_dir), templates_dir=templates_dir)
    if phrases.fallback_from:
        d.remarks.append(
            f"The page is in '{phrases.fallback_from}', which has no phrase file "
            f"(templates/copy/{phrases.fallback_from}.yaml): CTAs and price lines are in English.")
    locale = money.page_locale(notes.locale, phrases.language, notes.currency, phrases.locale)
    product = product_label(notes, brand)
    price = money.format_price(_plain(notes.price), notes.currency, locale)
    regular = money.format_price(_plain(notes.regular_price), notes.currency, locale)
    if regular and price and money.amount(_plain(notes.regular_price)) <= money.amount(_plain(notes.price)):
        regular = None  # a "was" price not above the price is no saving
    lines = copy_lines(notes, phrases, d.junk, refused, product)
    benefits = benefit_lines(lines, phrases, d.limit)
    only = phrases.line("only", price=price) if price else None
    product_price = f"{product} · {price}" if product and price else product

    # 1. offer: the user's offer, else a sale, else the price
    sale = phrases.line("was_now", price=price, regular=regular) if price and regular else None
    percent = _percent(notes) if sale else None
    save = phrases.line("save", percent=percent) if percent else None
    if offer and offer.strip():
        # the advertiser's own words: never cut (a code or a condition could go), nor filtered as
        # page chrome; check_policy still applies
        given = _normalise_offer(offer)
        headline = given if len(given) <= d.limit else None
        stock_up = phrases.line("stock_up", product=product) if product else None
        if headline:
            d.add("offer", "offer", headline, [sale, stock_up, product])
        else:
            d.drop("offer", f"the offer {given!r} does not fit the channel's {d.limit}-character "
                            "headline; write a shorter one here")
    else:
        headline = d.pick([sale, save, only], d.limit)
        if headline:
            d.add("offer", "offer", headline, [sale if headline != sale else None, product])
        else:
            d.drop("offer", "no offer was given and the page shows no usable price")

    # 6. the product itself: early, so no benefit line merely repeats its name
    meet = phrases.line("meet", product=product) if product else None
    d.angle("product", [product, meet, clean_text(brand)],
            [only, clean_text(notes.brand), benefits[0] if benefits else None],
            "the page gives no product name that fits the headline")
    # 2. the main benefit
    d.angle("benefit", benefits, [product_price], "the page lists no benefit that reads as a headline")
    # 5. problem and solution: before the second benefit, which may be any line left
    d.angle("problem", problem_lines(lines, phrases), [product_price],
            "no fact says which problem the product takes away")
    # 3. the second benefit
    d.angle("second", benefits, [product_price], "the page lists no second benefit that reads as a headline")

    # 4. proof: the rating, only when its scale is known
    _proof(d, notes, phrases, locale, [product_price, only])

    # Another benefit stands in for each dropped angle, while the page has benefits to give.
    extra = 3
    while len(d.concepts) < CONCEPTS:
        headline = d.pick(benefits, d.limit)
        if not headline:
            break
        shot = d.dropped[extra - 3] if extra - 3 < len(d.dropped) else "second"
        d.add(f"benefit-{extra}", "second", headline, [product_price], shot=shot)
        extra += 1
    if len(d.concepts) < 2:  # last resort: the advertiser's own name
        headline = d.pick([clean_text(brand)], d.limit)
        if headline:
            d.add("brand", "product", headline, [product_price, only])
    if len(d.concepts) < 2:
        raise InputError(
            f"Cannot draft a brief for {notes.url}: the page has too few usable facts "
            f"(found {len(d.concepts)} concept)",
            hint="pass --offer, or write brief.md by hand and use --brief",
        )
    if len(d.concepts) < CONCEPTS:
        d.remarks.append(f"{len(d.concepts)} distinct messages: with {CONCEPTS} variants, concepts repeat "
                         "with new backgrounds; add concepts here to fill them.")
    d.remarks.append(f"Scene family: {d.family.name} (from the product's category, breadcrumbs and name).")
    _order(d, ANGLES)
    for term in clean_terms(must_have):
        if not any(contains_term(f"{c.headline} {c.subhead} {c.cta}", term) for c in d.concepts):
            log.warning("must-have %r is not in any drafted concept; add it to brief.md", term)
    return Brief(
        brand=brand,
        channel=channel_name,
        format="video" if channel.video else "static",
        offer=offer.strip() if offer and offer.strip() else None,
        cta=cta_text,
        product=product,
        url=notes.url,
        must_have=clean_terms(must_have),
        avoid=avoid_list,
        concepts=d.concepts,
        notes=d.remarks,
    )


def _proof(d: _Draft, notes: ResearchNotes, phrases: Phrases, locale: str, subs: list[str | None]) -> None:
    if notes.rating is None:
        d.drop("proof", "the page shows no rating")
        return
    if notes.review_count == 0:
        d.drop("proof", "no reviews stand behind the rating")
        return
    stars = money.rating_out_of_five(notes.rating, notes.rating_scale)
    if stars is None:
        d.drop("proof", f"the rating {notes.rating:g} has no known scale (out of 5? 10? 100?)")
        return
    if stars < MIN_RATING:
        d.drop("proof", f"the rating is {stars:.1f} out of 5, below {MIN_RATING:g}")
        return
    rating = money.format_rating(stars, locale)
    options = []
    if notes.review_count and notes.review_count > 0:
        reviews = phrases.reviews_text(notes.review_count, money.format_count(notes.review_count, locale))
        options += [phrases.line("rating", rating=rating, reviews=reviews),
                    phrases.line("rating_short", rating=rating, reviews=reviews)]
    options.append(phrases.line("rating_only", rating=rating))
    headline = next((o for o in options if d.ok(o, d.limit) and d.fresh(o)), None)
    if headline:
        d.add("proof", "proof", headline, subs)
    else:
        d.drop("proof", "no rating line fits the channel's headline length")


def _order(d: _Draft, angles: tuple[str, ...]) -> None:
    """Concepts in angle order, stand-in benefits last."""
    rank = {a: i for i, a in enumerate(angles)}
    d.concepts.sort(key=lambda c: rank.get(c.name, len(angles)))


def _similar(a: str, b: str) -> bool:
    """The same message: the same words, or most of the shorter one's words in the other."""
    wa = set(re.findall(r"\w+", a.lower())) or {a.lower()}
    wb = set(re.findall(r"\w+", b.lower())) or {b.lower()}
    common = len(wa & wb)
    return wa == wb or common >= 2 and common >= 0.6 * min(len(wa), len(wb))


def _plain(price: str | None) -> str | None:
    """Tolerate a decimal comma ('12,50') from older research; the contract is '12.50'."""
    if price and re.fullmatch(r"\d+,\d{1,2}", price.strip()):
        return price.strip().replace(",", ".")
    return price


def _percent(notes: ResearchNotes) -> str | None:
    now, was = money.amount(_plain(notes.price)), money.amount(_plain(notes.regular_price))
    if not now or not was or was <= now:
        return None
    pct = int(((was - now) / was * 100).to_integral_value(rounding="ROUND_FLOOR"))
    return str(pct) if pct >= 5 else None

