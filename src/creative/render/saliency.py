"""Where a background is busy or holds its subject: a saliency map, computed once per background.

Two cues, both in CIE Lab (distances close to what the eye sees) on a copy at most MAP_LONG_SIDE
pixels long, so a map costs a few milliseconds whatever the background's size:

- distinctness: how far each pixel's colour is from its wide surroundings (a Gaussian blur a
  sixth of the picture wide, of the backdrop only). A product or plinth stands out from the set
  around it; a smooth backdrop gradient does not.
- texture: the local spread of lightness in a small window. Patterns, foliage and sharp detail
  fight text even where no single object stands out.

OpenCV does the filtering (Lab conversion, Gaussian blurs, box filters, resizing, connected
components): a few C calls per map on NumPy arrays, in the plain opencv-python-headless wheel.
The contrib package's saliency module was tried and left out: its spectral-residual map marks
a product's corners rather than the product, and its fine-grained map lights up whole floors.

A value of 1 is "certainly subject or busy", 0 is "calm backdrop"; pixels at or above SALIENT
count as salient in the QC shares.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

MAP_LONG_SIDE = 128
SALIENT = 0.5
CALM = 0.25  # values under this are backdrop, whatever their spread
DISTINCT_DELTA_E = 30.0  # colour distance from the surroundings that counts as fully distinct
TEXTURE_STDEV = 8.0  # Lab lightness spread (of 100) in a 7x7 window that counts as fully busy
CROP_SLACK = 0.01  # a crop leaves the centre only to keep more than this share of the salient mass
MAX_SUBJECT_CUT = 0.10  # a crop may shave this share off a subject before QC warns
MIN_SUBJECT_SHARE = 0.02  # salient regions smaller than this share of the picture are not "a subject"

Rect = tuple[int, int, int, int]

# OpenCV builds its colour tables on the first Lab conversion (a tenth of a second or more). Built
# as the module loads, with NumPy and OpenCV themselves: whoever loads it draws a map next, and a
# run loads it while its backgrounds generate (compose.AdComposer), not when the first one arrives.
cv2.cvtColor(np.zeros((1, 1, 3), np.float32), cv2.COLOR_RGB2Lab)
# Ads are drawn in as many threads as there are cores already: OpenCV's own threads on top of
# them would only take turns with them, each image split and joined for nothing.
cv2.setNumThreads(1)


def saliency_values(image: Image.Image) -> np.ndarray:
    """The map of an RGB image: float32 values in 0..1, at most MAP_LONG_SIDE on the long side."""
    w, h = image.size
    scale = min(1.0, MAP_LONG_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # shrink before handing the pixels to NumPy: a box filter in Pillow, then a small copy
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    small = np.asarray(rgb.resize(size, Image.BOX) if size != (w, h) else rgb)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    fine = cv2.GaussianBlur(lab, (0, 0), 1.0)
    wide = _wide_blur(lab)
    first = np.clip(np.linalg.norm(fine - wide, axis=2) / DISTINCT_DELTA_E, 0.0, 1.0)
    # Again, with the surroundings averaged over the backdrop only (weighted by how little each
    # pixel stood out): else a bright subject lights up the wide blur, and its calm
    # surroundings look distinct too (a halo).
    weight = (1.0 - first).astype(np.float32) + 1e-3
    backdrop = _wide_blur(lab * weight[..., None]) / _wide_blur(weight)[..., None]
    distinct = np.linalg.norm(fine - backdrop, axis=2) / DISTINCT_DELTA_E
    light = fine[..., 0]
    mean = cv2.blur(light, (7, 7))
    spread = np.sqrt(np.maximum(cv2.blur(light * light, (7, 7)) - mean * mean, 0.0)) / TEXTURE_STDEV
    return np.clip(np.maximum(distinct, spread), 0.0, 1.0).astype(np.float32)


def _wide_blur(values: np.ndarray) -> np.ndarray:
    """A Gaussian blur a sixth of the picture wide, done at a quarter of the size (it is smooth:
    nothing is lost) and scaled back: a sixteenth of the work."""
    h, w = values.shape[:2]
    small = cv2.resize(values, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(w, h) / 24, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class SaliencyMap:
    """A background's saliency map, and the crops and ad-sized views taken from it."""

    def __init__(self, values: np.ndarray, source_size: tuple[int, int]):
        self.values = values
        self.source_size = source_size  # the background's width, height

    @classmethod
    def of(cls, image: Image.Image) -> SaliencyMap:
        return cls(saliency_values(image), image.size)

    def _resampled(self, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(self.values, size, interpolation=cv2.INTER_LINEAR)

    def crop_offset(self, scaled: tuple[int, int], out: tuple[int, int]) -> tuple[int, int]:
        """Top-left of the out-sized window in the background scaled to `scaled` that keeps the most
        salient mass; the centred window unless moving keeps more than CROP_SLACK of it more."""
        sw, sh = scaled
        ow, oh = out
        left, top = (sw - ow) // 2, (sh - oh) // 2
        if (sw, sh) == (ow, oh):
            return left, top
        # the map at the scaled background's proportions: one cell per `step` pixels
        step = max(sw, sh) / MAP_LONG_SIDE
        grid = self._resampled((max(1, round(sw / step)), max(1, round(sh / step))))
        # only what stands out counts: a calm gradient's faint values must not pull the crop
        grid = np.clip((grid - CALM) / (SALIENT - CALM), 0.0, 1.0)
        profile = grid.sum(axis=0) if sw > ow else grid.sum(axis=1)
        total = float(profile.sum())
        span, window = (sw, ow) if sw > ow else (sh, oh)
        cells = len(profile)
        width = max(1, min(cells, round(window * cells / span)))
        sums = np.convolve(profile, np.ones(width, dtype=np.float32), mode="valid")  # every window position
        centre = (cells - width) / 2
        best = float(sums.max())
        if total <= 0 or best - float(sums[int(round(centre))]) <= CROP_SLACK * total:
            return left, top
        # of the positions within the slack of the best, the one nearest the centre
        near = [i for i, v in enumerate(sums) if best - float(v) <= CROP_SLACK * total / 4]
        pick = min(near, key=lambda i: (abs(i - centre), i))
        offset = min(span - window, max(0, round(pick * span / cells)))
        return (offset, top) if sw > ow else (left, offset)

    def subject_cut(self, scaled: tuple[int, int], offset: tuple[int, int], out: tuple[int, int]) -> float:
        """Largest share of a salient region (a subject) that the crop window cuts away, 0 if none is cut.

        Regions wholly inside or wholly outside the window are not cut; tiny ones are ignored.
        """
        sw, sh = scaled
        h, w = self.values.shape
        mask = (self.values >= SALIENT).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        x0, y0 = offset[0] * w / sw, offset[1] * h / sh
        x1, y1 = (offset[0] + out[0]) * w / sw, (offset[1] + out[1]) * h / sh
        inside = np.zeros_like(mask)
        inside[math.floor(y0 + 0.5):math.ceil(y1 - 0.5), math.floor(x0 + 0.5):math.ceil(x1 - 0.5)] = 1
        worst = 0.0
        for label in range(1, count):
            area = int(stats[label, cv2.CC_STAT_AREA])
            if area < MIN_SUBJECT_SHARE * w * h:
                continue
            kept = int(inside[labels == label].sum())
            if 0 < kept < area:
                worst = max(worst, 1 - kept / area)
        return round(worst, 3)

    def view(self, scaled: tuple[int, int], offset: tuple[int, int], out: tuple[int, int]) -> AdSaliency:
        """The map over one ad: the crop window of the background scaled to `scaled`, in ad pixels."""
        factor = MAP_LONG_SIDE / max(out)
        grid = self._resampled((max(1, round(scaled[0] * factor)), max(1, round(scaled[1] * factor))))
        x0, y0 = round(offset[0] * factor), round(offset[1] * factor)
        gw, gh = max(1, round(out[0] * factor)), max(1, round(out[1] * factor))
        return AdSaliency(np.ascontiguousarray(grid[y0:y0 + gh, x0:x0 + gw]), out)


@dataclass
class AdSaliency:
    """Saliency over an ad canvas (values on a coarse grid), measured under boxes in ad pixels."""

    values: np.ndarray
    size: tuple[int, int]  # the ad's width, height

    def _cells(self, rect: Rect) -> tuple[int, int, int, int]:
        h, w = self.values.shape
        fx, fy = w / self.size[0], h / self.size[1]
        x0, y0 = min(w - 1, max(0, math.floor(rect[0] * fx))), min(h - 1, max(0, math.floor(rect[1] * fy)))
        x1, y1 = max(x0 + 1, min(w, math.ceil(rect[2] * fx))), max(y0 + 1, min(h, math.ceil(rect[3] * fy)))
        return x0, y0, x1, y1

    def _union(self, rects: list[Rect]) -> np.ndarray:
        covered = np.zeros(self.values.shape, dtype=bool)
        for rect in rects:
            x0, y0, x1, y1 = self._cells(rect)
            covered[y0:y1, x0:x1] = True
        return covered

    def mean_under(self, rect: Rect) -> float:
        x0, y0, x1, y1 = self._cells(rect)
        return float(self.values[y0:y1, x0:x1].mean())

    def cover_cost(self, rects: list[Rect]) -> float:
        """How much of the subject the rects cover: 0 when all sit on calm backdrop, 1 on the subject.

        The mean of the rects' mean saliency and the worst rect's: every element counts whatever
        its size (a small button on the product is as bad as a headline on it).
        """
        if not rects:
            return 0.0
        means = [self.mean_under(r) for r in rects]
        return round((sum(means) / len(means) + max(means)) / 2, 4)

    def salient_share(self, rects: list[Rect]) -> float:
        """Share of the union of rects that lies on salient pixels (>= SALIENT)."""
        covered = self._union(rects)
        return round(float((self.values[covered] >= SALIENT).mean()), 4) if covered.any() else 0.0


# One map per background image, however many sizes and threads ask for it. Keyed by id()
# (Pillow images are unhashable); an entry is dropped when its image is collected.
_MAPS: dict[int, SaliencyMap] = {}
_MAPS_LOCK = threading.Lock()


def saliency_of(background: Image.Image) -> SaliencyMap:
    """The background's map, computed on first use and kept while the image lives."""
    key = id(background)
    with _MAPS_LOCK:
        found = _MAPS.get(key)
    if found is not None:
        return found
    computed = SaliencyMap.of(background)  # outside the lock: other backgrounds' maps go on in parallel
    with _MAPS_LOCK:
        if key not in _MAPS:
            _MAPS[key] = computed
            weakref.finalize(background, _MAPS.pop, key, None)
        return _MAPS[key]
