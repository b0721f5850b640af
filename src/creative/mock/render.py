"""Deterministic, text-free "product ad background" images for the mock ComfyUI.

The mock's sampler does not diffuse anything: it paints a studio-style backdrop (soft vertical
gradient, a glow, bokeh or a busy terrazzo wall, a floor plane, a podium with its shadow and a
bottle on it) from the seed and the positive prompt. Where the subject stands, its size, the
colours and whether the set is dark or busy vary with the seed (scene()). Colour words in the prompt drive the palette; without them the palette comes
from a hash of the prompt. Everything is drawn on a small canvas and upscaled, which keeps a
1024x1280 render far below 150 ms and gives the soft, out-of-focus look for free.
"""

from __future__ import annotations

import colorsys
import hashlib
import random
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageOps

RGB = tuple[int, int, int]

# Long side of the working canvas; the result is upscaled from it.
WORK_LONG_SIDE = 384
SUPERSAMPLE = 4  # plinth edges are drawn this much larger, then scaled down (anti-aliasing)

COLOR_WORDS: dict[str, RGB] = {
    "pink": (242, 172, 192), "blush": (240, 196, 196), "rose": (226, 140, 162), "red": (198, 62, 62),
    "crimson": (170, 30, 50), "coral": (246, 132, 112), "peach": (250, 198, 164), "orange": (240, 142, 62),
    "gold": (214, 172, 82), "golden": (214, 172, 82), "yellow": (246, 216, 102), "lemon": (248, 234, 130),
    "cream": (246, 236, 216), "beige": (226, 206, 176), "ivory": (250, 246, 232), "sand": (222, 202, 166),
    "nude": (226, 190, 166), "brown": (140, 96, 66), "chocolate": (96, 62, 42), "terracotta": (200, 112, 82),
    "green": (92, 160, 112), "emerald": (30, 130, 90), "sage": (162, 186, 152), "olive": (132, 136, 72),
    "mint": (172, 226, 202), "teal": (42, 140, 142), "turquoise": (62, 190, 190), "aqua": (112, 210, 216),
    "blue": (72, 122, 202), "cobalt": (40, 80, 180), "navy": (32, 46, 92), "sky": (152, 196, 236),
    "lavender": (192, 172, 226), "lilac": (202, 172, 222), "purple": (132, 82, 172), "violet": (142, 92, 202),
    "plum": (112, 52, 92), "white": (242, 242, 240), "black": (32, 32, 36), "grey": (152, 152, 158),
    "gray": (152, 152, 158), "silver": (198, 202, 208), "charcoal": (56, 58, 64), "marble": (232, 230, 226),
}


def prompt_colors(text: str) -> list[RGB]:
    """Colour words of `text` in order of first appearance (e.g. 'pink', 'teal', 'gold')."""
    seen: list[RGB] = []
    for word in re.findall(r"[a-z]+", text.lower()):
        rgb = COLOR_WORDS.get(word)
        if rgb is not None and rgb not in seen:
            seen.append(rgb)
    return seen


def _stable_int(*parts: object) -> int:
    # Python's hash() is salted per process; sha256 keeps images identical across runs.
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _hls(rgb: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(*(c / 255 for c in rgb))


def _from_hls(h: float, light: float, s: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(max(light, 0.0), 1.0), min(max(s, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _shade(rgb: RGB, dl: float, ds: float = 0.0, dh: float = 0.0) -> RGB:
    h, light, s = _hls(rgb)
    return _from_hls(h + dh, light + dl, s + ds)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def palette(text: str, seed: int) -> dict[str, RGB]:
    """Named colours for the scene: backdrop top/bottom, floor, podium, accent, light."""
    rng = random.Random(_stable_int("palette", seed, text))
    colors = prompt_colors(text)
    if colors:
        base = colors[0]
        second = colors[1] if len(colors) > 1 else _shade(base, 0.10, -0.05, 0.04)
        accent = colors[2] if len(colors) > 2 else (colors[1] if len(colors) > 1 else _shade(base, 0.18, 0.0, -0.06))
    else:
        hue = (_stable_int("hue", text) % 1000) / 1000
        base = _from_hls(hue, 0.74, 0.42)
        second = _from_hls(hue + 0.06, 0.82, 0.35)
        accent = _from_hls(hue + 0.5, 0.80, 0.45)
    jitter = rng.uniform(-0.025, 0.025)
    bg_top = _shade(base, 0.12 + rng.uniform(-0.03, 0.03), -0.05, jitter)
    bg_bottom = _shade(base, -0.06 + rng.uniform(-0.03, 0.03), 0.0, jitter)
    return {
        "bg_top": bg_top,
        "bg_bottom": bg_bottom,
        # The floor leans towards the wall colour so the set reads as one softly lit room.
        "floor": _mix(_shade(second, -0.02, -0.10), bg_bottom, 0.45),
        "accent": accent,
        "light": _shade(base, 0.30, -0.2),
        # tone on tone (the backdrop's own colour) or the second colour: both happen on real sets
        "podium": _shade(base, rng.uniform(-0.05, 0.08)) if rng.random() < 0.35 else _shade(second, 0.06),
        # the product: the accent, its complement, near white or near black, by seed
        "product": rng.choice([_shade(accent, -0.05), _shade(base, 0.0, 0.1, 0.5), (236, 234, 228), (44, 46, 54)]),
        "cap": rng.choice([(40, 40, 44), (198, 170, 104), (232, 230, 226)]),
    }


def _vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    grad = Image.linear_gradient("L").resize(size, Image.BILINEAR)
    return ImageOps.colorize(grad, black=top, white=bottom)


def _glow(canvas: Image.Image, center: tuple[float, float], radius: float, color: RGB, strength: float) -> None:
    w, h = canvas.size
    mask = Image.new("L", (w, h), 0)
    # radial_gradient reaches 181 at the square's edge midpoints; map that to 0 so no seams show.
    spot = Image.radial_gradient("L").point(lambda v: int(255 * strength * max(0.0, 1 - v / 181) ** 2))
    spot = spot.resize((max(2, int(radius * 2)),) * 2, Image.BILINEAR)
    mask.paste(spot, (int(center[0] - radius), int(center[1] - radius)))
    canvas.paste(Image.new("RGB", (w, h), color), (0, 0), mask)


def _bokeh(canvas: Image.Image, rng: random.Random, pal: dict[str, RGB], horizon: int, blur: float, count: int) -> None:
    w, h = canvas.size
    layer = Image.new("RGB", (w, h), pal["light"])
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(count):
        r = rng.uniform(0.02, 0.09) * w
        x = rng.uniform(-0.05, 1.05) * w
        y = rng.uniform(0.0, 1.0) * horizon
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(35, 110))
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    canvas.paste(layer, (0, 0), mask)


def _cylinder_shading(size: tuple[int, int], dark: RGB, light: RGB, light_side: float) -> Image.Image:
    # A 1-D brightness profile across the podium: brightest where the key light hits it.
    row = bytes(
        max(0, min(255, int(255 * (1.0 - abs(i / 255 - light_side) ** 1.4 * 1.3)))) for i in range(256)
    )
    prof = Image.frombytes("L", (256, 1), row).resize(size, Image.BILINEAR)
    return ImageOps.colorize(prof, black=dark, white=light)


def _podium(canvas: Image.Image, rng: random.Random, pal: dict[str, RGB], cx: float, base_y: float,
            pw: float, ph: float, light_x: float) -> None:
    w, h = canvas.size
    ew = pw
    eh = pw * rng.uniform(0.16, 0.24)
    top_y = base_y - ph
    # Shadow on the floor, pushed away from the light.
    shadow = Image.new("L", (w, h), 0)
    sdx = (cx - light_x) * 0.35
    ImageDraw.Draw(shadow).ellipse(
        (cx - ew * 0.62 + sdx, base_y - eh * 0.55, cx + ew * 0.62 + sdx, base_y + eh * 0.75), fill=120)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1.0, w * 0.02)))
    canvas.paste(Image.new("RGB", (w, h), _shade(pal["floor"], -0.30)), (0, 0), shadow)

    # The plinth has hard edges: draw it SUPERSAMPLE times larger and scale down, so its outline
    # is smooth instead of stair-stepped once the small canvas is upscaled.
    k = SUPERSAMPLE
    layer = Image.new("RGBA", (w * k, h * k), (0, 0, 0, 0))
    light_side = min(max((light_x - (cx - ew / 2)) / max(ew, 1), 0.15), 0.85)
    body = _cylinder_shading((max(2, int(ew * k)), max(2, int((ph + eh) * k))), _shade(pal["podium"], -0.18),
                             _shade(pal["podium"], 0.08), light_side)
    body_mask = Image.new("L", body.size, 0)
    d = ImageDraw.Draw(body_mask)
    d.rectangle((0, int(eh * k / 2), body.size[0], body.size[1] - int(eh * k / 2)), fill=255)
    d.ellipse((0, body.size[1] - int(eh * k), body.size[0] - 1, body.size[1] - 1), fill=255)
    layer.paste(body.convert("RGBA"), (int((cx - ew / 2) * k), int(top_y * k)), body_mask)
    top = ImageDraw.Draw(layer)
    top.ellipse(((cx - ew / 2) * k, top_y * k, (cx + ew / 2) * k, (top_y + eh) * k), fill=_shade(pal["podium"], 0.12))
    top.ellipse(((cx - ew / 2 + ew * 0.04) * k, (top_y + eh * 0.12) * k, (cx + ew / 2 - ew * 0.04) * k,
                 (top_y + eh * 0.92) * k), fill=_shade(pal["podium"], 0.16))
    layer = layer.resize((w, h), Image.BOX)
    canvas.paste(layer.convert("RGB"), (0, 0), layer.getchannel("A"))


@dataclass(frozen=True)
class Scene:
    """What a (seed, prompt) scene holds: where the subject stands, how big it is, how busy the wall is.

    Fractions of the canvas width. Demos and tests use it to find left, centre and right subjects.
    """

    subject_x: float  # centre of the main plinth and its product
    subject_w: float  # width of the main plinth
    busy: bool  # a patterned wall (terrazzo) instead of soft bokeh
    dark: bool  # a low-key set: dark wall, light subject
    second_plinth: bool

    @property
    def side(self) -> str:
        """"left", "centre" or "right": the third of the canvas the subject stands in."""
        return "left" if self.subject_x < 0.4 else "right" if self.subject_x > 0.6 else "centre"


def scene(seed: int, text: str) -> Scene:
    """The scene's composition for (seed, prompt): the same every time."""
    rng = random.Random(_stable_int("layout", seed, text))
    return Scene(
        subject_x=rng.uniform(0.24, 0.76),
        subject_w=rng.uniform(0.28, 0.52),
        busy=rng.random() < 0.2,
        dark=rng.random() < 0.25,
        second_plinth=rng.random() < 0.4,
    )


def _terrazzo(canvas: Image.Image, rng: random.Random, pal: dict[str, RGB], horizon: int) -> None:
    """Sharp scattered chips over the wall: a busy texture no text colour is calm on."""
    w, h = canvas.size
    k = SUPERSAMPLE
    mask = Image.new("L", (w * k, horizon * k), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(rng.randint(90, 140)):
        r = rng.uniform(0.008, 0.03) * w * k
        x, y = rng.uniform(0, w * k), rng.uniform(0, horizon * k)
        draw.ellipse((x - r, y - r * rng.uniform(0.5, 1.0), x + r, y + r), fill=rng.choice((150, 200, 255)))
    mask = mask.resize((w, horizon), Image.BOX)
    chips = Image.new("RGB", (w, horizon), _shade(pal["accent"], -0.12))
    canvas.paste(chips, (0, 0), mask)


def _bottle(canvas: Image.Image, pal: dict[str, RGB], cx: float, base_y: float, width: float, light_x: float) -> None:
    """The product: a rounded bottle with a cap and a highlight on the side facing the light."""
    w, h = canvas.size
    k = SUPERSAMPLE
    bw, bh = width, width * 1.9
    layer = Image.new("RGBA", (w * k, h * k), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    body = ((cx - bw / 2) * k, (base_y - bh) * k, (cx + bw / 2) * k, base_y * k)
    d.rounded_rectangle(body, radius=bw * 0.22 * k, fill=pal["product"])
    neck_w, cap_h = bw * 0.42, bh * 0.26
    d.rounded_rectangle(((cx - neck_w / 2) * k, (base_y - bh - cap_h) * k, (cx + neck_w / 2) * k,
                         (base_y - bh + bw * 0.1) * k), radius=neck_w * 0.2 * k, fill=pal["cap"])
    side = 1 if light_x > cx else -1
    hx = cx + side * bw * 0.22
    d.rounded_rectangle(((hx - bw * 0.06) * k, (base_y - bh * 0.85) * k, (hx + bw * 0.06) * k,
                         (base_y - bh * 0.2) * k), radius=bw * 0.05 * k, fill=_shade(pal["product"], 0.22))
    layer = layer.resize((w, h), Image.BOX)
    canvas.paste(layer.convert("RGB"), (0, 0), layer.getchannel("A"))


def render_background(seed: int, text: str, width: int, height: int) -> Image.Image:
    """Paint a text-free studio backdrop for (seed, prompt) at width x height (RGB).

    The subject (a plinth with a bottle on it) stands left, centre or right at a size and in
    colours that vary with the seed; some walls are busy, some sets are dark (see scene()).
    """
    width, height = max(1, int(width)), max(1, int(height))
    scale = min(1.0, WORK_LONG_SIDE / max(width, height))
    w, h = max(16, round(width * scale)), max(16, round(height * scale))
    rng = random.Random(_stable_int("scene", seed, text))
    layout = scene(seed, text)
    pal = palette(text, seed)
    if layout.dark:
        pal = {**pal, "bg_top": _shade(pal["bg_top"], -0.5), "bg_bottom": _shade(pal["bg_bottom"], -0.45),
               "floor": _shade(pal["floor"], -0.4), "light": _shade(pal["light"], -0.3)}

    canvas = _vertical_gradient((w, h), pal["bg_top"], pal["bg_bottom"])
    horizon = int(h * rng.uniform(0.5, 0.74))
    light_x = w * rng.uniform(0.15, 0.85)
    _glow(canvas, (light_x, h * rng.uniform(0.12, 0.35)), max(w, h) * rng.uniform(0.35, 0.6), pal["light"], 0.75)
    if layout.busy:
        _terrazzo(canvas, rng, pal, horizon)
    else:
        _bokeh(canvas, rng, pal, horizon, blur=max(1.5, w * 0.03), count=rng.randint(8, 14))
        _bokeh(canvas, rng, {**pal, "light": pal["accent"]}, horizon, blur=max(0.8, w * 0.012),
               count=rng.randint(4, 8))

    # Floor plane: its own gradient, joined to the wall by a softened edge.
    floor = _vertical_gradient((w, h), _shade(pal["floor"], 0.06), _shade(pal["floor"], -0.10))
    floor_mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(floor_mask).rectangle((0, horizon, w, h), fill=255)
    canvas.paste(floor, (0, 0), floor_mask.filter(ImageFilter.GaussianBlur(max(1.0, h * 0.01))))

    cx = w * layout.subject_x
    pw = min(w, h * 0.8) * layout.subject_w  # on a wide canvas the set is sized by its height
    base_y = horizon + (h - horizon) * rng.uniform(0.45, 0.7)
    ph = h * rng.uniform(0.08, 0.16)
    if layout.second_plinth:
        # A second, lower plinth beside the main one, on the side with more room, drawn first so it sits behind.
        side = -1 if cx > w / 2 else 1
        _podium(canvas, rng, pal, cx + side * pw * 0.62, base_y - (h - horizon) * 0.08, pw * 0.55, ph * 0.55, light_x)
    _podium(canvas, rng, pal, cx, base_y, pw, ph, light_x)
    _bottle(canvas, pal, cx, base_y - ph + pw * 0.06, pw * 0.34, light_x)

    # Vignette, then soften everything slightly so the upscale reads as a shallow depth of field.
    vignette = Image.radial_gradient("L").resize((w, h), Image.BILINEAR).point(lambda v: int(max(0, v - 150) * 0.5))
    canvas = Image.composite(Image.new("RGB", (w, h), _shade(pal["bg_bottom"], -0.25)), canvas, vignette)
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.6))
    if (w, h) != (width, height):
        canvas = canvas.resize((width, height), Image.BICUBIC)
    return canvas
