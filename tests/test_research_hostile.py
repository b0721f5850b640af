"""Hostile pages and page URLs: no password in any file of the run, no system file read, no endless fetch."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli_inprocess import assert_one_clear_line, invoke
from creative.core.errors import EXIT_BAD_INPUT
from research_site import SERUM, needs_chromium

PASSWORD = "pw-planted-Hunter2-xyz"
USER = "shopper"
# The sample page plus images given relative to the page: they are joined onto the page URL.
PAGE = SERUM.replace(b"</body>", b'<img src="/img/bottle.jpg" alt="bottle"><img src="img/box.jpg"></body>')



def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A local HTTP server with `handler` on a free port, serving in a background thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

def basic_auth_site() -> ThreadingHTTPServer:
    """A product page behind HTTP basic auth, as a shop's staging site would be."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path == "/robots.txt" or not self.path.startswith("/p/"):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="staging"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

    return serve(Handler)


def fake_firecrawl() -> ThreadingHTTPServer:
    """Firecrawl's v2 scrape answering with the page and the URL it was asked for, as the real one does."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            url = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["url"]
            meta = {"title": "Glow Serum", "url": url, "sourceURL": url, "statusCode": 200, "language": "en"}
            body = json.dumps({"success": True, "data": {"html": PAGE.decode(), "markdown": "", "metadata": meta}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

    return serve(Handler)


@pytest.mark.parametrize("backend", [
    "static", pytest.param("browser", marks=needs_chromium), "firecrawl",
])
def test_password_in_the_page_url_reaches_no_file_of_the_run(tmp_path, backend):
    site, api = basic_auth_site(), fake_firecrawl()
    try:
        port = site.server_address[1]
        url = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/p/serum"
        env = {"CREATIVE_FIRECRAWL_API_URL": f"http://127.0.0.1:{api.server_address[1]}"}
        outcome = invoke("brief", "--url", url, "--channel", "meta_static", "--research", backend,
                         "--runs-dir", str(tmp_path / "runs"), "--quiet", env=env)
    finally:
        site.shutdown()
        api.shutdown()
    assert outcome.code == 0, outcome
    run_dir = Path(outcome.stdout.strip().splitlines()[-1]).parent
    research = json.loads((run_dir / "research.json").read_text())
    # The relative images were found and joined onto the page URL, minus its credentials.
    assert f"http://127.0.0.1:{port}/img/bottle.jpg" in research["image_urls"]
    assert f"http://127.0.0.1:{port}/p/img/box.jpg" in research["image_urls"]
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {"research.json", "research.md", "brief.md", "runlog.json"} <= {p.name for p in files}
    for path in files:
        assert PASSWORD.encode() not in path.read_bytes(), f"password found in {path.name}"
    assert PASSWORD not in outcome.stdout and PASSWORD not in outcome.line


@pytest.mark.parametrize("target, says", [
    ("/proc/self/environ", "files under /proc, /sys, /dev are never read"),
    ("/dev/zero", "files under /proc, /sys, /dev are never read"),
    ("/sys/kernel/notes", "files under /proc, /sys, /dev are never read"),
    ("/etc/passwd", "only HTML files (.html"),
    ("folder.html", "it is not a regular file"),
    ("notes.txt", "only HTML files (.html"),
])
def test_url_takes_only_regular_html_files(tmp_path, monkeypatch, target, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.html").mkdir()
    (tmp_path / "notes.txt").write_text("<html><body>Not a page</body></html>")
    outcome = invoke("brief", "--url", target, "--channel", "meta_static", "--research", "static",
                     "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, f"Cannot use {target} as a product page", says)


def test_symlink_into_proc_is_refused(tmp_path):
    link = tmp_path / "page.html"
    link.symlink_to("/proc/self/environ")
    outcome = invoke("brief", "--url", str(link), "--channel", "meta_static", "--research", "static",
                     "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, "files under /proc, /sys, /dev are never read")


def test_page_that_trickles_is_cut_at_the_research_timeout(tmp_path, site):
    config = tmp_path / "creative.yaml"
    config.write_text("research:\n  timeout_s: 1\n  ignore_robots: true\n")
    outcome = invoke("brief", "--url", f"{site.url}/trickle", "--channel", "meta_static", "--research",
                     "static", "--config", str(config), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert_one_clear_line(outcome, EXIT_BAD_INPUT, f"Could not fetch {site.url}/trickle",
                          "did not finish downloading within 1 s", "bytes received")


def test_robots_txt_that_trickles_does_not_hold_the_fetch():
    from creative.research import research

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            if self.path == "/robots.txt":  # a byte every 0.2 s: no single read ever times out
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    for byte in b"User-agent: *\n" + b"#" * 400:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        threading.Event().wait(0.2)
                except OSError:
                    pass
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

    server = serve(Handler)
    try:
        notes = research(f"http://127.0.0.1:{server.server_address[1]}/p/serum", backend="static", timeout_s=1)
    finally:
        server.shutdown()
    assert notes.product_name  # robots.txt given up on (as unreachable ones are), the page read
