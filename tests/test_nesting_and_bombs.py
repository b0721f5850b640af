"""Documents nested thousands deep and decompression-bomb logos: refused before parsing or
decoding, with one line that says where."""

from __future__ import annotations

import json
import logging
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from cli_inprocess import assert_one_clear_line, invoke
from creative.copy.brief import render_brief
from creative.core import json_text, yaml_text
from creative.core.errors import EXIT_BAD_INPUT
from creative.core.images import check_pixels
from creative.core.models import Brief, Concept
from creative.research.extract import extract_notes

ROOT = Path(__file__).resolve().parents[1]
DEEP = 5000


def deep_flow(key: str = "b") -> str:
    return f"a: 1\n{key}: " + "[" * DEEP + "]" * DEEP + "\n"


def deep_block() -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(DEEP)) + "  " * DEEP + "v\n"


@pytest.mark.parametrize("text, line", [(deep_flow(), 2), (deep_block(), 65)], ids=["flow", "block"])
def test_yaml_nested_too_deep_is_refused_with_its_line(text, line):
    with pytest.raises(yaml_text.NestingTooDeep) as err:
        yaml_text.safe_load(text)
    assert err.value.problem == "nested deeper than 64 levels"
    assert err.value.problem_mark.line + 1 == line


def test_yaml_at_the_limit_still_loads():
    assert yaml_text.safe_load("a: " + "[" * 63 + "1" + "]" * 63) == {"a": json.loads("[" * 63 + "1" + "]" * 63)}


def test_json_nested_too_deep_is_refused_with_its_line():
    with pytest.raises(json.JSONDecodeError) as err:
        json_text.loads('{"ok": "[[[[ inside a string do not count",\n "deep": ' + "[" * DEEP + "]" * DEEP + "}")
    assert err.value.msg == "nested deeper than 64 levels" and err.value.lineno == 2


def test_json_ld_nested_thousands_deep_is_skipped_and_the_page_still_reads(caplog):
    page = (ROOT / "examples" / "serum.html").read_text()
    bomb = '<script type="application/ld+json">' + '{"a":' * DEEP + "1" + "}" * DEEP + "</script>"
    with caplog.at_level(logging.INFO, logger="creative.research"):
        notes = extract_notes(page.replace("</head>", bomb + "</head>"), "https://shop.example/p")
    assert notes.product_name  # the real JSON-LD block still gave the facts
    assert any("nested deeper than 64 levels" in r.getMessage() for r in caplog.records)


def _brief(tmp_path: Path) -> Path:
    concepts = [Concept(name=n, headline="Soft skin", cta="Shop now", scene="a marble tray") for n in "ab"]
    path = tmp_path / "brief.md"
    path.write_text(render_brief(Brief(brand="Lumen Skin", channel="meta_static", concepts=concepts)))
    return path


def _dry_run(tmp_path: Path, *extra: str, env: dict | None = None):
    return invoke("run", "--brief", str(_brief(tmp_path)), "--dry-run", "--runs-dir", str(tmp_path / "runs"),
                  *extra, env=env)


def test_creative_yaml_nested_thousands_deep(tmp_path):
    config = tmp_path / "creative.yaml"
    config.write_text(deep_flow("comfyui"))
    outcome = _dry_run(tmp_path, "--config", str(config))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "creative.yaml: line 2, column", "nested deeper than 64 levels")


def _brand_copy(tmp_path: Path) -> Path:
    brand = tmp_path / "brand"
    shutil.copytree(ROOT / "brand", brand)
    return brand


def test_brand_yaml_nested_thousands_deep(tmp_path):
    brand = _brand_copy(tmp_path)
    (brand / "brand.yaml").write_text((brand / "brand.yaml").read_text() + deep_flow("extra"))
    outcome = _dry_run(tmp_path, env={"CREATIVE_BRAND_DIR": str(brand)})
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "brand.yaml: line", "nested deeper than 64 levels")


def test_brief_header_nested_thousands_deep(tmp_path):
    path = _brief(tmp_path)
    text = path.read_text().replace("---\n", "---\nmust_have: " + "[" * DEEP + "]" * DEEP + "\n", 1)
    path.write_text(text)
    outcome = invoke("run", "--brief", str(path), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "brief.md:2: invalid YAML in the header: nested deeper than 64 levels")


def test_workflow_json_nested_thousands_deep(tmp_path):
    workflow = tmp_path / "deep.json"
    workflow.write_text('{"1": ' + "[" * DEEP + "]" * DEEP + "}")
    shutil.copy(ROOT / "templates" / "workflows" / "sdxl_txt2img.bind.yaml", tmp_path / "deep.bind.yaml")
    outcome = _dry_run(tmp_path, "--workflow", str(workflow))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "is not valid JSON: nested deeper than 64 levels: line 1")


def png_header_only(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG that declare a width x height RGBA canvas (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + chunk(b"IEND", b""))


def test_pixel_count_is_read_from_the_header():
    assert check_pixels(png_header_only(300, 200), 60_000) == (300, 200)
    with pytest.raises(ValueError, match="300x201 pixels is over the 60000 pixel limit"):
        check_pixels(png_header_only(300, 201), 60_000)
    with pytest.raises(ValueError, match="over the 60000 pixel limit"):  # past Pillow's own bomb limit
        check_pixels(png_header_only(100_000, 100_000), 60_000)


@pytest.mark.parametrize("size", [(5000, 5000), (100_000, 100_000)], ids=["over-our-limit", "over-pillows-limit"])
def test_logo_that_is_a_decompression_bomb(tmp_path, size):
    brand = _brand_copy(tmp_path)
    (brand / "logo.png").write_bytes(png_header_only(*size))
    outcome = _dry_run(tmp_path, env={"CREATIVE_BRAND_DIR": str(brand)})
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "logo.png is", "over the 16777216 pixel limit",
                          "use a logo of at most a few thousand pixels a side")


def test_layout_preview_background_that_is_a_decompression_bomb(tmp_path):
    bomb = tmp_path / "bg.png"
    bomb.write_bytes(png_header_only(9000, 9000))
    outcome = invoke("layout", "preview", "--layout", "4x5", "--background", str(bomb),
                     "--out", str(tmp_path / "preview.png"))
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "bg.png: 9000x9000 pixels is over the 67108864 pixel limit")
    assert not (tmp_path / "preview.png").exists()


def test_a_page_with_thousands_of_images_keeps_a_bounded_distinct_list():
    from creative.research.extract import MAX_IMAGE_URLS

    images = ",".join(f'"/img/{i}.jpg"' for i in range(5000))
    page = ('<html><head><script type="application/ld+json">{"@type": "Product", "name": "Lamp", "image": ['
            + images + ']}</script></head><body><h1>Lamp</h1>' + '<img src="/img/0.jpg">' * 3000 + "</body></html>")
    notes = extract_notes(page, "https://shop.example/p/lamp")
    assert len(notes.image_urls) == MAX_IMAGE_URLS == len(set(notes.image_urls))
    assert notes.image_urls[0] == "https://shop.example/img/0.jpg"
