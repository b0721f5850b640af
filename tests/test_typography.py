"""Typography engine, checked on real Pillow renders.

Golden images: tests/golden/*.png hold 540 px wide downscales of full-size renders. A render
matches when the mean absolute channel difference is <= 1.0 and under 0.5% of pixels differ by
more than 48 (allows FreeType/raqm anti-aliasing differences between builds, catches any moved,
missing or changed glyph). Refresh after an intended change:
    CREATIVE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_typography.py
and look at the new PNGs before committing them.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from creative.brand import load_brand, load_layout
from creative.errors import LayoutError
from creative.models import AdSize, Concept, SafeZone
from creative.typography import contrast_ratio, fit_text, luminance, render_ad

ROOT = Path(__file__).resolve().parents[1]
BRAND_DIR = ROOT / "brand"
GOLDEN = Path(__file__).resolve().parent / "golden"
BRAND = load_brand(BRAND_DIR)
L4x5 = load_layout(BRAND_DIR, "4x5", BRAND)
S4x5 = AdSize(width=1080, height=1350, layout="4x5")
ZONE = SafeZone()

EN = Concept(name="Dewy", headline="Wake up to skin that glows", subhead="A gentle vitamin C serum",
             cta="Shop the serum", scene="s")
VI = Concept(name="Ưu đãi", headline="Mua 2 tặng 1 – Ưu đãi hôm nay", subhead="Sữa rửa mặt dịu nhẹ",
             cta="Mua ngay", scene="s")


def solid(rgb, size=(800, 1000)) -> Image.Image:
    return Image.new("RGB", size, rgb)


def gradient(top, bottom, size=(800, 1000)) -> Image.Image:
    im = Image.new("RGB", size)
    d = ImageDraw.Draw(im)
    for y in range(size[1]):
        t = y / (size[1] - 1)
        d.line((0, y, size[0], y), fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return im


def busy(size=(800, 1000)) -> Image.Image:
    """Black and white stripes: no single text colour is readable on it."""
    im = Image.new("RGB", size, (0, 0, 0))
    d = ImageDraw.Draw(im)
    for x in range(0, size[0] + size[1], 16):
        d.line((x, 0, x - size[1], size[1]), fill=(255, 255, 255), width=7)
    return im


def render(bg, concept=EN, layout=L4x5, size=S4x5, zone=ZONE, brand=BRAND, brand_dir=BRAND_DIR):
    return render_ad(bg, concept, brand, brand_dir, layout, size, zone)


def box(ad, name):
    return next(b for b in ad.boxes if b.box == name)


def ink_bbox(image: Image.Image, rect, rgb, tol=8):
    """Bounding box (absolute) of pixels within rect that match rgb."""
    crop = image.crop(rect)
    diff = ImageChops.difference(crop, Image.new("RGB", crop.size, rgb)).convert("L")
    found = diff.point(lambda v: 255 if v <= tol else 0).getbbox()
    assert found, "no pixels of that colour"
    return (found[0] + rect[0], found[1] + rect[1], found[2] + rect[0], found[3] + rect[1])


# --- fit, wrap, errors ------------------------------------------------------------


def test_short_text_uses_max_size_and_long_text_shrinks():
    chain = [str(BRAND_DIR / "fonts" / BRAND.fonts["bold"])]
    short = fit_text("Glow", chain, L4x5.headline, 860, 360, name="headline")
    long = fit_text("Wake up to radiant, deeply hydrated skin every single day", chain, L4x5.headline, 860, 360,
                    name="headline")
    assert short.size == L4x5.headline.max_size
    assert L4x5.headline.min_size <= long.size < L4x5.headline.max_size
    assert long.ink.width <= 860 and long.ink.height <= 360
    # one size up would not have fitted: the shrink stops at the largest size that fits
    bigger = L4x5.headline.model_copy(update={"min_size": long.size + 1})
    with pytest.raises(LayoutError):
        fit_text("Wake up to radiant, deeply hydrated skin every single day", chain, bigger, 860, 360,
                 name="headline")


def test_wrap_respects_max_lines():
    chain = [str(BRAND_DIR / "fonts" / BRAND.fonts["bold"])]
    two = L4x5.headline.model_copy(update={"max_lines": 2, "min_size": 20})
    fitted = fit_text("one two three four five six seven eight nine ten", chain, two, 500, 400, name="headline")
    assert len(fitted.lines) == 2
    words = " ".join("".join(t for t, _ in line) for line in fitted.lines)
    assert words == "one two three four five six seven eight nine ten"  # wrapped at spaces, nothing lost


def test_text_that_cannot_fit_names_box_and_text():
    long = Concept(name="x", headline="Radiance " * 12, cta="Shop", scene="s")
    with pytest.raises(LayoutError) as err:
        render(solid((240, 235, 225)), long)
    assert err.value.message.startswith("headline: text 'Radiance Radiance")
    assert "even at min_size 52 px" in err.value.message


def test_missing_glyphs_fall_back_then_fail_naming_characters():
    star = Concept(name="x", headline="Loved ★★★★★", cta="Shop", scene="s")
    ad = render(solid((240, 235, 225)), star)  # ★ is not in Noto Sans; DejaVu Sans has it
    assert box(ad, "headline").text == "Loved ★★★★★"
    with pytest.raises(LayoutError) as err:
        render(solid((240, 235, 225)), Concept(name="x", headline="Glow 中\ue000", cta="Shop", scene="s"))
    assert "'中' (U+4E2D), '\ue000' (U+E000)" in err.value.message


def test_engine_records_exactly_the_lines_it_drew():
    ad = render(solid((240, 235, 225)))
    head = box(ad, "headline")
    assert head.drawn == "Wake up to skin\nthat glows" and head.text == EN.headline  # the wrap is recorded
    assert box(ad, "cta").drawn == "Shop the serum" and box(ad, "subhead").drawn == EN.subhead
    assert box(ad, "logo").drawn is None


# --- contrast and scrim --------------------------------------------------------------


@pytest.mark.parametrize("bg", [solid((245, 240, 232)), gradient((10, 14, 30), (40, 50, 70)), busy()],
                         ids=["light", "dark", "busy"])
def test_contrast_reaches_4_5_on_final_pixels(bg):
    ad = render(bg)
    for name in ("headline", "subhead"):
        check = box(ad, name)
        assert check.contrast >= 4.5, (name, check.contrast)
        # independent check: the text colour against the median non-text pixel around it
        left, top, right, bottom = check.bounds
        colors = [BRAND.rgb(n) for n in BRAND.text_colors]
        crop = ad.image.crop((left, top, right, bottom))
        text_rgb = max(colors, key=lambda c: sum(1 for p in crop.getcolors(1 << 20) if p[1] == c and p[0] > 50))
        band = ad.image.crop((left, bottom + 2, right, bottom + 6))  # just under the glyphs
        median = tuple(int(v) for v in ImageStat.Stat(band).median)
        assert contrast_ratio(luminance(text_rgb), luminance(median)) >= 4.5


def test_scrim_added_only_when_needed():
    grey = (128, 128, 128)  # neither ink (3.7:1), cream (3.5:1) nor white (3.9:1) reaches 4.5:1
    ad = render(solid(grey))
    head = box(ad, "headline")
    assert head.contrast >= 4.5
    left, top, right, bottom = head.bounds
    assert ad.image.getpixel((left + 3, bottom + 3)) != grey  # something was laid behind the text
    plain = render(solid((245, 240, 232)))
    l2, t2, r2, b2 = box(plain, "headline").bounds
    assert plain.image.getpixel((l2 + 3, b2 + 3)) == (245, 240, 232)  # light enough: no scrim


# --- CTA, logo, safe zone -----------------------------------------------------------------


def test_cta_label_centred_on_button():
    for concept in (EN, VI, Concept(name="x", headline="Hi", cta="gy", scene="s")):
        ad = render(solid((250, 250, 250)), concept)
        cta = box(ad, "cta")
        bl, bt, br, bb = cta.bounds
        assert ad.image.getpixel(((bl + br) // 2, bt + 3)) == BRAND.rgb(BRAND.cta.background)
        tl, tt, tr, tb = ink_bbox(ad.image, cta.bounds, BRAND.rgb(BRAND.cta.text_color), tol=60)
        assert abs((tl + tr) / 2 - (bl + br) / 2) <= 1.5, concept.cta
        assert abs((tt + tb) / 2 - (bt + bb) / 2) <= 1.5, concept.cta


def test_logo_keeps_aspect_ratio(tmp_path):
    brand_dir = tmp_path / "brand"
    shutil.copytree(BRAND_DIR, brand_dir)
    wide = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    ImageDraw.Draw(wide).rectangle((0, 0, 599, 199), fill=(0, 200, 0, 255))
    wide.save(brand_dir / "logo.png")
    ad = render(solid((250, 250, 250)), brand_dir=brand_dir)
    left, top, right, bottom = ink_bbox(ad.image, (0, 0, 1080, 1350), (0, 200, 0), tol=30)
    assert (right - left) / (bottom - top) == pytest.approx(3.0, rel=0.02)
    lbox = L4x5.logo.pixels(1080, 1350)
    assert left >= lbox[0] and top >= lbox[1] and right <= lbox[2] and bottom <= lbox[3]
    assert right - left == lbox[2] - lbox[0]  # as big as the box allows


def test_box_outside_safe_zone_is_an_error():
    layout = load_layout(BRAND_DIR, "9x16", BRAND)
    reels = SafeZone(top=0.14, bottom=0.35, left=0.06, right=0.06)
    size = AdSize(width=1080, height=1920, layout="9x16")
    render(solid((240, 235, 225), (1080, 1920)), layout=layout, size=size, zone=reels)  # fits as shipped
    with pytest.raises(LayoutError) as err:
        render(solid((240, 235, 225), (1080, 1920)), layout=layout, size=size, zone=SafeZone(top=0.2))
    assert err.value.message == (
        f"{BRAND_DIR}/layouts/9x16.yaml: logo box (x 0.07-0.16, y 0.145-0.195) is outside the safe zone "
        "at 1080x1920 (top 20%, bottom 5%, left 5%, right 5%)"
    )
    assert "move or shrink the logo box" in err.value.hint


# --- determinism, Unicode, goldens -------------------------------------------------------------


def test_render_is_byte_identical_every_time():
    a, b = render(busy()), render(busy())
    assert a.image.tobytes() == b.image.tobytes()
    assert a.boxes == b.boxes


def test_decomposed_vietnamese_renders_like_precomposed():
    nfd = VI.model_copy(update={k: unicodedata.normalize("NFD", getattr(VI, k)) for k in ("headline", "subhead")})
    assert nfd.headline != VI.headline
    assert render(solid((30, 40, 60)), nfd).image.tobytes() == render(solid((30, 40, 60)), VI).image.tobytes()


def _golden(name: str, image: Image.Image) -> None:
    small = image.resize((540, round(540 * image.height / image.width)), Image.BOX)
    path = GOLDEN / f"{name}.png"
    if os.environ.get("CREATIVE_UPDATE_GOLDEN") == "1" or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        small.save(path, optimize=True)
        if os.environ.get("CREATIVE_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden {path.name} was missing and has been written; check it and re-run")
        return
    with Image.open(path) as g:
        expected = g.convert("RGB")
    assert expected.size == small.size
    diff = ImageChops.difference(small, expected).convert("L")
    mean = ImageStat.Stat(diff).mean[0]
    big = sum(diff.histogram()[49:]) / (diff.width * diff.height)
    assert mean <= 1.0 and big <= 0.005, f"{name}: mean diff {mean:.2f}, {big:.2%} pixels off by > 48"


def test_golden_english():
    _golden("en_4x5", render(gradient((238, 228, 214), (196, 178, 160))).image)


def test_golden_vietnamese():
    _golden("vi_4x5", render(gradient((24, 32, 48), (70, 60, 72)), VI).image)
