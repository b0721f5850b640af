"""Firecrawl backend: the real firecrawl-py client against a local server speaking the v2 API."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from creative.core.errors import ResearchError
from creative.research import research, research_cost_usd
from creative.research.firecrawl import DEFAULT_COST_PER_SCRAPE_USD, fetch_firecrawl, scrape_cost_usd
from held_reply import HeldReply
from research_site import ROOT

KEY = "fc-test-0123456789abcdef"
PAGE = "https://shop.example/p/repair-cream"
# Firecrawl's "html" format is cleaned: no <head>, no scripts; the head lives in metadata.
HTML = """<div><h1>Midnight Repair Cream</h1>
<p class="product-description">A rich overnight cream with ceramides and peptides that repairs the skin barrier.</p>
<ul class="features"><li>Ceramide complex restores the barrier</li><li>Peptides smooth fine lines</li></ul>
<img src="/img/cream.jpg"></div>"""
MARKDOWN = "# Midnight Repair Cream\n\nA rich overnight cream with ceramides and peptides."
METADATA = {
    "title": "Midnight Repair Cream | Lumen Skin",
    "description": "Overnight barrier repair cream.",
    "language": "en",
    "ogImage": "https://shop.example/img/og.jpg",
    "sourceURL": PAGE,
    "url": PAGE,
    "statusCode": 200,
}


SLOW = HeldReply()


class FakeFirecrawl(BaseHTTPRequestHandler):
    """POST /v2/scrape like api.firecrawl.dev; the page URL picks the behaviour."""

    seen: list[tuple[dict, str | None]] = []

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/v2/scrape":
            return self.reply(404, {"success": False, "error": "not found"})
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization")
        FakeFirecrawl.seen.append((payload, auth))
        url = payload["url"]
        if auth is not None and auth != f"Bearer {KEY}":
            return self.reply(401, {"success": False, "error": "Unauthorized: Invalid token"})
        if "credits" in url:
            return self.reply(402, {"success": False, "error": "Insufficient credits to perform this request."})
        if "busy" in url:
            return self.reply(429, {"success": False, "error": "Rate limit exceeded."}, {"Retry-After": "17"})
        if "slow" in url:
            return SLOW.answer(lambda: self.reply(200, {"success": True, "data": {"markdown": "", "html": ""}}))
        if "echo" in url:  # a misbehaving server that repeats the credentials back
            return self.reply(500, {"success": False, "error": f"internal error for {auth}"})
        if "gone" in url:
            meta = {**METADATA, "statusCode": 404, "url": url}
            return self.reply(200, {"success": True, "data": {"markdown": "", "html": "", "metadata": meta}})
        meta = {**METADATA, "description": f"Scraped with {auth}"} if "leaky" in url else METADATA
        self.reply(200, {"success": True, "data": {"markdown": MARKDOWN, "html": HTML, "metadata": meta}})


@pytest.fixture(scope="module")
def api():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeFirecrawl)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv("FIRECRAWL_API_KEY", raising=False)
    FakeFirecrawl.seen.clear()


def test_self_hosted_without_a_key(api):
    notes = research(PAGE, backend="firecrawl", firecrawl_api_url=api)
    payload, auth = FakeFirecrawl.seen[-1]
    assert auth is None  # no key, no Authorization header
    assert payload["url"] == PAGE and payload["formats"] == ["markdown", "html"]
    assert notes.backend == "firecrawl" and notes.url == PAGE and notes.final_url == PAGE
    assert notes.product_name == "Midnight Repair Cream"  # metadata title without the site name
    assert notes.title == "Midnight Repair Cream | Lumen Skin"
    assert notes.description == "Overnight barrier repair cream."
    assert notes.features == ["Ceramide complex restores the barrier", "Peptides smooth fine lines"]
    assert notes.language == "en"
    assert notes.image_urls[0] == "https://shop.example/img/og.jpg"
    assert "https://shop.example/img/cream.jpg" in notes.image_urls
    assert notes.sources["title"] == "firecrawl metadata.title"
    assert notes.sources["description"] == "firecrawl metadata.description"
    assert notes.main_text.startswith("A rich overnight cream")


def test_key_from_environment_is_sent_and_never_stored(api, monkeypatch, caplog):
    monkeypatch.setenv("FIRECRAWL_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    notes = research(f"{PAGE}?leaky=1", backend="firecrawl", firecrawl_api_url=api)
    assert FakeFirecrawl.seen[-1][1] == f"Bearer {KEY}"
    assert KEY not in notes.model_dump_json() and "***" in notes.model_dump_json()
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("page", "key", "expected"),
    [
        (PAGE, "fc-wrong-key-987654321", r"refused the API key \(HTTP 401\).*FIRECRAWL_API_KEY"),
        (f"{PAGE}?credits", KEY, r"out of credits \(HTTP 402\)"),
        (f"{PAGE}?busy", KEY, r"rate limited .*\(HTTP 429\); retry after 17 s"),
        (f"{PAGE}?gone", KEY, r"HTTP 404 \(reported by Firecrawl\)"),
        (f"{PAGE}?echo", KEY, r"HTTP 500"),
    ],
)
def test_api_errors_are_clear_and_redacted(api, monkeypatch, caplog, page, key, expected):
    monkeypatch.setenv("FIRECRAWL_API_KEY", key)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ResearchError) as err:
        research(page, backend="firecrawl", firecrawl_api_url=api)
    text = err.value.user_message()
    import re

    assert re.search(expected, text), text
    assert page in err.value.message
    assert key not in text and key not in str(err.value) and key not in caplog.text
    assert err.value.exit_code == 2
    assert err.value.__cause__ is None  # the SDK exception (and its response) is not chained


def test_timeout(api):
    SLOW.reset()
    try:
        with pytest.raises(ResearchError, match=r"did not finish scraping .*slow within 0.5 s"):
            fetch_firecrawl(f"{PAGE}?slow", api_url=api, timeout_s=0.5, env={})
        # It gave up while the server still held its answer: one attempt, no SDK back-off retries.
        assert (SLOW.answered, SLOW.requests) == (False, 1)
        assert len(FakeFirecrawl.seen) == 1
    finally:
        SLOW.release()


def test_unreachable_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ResearchError, match=rf"Could not reach Firecrawl \(http://127.0.0.1:{port}\)"):
        fetch_firecrawl(PAGE, api_url=f"http://127.0.0.1:{port}", timeout_s=2, env={})


def test_env_mapping_is_the_only_key_source(api):
    fetch_firecrawl(PAGE, api_url=api, env={"FIRECRAWL_API_KEY": KEY})
    assert FakeFirecrawl.seen[-1][1] == f"Bearer {KEY}"
    assert "api_key" not in research.__kwdefaults__  # no way to pass a key as an argument


def test_local_files_are_refused():
    with pytest.raises(ResearchError, match="cannot read local files"):
        research(str(ROOT / "examples" / "serum.html"), backend="firecrawl")


def test_cost_is_exposed_for_the_budget():
    assert DEFAULT_COST_PER_SCRAPE_USD == 0.001
    assert scrape_cost_usd(0.002, scrapes=3) == 0.006
    assert research_cost_usd("firecrawl", cost_per_scrape_usd=0.004) == 0.004
    assert research_cost_usd("firecrawl") == DEFAULT_COST_PER_SCRAPE_USD
    assert research_cost_usd("static") == research_cost_usd("browser") == research_cost_usd("auto") == 0.0
