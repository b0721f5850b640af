"""ComfyClient against real servers on free ports: a replay of recorded ComfyUI 0.3.64 traffic
(tests/comfy_replay.py) and the project's mock server (mock_comfy fixture)."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image

from comfy_replay import RECORDED, ReplayServer, png_bytes
from creative.comfy.client import (
    ComfyClient,
    format_execution_error,
    format_validation_error,
    is_transient,
)
from creative.comfy.workflow import default_workflow_path, load_workflow
from creative.errors import ComfyError, ComfyValidationError

REPO = Path(__file__).resolve().parents[1]


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


@pytest.fixture
def replay():
    servers: list[ReplayServer] = []

    def start(mode: str = "success", **kw) -> ReplayServer:
        servers.append(ReplayServer(mode, **kw).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


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


@pytest.mark.parametrize("mode", ["drop_ws", "silent"])
def test_replay_finishes_by_polling_when_socket_drops_or_is_silent(replay, mode):
    server = replay(mode)
    out, _ = asyncio.run(_run(server.url, {"1": {}}, "4"))
    assert out.filenames == ["modelfree_00005_.png", "modelfree_00006_.png"]
    assert out.prompt_id in server.history


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


def test_replay_500_is_server_error(replay):
    server = replay("http500")
    with pytest.raises(ComfyError) as err:
        asyncio.run(_run(server.url, {"1": {}}, "4"))
    assert "server error on POST /prompt (HTTP 500" in err.value.message
    assert is_transient(err.value)


def test_oversized_and_non_image_downloads_are_refused(replay):
    big = replay("success")
    with pytest.raises(ComfyError, match="over the 100 byte limit"):
        asyncio.run(_run(big.url, {"1": {}}, "4", max_image_bytes=100))
    junk = replay("success", image=b"<html>not a png</html>")
    with pytest.raises(ComfyError, match="is not a readable image"):
        asyncio.run(_run(junk.url, {"1": {}}, "4"))


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
    pytest.importorskip("creative.comfy.mock", reason="mock server not written yet")
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
    assert "node " in err.value.message and is_transient(err.value)


def test_mock_dropped_socket_falls_back_to_polling(mock):
    server = mock(drop_ws=True, latency=0.3)
    graph, node = sdxl_graph()
    out, _ = asyncio.run(_run(server.url, graph, node))
    with Image.open(io.BytesIO(out.images[0])) as img:
        assert img.size == (256, 192)


def test_mock_hang_times_out_and_frees_the_server(mock):
    server = mock(hang=True)
    graph, node = sdxl_graph()
    t0 = time.monotonic()
    with pytest.raises(ComfyError, match=r"did not finish within 0.5 s \(timeout\)") as err:
        asyncio.run(_run(server.url, graph, node, timeout_s=0.5))
    assert time.monotonic() - t0 < 3.0
    assert err.value.kind == "timeout"
    # The abandoned prompt was interrupted, so the server is free for the next job.
    import httpx
    deadline = time.monotonic() + 3.0
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
    with pytest.raises(ComfyError, match="vanished"):
        asyncio.run(_run(server.url, graph, node, timeout_s=5.0))


def test_png_helper_is_png():
    assert png_bytes().startswith(b"\x89PNG")
