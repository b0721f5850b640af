"""Saliency maps on drawn pictures: where the subject is, crops that keep it, what a crop cuts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from creative.render.saliency import (
    MAP_LONG_SIDE,
    MAX_SUBJECT_CUT,
    SALIENT,
    SaliencyMap,
    saliency_of,
)


def backdrop(size=(800, 1000), top=(238, 214, 200), bottom=(214, 160, 140)) -> Image.Image:
    """A smooth vertical gradient: a calm studio wall."""
    grad = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", [grad.point(lambda v, a=a, b=b: round(a + (b - a) * v / 255)) for a, b in zip(top, bottom)])


def with_subject(cx: float, cy: float, r: float = 0.12, size=(800, 1000), fill=(30, 42, 58)) -> Image.Image:
    """The backdrop with a dark disc (the subject) centred at (cx, cy), fractions of the canvas."""
    im = backdrop(size)
    w, h = size
    ImageDraw.Draw(im).ellipse((cx * w - r * w, cy * h - r * w, cx * w + r * w, cy * h + r * w), fill=fill)
    return im


def chips(size=(800, 1000)) -> Image.Image:
    """A wall covered in light and dark chips (terrazzo): busy at any scale an ad is seen at."""
    im = backdrop(size)
    d = ImageDraw.Draw(im)
    for i, y in enumerate(range(0, size[1], 40)):
        for x in range(-40 * (i % 2), size[0], 80):
            d.ellipse((x, y, x + 28, y + 22), fill=(40, 40, 44) if (x // 80 + i) % 2 else (250, 250, 250))
    return im


def salient_fraction(m: SaliencyMap) -> float:
    return float((m.values >= SALIENT).mean())


def test_map_is_small_bounded_and_the_same_every_time():
    im = with_subject(0.3, 0.6)
    a, b = SaliencyMap.of(im), SaliencyMap.of(im)
    assert max(a.values.shape) == MAP_LONG_SIDE and a.values.shape == (128, 102)
    assert a.values.dtype == np.float32 and a.values.min() >= 0 and a.values.max() <= 1
    assert a.values.tobytes() == b.values.tobytes()


def test_a_calm_gradient_has_no_subject():
    m = SaliencyMap.of(backdrop())
    assert salient_fraction(m) == 0
    assert m.crop_offset((800, 1000), (800, 800)) == (0, 100)  # centred: nothing to follow


def test_the_subject_is_salient_and_the_wall_around_it_is_not():
    m = SaliencyMap.of(with_subject(0.25, 0.7))
    h, w = m.values.shape
    assert m.values[round(0.7 * h), round(0.25 * w)] >= SALIENT  # the disc's centre, not only its edge
    assert m.values[round(0.2 * h), round(0.75 * w)] < 0.2  # the far corner of the wall
    assert m.values[round(0.7 * h), round(0.75 * w)] < 0.2  # the same height on the other side: no halo


def test_busy_texture_is_salient_everywhere():
    assert salient_fraction(SaliencyMap.of(chips())) > 0.8


def test_vertical_crop_follows_a_low_subject():
    """A 4:5 picture cropped to 1:1: the crop goes down to keep a subject standing low."""
    m = SaliencyMap.of(with_subject(0.5, 0.84, r=0.12))
    left, top = m.crop_offset((800, 1000), (800, 800))
    assert left == 0 and top > 150  # far below the centred 100: the whole disc (744-936) is inside
    assert m.subject_cut((800, 1000), (0, 100), (800, 800)) > MAX_SUBJECT_CUT  # the centred crop cuts it
    assert m.subject_cut((800, 1000), (left, top), (800, 800)) == 0


def test_horizontal_crop_follows_a_subject_on_the_right():
    m = SaliencyMap.of(with_subject(0.85, 0.5, r=0.1, size=(1000, 800)))
    left, top = m.crop_offset((1000, 800), (800, 800))
    assert top == 0 and left > 150  # far right of centre (100), with the whole disc (750-950) inside
    assert m.subject_cut((1000, 800), (left, top), (800, 800)) == 0 < m.subject_cut((1000, 800), (100, 0), (800, 800))


def test_cut_ignores_regions_wholly_inside_or_outside_and_tiny_ones():
    im = with_subject(0.5, 0.5, r=0.1)
    ImageDraw.Draw(im).ellipse((10, 10, 16, 16), fill=(0, 0, 0))  # a speck at the edge the crop removes
    m = SaliencyMap.of(im)
    assert m.subject_cut((800, 1000), (0, 100), (800, 800)) == 0


def test_ad_view_measures_boxes_in_ad_pixels():
    m = SaliencyMap.of(with_subject(0.25, 0.7, r=0.1))
    view = m.view((800, 1000), (0, 0), (800, 1000))
    on = (150, 650, 250, 750)  # a box on the disc
    off = (500, 100, 600, 200)  # a box on the wall
    assert view.salient_share([on]) == 1.0 and view.salient_share([off]) == 0.0
    assert view.salient_share([on, off]) == pytest.approx(0.5, abs=0.05)  # equal areas: half on the subject
    assert view.cover_cost([on]) > 0.8 > 0.1 > view.cover_cost([off])
    # a small box on the subject weighs as much as a large one on the wall
    assert view.cover_cost([on, (0, 0, 800, 400)]) > 0.4


def test_ad_view_follows_the_crop():
    m = SaliencyMap.of(with_subject(0.5, 0.84, r=0.1))
    low = m.view((800, 1000), (0, 200), (800, 800))
    centred = m.view((800, 1000), (0, 100), (800, 800))
    disc = (360, 590, 440, 650)  # in the disc (y 760-920 in the picture, 560-720 in the low crop)
    assert low.salient_share([disc]) == 1.0
    # the centred crop puts the disc at 660-820: the box there is mostly wall
    assert centred.salient_share([disc]) < 0.5


def test_one_map_per_background_image():
    im = with_subject(0.5, 0.5)
    assert saliency_of(im) is saliency_of(im)
    assert saliency_of(im.copy()) is not saliency_of(im)
