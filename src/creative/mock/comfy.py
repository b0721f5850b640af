"""Mock ComfyUI server (aiohttp) that behaves like the real ComfyUI 0.3.x recorded (tests/fixtures/comfyui).

Same routes (also under /api), same validation answers, one prompt at a time from a FIFO
(heap) queue, websocket frames in the recorded order, history written before the final
`executing {node: null}`, per-node cache, and `/view` guards. Backgrounds are painted by
`render`. Faults (failed executions, 500s, dropped sockets, hangs, deleted prompts) are
switched on through `MockOptions`.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import json
import logging
import mimetypes
import os
import random
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Callable

from aiohttp import WSMsgType, web
from PIL import Image

from creative.core.errors import InputError
from creative.core.mock import MOCK_HEADER

from .app_thread import AppThread
from .nodes import SAMPLER_CLASSES, NodeContext, NodeFailure, execution_order, node_signatures, run_node
from .object_info import OBJECT_INFO
from .validate import TRACEBACK_PLACEHOLDER, node_defs_with_checkpoints, validate_prompt

log = logging.getLogger(__name__)

COMFYUI_VERSION = "0.3.64"
SERVER_FEATURES = {"supports_preview_metadata": True, "max_upload_size": 104857600}
MODEL_FOLDERS = ["checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
                 "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models",
                 "custom_nodes", "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders"]
MAXIMUM_HISTORY_SIZE = 10000
INJECTED_FAILURE = "mock ComfyUI: injected execution failure (fail_first/fail_rate)\n"


def _default_checkpoints() -> list[str]:
    return ["sd_xl_base_1.0.safetensors", "sd_xl_refiner_1.0.safetensors", "v1-5-pruned-emaonly.safetensors"]


@dataclass
class MockOptions:
    """Behaviour switches for the mock server."""

    latency: float = 0.0  # seconds each prompt takes in all (drawing included), paced by sampler progress steps
    steps: int = 4  # progress frames per sampler node
    checkpoints: list[str] = field(default_factory=_default_checkpoints)
    fail_first: int = 0  # the first N executions end with execution_error
    fail_rate: float = 0.0  # probability that an execution ends with execution_error
    http_500_rate: float = 0.0  # probability that POST /prompt answers 500
    drop_ws: bool = False  # close the prompt's websocket mid-run (execution continues)
    hang: bool = False  # accept prompts, start them, never finish (until /interrupt or stop)
    delete_pending: bool = False  # a "bystander" deletes every accepted prompt before it can start
    cache: bool = True  # identical nodes are served from cache like ComfyUI's classic cache
    view_byte_interval: float = 0.0  # /view sends images one byte per this many seconds (0: at once)
    object_info_shape: str = "mapping"  # "list" or "string": /object_info answers a JSON list or string
    malformed_frames: bool = False  # each prompt's socket also gets frames of the wrong shape
    rng_seed: int = 0


# Frames of the right type with the wrong shape (a buggy extension or proxy): clients must survive them.
_MALFORMED_FRAMES = (
    ("execution_cached", {"nodes": 7}),
    ("executing", {"node": {"id": "3"}}),
    ("progress", {"value": "half", "max": None}),
    ("executed", {"node": "9", "output": "images"}),
)


def _server_error() -> web.Response:
    # Exactly what aiohttp answers when a ComfyUI handler raises (recorded: invalid JSON, UI workflow).
    return web.Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")


class _Interrupted(Exception):
    def __init__(self, node_id: str):
        self.node_id = node_id


class _ExecError(Exception):
    def __init__(self, node_id: str, exception_type: str, message: str, inputs: dict):
        self.node_id, self.exception_type, self.message, self.inputs = node_id, exception_type, message, inputs


def _describe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list) and value and isinstance(value[0], Image.Image):
        return f"IMAGE(batch={len(value)}, size={value[0].size[0]}x{value[0].size[1]})"
    return str(value)


class MockComfy:
    """State and behaviour of one mock ComfyUI instance (lives on the app's event loop)."""

    def __init__(self, options: MockOptions, output_dir: Path, input_dir: Path, temp_dir: Path,
                 clock: Callable[[], float] = time.time):
        self.options = options
        self.output_dir, self.input_dir, self.temp_dir = output_dir, input_dir, temp_dir
        self.clock = clock
        self.defs = node_defs_with_checkpoints(OBJECT_INFO, options.checkpoints)
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.queue: list[tuple] = []  # heap of (number, prompt_id, prompt, extra_data, outputs)
        self.running: tuple | None = None
        self.history: dict[str, dict] = {}
        self.number = 0
        self.cache: dict[str, tuple] = {}
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        self.received_prompts: list[Any] = []
        self.executions: list[dict] = []
        self.ws_open_at_post: dict[str, bool] = {}
        self.queued_at_post: list[int] = []  # prompts queued or running just after each accepted POST
        self.ws_client_ids: list[str] = []  # clientId of every socket opened, in order ("" if none)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every HTTP request
        self._rng_500 = random.Random(f"{options.rng_seed}:http500")
        self._rng_fail = random.Random(f"{options.rng_seed}:fail")
        self._run_count = 0
        self._wake: asyncio.Event | None = None
        self._interrupt: asyncio.Event | None = None
        self._worker_task: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()

    # ------------------------------------------------------------ lifecycle

    async def startup(self, app: web.Application) -> None:
        self._wake = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._worker_task = asyncio.create_task(self._worker())

    async def shutdown(self, app: web.Application) -> None:
        for ws in list(self.sockets.values()):
            await ws.close(code=1001, message=b"server shutdown")

    async def cleanup(self, app: web.Application) -> None:
        if self._worker_task:
            self._worker_task.cancel()
            try:
                await self._worker_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down anyway
                pass

    # ------------------------------------------------------------ messaging

    def queue_remaining(self) -> int:
        return len(self.queue) + (1 if self.running else 0)

    async def send(self, event: str, data: Any, sid: str | None = None) -> None:
        """Send a frame to `sid`, or to every socket when sid is None (ComfyUI's send_sync)."""
        message = json.dumps({"type": event, "data": data})
        targets = list(self.sockets.values()) if sid is None else [self.sockets[sid]] if sid in self.sockets else []
        for ws in targets:
            if ws.closed:
                continue
            try:
                await ws.send_str(message)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("mock comfy: dropping frame for a closed socket: %s", exc)

    async def broadcast_status(self) -> None:
        await self.send("status", {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}})

    # ------------------------------------------------------------ queue

    def _put(self, item: tuple) -> None:
        heapq.heappush(self.queue, item)
        assert self._wake is not None
        self._wake.set()

    def delete_pending(self, prompt_ids: set[str]) -> int:
        before = len(self.queue)
        self.queue = [item for item in self.queue if item[1] not in prompt_ids]
        heapq.heapify(self.queue)
        return before - len(self.queue)

    async def _worker(self) -> None:
        assert self._wake is not None
        while True:
            while not self.queue:
                self._wake.clear()
                await self._wake.wait()
            item = heapq.heappop(self.queue)
            self.running = item
            await self.broadcast_status()
            try:
                await self._execute(item)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a mock bug must not kill the queue
                log.exception("mock comfy: execution of %s crashed", item[1])
                self.running = None

    # ------------------------------------------------------------ execution

    def _ms(self) -> int:
        return int(self.clock() * 1000)

    async def _progress_state(self, prompt_id: str, pstate: dict, sid: str | None) -> None:
        await self.send("progress_state", {"prompt_id": prompt_id, "nodes": copy.deepcopy(pstate)}, sid)

    @staticmethod
    def _pnode(prompt_id: str, node: str, value: float, maximum: float, state: str) -> dict:
        return {"value": value, "max": maximum, "state": state, "node_id": node, "prompt_id": prompt_id,
                "display_node_id": node, "parent_node_id": None, "real_node_id": node}

    async def _drop_socket(self, sid: str | None) -> None:
        ws = self.sockets.pop(sid, None) if sid else None
        if ws is not None and not ws.closed:
            log.info("mock comfy: dropping websocket %s mid-run (drop_ws)", sid)
            # Closed in the background: the run must not wait for the client's close reply.
            task = asyncio.create_task(ws.close(code=1011, message=b"mock drop"))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _wait_or_interrupt(self, seconds: float | None, node: str) -> None:
        assert self._interrupt is not None
        if seconds is not None and seconds <= 0:
            if self._interrupt.is_set():
                raise _Interrupted(node)
            return
        try:
            await asyncio.wait_for(self._interrupt.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise _Interrupted(node)

    async def _report_output(self, prompt_id: str, node: str, ui: dict, cid: str | None,
                             ui_outputs: dict, meta: dict) -> None:
        """Record a node's UI output for history and send its `executed` frame (fresh or cached)."""
        ui_outputs[node] = ui
        meta[node] = {"node_id": node, "display_node": node, "parent_node": None, "real_node_id": node}
        if cid is not None:
            await self.send("executed", {"node": node, "display_node": node, "output": ui, "prompt_id": prompt_id}, cid)

    async def _execute(self, item: tuple) -> None:
        _number, prompt_id, prompt, extra_data, outputs = item
        opts = self.options
        cid = extra_data.get("client_id")
        self.client_id, self.last_node_id = cid, None
        assert self._interrupt is not None
        self._interrupt.clear()
        record = {"prompt_id": prompt_id, "execution_start": self.clock(), "execution_end": None, "status": "running"}
        self.executions.append(record)
        run_index = self._run_count
        self._run_count += 1
        inject_fail = run_index < opts.fail_first or (opts.fail_rate > 0 and self._rng_fail.random() < opts.fail_rate)

        messages: list = []

        async def add_message(event: str, data: dict, broadcast: bool = False) -> None:
            messages.append([event, data])
            if cid is not None or broadcast:
                await self.send(event, data, cid)

        await add_message("execution_start", {"prompt_id": prompt_id, "timestamp": self._ms()})
        if opts.malformed_frames and cid is not None:
            for event, data in _MALFORMED_FRAMES:
                await self.send(event, {**data, "prompt_id": prompt_id}, cid)
        sigs = node_signatures(prompt)
        order = execution_order(prompt, outputs, self.defs)
        if opts.cache:
            # Classic ComfyUI cache: entries not used by the current prompt are dropped.
            used = {sigs[n] for n in order}
            self.cache = {k: v for k, v in self.cache.items() if k in used}
            cached = [n for n in prompt if n in order and sigs[n] in self.cache]
        else:
            self.cache, cached = {}, []
        await add_message("execution_cached", {"nodes": cached, "prompt_id": prompt_id, "timestamp": self._ms()})

        to_run = [n for n in order if n not in cached]
        samplers = [n for n in to_run if prompt[n]["class_type"] in SAMPLER_CLASSES]
        total_steps = len(samplers) * max(1, opts.steps)
        # `latency` is the whole execution, like a GPU's image time: steps are paced against a clock
        # started now, leaving one step's share for decoding and saving. The rest is waited out after
        # the last node's work and before its frames: a real server sends `executed`, the last
        # progress_state and execution_success within a fraction of a millisecond (modelfree.json).
        started = asyncio.get_running_loop().time()
        step_share = opts.latency / (total_steps + 1) if total_steps else 0.0
        steps_done = 0
        special = samplers[0] if samplers else (to_run[0] if to_run else None)
        fail_node = special if inject_fail else None
        ctx = NodeContext(self.output_dir, self.input_dir, self.temp_dir, prompt, extra_data)
        values: dict = {}
        ui_outputs: dict = {}
        meta: dict = {}
        executed: list = []
        pstate: dict = {}
        dropped = waited = False
        loop = asyncio.get_running_loop()
        final: tuple[str, dict]
        try:
            for node in order:
                cls = prompt[node]["class_type"]
                if node in cached:
                    outs, ui = self.cache[sigs[node]]
                    values[node] = outs
                    executed.append(node)
                    if ui is not None:
                        await self._report_output(prompt_id, node, ui, cid, ui_outputs, meta)
                        pstate[node] = self._pnode(prompt_id, node, 1.0, 1.0, "finished")
                        await self._progress_state(prompt_id, pstate, cid)
                    continue

                pstate[node] = self._pnode(prompt_id, node, 0.0, 1.0, "running")
                await self._progress_state(prompt_id, pstate, cid)
                if cid is not None:
                    self.last_node_id = node
                    await self.send("executing", {"node": node, "display_node": node, "prompt_id": prompt_id}, cid)
                await self._wait_or_interrupt(0, node)
                if opts.drop_ws and not dropped and node == special and cls not in SAMPLER_CLASSES:
                    dropped = True
                    await self._drop_socket(cid)
                if opts.hang and node == special:
                    log.info("mock comfy: hanging prompt %s at node %s (hang)", prompt_id, node)
                    await self._wait_or_interrupt(None, node)
                if cls in SAMPLER_CLASSES:
                    steps = max(1, opts.steps)
                    for step in range(1, steps + 1):
                        steps_done += 1
                        await self._wait_or_interrupt(max(0.0, started + step_share * steps_done - loop.time()), node)
                        pstate[node] = self._pnode(prompt_id, node, step, steps, "running")
                        await self._progress_state(prompt_id, pstate, cid)
                        await self.send("progress", {"value": step, "max": steps, "prompt_id": prompt_id,
                                                     "node": node}, cid)
                        if opts.drop_ws and not dropped and step >= (steps + 1) // 2:
                            dropped = True
                            await self._drop_socket(cid)

                inputs = {name: (values[v[0]][v[1]] if isinstance(v, list) and len(v) == 2 else v)
                          for name, v in prompt[node]["inputs"].items()}
                if node == fail_node:
                    raise _ExecError(node, "RuntimeError", INJECTED_FAILURE, inputs)
                try:
                    outs, ui = await loop.run_in_executor(None, run_node, ctx, cls, inputs)
                except NodeFailure as exc:
                    raise _ExecError(node, exc.exception_type, str(exc), inputs) from exc
                except Exception as exc:  # noqa: BLE001 - any node crash is an execution_error
                    raise _ExecError(node, type(exc).__name__, str(exc), inputs) from exc
                values[node] = outs
                executed.append(node)
                if opts.cache:
                    self.cache[sigs[node]] = (outs, ui)
                if node == order[-1]:
                    await self._wait_or_interrupt(max(0.0, started + opts.latency - loop.time()), node)
                    waited = True
                if ui is not None:
                    await self._report_output(prompt_id, node, ui, cid, ui_outputs, meta)
                done = (steps, steps) if cls in SAMPLER_CLASSES else (1.0, 1.0)
                pstate[node] = self._pnode(prompt_id, node, done[0], done[1], "finished")
                await self._progress_state(prompt_id, pstate, cid)
            if order and not waited:  # the last node came from the cache
                await self._wait_or_interrupt(max(0.0, started + opts.latency - loop.time()), order[-1])
            final = ("execution_success", {"prompt_id": prompt_id, "timestamp": self._ms()})
            status = {"status_str": "success", "completed": True}
            record_status = "success"
        except _Interrupted as exc:
            final = ("execution_interrupted", {
                "prompt_id": prompt_id, "node_id": exc.node_id, "node_type": prompt[exc.node_id]["class_type"],
                "executed": executed, "timestamp": self._ms()})
            status = {"status_str": "error", "completed": False}
            record_status = "interrupted"
        except _ExecError as exc:
            current_inputs = {k: [_describe(v)] for k, v in exc.inputs.items()}
            if prompt[exc.node_id]["class_type"] in ("SaveImage", "PreviewImage"):
                current_inputs.update({"prompt": [str(prompt)], "extra_pnginfo": [extra_data.get("extra_pnginfo")]})
            final = ("execution_error", {
                "prompt_id": prompt_id, "node_id": exc.node_id, "node_type": prompt[exc.node_id]["class_type"],
                "executed": executed, "exception_message": exc.message, "exception_type": exc.exception_type,
                "traceback": list(TRACEBACK_PLACEHOLDER), "current_inputs": current_inputs,
                "current_outputs": list(prompt), "timestamp": self._ms()})
            status = {"status_str": "error", "completed": False}
            record_status = "error"
            log.info("mock comfy: prompt %s failed at node %s: %s", prompt_id, exc.node_id, exc.message.strip())

        messages.append(list(final))
        # History is written before any closing frame, so a client that sees execution_success or
        # executing {node: null} always finds the entry (recorded in race.json).
        self.running = None
        self.history[prompt_id] = {
            "prompt": list(item),
            "outputs": ui_outputs,
            "status": {**status, "messages": messages},
            "meta": meta,
        }
        while len(self.history) > MAXIMUM_HISTORY_SIZE:
            self.history.pop(next(iter(self.history)))
        record["execution_end"] = self.clock()
        record["status"] = record_status
        record["cached_nodes"] = cached
        if cid is not None or final[0] == "execution_interrupted":
            await self.send(final[0], final[1], cid)
        await self.broadcast_status()
        if cid is not None:
            await self.send("executing", {"node": None, "prompt_id": prompt_id}, cid)
        self.client_id, self.last_node_id = None, None

    # ------------------------------------------------------------ routes

    async def ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=2.0)  # bounded wait for a client's close reply
        await ws.prepare(request)
        sid = request.rel_url.query.get("clientId", "")
        self.ws_client_ids.append(sid)
        if sid:
            self.sockets.pop(sid, None)  # reusing a session replaces the old socket
        else:
            sid = uuid.uuid4().hex
        self.sockets[sid] = ws
        try:
            await self.send("status", {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}},
                                       "sid": sid}, sid)
            if self.client_id == sid and self.last_node_id is not None:
                await self.send("executing", {"node": self.last_node_id}, sid)
            first = True
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        data = None
                    if first and isinstance(data, dict) and data.get("type") == "feature_flags":
                        await self.send("feature_flags", SERVER_FEATURES, sid)
                    first = False
        finally:
            if self.sockets.get(sid) is ws:
                del self.sockets[sid]
        return ws

    async def post_prompt(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            json_data = json.loads(raw)
        except ValueError:
            self.received_prompts.append(raw.decode("utf-8", "replace"))
            log.warning("mock comfy: POST /prompt body is not JSON")
            return _server_error()
        self.received_prompts.append(copy.deepcopy(json_data))
        if self.options.http_500_rate > 0 and self._rng_500.random() < self.options.http_500_rate:
            log.info("mock comfy: injected HTTP 500 on POST /prompt")
            return _server_error()
        try:
            return await self._queue_prompt(json_data)
        except Exception as exc:  # noqa: BLE001 - ComfyUI crashes on these shapes; aiohttp answers 500
            log.warning("mock comfy: POST /prompt crashed like ComfyUI would: %r", exc)
            return _server_error()

    async def _queue_prompt(self, json_data: Any) -> web.Response:
        if "number" in json_data:
            number = float(json_data["number"])
        else:
            number = self.number
            if "front" in json_data and json_data["front"]:
                number = -number
            self.number += 1
        if "prompt" not in json_data:
            error = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided",
                     "extra_info": {}}
            return web.json_response({"error": error, "node_errors": {}}, status=400)
        prompt = json_data["prompt"]
        prompt_id = str(json_data.get("prompt_id", uuid.uuid4()))
        valid = validate_prompt(prompt, self.defs, json_data.get("partial_execution_targets"))
        extra_data = json_data["extra_data"] if "extra_data" in json_data else {}
        if "client_id" in json_data:
            extra_data["client_id"] = json_data["client_id"]
        if not valid[0]:
            log.info("mock comfy: invalid prompt: %s", valid[1]["message"])
            return web.json_response({"error": valid[1], "node_errors": valid[3]}, status=400)
        cid = extra_data.get("client_id")
        ws = self.sockets.get(cid) if isinstance(cid, str) else None
        self.ws_open_at_post[prompt_id] = ws is not None and not ws.closed
        self._put((number, prompt_id, prompt, extra_data, valid[2]))
        self.queued_at_post.append(self.queue_remaining())
        if self.options.delete_pending:
            # The bystander acts before the worker can pick the prompt up.
            self.delete_pending({prompt_id})
            log.info("mock comfy: bystander deleted queued prompt %s (delete_pending)", prompt_id)
            await self.broadcast_status()
        await self.broadcast_status()
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": valid[3]})

    async def get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self.queue_remaining()}})

    async def get_queue(self, request: web.Request) -> web.Response:
        running = [list(self.running)] if self.running else []
        return web.json_response({"queue_running": running, "queue_pending": [list(i) for i in self.queue]})

    async def post_queue(self, request: web.Request) -> web.Response:
        data = await request.json()
        if data.get("clear"):
            self.queue = []
            await self.broadcast_status()
        if "delete" in data:
            if self.delete_pending(set(data["delete"])):
                await self.broadcast_status()
        return web.Response(status=200)

    async def post_interrupt(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
        except ValueError:
            data = {}
        target = data.get("prompt_id") if isinstance(data, dict) else None
        assert self._interrupt is not None
        if target:
            if self.running and self.running[1] == target:
                self._interrupt.set()
        else:
            self._interrupt.set()
        return web.Response(status=200)

    async def get_history(self, request: web.Request) -> web.Response:
        q = request.rel_url.query
        max_items = int(q["max_items"]) if "max_items" in q else None
        offset = int(q.get("offset", -1))
        if offset < 0 and max_items is not None:
            offset = len(self.history) - max_items
        out: dict = {}
        for i, key in enumerate(self.history):
            if i >= offset:
                out[key] = self.history[key]
                if max_items is not None and len(out) >= max_items:
                    break
        return web.json_response(out)

    async def get_history_item(self, request: web.Request) -> web.Response:
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def post_history(self, request: web.Request) -> web.Response:
        data = await request.json()
        if data.get("clear"):
            self.history.clear()
        for pid in data.get("delete", []):
            self.history.pop(pid, None)
        return web.Response(status=200)

    def _dir_for_type(self, kind: str) -> Path | None:
        return {"output": self.output_dir, "input": self.input_dir, "temp": self.temp_dir}.get(kind)

    async def view(self, request: web.Request) -> web.Response:
        q = request.rel_url.query
        if "filename" not in q:
            return web.Response(status=404)
        filename = q["filename"]
        base: Path | None = None
        for kind in ("output", "input", "temp"):  # ComfyUI's "name.png [output]" annotation
            if filename.endswith(f" [{kind}]"):
                filename, base = filename[: -len(kind) - 3], self._dir_for_type(kind)
        if not filename or filename[0] == "/" or ".." in filename:
            return web.Response(status=400)
        if base is None:
            base = self._dir_for_type(q.get("type", "output"))
        if base is None:
            return web.Response(status=400)
        root = os.path.abspath(base)
        folder = root
        if "subfolder" in q:
            folder = os.path.join(root, q["subfolder"])
            if os.path.commonpath((os.path.abspath(folder), root)) != root:
                return web.Response(status=403)
        name = os.path.basename(filename)
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return web.Response(status=404)
        headers = {"Content-Disposition": f'filename="{name}"'}
        if "preview" in q:
            fmt = q["preview"].split(";")[0] or "webp"
            fmt = fmt if fmt in ("webp", "jpeg") else "webp"
            buf = BytesIO()
            with Image.open(path) as img:
                img.convert("RGB").save(buf, format=fmt.upper())
            return web.Response(body=buf.getvalue(), content_type=f"image/{fmt}", headers=headers)
        channel = q.get("channel", "rgba")
        if channel in ("rgb", "a"):
            buf = BytesIO()
            with Image.open(path) as img:
                img = img.convert("RGBA")
                out = img.convert("RGB") if channel == "rgb" else img.getchannel("A")
                out.save(buf, format="PNG")
            return web.Response(body=buf.getvalue(), content_type="image/png", headers=headers)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if self.options.view_byte_interval > 0:
            return await self._trickle(request, Path(path).read_bytes(), content_type, headers)
        return web.Response(body=Path(path).read_bytes(), content_type=content_type, headers=headers)

    async def _trickle(self, request: web.Request, body: bytes, content_type: str,
                       headers: dict) -> web.StreamResponse:
        """A /view that stalls: one byte per `view_byte_interval`, so no read ever times out."""
        resp = web.StreamResponse(headers={**headers, "Content-Type": content_type})
        resp.content_length = len(body)
        await resp.prepare(request)
        try:
            for i in range(len(body)):
                await resp.write(body[i:i + 1])
                await asyncio.sleep(self.options.view_byte_interval)
        except (ConnectionError, RuntimeError):
            pass  # the client gave up, as it should
        return resp

    async def upload_image(self, request: web.Request) -> web.Response:
        post = await request.post()
        image = post.get("image")
        if image is None or not hasattr(image, "file"):
            return web.Response(status=400)
        base = self._dir_for_type(str(post.get("type", "input")) or "input") or self.input_dir
        subfolder = str(post.get("subfolder", ""))
        folder = os.path.abspath(os.path.join(base, subfolder))
        if os.path.commonpath((folder, os.path.abspath(base))) != os.path.abspath(base):
            return web.Response(status=400)
        os.makedirs(folder, exist_ok=True)
        name = os.path.basename(image.filename or "upload.png")
        stem, ext = os.path.splitext(name)
        n = 1
        while str(post.get("overwrite", "")).lower() != "true" and os.path.exists(os.path.join(folder, name)):
            name = f"{stem} ({n}){ext}"
            n += 1
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(image.file.read())
        return web.json_response({"name": name, "subfolder": subfolder, "type": post.get("type", "input") or "input"})

    def _misshapen_object_info(self) -> web.Response | None:
        shape = self.options.object_info_shape
        if shape == "list":
            return web.json_response(sorted(self.defs))
        if shape == "string":
            return web.json_response("object_info is disabled on this server")
        return None

    async def object_info(self, request: web.Request) -> web.Response:
        return self._misshapen_object_info() or web.json_response(self.defs)

    async def object_info_node(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        return self._misshapen_object_info() or web.json_response({name: self.defs[name]} if name in self.defs else {})

    async def features(self, request: web.Request) -> web.Response:
        return web.json_response(SERVER_FEATURES)

    async def system_stats(self, request: web.Request) -> web.Response:
        return web.json_response({
            "system": {"os": os.name, "ram_total": 17179869184, "ram_free": 16106127360,
                       "comfyui_version": COMFYUI_VERSION, "required_frontend_version": "1.27.10",
                       "installed_templates_version": "0.1.95", "required_templates_version": "0.1.95",
                       "python_version": "mock", "pytorch_version": "mock", "embedded_python": False,
                       "argv": ["creative", "mock-comfy"]},
            "devices": [{"name": "mock", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0,
                         "torch_vram_total": 0, "torch_vram_free": 0}],
        }, headers={MOCK_HEADER: "1"})  # so that a demo is never charged to a real budget

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response(MODEL_FOLDERS)

    async def models_in_folder(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in MODEL_FOLDERS:
            return web.Response(status=404)
        return web.json_response(list(self.options.checkpoints) if folder == "checkpoints" else [])

    async def embeddings(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def ok(self, request: web.Request) -> web.Response:
        return web.Response(status=200)

    def routes(self) -> list[tuple[str, str, Callable]]:
        return [
            ("GET", "/ws", self.ws_handler),
            ("POST", "/prompt", self.post_prompt),
            ("GET", "/prompt", self.get_prompt),
            ("GET", "/queue", self.get_queue),
            ("POST", "/queue", self.post_queue),
            ("POST", "/interrupt", self.post_interrupt),
            ("GET", "/history", self.get_history),
            ("GET", "/history/{prompt_id}", self.get_history_item),
            ("POST", "/history", self.post_history),
            ("GET", "/view", self.view),
            ("POST", "/upload/image", self.upload_image),
            ("GET", "/object_info", self.object_info),
            ("GET", "/object_info/{node_class}", self.object_info_node),
            ("GET", "/features", self.features),
            ("GET", "/system_stats", self.system_stats),
            ("GET", "/models", self.models),
            ("GET", "/models/{folder}", self.models_in_folder),
            ("GET", "/embeddings", self.embeddings),
            ("POST", "/free", self.ok),
        ]


MOCK_KEY = web.AppKey("mock", MockComfy)


def build_app(options: MockOptions | None = None, output_dir: Path | None = None, *,
              clock: Callable[[], float] = time.time) -> web.Application:
    """aiohttp app for a mock ComfyUI; `output_dir` receives SaveImage files (default: a temp dir)."""
    options = options or MockOptions()
    owned: list[Path] = []
    if output_dir is None:
        output_dir = Path(tempfile.mkdtemp(prefix="mock-comfy-out-"))
        owned.append(output_dir)
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="mock-comfy-"))
    owned.append(scratch)
    (scratch / "input").mkdir()
    (scratch / "temp").mkdir()
    state = MockComfy(options, output_dir, scratch / "input", scratch / "temp", clock=clock)

    @web.middleware
    async def record(request: web.Request, handler: Callable) -> web.StreamResponse:
        state.requests.append((request.method, request.path))
        return await handler(request)

    app = web.Application(client_max_size=100 * 1024 * 1024, middlewares=[record])
    app[MOCK_KEY] = state
    for method, path, handler in state.routes():
        app.router.add_route(method, path, handler)
        app.router.add_route(method, "/api" + path, handler)  # ComfyUI serves every route under /api too

    async def remove_owned(_app: web.Application) -> None:
        for path in owned:
            shutil.rmtree(path, ignore_errors=True)

    app.on_startup.append(state.startup)
    app.on_shutdown.append(state.shutdown)
    app.on_cleanup.append(state.cleanup)
    app.on_cleanup.append(remove_owned)
    return app


class MockServer:
    """Runs a mock ComfyUI in a background thread with its own event loop."""

    def __init__(self, options: MockOptions | None = None, host: str = "127.0.0.1", port: int = 0,
                 output_dir: Path | None = None):
        self.options = options or MockOptions()
        self.host, self.port = host, port
        self._output_dir = output_dir
        self.app: web.Application | None = None
        self._server: AppThread | None = None

    @property
    def state(self) -> MockComfy:
        assert self.app is not None, "MockServer not started"
        return self.app[MOCK_KEY]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def output_dir(self) -> Path:
        return self.state.output_dir

    @property
    def received_prompts(self) -> list:
        return self.state.received_prompts

    @property
    def executions(self) -> list[dict]:
        return self.state.executions

    @property
    def ws_open_at_post(self) -> dict[str, bool]:
        return self.state.ws_open_at_post

    @property
    def queued_at_post(self) -> list[int]:
        return self.state.queued_at_post

    @property
    def ws_client_ids(self) -> list[str]:
        return self.state.ws_client_ids

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self.state.requests

    @property
    def history(self) -> dict[str, dict]:
        return self.state.history

    def start(self) -> MockServer:
        self.app = build_app(self.options, self._output_dir)
        # Like ComfyUI, a request whose client went away still runs to its end (a prompt stays queued).
        self._server = AppThread(self.app, self.host, self.port, name="mock-comfy", handler_cancellation=False).start()
        self.port = self._server.port
        log.info("mock ComfyUI listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str, port: int, options: MockOptions, on_listening: Callable[[], None] | None = None) -> None:
    """Run a mock ComfyUI in the foreground until interrupted (for `creative mock-comfy`).

    The port is bound first, so a port in use is an InputError naming it (exit 2), not an
    aiohttp traceback; `on_listening` runs once the port is ours (the command's banner).
    """
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise InputError(f"mock ComfyUI cannot listen on port {port} of {host}: {reason}",
                         hint="pick another port with --port, or stop what is using it") from None
    log.info("mock ComfyUI serving on http://%s:%s", host, port)
    if on_listening is not None:
        on_listening()
    web.run_app(build_app(options), sock=sock, print=None, access_log=None)
