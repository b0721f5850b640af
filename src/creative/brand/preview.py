"""brand_preview.png: palette, type, logo on light and dark, and one sample ad, to check before a first run."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from creative.brand.kit import Brand, load_layout
from creative.core.atomic import write_atomic
from creative.core.errors import LayoutError
from creative.core.models import AdSize, Concept, SafeZone
from creative.render.typography import contrast_ratio, luminance, render_ad

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 1520
MARGIN = 40
AD = AdSize(width=1080, height=1350, layout="4x5")
AD_SHOWN = (480, 600)
GENERIC = Concept(name="preview", headline="Your headline goes here", subhead="A short line that supports it",
                  cta="", scene="brand preview")


def _font(brand_dir: Path, brand: Brand, role: str, px: int) -> ImageFont.FreeTypeFont:
    name = brand.fonts.get(role) or next(iter(brand.fonts.values()))
    # from bytes: given a path, Pillow may substitute a system font of the same name
    return ImageFont.truetype(io.BytesIO((brand_dir / "fonts" / name).read_bytes()), px)


def _ink_on(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (0, 0, 0) if luminance(rgb) > 0.35 else (255, 255, 255)


def _scene(brand: Brand, width: int, height: int) -> Image.Image:
    """A calm stand-in background: paper at the top fading into a tint of the accent."""
    top = brand.rgb("paper")
    bottom = tuple(round(0.55 * a + 0.45 * p) for a, p in zip(brand.rgb(brand.cta.background), top))
    column = Image.new("RGB", (1, 256))
    column.putdata([tuple(round(t + (b - t) * i / 255) for t, b in zip(top, bottom)) for i in range(256)])
    return column.resize((width, height), Image.BILINEAR)


def sample_concept(headline: str | None, description: str | None) -> Concept:
    """The site's own headline and first sentence when short enough for the 4:5 layout."""
    sub = (description or "").split(". ")[0].strip()
    return Concept(
        name="preview",
        headline=headline if headline and len(headline) <= 40 else GENERIC.headline,
        subhead=sub if sub and len(sub) <= 70 else GENERIC.subhead,
        cta="",
        scene="brand preview",
    )


def _sample_ad(brand: Brand, brand_dir: Path, concept: Concept) -> Image.Image:
    layout = load_layout(brand_dir, AD.layout, brand)
    scene = _scene(brand, AD.width, AD.height)
    try:
        ad = render_ad(scene, concept, brand, brand_dir, layout, AD, SafeZone()).image
    except LayoutError as exc:
        log.info("site copy does not fit the sample ad (%s); generic copy drawn", exc.message)
        ad = render_ad(scene, GENERIC, brand, brand_dir, layout, AD, SafeZone()).image
    return ad.resize(AD_SHOWN, Image.LANCZOS)


def _logo_panel(logo: Image.Image, colour: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    panel = Image.new("RGB", size, colour)
    fitted = logo.copy()
    fitted.thumbnail((size[0] - 80, size[1] - 80), Image.LANCZOS)
    panel.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2), fitted)
    return panel


def render_preview(brand_dir: Path, brand: Brand, *, source_url: str, concept: Concept) -> Image.Image:
    """Draw the preview sheet for the brand in `brand_dir`."""
    paper, ink = brand.rgb("paper"), brand.rgb("ink")
    sheet = Image.new("RGB", (WIDTH, HEIGHT), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    bold, regular = (lambda px: _font(brand_dir, brand, "bold", px)), (lambda px: _font(brand_dir, brand, "regular", px))
    grey = (90, 90, 90)
    draw.text((MARGIN, 34), brand.name, font=bold(56), fill=(20, 20, 20))
    draw.text((MARGIN, 104), f"brand kit from {source_url}", font=regular(22), fill=grey)

    y = 160
    names = list(brand.colors)
    sw = (WIDTH - 2 * MARGIN - 20 * (len(names) - 1)) // len(names)
    for i, name in enumerate(names):
        x = MARGIN + i * (sw + 20)
        rgb = brand.rgb(name)
        draw.rectangle((x, y, x + sw, y + 120), fill=rgb, outline=(200, 200, 200))
        draw.text((x + 14, y + 84), brand.colors[name], font=regular(22), fill=_ink_on(rgb))
        draw.text((x, y + 130), name, font=bold(24), fill=(20, 20, 20))
    cta = brand.cta
    ratio = contrast_ratio(luminance(brand.rgb(cta.background)), luminance(brand.rgb(cta.text_color)))
    draw.text((MARGIN, y + 166), f"button: {cta.text_color} on {cta.background}, {ratio:.1f}:1", font=regular(20),
              fill=grey)

    y = 380
    draw.text((MARGIN, y), "Aa Bold — The quick brown fox", font=bold(48), fill=(20, 20, 20))
    draw.text((MARGIN, y + 64), "Aa Regular — jumps over the lazy dog 0123456789", font=regular(34), fill=(20, 20, 20))
    draw.text((MARGIN, y + 112), f"bold: {brand.fonts.get('bold', '')} · regular: {brand.fonts.get('regular', '')}",
              font=regular(20), fill=grey)

    y = 530
    with Image.open(brand_dir / brand.logo) as im:
        logo = im.convert("RGBA")
    half = (WIDTH - 2 * MARGIN - 20) // 2
    sheet.paste(_logo_panel(logo, paper, (half, 260)), (MARGIN, y))
    sheet.paste(_logo_panel(logo, ink, (half, 260)), (MARGIN + half + 20, y))
    draw.text((MARGIN, y + 266), "logo on paper", font=regular(20), fill=grey)
    draw.text((MARGIN + half + 20, y + 266), "logo on ink", font=regular(20), fill=grey)

    y = 860
    sheet.paste(_sample_ad(brand, brand_dir, concept), (MARGIN, y))
    tx = MARGIN + AD_SHOWN[0] + 40
    draw.text((tx, y), "Sample ad", font=bold(36), fill=(20, 20, 20))
    notes = ["4:5 layout (layouts/4x5.yaml) on a", "plain stand-in background.", "",
             "Edit brand.yaml, logo.png or", "fonts/ as you like: the next", "run uses them."]
    for i, line in enumerate(notes):
        draw.text((tx, y + 60 + 34 * i), line, font=regular(24), fill=grey)
    return sheet


def write_preview(image: Image.Image, path: Path) -> Path:
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    write_atomic(path, buf.getvalue())
    return path
