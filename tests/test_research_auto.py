"""auto backend and robots.txt: static first, Chromium only for JavaScript shells."""

from __future__ import annotations


import pytest

from creative.core.errors import ResearchError
from creative.core.models import ResearchNotes
from creative.research import research
from creative.research.auto import shell_reason
from creative.research.robots import check_robots, robots_url
from creative.research.static import USER_AGENT
from research_site import JS_ONLY, PRODUCT, ROOT, needs_chromium



@needs_chromium
def test_auto_renders_the_javascript_only_page_in_chromium(site, chromium, tmp_path):
    shot = tmp_path / "screenshot.png"
    notes = research(f"{site.url}/js-only", browser=chromium, screenshot_path=shot)  # auto is the default
    assert notes.backend == "browser"
    assert (notes.product_name, notes.price) == (PRODUCT["name"], "48.00")
    assert shot.read_bytes().startswith(b"\x89PNG")
    # static first (one GET of the page), then Chromium (a second GET and the page's API call)
    assert len(site.agents_for("/js-only")) == 2
    assert site.agents_for("/api/product.json") == [USER_AGENT]


def test_auto_keeps_the_static_result_for_a_normal_page(site, tmp_path):
    shot = tmp_path / "screenshot.png"
    notes = research(f"{site.url}/serum", backend="auto", screenshot_path=shot)
    assert notes.backend == "static"
    assert notes.product_name == "Vitamin C Glow Serum"
    assert not shot.exists()  # no browser ran
    assert len(site.agents_for("/serum")) == 1


def test_auto_without_chromium_explains_why_it_needed_one(site, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CREATIVE_CHROMIUM_PATH", raising=False)
    with pytest.raises(ResearchError) as err:
        research(f"{site.url}/js-only")
    text = err.value.user_message()
    assert "needs JavaScript" in text and "apt-get install chromium" in text and "--research static" in text


def test_shell_detection():
    empty = ResearchNotes(url="u")
    shell = JS_ONLY.decode()
    assert "visible words" in shell_reason(shell, empty)
    # Same markup without scripts: a browser would see nothing more.
    assert shell_reason("<html><title>Shop</title><body><div id=root></div></body></html>", empty) is None
    # JSON-LD is data, not a script that renders anything.
    ld = '<script type="application/ld+json">{}</script><body>Hi</body>'
    assert shell_reason(ld, empty) is None
    # Product facts from structured data or a price mean the static page is good enough.
    facts = ResearchNotes(url="u", product_name="Serum", sources={"product_name": "json-ld Product.name"})
    assert shell_reason(shell, facts) is None
    assert shell_reason(shell, ResearchNotes(url="u", price="9.00")) is None
    # A <title> alone is the shop's name, not a product fact.
    titled = ResearchNotes(url="u", product_name="Lumen Store", sources={"product_name": "html <title>"})
    assert shell_reason(shell, titled) is not None
    # Plenty of server-rendered text with some scripts is a real page.
    article = "<body><script src=a.js></script><p>" + "word " * 80 + "</p></body>"
    assert shell_reason(article, empty) is None


@pytest.mark.parametrize("backend", ["static", "auto"])
def test_robots_disallow_refuses_and_names_url_and_flag(site, backend):
    site.robots = "User-agent: *\nDisallow: /serum\n"
    url = f"{site.url}/serum"
    with pytest.raises(ResearchError) as err:
        research(url, backend=backend)
    assert url in err.value.message and "robots.txt" in err.value.message and "disallows" in err.value.message
    assert "--ignore-robots" in err.value.user_message()
    assert err.value.exit_code == 2
    assert site.agents_for("/serum") == []
    assert site.agents_for("/robots.txt") == [USER_AGENT]
    assert research(url, backend=backend, ignore_robots=True).product_name == "Vitamin C Glow Serum"


def test_robots_rules_for_our_agent_name(site):
    site.robots = "User-agent: creative\nDisallow: /serum\n\nUser-agent: *\nAllow: /\n"
    with pytest.raises(ResearchError, match="disallows"):
        research(f"{site.url}/serum", backend="static")
    site.robots = "User-agent: otherbot\nDisallow: /\n"
    assert research(f"{site.url}/serum", backend="static").backend == "static"


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (403, False), (401, False)])
def test_robots_status_codes(site, status, allowed):
    site.robots, site.robots_status = "", status
    url = f"{site.url}/serum"
    if allowed:
        check_robots(url)
    else:
        with pytest.raises(ResearchError, match="disallows"):
            check_robots(url)


def test_missing_robots_txt_allows_everything(site):
    site.robots = None
    check_robots(f"{site.url}/serum")
    assert site.requests == [("/robots.txt", USER_AGENT)]


def test_local_pages_skip_robots(site):
    page = ROOT / "examples" / "serum.html"
    assert robots_url(page.as_uri()) is None and robots_url(str(page)) is None
    assert robots_url("https://shop.example/p/1?x=2") == "https://shop.example/robots.txt"
    assert research(str(page)).backend == "static"
    assert site.requests == []


def test_unknown_backend_is_bad_input():
    with pytest.raises(ResearchError, match="Unknown research backend 'magic'") as err:
        research(str(ROOT / "examples" / "serum.html"), backend="magic")
    assert err.value.exit_code == 2
