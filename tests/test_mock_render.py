"""Backgrounds painted by the mock: deterministic, sized, not flat, seed- and colour-sensitive, varied scenes.

Its speed at ad size is a benchmark (`make bench`, mock.render_ms), not a test.
"""

from __future__ import annotations

import asyncio
import colorsys
import io

import httpx
from PIL import Image, ImageChops, ImageStat

from creative.mock.render import palette, prompt_colors, render_background

from test_mock_server import run_one, txt2img_graph

PROMPT = "serum bottle on a plinth, soft studio light"



def image_stddev(img: Image.Image) -> float:
    """Mean per-channel standard deviation of pixel values (0 for a flat image)."""
    return sum(ImageStat.Stat(img.convert("RGB")).stddev) / 3


def image_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-pixel difference between two same-size images (0..255)."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3

def mean_rgb(img: Image.Image) -> tuple[float, float, float]:
    return tuple(ImageStat.Stat(img.convert("RGB")).mean)


def test_same_inputs_same_pixels_and_requested_size():
    a = render_background(11, PROMPT, 300, 200)
    b = render_background(11, PROMPT, 300, 200)
    assert a.size == (300, 200) and a.mode == "RGB"
    assert a.tobytes() == b.tobytes()


def test_not_flat_and_seed_changes_the_picture():
    a = render_background(1, PROMPT, 256, 320)
    b = render_background(2, PROMPT, 256, 320)
    assert image_stddev(a) > 8
    assert image_difference(a, b) > 4


def test_colour_words_drive_the_palette():
    assert prompt_colors("a Teal wall with GOLD accents and teal floor") == [(42, 140, 142), (214, 172, 82)]
    pink = mean_rgb(render_background(3, "pink backdrop", 128, 160))
    teal = mean_rgb(render_background(3, "teal backdrop", 128, 160))
    assert pink[0] > pink[2] and teal[2] > teal[0]
    hue = colorsys.rgb_to_hls(*(c / 255 for c in palette("teal backdrop", 3)["bg_top"]))[0]
    assert 0.4 < hue < 0.6


def test_prompt_without_colours_still_varies_by_prompt():
    a = render_background(5, "a quiet beach at dawn", 128, 160)
    b = render_background(5, "a product shot in a studio", 128, 160)
    assert image_difference(a, b) > 4


def _served_png(server, seed: int) -> bytes:
    pid, frames = asyncio.run(run_one(server, txt2img_graph(seed=seed, size=(192, 240))))
    image = [f for f in frames if f["type"] == "executed"][0]["data"]["output"]["images"][0]
    return httpx.get(server.url + "/view", params=image).content


def test_served_images_are_deterministic_across_servers_and_differ_by_seed(mock_comfy):
    one, two = mock_comfy(), mock_comfy()
    a1, a2 = _served_png(one, 21), _served_png(two, 21)
    assert a1 == a2
    b = _served_png(one, 22)
    with Image.open(io.BytesIO(a1)) as ia, Image.open(io.BytesIO(b)) as ib:
        assert ia.size == (192, 240)
        assert image_difference(ia, ib) > 4


# --- varied scenes: subject position, size, colours, busy and dark sets ----------------------

import numpy as np  # noqa: E402

from creative.mock.render import scene  # noqa: E402
from creative.render.saliency import SALIENT, SaliencyMap  # noqa: E402

SEEDS = range(40)


def _subject_centre_x(img: Image.Image) -> float:
    """Where the picture's salient mass sits across, as a share of the width (the map, not the scene's word)."""
    values = SaliencyMap.of(img).values
    mask = values >= SALIENT
    # the lower 45%: the wall's glow and bokeh above the set stay out of it
    mask[: round(mask.shape[0] * 0.55)] = False
    cols = np.nonzero(mask)[1]
    return float(cols.mean() / mask.shape[1])


def test_scenes_put_the_subject_left_centre_and_right_and_the_pixels_agree():
    scenes = {s: scene(s, PROMPT) for s in SEEDS}
    sides = {sc.side for sc in scenes.values()}
    assert sides == {"left", "centre", "right"}
    for side in ("left", "right"):
        seed = next(s for s, sc in scenes.items() if sc.side == side and not sc.busy and not sc.second_plinth)
        x = _subject_centre_x(render_background(seed, PROMPT, 256, 320))
        assert abs(x - scenes[seed].subject_x) < 0.08, (side, seed, x)


def test_subject_size_and_colours_vary_with_the_seed():
    widths = [scene(s, PROMPT).subject_w for s in SEEDS]
    assert max(widths) - min(widths) > 0.15
    products = {palette(PROMPT, s)["product"] for s in SEEDS}
    podiums = {palette(PROMPT, s)["podium"] for s in SEEDS}
    assert len(products) >= 4 and len(podiums) >= 10


def test_some_sets_are_busy_and_some_dark_and_it_shows():
    scenes = {s: scene(s, PROMPT) for s in SEEDS}
    busy = next(s for s, sc in scenes.items() if sc.busy and not sc.dark)
    calm = next(s for s, sc in scenes.items() if not sc.busy and not sc.dark)
    dark = next(s for s, sc in scenes.items() if sc.dark and not sc.busy)

    def wall_salient(seed: int) -> float:
        values = SaliencyMap.of(render_background(seed, PROMPT, 256, 320)).values
        return float((values[: values.shape[0] // 3] >= SALIENT).mean())  # the top third: wall only

    assert wall_salient(busy) > 0.08 > 0.04 > wall_salient(calm)
    light = sum(mean_rgb(render_background(calm, PROMPT, 128, 160))) / 3
    assert sum(mean_rgb(render_background(dark, PROMPT, 128, 160))) / 3 < light - 60
