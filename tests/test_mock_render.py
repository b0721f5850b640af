"""Backgrounds painted by the mock: deterministic, sized, not flat, seed- and colour-sensitive.

Its speed at ad size is a benchmark (`make bench`, mock.render_ms), not a test.
"""

from __future__ import annotations

import asyncio
import colorsys
import io

import httpx
from PIL import Image, ImageStat

from creative.mock.render import image_difference, image_stddev, palette, prompt_colors, render_background

from test_mock_server import run_one, txt2img_graph

PROMPT = "serum bottle on a plinth, soft studio light"


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
