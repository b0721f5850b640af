"""Brand kit loading: the sample brand loads, and every bad edit gives an exact message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from creative.brand.kit import load_brand, load_channels, load_layout
from creative.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BRAND_DIR = ROOT / "brand"


@pytest.fixture
def brand_dir(tmp_path) -> Path:
    dst = tmp_path / "brand"
    shutil.copytree(BRAND_DIR, dst)
    return dst


def test_sample_brand_and_layouts_load():
    brand = load_brand(BRAND_DIR)
    assert brand.name == "Lumen Skin" and brand.rgb("coral") == (0xE2, 0x72, 0x5B)
    for name in ("4x5", "1x1", "9x16", "191x100"):
        layout = load_layout(BRAND_DIR, name, brand)
        assert layout.headline.min_size <= layout.headline.max_size
    channels = load_channels(ROOT / "templates" / "channels.yaml")
    assert channels["meta_static"].sizes[0].layout == "4x5"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


LAYOUT_CASES = [
    ("max_size: 104", "max_size: big", "headline.max_size: Input should be a valid integer, unable to parse string as an integer"),
    ("max_lines: 3,", "max_lines: 3, shadow: true,", "headline.shadow: Extra inputs are not permitted"),
    ("scrim: gradient", "scrim: blur", "headline.scrim: Input should be 'none', 'gradient' or 'box'"),
    ("min_size: 52", "min_size: 200", "headline: min_size (200) is larger than max_size (104)"),
    ("x: 0.06, y: 0.15, w: 0.80", "x: 0.5, y: 0.15, w: 0.80", "headline: box extends past the canvas (x + w and y + h must be <= 1)"),
    ("color: auto, scrim: gradient", "color: teal, scrim: gradient", "headline.color: 'teal' is not 'auto' or one of brand colors (ink, cream, coral, white)"),
    ("font: regular", "font: italic", "subhead.font: 'italic' is not one of brand fonts (bold, regular)"),
    ("cta:      {", "cta_: {", "cta: Field required"),
]


@pytest.mark.parametrize("old,new,expected", LAYOUT_CASES, ids=[c[2].split(":")[0] + c[1][:12] for c in LAYOUT_CASES])
def test_bad_layout_messages(brand_dir, old, new, expected):
    path = brand_dir / "layouts" / "4x5.yaml"
    _edit(path, old, new)
    with pytest.raises(ConfigError) as err:
        load_layout(brand_dir, "4x5")
    assert err.value.message.startswith(f"{path}: {expected}")


BRAND_CASES = [
    ('ink: "#1E2A3A"', 'ink: "navy"', "colors.ink: 'navy' is not a colour like '#1E2A3A'"),
    ("background: coral", "background: gold", "cta.background: 'gold' is not one of colors (ink, cream, coral, white)"),
    ("bold: NotoSans-Bold.ttf", "bold: Missing.ttf", "fonts.bold: font file {d}/fonts/Missing.ttf not found"),
    ("bold: NotoSans-Bold.ttf", "bold: OFL.txt", "fonts.bold: font 'OFL.txt' must be a .ttf or .otf file"),
    ("logo: logo.png", "logo: logo.jpg", "logo: 'logo.jpg' must be a PNG (or WebP) with transparency"),
    ("logo: logo.png", "logo: nope.png", "logo: file {d}/nope.png not found"),
    ("name: Lumen Skin", "name: [Lumen", "line 5 column 1: invalid YAML: expected ',' or ']', but got '?'"),
]


@pytest.mark.parametrize("old,new,expected", BRAND_CASES, ids=[c[1][:16] for c in BRAND_CASES])
def test_bad_brand_messages(brand_dir, old, new, expected):
    _edit(brand_dir / "brand.yaml", old, new)
    with pytest.raises(ConfigError) as err:
        load_brand(brand_dir)
    assert err.value.message == f"{brand_dir / 'brand.yaml'}: " + expected.format(d=brand_dir)


def test_unreadable_font_and_logo(brand_dir):
    (brand_dir / "fonts" / "NotoSans-Bold.ttf").write_bytes(b"not a font")
    with pytest.raises(ConfigError, match=r"fonts\.bold: font file .*NotoSans-Bold\.ttf cannot be loaded"):
        load_brand(brand_dir)
    shutil.copy(BRAND_DIR / "fonts" / "NotoSans-Bold.ttf", brand_dir / "fonts")
    (brand_dir / "logo.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ConfigError, match=r"logo: .*logo\.png is not a readable image"):
        load_brand(brand_dir)


def test_missing_layout_and_bad_channel(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_layout(BRAND_DIR, "3x2")
    assert err.value.message == f"{BRAND_DIR / 'layouts' / '3x2.yaml'}: layout '3x2' not found"
    bad = tmp_path / "channels.yaml"
    bad.write_text("meta:\n  sizes:\n    - {width: 0, height: 10, layout: 1x1}\n")
    with pytest.raises(ConfigError) as err:
        load_channels(bad)
    assert err.value.message == f"{bad}: meta.sizes.0.width: Input should be greater than 0"
