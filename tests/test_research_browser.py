"""Browser backend: real headless Chromium (system build) via Playwright against a local site."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from PIL import Image

from creative.core.errors import ResearchError
from creative.research import research
from creative.research.browser import LAUNCH_ARGS, find_chromium
from creative.research.static import USER_AGENT
from research_site import JS_ONLY_HEIGHT, PRODUCT, ROOT, needs_chromium

pytestmark = needs_chromium


def test_js_only_page_facts_appear_only_after_javascript(site, chromium, tmp_path):
    static = research(f"{site.url}/js-only", backend="static")
    assert static.price is None and static.features == []
    assert PRODUCT["name"] not in static.model_dump_json()

    shot = tmp_path / "run" / "screenshot.png"
    notes = research(f"{site.url}/js-only", backend="browser", browser=chromium, screenshot_path=shot)
    assert notes.backend == "browser"
    assert notes.product_name == PRODUCT["name"]
    assert notes.sources["product_name"] == "json-ld Product.name"
    assert (notes.price, notes.currency, notes.brand) == ("48.00", "EUR", "Lumen Skin")
    assert notes.features == PRODUCT["features"]
    assert notes.final_url == f"{site.url}/js-only"
    with Image.open(io.BytesIO(shot.read_bytes())) as img:
        assert img.format == "PNG"
        assert img.size == (1280, JS_ONLY_HEIGHT)


def test_browser_sends_our_user_agent(site, chromium):
    research(f"{site.url}/js-only", backend="browser", browser=chromium)
    assert site.agents_for("/js-only") == [USER_AGENT]
    assert site.agents_for("/api/product.json") == [USER_AGENT]  # the page's own fetch too
    assert site.agents_for("/robots.txt") == [USER_AGENT]


def test_browser_respects_robots_txt_unless_ignored(site, chromium):
    site.robots = "User-agent: *\nDisallow: /js-only\n"
    url = f"{site.url}/js-only"
    with pytest.raises(ResearchError) as err:
        research(url, backend="browser", browser=chromium)
    assert url in err.value.message and "robots.txt" in err.value.message
    assert "--ignore-robots" in err.value.user_message()
    assert err.value.exit_code == 2
    assert site.agents_for("/js-only") == []  # refused before Chromium touched the page
    notes = research(url, backend="browser", browser=chromium, ignore_robots=True)
    assert notes.product_name == PRODUCT["name"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/missing", "HTTP 404"), ("/api/product.json", "'application/json', not an HTML page")],
)
def test_browser_refuses_errors_and_non_html(site, chromium, path, expected):
    with pytest.raises(ResearchError) as err:
        research(f"{site.url}{path}", backend="browser", browser=chromium)
    assert f"{site.url}{path}" in err.value.message and expected in err.value.message


def test_browser_timeout(site, chromium):
    site.slow.reset()
    try:
        with pytest.raises(ResearchError, match=r"timed out after 1 s"):
            research(f"{site.url}/slow", backend="browser", browser=chromium, timeout_s=1)
        # It gave up while the server still held the page back: the timeout, not a late answer.
        assert site.slow.requests >= 1 and not site.slow.answered
    finally:
        site.slow.release()


def test_browser_reads_local_files_without_robots(site, chromium):
    page = ROOT / "examples" / "serum.html"
    notes = research(str(page), backend="browser", browser=chromium)
    assert (notes.product_name, notes.price, notes.backend) == ("Vitamin C Glow Serum", "34.00", "browser")
    assert notes.final_url == page.resolve().as_uri()
    assert site.requests == []  # no robots.txt fetched for a file


def test_one_shot_render_launches_and_closes_its_own_chromium(site, tmp_path):
    shot = tmp_path / "screenshot.png"
    notes = research(f"{site.url}/js-only", backend="browser", screenshot_path=shot)
    assert notes.product_name == PRODUCT["name"]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_launch_args_are_the_documented_set():
    assert LAUNCH_ARGS == (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
    )


def test_missing_chromium_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: nothing to find
    monkeypatch.delenv("CREATIVE_CHROMIUM_PATH", raising=False)
    with pytest.raises(ResearchError) as err:
        research(str(ROOT / "examples" / "serum.html"), backend="browser")
    text = err.value.user_message()
    assert "Chromium" in text and "apt-get install chromium" in text and "chromium_path" in text
    assert err.value.exit_code == 2


def test_explicit_chromium_path(monkeypatch, tmp_path):
    real = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert find_chromium(real) == real
    with pytest.raises(ResearchError, match=r"Chromium not found at .*nope"):
        find_chromium(tmp_path / "nope")
    monkeypatch.setenv("CREATIVE_CHROMIUM_PATH", real)
    monkeypatch.setenv("PATH", os.devnull)
    assert find_chromium() == real
