"""A tiny aiohttp server that replays frames and answers recorded from real ComfyUI 0.3.64.

Unlike the mock (src/creative/comfy/mock.py) it does not simulate anything: it sends the
exact recorded websocket frames and HTTP bodies, with the recorded prompt_id swapped for the
client's own, so the client is checked against the real protocol byte for byte.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from pathlib import Path

from aiohttp import web
from PIL import Image

RECORDED = Path(__file__).resolve().parent / "fixtures" / "comfyui" / "recorded"


def load(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def png_bytes(color=(200, 80, 40), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def _swap(obj, old: str, new: str):
    return json.loads(json.dumps(obj).replace(old, new))


def _frames(rec: dict, pid: str) -> list[dict]:
    """The recorded text frames, with the recorded prompt_id swapped for `pid`."""
    old = rec["post"]["json"]["prompt_id"]
    return [_swap(f["msg"], old, pid) for f in rec["ws"] if f["kind"] == "text"]


class ReplayServer:
    """Modes: "success" (modelfree.json), "exec_error" (modelfree_error.json),
    "validation" (validation.json txt2img_missing_ckpt), "http500", "not_json" (POST /prompt
    answers 200 with an HTML page), "drop_ws" (success frames cut after execution_start,
    socket closed), "silent" (no frames at all, history only), "late_error" (the success
    frames up to the output node's `executed`, then the recorded execution_error: an output
    saved before another node failed).

    Hostile answers: `rename` overrides every output image's fields in history and in the
    `executed` frame (e.g. a filename of "../../../evil.png"); `view` is "image", "huge_header" (declares a 1 GB
    Content-Length, sends 64 KB) or "endless" (chunked, no length, 16 MB of bytes)."""

    def __init__(self, mode: str = "success", delay: float = 0.0, image: bytes | None = None,
                 fail_first: int = 0, rename: dict | None = None, view: str = "image"):
        self.mode, self.delay, self.fail_first = mode, delay, fail_first
        self.rename, self.view_mode = rename, view
        self.executions: list[dict] = []  # {"prompt_id", "start", "end"} in time.monotonic()
        self.view_paths: list[str] = []  # request.path of every /view request
        self._tasks: set[asyncio.Task] = set()
        self._lock: asyncio.Lock | None = None
        self.image = image if image is not None else png_bytes()
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.posts: list[dict] = []  # {"body": ..., "ws_open": bool}
        self.history: dict[str, dict] = {}
        self.queue: list[str] = []
        self.views: list[dict] = []
        self.history_requests: list[str] = []  # prompt ids asked for at /history/<id>
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle (own thread and loop, like a separate process) --
    def start(self) -> "ReplayServer":
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.add_routes([web.get("/ws", self.ws), web.post("/prompt", self.prompt),
                            web.get("/history/{pid}", self.get_history),
                            web.get("/queue", self.get_queue), web.get("/view", self.view),
                            web.get("/system_stats", self.stats),
                            web.post("/queue", self.ok), web.post("/interrupt", self.ok)])
            self._runner = web.AppRunner(app, shutdown_timeout=0.5)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        """Close sockets and stop listening; from now on connections are refused."""
        if self._loop:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        # Open websockets would otherwise hold the shutdown for its whole timeout.
        for sock in list(self.sockets.values()):
            await sock.close()
        await self._runner.cleanup()

    # -- routes --
    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        cid = request.query.get("clientId", "")
        self.sockets[cid] = sock
        await sock.send_json({"type": "status", "data": {"status": {"exec_info": {
            "queue_remaining": len(self.queue)}}, "sid": cid}})
        async for _ in sock:
            pass
        return sock

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(load("misc.json")["GET /api/system_stats"]["json"])

    async def ok(self, request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def get_queue(self, request: web.Request) -> web.Response:
        running = [[0, pid, {}, {}, ["4"]] for pid in self.queue[:1]]
        pending = [[i, pid, {}, {}, ["4"]] for i, pid in enumerate(self.queue[1:], 1)]
        return web.json_response({"queue_running": running, "queue_pending": pending})

    async def get_history(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        self.history_requests.append(pid)
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def view(self, request: web.Request) -> web.StreamResponse:
        self.views.append(dict(request.query))
        self.view_paths.append(request.path)
        if self.view_mode == "image":
            return web.Response(body=self.image, content_type="image/png")
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        if self.view_mode == "huge_header":
            resp.content_length = 10**9
        await resp.prepare(request)
        try:
            for _ in range(1 if self.view_mode == "huge_header" else 256):
                await resp.write(b"\x89PNG" + b"\0" * 65532)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return resp

    async def prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        cid, pid = body.get("client_id"), body.get("prompt_id")
        self.posts.append({"body": body, "ws_open": cid in self.sockets})
        if self.mode == "validation":
            return web.json_response(load("validation.json")["txt2img_missing_ckpt"]["json"],
                                     status=400)
        if self.mode == "http500":
            rec = load("validation.json")["non_json_content"]
            return web.Response(status=500, text=rec["text"], content_type="text/plain")
        if self.mode == "not_json":  # e.g. a proxy's login page in front of ComfyUI
            return web.Response(status=200, text="<html><body>Sign in</body></html>",
                                content_type="text/html")
        self.queue.append(pid)
        task = asyncio.get_running_loop().create_task(self._execute(cid, pid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"prompt_id": pid, "number": len(self.posts),
                                  "node_errors": {}})

    async def _execute(self, cid: str, pid: str) -> None:
        # One prompt at a time, like a real ComfyUI instance.
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            record = {"prompt_id": pid, "start": time.monotonic(), "end": None}
            self.executions.append(record)
            await self._execute_one(cid, pid)
            record["end"] = time.monotonic()

    async def _execute_one(self, cid: str, pid: str) -> None:
        failing = self.mode in ("exec_error", "late_error") or self.fail_first > 0
        self.fail_first -= 1
        rec = load("modelfree_error.json" if failing else "modelfree.json")
        frames = _frames(rec, pid)
        if failing:
            entry = rec["history"]["json"][rec["post"]["json"]["prompt_id"]]
        else:
            entry = rec["history_after_executing_null"]["json"][rec["post"]["json"]["prompt_id"]]
        entry = _swap(entry, rec["post"]["json"]["prompt_id"], pid)
        if self.mode == "late_error":
            saved = _frames(load("modelfree.json"), pid)
            upto = next(i for i, f in enumerate(saved) if f["type"] == "executed")
            frames = saved[:upto + 1] + frames[next(i for i, f in enumerate(frames)
                                                    if f["type"] == "execution_error"):]
        outputs = [f["data"]["output"] for f in frames if f["type"] == "executed"]
        for output in [*entry.get("outputs", {}).values(), *outputs]:
            for item in output.get("images", []):
                item.update(self.rename or {})
        await asyncio.sleep(self.delay)
        sock = self.sockets.get(cid)
        for frame in frames:
            if frame["type"] == "executing" and frame["data"].get("node") is None:
                self.history[pid] = entry  # real order: history first, then executing null
                self.queue.remove(pid)
            if self.mode == "silent":
                continue
            if self.mode == "drop_ws" and frame["type"] == "executing" and sock is not None:
                await sock.close()  # frames after this are lost, as in reconnect.json
                sock = None
                self.sockets.pop(cid, None)
                await asyncio.sleep(0.2)
            if sock is not None and not sock.closed:
                await sock.send_json(frame)
