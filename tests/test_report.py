"""Contact sheet and HTML gallery."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from creative.render.files import srgb_icc
from creative.core.models import AdRecord, Brief, Concept, PromptSet, VariantPrompt
from creative.render.report import (
    GUTTER,
    LABEL_H,
    THUMB_W,
    _encode_sheet,
    contact_sheet,
    write_contact_sheet,
    write_gallery,
)

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "brand" / "fonts" / "NotoSans-Regular.ttf"
COLORS = {(1, 1080, 1350): (200, 40, 40), (1, 1080, 1080): (40, 160, 60), (2, 1080, 1350): (40, 60, 200)}


def _ads(run_dir: Path) -> list[AdRecord]:
    (run_dir / "ads").mkdir(parents=True)
    ads = []
    for (v, w, h), rgb in COLORS.items():
        rel = f"ads/R_v{v:02d}_c_{w}x{h}.jpg"
        Image.new("RGB", (w, h), rgb).save(run_dir / rel)
        ads.append(AdRecord(variant=v, concept=f"Concept <{v}>", seed=100 + v, width=w, height=h, path=rel))
    return ads


def test_contact_sheet_grid_size_thumbnails_and_labels(tmp_path):
    ads = _ads(tmp_path)
    path = write_contact_sheet(tmp_path / "contact_sheet.png", tmp_path, ads, FONT)
    with Image.open(path) as sheet:
        sheet = sheet.convert("RGB")
    row1 = round(THUMB_W * 1350 / 1080) + LABEL_H
    assert sheet.size == (GUTTER + 2 * (THUMB_W + GUTTER), GUTTER + 2 * (row1 + GUTTER))
    for (x, y, rgb) in [(GUTTER, GUTTER, COLORS[(1, 1080, 1350)]),
                        (2 * GUTTER + THUMB_W, GUTTER, COLORS[(1, 1080, 1080)]),
                        (GUTTER, 2 * GUTTER + row1, COLORS[(2, 1080, 1350)])]:
        px = sheet.getpixel((x + THUMB_W // 2, y + 100))
        assert all(abs(a - b) <= 3 for a, b in zip(px, rgb))
        # a label is drawn under the thumbnail: dark ink in the label band
        thumb_h = round(THUMB_W * (1080 if x > GUTTER else 1350) / 1080)
        band = sheet.crop((x, y + thumb_h + 4, x + THUMB_W, y + thumb_h + LABEL_H))
        assert band.convert("L").getextrema()[0] < 90


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.hrefs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        if "href" in a:
            self.hrefs.append(a["href"])

    def handle_data(self, data):
        self.text.append(data)


def test_gallery_relative_links_existing_images_and_escaping(tmp_path):
    ads = _ads(tmp_path)
    write_contact_sheet(tmp_path / "contact_sheet.png", tmp_path, ads, FONT)
    brief = Brief(brand="Lumen", channel="meta_static", concepts=[
        Concept(name="Concept <1>", headline="Glow <b>now</b> & more", cta="Shop", scene="s"),
        Concept(name="Concept <2>", headline="Calm", cta="Buy", scene="s"),
    ])
    prompts = PromptSet(variants=[
        VariantPrompt(variant=v, concept=f"Concept <{v}>", positive=f"scene {v}", negative="text", seed=100 + v)
        for v in (1, 2, 3)
    ])
    path = write_gallery(tmp_path / "index.html", contact_sheet=tmp_path / "contact_sheet.png", run_id="R", brief=brief, prompts=prompts, ads=ads,
                         totals={"cost_usd": 1.5, "seconds": 42.0, "ads": 3, "per_variant": {1: {"cost_usd": 0.25}}})
    page = path.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert len(parser.imgs) == 3
    for link in parser.imgs + parser.hrefs:
        assert "://" not in link and not link.startswith("/"), link
        assert (tmp_path / link).is_file(), link
    assert "contact_sheet.png" in parser.hrefs
    assert "<b>now</b>" not in page and "Glow &lt;b&gt;now&lt;/b&gt; &amp; more" in page
    text = "".join(parser.text)
    assert "$1.50" in text and "42.0 s" in text and "cost usd $0.25" in text
    assert "No ads for this variant" in text  # variant 3 has none


def test_contact_sheet_png_is_the_sheet_losslessly_with_srgb_profile(tmp_path):
    ads = _ads(tmp_path)
    path = write_contact_sheet(tmp_path / "contact_sheet.png", tmp_path, ads, FONT)
    with Image.open(path) as png:
        png.load()
        assert png.format == "PNG" and png.mode == "RGB"
        assert png.info["icc_profile"] == srgb_icc()
        assert ImageChops.difference(png, contact_sheet(tmp_path, ads, FONT)).getbbox() is None


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (31, 17), (400, 97)])
def test_encoded_png_round_trips_any_size_and_mode(size):
    noise = Image.merge("RGB", [Image.effect_noise(size, 64), Image.linear_gradient("L").resize(size),
                                Image.effect_noise(size, 16)])
    for image in (noise, noise.convert("RGBA"), noise.convert("L")):
        with Image.open(io.BytesIO(_encode_sheet(image))) as png:
            png.load()
            assert png.size == size and png.mode == "RGB"
            assert ImageChops.difference(png, image.convert("RGB")).getbbox() is None
