"""research(): real HTTP against a local server, local files, and research.md/json output."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from creative.core.errors import ResearchError
from creative.core.models import ResearchNotes
from creative.research import research, write_research
from creative.research.static import USER_AGENT

from held_reply import HeldReply

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "serum.html"
SERUM = EXAMPLE.read_bytes()


SLOW = HeldReply()


class Handler(BaseHTTPRequestHandler):
    seen_agents: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", length: bool = True):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        path = self.path
        if path == "/serum":
            self.send(200, SERUM)
        elif path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/serum")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            SLOW.answer(lambda: self.send(200, b"<html></html>"))
        elif path == "/pdf":
            self.send(200, b"%PDF-1.7 ...", ctype="application/pdf")
        elif path == "/big":
            self.send(200, b"<html>" + b"x" * 5000 + b"</html>")
        elif path == "/big-unannounced":
            # No Content-Length: the cap must hold while streaming.
            self.send(200, b"<html>" + b"x" * 5000 + b"</html>", length=False)
        elif path == "/latin1":
            body = "<html><head><title>Crème brûlée – 5 €</title></head></html>".encode("cp1252")
            self.send(200, body, ctype="text/html; charset=windows-1252")
        elif path == "/error":
            self.send(503, b"down for maintenance")
        else:
            self.send(404, b"<html>not found</html>")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_and_extract_over_http(server):
    notes = research(f"{server}/serum")
    assert notes.product_name == "Vitamin C Glow Serum"
    assert notes.price == "34.00"
    assert notes.final_url == f"{server}/serum"
    assert Handler.seen_agents[-1] == USER_AGENT
    assert USER_AGENT.startswith("creative/") and "(+ad-creative research)" in USER_AGENT


def test_redirect_is_followed_and_final_url_recorded(server):
    notes = research(f"{server}/moved")
    assert notes.url == f"{server}/moved"
    assert notes.final_url == f"{server}/serum"
    assert notes.brand == "Lumen Skin"


def test_charset_from_content_type_header(server):
    notes = research(f"{server}/latin1")
    assert notes.title == "Crème brûlée – 5 €"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/missing", "HTTP 404"),
        ("/error", "HTTP 503"),
        ("/loop", "redirect loop"),
        ("/pdf", "'application/pdf', not an HTML page"),
    ],
)
def test_http_failures_name_the_url_and_the_problem(server, path, expected):
    with pytest.raises(ResearchError) as err:
        research(f"{server}{path}")
    assert f"{server}{path}" in err.value.message
    assert expected in err.value.message
    assert err.value.exit_code == 2


@pytest.mark.parametrize("path", ["/big", "/big-unannounced"])
def test_size_cap(server, path):
    with pytest.raises(ResearchError, match="over the 1,000-byte limit"):
        research(f"{server}{path}", max_bytes=1000)
    # The same page is fine under a larger cap.
    assert research(f"{server}{path}", max_bytes=10_000).url == f"{server}{path}"


def test_timeout(server):
    SLOW.reset()
    try:
        with pytest.raises(ResearchError, match=r"timed out after 0.2 s"):
            research(f"{server}/slow", timeout_s=0.2)
        # It gave up while the server still held its answer, after one request (no retries).
        assert (SLOW.answered, SLOW.requests) == (False, 1)
    finally:
        SLOW.release()


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/p"
    with pytest.raises(ResearchError, match="unreachable") as err:
        research(url, timeout_s=2)
    assert url in err.value.message


def test_local_path_and_file_url_give_the_same_facts():
    by_path = research(str(EXAMPLE))
    by_uri = research(EXAMPLE.as_uri())
    assert by_path.url == str(EXAMPLE) and by_uri.url == EXAMPLE.as_uri()
    assert by_path.model_dump(exclude={"url"}) == by_uri.model_dump(exclude={"url"})
    assert by_path.rating == 4.7


def test_missing_local_file_is_named(tmp_path):
    missing = tmp_path / "nope.html"
    with pytest.raises(ResearchError, match="not found: .*nope.html"):
        research(str(missing))


def test_unsupported_scheme():
    with pytest.raises(ResearchError, match="unsupported URL scheme 'ftp'"):
        research("ftp://example.com/p.html")


def test_write_research_json_and_md(tmp_path):
    notes = research(str(EXAMPLE))
    (tmp_path / "run").mkdir()
    write_research(notes, tmp_path / "run" / "research.json", tmp_path / "run" / "research.md")
    data = json.loads((tmp_path / "run" / "research.json").read_text(encoding="utf-8"))
    assert ResearchNotes.model_validate(data) == notes
    md = (tmp_path / "run" / "research.md").read_text(encoding="utf-8")
    assert "| price | 34.00 | json-ld Product.offers |" in md
    assert "| review_count | 1284 | json-ld Product.aggregateRating |" in md
    assert "- Hyaluronic acid keeps skin plump and hydrated all day" in md
    assert "reference only" in md
    assert "- https://lumenskin.example/images/glow-serum-front.jpg" in md
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["research.json", "research.md"]
