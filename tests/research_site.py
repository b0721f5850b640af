"""A local product site for the research backend tests: static, JS-only and robots.txt pages."""

from __future__ import annotations

import pytest

import shutil

import os

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from held_reply import HeldReply

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "fixtures" / "pages"
SERUM = (ROOT / "examples" / "serum.html").read_bytes()
JS_ONLY = (PAGES / "js_only.html").read_bytes()
PRODUCT = {
    "name": "Midnight Repair Cream",
    "brand": "Lumen Skin",
    "description": "A rich overnight cream with ceramides and peptides that repairs the skin barrier while you sleep.",
    "price": "48.00",
    "currency": "EUR",
    "features": ["Ceramide complex restores the barrier", "Peptides smooth fine lines overnight"],
}
JS_ONLY_HEIGHT = 1600  # the #root min-height in js_only.html


@dataclass
class Site:
    """The running site: its base URL, what it was asked for, and its robots.txt (None = 404)."""

    url: str
    robots: str | None = None
    robots_status: int = 200
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, User-Agent)
    slow: HeldReply = field(default_factory=HeldReply)  # /slow answers only when released

    def agents_for(self, path: str) -> list[str]:
        return [ua for p, ua in self.requests if p == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            site.requests.append((self.path, self.headers.get("User-Agent", "")))
            if self.path == "/robots.txt":
                if site.robots is None:
                    self.send(404, b"not found", "text/plain")
                else:
                    self.send(site.robots_status, site.robots.encode(), "text/plain")
            elif self.path == "/serum":
                self.send(200, SERUM)
            elif self.path == "/js-only":
                self.send(200, JS_ONLY)
            elif self.path == "/api/product.json":
                self.send(200, json.dumps(PRODUCT).encode(), "application/json")
            elif self.path == "/slow":
                site.slow.answer(lambda: self.send(200, b"<html><body>late</body></html>"))
            else:
                self.send(404, b"<html><body>not found</body></html>")

    return Handler


@contextmanager
def serve_site() -> Iterator[Site]:
    """Run the site on a free port for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), None)  # handler set below, needs the Site
    site = Site(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(site)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.slow.release()
        httpd.shutdown()
        httpd.server_close()


# CI installs Chromium, so there a missing browser fails the tests instead of skipping them.
needs_chromium = pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) and not os.environ.get("CI"),
    reason="needs a system Chromium (apt-get install chromium)",
)
