"""Hostile ComfyUI answers end within their deadline with one clear error, or are survived."""

from __future__ import annotations

import asyncio
import http.server
import logging
import threading
from pathlib import Path

import pytest

from cli_inprocess import assert_one_clear_line, invoke
from creative.core.errors import EXIT_FAILURE, ComfyError
from creative.gen.client import ComfyClient
from creative.gen.dispatch import GenJob, generate_all
from creative.gen.workflow import default_workflow_path, load_workflow

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PAGE = REPO / "examples" / "serum.html"


def sdxl_graph(seed: int = 7) -> tuple[dict, str]:
    wf = load_workflow(default_workflow_path(REPO / "templates"))
    return wf.apply("a quiet beach at dawn", "text, letters", seed, 256, 192), wf.output_node


async def _run(url: str, timeout_s: float, **kw):
    graph, node = sdxl_graph()
    async with ComfyClient(url, timeout_s=timeout_s, poll_interval_s=0.1, **kw) as client:
        return await client.run(graph, node, on_progress=lambda value, maximum: None)


def test_view_that_streams_a_byte_a_second_hits_the_whole_download_deadline(mock_comfy):
    server = mock_comfy(view_byte_interval=1.0)
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, timeout_s=2.0))
    assert err.value.kind == "timeout" and err.value.transient
    message = err.value.message
    assert message.startswith(f"ComfyUI at {server.url}: download /view '")
    assert ".png' did not finish within " in message
    assert " s (timeout after " in message
    assert "the server sent it too slowly or stopped sending" in message


def trickling_server(delay: float) -> http.server.ThreadingHTTPServer:
    """Answers every GET with headers at once, then a JSON body one byte per `delay` seconds."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = b'{"system": {"comfyui_version": "0.3.64"}, "devices": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    threading.Event().wait(delay)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_every_request_has_a_total_time_limit():
    server = trickling_server(0.3)  # each byte well inside httpx's read timeout
    url = f"http://127.0.0.1:{server.server_address[1]}"

    async def check():
        async with ComfyClient(url, timeout_s=60, request_timeout_s=1.0) as client:
            return await client.check()
    try:
        with pytest.raises(ComfyError) as err:
            asyncio.run(check())
    finally:
        server.shutdown()
    assert err.value.kind == "timeout" and err.value.transient
    assert err.value.message == (f"ComfyUI at {url} did not finish answering GET /system_stats "
                                 f"within 1 s (timeout)")


def test_request_limit_never_exceeds_the_prompt_timeout():
    assert ComfyClient("http://127.0.0.1:9", timeout_s=20).request_timeout_s == 20
    assert ComfyClient("http://127.0.0.1:9", timeout_s=600).request_timeout_s == 30


def test_malformed_frames_are_ignored_and_the_image_still_arrives(mock_comfy, caplog):
    server = mock_comfy(malformed_frames=True)
    with caplog.at_level(logging.WARNING, logger="creative.gen.client"):
        out = asyncio.run(_run(server.url, timeout_s=10.0))
    assert len(out.images) == 1 and out.images[0].startswith(b"\x89PNG")
    ignored = [r.getMessage() for r in caplog.records if "ignoring a malformed" in r.getMessage()]
    assert any("'execution_cached' frame" in m and "TypeError" in m for m in ignored), ignored
    assert any("'progress' frame" in m for m in ignored), ignored
    assert len(server.executions) == 1  # survived, not retried


@pytest.mark.parametrize("shape, kind", [("list", "list"), ("string", "string")])
def test_object_info_of_the_wrong_shape_is_a_clear_error(mock_comfy, shape, kind):
    server = mock_comfy(object_info_shape=shape)

    async def ask():
        async with ComfyClient(server.url) as client:
            return await client.node_info(["CheckpointLoaderSimple"])
    with pytest.raises(ComfyError) as err:
        asyncio.run(ask())
    assert err.value.message.startswith(
        f"ComfyUI at {server.url}: GET /object_info/CheckpointLoaderSimple answered a JSON {kind}, not an object")


def test_object_info_of_the_wrong_shape_does_not_stop_generation(mock_comfy, tmp_path, caplog):
    server = mock_comfy(object_info_shape="list")
    graph, node = sdxl_graph()
    with caplog.at_level(logging.WARNING):
        [result] = asyncio.run(generate_all([GenJob(1, graph, node, 7, "v01.png")], [server.url], tmp_path,
                                            timeout_s=10, poll_interval_s=0.1))
    assert result.ok, result.error
    assert (tmp_path / "v01.png").read_bytes().startswith(b"\x89PNG")
    assert any("not checking its models" in r.getMessage() for r in caplog.records)


def test_cli_run_against_a_trickling_view_ends_with_one_line(mock_comfy, tmp_path):
    server = mock_comfy(view_byte_interval=1.0)
    outcome = invoke("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--variants", "1",
                     "--comfy-url", server.url, "--runs-dir", str(tmp_path / "runs"), "--quiet",
                     env={"CREATIVE_COMFY_TIMEOUT_S": "2"})
    assert_one_clear_line(outcome, EXIT_FAILURE, "every variant failed to generate",
                          "download /view", "did not finish within 2 s")


def test_cli_run_survives_malformed_frames(mock_comfy, tmp_path):
    server = mock_comfy(malformed_frames=True)
    outcome = invoke("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--variants", "1",
                     "--comfy-url", server.url, "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert outcome.code == 0, outcome
    run_dir = Path(outcome.stdout.strip().splitlines()[-1])
    assert (run_dir / "backgrounds" / "v01.png").read_bytes().startswith(b"\x89PNG")
    assert len(server.executions) == 1


def test_cli_run_with_object_info_answering_a_string(mock_comfy, tmp_path):
    server = mock_comfy(object_info_shape="string")
    outcome = invoke("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--variants", "1",
                     "--comfy-url", server.url, "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert outcome.code == 0, outcome  # the models are not checked up front; the prompt still runs


def test_unexpected_error_is_one_line_unless_debugging(monkeypatch):
    from typer.testing import CliRunner

    import creative.cli as cli
    import creative.run.index as index

    def broken(runs_dir):
        raise RuntimeError("disk said\nno")
    monkeypatch.setattr(index, "list_runs", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    result = CliRunner().invoke(cli.app, ["runs", "list"])
    assert result.exit_code == EXIT_FAILURE
    assert result.stderr == ("error: unexpected RuntimeError: disk said no — set CREATIVE_DEBUG=1 to see the "
                             "traceback, and please report it\n")
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    debugging = CliRunner().invoke(cli.app, ["runs", "list"])
    assert isinstance(debugging.exception, RuntimeError) and "disk said" in str(debugging.exception)
