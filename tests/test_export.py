"""Deliverable names and image encoding."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from creative.core.errors import ExportError
from creative.render.files import (
    ad_filename,
    ad_name_pattern,
    encode_capped,
    write_bytes,
)
from creative.core.text import slugify


def write_image(image: Image.Image, path: Path, fmt: str, max_kb: int | None) -> int:
    """Encode (size-capped) and write, as the compose stage does; returns bytes written."""
    return write_bytes(Path(path), encode_capped(image, fmt, max_kb, Path(path)))


def noisy(size=(600, 600), seed=1) -> Image.Image:
    """Random pixels: the hardest case for JPEG size."""
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def test_ad_filename():
    assert ad_filename("20250101-120000-lumen-meta", 1, "Dewy Morning!", 1080, 1350, "jpg") == (
        "20250101-120000-lumen-meta_v01_dewy-morning_1080x1350.jpg"
    )
    assert ad_filename("R", 12, "Sữa rửa mặt – Đẹp", 1200, 628, ".PNG") == "R_v12_sua-rua-mat-dep_1200x628.png"
    assert ad_filename("R", 2, "★★★", 10, 10, "jpg") == "R_v02_concept_10x10.jpg"
    assert slugify("★★★") == "" and slugify("★★★", fallback="x") == "x"


def test_jpeg_has_srgb_profile_and_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    n = write_image(noisy((200, 200)), a, "jpg", None)
    assert n == a.stat().st_size
    write_image(noisy((200, 200)), b, "jpg", None)
    assert a.read_bytes() == b.read_bytes()
    with Image.open(a) as im:
        assert im.format == "JPEG" and im.mode == "RGB"
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "b.jpg"]  # no temp files left


def test_quality_steps_down_to_stay_under_max_kb(tmp_path):
    image = noisy()
    full = write_image(image, tmp_path / "full.jpg", "jpg", None)
    capped = write_image(image, tmp_path / "capped.jpg", "jpg", full // 1024 - 100)
    assert capped <= (full // 1024 - 100) * 1024 < full
    assert (tmp_path / "capped.jpg").stat().st_size == capped


def test_impossible_limit_is_an_export_error(tmp_path):
    with pytest.raises(ExportError, match=r"cannot get under 1 KB"):
        write_image(noisy(), tmp_path / "x.jpg", "jpg", 1)
    assert not (tmp_path / "x.jpg").exists()


def test_png_roundtrips_pixels(tmp_path):
    image = noisy((64, 48))
    write_image(image, tmp_path / "x.png", "png", None)
    with Image.open(tmp_path / "x.png") as im:
        assert im.format == "PNG" and im.convert("RGB").tobytes() == image.tobytes()


def test_ad_name_pattern_matches_only_this_runs_ads():
    pattern = ad_name_pattern("20250101-120000-lumen-meta")
    assert pattern.fullmatch(ad_filename("20250101-120000-lumen-meta", 3, "Sữa rửa mặt", 1200, 628, "png"))
    for other in ("20250101-120000-lumen-meta2_v01_x_1080x1350.jpg", "20250101-120000-lumen-meta_v01_x_1080x1350.jpg.tmp",
                  "20250101-120000-lumen-meta_notes.txt", "20250101-120000-lumen-meta_v01_X_1080x1350.jpg",
                  "x20250101-120000-lumen-meta_v01_x_1080x1350.jpg"):
        assert not pattern.fullmatch(other), other
    assert not ad_name_pattern("a.b").fullmatch("axb_v01_x_1x1.jpg")  # the run id is literal, not a regex


def test_encode_capped_names_the_file():
    data = encode_capped(noisy((100, 100)), "jpg", None, "x.jpg")
    assert data[:2] == b"\xff\xd8"
    with pytest.raises(ExportError, match=r"^ads/x\.jpg: cannot get under 1 KB"):
        encode_capped(noisy(), "jpg", 1, "ads/x.jpg")


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_encoding_an_rgb_image_leaves_it_as_it_was(fmt):
    # an "RGB" image is encoded as it is, without the copy convert("RGB") would make
    image = noisy((120, 90))
    image.info["comment"] = b"kept"
    pixels, info = image.tobytes(), dict(image.info)
    data = encode_capped(image, fmt, None, "x")
    assert encode_capped(image, fmt, None, "x") == data == encode_capped(image.copy(), fmt, None, "x")
    assert image.tobytes() == pixels and image.info == info
    # other modes are converted, as before
    assert encode_capped(image.convert("RGBA"), fmt, None, "x") == data
