"""The fixture shops of tests/fixtures/brand_sites/, each served at the root of its own free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SITES = Path(__file__).resolve().parent / "fixtures" / "brand_sites"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass


@contextmanager
def serve_brand_site(name: str) -> Iterator[str]:
    """Serve tests/fixtures/brand_sites/<name>/ and yield its base URL (ending in /)."""
    handler = partial(_Quiet, directory=str(SITES / name))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
