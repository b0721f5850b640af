"""Secrets planted in the environment, the page URL and a server URL appear in no file of a run."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

from cli_helpers import EXAMPLE_PAGE, run_creative, run_creative_process
from creative.core.redact import redact_text, redact_url

API_KEY = "fc-planted-5ecret-key-0123456789"
URL_TOKEN = "tok-planted-abcdef987654"
PASSWORD = "pw-planted-hunter2xyz"


def serve_example_page():
    page = EXAMPLE_PAGE.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path.startswith("/robots.txt"):
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_no_secret_in_any_file_or_output(tmp_path, mock_comfy):
    comfy = mock_comfy()
    site = serve_example_page()
    try:
        host, port = site.server_address
        page_url = f"http://127.0.0.1:{port}/p/serum?access_token={URL_TOKEN}"
        comfy_url = comfy.url.replace("http://", f"http://render:{PASSWORD}@")
        # A real process: its stderr carries the log lines too, through the console script's redacting filter.
        result = run_creative_process(
            "run", "--url", page_url, "--channel", "meta_static", "--comfy-url", comfy_url,
            "--runs-dir", "runs", "--research", "static", cwd=tmp_path,
            env={"FIRECRAWL_API_KEY": API_KEY},
        )
    finally:
        site.shutdown()
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        for secret in (API_KEY, URL_TOKEN, PASSWORD):
            assert secret.encode() not in data, f"{secret} found in {path}"
    for stream in (result.stdout, result.stderr):
        for secret in (API_KEY, URL_TOKEN, PASSWORD):
            assert secret not in stream
    assert "access_token=REDACTED" in (run_dir / "research.json").read_text()


def test_failure_messages_are_redacted(tmp_path):
    result = run_creative(
        "run", "--url", f"http://127.0.0.1:9/p?token={URL_TOKEN}", "--channel", "meta_static",
        "--runs-dir", "runs", "--research", "static", cwd=tmp_path, env={"FIRECRAWL_API_KEY": API_KEY},
    )
    assert result.returncode == 2
    assert URL_TOKEN not in result.stderr and "token=REDACTED" in result.stderr


def test_redaction_rules():
    assert redact_url("https://u:p4ss@h.example/a?id=7&api_key=k&keyword=serum") == \
        "https://u:REDACTED@h.example/a?id=7&api_key=REDACTED&keyword=serum"
    assert redact_url("https://h.example/a?page=2") == "https://h.example/a?page=2"
    assert redact_text("Authorization: Bearer abcdefghij and key s3cr3t-v4lue", secrets=["s3cr3t-v4lue"]) == \
        "Authorization: Bearer REDACTED and key REDACTED"
