"""compose_run end to end on real backgrounds and the sample brand."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from creative.brand import load_channels
from creative.compose import compose_run, text_share
from creative.errors import LayoutError
from creative.models import BoxCheck, Brief, Concept, PromptSet, VariantPrompt
from creative.typography import RenderedAd

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "brand"
CHANNELS = load_channels(ROOT / "templates" / "channels.yaml")


def _brief(headline2: str = "Calm skin, every morning") -> Brief:
    return Brief(
        brand="Lumen Skin",
        channel="meta_static",
        concepts=[
            Concept(name="Dewy Morning", headline="Wake up to skin that glows", subhead="Vitamin C serum",
                    cta="Shop now", scene="s"),
            Concept(name="Sữa rửa mặt", headline=headline2, subhead="Sữa rửa mặt dịu nhẹ", cta="Mua ngay",
                    scene="s"),
        ],
    )


def _prompts() -> PromptSet:
    return PromptSet(variants=[
        VariantPrompt(variant=1, concept="Dewy Morning", positive="p", negative="n", seed=11),
        VariantPrompt(variant=2, concept="Sữa rửa mặt", positive="p", negative="n", seed=22),
        VariantPrompt(variant=3, concept="Dewy Morning", positive="p", negative="n", seed=33),
    ])


def _backgrounds(run_dir: Path, variants: list[int]) -> None:
    (run_dir / "backgrounds").mkdir(parents=True)
    for v in variants:
        im = Image.new("RGB", (512, 512), (230 - 60 * v, 200, 190))
        ImageDraw.Draw(im).ellipse((100, 200, 400, 500), fill=(40 * v, 60, 90))
        im.save(run_dir / "backgrounds" / f"v{v:02d}.png")


def test_compose_writes_every_size_and_skips_missing_background(tmp_path):
    _backgrounds(tmp_path, [1, 2])  # variant 3 failed to generate
    records = compose_run(tmp_path, "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND)
    assert [(r.variant, r.width, r.height) for r in records] == [(1, 1080, 1350), (1, 1080, 1080),
                                                                 (2, 1080, 1350), (2, 1080, 1080)]
    assert records[2].path == "ads/RUN_v02_sua-rua-mat_1080x1350.jpg"
    for r in records:
        data = (tmp_path / r.path).read_bytes()
        assert r.bytes == len(data) and r.sha256 == hashlib.sha256(data).hexdigest()
        with Image.open(tmp_path / r.path) as im:
            assert im.size == (r.width, r.height) and im.format == "JPEG"
        assert [b.box for b in r.boxes] == ["logo", "headline", "subhead", "cta"]
        assert all(b.inside_safe_zone for b in r.boxes)
        assert all(b.contrast >= 4.5 for b in r.boxes if b.box in ("headline", "subhead"))
    assert records[2].boxes[2].text == "Sữa rửa mặt dịu nhẹ" and records[0].seed == 11


def test_compose_variant_filter(tmp_path):
    _backgrounds(tmp_path, [1, 2])
    records = compose_run(tmp_path, "RUN", _brief(), _prompts(), CHANNELS["meta_story"], BRAND, variants=[2])
    assert [(r.variant, r.width) for r in records] == [(2, 1080)]


def test_layout_error_names_variant_and_writes_nothing(tmp_path):
    _backgrounds(tmp_path, [1, 2])
    long = "This headline is far too long to ever fit " * 4
    with pytest.raises(LayoutError) as err:
        compose_run(tmp_path, "RUN", _brief(long), _prompts(), CHANNELS["meta_static"], BRAND)
    assert err.value.message.startswith("variant 2 ('Sữa rửa mặt') at 1080x1350: headline: text '")
    assert not (tmp_path / "ads").exists() or not any((tmp_path / "ads").iterdir())


def test_text_share_counts_overlap_once():
    boxes = [BoxCheck(box="headline", bounds=(0, 0, 50, 20)), BoxCheck(box="cta", bounds=(25, 10, 75, 30)),
             BoxCheck(box="logo", bounds=(0, 0, 100, 100))]
    ad = RenderedAd(image=Image.new("RGB", (100, 100)), boxes=boxes)
    assert text_share(ad, 100, 100) == pytest.approx((1000 + 1000 - 250) / 10000)
