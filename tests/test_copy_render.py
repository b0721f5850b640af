"""Drafted copy on rendered ads: Vietnamese and Polish prices, Korean and Japanese line breaking.

Drafts come from small research notes; ads are drawn by render/typography.py and checked on
what was drawn (wrapped lines, boxes) and on the pixels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageChops

from creative.brand.kit import load_brand, load_layout
from creative.copy.drafting import draft_brief
from creative.core.models import AdSize, Channel, Concept, ResearchNotes, SafeZone
from creative.render.typography import render_ad

ROOT = Path(__file__).resolve().parents[1]
CJK_FONT = Path(__file__).parent / "fixtures" / "fonts" / "NotoSansCJK-Bold-subset.otf"
CHANNELS = yaml.safe_load((ROOT / "templates" / "channels.yaml").read_text(encoding="utf-8"))
SIZE = AdSize(width=1080, height=1350, layout="4x5")
BG = (236, 228, 214)


@pytest.fixture(scope="module")
def brand_dir(tmp_path_factory) -> Path:
    """The sample brand with a CJK font added to its fallback fonts."""
    d = tmp_path_factory.mktemp("brand")
    shutil.copytree(ROOT / "brand", d, dirs_exist_ok=True)
    shutil.copy(CJK_FONT, d / "fonts" / CJK_FONT.name)
    data = yaml.safe_load((d / "brand.yaml").read_text(encoding="utf-8"))
    data["fallback_fonts"] = [*data.get("fallback_fonts", []), CJK_FONT.name]
    (d / "brand.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return d


def draw(brand_dir: Path, concept: Concept):
    brand = load_brand(brand_dir)
    layout = load_layout(brand_dir, "4x5", brand)
    ad = render_ad(Image.new("RGB", (1080, 1350), BG), concept, brand, brand_dir, layout, SIZE, SafeZone())
    return ad, {b.box: b for b in ad.boxes}, layout


def drafted(**facts) -> list[Concept]:
    notes = ResearchNotes(url="https://shop.example/p", **facts)
    channel = Channel.model_validate(CHANNELS["meta_static"])
    return draft_brief(notes, brand="Lumen Skin", channel_name="meta_static", channel=channel, offer=None).concepts


def has_ink(ad, bounds) -> bool:
    """The box's pixels differ from the plain background: something was drawn there."""
    crop = ad.image.convert("RGB").crop(bounds)
    diff = ImageChops.difference(crop, Image.new("RGB", crop.size, BG)).convert("L")
    return diff.getbbox() is not None and sum(diff.histogram()[64:]) > 200


def test_vietnamese_price_on_a_rendered_ad(brand_dir):
    offer = drafted(product_name="Kem dưỡng ẩm trà xanh", language="vi", locale="vi_VN", price="185000",
                    currency="VND", features=["Da mềm mịn và sáng khỏe chỉ sau 7 ngày"])[0]
    assert offer.headline == "Chỉ 185.000 ₫"
    ad, boxes, _ = draw(brand_dir, offer)
    assert " ".join(boxes["headline"].drawn.split()) == "Chỉ 185.000 ₫"
    assert has_ink(ad, boxes["headline"].bounds) and has_ink(ad, boxes["cta"].bounds)
    assert boxes["cta"].drawn == "Nhận ưu đãi"


def test_polish_sale_price_on_a_rendered_ad(brand_dir):
    offer = drafted(product_name="Ekspres do kawy", language="pl", locale="pl_PL", price="997.00",
                    regular_price="1148.00", currency="PLN", features=["Szybkie i łatwe czyszczenie"])[0]
    assert offer.headline == "Teraz 997 zł, było 1 148 zł"
    ad, boxes, _ = draw(brand_dir, offer)
    assert " ".join(boxes["headline"].drawn.split()) == offer.headline
    assert has_ink(ad, boxes["headline"].bounds)


JAPANESE = "毎日のスキンケアに軽やかなうるおいを届けるビタミンC美容液です"


def test_japanese_headline_without_spaces_wraps_inside_its_box(brand_dir):
    concept = Concept(name="benefit", headline=JAPANESE, subhead="一日中しっとり保湿、べたつかない軽い使い心地",
                      cta="購入する", scene="s")
    ad, boxes, layout = draw(brand_dir, concept)
    head = boxes["headline"]
    lines = head.drawn.split("\n")
    assert len(lines) >= 2  # one unbreakable "word" before: now broken between characters
    assert "".join(lines) == JAPANESE  # nothing lost, nothing added
    assert not any(line.startswith(("。", "、", "す")) and len(line) == 1 for line in lines)
    left, top, right, bottom = head.bounds
    box_right = round((layout.headline.x + layout.headline.w) * SIZE.width)
    assert left >= round(layout.headline.x * SIZE.width) - 2 and right <= box_right + 2
    assert has_ink(ad, head.bounds)
    # each drawn line has ink on its own band: the wrap is real, not just reported
    band = (bottom - top) / len(lines)
    for i in range(len(lines)):
        assert has_ink(ad, (left, round(top + i * band), right, round(top + (i + 1) * band)))


def test_korean_headline_wraps_at_spaces_not_inside_words(brand_dir):
    headline = "하루 종일 촉촉한 피부를 위한 가벼운 비타민 세럼"
    concept = Concept(name="benefit", headline=headline, subhead="", cta="구매하기", scene="s")
    ad, boxes, layout = draw(brand_dir, concept)
    lines = boxes["headline"].drawn.split("\n")
    assert len(lines) >= 2
    assert " ".join(lines) == headline  # broken only where the spaces were
    words = set(headline.split())
    assert all(set(line.split()) <= words for line in lines)
    assert boxes["headline"].bounds[2] <= round((layout.headline.x + layout.headline.w) * SIZE.width) + 2


def test_drafted_japanese_and_korean_copy_renders(brand_dir):
    for lang, name in (("ja", "ビタミンC美容液"), ("ko", "비타민 세럼")):
        concepts = drafted(product_name=name, language=lang, price="3490" if lang == "ja" else "59000",
                           currency="JPY" if lang == "ja" else "KRW",
                           features=[JAPANESE if lang == "ja" else "하루 종일 촉촉한 피부를 위한 가벼운 비타민 세럼"])
        for concept in concepts:
            ad, boxes, _ = draw(brand_dir, concept)
            assert has_ink(ad, boxes["headline"].bounds)
            assert boxes["cta"].drawn == concept.cta
