"""`creative layout preview`: outlines, safe-zone shading and sample copy, checked by pixels."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from creative.brand.kit import load_brand, load_channels, load_layout
from creative.core.errors import InputError
from creative.render.layout_preview import (
    BOX_COLORS,
    CHECKER,
    SHADE,
    SHADE_ALPHA,
    box_label,
    preview_target,
    render_layout_preview,
    save_preview,
)
from creative.core.models import AdSize, SafeZone

ROOT = Path(__file__).resolve().parents[1]
BRAND_DIR = ROOT / "brand"
CHANNELS_PATH = ROOT / "templates" / "channels.yaml"
GREY = (200, 200, 200)
SHADED = tuple(round(g + (s - g) * SHADE_ALPHA / 255) for g, s in zip(GREY, SHADE))


def close(a, b, tol=1):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.fixture(scope="module")
def grey_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bg") / "grey.png"
    Image.new("RGB", (400, 500), GREY).save(path)
    return path


@pytest.fixture(scope="module")
def preview_4x5(grey_file) -> Image.Image:
    return render_layout_preview(BRAND_DIR, "4x5", size=None, safe_zone=None, background=grey_file,
                                 channels_path=CHANNELS_PATH)


def test_size_and_zone_come_from_the_first_channel_using_the_layout():
    channels = load_channels(CHANNELS_PATH)
    assert preview_target(channels, "4x5") == (channels["meta_static"].sizes[0], channels["meta_static"].safe_zone)
    size, zone = preview_target(channels, "9x16", "meta_reels")
    assert size.label == "1080x1920" and zone.bottom == 0.35
    with pytest.raises(InputError, match=r"no size in channel 'meta_story' uses layout '4x5' \(layouts used: 9x16\)"):
        preview_target(channels, "4x5", "meta_story")
    with pytest.raises(InputError, match="unknown channel 'fax'"):
        preview_target(channels, "4x5", "fax")


def test_box_outlines_in_their_colours(preview_4x5):
    layout = load_layout(BRAND_DIR, "4x5")
    assert preview_4x5.size == (1080, 1350)
    for name, color in BOX_COLORS.items():
        left, top, right, bottom = getattr(layout, name).pixels(1080, 1350)
        mid_y, low_y = (top + bottom) // 2, top + 3 * (bottom - top) // 4
        for x, y in ((right - 2, mid_y), (left + 1, low_y)):  # away from the label tags
            assert preview_4x5.getpixel((x, y)) == color, (name, x, y)
    assert len(set(BOX_COLORS.values())) == 4


def test_labels_give_name_size_range_and_lines():
    layout = load_layout(BRAND_DIR, "4x5")
    assert box_label("headline", layout) == "headline 52–104 px, max 3 lines"
    assert box_label("subhead", layout) == "subhead 28–44 px, max 2 lines, follows headline"
    assert box_label("cta", layout) == "cta 28–42 px, max 1 line, follows subhead"
    assert box_label("logo", layout) == "logo"


def test_outside_safe_zone_is_shaded_and_inside_is_not(preview_4x5):
    # meta_static: 5% margins -> the zone is x 54..1025, y 68..1281
    y = 800  # a row with no box on it
    assert close(preview_4x5.getpixel((3, 3)), SHADED)
    assert close(preview_4x5.getpixel((53, y)), SHADED) and close(preview_4x5.getpixel((1026, y)), SHADED)
    assert close(preview_4x5.getpixel((540, 1300)), SHADED)
    assert preview_4x5.getpixel((55, y)) == GREY and preview_4x5.getpixel((1000, y)) == GREY


def test_sample_copy_drawn_by_the_engine(preview_4x5):
    brand = load_brand(BRAND_DIR)
    ink, coral = brand.rgb("ink"), brand.rgb("coral")
    head = load_layout(BRAND_DIR, "4x5").headline.pixels(1080, 1350)
    colors = {c: n for n, c in preview_4x5.crop(head).getcolors(1 << 20)}
    assert colors.get(ink, 0) > 5000  # solid glyph pixels of the headline
    layout = load_layout(BRAND_DIR, "4x5")
    cta, subhead = layout.cta.pixels(1080, 1350), layout.subhead.pixels(1080, 1350)
    # the button follows the subhead: it sits between the subhead box's top and its own box's bottom
    band = (cta[0], subhead[1], cta[2], cta[3])
    assert {c: n for n, c in preview_4x5.crop(band).getcolors(1 << 20)}.get(coral, 0) > 5000  # the button


def test_neutral_checker_without_background_and_png_output(tmp_path):
    image = render_layout_preview(BRAND_DIR, "191x100", size=AdSize(width=600, height=314, layout="x"),
                                  safe_zone=SafeZone(), background=None)
    tile = 600 // 27
    row = 292  # below the CTA box (y 0.73-0.91), inside the zone (bottom 5%)
    samples = {image.getpixel((x, row)) for x in range(40, 560, tile)}
    assert samples == set(CHECKER)
    out = save_preview(image, tmp_path / "p.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (600, 314)
        assert im.convert("RGB").tobytes() == image.tobytes()


def test_box_outside_the_zone_is_shown_not_raised(grey_file, caplog):
    caplog.set_level(logging.WARNING)
    image = render_layout_preview(BRAND_DIR, "9x16", size=AdSize(width=540, height=960, layout="9x16"),
                                  safe_zone=SafeZone(top=0.2), background=grey_file)
    assert image.size == (540, 960)
    assert "9x16: logo box is outside the safe zone at 540x960" in caplog.text
    logo = load_layout(BRAND_DIR, "9x16").logo.pixels(540, 960)
    assert image.getpixel((logo[2] - 1, (logo[1] + logo[3]) // 2)) == BOX_COLORS["logo"]


def test_unreadable_background_names_the_file(tmp_path):
    bad = tmp_path / "bg.png"
    bad.write_text("not an image")
    with pytest.raises(InputError, match=f"{bad}: not a readable image"):
        render_layout_preview(BRAND_DIR, "4x5", size=AdSize(width=400, height=500, layout="4x5"), background=bad)
