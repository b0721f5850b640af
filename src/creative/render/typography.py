"""Layout engine: draw the brief's copy, CTA button and logo onto a background.

The text drawn is exactly the concept's copy (NFC-normalised, whitespace collapsed). Every
measurement uses real glyph ink (rendered masks), so fitting, centring and safe-zone checks
hold on the final pixels. Same inputs and Pillow build give byte-identical images.
"""

from __future__ import annotations

import bisect
import functools
import io
import logging
import math
import threading
import unicodedata
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import (
    Image,
    ImageChops,
    ImageDraw,
    ImageFilter,
    ImageFont,
    ImageMath,
    ImageStat,
    features,
)

from creative.brand.kit import Box, Brand, Layout, TextBox
from creative.core.errors import LayoutError
from creative.core.text import quote_short
from creative.core.models import AdSize, BoxCheck, Concept, SafeZone

log = logging.getLogger(__name__)

# Raqm shapes text with HarfBuzz (kerning, correct mark stacking); basic layout is the fallback.
LAYOUT_ENGINE = ImageFont.Layout.RAQM if features.check_feature("raqm") else ImageFont.Layout.BASIC
BOX_NAMES = ("logo", "headline", "subhead", "cta")
LARGE_TEXT_PX = 24
# We aim past the WCAG minimum for large text: ads are seen small, on phones, at a glance.
DESIGN_CONTRAST = 4.5
SCRIM_ALPHAS = (0.35, 0.5, 0.65, 0.8, 0.9, 1.0)
MEASURE_MAX_PIXELS = 40_000
WORST_PERCENTILE = 0.05  # contrast reported is what 95% of background pixels around the glyphs reach
PICK_PERCENTILE = 0.01  # choosing colours and scrims is stricter than reporting
BUSY_STDEV = 0.09  # luminance spread above which a texture fights the text even at good contrast


@dataclass
class RenderedAd:
    image: Image.Image
    boxes: list[BoxCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- colour -------------------------------------------------------------------

_LINEAR = [((c / 255) / 12.92) if c <= 10 else (((c / 255) + 0.055) / 1.055) ** 2.4 for c in range(256)]
_LR = [0.2126 * v for v in _LINEAR]
_LG = [0.7152 * v for v in _LINEAR]
_LB = [0.0722 * v for v in _LINEAR]


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    r, g, b = rgb[:3]
    return _LR[r] + _LG[g] + _LB[b]


def contrast_ratio(a: float, b: float) -> float:
    """WCAG contrast ratio of two relative luminances."""
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def required_contrast(size_px: int) -> float:
    """WCAG AA: 4.5:1 for body text, 3:1 for large text."""
    return 3.0 if size_px >= LARGE_TEXT_PX else 4.5


# Luminance distributions are histograms built in C (Pillow), not per-pixel Python lists.
# Bins are uniform in (L + 0.05) ** LUM_POWER, close to log(L + 0.05), in which a contrast ratio
# is a distance: every bin spans under 0.12% of (L + 0.05). Percentiles are located on the bins,
# then made exact from the few bins that straddle the answer, whose pixels' real colours are read
# back (getcolors); readable() only asks on which side of a target the percentile lies, which the
# bins settle but for those straddling the target. A region is binned once (_Pixels) for all its
# selections. Results equal the per-pixel computation; only the float32 luminance used to bin a
# pixel can put it one bin off, which the 1e-6 slack below absorbs.
LUM_BINS = 4096
LUM_POWER = 0.25
_U0 = 0.05**LUM_POWER
_DU = ((1.0 + 0.05 + 1e-6) ** LUM_POWER - _U0) / LUM_BINS
_BIN_EDGES = [(_U0 + i * _DU) ** (1 / LUM_POWER) - 0.05 for i in range(LUM_BINS + 1)]
_BIN_SPAN = max((_BIN_EDGES[i + 1] + 0.05) / (_BIN_EDGES[i] + 0.05) for i in range(LUM_BINS))
_SLACK = 1 + 1e-6


# point() tables for "L" masks
_SOLID = [0] * 255 + [255]  # fully covered pixels only
_ANY_INK = [0] + [255] * 255
_NO_INK = [255] + [0] * 255


def _sample_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a region is measured at: about MEASURE_MAX_PIXELS pixels at most."""
    width, height = size
    factor = max(1, math.ceil(math.sqrt(width * height / MEASURE_MAX_PIXELS)))
    return (max(1, width // factor), max(1, height // factor)) if factor > 1 else size


def _sampled(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    # nearest sampling keeps real pixel values: averaging would hide busy highlights
    return img if img.size == size else img.resize(size, Image.NEAREST)


class _Pixels:
    """The pixels of one image region, sampled to stay fast, whose luminance and bins are computed
    once, on first use, and shared by every selection of them (all pixels, the text, its surround)."""

    def __init__(self, img: Image.Image):
        self.source_size = img.size
        self.size = _sample_size(img.size)
        img = _sampled(img, self.size)
        self.rgb = img if img.mode == "RGB" else img.convert("RGB")
        self._lum: Image.Image | None = None
        self._bins: Image.Image | None = None

    def lum(self) -> Image.Image:
        if self._lum is None:
            self._lum = _lum_image(self.rgb)
        return self._lum

    def bins(self) -> Image.Image:
        """An "I" image of every pixel's bin."""
        if self._bins is None:
            self._bins = ImageMath.lambda_eval(
                lambda a: a["min"](a["int"]((a["lum"] + 0.05) ** LUM_POWER / _DU - _U0 / _DU), LUM_BINS - 1),
                lum=self.lum(),
            )
        return self._bins

    def select(self, mask: Image.Image | None = None) -> Luminances:
        """The pixels where mask (the size of the region) is 255; every pixel without a mask."""
        if mask is not None:
            mask = _sampled(mask, self.size).point(_SOLID)  # the same sample positions as the pixels
        return Luminances(self, mask)


def _once(method):
    """A property computed on first use, then kept: functools.cached_property without its lock,
    which in Python 3.11 makes every thread wait for any instance's computation."""
    key = method.__name__

    @functools.wraps(method)
    def get(self):
        cache = self.__dict__.setdefault("_once", {})
        if key not in cache:
            cache[key] = method(self)
        return cache[key]

    return property(get)


class Luminances:
    """Relative luminance of a selection of pixels: counts per bin, and the pixels to read exact values from.

    Everything but the count is computed on first use.
    """

    def __init__(self, pixels: _Pixels | None = None, mask: Image.Image | None = None):
        self._pixels, self._mask = pixels, mask  # mask: "L", 255 where selected, else 0
        if pixels is None:
            self.total = 0
        else:
            self.total = pixels.size[0] * pixels.size[1] if mask is None else mask.histogram()[255]

    def __len__(self) -> int:
        return self.total

    @_once
    def exact(self) -> float | None:
        """The luminance of the one colour every selected pixel has; None if they differ."""
        if not self.total or len(self.bins) > 1:  # one colour is one bin: no need to look closer
            return None
        return _single_colour(self._pixels.rgb, self._mask)

    @_once
    def _selected_bins(self) -> Image.Image:
        """The pixels' bins, with LUM_BINS (never counted) where they are not selected."""
        bins = self._pixels.bins()
        if self._mask is None:
            return bins
        selected = Image.new("I", bins.size, LUM_BINS)
        selected.paste(bins, (0, 0), self._mask)
        return selected

    @_once
    def bins(self) -> list[tuple[int, int]]:
        """(bin, count) of the selected pixels, by bin."""
        if not self.total:
            return []
        counts = self._selected_bins.getcolors(LUM_BINS + 1)
        return sorted([(q, n) for n, q in counts if q != LUM_BINS])

    @_once
    def stdev(self) -> float:
        """Population standard deviation of the selected pixels' luminance (0 for one colour)."""
        if not self.total or self.exact is not None:
            return 0.0
        return _stdev(self._pixels.lum(), self._mask, self.total)

    def values(self, bins: list[int]) -> list[tuple[float, int]]:
        """(exact luminance, count) of the selected pixels in the given bins."""
        inside = _bin_mask(self._selected_bins, sorted(bins))
        box = inside.getbbox()
        if box is None:
            return []
        picked = Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), (0, 0, 0, 0))
        picked.paste(self._pixels.rgb.crop(box), (0, 0), inside.crop(box))  # the rest stays (0, 0, 0, 0)
        colours = picked.getcolors(picked.width * picked.height + 1)
        return [(luminance(c[:3]), n) for n, c in colours if c[3] == 255]

    def median(self) -> float:
        """Luminance of the pixel at index total // 2 in sorted order."""
        if self.exact is not None:
            return self.exact
        k, seen = self.total // 2, 0
        for q, n in self.bins:
            if seen + n > k:
                return _kth(sorted(self.values([q])), k - seen)
            seen += n
        raise ValueError("median of no pixels")


def _bin_mask(bins_image: Image.Image, bins: list[int]) -> Image.Image:
    """An "L" mask, 255 where the "I" image holds one of the (sorted) bins.

    Shifted so the first bin wanted is 1 and clipped to 0..255 by the "L" conversion, bins index a
    point() table: a few C calls for up to 254 bins, instead of comparing bins one by one.
    """
    mask = None
    start = 0
    while start < len(bins):
        base = bins[start] - 1
        end = bisect.bisect_right(bins, base + 254, start)
        table = [0] * 256
        for q in bins[start:end]:
            table[q - base] = 255
        part = bins_image.point(lambda v, base=base: v - base).convert("L").point(table)
        mask = part if mask is None else ImageChops.lighter(mask, part)
        start = end
    return mask if mask is not None else Image.new("L", bins_image.size, 0)


def _kth(pairs: list[tuple[float, int]], k: int) -> float:
    """The k-th (0-based) value of sorted (value, count) pairs."""
    seen = 0
    for value, n in pairs:
        seen += n
        if seen > k:
            return value
    raise ValueError("k is past the end")


def _lum_image(img: Image.Image) -> Image.Image:
    """An "F" image of WCAG relative luminance (sRGB channels through the linear LUT, summed)."""
    r, g, b = img.split()
    return ImageMath.lambda_eval(lambda a: a["r"] + a["g"] + a["b"],
                                 r=r.point(_LR, "F"), g=g.point(_LG, "F"), b=b.point(_LB, "F"))


def _single_colour(img: Image.Image, mask: Image.Image | None) -> float | None:
    """Exact luminance when every selected pixel has the same colour."""
    extrema = ImageStat.Stat(img, mask).extrema
    if all(lo == hi for lo, hi in extrema):
        return luminance(tuple(int(lo) for lo, _ in extrema))
    return None


def _stdev(lum: Image.Image, mask: Image.Image | None, total: int) -> float:
    """Population standard deviation of the selected pixels of an "F" luminance image.

    From float32 pixels averaged by a 1x1 BOX resize (double sums in Pillow): within 1e-6 of the
    per-pixel figure, where busy() compares it with BUSY_STDEV; bin centres would be 1000x coarser.
    """
    if mask is not None:
        lum = ImageMath.lambda_eval(lambda a: a["l"] * a["m"] / 255.0, l=lum, m=mask)
    square = ImageMath.lambda_eval(lambda a: a["l"] * a["l"], l=lum)
    scale = lum.width * lum.height / total  # the mean over the selected pixels only
    mean = lum.resize((1, 1), Image.BOX).getpixel((0, 0)) * scale
    mean_square = square.resize((1, 1), Image.BOX).getpixel((0, 0)) * scale
    return math.sqrt(max(0.0, mean_square - mean * mean))


def _ratio_range(text_lum: float, q: int) -> tuple[float, float]:
    """Lowest and highest contrast a luminance in bin q can have against text_lum."""
    lo, hi = _BIN_EDGES[q], _BIN_EDGES[q + 1]
    if hi <= text_lum:
        return contrast_ratio(text_lum, hi), contrast_ratio(text_lum, lo)
    if lo >= text_lum:
        return contrast_ratio(text_lum, lo), contrast_ratio(text_lum, hi)
    return 1.0, max(contrast_ratio(text_lum, lo), contrast_ratio(text_lum, hi))


def _outwards(text_lum: float, bins: list[tuple[int, int]]):
    """Bins as (q, count, lowest ratio, highest ratio), by increasing lowest ratio: the ratio
    grows with the distance from the text's bin on either side, so walk out, nearer side first."""

    def ratios(i: int) -> tuple[float, float]:
        return _ratio_range(text_lum, bins[i][0]) if 0 <= i < len(bins) else (math.inf, math.inf)

    right = bisect.bisect_left(bins, (bisect.bisect_right(_BIN_EDGES, text_lum) - 1, 0))
    left = right - 1
    below, above = ratios(left), ratios(right)
    while left >= 0 or right < len(bins):
        if below[0] <= above[0]:
            yield bins[left][0], bins[left][1], *below
            left -= 1
            below = ratios(left)
        else:
            yield bins[right][0], bins[right][1], *above
            right += 1
            above = ratios(right)


def worst_contrast(text_lum: float, background: Luminances, percentile: float = WORST_PERCENTILE) -> float:
    """Contrast that (1 - percentile) of the background pixels reach against the text luminance.

    That is the ratio at index int(n * percentile) of the n pixels' ratios sorted ascending.
    """
    if not background.total:
        return 21.0
    if background.exact is not None:
        return contrast_ratio(text_lum, background.exact)
    k = int(background.total * percentile)
    below, seen, bound, window = 0, 0, math.inf, []
    for q, n, low, high in _outwards(text_lum, background.bins):
        if low > bound:
            break  # this bin and every later one lie wholly above the answer
        seen += n
        if bound == math.inf and seen > k:
            # the answer is at least `low` and, as no bin spans more than _BIN_SPAN, at most this
            bound = low * _BIN_SPAN * _SLACK
        window.append((q, n, high))
    floor = bound / (_BIN_SPAN * _SLACK * _SLACK)  # = the lowest-ratio bound found above
    read: list[int] = []
    for q, n, high in window:
        if high * _SLACK < floor:
            below += n  # wholly under the answer: counted, never read
        else:
            read.append(q)
    exact = [(contrast_ratio(text_lum, v), c) for v, c in background.values(read)]  # all read bins at once
    return _kth(sorted(exact), k - below)


def busy(background: Luminances) -> bool:
    """True when the background's luminance varies so much that text needs a calmer base."""
    return background.total >= 2 and background.stdev > BUSY_STDEV


def readable(text_lum: float, background: Luminances, target: float) -> bool:
    """worst_contrast(text_lum, background, PICK_PERCENTILE) >= target, and the background is calm."""
    return _reaches(text_lum, background, target, PICK_PERCENTILE) and not busy(background)


def _reaches(text_lum: float, background: Luminances, target: float, percentile: float) -> bool:
    """worst_contrast(text_lum, background, percentile) >= target, without finding that contrast.

    It holds when at most k = int(n * percentile) pixels are under target. The bins settle most
    pixels, under or not; only those in bins that straddle target are read.
    """
    if not background.total:
        return 21.0 >= target
    if background.exact is not None:
        return contrast_ratio(text_lum, background.exact) >= target
    k = int(background.total * percentile)
    under, unsure, straddling = 0, 0, []
    for q, n, low, high in _outwards(text_lum, background.bins):
        if low / _SLACK >= target:
            break  # this bin and every later one are wholly at or over target
        if high * _SLACK < target:
            under += n
            if under > k:
                return False
        else:
            unsure += n
            straddling.append(q)
    if under + unsure <= k:
        return True
    return under + sum(n for v, n in background.values(straddling) if contrast_ratio(text_lum, v) < target) <= k


# --- fonts --------------------------------------------------------------------


@lru_cache(maxsize=16)  # read-only bytes: safe to share between threads
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


_fonts = threading.local()  # compose renders in threads; a FreeType face must not be shared


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    cache = _fonts.__dict__.setdefault("by_key", {})
    if len(cache) >= 256:
        cache.clear()  # fitting walks many sizes; keep memory bounded like the old lru_cache
    if (path, size) not in cache:
        # from bytes: given a path, Pillow may silently substitute a system font of the same name
        cache[path, size] = ImageFont.truetype(io.BytesIO(_font_bytes(path)), size, layout_engine=LAYOUT_ENGINE)
    return cache[path, size]


@lru_cache(maxsize=32)
def _cmap(path: str) -> frozenset[int]:
    with TTFont(path, lazy=True) as tt:
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


def split_runs(text: str, chain: list[str]) -> tuple[list[Run], list[str]]:
    """Split text into runs of one font each (first font in chain that has the character).

    Returns the runs and the characters no font has.
    """
    runs: list[Run] = []
    missing: list[str] = []
    for ch in text:
        cp = ord(ch)
        if ch.isspace() or unicodedata.category(ch) == "Mn" and runs and cp in _cmap(runs[-1][1]):
            path = runs[-1][1] if runs else chain[0]  # spaces and marks stay with their neighbour
        else:
            path = next((p for p in chain if cp in _cmap(p)), None)
            if path is None:
                if ch not in missing:
                    missing.append(ch)
                path = chain[0]
        if runs and runs[-1][1] == path:
            runs[-1] = (runs[-1][0] + ch, path)
        else:
            runs.append((ch, path))
    return runs, missing


def _line_width(runs: list[Run], size: int) -> float:
    return sum(_font(p, size).getlength(t) for t, p in runs)


def wrap_words(text: str, chain: list[str], size: int, width: int) -> list[list[Run]]:
    """Greedy word wrap by advance width; never breaks inside a word. Explicit newlines kept."""
    lines: list[list[Run]] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            trial = f"{current} {word}" if current else word
            if current and _line_width(split_runs(trial, chain)[0], size) > width:
                lines.append(split_runs(current, chain)[0])
                current = word
            else:
                current = trial
        lines.append(split_runs(current, chain)[0])
    return lines


def render_lines(lines: list[list[Run]], size: int, line_height: float, align: str) -> Image.Image:
    """Render lines into an "L" mask cropped to the glyph ink."""
    primary = _font(lines[0][0][1], size) if lines and lines[0] else None
    ascent, descent = primary.getmetrics() if primary else (size, size // 4)
    widths = [_line_width(r, size) for r in lines]
    block_w = math.ceil(max(widths, default=0))
    step = round(size * line_height)
    pad = size  # room for overhanging marks and bearings
    mask = Image.new("L", (block_w + 2 * pad, ascent + descent + step * (len(lines) - 1) + 2 * pad), 0)
    draw = ImageDraw.Draw(mask)
    for i, (runs, w) in enumerate(zip(lines, widths)):
        x = pad + {"left": 0.0, "center": (block_w - w) / 2, "right": block_w - w}[align]
        y = pad + ascent + i * step
        for text, path in runs:
            font = _font(path, size)
            draw.text((round(x), y), text, font=font, fill=255, anchor="ls")
            x += font.getlength(text)
    bbox = mask.getbbox()
    return mask.crop(bbox) if bbox else Image.new("L", (1, 1), 0)


@dataclass
class FittedText:
    size: int
    lines: list[list[Run]]
    ink: Image.Image  # "L" mask cropped to glyph ink


# Fitted copy: every variant of a concept fits the same copy into the same box, and drawing
# glyphs holds the GIL, so render threads would otherwise take turns redoing the same work.
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
    # every box field _fit reads is in the key
    key = (text, tuple(chain), box.min_size, box.max_size, box.max_lines, box.line_height, box.align,
           width, height, pad_x, pad_y, min_content_h)
    with _FITTED_LOCK:
        fitted = _FITTED.get(key)
    if fitted is None:
        fitted = _fit(text, chain, box, width, height, name, pad_x, pad_y, min_content_h)
        with _FITTED_LOCK:
            if len(_FITTED) >= 64:
                _FITTED.clear()
            _FITTED[key] = fitted
    # a copy each: the cached one must never change
    return FittedText(fitted.size, [list(line) for line in fitted.lines], fitted.ink.copy())


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
    for size in range(box.max_size, box.min_size - 1, -1):
        px, py = round(pad_x * size), round(pad_y * size)
        avail_w = width - 2 * px
        if avail_w <= 0:
            continue
        lines = wrap_words(text, chain, size, avail_w)
        if len(lines) > box.max_lines:
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


def _scaled(background: Image.Image, w: int, h: int) -> Image.Image:
    """The background scaled to w x h, made once per background and size."""
    copies = _scaled_copies(background)
    scaled = copies.get((w, h))
    if scaled is None:
        rgb = background if background.mode == "RGB" else background.convert("RGB")
        if (w, h) != rgb.size:
            # BICUBIC: the background is soft by nature; LANCZOS costs twice as much for no visible gain.
            scaled = rgb.resize((w, h), Image.BICUBIC)
        else:
            # a copy: holding the background itself here would keep it from ever being collected
            scaled = rgb.copy() if rgb is background else rgb
        copies[w, h] = scaled
    return scaled


def scale_for(background: Image.Image, sizes: list[tuple[int, int]]) -> None:
    """Scale the background now for every (width, height) that cover() will be asked for."""
    for size in dict.fromkeys(_cover_size(background, *s) for s in sizes):
        _scaled(background, *size)


def cover(background: Image.Image, width: int, height: int) -> Image.Image:
    """Scale to cover width x height, then centre-crop."""
    w, h = _cover_size(background, width, height)
    left, top = (w - width) // 2, (h - height) // 2
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


def _scrim_mask(kind: str, canvas: tuple[int, int], rect: tuple[int, int, int, int], size: int, alpha: float):
    """An "L" mask for the scrim behind text at rect."""
    a = round(255 * alpha)
    mask = Image.new("L", canvas, 0)
    if kind == "box":
        r = _grow(rect, round(size * 0.35), canvas)
        ImageDraw.Draw(mask).rounded_rectangle(r, radius=round(size * 0.3), fill=a)
        return mask
    # gradient: a soft full-width band, solid behind the text, fading out above and below
    feather = round(size * 1.2)
    top, bottom = rect[1] - round(size * 0.3), rect[3] + round(size * 0.3)
    column = []
    for y in range(canvas[1]):
        if top <= y <= bottom:
            v = a
        elif top - feather < y < top:
            v = round(a * (y - (top - feather)) / feather)
        elif bottom < y < bottom + feather:
            v = round(a * ((bottom + feather) - y) / feather)
        else:
            v = 0
        column.append(v)
    col = Image.new("L", (1, canvas[1]))
    col.putdata(column)
    return col.resize(canvas, Image.NEAREST)


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
    fitted = fit_text(text, chain, box, box_px[2] - box_px[0], box_px[3] - box_px[1], name=name)
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
            scrim = _scrim_mask(kind, canvas.size, rect, size, alpha)
            trial = crop.copy()
            trial.paste(brand.rgb(scrim_name), (0, 0), scrim.crop(region))
            pixels = _Pixels(trial)  # = the canvas region once this scrim is kept
            if readable(text_lum, pixels.select(), target):
                break
        canvas.paste(brand.rgb(scrim_name), (0, 0), scrim)
        _over(layer, brand.rgb(scrim_name), (0, 0), scrim)  # only the scrim that was kept
        log.debug("%s: %s scrim %s at %.2f behind %s text", name, kind, scrim_name, alpha, color_name)

    canvas.paste(brand.rgb(color_name), pos, ink)
    _over(layer, brand.rgb(color_name), pos, ink)
    achieved = _measure_final(canvas, ink, pos, pad, colour=brand.rgb(color_name), before=pixels)
    # pass/fail against WCAG is QC's job (compose.qc_ad); the engine only measures
    return BoxCheck(box=name, text=text, drawn=lines_text(fitted.lines), font_size=size, bounds=rect,
                    contrast=achieved)


def _draw_cta(
    canvas: Image.Image,
    text: str,
    box: TextBox,
    box_px: tuple[int, int, int, int],
    brand: Brand,
    chain: list[str],
    layer: Image.Image | None = None,
) -> BoxCheck:
    style = brand.cta
    fitted = fit_text(
        text, chain, box, box_px[2] - box_px[0], box_px[3] - box_px[1],
        name="cta", pad_x=style.padding_x, pad_y=style.padding_y, min_content_h=0.75,
    )
    ink, size = fitted.ink, fitted.size
    px, py = round(style.padding_x * size), round(style.padding_y * size)
    # a fixed content height keeps buttons the same height whatever letters the label has
    bw, bh = ink.width + 2 * px, max(ink.height, round(0.75 * size)) + 2 * py
    bx, by = _place(box_px, bw, bh, box.align, box.valign)
    button = (bx, by, bx + bw, by + bh)
    mask = _button_mask(bw, bh, style.radius)
    canvas.paste(brand.rgb(style.background), (bx, by), mask)
    _over(layer, brand.rgb(style.background), (bx, by), mask)
    # centre the real glyph ink on the button
    tx, ty = bx + (bw - ink.width) // 2, by + (bh - ink.height) // 2
    canvas.paste(brand.rgb(style.text_color), (tx, ty), ink)
    _over(layer, brand.rgb(style.text_color), (tx, ty), ink)
    achieved = _measure_final(canvas, ink, (tx, ty), max(1, min(px, py) - 2), colour=brand.rgb(style.text_color))
    return BoxCheck(box="cta", text=text, drawn=lines_text(fitted.lines), font_size=size, bounds=button,
                    contrast=achieved)


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


def _draw_logo(canvas: Image.Image, logo_path: Path, box: Box, box_px: tuple[int, int, int, int],
               layer: Image.Image | None = None) -> BoxCheck:
    bw, bh = box_px[2] - box_px[0], box_px[3] - box_px[1]
    logo = _scaled_logo(str(logo_path), logo_path.stat().st_mtime_ns, bw, bh)
    w, h = logo.size
    x, y = _place(box_px, w, h, box.align, box.valign)
    canvas.paste(logo, (x, y), logo)
    if layer is not None:
        layer.alpha_composite(logo, (x, y))
    return BoxCheck(box="logo", bounds=(x, y, x + w, y + h))


def render_ad(
    background: Image.Image,
    concept: Concept,
    brand: Brand,
    brand_dir: Path,
    layout: Layout,
    size: AdSize,
    safe_zone: SafeZone,
) -> RenderedAd:
    """Draw one ad: cover-cropped background, logo, headline, subhead and CTA button.

    Raises LayoutError before drawing when a layout box leaves the safe zone, and when text cannot fit.
    """
    return _render(background, concept, brand, brand_dir, layout, size, safe_zone, overlay=False)


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
    so the layer composited over the cover-cropped background gives render_ad's pixels.
    """
    return _render(background, concept, brand, brand_dir, layout, size, safe_zone, overlay=True)


def _render(background, concept, brand, brand_dir, layout, size, safe_zone, *, overlay: bool) -> RenderedAd:
    """render_ad's layout; with overlay=True every draw is mirrored onto a transparent layer, which is returned."""
    source = Path(brand_dir) / "layouts" / f"{size.layout}.yaml"
    check_safe_zone(layout, size, safe_zone, source)
    fonts_dir = Path(brand_dir) / "fonts"
    fallbacks = [str(fonts_dir / f) for f in brand.fallback_fonts]

    def chain(box: TextBox) -> list[str]:
        return [str(fonts_dir / brand.fonts[box.font]), *fallbacks]

    canvas = cover(background, size.width, size.height)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0)) if overlay else None
    warnings: list[str] = []
    W, H = size.width, size.height
    checks: list[BoxCheck] = []
    placed: dict[str, BoxCheck] = {}
    copy = {
        "headline": normalize_copy(concept.headline),
        "subhead": normalize_copy(concept.subhead),
        "cta": normalize_copy(concept.cta or brand.cta.text),
    }
    for name in ("headline", "subhead"):
        box: TextBox = getattr(layout, name)
        if not copy[name]:
            continue
        px = box.pixels(W, H)
        prev = placed.get(box.follows) if box.follows else None
        if prev and prev.bounds:
            # sit just under the previous text when it came out short; never move down
            top = min(px[1], prev.bounds[3] + round(box.gap * H))
            px = (px[0], top, px[2], top + (px[3] - px[1]))
        placed[name] = _draw_text_box(canvas, name, copy[name], box, px, brand, chain(box), warnings, layer)
        checks.append(placed[name])
    checks.append(_draw_cta(canvas, copy["cta"], layout.cta, layout.cta.pixels(W, H), brand, chain(layout.cta), layer))
    # logo last so no scrim fades it
    checks.insert(0, _draw_logo(canvas, Path(brand_dir) / brand.logo, layout.logo, layout.logo.pixels(W, H), layer))

    safe = safe_rect(size, safe_zone)
    for check in checks:
        check.inside_safe_zone = check.bounds is not None and inside(check.bounds, safe)
        if not check.inside_safe_zone:
            raise LayoutError(
                f"{source}: {check.box}: drawn at {check.bounds}, outside the safe zone {safe} at {size.label}"
            )
    return RenderedAd(image=layer if layer is not None else canvas, boxes=checks, warnings=warnings)
