"""ComfyClient against real servers on free ports: a replay of recorded ComfyUI 0.3.64 traffic
(tests/comfy_replay.py) and the project's mock server (mock_comfy fixture)."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import struct
import threading
import time
import uuid
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from comfy_replay import RECORDED, ReplayServer, png_bytes
from creative.gen.client import (
    ComfyClient,
    format_execution_error,
    format_validation_error,
    is_transient,
)
from creative.gen.workflow import default_workflow_path, load_workflow
from creative.core.errors import ComfyError, ComfyValidationError

REPO = Path(__file__).resolve().parents[1]


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())



async def _run(url: str, graph: dict, node: str, **kw):
    progress: list[tuple[int, int]] = []
    timeout = kw.pop("timeout_s", 5.0)
    async with ComfyClient(url, timeout_s=timeout, poll_interval_s=0.1, **kw) as client:
        out = await client.run(graph, node, on_progress=lambda v, m: progress.append((v, m)))
    return out, progress


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- pure formatting, from recorded bodies ------------------------------------------------


def test_validation_message_for_missing_checkpoint_from_recorded_body():
    body = recorded("validation.json")["txt2img_missing_ckpt"]["json"]
    assert format_validation_error(body, server="ComfyUI at http://gpu1:8188") == (
        "ComfyUI at http://gpu1:8188 rejected the workflow (Prompt outputs failed validation): "
        "node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name "
        "'v1-5-pruned-emaonly.safetensors' is not available (available: none)")


def test_validation_message_lists_choices_and_other_error_shapes():
    v = recorded("validation.json")
    assert format_validation_error(v["value_not_in_list_short"]["json"]).endswith(
        "node 2 (ImageScale): Value not in list: upscale_method 'magic' is not available "
        "(available: nearest-exact, bilinear, area, bicubic, lanczos)")
    assert format_validation_error(v["unknown_class"]["json"]) == (
        "ComfyUI rejected the workflow: Cannot execute because node NoSuchNode does not "
        "exist (Node ID '#2')")
    assert format_validation_error(v["value_bigger_than_max"]["json"]).endswith(
        "node 1 (EmptyImage): Value 99999 bigger than max of 16384: width")
    # 200 with node_errors: only errors that block *our* output count.
    partial = v["one_of_two_outputs_invalid"]["json"]
    assert "node 5 (ImageScale)" in format_validation_error(partial, output_node="6")
    assert "node 5" not in format_validation_error(partial, output_node="4")


def test_execution_error_message_from_recorded_frame():
    frames = recorded("dummy_ckpt.json")["ws"]
    data = next(f["msg"]["data"] for f in frames
                if f.get("msg", {}).get("type") == "execution_error")
    assert format_execution_error(data) == (
        "node 4 (CheckpointLoaderSimple): Error while deserializing header: header too "
        "small [safetensors._safetensors_rust.SafetensorError]")


# --- against the replay of real ComfyUI traffic ------------------------------------------------


def test_replay_success_socket_before_post_and_own_prompt_id(replay):
    server = replay("success")
    graph = {"1": {"class_type": "EmptyImage", "inputs": {}}}
    out, _ = asyncio.run(_run(server.url, graph, "4"))
    post = server.posts[0]
    assert post["ws_open"] is True
    assert post["body"]["prompt"] == graph
    assert post["body"]["prompt_id"] == out.prompt_id
    uuid.UUID(out.prompt_id)  # our own uuid4, not the server's
    assert out.filenames == ["modelfree_00005_.png", "modelfree_00006_.png"]
    assert [q["subfolder"] for q in server.views] == ["probe", "probe"]
    assert out.images == [server.image, server.image]
    assert out.queued_at <= out.started_at <= out.ended_at
    # `executed` named the images and execution_success confirmed them: no /history round-trip
    assert server.history_requests == []


def test_replay_output_saved_before_a_later_node_failed_is_not_returned(replay, caplog):
    server = replay("late_error")
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, {"1": {}}, "4"))
    assert err.value.message.startswith(f"ComfyUI at {server.url}: node 3 (SaveImage): ")
    assert "never retrieved" not in caplog.text  # the early download was dropped cleanly


@pytest.mark.parametrize("mode", ["drop_ws", "silent"])
def test_replay_finishes_by_polling_when_socket_drops_or_is_silent(replay, mode):
    server = replay(mode)
    out, _ = asyncio.run(_run(server.url, {"1": {}}, "4"))
    assert out.filenames == ["modelfree_00005_.png", "modelfree_00006_.png"]
    assert out.prompt_id in server.history
    assert out.prompt_id in server.history_requests  # success was never seen: history decides


def test_replay_execution_error_is_transient_comfy_error(replay):
    server = replay("exec_error")
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, {"1": {}}, "3"))
    assert not isinstance(err.value, ComfyValidationError)
    assert err.value.message.startswith(f"ComfyUI at {server.url}: node 3 (SaveImage): ")
    assert "Saving image outside the output folder is not allowed" in err.value.message
    assert is_transient(err.value)


def test_replay_400_is_validation_error_not_transient(replay):
    server = replay("validation")
    with pytest.raises(ComfyValidationError) as err:
        asyncio.run(_run(server.url, {"1": {}}, "9"))
    assert "ckpt_name 'v1-5-pruned-emaonly.safetensors' is not available" in err.value.message
    assert "models/checkpoints" in err.value.hint
    assert not is_transient(err.value)


@pytest.mark.parametrize("mode, says", [
    ("http500", "server error on POST /prompt (HTTP 500"),
    ("not_json", "server error on POST /prompt (answer is not JSON: '<html>"),
])
def test_replay_500_or_non_json_answer_is_server_error(replay, mode, says):
    server = replay(mode)
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, {"1": {}}, "4"))
    assert says in err.value.message
    assert not isinstance(err.value, ComfyValidationError)
    assert is_transient(err.value)


def test_download_refused_on_declared_length_before_reading(replay):
    # Declares 1 GB, sends 64 KB then hangs up: only the header can give the 1 GB figure.
    server = replay("success", view="huge_header")
    with pytest.raises(ComfyError, match=r"is 1000000000 bytes, over the 1048576 byte limit"):
        asyncio.run(_run(server.url, {"1": {}}, "4", max_image_bytes=1024 * 1024))


def test_download_without_length_is_cut_at_the_cap(replay):
    server = replay("success", view="endless")  # 16 MB, chunked, no Content-Length
    with pytest.raises(ComfyError, match=r"over the 262144 byte limit") as err:
        asyncio.run(_run(server.url, {"1": {}}, "4", max_image_bytes=256 * 1024))
    read = int(err.value.message.split(" is ")[-1].split(" bytes")[0])
    assert 256 * 1024 < read < 1024 * 1024  # stopped reading soon after the cap


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def corrupt_pixels_png() -> bytes:
    """A PNG whose chunks and CRCs are valid (Image.verify passes) but whose pixels are not."""
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", b"this is not zlib data") + _png_chunk(b"IEND", b""))


def huge_canvas_png() -> bytes:
    """A 10 KB PNG that decodes to 81 million pixels."""
    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("image, says", [
    (b"<html>not a png</html>", "cannot identify image file"),
    (corrupt_pixels_png(), "is not a readable image"),
    (huge_canvas_png(), "9000x9000 pixels is over the 67108864 pixel limit"),
], ids=["html", "corrupt-pixels", "huge-canvas"])
def test_download_that_does_not_decode_is_refused(replay, image, says):
    server = replay("success", image=image)
    with pytest.raises(ComfyError, match="is not a readable image") as err:
        asyncio.run(_run(server.url, {"1": {}}, "4"))
    assert says in err.value.message


def test_wrong_output_node_names_nodes_that_have_output(replay):
    server = replay("success")
    with pytest.raises(ComfyError, match=r"no images on output node 9 \(nodes with output: 4\)"):
        asyncio.run(_run(server.url, {"1": {}}, "9"))


def test_check_unreachable_names_url():
    url = f"http://127.0.0.1:{free_port()}"

    async def go():
        async with ComfyClient(url) as client:
            await client.check()

    with pytest.raises(ComfyError) as err:
        asyncio.run(go())
    assert err.value.message.startswith(f"ComfyUI at {url} is unreachable: ")
    assert is_transient(err.value)


def test_check_returns_system_stats(replay):
    server = replay("success")

    async def go():
        async with ComfyClient(server.url) as client:
            return await client.check()

    assert asyncio.run(go())["system"]["comfyui_version"] == "0.3.64"


# --- against the project's mock server ---------------------------------------------------------


@pytest.fixture
def mock(request):
    pytest.importorskip("creative.mock.comfy", reason="mock server not written yet")
    return request.getfixturevalue("mock_comfy")


def sdxl_graph(seed: int = 7, width: int = 256, height: int = 192) -> tuple[dict, str]:
    wf = load_workflow(default_workflow_path(REPO / "templates"))
    return wf.apply("a quiet beach at dawn", "text, letters", seed, width, height), wf.output_node


def test_mock_success_decodes_image_with_requested_size(mock):
    server = mock()
    graph, node = sdxl_graph()
    out, progress = asyncio.run(_run(server.url, graph, node))
    assert len(out.images) == 1
    with Image.open(io.BytesIO(out.images[0])) as img:
        assert img.size == (256, 192)
    assert progress and progress[-1][0] == progress[-1][1]  # KSampler steps reached max
    assert server.ws_open_at_post == {out.prompt_id: True}
    received = server.received_prompts[-1]
    assert received["prompt_id"] == out.prompt_id
    assert received["prompt"] == graph
    assert received["client_id"]


def test_mock_missing_checkpoint_is_validation_error(mock):
    server = mock()
    graph, node = sdxl_graph()
    graph["4"]["inputs"]["ckpt_name"] = "nope.safetensors"
    with pytest.raises(ComfyValidationError) as err:
        asyncio.run(_run(server.url, graph, node))
    assert "node 4 (CheckpointLoaderSimple)" in err.value.message
    assert "'nope.safetensors' is not available" in err.value.message
    assert "sd_xl_base_1.0.safetensors" in err.value.message  # the available list


def test_mock_execution_error(mock):
    server = mock(fail_first=1)
    graph, node = sdxl_graph()
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, graph, node))
    assert not isinstance(err.value, ComfyValidationError)
    # node id, class and the exception message, as in the execution_error frame
    assert err.value.message == (
        f"ComfyUI at {server.url}: node 3 (KSampler): mock ComfyUI: injected execution "
        f"failure (fail_first/fail_rate) [RuntimeError]")
    assert is_transient(err.value)


def test_mock_prompt_served_from_comfy_cache_still_delivers_image(mock):
    server = mock(cache=True)
    graph, node = sdxl_graph()
    first, _ = asyncio.run(_run(server.url, graph, node))
    files = sorted(p.name for p in server.output_dir.rglob("*.png"))
    second, _ = asyncio.run(_run(server.url, graph, node))
    assert server.executions[-1]["cached_nodes"]  # really served from ComfyUI's cache
    assert sorted(p.name for p in server.output_dir.rglob("*.png")) == files  # no new file
    assert second.prompt_id != first.prompt_id
    assert second.cached and not first.cached
    assert second.filenames == first.filenames  # the old names, as recorded in cached.json
    assert second.images == first.images


def wait_for(condition) -> None:
    """Wait until `condition()` holds; a hang is ended by the suite's per-test timeout (pyproject)."""
    while not condition():
        time.sleep(0.02)


def test_mock_interrupt_by_someone_else_is_reported_not_retried(mock):
    server = mock(hang=True)
    graph, node = sdxl_graph()

    def someone_presses_cancel() -> None:
        wait_for(lambda: server.executions)
        httpx.post(server.url + "/interrupt")  # ComfyUI's Cancel button: no prompt_id

    threading.Thread(target=someone_presses_cancel, daemon=True).start()
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, graph, node, timeout_s=10.0))
    assert f"prompt {server.executions[0]['prompt_id']} was interrupted" in err.value.message
    assert "at node 3 (KSampler)" in err.value.message
    assert err.value.kind == "cancelled"
    assert not is_transient(err.value)  # someone cancelled it on purpose: no retry


def test_mock_dropped_socket_polls_and_reconnects_with_same_client_id(mock):
    server = mock(drop_ws=True, latency=0.6)
    graph, node = sdxl_graph()
    out, _ = asyncio.run(_run(server.url, graph, node))
    with Image.open(io.BytesIO(out.images[0])) as img:
        assert img.size == (256, 192)
    client_id = server.received_prompts[-1]["client_id"]
    assert server.ws_client_ids == [client_id, client_id]  # first socket, then the reconnect
    assert ("GET", f"/history/{out.prompt_id}") in server.requests  # polled while down


def test_mock_hang_times_out_and_frees_the_server(mock):
    server = mock(hang=True)
    graph, node = sdxl_graph()
    with pytest.raises(ComfyError) as err:  # the prompt hangs for ever: only the timeout ends it
        asyncio.run(_run(server.url, graph, node, timeout_s=0.5))
    assert err.value.kind == "timeout"
    assert err.value.message == (
        f"ComfyUI at {server.url}: prompt {server.executions[0]['prompt_id']} did not finish "
        f"within 0.5 s (timeout; it was still running node 3)")
    # The abandoned prompt was interrupted, so the server is free for the next job.
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        queue = httpx.get(server.url + "/queue").json()
        if not queue["queue_running"] and not queue["queue_pending"]:
            break
        time.sleep(0.05)
    assert queue == {"queue_running": [], "queue_pending": []}


def test_mock_http_500(mock):
    server = mock(http_500_rate=1.0)
    graph, node = sdxl_graph()
    with pytest.raises(ComfyError, match="server error"):
        asyncio.run(_run(server.url, graph, node))


def test_mock_prompt_deleted_by_someone_else_is_not_waited_on(mock):
    server = mock(delete_pending=True, latency=0.3)
    graph, node = sdxl_graph()
    with pytest.raises(ComfyError, match="vanished from the queue without a result") as err:
        asyncio.run(_run(server.url, graph, node, timeout_s=30.0))
    # Detected by polling (not by the 30 s timeout): /history came back empty, then a fresh /queue.
    assert err.value.kind == "cancelled" and server.executions == []
    assert ("GET", "/queue") in server.requests and any(path.startswith("/history/") for _, path in server.requests)


def test_check_models_fails_early_like_a_400_and_fetches_once(mock):
    server = mock(checkpoints=["juggernaut.safetensors", "dream.safetensors"])
    graph, _ = sdxl_graph()

    async def go():
        async with ComfyClient(server.url) as client:
            for _ in range(2):
                with pytest.raises(ComfyValidationError) as err:
                    await client.check_models(graph)
            return err.value

    err = asyncio.run(go())
    assert err.message == (
        f"ComfyUI at {server.url} does not have a model the workflow needs: node 4 "
        f"(CheckpointLoaderSimple): ckpt_name 'sd_xl_base_1.0.safetensors' is not installed "
        f"(available: juggernaut.safetensors, dream.safetensors)")
    assert "models/checkpoints" in err.hint and not is_transient(err)
    assert server.requests.count(("GET", "/object_info/CheckpointLoaderSimple")) == 1
    assert server.received_prompts == []


def test_png_helper_is_png():
    assert png_bytes().startswith(b"\x89PNG")


# --- polling: shared /queue snapshot, back-off for pending prompts ---------------------------------

from creative.gen import client as client_module  # noqa: E402


def recording_http(log: list[tuple[str, str]]) -> httpx.AsyncClient:
    """An HTTP client that notes (method, path) of every request it sends, in order."""
    async def note(request: httpx.Request) -> None:
        log.append((request.method, request.url.path))

    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), event_hooks={"request": [note]})


def record_polls(monkeypatch) -> list[tuple[str, float, float]]:
    """(prompt_id, quiet time waited before the poll, quiet time set by it) of every poll, in order.

    The client's schedule is read from its own state, so the back-off is checked by what it
    decided, never by how long a busy machine took to carry it out.
    """
    polls: list[tuple[str, float, float]] = []
    real = ComfyClient._poll

    async def noted(self, state):
        before = state.poll_every
        try:
            await real(self, state)
        finally:
            polls.append((state.prompt_id, before, state.poll_every))

    monkeypatch.setattr(ComfyClient, "_poll", noted)
    return polls


def polls_of(polls, prompt_id: str) -> list[tuple[float, float]]:
    return [(before, after) for pid, before, after in polls if pid == prompt_id]


async def _wait_until(condition) -> None:
    """Wait until `condition()` holds; a hang is ended by the suite's per-test timeout (pyproject)."""
    while not condition():
        await asyncio.sleep(0.01)


def run_behind(server: ReplayServer, log: list, interval: float = 0.1) -> tuple[str, str]:
    """Prompt A, then prompt B queued behind it (the replay runs one at a time), on one client."""
    a_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())

    async def go():
        async with recording_http(log) as http:
            client = ComfyClient(server.url, http=http, timeout_s=30.0, poll_interval_s=interval)
            a = asyncio.create_task(client.run({"1": {"seed": 1}}, "4", prompt_id=a_id))
            await _wait_until(lambda: a_id in server.queue)
            b = asyncio.create_task(client.run({"1": {"seed": 2}}, "4", prompt_id=b_id))
            await asyncio.gather(a, b)
            await client.aclose()

    asyncio.run(go())
    return a_id, b_id


def split_pending(b_polls: list[tuple[float, float]], interval: float) -> tuple[list, list]:
    """B's polls while /queue listed it pending (each one backs off) and from the first that found it running."""
    running_from = next(i for i, (_, after) in enumerate(b_polls) if after == interval)
    return b_polls[:running_from], b_polls[running_from:]


def test_pending_prompt_is_polled_less_and_less_then_at_the_interval_once_running(replay, monkeypatch):
    # "silent": no frames, so polling alone follows both prompts; B waits 1 s behind A
    server = replay("silent", delay=1.0)
    polls, log = record_polls(monkeypatch), []
    a_id, b_id = run_behind(server, log)
    a_polls, b_polls = polls_of(polls, a_id), polls_of(polls, b_id)
    # A runs: polled at the interval throughout, never backed off
    assert len(a_polls) >= 3 and all(p == (0.1, 0.1) for p in a_polls), a_polls
    # B pending: 0.1 s, then 0.2, 0.4 ... (doubling), and the poll that finds it running brings it back
    pending, running = split_pending(b_polls, 0.1)
    assert len(pending) >= 2, b_polls
    assert [before for before, _ in pending] == pytest.approx([0.1 * 2 ** i for i in range(len(pending))])
    assert [after for _, after in pending] == pytest.approx([0.2 * 2 ** i for i in range(len(pending))])
    assert len(running) >= 2 and all(before == 0.1 for before, _ in running[1:]), running
    # The back-off is real: while A ran, B was looked at less often than A.
    a_end = max(i for i, (_, path) in enumerate(log) if path == f"/history/{a_id}")
    b_while_a = [path for _, path in log[:a_end] if path == f"/history/{b_id}"]
    a_while_a = [path for _, path in log[:a_end] if path == f"/history/{a_id}"]
    assert len(b_while_a) < len(a_while_a), (len(b_while_a), len(a_while_a))


def test_pending_poll_back_off_stops_at_the_cap(replay, monkeypatch):
    assert client_module.MAX_PENDING_POLL_S == 5.0
    monkeypatch.setattr(client_module, "MAX_PENDING_POLL_S", 0.25)  # 5 s would make a slow test
    server = replay("silent", delay=1.0)
    polls = record_polls(monkeypatch)
    _, b_id = run_behind(server, [])
    pending, _ = split_pending(polls_of(polls, b_id), 0.1)
    # 0.1 (the interval), 0.2, then 0.25 each time: without the cap the third wait would be 0.4
    assert len(pending) >= 3, pending
    assert [after for _, after in pending] == pytest.approx([0.2] + [0.25] * (len(pending) - 1))


def test_a_frame_for_a_pending_prompt_resets_its_poll_interval(mock, monkeypatch):
    server = mock(hang=True)  # every prompt hangs at the sampler until interrupted
    graph_a, node = sdxl_graph(seed=1)
    graph_b, _ = sdxl_graph(seed=2)
    a_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())
    polls = record_polls(monkeypatch)

    async def go() -> int:
        async with ComfyClient(server.url, timeout_s=30.0, poll_interval_s=0.1) as client:
            a = asyncio.create_task(client.run(graph_a, node, prompt_id=a_id))
            await _wait_until(lambda: server.executions)  # A runs (and hangs)
            b = asyncio.create_task(client.run(graph_b, node, prompt_id=b_id))
            # B is pending: polled after 0.1, 0.2 and 0.4 s of quiet; the next wait would be 0.8 s
            await _wait_until(lambda: len(polls_of(polls, b_id)) >= 3)
            polled_before = len(polls_of(polls, b_id))
            async with httpx.AsyncClient() as other:  # someone stops A: B starts, its frames flow
                await other.post(server.url + "/interrupt", json={"prompt_id": a_id})
            with pytest.raises(ComfyError, match="was interrupted"):
                await a
            await _wait_until(lambda: len(polls_of(polls, b_id)) > polled_before)
            b.cancel()  # B hangs too: cancelling removes it from the server
            with pytest.raises(asyncio.CancelledError):
                await b
            return polled_before

    polled_before = asyncio.run(go())
    assert [e["prompt_id"] for e in server.executions] == [a_id, b_id]
    b_polls = polls_of(polls, b_id)
    assert [x for poll in b_polls[:3] for x in poll] == pytest.approx([0.1, 0.2, 0.2, 0.4, 0.4, 0.8])  # backed off
    # B's execution_start frame brought it back to the 0.1 s interval, not the 0.8 s it had reached
    assert b_polls[polled_before][0] == 0.1, b_polls


def test_prompt_missing_from_an_older_snapshot_is_confirmed_with_a_fresh_queue(mock):
    # The socket drops mid-run, so the prompt is polled at once, while the shared snapshot
    # (taken just before it was submitted, valid for a whole 5 s interval) does not list it.
    server = mock(drop_ws=True, latency=1.0)
    graph, node = sdxl_graph()

    async def go():
        async with ComfyClient(server.url, timeout_s=10.0, poll_interval_s=5.0) as client:
            before = await client._shared_queue()  # another prompt's poll, a moment ago
            out = await client.run(graph, node)
            return before, out

    before, out = asyncio.run(go())
    assert before == {"queue_running": [], "queue_pending": []}
    with Image.open(io.BytesIO(out.images[0])) as img:  # finished, not reported vanished
        assert img.size == (256, 192)
    client_id = server.received_prompts[-1]["client_id"]
    assert server.ws_client_ids == [client_id, client_id]  # the drop happened
    assert ("GET", f"/history/{out.prompt_id}") in server.requests  # and it was polled
    assert server.requests.count(("GET", "/queue")) == 2  # the old snapshot, then the fresh look


def test_queue_snapshot_is_shared_within_an_interval_and_renewed_after(mock):
    server = mock()

    async def go():
        async with ComfyClient(server.url, poll_interval_s=0.3) as client:
            answers = await asyncio.gather(*(client._shared_queue() for _ in range(8)))
            counts = [server.requests.count(("GET", "/queue"))]
            await client._shared_queue()
            counts.append(server.requests.count(("GET", "/queue")))
            await asyncio.sleep(0.35)
            await client._shared_queue()
            counts.append(server.requests.count(("GET", "/queue")))
            await client.queue()  # cancel() and the vanished check always look afresh
            counts.append(server.requests.count(("GET", "/queue")))
            return answers, counts

    answers, counts = asyncio.run(go())
    assert all(a == {"queue_running": [], "queue_pending": []} for a in answers)
    assert counts == [1, 1, 2, 3]


def _plain_png(width: int = 6, height: int = 4, rows: bytes | None = None) -> bytes:
    """An RGB PNG built by hand, so its pixel stream can be made wrong on purpose."""
    stride = 1 + width * 3
    rows = rows if rows is not None else b"".join(b"\x00" + bytes(range(width * 3)) for _ in range(height))
    assert len(rows) % stride == 0
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows))
            + _png_chunk(b"IEND", b""))


def test_png_pixel_stream_is_checked_without_a_full_decode():
    from creative.gen.client import _check_image, _png_pixels_intact

    good = _plain_png()
    assert _png_pixels_intact(good) is True
    _check_image(good, 10_000)
    with Image.open(io.BytesIO(good)) as img:  # the hand-built file is a real PNG
        img.load()
        assert img.size == (6, 4)
    short = _plain_png(rows=(b"\x00" + bytes(18)) * 3)  # one row missing
    bad_filter = _plain_png(rows=b"".join(b"\x07" + bytes(18) for _ in range(4)))
    for broken, says in ((short, "incomplete or corrupt"), (bad_filter, "unknown row filter")):
        with pytest.raises(ValueError, match=says):
            _check_image(broken, 10_000)
    # Interlaced and palette images are left to the full decode.
    buf = io.BytesIO()
    Image.new("P", (4, 4)).save(buf, format="PNG")
    assert _png_pixels_intact(buf.getvalue()) is None
    assert _png_pixels_intact(b"\xff\xd8\xff not a png") is None


def test_certificates_are_loaded_only_for_https_servers():
    from creative.gen.client import new_http_client

    plain = new_http_client(["http://gpu-1:8188", "http://gpu-2:8188"])
    mixed = new_http_client(["http://gpu-1:8188", "https://gpu.example:443"])
    try:
        assert plain._transport._pool._ssl_context is None or not plain._transport._pool._ssl_context.get_ca_certs()
        assert mixed._transport._pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
    finally:
        asyncio.run(plain.aclose())
        asyncio.run(mixed.aclose())
