"""The mock ComfyUI against the recorded behaviour: frames, history, queue, cache, /view, /api, faults."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
import websockets
from PIL import Image

COMFY = Path(__file__).resolve().parent / "fixtures" / "comfyui"


def recorded(name: str) -> dict:
    return json.loads((COMFY / "recorded" / name).read_text())


MODELFREE = recorded("modelfree.json")


def modelfree_graph(seed: int = 42, prefix: str = "probe/modelfree") -> dict:
    graph = copy.deepcopy(MODELFREE["graph"])
    graph["2"]["inputs"]["seed"] = seed
    graph["4"]["inputs"]["filename_prefix"] = prefix
    return graph


def txt2img_graph(seed: int = 7, text: str = "pink serum bottle, soft studio light", size=(256, 320)) -> dict:
    graph = json.loads((COMFY / "workflows" / "txt2img_sdxl_simple_api.json").read_text())
    for node in graph.values():
        if node["class_type"] == "KSampler":
            node["inputs"]["seed"] = seed
            positive = node["inputs"]["positive"][0]
        if node["class_type"] == "EmptyLatentImage":
            node["inputs"]["width"], node["inputs"]["height"] = size
    graph[positive]["inputs"]["text"] = text
    return graph


def ws_url(server, cid: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws?clientId={cid}"


async def recv(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def frames_until_done(ws, prompt_id: str, timeout: float = 10.0) -> list[dict]:
    """Every frame up to and including `executing {node: null}` for prompt_id."""
    out = []
    while True:
        msg = await recv(ws, timeout)
        out.append(msg)
        if msg["type"] == "executing" and msg["data"]["node"] is None and msg["data"].get("prompt_id") == prompt_id:
            return out


async def run_one(server, graph: dict, cid: str | None = None, **body) -> tuple[str, list[dict]]:
    cid = cid or uuid.uuid4().hex
    async with websockets.connect(ws_url(server, cid)) as ws:
        await recv(ws)  # the connect status frame
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post("/prompt", json={"prompt": graph, "client_id": cid, **body})
            assert r.status_code == 200, r.text
            pid = r.json()["prompt_id"]
        return pid, await frames_until_done(ws, pid)


def normalise(value, pid_map=None):
    """Replace run-specific fields (ids, timestamps, file counters) so frames compare exactly."""
    if isinstance(value, dict):
        return {k: ("<id>" if k in ("prompt_id", "sid", "client_id") else 0 if k == "timestamp" else normalise(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"_\d{5}_\.png$", "_N_.png", value)
    return value


def wait_until(pred, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# ------------------------------------------------------------------ frames and history


def test_modelfree_frames_match_recording_exactly(mock_comfy):
    server = mock_comfy()
    pid, frames = asyncio.run(run_one(server, modelfree_graph()))
    expected = [f["msg"] for f in MODELFREE["ws"][1:]]  # [0] is the connect frame
    assert normalise(frames) == normalise(expected)
    history = httpx.get(f"{server.url}/history/{pid}").json()
    recorded_entry = next(iter(MODELFREE["history_after_executing_null"]["json"].values()))
    mine = history[pid]
    assert mine["prompt"][1] == pid
    mine["prompt"][1] = recorded_entry["prompt"][1]
    assert normalise(mine) == normalise(recorded_entry)


def test_connect_frame_and_feature_flags(mock_comfy):
    server = mock_comfy()

    async def go():
        async with websockets.connect(ws_url(server, "ff-51b42e")) as ws:
            first = await recv(ws)
            await ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
            second = await recv(ws)
            return [first, second]

    expected = [f["msg"] for f in recorded("misc.json")["ws_feature_flags_frames"]]
    assert asyncio.run(go()) == expected


def test_sampler_progress_frames_and_rendered_output(mock_comfy):
    server = mock_comfy(steps=3)
    pid, frames = asyncio.run(run_one(server, txt2img_graph()))
    progress = [(f["data"]["value"], f["data"]["max"]) for f in frames if f["type"] == "progress"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    executing = [f["data"]["node"] for f in frames if f["type"] == "executing"]
    # ComfyUI's order for this graph: checkpoint first, the sampler before decode and save.
    assert executing[0] == "4" and executing[-3:] == ["8", "9", None]
    executed = [f for f in frames if f["type"] == "executed"][0]["data"]["output"]["images"][0]
    r = httpx.get(server.url + "/view", params=executed)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == f'filename="{executed["filename"]}"'
    with Image.open(io.BytesIO(r.content)) as img:
        assert img.size == (256, 320)
        assert json.loads(img.text["prompt"])["3"]["inputs"]["seed"] == 7


def test_latency_ends_before_the_outputs_frames_as_on_a_real_server(mock_comfy):
    # Recorded: `executed`, progress_state and execution_success come within 0.1 ms of each
    # other. The image time must be spent before the output is reported, not after it.
    server = mock_comfy(latency=0.3)
    pid, frames = asyncio.run(run_one(server, modelfree_graph()))
    kinds = [f["type"] for f in frames]
    tail = kinds[kinds.index("executed"):kinds.index("execution_success") + 1]
    assert tail == ["executed", "progress_state", "execution_success"], kinds


def test_latency_is_spent_before_the_output_node_reports(mock_comfy):
    # Interrupted while the last node "works": if the image time came after its report, the
    # `executed` frame would already be out; spent before it, the node never reports.
    server = mock_comfy(latency=60.0)

    async def go():
        cid = uuid.uuid4().hex
        async with websockets.connect(ws_url(server, cid)) as ws:
            await recv(ws)
            async with httpx.AsyncClient(base_url=server.url) as http:
                pid = (await http.post("/prompt", json={"prompt": modelfree_graph(), "client_id": cid})).json()["prompt_id"]
                seen = []
                while not (seen and seen[-1]["type"] == "executing" and seen[-1]["data"]["node"] == "4"):
                    seen.append(await recv(ws, timeout=20))
                await http.post("/interrupt", json={"prompt_id": pid})
            return seen + await frames_until_done(ws, pid, timeout=20)

    kinds = [(f["type"], f["data"].get("node") or f["data"].get("node_id")) for f in asyncio.run(go())]
    assert ("execution_interrupted", "4") in kinds, kinds
    assert not any(kind == "executed" for kind, _ in kinds), kinds
    assert [e["status"] for e in server.executions] == ["interrupted"]


def test_history_empty_until_written_then_filled(mock_comfy):
    server = mock_comfy(latency=0.3)

    async def go():
        cid = uuid.uuid4().hex
        async with websockets.connect(ws_url(server, cid)) as ws, httpx.AsyncClient(base_url=server.url) as http:
            await recv(ws)
            pid = (await http.post("/prompt", json={"prompt": modelfree_graph(), "client_id": cid})).json()["prompt_id"]
            before = (await http.get(f"/history/{pid}")).json()
            at = {}
            while True:
                msg = await recv(ws)
                if msg["type"] in ("execution_success", "executing") and msg["data"].get("node", "x") is None or \
                        msg["type"] == "execution_success":
                    at[msg["type"]] = (await http.get(f"/history/{pid}")).json()
                if msg["type"] == "executing" and msg["data"]["node"] is None:
                    return pid, before, at

    pid, before, at = asyncio.run(go())
    assert before == {}
    assert at["execution_success"][pid]["status"]["status_str"] == "success"
    assert at["executing"][pid]["outputs"]["4"]["images"][0]["filename"].startswith("modelfree_")
    assert httpx.get(server.url + "/history/does-not-exist").json() == {}


def test_execution_error_frame_and_history(mock_comfy):
    server = mock_comfy()
    graph = recorded("modelfree_error.json")["graph"]
    pid, frames = asyncio.run(run_one(server, graph))
    rec = recorded("modelfree_error.json")
    assert [f["type"] for f in frames] == [f["msg"]["type"] for f in rec["ws"][1:]]
    err = frames[-3]["data"]
    rec_err = rec["ws"][-3]["msg"]["data"]
    for key in ("node_id", "node_type", "executed", "exception_type", "traceback"):
        assert err[key] == rec_err[key]
    assert err["exception_message"].startswith("**** ERROR: Saving image outside the output folder is not allowed.")
    assert set(err["current_inputs"]) == set(rec_err["current_inputs"])
    entry = httpx.get(f"{server.url}/history/{pid}").json()[pid]
    assert entry["status"]["status_str"] == "error" and entry["status"]["completed"] is False
    assert [m[0] for m in entry["status"]["messages"]] == ["execution_start", "execution_cached", "execution_error"]
    assert entry["outputs"] == {}
    assert server.executions[-1]["status"] == "error"


def test_only_the_prompts_client_gets_execution_frames(mock_comfy):
    server = mock_comfy()

    async def go():
        async with websockets.connect(ws_url(server, "bystander")) as other:
            await recv(other)
            await run_one(server, modelfree_graph())
            await asyncio.sleep(0.1)
            types = []
            while True:
                try:
                    types.append((await recv(other, 0.2))["type"])
                except asyncio.TimeoutError:
                    return types

    assert set(asyncio.run(go())) == {"status"}


def test_prompt_without_client_id_broadcasts_progress_only(mock_comfy):
    server = mock_comfy()
    rec = recorded("misc.json")["no_client_id_bystander_ws"]

    async def go():
        async with websockets.connect(ws_url(server, "bystander")) as ws:
            await recv(ws)
            httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph(seed=5)})
            types = []
            while True:
                msg = await recv(ws)
                types.append(msg["type"])
                if msg["type"] == "status" and msg["data"]["status"]["exec_info"]["queue_remaining"] == 0:
                    return types

    assert asyncio.run(go()) == [f["msg"]["type"] for f in rec[1:]]


def test_reconnect_mid_run_gets_current_node(mock_comfy):
    server = mock_comfy(hang=True)

    async def go():
        cid = uuid.uuid4().hex
        async with websockets.connect(ws_url(server, cid)) as ws:
            await recv(ws)
            pid = httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph(), "client_id": cid}).json()
            while (await recv(ws))["type"] != "executing":
                pass
        async with websockets.connect(ws_url(server, cid)) as ws2:
            frames = [await recv(ws2), await recv(ws2)]
        httpx.post(server.url + "/interrupt")
        return pid, frames

    _, frames = asyncio.run(go())
    assert frames[0]["data"]["status"]["exec_info"]["queue_remaining"] == 1
    assert frames[1] == {"type": "executing", "data": {"node": "1"}}


def test_one_prompt_at_a_time(mock_comfy):
    server = mock_comfy(latency=0.2)
    for seed in (1, 2):
        assert httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph(seed=seed)}).status_code == 200
    wait_until(lambda: len(server.executions) == 2 and server.executions[1]["execution_end"] is not None)
    first, second = server.executions
    assert first["execution_end"] - first["execution_start"] >= 0.2
    assert second["execution_start"] >= first["execution_end"]


def test_ws_open_at_post_is_recorded(mock_comfy):
    server = mock_comfy()
    pid_open, _ = asyncio.run(run_one(server, modelfree_graph(seed=1)))
    closed = httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph(seed=2), "client_id": "nobody"})
    assert server.ws_open_at_post == {pid_open: True, closed.json()["prompt_id"]: False}


# ------------------------------------------------------------------ cache


def test_identical_graph_served_from_cache(mock_comfy):
    server = mock_comfy()
    rec = recorded("cached.json")["runs"]
    cid = uuid.uuid4().hex

    async def go():
        async with websockets.connect(ws_url(server, cid)) as ws, httpx.AsyncClient(base_url=server.url) as http:
            await recv(ws)
            runs = []
            for seed in (42, 42, 43):
                r = await http.post("/prompt", json={"prompt": modelfree_graph(seed, "probe/cached"), "client_id": cid})
                runs.append(await frames_until_done(ws, r.json()["prompt_id"]))
            return runs

    first, second, third = asyncio.run(go())
    assert normalise(second) == normalise([f["msg"] for f in rec[1]["ws"]])
    out1 = [f for f in first if f["type"] == "executed"][0]["data"]["output"]
    out2 = [f for f in second if f["type"] == "executed"][0]["data"]["output"]
    assert out1 == out2  # old filenames reported
    assert [f["data"]["nodes"] for f in third if f["type"] == "execution_cached"] == [["1"]]
    files = sorted(p.name for p in (server.output_dir / "probe").iterdir())
    assert files == ["cached_00001_.png", "cached_00002_.png", "cached_00003_.png", "cached_00004_.png"]


def test_cache_off_runs_everything_again(mock_comfy):
    server = mock_comfy(cache=False)
    graph = modelfree_graph()
    asyncio.run(run_one(server, graph))
    _, frames = asyncio.run(run_one(server, graph))
    assert [f["data"]["nodes"] for f in frames if f["type"] == "execution_cached"] == [[]]
    assert len(list((server.output_dir / "probe").iterdir())) == 4


# ------------------------------------------------------------------ queue and interrupt


def test_queue_delete_clear_interrupt_like_recording(mock_comfy):
    server = mock_comfy(hang=True)
    rec = recorded("interrupt_queue.json")
    post = lambda **kw: httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph(), **kw}).json()
    a = post()["prompt_id"]
    wait_until(lambda: len(server.executions) == 1)
    b, c = post()["prompt_id"], post()["prompt_id"]
    d_resp = post(front=True)
    d = d_resp["prompt_id"]
    assert d_resp["number"] < 0
    assert httpx.get(server.url + "/prompt").json() == rec["get_prompt"]["json"]
    queue = httpx.get(server.url + "/queue").json()
    assert [i[1] for i in queue["queue_running"]] == [a]
    assert [i[1] for i in queue["queue_pending"]] == [d, c, b]  # heap order, as recorded
    assert len(queue["queue_pending"][0]) == rec["queue_while_running"]["queue_pending"][0]["len"]

    r = httpx.post(server.url + "/queue", json={"delete": [b]})
    assert (r.status_code, r.content) == (200, b"")
    assert [i[1] for i in httpx.get(server.url + "/queue").json()["queue_pending"]] == [d, c]
    assert httpx.post(server.url + "/interrupt").status_code == 200
    wait_until(lambda: httpx.get(f"{server.url}/history/{a}").json())
    entry = httpx.get(f"{server.url}/history/{a}").json()[a]
    assert entry["status"]["status_str"] == "error" and entry["outputs"] == {}
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"
    wait_until(lambda: [i[1] for i in httpx.get(server.url + "/queue").json()["queue_running"]] == [d])
    httpx.post(server.url + "/queue", json={"clear": True})
    assert httpx.get(server.url + "/queue").json()["queue_pending"] == []
    httpx.post(server.url + "/interrupt", json={"prompt_id": "not-running"})
    time.sleep(0.05)
    assert httpx.get(f"{server.url}/history/{d}").json() == {}  # targeted interrupt of another id: no effect
    httpx.post(server.url + "/interrupt", json={"prompt_id": d})
    wait_until(lambda: httpx.get(f"{server.url}/history/{d}").json())
    assert httpx.get(f"{server.url}/history/{b}").json() == {}
    assert httpx.get(f"{server.url}/history/{c}").json() == {}
    assert list(httpx.get(server.url + "/history", params={"max_items": 2}).json()) == [a, d]
    assert [e["status"] for e in server.executions] == ["interrupted", "interrupted"]


def test_post_history_delete_and_clear(mock_comfy):
    server = mock_comfy()
    pid, _ = asyncio.run(run_one(server, modelfree_graph()))
    assert httpx.post(server.url + "/history", json={"delete": [pid]}).status_code == 200
    assert httpx.get(f"{server.url}/history/{pid}").json() == {}


# ------------------------------------------------------------------ /view and misc routes


def test_view_guards(mock_comfy):
    server = mock_comfy()
    pid, frames = asyncio.run(run_one(server, modelfree_graph()))
    image = [f for f in frames if f["type"] == "executed"][0]["data"]["output"]["images"][0]
    misc = recorded("misc.json")
    view = lambda **params: httpx.get(server.url + "/view", params=params).status_code
    assert view(filename="../secret.png") == misc["view_dotdot_filename"]["status"] == 400
    assert view(filename="/etc/passwd") == misc["view_abs_filename"]["status"] == 400
    assert view(filename=image["filename"], subfolder="../../..") == misc["view_subfolder_escape"]["status"] == 403
    assert view(filename=image["filename"], type="bogus") == misc["view_bad_type"]["status"] == 400
    assert view(filename="nope.png") == misc["view_missing_file"]["status"] == 404
    assert view() == misc["view_no_filename"]["status"] == 404
    assert view(**image) == 200
    assert view(filename=f"{image['filename']} [output]", subfolder="probe") == 200
    r = httpx.get(server.url + "/view", params={**image, "preview": "jpeg;90"})
    assert r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"


def test_api_prefix_and_misc_routes(mock_comfy):
    server = mock_comfy(checkpoints=["only.safetensors"])
    misc = recorded("misc.json")
    assert httpx.get(server.url + "/api/object_info/EmptyImage").json() == misc["GET /object_info/EmptyImage"]["json"]
    assert httpx.get(server.url + "/object_info/NoSuchNode").json() == {}
    assert httpx.get(server.url + "/api/features").json() == misc["GET /features"]["json"]
    assert httpx.get(server.url + "/api/prompt").json() == misc["GET /prompt"]["json"]
    assert httpx.get(server.url + "/models").json() == misc["GET /models"]["json"]
    assert httpx.get(server.url + "/api/models/checkpoints").json() == ["only.safetensors"]
    info = httpx.get(server.url + "/object_info").json()
    assert info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] == ["only.safetensors"]
    assert httpx.get(server.url + "/api/system_stats").json()["system"]["comfyui_version"] == "0.3.64"
    assert httpx.get(server.url + "/api/history/does-not-exist").json() == {}

    async def via_api_ws():
        cid = uuid.uuid4().hex
        async with websockets.connect(server.url.replace("http", "ws") + f"/api/ws?clientId={cid}") as ws:
            await recv(ws)
            async with httpx.AsyncClient(base_url=server.url) as http:
                r = await http.post("/api/prompt", json={"prompt": modelfree_graph(), "client_id": cid})
            return await frames_until_done(ws, r.json()["prompt_id"])

    assert asyncio.run(via_api_ws())[-1]["type"] == "executing"


def test_upload_image_and_name_clash(mock_comfy):
    server = mock_comfy()
    png = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(png, format="PNG")
    files = {"image": ("probe_upload.png", png.getvalue(), "image/png")}
    first = httpx.post(server.url + "/upload/image", files=files).json()
    second = httpx.post(server.url + "/upload/image", files=files).json()
    misc = recorded("misc.json")
    assert first == misc["upload_image_default"]["json"]
    assert second == misc["upload_image_name_clash"]["json"]
    r = httpx.get(server.url + "/view", params={"filename": "probe_upload.png", "type": "input"})
    assert r.status_code == 200 and r.content == png.getvalue()


# ------------------------------------------------------------------ faults


def test_fail_first_then_success(mock_comfy):
    server = mock_comfy(fail_first=1)
    pid1, frames1 = asyncio.run(run_one(server, txt2img_graph()))
    pid2, frames2 = asyncio.run(run_one(server, txt2img_graph()))
    err = [f for f in frames1 if f["type"] == "execution_error"][0]["data"]
    assert err["node_type"] == "KSampler" and err["node_id"] == "3"
    assert "injected" in err["exception_message"]
    assert any(f["type"] == "execution_success" for f in frames2)
    assert [e["status"] for e in server.executions] == ["error", "success"]
    assert httpx.get(f"{server.url}/history/{pid1}").json()[pid1]["status"]["status_str"] == "error"


def test_fail_rate_one_fails_every_execution(mock_comfy):
    server = mock_comfy(fail_rate=1.0)
    for seed in (1, 2):
        asyncio.run(run_one(server, txt2img_graph(seed=seed)))
    assert [e["status"] for e in server.executions] == ["error", "error"]


def test_http_500_rate(mock_comfy):
    server = mock_comfy(http_500_rate=1.0)
    r = httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph()})
    assert (r.status_code, r.text) == (500, "500 Internal Server Error\n\nServer got itself in trouble")
    assert len(server.received_prompts) == 1
    assert httpx.get(server.url + "/queue").json() == {"queue_running": [], "queue_pending": []}


def test_drop_ws_closes_socket_mid_run_but_run_completes(mock_comfy):
    server = mock_comfy(drop_ws=True, latency=0.2)

    async def go():
        cid = uuid.uuid4().hex
        async with websockets.connect(ws_url(server, cid)) as ws:
            await recv(ws)
            pid = httpx.post(server.url + "/prompt", json={"prompt": txt2img_graph(), "client_id": cid}).json()
            seen = []
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    seen.append((await recv(ws))["type"])
            return pid["prompt_id"], seen

    pid, seen = asyncio.run(go())
    assert "execution_start" in seen and "execution_success" not in seen
    wait_until(lambda: httpx.get(f"{server.url}/history/{pid}").json())
    assert httpx.get(f"{server.url}/history/{pid}").json()[pid]["status"]["status_str"] == "success"


def test_hang_never_finishes_until_interrupted(mock_comfy):
    server = mock_comfy(hang=True)
    pid = httpx.post(server.url + "/prompt", json={"prompt": txt2img_graph()}).json()["prompt_id"]
    time.sleep(0.4)
    assert httpx.get(f"{server.url}/history/{pid}").json() == {}
    assert [i[1] for i in httpx.get(server.url + "/queue").json()["queue_running"]] == [pid]
    httpx.post(server.url + "/interrupt")
    wait_until(lambda: httpx.get(f"{server.url}/history/{pid}").json())
    assert server.executions[0]["status"] == "interrupted"


def test_delete_pending_prompt_never_runs(mock_comfy):
    server = mock_comfy(delete_pending=True)
    r = httpx.post(server.url + "/prompt", json={"prompt": modelfree_graph()})
    pid = r.json()["prompt_id"]
    assert r.status_code == 200
    time.sleep(0.2)
    assert httpx.get(server.url + "/queue").json() == {"queue_running": [], "queue_pending": []}
    assert httpx.get(f"{server.url}/history/{pid}").json() == {}
    assert server.executions == []


def test_serve_runs_in_the_foreground_until_terminated(tmp_path):
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("from creative.mock.comfy import MockOptions, serve; "
            f"serve('127.0.0.1', {port}, MockOptions(checkpoints=['x.safetensors']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/models/checkpoints", timeout=0.5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert r.json() == ["x.safetensors"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.stdout.read() == b""  # library code logs, never prints
