"""`creative layout preview`: a layout's boxes, the channel's safe zone and sample copy on one image.

For people editing brand/layouts/*.yaml by hand: the boxes are drawn as labelled outlines, the
area outside the safe zone is shaded, and sample copy is drawn by the real typography engine.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from creative.core.atomic import write_atomic
from creative.brand.kit import (
    Brand,
    Layout,
    TextBox,
    load_brand,
    load_channels,
    load_layout,
)
from creative.core.errors import InputError, LayoutError
from creative.core.images import MAX_IMAGE_PIXELS, check_pixels
from creative.core.models import AdSize, Channel, Concept, SafeZone
from creative.render.typography import (
    BOX_NAMES,
    boxes_outside,
    cover,
    luminance,
    render_ad,
    safe_rect,
)

log = logging.getLogger(__name__)

# Saturated colours no brand palette is likely to use, so the outlines never blend into the ad.
BOX_COLORS = {
    "headline": (236, 0, 140),
    "subhead": (0, 150, 255),
    "cta": (255, 120, 0),
    "logo": (0, 190, 80),
}
SHADE = (200, 20, 20)
SHADE_ALPHA = 110  # of 255: the background stays visible under the shading
CHECKER = ((226, 226, 226), (242, 242, 242))
SAMPLE = Concept(name="preview", headline="Your headline goes here", subhead="A short line that supports it",
                 cta="", scene="layout preview")  # empty CTA: the brand's default label
NO_ZONE = SafeZone(top=0, bottom=0, left=0, right=0)


def preview_target(
    channels: dict[str, Channel], layout_name: str, channel: str | None = None
) -> tuple[AdSize, SafeZone]:
    """The first size using `layout_name` (in `channel`, or in any channel) and that channel's safe zone."""
    if channel is not None and channel not in channels:
        raise InputError(f"unknown channel '{channel}'", hint=f"choose one of: {', '.join(channels)}")
    for name, ch in channels.items():
        if channel is not None and name != channel:
            continue
        for size in ch.sizes:
            if size.layout == layout_name:
                return size, ch.safe_zone
    where = f"channel '{channel}'" if channel else "any channel"
    used = sorted({s.layout for n, ch in channels.items() if channel in (None, n) for s in ch.sizes})
    raise InputError(f"no size in {where} uses layout '{layout_name}' (layouts used: {', '.join(used)})",
                     hint="pass --channel with a channel that uses it, or add the size to templates/channels.yaml")


def checker(width: int, height: int) -> Image.Image:
    """A neutral light checkerboard, the usual stand-in for "no background"."""
    tile = max(8, width // 27)
    small = Image.new("RGB", (-(-width // tile), -(-height // tile)), CHECKER[0])
    small.putdata([CHECKER[(x + y) % 2] for y in range(small.height) for x in range(small.width)])
    return small.resize((small.width * tile, small.height * tile), Image.NEAREST).crop((0, 0, width, height))


def _background(path: Path | None, width: int, height: int) -> Image.Image:
    if path is None:
        return checker(width, height)
    try:
        check_pixels(Path(path), MAX_IMAGE_PIXELS)  # from the header, before decoding
    except ValueError as exc:
        raise InputError(f"{path}: {exc}", hint="pass a PNG or JPEG of a normal size with --background") from None
    try:
        with Image.open(path) as im:
            return cover(im, width, height)
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})", hint="pass a PNG or JPEG with --background") from exc


def _label_font(brand: Brand, brand_dir: Path, px: int) -> ImageFont.FreeTypeFont:
    role = "regular" if "regular" in brand.fonts else next(iter(brand.fonts))
    # from bytes: given a path, Pillow may silently substitute a system font of the same name
    return ImageFont.truetype(io.BytesIO((Path(brand_dir) / "fonts" / brand.fonts[role]).read_bytes()), px)


def box_label(name: str, layout: Layout) -> str:
    """'headline 52–104 px, max 3 lines' (+ ', follows headline'); just the name for the logo."""
    box = getattr(layout, name)
    if not isinstance(box, TextBox):
        return name
    lines = f"{box.max_lines} line{'s' if box.max_lines > 1 else ''}"
    follows = f", follows {box.follows}" if box.follows else ""
    return f"{name} {box.min_size}–{box.max_size} px, max {lines}{follows}"


def _shade_outside(image: Image.Image, safe: tuple[int, int, int, int]) -> Image.Image:
    overlay = Image.new("RGBA", image.size, (*SHADE, SHADE_ALPHA))
    ImageDraw.Draw(overlay).rectangle((safe[0], safe[1], safe[2] - 1, safe[3] - 1), fill=(0, 0, 0, 0))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def render_layout_preview(
    brand_dir: Path,
    layout_name: str,
    *,
    size: AdSize | None = None,
    safe_zone: SafeZone | None = None,
    background: Path | None = None,
    channels_path: Path | None = None,
    channel: str | None = None,
    concept: Concept = SAMPLE,
) -> Image.Image:
    """Draw the layout at `size` (default: the first channel size using it, from channels_path).

    A box outside the safe zone is labelled as such (and logged) rather than raised, so the preview
    shows the problem. Sample copy that cannot fit is logged and left out.
    """
    zone = safe_zone
    if size is None:
        if channels_path is None:
            raise InputError("layout preview needs a size or templates/channels.yaml to pick one from")
        size, channel_zone = preview_target(load_channels(channels_path), layout_name, channel)
        zone = zone or channel_zone
    zone = zone or SafeZone()
    size = size.model_copy(update={"layout": layout_name})
    brand = load_brand(brand_dir)
    layout = load_layout(brand_dir, layout_name, brand)
    W, H = size.width, size.height

    image = _background(background, W, H)
    try:
        # the engine would refuse a layout outside the zone; here we want to see it, so no zone
        image = render_ad(image, concept, brand, brand_dir, layout, size, NO_ZONE, placement=layout.anchor).image
    except LayoutError as exc:
        log.warning("sample copy not drawn: %s", exc.message)

    safe = safe_rect(size, zone)
    image = _shade_outside(image, safe)
    outside = boxes_outside(layout, size, zone)
    for name in outside:
        log.warning("layout %s: %s box is outside the safe zone at %s", layout_name, name, size.label)

    draw = ImageDraw.Draw(image)
    line = max(2, W // 270)
    font = _label_font(brand, brand_dir, max(12, W // 54))
    rects = {n: getattr(layout, n).pixels(W, H) for n in BOX_NAMES}
    for name in BOX_NAMES:
        left, top, right, bottom = rects[name]
        draw.rectangle((left, top, right - 1, bottom - 1), outline=BOX_COLORS[name], width=line)
    # labels last, so no outline strikes through one
    for name in BOX_NAMES:
        color = BOX_COLORS[name]
        text = box_label(name, layout) + (" — OUTSIDE SAFE ZONE" if name in outside else "")
        tw, th = (round(v) for v in draw.textbbox((0, 0), text, font=font, anchor="lt")[2:])
        tag_h = th + 2 * line
        left, top = rects[name][0], rects[name][1]
        # a tag sitting on the box's top edge keeps the sample copy inside the box visible
        top = top - tag_h if top >= tag_h else top
        draw.rectangle((left, top, left + tw + 2 * line, top + tag_h), fill=color)
        ink = (0, 0, 0) if luminance(color) > 0.3 else (255, 255, 255)
        draw.text((left + line, top + line), text, font=font, fill=ink, anchor="lt")
    return image


def default_preview_path(layout_name: str, size: AdSize) -> Path:
    return Path(f"layout-{layout_name}-{size.label}.png")


def save_preview(image: Image.Image, path: Path) -> Path:
    """Write the preview as PNG, atomically."""
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    write_atomic(Path(path), buf.getvalue())
    return Path(path)
