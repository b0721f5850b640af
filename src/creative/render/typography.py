"""Layout engine: draw the brief's copy, CTA button and logo onto a background.

The text drawn is exactly the concept's copy (NFC-normalised, whitespace collapsed). Every
measurement uses real glyph ink (rendered masks), so fitting, centring and safe-zone checks
hold on the final pixels. Same inputs and Pillow build give byte-identical images.
"""

from __future__ import annotations

import logging
import math
import threading
import unicodedata
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from creative.brand.kit import Box, Brand, CtaStyle, Layout, TextBox
from creative.core.errors import LayoutError
from creative.core.models import AdSize, BoxCheck, Concept, SafeZone, VisualCheck
from creative.render.measure import (  # contrast_ratio and MEASURE_MAX_PIXELS: re-exported
    DESIGN_CONTRAST,
    _ANY_INK,
    _NO_INK,
    MEASURE_MAX_PIXELS,  # noqa: F401
    Luminances,
    _Pixels,
    _sample_size,
    _sampled,
    contrast_ratio,  # noqa: F401
    luminance,
    readable,
    required_contrast,
    worst_contrast,
)
from creative.render.visibility import (
    NON_TEXT_CONTRAST,
    CtaChoice,
    against,
    choose_badge,
    choose_cta,
    logo_candidates,
    logo_luminance,
    logo_path,
    surround,
)

from creative.core.text import quote_short
from creative.render.linebreak import break_units

if TYPE_CHECKING:
    from creative.render.saliency import AdSaliency

log = logging.getLogger(__name__)

# Raqm shapes text with HarfBuzz (kerning, correct mark stacking); basic layout is the fallback.
LAYOUT_ENGINE = ImageFont.Layout.RAQM if features.check_feature("raqm") else ImageFont.Layout.BASIC
BOX_NAMES = ("logo", "headline", "subhead", "cta")
SCRIM_ALPHAS = (0.35, 0.5, 0.65, 0.8, 0.9, 1.0)
OUTLINE_SHARE = 0.07  # outline width as a share of the button height, when the button needs one
RING_SHARE = 0.25  # width of the surroundings a button or logo is measured against, as a share of its size
PLACEMENT_MARGIN = 0.03  # how much less of the subject another placement must cover to be chosen
BADGE_PAD = 0.15  # badge margin around a logo, as a share of the logo's size


@dataclass
class RenderedAd:
    image: Image.Image
    boxes: list[BoxCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    visual: VisualCheck | None = None


# --- fonts --------------------------------------------------------------------


# One face per font file and size, shared by every thread: Pillow's font calls never release the
# GIL, so two threads never run FreeType on one face at once, and each call sets up the glyph state
# it reads (a thread of its own per face held a copy of the same faces in each compose thread).
# Loaded from the path (FreeType reads the file as it needs it) rather than from bytes, which Pillow
# copies into every face: about 0.25 MB a face instead of 0.5. Fitting tries every size in a range;
# the least recently used beyond FACES_KEPT are closed. A face opens in a few hundredths of a
# millisecond, so keeping 32 rather than 96 costs no measurable time and saves some 20 MB in a batch.
FACES_KEPT = 32
_faces: OrderedDict[tuple[str, int], ImageFont.FreeTypeFont] = OrderedDict()
_faces_lock = threading.Lock()


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    key = (path, size)
    with _faces_lock:
        face = _faces.get(key)
        if face is not None:
            _faces.move_to_end(key)
            return face
    # FreeTypeFont, not ImageFont.truetype: given a path it cannot open, truetype would silently
    # substitute a system font of the same file name.
    face = ImageFont.FreeTypeFont(path, size, layout_engine=LAYOUT_ENGINE)
    with _faces_lock:
        face = _faces.setdefault(key, face)  # a thread that made the same face first wins
        _faces.move_to_end(key)
        while len(_faces) > FACES_KEPT:
            _faces.popitem(last=False)
    return face


@lru_cache(maxsize=32)
def _cmap(path: str) -> frozenset[int]:
    """The characters the font has a glyph for."""
    with TTFont(path, lazy=True) as tt:
        # Only the characters are kept, not the glyph names they map to: placeholder names spare
        # reading the real ones (the 'post' table, or a CFF font's charset: up to 40 ms a font).
        tt.setGlyphOrder([f"g{i}" for i in range(tt["maxp"].numGlyphs)])
        return frozenset(tt.getBestCmap())


Run = tuple[str, str]  # (text, font path)


def normalize_copy(text: str) -> str:
    """NFC (precomposed glyphs stack marks correctly) and single spaces; keeps explicit line breaks."""
    text = unicodedata.normalize("NFC", text)
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines() if line.strip())


def copy_key(text: str) -> str:
    """What QC compares: normalize_copy, with line breaks counted as spaces (wrapping moves them)."""
    return " ".join(normalize_copy(text).split())


def lines_text(lines: list[list[Run]]) -> str:
    """The exact string drawn for wrapped lines, joined with newlines."""
    return "\n".join("".join(t for t, _ in line) for line in lines)


@lru_cache(maxsize=4096)  # wrapping splits the same characters again for every trial line
def _font_for(cp: int, chain: tuple[str, ...]) -> str | None:
    """The first font in chain that has the character, or None."""
    return next((p for p in chain if cp in _cmap(p)), None)


def split_runs(text: str, chain: list[str]) -> tuple[list[Run], list[str]]:
    """Split text into runs of one font each (first font in chain that has the character).

    Returns the runs and the characters no font has.
    """
    runs, missing = _split_runs(text, tuple(chain))
    return list(runs), list(missing)


@lru_cache(maxsize=4096)  # wrapping splits the same trial lines again at every size it tries
def _split_runs(text: str, fonts: tuple[str, ...]) -> tuple[tuple[Run, ...], tuple[str, ...]]:
    runs: list[Run] = []
    missing: list[str] = []
    for ch in text:
        cp = ord(ch)
        if ch.isspace() or unicodedata.category(ch) == "Mn" and runs and cp in _cmap(runs[-1][1]):
            path = runs[-1][1] if runs else fonts[0]  # spaces and marks stay with their neighbour
        else:
            path = _font_for(cp, fonts)
            if path is None:
                if ch not in missing:
                    missing.append(ch)
                path = fonts[0]
        if runs and runs[-1][1] == path:
            runs[-1] = (runs[-1][0] + ch, path)
        else:
            runs.append((ch, path))
    return tuple(runs), tuple(missing)


def _line_width(runs: list[Run], size: int) -> float:
    return sum(_run_length(t, p, size) for t, p in runs)


@lru_cache(maxsize=8192)  # wrapping measures the same words and lines again for every box width
def _run_length(text: str, path: str, size: int) -> float:
    """The advance width of a run of one font (Font.getlength)."""
    return _font(path, size).getlength(text)


def wrap_words(text: str, chain: list[str], size: int, width: int) -> list[list[Run]]:
    """Greedy word wrap by advance width; never breaks inside a word, except between the
    characters of scripts written without spaces (Japanese, Chinese). Explicit newlines kept."""
    lines: list[list[Run]] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            for i, unit in enumerate(break_units(word)):
                joiner = "" if i else " "
                trial = f"{current}{joiner}{unit}" if current else unit
                if current and _line_width(split_runs(trial, chain)[0], size) > width:
                    lines.append(split_runs(current, chain)[0])
                    current = unit
                else:
                    current = trial
        lines.append(split_runs(current, chain)[0])
    return lines


Placed = tuple[str, str, int, int]  # a run's text, font file, and its pen's x and baseline y in a block


def _block_layout(lines: list[list[Run]], size: int, line_height: float,
                  align: str) -> tuple[tuple[int, int], list[Placed]]:
    """Where render_lines draws: the size of its mask, and where each run starts on its baseline."""
    primary = _font(lines[0][0][1], size) if lines and lines[0] else None
    ascent, descent = primary.getmetrics() if primary else (size, size // 4)
    widths = [_line_width(r, size) for r in lines]
    block_w = math.ceil(max(widths, default=0))
    step = round(size * line_height)
    pad = size  # room for overhanging marks and bearings
    placed: list[Placed] = []
    for i, (runs, w) in enumerate(zip(lines, widths)):
        x = pad + {"left": 0.0, "center": (block_w - w) / 2, "right": block_w - w}[align]
        y = pad + ascent + i * step
        for text, path in runs:
            placed.append((text, path, round(x), y))
            x += _run_length(text, path, size)
    return (block_w + 2 * pad, ascent + descent + step * (len(lines) - 1) + 2 * pad), placed


def render_lines(lines: list[list[Run]], size: int, line_height: float, align: str) -> Image.Image:
    """Render lines into an "L" mask cropped to the glyph ink."""
    mask_size, placed = _block_layout(lines, size, line_height, align)
    mask = Image.new("L", mask_size, 0)
    for text, path, x, y in placed:
        glyphs = _run_glyphs(text, path, size)
        if glyphs is not None:
            # what draw.text does with the glyphs' bitmap: blend the ink through it
            mask.paste(255, (x + glyphs.left, y + glyphs.top), glyphs.mask)
    bbox = mask.getbbox()
    return mask.crop(bbox) if bbox else Image.new("L", (1, 1), 0)


def _surely_wider(lines: list[list[Run]], size: int, line_height: float, align: str, width: int) -> bool:
    """True when the widest run's ink alone, where render_lines puts it, is wider than `width`.

    The block's ink is then wider too (pasting ink never clears a pixel), so fitting can pass
    over this size drawing one run instead of every line. False whenever unsure.
    """
    mask_size, placed = _block_layout(lines, size, line_height, align)
    if not placed:
        return False
    text, path, x, y = max(placed, key=lambda run: _run_length(run[0], run[1], size))
    glyphs = _run_glyphs(text, path, size)
    if glyphs is None or glyphs.ink is None:
        return False
    left, top = x + glyphs.left + glyphs.ink[0], y + glyphs.top + glyphs.ink[1]
    right, bottom = x + glyphs.left + glyphs.ink[2], y + glyphs.top + glyphs.ink[3]
    clipped = left < 0 or top < 0 or right > mask_size[0] or bottom > mask_size[1]
    return not clipped and right - left > width


@dataclass(frozen=True)
class _Glyphs:
    mask: Image.Image  # "L": the run drawn as draw.text draws it (its bitmap, blended onto black)
    left: int  # the bitmap's top-left, from the start of the run on its baseline
    top: int
    ink: tuple[int, int, int, int] | None  # the box of its non-zero pixels in the mask


# Drawn runs of text by (text, font file, size). Fitting draws the same lines again for every
# placement and size that wraps them alike (a box one pixel taller, the same column width in
# another layout), and drawing glyphs is most of its cost. Bounded by pixels held.
GLYPHS_MAX_PIXELS = 16_000_000
_GLYPHS: dict[tuple[str, str, int], _Glyphs | None] = {}
_GLYPHS_PIXELS = 0
_GLYPHS_LOCK = threading.Lock()


def _run_glyphs(text: str, path: str, size: int) -> _Glyphs | None:
    """A run's glyphs drawn once, to be pasted wherever it is drawn again; None if it has no ink box."""
    global _GLYPHS_PIXELS
    key = (text, path, size)
    with _GLYPHS_LOCK:
        if key in _GLYPHS:
            return _GLYPHS[key]
    font = _font(path, size)
    left, top, right, bottom = font.getbbox(text, anchor="ls")  # the box draw.text's bitmap fills
    glyphs = None
    if right > left and bottom > top:
        mask = Image.new("L", (right - left, bottom - top), 0)
        ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255, anchor="ls")
        glyphs = _Glyphs(mask, left, top, mask.getbbox())
    with _GLYPHS_LOCK:
        if _GLYPHS_PIXELS > GLYPHS_MAX_PIXELS:
            _GLYPHS.clear()
            _GLYPHS_PIXELS = 0
        _GLYPHS[key] = glyphs
        _GLYPHS_PIXELS += (right - left) * (bottom - top) if glyphs else 0
    return glyphs


@dataclass
class FittedText:
    size: int
    lines: list[list[Run]]
    ink: Image.Image  # "L" mask cropped to glyph ink


# Fitted copy: every variant of a concept fits the same copy into the same box, and drawing
# glyphs holds the GIL, so render threads would otherwise take turns redoing the same work.
# Each concept is fitted in every placement of every layout: room for a few dozen concepts.
FITTED_MAX = 256
_FITTED: dict[tuple, FittedText] = {}
_FITTED_LOCK = threading.Lock()


def fit_text(
    text: str,
    chain: list[str],
    box: TextBox,
    width: int,
    height: int,
    *,
    name: str,
    pad_x: float = 0.0,
    pad_y: float = 0.0,
    min_content_h: float = 0.0,
) -> FittedText:
    """Largest size in [min_size, max_size] whose wrapped ink fits width x height (with padding in ems)."""
    fitted = _shared_fit(text, chain, box, width, height, name=name, pad_x=pad_x, pad_y=pad_y,
                         min_content_h=min_content_h)
    # a copy each: the cached one must never change
    return FittedText(fitted.size, [list(line) for line in fitted.lines], fitted.ink.copy())


def _shared_fit(text: str, chain: list[str], box: TextBox, width: int, height: int, *, name: str,
                pad_x: float = 0.0, pad_y: float = 0.0, min_content_h: float = 0.0) -> FittedText:
    """fit_text's cached result itself, for read-only use (planning only needs its size and ink's size)."""
    # every box field _fit reads is in the key
    key = (text, tuple(chain), box.min_size, box.max_size, box.max_lines, box.line_height, box.align,
           width, height, pad_x, pad_y, min_content_h)
    with _FITTED_LOCK:
        fitted = _FITTED.get(key)
    if fitted is None:
        fitted = _fit(text, chain, box, width, height, name, pad_x, pad_y, min_content_h)
        with _FITTED_LOCK:
            if len(_FITTED) >= FITTED_MAX:
                _FITTED.clear()
            _FITTED[key] = fitted
    return fitted


def _largest_possible(text: str, chain: list[str], box: TextBox, width: int, pad_x: float) -> int:
    """A size above which the text cannot fit `width` in max_lines lines, so fitting starts there.

    Wrapped lines hold every word, so the words' total advance (less the spaces dropped at line
    breaks) is at most max_lines times the room on a line. Advances grow in proportion to the
    size; 10% slack covers hinting, and narrow columns skip dozens of sizes that cannot fit.
    """
    lines = box.max_lines  # explicit line breaks count among them and drop no spaces
    per_px = _line_width(split_runs(text.replace("\n", " "), chain)[0], box.max_size) / box.max_size
    need = per_px - 0.35 * (lines - 1) + 2 * lines * pad_x  # width per px of size, spaces at breaks allowed
    if need <= 0:
        return box.max_size
    bound = math.floor(lines * width / need * 1.1) + 1
    return max(box.min_size, min(box.max_size, bound))


def _fit(text: str, chain: list[str], box: TextBox, width: int, height: int, name: str,
         pad_x: float, pad_y: float, min_content_h: float) -> FittedText:
    """fit_text, uncached."""
    _, missing = split_runs(text.replace("\n", " "), chain)
    if missing:
        listed = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in missing)
        raise LayoutError(
            f"{name}: no brand or fallback font has the characters {listed} in {quote_short(text)}",
            hint="remove them from the copy or add a font that has them to brand.yaml fallback_fonts",
        )
    for size in range(_largest_possible(text, chain, box, width, pad_x), box.min_size - 1, -1):
        px, py = round(pad_x * size), round(pad_y * size)
        avail_w = width - 2 * px
        if avail_w <= 0:
            continue
        lines = wrap_words(text, chain, size, avail_w)
        if len(lines) > box.max_lines or _surely_wider(lines, size, box.line_height, box.align, avail_w):
            continue
        ink = render_lines(lines, size, box.line_height, box.align)
        content_h = max(ink.height, round(min_content_h * size))
        if ink.width <= avail_w and content_h + 2 * py <= height:
            return FittedText(size, lines, ink)
    raise LayoutError(
        f"{name}: text {quote_short(text)} does not fit its box ({width}x{height} px, {box.max_lines} "
        f"line{'s' if box.max_lines > 1 else ''}) even at min_size {box.min_size} px",
        hint="shorten the copy in brief.md or enlarge the box / lower min_size in the layout",
    )


def font_chain(brand: Brand, brand_dir: Path, box: TextBox) -> list[str]:
    """Font files tried in order for a box's text: its brand font, then the fallbacks."""
    fonts_dir = Path(brand_dir) / "fonts"
    return [str(fonts_dir / brand.fonts[box.font]), *(str(fonts_dir / f) for f in brand.fallback_fonts)]


def fit_copy(name: str, text: str, box: TextBox, box_px: tuple[int, int, int, int], brand: Brand,
             chain: list[str]) -> FittedText:
    """fit_text for one layout box as the ad draws it: the CTA label inside its button's padding."""
    width, height = box_px[2] - box_px[0], box_px[3] - box_px[1]
    if name != "cta":
        return fit_text(text, chain, box, width, height, name=name)
    style = brand.cta
    return fit_text(text, chain, box, width, height, name=name, pad_x=style.padding_x,
                    pad_y=style.padding_y, min_content_h=0.75)


# --- geometry -------------------------------------------------------------------


# Scaled copies of each background by size: a variant's sizes often share one scale (4:5 and
# 1:1 from a 4:5 background are crops of the same resize), so each resize is done once.
# Keyed by id() (Pillow images are unhashable); an entry is dropped when its image is collected.
_SCALED: dict[int, dict[tuple[int, int], Image.Image]] = {}
_SCALED_LOCK = threading.Lock()


def _scaled_copies(background: Image.Image) -> dict[tuple[int, int], Image.Image]:
    with _SCALED_LOCK:
        key = id(background)
        if key not in _SCALED:
            _SCALED[key] = {}
            weakref.finalize(background, _SCALED.pop, key, None)
        return _SCALED[key]


def _cover_size(background: Image.Image, width: int, height: int) -> tuple[int, int]:
    """The size the background is scaled to so that it covers width x height."""
    scale = max(width / background.width, height / background.height)
    return max(width, math.ceil(background.width * scale)), max(height, math.ceil(background.height * scale))


def resize_bicubic(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An RGB image resized bicubically by OpenCV: Pillow's BICUBIC picture (a few hundredths of a
    level apart on average) in half the time, which counts when a batch scales hundreds of backgrounds.
    Bicubic, because a background is soft by nature: LANCZOS costs twice as much for no visible gain."""
    import cv2  # loaded with the saliency map's modules, only where ads are drawn
    import numpy as np

    return Image.fromarray(cv2.resize(np.asarray(image), size, interpolation=cv2.INTER_CUBIC))


def _scaled(background: Image.Image, w: int, h: int) -> Image.Image:
    """The background scaled to w x h, made once per background and size."""
    copies = _scaled_copies(background)
    scaled = copies.get((w, h))
    if scaled is None:
        rgb = background if background.mode == "RGB" else background.convert("RGB")
        if (w, h) != rgb.size:
            scaled = resize_bicubic(rgb, (w, h))
        else:
            # a copy: holding the background itself here would keep it from ever being collected
            scaled = rgb.copy() if rgb is background else rgb
        copies[w, h] = scaled
    return scaled


def scale_for(background: Image.Image, sizes: list[tuple[int, int]]) -> None:
    """Scale the background now for every (width, height) that cover() will be asked for."""
    for size in dict.fromkeys(_cover_size(background, *s) for s in sizes):
        _scaled(background, *size)


def cover_size(background: Image.Image, width: int, height: int) -> tuple[int, int]:
    """The size cover() scales the background to for a width x height ad."""
    return _cover_size(background, width, height)


def centre_offset(scaled: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    """Top-left of a centred width x height window in an image of size `scaled`."""
    return (scaled[0] - width) // 2, (scaled[1] - height) // 2


def cover(background: Image.Image, width: int, height: int, offset: tuple[int, int] | None = None) -> Image.Image:
    """Scale to cover width x height, then crop at `offset` in the scaled image (default: centred)."""
    w, h = _cover_size(background, width, height)
    left, top = offset if offset is not None else centre_offset((w, h), width, height)
    return _scaled(background, w, h).crop((left, top, left + width, top + height))


def _place(box_px: tuple[int, int, int, int], w: int, h: int, align: str, valign: str) -> tuple[int, int]:
    left, top, right, bottom = box_px
    x = {"left": left, "center": left + (right - left - w) // 2, "right": right - w}[align]
    y = {"top": top, "middle": top + (bottom - top - h) // 2, "bottom": bottom - h}[valign]
    return x, y


def safe_rect(size: AdSize, zone: SafeZone) -> tuple[int, int, int, int]:
    """The safe zone in pixels: left, top, right, bottom."""
    return (
        math.ceil(zone.left * size.width),
        math.ceil(zone.top * size.height),
        math.floor((1 - zone.right) * size.width),
        math.floor((1 - zone.bottom) * size.height),
    )


def inside(rect: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return rect[0] >= outer[0] and rect[1] >= outer[1] and rect[2] <= outer[2] and rect[3] <= outer[3]


def describe_zone(zone: SafeZone) -> str:
    return f"top {zone.top:.0%}, bottom {zone.bottom:.0%}, left {zone.left:.0%}, right {zone.right:.0%}"


def boxes_outside(layout: Layout, size: AdSize, zone: SafeZone) -> list[str]:
    """Names of the layout boxes that leave the safe zone at this size."""
    safe = safe_rect(size, zone)
    return [n for n in BOX_NAMES if not inside(getattr(layout, n).pixels(size.width, size.height), safe)]


def check_safe_zone(layout: Layout, size: AdSize, zone: SafeZone, source: Path | str | None = None) -> None:
    """LayoutError, naming the layout file, the box and the zone, if any layout box leaves the safe zone."""
    source = source or f"brand/layouts/{size.layout}.yaml"
    for name in boxes_outside(layout, size, zone):
        box: Box = getattr(layout, name)
        raise LayoutError(
            f"{source}: {name} box (x {box.x:.3g}-{box.x + box.w:.3g}, y {box.y:.3g}-{box.y + box.h:.3g}) "
            f"is outside the safe zone at {size.label} ({describe_zone(zone)})",
            hint=f"move or shrink the {name} box in {source}, or check safe_zone in templates/channels.yaml",
        )


# --- drawing --------------------------------------------------------------------


def _over(layer: Image.Image | None, color: tuple[int, int, int], pos: tuple[int, int], mask: Image.Image) -> None:
    """Mirror `canvas.paste(color, pos, mask)` onto the transparent overlay layer (Porter-Duff over)."""
    if layer is None:
        return
    src = Image.new("RGBA", mask.size, (*color[:3], 0))
    src.putalpha(mask)
    layer.alpha_composite(src, pos)


def _grow(rect: tuple[int, int, int, int], pad: int, limit: tuple[int, int]) -> tuple[int, int, int, int]:
    return (max(0, rect[0] - pad), max(0, rect[1] - pad), min(limit[0], rect[2] + pad), min(limit[1], rect[3] + pad))


def _scrim_mask(kind: str, canvas: tuple[int, int], rect: tuple[int, int, int, int], size: int,
                alpha: float) -> tuple[Image.Image, tuple[int, int]]:
    """An "L" mask for the scrim behind text at rect, and the canvas position of its top-left.

    The mask covers only the part of the canvas the scrim reaches: pasting through a zero mask
    leaves pixels as they are, so the rest of the canvas need not be blended at all.
    """
    a = round(255 * alpha)
    if kind == "box":
        r = _grow(rect, round(size * 0.35), canvas)
        # drawn at its canvas coordinates, so the shape's pixels are those of a canvas-sized mask
        mask = Image.new("L", (min(canvas[0], r[2] + 1), min(canvas[1], r[3] + 1)), 0)
        ImageDraw.Draw(mask).rounded_rectangle(r, radius=round(size * 0.3), fill=a)
        return mask.crop((r[0], r[1], mask.width, mask.height)), (r[0], r[1])
    # gradient: a soft full-width band, solid behind the text, fading out above and below
    feather = round(size * 1.2)
    top, bottom = rect[1] - round(size * 0.3), rect[3] + round(size * 0.3)
    first = min(canvas[1] - 1, max(0, top - feather + 1))
    last = max(first + 1, min(canvas[1], bottom + feather))
    column = []
    for y in range(first, last):
        if top <= y <= bottom:
            v = a
        elif top - feather < y < top:
            v = round(a * (y - (top - feather)) / feather)
        elif bottom < y < bottom + feather:
            v = round(a * ((bottom + feather) - y) / feather)
        else:
            v = 0
        column.append(v)
    col = Image.new("L", (1, len(column)))
    col.putdata(column)
    return col.resize((canvas[0], len(column)), Image.NEAREST), (0, first)


def _measure_final(canvas: Image.Image, ink: Image.Image, pos: tuple[int, int], pad: int, *,
                   colour: tuple[int, int, int] | None = None, before: _Pixels | None = None) -> float:
    """Contrast on the final pixels: solid glyph pixels vs background pixels around the glyphs.

    colour: the colour the ink was just pasted in, if it was: its solid pixels are exactly that
    colour, so they need no reading. before: the region's pixels just before that paste, if
    already measured: the background is read where no ink reaches, where nothing changed.
    """
    x, y = pos
    region = _grow((x, y, x + ink.width, y + ink.height), pad, canvas.size)
    full = Image.new("L", (region[2] - region[0], region[3] - region[1]), 0)
    full.paste(ink, (x - region[0], y - region[1]))
    after = None
    if colour is not None:
        solid = _sampled(full, _sample_size(full.size)).histogram()[255]
        text_lum = luminance(colour) if solid else None
    else:
        after = _Pixels(canvas.crop(region))
        text_px = after.select(full)
        text_lum = text_px.median() if text_px else None
    if text_lum is None:
        return 1.0
    assert before is None or before.source_size == full.size, "before must be the same region"
    pixels = before or after or _Pixels(canvas.crop(region))
    # the background: pixels no ink comes within 2 px of, so anti-aliased edges count as neither
    near = Image.new("L", full.size, 0)
    near.paste(_near_ink(ink), (x - region[0] - 2, y - region[1] - 2))  # clipped to the region
    far = _sampled(near, pixels.size).point(_NO_INK)
    return round(worst_contrast(text_lum, Luminances(pixels, far)), 2)


def _near_ink(ink: Image.Image) -> Image.Image:
    """Non-zero where any ink lies within 2 px (a 5x5 window), else 0: ink dilated, and grown by
    2 px on every side to hold it.

    A 5x5 box blur of the ink made 0/255 is non-zero exactly where a 5x5 max filter is, at a
    fraction of the cost: a lone ink pixel still leaves 255 // 5 = 51, then 51 // 5 = 10, after the
    two 8-bit passes; the zero border makes the filters' repeated edge pixels blank.
    """
    solid = Image.new("L", (ink.width + 4, ink.height + 4), 0)
    solid.paste(ink.point(_ANY_INK), (2, 2))
    return solid.filter(ImageFilter.BoxBlur(2))


def _draw_text_box(
    canvas: Image.Image,
    name: str,
    text: str,
    box: TextBox,
    box_px: tuple[int, int, int, int],
    brand: Brand,
    chain: list[str],
    warnings: list[str],
    layer: Image.Image | None = None,
) -> BoxCheck:
    fitted = fit_copy(name, text, box, box_px, brand, chain)
    ink, size = fitted.ink, fitted.size
    pos = _place(box_px, ink.width, ink.height, box.align, box.valign)
    rect = (pos[0], pos[1], pos[0] + ink.width, pos[1] + ink.height)
    pad = max(2, round(size * 0.25))
    region = _grow(rect, pad, canvas.size)
    required = required_contrast(size)
    target = max(required, DESIGN_CONTRAST)

    crop = canvas.crop(region)
    pixels = _Pixels(crop)  # the region as the text will sit on it, kept for the final measure
    background = pixels.select()
    names = [box.color] if box.color != "auto" else brand.text_color_names()
    color_name = next((n for n in names if readable(luminance(brand.rgb(n)), background, target)), None)
    if color_name is None:
        kind = box.scrim
        if kind == "none":
            kind = "box"
            warnings.append(f"{name}: no brand colour reaches {target}:1 and scrim is none; added a box scrim")
        median = background.median()
        light_text = box.color == "auto" and median < 0.18 or (
            box.color != "auto" and luminance(brand.rgb(box.color)) > 0.18
        )
        by_lum = sorted(brand.colors, key=lambda n: luminance(brand.rgb(n)))
        if box.color != "auto":
            color_name = box.color
        else:
            pick = [n for n in names if (luminance(brand.rgb(n)) > 0.18) == light_text]
            color_name = pick[0] if pick else (by_lum[-1] if light_text else by_lum[0])
        scrim_name = (brand.scrim_dark or by_lum[0]) if light_text else (brand.scrim_light or by_lum[-1])
        text_lum = luminance(brand.rgb(color_name))
        # try each strength on the measured region only; the whole canvas gets the one kept
        for alpha in SCRIM_ALPHAS:
            scrim, at = _scrim_mask(kind, canvas.size, rect, size, alpha)
            trial = crop.copy()
            trial.paste(brand.rgb(scrim_name), (at[0] - region[0], at[1] - region[1]), scrim)  # clipped to it
            pixels = _Pixels(trial)  # = the canvas region once this scrim is kept
            if readable(text_lum, pixels.select(), target):
                break
        canvas.paste(brand.rgb(scrim_name), at, scrim)
        _over(layer, brand.rgb(scrim_name), at, scrim)  # only the scrim that was kept
        log.debug("%s: %s scrim %s at %.2f behind %s text", name, kind, scrim_name, alpha, color_name)

    canvas.paste(brand.rgb(color_name), pos, ink)
    _over(layer, brand.rgb(color_name), pos, ink)
    achieved = _measure_final(canvas, ink, pos, pad, colour=brand.rgb(color_name), before=pixels)
    # pass/fail against WCAG is QC's job (compose.qc_ad); the engine only measures
    return BoxCheck(box=name, text=text, drawn=lines_text(fitted.lines), font_size=size, bounds=rect,
                    contrast=achieved)


def _cta_button(fitted: FittedText, style: CtaStyle, box: TextBox,
                box_px: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The button's rectangle around fitted label ink, placed in its box."""
    size = fitted.size
    px, py = round(style.padding_x * size), round(style.padding_y * size)
    # a fixed content height keeps buttons the same height whatever letters the label has
    bw, bh = fitted.ink.width + 2 * px, max(fitted.ink.height, round(0.75 * size)) + 2 * py
    bx, by = _place(box_px, bw, bh, box.align, box.valign)
    return bx, by, bx + bw, by + bh


def _fit_cta(text: str, box: TextBox, box_px: tuple[int, int, int, int], style: CtaStyle,
             chain: list[str], fit=fit_text) -> FittedText:
    return fit(text, chain, box, box_px[2] - box_px[0], box_px[3] - box_px[1],
                    name="cta", pad_x=style.padding_x, pad_y=style.padding_y, min_content_h=0.75)


def _draw_cta(
    canvas: Image.Image,
    text: str,
    box: TextBox,
    box_px: tuple[int, int, int, int],
    brand: Brand,
    chain: list[str],
    layer: Image.Image | None = None,
) -> tuple[BoxCheck, CtaChoice]:
    """Draw the button, in the brand's colours when they stand out from the picture around it
    (3:1), else with an outline or in another brand colour (visibility.choose_cta)."""
    style = brand.cta
    fitted = _fit_cta(text, box, box_px, style, chain)
    ink, size = fitted.ink, fitted.size
    px, py = round(style.padding_x * size), round(style.padding_y * size)
    button = _cta_button(fitted, style, box, box_px)
    bx, by = button[:2]
    bw, bh = button[2] - bx, button[3] - by
    mask = _button_mask(bw, bh, style.radius)
    line = max(2, round(bh * OUTLINE_SHARE))
    choice = choose_cta(brand, surround(canvas, mask, (bx, by), line, max(3, round(bh * RING_SHARE))))
    if choice.outline is not None:
        grown = _button_mask(bw + 2 * line, bh + 2 * line, style.radius)  # the same pill, larger
        canvas.paste(brand.rgb(choice.outline), (bx - line, by - line), grown)
        _over(layer, brand.rgb(choice.outline), (bx - line, by - line), grown)
    canvas.paste(brand.rgb(style.background), (bx, by), mask)
    _over(layer, brand.rgb(style.background), (bx, by), mask)
    # centre the real glyph ink on the button
    tx, ty = bx + (bw - ink.width) // 2, by + (bh - ink.height) // 2
    canvas.paste(brand.rgb(style.text_color), (tx, ty), ink)
    _over(layer, brand.rgb(style.text_color), (tx, ty), ink)
    achieved = _measure_final(canvas, ink, (tx, ty), max(1, min(px, py) - 2), colour=brand.rgb(style.text_color))
    check = BoxCheck(box="cta", text=text, drawn=lines_text(fitted.lines), font_size=size, bounds=button,
                     contrast=achieved)
    return check, choice


@lru_cache(maxsize=32)  # read-only use; every variant of a concept has the same button
def _button_mask(width: int, height: int, radius: float) -> Image.Image:
    """The CTA button's "L" mask: a rounded rectangle (corner radius as a share of the height),
    supersampled 4x so its edge is smooth."""
    ss = 4
    mask = Image.new("L", (width * ss, height * ss), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, width * ss - 1, height * ss - 1),
                                           radius=round(radius * height * ss), fill=255)
    return mask.resize((width, height), Image.LANCZOS)


@lru_cache(maxsize=16)
def _scaled_logo(path: str, mtime_ns: int, box_w: int, box_h: int) -> Image.Image:
    """The logo fitted into a box, aspect kept; cached per file version and box (read-only use)."""
    with Image.open(path) as im:
        logo = im.convert("RGBA")
    scale = min(box_w / logo.width, box_h / logo.height)
    w, h = max(1, round(logo.width * scale)), max(1, round(logo.height * scale))
    return logo.resize((w, h), Image.LANCZOS)


_LOGO_LUMS: dict[int, float] = {}  # by id() of a cached scaled logo, which lives as long as the cache holds it


def _logo_lum(logo: Image.Image) -> float:
    """visibility.logo_luminance of a scaled logo from _scaled_logo, worked out once per logo."""
    key = id(logo)
    if key not in _LOGO_LUMS:
        _LOGO_LUMS[key] = logo_luminance(logo)
        weakref.finalize(logo, _LOGO_LUMS.pop, key, None)
    return _LOGO_LUMS[key]


def _logo_image(path: Path, box_px: tuple[int, int, int, int]) -> Image.Image:
    return _scaled_logo(str(path), path.stat().st_mtime_ns, box_px[2] - box_px[0], box_px[3] - box_px[1])


def _draw_logo(canvas: Image.Image, brand: Brand, brand_dir: Path, box: Box, box_px: tuple[int, int, int, int],
               layer: Image.Image | None = None) -> tuple[BoxCheck, float | None, str | None]:
    """Draw the logo where it stands out from the picture (3:1): the brand's logo, else its light or
    dark variant, else on a badge. Returns the check, the contrast reached and the fix used."""
    first = _logo_image(logo_path(brand, brand_dir, "logo"), box_px)
    x, y = _place(box_px, first.width, first.height, box.align, box.valign)
    ring = max(3, round(min(first.size) * RING_SHARE))
    pad = max(2, round(max(first.size) * BADGE_PAD))
    around = surround(canvas, first.getchannel("A"), (x, y), pad, ring)
    best: tuple[float, str, Image.Image] | None = None
    for key in logo_candidates(brand, around):
        logo = first if key == "logo" else _logo_image(logo_path(brand, brand_dir, key), box_px)
        value = against(_logo_lum(logo), around)
        if best is None or value > best[0]:
            best = (value, key, logo)
        if value >= NON_TEXT_CONTRAST:
            break
    value, key, logo = best
    fix = None if key == "logo" else key
    badge = choose_badge(brand, _logo_lum(first), around) if value < NON_TEXT_CONTRAST else None
    if badge is not None:
        # no file stands out: the brand's own logo on a badge that does
        name, value = badge
        logo, fix = first, f"badge {name}"
        x, y = _place(box_px, logo.width, logo.height, box.align, box.valign)
        shape = Image.new("L", (logo.width + 2 * pad, logo.height + 2 * pad), 0)
        ImageDraw.Draw(shape).rounded_rectangle((0, 0, shape.width - 1, shape.height - 1),
                                                radius=round(min(logo.size) * 0.3), fill=255)
        canvas.paste(brand.rgb(name), (x - pad, y - pad), shape)
        _over(layer, brand.rgb(name), (x - pad, y - pad), shape)
    x, y = _place(box_px, logo.width, logo.height, box.align, box.valign)
    canvas.paste(logo, (x, y), logo)
    if layer is not None:
        layer.alpha_composite(logo, (x, y))
    return BoxCheck(box="logo", bounds=(x, y, x + logo.width, y + logo.height)), value, fix


# --- placement ----------------------------------------------------------------------


@dataclass
class Plan:
    """Where one placement of a layout puts every box at one size, worked out before drawing."""

    name: str
    layout: Layout
    px: dict[str, tuple[int, int, int, int]]  # each box's area in pixels, after `follows`
    bounds: dict[str, tuple[int, int, int, int]]  # what will be drawn there: text ink, button, logo


def plan_layout(layout: Layout, copy: dict[str, str], brand: Brand, brand_dir: Path, size: AdSize,
                chain) -> Plan:
    """The boxes' pixel areas and drawn bounds for this layout at this size; LayoutError if text cannot fit.

    `chain(box)` gives a text box's font files. Fitting is cached, so drawing after planning
    fits nothing twice.
    """
    W, H = size.width, size.height
    px: dict[str, tuple[int, int, int, int]] = {}
    bounds: dict[str, tuple[int, int, int, int]] = {}
    for name in ("headline", "subhead", "cta"):
        box: TextBox = getattr(layout, name)
        area = box.pixels(W, H)
        prev = bounds.get(box.follows) if box.follows else None
        if prev:
            # sit just under the previous text when it came out short; never move down
            top = min(area[1], prev[3] + round(box.gap * H))
            area = (area[0], top, area[2], top + (area[3] - area[1]))
        px[name] = area
        if name == "cta":
            fitted = _fit_cta(copy[name], box, area, brand.cta, chain(box), fit=_shared_fit)
            bounds[name] = _cta_button(fitted, brand.cta, box, area)
        elif copy[name]:
            fitted = _shared_fit(copy[name], chain(box), box, area[2] - area[0], area[3] - area[1], name=name)
            x, y = _place(area, fitted.ink.width, fitted.ink.height, box.align, box.valign)
            bounds[name] = (x, y, x + fitted.ink.width, y + fitted.ink.height)
    px["logo"] = layout.logo.pixels(W, H)
    logo = _logo_image(logo_path(brand, brand_dir, "logo"), px["logo"])
    x, y = _place(px["logo"], logo.width, logo.height, layout.logo.align, layout.logo.valign)
    bounds["logo"] = (x, y, x + logo.width, y + logo.height)
    return Plan(layout.anchor, layout, px, bounds)


def choose_placement(layout: Layout, copy: dict[str, str], brand: Brand, brand_dir: Path, size: AdSize,
                     zone: SafeZone, chain, view: AdSaliency, only: str | None = None) -> tuple[Plan, dict[str, float]]:
    """The layout's placement whose text, button and logo cover the least of the picture's subject.

    Scores are saliency under the drawn boxes (saliency.AdSaliency.cover_cost: 0 calm .. 1
    subject); another placement replaces the layout's own only when its score is lower by more
    than PLACEMENT_MARGIN, and ties go to the placement listed first. A placement leaving the safe zone at this size, or where the copy
    does not fit, is left out; if none is left, the layout's own placement's error is raised.
    """
    plans: list[Plan] = []
    scores: dict[str, float] = {}
    first_error: LayoutError | None = None
    for name in [only] if only else layout.placement_names():
        placed = layout.placed(name)
        if name != layout.anchor and boxes_outside(placed, size, zone):
            log.debug("placement %s leaves the safe zone at %s; skipped", name, size.label)
            continue
        try:
            plan = plan_layout(placed, copy, brand, brand_dir, size, chain)
        except LayoutError as exc:
            first_error = first_error or exc
            continue
        plans.append(plan)
        scores[name] = view.cover_cost(list(plan.bounds.values()))
    if not plans:
        raise first_error or LayoutError(f"no placement of layout {size.layout} fits {size.label}")
    # the layout's own placement is its designer's first choice: another must clearly do better
    handicap = {layout.anchor: -PLACEMENT_MARGIN}
    best = min(plans, key=lambda p: scores[p.name] + handicap.get(p.name, 0.0))  # min keeps the first of equals
    return best, scores


def render_ad(
    background: Image.Image,
    concept: Concept,
    brand: Brand,
    brand_dir: Path,
    layout: Layout,
    size: AdSize,
    safe_zone: SafeZone,
    *,
    placement: str | None = None,
) -> RenderedAd:
    """Draw one ad: background cropped to keep its subject, logo, headline, subhead and CTA button,
    in the layout placement that covers the least of the subject (or `placement`, if given).

    Raises LayoutError before drawing when a layout box leaves the safe zone, and when text cannot fit.
    """
    return _render(background, concept, brand, brand_dir, layout, size, safe_zone, overlay=False,
                   placement=placement)


def render_overlay(
    background: Image.Image,
    concept: Concept,
    brand: Brand,
    brand_dir: Path,
    layout: Layout,
    size: AdSize,
    safe_zone: SafeZone,
) -> RenderedAd:
    """The typography of render_ad alone, as an RGBA layer on a transparent canvas (for video).

    Same boxes, text, colours and scrims: every choice is still made against the background,
    centre-cropped as the video encoder crops it, so the layer composited over the cover-cropped
    background gives render_ad's pixels wherever render_ad's crop is centred too.
    """
    return _render(background, concept, brand, brand_dir, layout, size, safe_zone, overlay=True)


def _render(background, concept, brand, brand_dir, layout, size, safe_zone, *, overlay: bool,
            placement: str | None = None) -> RenderedAd:
    """render_ad's layout; with overlay=True every draw is mirrored onto a transparent layer, which is returned."""
    source = Path(brand_dir) / "layouts" / f"{size.layout}.yaml"
    check_safe_zone(layout, size, safe_zone, source)
    if placement is not None and placement not in layout.placement_names():
        raise LayoutError(f"{source}: no placement '{placement}' (placements: {', '.join(layout.placement_names())})")

    def chain(box: TextBox) -> list[str]:
        return font_chain(brand, brand_dir, box)

    # NumPy and OpenCV load with the first ad, not with every command (a few hundred ms)
    from creative.render.saliency import MAX_SUBJECT_CUT, saliency_of

    W, H = size.width, size.height
    saliency = saliency_of(background)
    scaled = cover_size(background, W, H)
    # the video encoder crops its background in the centre, so the overlay for it must too
    offset = centre_offset(scaled, W, H) if overlay else saliency.crop_offset(scaled, (W, H))
    canvas = cover(background, W, H, offset)
    view = saliency.view(scaled, offset, (W, H))
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0)) if overlay else None
    warnings: list[str] = []
    copy = {
        "headline": normalize_copy(concept.headline),
        "subhead": normalize_copy(concept.subhead),
        "cta": normalize_copy(concept.cta or brand.cta.text),
    }
    plan, scores = choose_placement(layout, copy, brand, brand_dir, size, safe_zone, chain, view, placement)
    checks: list[BoxCheck] = []
    for name in ("headline", "subhead"):
        if copy[name]:
            box: TextBox = getattr(plan.layout, name)
            checks.append(_draw_text_box(canvas, name, copy[name], box, plan.px[name], brand, chain(box),
                                         warnings, layer))
    cta, choice = _draw_cta(canvas, copy["cta"], plan.layout.cta, plan.px["cta"], brand, chain(plan.layout.cta), layer)
    checks.append(cta)
    # logo last so no scrim fades it
    logo, logo_contrast, logo_fix = _draw_logo(canvas, brand, Path(brand_dir), plan.layout.logo, plan.px["logo"], layer)
    checks.insert(0, logo)

    safe = safe_rect(size, safe_zone)
    for check in checks:
        check.inside_safe_zone = check.bounds is not None and inside(check.bounds, safe)
        if not check.inside_safe_zone:
            raise LayoutError(
                f"{source}: {check.box}: drawn at {check.bounds}, outside the safe zone {safe} at {size.label}"
            )
    visual = VisualCheck(
        placement=plan.name, placement_score=scores[plan.name], placement_scores=scores, crop=offset,
        cta_contrast=choice.contrast, cta_fix=choice.fix, logo_contrast=logo_contrast, logo_fix=logo_fix,
        required_contrast=NON_TEXT_CONTRAST,
        subject_overlap=view.salient_share([c.bounds for c in checks if c.bounds]),
        subject_overlap_max=layout.max_subject_overlap,
        subject_cut=saliency.subject_cut(scaled, offset, (W, H)), subject_cut_max=MAX_SUBJECT_CUT,
    )
    return RenderedAd(image=layer if layer is not None else canvas, boxes=checks, warnings=warnings, visual=visual)
