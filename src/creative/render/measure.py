"""Colour measurement: WCAG luminance and contrast, and luminance histograms of pixel regions.

The typography engine and the visibility checks (CTA and logo against the picture) measure
with these, so every figure in QC comes from the same code.
"""

from __future__ import annotations

import bisect
import functools
import math

from PIL import Image, ImageStat

MEASURE_MAX_PIXELS = 40_000
WORST_PERCENTILE = 0.05  # contrast reported is what 95% of background pixels around the glyphs reach
PICK_PERCENTILE = 0.01  # choosing colours and scrims is stricter than reporting
BUSY_STDEV = 0.09  # luminance spread above which a texture fights the text even at good contrast
LARGE_TEXT_PX = 24
# We aim past the WCAG minimum for large text: ads are seen small, on phones, at a glance.
DESIGN_CONTRAST = 4.5


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


# Luminance distributions are histograms (NumPy, loaded with the first region measured), not
# per-pixel Python lists. Bins are uniform in (L + 0.05) ** LUM_POWER, close to log(L + 0.05), in
# which a contrast ratio is a distance: every bin spans under 0.12% of (L + 0.05). Percentiles are
# located on the bins, then made exact from the few bins that straddle the answer, whose pixels'
# exact luminances are read back; readable() only asks on which side of a target the percentile
# lies, which the bins settle but for those straddling the target. A region is binned once
# (_Pixels) for all its selections. Each pixel's luminance is luminance() of its colour, in
# doubles, and lies within its bin's edges, so results equal the per-pixel computation.
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
        self._arrays = None

    def arrays(self):
        """Every pixel's exact luminance (float64 NumPy array, as luminance() gives it) and bin."""
        if self._arrays is None:
            self._arrays = _binned(self.rgb)
        return self._arrays

    def select(self, mask: Image.Image | None = None) -> Luminances:
        """The pixels where mask (the size of the region) is 255; every pixel without a mask."""
        if mask is not None:
            mask = _sampled(mask, self.size).point(_SOLID)  # the same sample positions as the pixels
        return Luminances(self, mask)


@functools.cache
def _tables():
    """The NumPy module, the per-channel luminance tables and the bin edges, made on first use."""
    import numpy as np  # with the first region measured: commands that measure nothing never load it

    return np, np.array(_LR), np.array(_LG), np.array(_LB), np.array(_BIN_EDGES)


def _binned(img: Image.Image):
    """luminance() of every pixel of an RGB image, and the bin it lies in (edges inclusive below)."""
    np, lr, lg, lb, edges = _tables()
    rgb = np.asarray(img)
    lum = lr[rgb[..., 0]] + lg[rgb[..., 1]] + lb[rgb[..., 2]]  # summed in luminance()'s order
    # the bin from its formula (LUM_POWER is 1/4: two square roots), then set exactly on the
    # edges, which the formula's rounding can miss by one bin
    bins = ((np.sqrt(np.sqrt(lum + 0.05)) - _U0) / _DU).astype(np.intp)
    np.clip(bins, 0, LUM_BINS - 1, out=bins)
    bins -= (lum < edges[bins]) & (bins > 0)
    bins += (lum >= edges[bins + 1]) & (bins < LUM_BINS - 1)
    return lum, bins


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
    def _selected(self):
        """The selected pixels' luminances and bins, as flat NumPy arrays."""
        np = _tables()[0]
        lum, bins = self._pixels.arrays()
        if self._mask is None:
            return lum.ravel(), bins.ravel()
        chosen = np.asarray(self._mask) == 255
        return lum[chosen], bins[chosen]

    @_once
    def bins(self) -> list[tuple[int, int]]:
        """(bin, count) of the selected pixels, by bin."""
        if not self.total:
            return []
        np = _tables()[0]
        counts = np.bincount(self._selected[1], minlength=LUM_BINS)
        present = np.flatnonzero(counts)
        return list(zip(present.tolist(), counts[present].tolist()))

    @_once
    def stdev(self) -> float:
        """Population standard deviation of the selected pixels' luminance (0 for one colour)."""
        if not self.total or self.exact is not None:
            return 0.0
        return float(self._selected[0].std())

    def values(self, bins: list[int]) -> list[tuple[float, int]]:
        """(exact luminance, count) of the selected pixels in the given bins."""
        if not bins or not self.total:
            return []
        np = _tables()[0]
        lum, binned = self._selected
        wanted = np.zeros(LUM_BINS, dtype=bool)
        wanted[bins] = True
        found, counts = np.unique(lum[wanted[binned]], return_counts=True)
        return list(zip(found.tolist(), counts.tolist()))

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


def _kth(pairs: list[tuple[float, int]], k: int) -> float:
    """The k-th (0-based) value of sorted (value, count) pairs."""
    seen = 0
    for value, n in pairs:
        seen += n
        if seen > k:
            return value
    raise ValueError("k is past the end")


def _single_colour(img: Image.Image, mask: Image.Image | None) -> float | None:
    """Exact luminance when every selected pixel has the same colour."""
    extrema = ImageStat.Stat(img, mask).extrema
    if all(lo == hi for lo, hi in extrema):
        return luminance(tuple(int(lo) for lo, _ in extrema))
    return None


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
