"""Checks before money: copy that cannot be drawn and scenes that ask the model for text.

Both are found from the brief, the brand and the channel alone, so a run refuses them before
the budget is reserved and any image is bought (compose would otherwise fail after paying).
"""

from __future__ import annotations

import re
from pathlib import Path

from creative.brand.kit import Brand, load_layout
from creative.core.errors import InputError, LayoutError
from creative.core.models import Brief, Channel
from creative.render.typography import fit_copy, font_chain, normalize_copy

COPY_BOXES = ("headline", "subhead", "cta")
# The narrowest glyph advance, in ems, of any text font ('i' or '.' in a condensed face): a box
# can never hold more characters than this allows, so longer copy is refused before any fitting
# (fitting a 10 MB headline would take minutes).
NARROWEST_ADVANCE_EM = 0.15

# What asks an image model to draw writing. Whole words only: "textured", "signature" and
# "unlabelled" are fine.
_TEXT_WORDS = re.compile(
    r"\b(?:text|texts|letters?|lettering|typography|fonts?|words?|writing|written|captions?|"
    r"labels?|labell?ed|logos?|brand ?names?|signs?|signage|signboards?|billboards?|banners?|"
    r"posters?|slogans?|headlines?|inscriptions?|inscribed|watermarks?|price ?tags?|"
    r"says|saying|reads)\b",
    re.I,
)
# "no text", "without logos", "free of labels", "logo-free": the scene rules writing out.
_NEGATED_BEFORE = re.compile(r"\b(?:no|without|free of|not|zero|never)\s+(?:\w+\s+){0,2}$", re.I)
_NEGATED_AFTER = re.compile(r"^[-\s]?free\b", re.I)
# Quoted words in a scene are words to be drawn: "a sign saying 'SALE'".
_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„]{1,80})[\"“”«»„]|(?<!\w)'([^']{1,80})'(?!\w)")


def scene_asks_for_text(scene: str) -> str | None:
    """The words of `scene` that ask the image model to draw writing, or None."""
    quoted = _QUOTED.search(scene)
    if quoted:
        return quoted.group(0)
    for match in _TEXT_WORDS.finditer(scene):
        before, after = scene[:match.start()], scene[match.end():]
        if _NEGATED_BEFORE.search(before) or _NEGATED_AFTER.match(after):
            continue
        return match.group(0)
    return None


def check_scenes(brief: Brief) -> None:
    """InputError for the first concept whose scene asks for text, signs, labels or logos."""
    for concept in brief.concepts:
        asked = scene_asks_for_text(concept.scene)
        if asked:
            raise InputError(
                f"Scene refused: concept {concept.name!r} asks the image model for writing "
                f"({asked!r} in {concept.scene[:120]!r}); image models garble text and the ad "
                f"draws all copy itself",
                hint="describe only the background in the Scene; put words in Headline, Subhead or CTA",
            )


def _capacity(box, box_px: tuple[int, int, int, int]) -> int:
    """More characters than can ever fit in the box, at its smallest size on its widest line."""
    per_line = (box_px[2] - box_px[0]) / (box.min_size * NARROWEST_ADVANCE_EM)
    return int(per_line * box.max_lines)


def check_copy_fits(brief: Brief, brand: Brand, brand_dir: Path, channel: Channel) -> None:
    """InputError for the first copy that the channel's limits, a layout box or the fonts cannot take.

    Checked for every concept at every size of the channel, with the fitting compose uses: the
    channel's headline character limit, each box's line limit and size, and that some brand or
    fallback font has every character.
    """
    layouts = {size.layout: load_layout(brand_dir, size.layout, brand) for size in channel.sizes}
    for concept in brief.concepts:
        copy = {"headline": concept.headline, "subhead": concept.subhead, "cta": concept.cta or brand.cta.text}
        copy = {name: normalize_copy(text) for name, text in copy.items()}
        if len(copy["headline"]) > channel.headline_max_chars:
            raise InputError(
                f"Copy refused: concept {concept.name!r} Headline is {len(copy['headline'])} characters, "
                f"over the channel's limit of {channel.headline_max_chars}",
                hint="shorten the Headline in brief.md",
            )
        for size in channel.sizes:
            layout = layouts[size.layout]
            for name in COPY_BOXES:
                if copy[name]:
                    _check_box(concept.name, name, copy[name], getattr(layout, name), size, brand, brand_dir)


def _check_box(concept: str, name: str, text: str, box, size, brand: Brand, brand_dir: Path) -> None:
    box_px = box.pixels(size.width, size.height)
    where = f"Copy refused: concept {concept!r} {name} at {size.label} ({size.layout} layout)"
    capacity = _capacity(box, box_px)
    if len(text) > capacity:
        raise InputError(f"{where}: {len(text)} characters can never fit its box "
                         f"(at most about {capacity} in {box.max_lines} line(s))",
                         hint="shorten the copy in brief.md")
    try:
        fit_copy(name, text, box, box_px, brand, font_chain(brand, brand_dir, box))
    except LayoutError as exc:
        raise InputError(f"{where}: {exc.message}", hint=exc.hint) from None


def preflight(brief: Brief, brand: Brand, brand_dir: Path, channel: Channel) -> None:
    """Every check that must pass before money is spent on a brief: scenes, then copy."""
    check_scenes(brief)
    check_copy_fits(brief, brand, brand_dir, channel)
