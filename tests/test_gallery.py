"""index.html in a real headless Chromium from file://: every image decodes, videos load, no errors."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from channel_helpers import templates_with
from cli_helpers import EXAMPLE_PAGE
from PIL import Image, ImageStat

from creative.copy.brief import read_brief
from creative.mock.comfy import MockOptions, MockServer
from creative.core.config import Settings
from creative.commands.run import run as run_pipeline
from creative.run.context import RunRequest as RunOptions
from creative.run.folder import RunFolder
from creative.core.progress import Reporter
from creative.research.browser import LAUNCH_ARGS, find_chromium

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real two-variant run of a small video channel: ads with QC, MP4s, contact sheet, gallery."""
    base = tmp_path_factory.mktemp("gallery")
    templates_with(base)
    with MockServer(MockOptions()) as server:
        settings = Settings.model_validate({
            "comfyui": {"urls": [server.url]}, "encoder": "x264",
            "budget": {"cost_per_image_usd": 0.04},  # the mock is free unless priced; the gallery shows cost
            "paths": {"runs_dir": str(base / "runs"), "templates_dir": str(base / "templates"),
                      "brand_dir": str(ROOT / "brand")},
        })
        result = run_pipeline(RunOptions(channel="tiny_video", url=str(EXAMPLE_PAGE), variants=2), settings, Reporter())
    assert result.exit_code == 0, result.message
    return result.run_dir


def test_gallery_shows_copy_prompt_seed_qc_cost_videos_and_totals(run_dir):
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    runlog = RunFolder(run_dir).read_runlog()
    for variant in runlog.variants:
        assert f"seed {variant.seed}" in page and variant.positive in page
        assert "cost usd $0.04" in page
        [ad] = variant.ads
        assert f'src="{ad.path}"' in page and ad.qc is not None and ad.qc.ok
        [video] = variant.videos
        assert f'<video src="{video.path}"' in page
    assert page.count("QC passed") == 2 and "contrast" in page and "text 2" in page  # text share shown
    for concept in read_brief(run_dir / "brief.md").concepts[:2]:  # the variants' copy
        for text in (concept.headline, concept.subhead, concept.cta):
            assert html.escape(text, quote=True) in page
    for label in ("cost usd", "ads", "videos", "variants ok"):
        assert f"<span>{label}</span>" in page
    assert "libx264 requested" in page


def test_gallery_renders_in_chromium_from_file_url(run_dir, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    runlog = RunFolder(run_dir).read_runlog()
    problems: list[str] = []
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=list(LAUNCH_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
            page.goto((run_dir / "index.html").as_uri(), wait_until="load")
            images = page.locator("img")
            assert images.count() == sum(len(v.ads) for v in runlog.variants) == 2
            for i in range(images.count()):  # lazy images load once scrolled to, as for a reader
                images.nth(i).scroll_into_view_if_needed()
            page.wait_for_function("[...document.images].every(i => i.complete)", timeout=10_000)
            sizes = page.evaluate("[...document.images].map(i => [i.naturalWidth, i.naturalHeight])")
            assert sizes == [[540, 960], [540, 960]]
            assert page.locator("video").count() == 2
            if page.evaluate("document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.640028\"')"):
                page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 1)",
                                       timeout=10_000)
                dims = page.evaluate("[...document.querySelectorAll('video')].map(v => [v.videoWidth, v.videoHeight])")
                assert dims == [[540, 960], [540, 960]]
            page.evaluate("window.scrollTo(0, 0)")
            shot = tmp_path / "gallery.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    with Image.open(shot) as image:
        stat = ImageStat.Stat(image.convert("L"))
        assert image.height > 900 and stat.stddev[0] > 20  # the ads and text are there, not a blank page
        assert len(image.convert("RGB").getcolors(1 << 20) or range(1 << 20)) > 1000
