"""Reaction times the tests check only by order and counts: how fast, measured here instead.

- the mock paints an ad-size background quickly (tests: deterministic, sized, seeded);
- the mock reports `execution_success` right after the output's `executed` frame, as a real server
  does (tests: no frame between them, and the image time is spent before `executed`);
- timeouts end the wait soon after they expire (tests: the client gave up while the server still
  held its answer): static research, Firecrawl, the ComfyUI client on a hung prompt;
- a pending prompt's polls follow the back-off schedule in real time, and a frame brings the next
  poll back to the interval at once (tests: the schedule the client decided, read from its state).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from common import Config, MockProcess, Result, fresh_seed_base, make_jobs, result

NAME = "reaction"
RENDER_SIZE = (1024, 1280)
MAX_RENDER_MS = 300.0  # the bar the test held before it moved here; about 150 ms on a quiet machine
MAX_SUCCESS_AFTER_EXECUTED_MS = 50.0
MAX_TIMEOUT_OVERRUN_S = 1.0
POLL_INTERVAL_S = 0.1
MAX_POLL_GAP_RATIO = 1.5  # actual gap / the gap the client chose
MAX_FRAME_TO_POLL_S = 0.45  # a frame resets the wait: the next poll comes one interval later, not 0.8 s


def render_ms(reps: int) -> Result:
    from creative.mock.render import render_background

    render_background(0, "warm up", 64, 80)  # imports and caches
    samples = []
    for seed in range(reps):
        start = time.perf_counter()
        render_background(9 + seed, "serum bottle on a plinth, soft studio light", *RENDER_SIZE)
        samples.append((time.perf_counter() - start) * 1000)
    return result(f"{NAME}.mock_render_ms", "ms", samples, limit=MAX_RENDER_MS,
                  extra={"size": list(RENDER_SIZE)})


async def _frame_times(url: str, graph: dict, output_node: str) -> dict[str, float]:
    """Arrival time of each frame kind (first one) for one prompt, on its own websocket."""
    import websockets

    cid = uuid.uuid4().hex
    async with websockets.connect(url.replace("http://", "ws://") + f"/ws?clientId={cid}") as ws:
        await ws.recv()  # the connect status frame
        async with httpx.AsyncClient(base_url=url) as http:
            await http.post("/prompt", json={"prompt": graph, "client_id": cid})
        arrived: dict[str, float] = {}
        while "execution_success" not in arrived:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if msg["type"] == "executed" and msg["data"].get("node") != output_node:
                continue
            arrived.setdefault(msg["type"], time.perf_counter())
        return arrived


def success_after_executed_ms(reps: int) -> Result:
    samples = []
    with MockProcess(0.4) as mock:
        for job in make_jobs(reps, fresh_seed_base()):
            arrived = asyncio.run(_frame_times(mock.url, job.graph, job.output_node))
            samples.append((arrived["execution_success"] - arrived["executed"]) * 1000)
    return result(f"{NAME}.mock_success_after_executed_ms", "ms", samples, limit=MAX_SUCCESS_AFTER_EXECUTED_MS,
                  extra={"latency_s": 0.4})


class _Held:
    """A local server whose every answer waits for release: only the client's timeout ends a request."""

    def __init__(self) -> None:
        self.released = threading.Event()


@contextmanager
def _held_server() -> Iterator[str]:
    held = _Held()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _hold(self) -> None:
            if self.path == "/robots.txt":  # answered at once: only the page itself is held
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            held.released.wait(30)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the client gave up long ago
                pass

        do_GET = do_POST = _hold

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        held.released.set()
        httpd.shutdown()
        httpd.server_close()


def _overrun(call, timeout_s: float) -> float:
    start = time.perf_counter()
    try:
        call()
    except Exception:  # noqa: BLE001 - the timeout error is the expected outcome
        pass
    return time.perf_counter() - start - timeout_s


def timeout_overruns(reps: int) -> list[Result]:
    from creative.research import research
    from creative.research.firecrawl import fetch_firecrawl

    with _held_server() as url:
        static = [_overrun(lambda: research(f"{url}/slow", timeout_s=0.2), 0.2) for _ in range(reps)]
        firecrawl = [_overrun(lambda: fetch_firecrawl("https://shop.example/p?slow", api_url=url, timeout_s=0.5,
                                                      env={}), 0.5) for _ in range(reps)]
    comfy = [_overrun(lambda: asyncio.run(_hung_prompt(0.5)), 0.5) for _ in range(reps)]
    return [result(f"{NAME}.{name}_timeout_overrun_s", "s", samples, limit=MAX_TIMEOUT_OVERRUN_S)
            for name, samples in (("research_static", static), ("firecrawl", firecrawl), ("comfy_client", comfy))]


async def _hung_prompt(timeout_s: float) -> None:
    from creative.gen.client import ComfyClient
    from creative.mock.comfy import MockOptions, MockServer

    job = make_jobs(1, fresh_seed_base())[0]
    with MockServer(MockOptions(hang=True)) as server:
        async with ComfyClient(server.url, timeout_s=timeout_s, poll_interval_s=POLL_INTERVAL_S) as client:
            await client.run(job.graph, job.output_node)


def _pending_then_started() -> tuple[list[float], float]:
    """Prompt B pending behind a hung A: gaps between B's first polls / the gap chosen, and the
    time from A's interrupt (B starts, its frames flow) to B's next poll."""
    from creative.gen.client import ComfyClient
    from creative.mock.comfy import MockOptions, MockServer

    a_job, b_job = make_jobs(2, fresh_seed_base())
    a_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())
    polls: list[tuple[float, float]] = []  # (time, wait chosen before it)
    real = ComfyClient._poll

    async def noted(self, state):
        if state.prompt_id == b_id:
            polls.append((time.perf_counter(), state.poll_every))
        await real(self, state)

    submitted: list[float] = []

    async def go(server) -> float:
        async with ComfyClient(server.url, timeout_s=30, poll_interval_s=POLL_INTERVAL_S) as client:
            a = asyncio.create_task(client.run(a_job.graph, a_job.output_node, prompt_id=a_id))
            while not server.executions:
                await asyncio.sleep(0.005)
            submitted.append(time.perf_counter())
            b = asyncio.create_task(client.run(b_job.graph, b_job.output_node, prompt_id=b_id))
            while len(polls) < 3:
                await asyncio.sleep(0.005)
            seen, interrupted = len(polls), time.perf_counter()
            async with httpx.AsyncClient() as other:
                await other.post(server.url + "/interrupt", json={"prompt_id": a_id})
            while len(polls) == seen:
                await asyncio.sleep(0.005)
            for task in (a, b):
                task.cancel()
            await asyncio.gather(a, b, return_exceptions=True)
            return polls[seen][0] - interrupted

    ComfyClient._poll = noted
    try:
        with MockServer(MockOptions(hang=True)) as server:
            to_next_poll = asyncio.run(go(server))
    finally:
        ComfyClient._poll = real
    times = submitted + [t for t, _ in polls[:3]]
    ratios = [(b - a) / chosen for (a, b), (_, chosen) in zip(zip(times, times[1:]), polls[:3])]
    return ratios, to_next_poll


def polling(reps: int) -> list[Result]:
    runs = [_pending_then_started() for _ in range(reps)]
    return [
        result(f"{NAME}.pending_poll_gap_ratio", "x", [max(r) for r, _ in runs], limit=MAX_POLL_GAP_RATIO,
               extra={"per_gap": [[round(x, 3) for x in r] for r, _ in runs],
                      "note": "B's first three polls while pending: actual gap / the wait the client chose"}),
        result(f"{NAME}.frame_to_next_poll_s", "s", [t for _, t in runs], limit=MAX_FRAME_TO_POLL_S,
               extra={"note": "interrupt of A (B starts, its frames flow) to B's next poll; backed off it "
                              "would be up to 0.8 s"}),
    ]


def run(cfg: Config) -> list[Result]:
    reps = max(cfg.reps, 3)
    return [render_ms(reps), success_after_executed_ms(reps), *timeout_overruns(reps), *polling(reps)]


if __name__ == "__main__":
    for r in run(Config(reps=3, quick=True)):
        print(f"{r.name:<48} median {r.median:.3f} {r.unit}  max {r.max:.3f}  target {r.target}  {r.passed}")
