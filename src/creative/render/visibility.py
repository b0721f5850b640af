"""Button and logo against the picture: WCAG 2.1 non-text contrast (3:1) and what to do below it.

A shape's surroundings are the picture's pixels in a ring just outside it (beyond the room an
outline or badge would take, so every option is measured against the same pixels). The figure
is the contrast that 95% of those pixels reach, as for text (measure.worst_contrast).

The CTA button keeps the brand's colour when it stands out; else it gets an outline in a brand
colour that does. (Another button colour would have to pass the very same test against the same
pixels, and the outline keeps the brand's button.) The logo keeps its file; else the brand's light or dark variant; else a badge behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter

from creative.brand.kit import Brand
from creative.render.measure import (
    Luminances,
    _Pixels,
    contrast_ratio,
    luminance,
    worst_contrast,
)

NON_TEXT_CONTRAST = 3.0  # WCAG 2.1 SC 1.4.11: user interface components and graphical objects
DARK_SURROUND = 0.18  # median luminance under which a picture counts as dark (light logo first)

Rect = tuple[int, int, int, int]


def _dilated(shape: Image.Image, grow: int) -> Image.Image:
    """An "L" mask of the shape grown by `grow` px on every side, in a canvas `grow` px larger all round.

    A box blur of the 0/255 shape is non-zero exactly where a square max filter would be: the
    same dilation at a fraction of the cost.
    """
    canvas = Image.new("L", (shape.width + 2 * grow, shape.height + 2 * grow), 0)
    canvas.paste(shape.point([0] + [255] * 255), (grow, grow))
    if grow == 0:
        return canvas
    return canvas.filter(ImageFilter.BoxBlur(grow)).point([0] + [255] * 255)


def surround(canvas: Image.Image, shape: Image.Image, pos: tuple[int, int], gap: int, width: int) -> Luminances:
    """The canvas pixels in a ring `gap` to `gap + width` px outside the shape placed at pos."""
    grow = gap + width
    outer = _dilated(shape, grow)
    inner = Image.new("L", outer.size, 0)
    inner.paste(_dilated(shape, gap), (width, width))
    ring = Image.new("L", outer.size, 0)
    ring.paste(outer, (0, 0), inner.point([255] + [0] * 255))
    x, y = pos[0] - grow, pos[1] - grow
    region = (max(0, x), max(0, y), min(canvas.width, x + outer.width), min(canvas.height, y + outer.height))
    ring = ring.crop((region[0] - x, region[1] - y, region[2] - x, region[3] - y))
    return _Pixels(canvas.crop(region)).select(ring)


def against(lum: float, around: Luminances) -> float:
    """Contrast of a colour against its surroundings, as QC reports it."""
    return round(worst_contrast(lum, around), 2)


@dataclass
class CtaChoice:
    outline: str | None  # brand colour name of an outline, if one is drawn
    contrast: float  # the button's (or outline's) edge against the picture
    fix: str | None  # what was changed from the brand's button, for QC


def choose_cta(brand: Brand, around: Luminances) -> CtaChoice:
    """The brand's button if it reaches 3:1 against `around`, else with an outline that does;
    if nothing reaches 3:1, whichever stands out most.

    Colours are tried in order of their contrast with the surroundings' median, and measured
    exactly only until one passes: each exact measure reads pixels.
    """
    style = brand.cta
    own = CtaChoice(None, against(luminance(brand.rgb(style.background)), around), None)
    if own.contrast >= NON_TEXT_CONTRAST:
        return own
    median = around.median() if around.total else 0.0
    others = sorted((n for n in brand.colors if n != style.background),
                    key=lambda n: (-contrast_ratio(luminance(brand.rgb(n)), median), n))
    edge: dict[str, float] = {}

    def measured(name: str) -> float:
        if name not in edge:
            edge[name] = against(luminance(brand.rgb(name)), around)
        return edge[name]

    tried = [own]
    for name in others:
        tried.append(CtaChoice(name, measured(name), f"outline {name}"))
        if tried[-1].contrast >= NON_TEXT_CONTRAST:
            return tried[-1]
    return max(tried, key=lambda o: o.contrast)


def logo_luminance(logo: Image.Image) -> float:
    """Median luminance of the logo's opaque pixels: the colour it reads as from a distance."""
    solid = logo.getchannel("A").point([0] * 128 + [255] * 128)
    pixels = _Pixels(logo.convert("RGB")).select(solid)
    return pixels.median() if pixels.total else 0.0


def logo_candidates(brand: Brand, around: Luminances):
    """Brand keys of the logo files to try, in order: the logo, then the variant suited to the
    picture (a generator: the picture is only looked at if the logo itself fails)."""
    yield "logo"
    if not (brand.logo_light or brand.logo_dark):
        return
    variants = ["logo_light", "logo_dark"] if around.total and around.median() < DARK_SURROUND else \
        ["logo_dark", "logo_light"]
    yield from (k for k in variants if getattr(brand, k))


def choose_badge(brand: Brand, logo_lum: float, around: Luminances) -> tuple[str, float] | None:
    """A brand colour for a badge behind the logo: 3:1 against the logo, standing out from the
    picture as much as possible; None if no brand colour reaches 3:1 against the logo."""
    fits = [n for n in brand.colors if contrast_ratio(logo_lum, luminance(brand.rgb(n))) >= NON_TEXT_CONTRAST]
    if not fits:
        return None
    name = max(fits, key=lambda n: (min(contrast_ratio(logo_lum, luminance(brand.rgb(n))),
                                        against(luminance(brand.rgb(n)), around)), n))
    return name, round(contrast_ratio(logo_lum, luminance(brand.rgb(name))), 2)


def logo_path(brand: Brand, brand_dir: Path, key: str) -> Path:
    return Path(brand_dir) / getattr(brand, key)
