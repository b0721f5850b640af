"""Mock RunPod serverless endpoint (worker-comfyui API) over the project's own mock ComfyUI.

`/v2/<endpoint>/run`, `/status/<job>`, `/cancel/<job>` and `/health`, with a queue shared by N
workers. Each worker is one mock ComfyUI (mock/comfy.py) driven by the real ComfyUI client, so the
images are the mock's text-free backgrounds. Switches: cold starts (a worker that has not run yet,
or was idle longer than `idle_timeout`, waits `cold_start` seconds, reported in `delayTime`),
failures, 429 answers, images as base64 or as URLs served by the mock itself (`s3_url`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from creative.core.errors import ComfyError
from creative.core.mock import MOCK_HEADER
from creative.gen.client import ComfyClient
from creative.mock.app_thread import AppThread
from creative.mock.comfy import MockOptions, MockServer

log = logging.getLogger(__name__)

TEST_KEY = "test-key"  # the API key the mock accepts unless told otherwise


@dataclass
class RunPodOptions:
    endpoint_id: str = "mock-endpoint"
    api_key: str = TEST_KEY
    workers: int = 1
    latency: float = 0.0  # seconds of execution per image
    cold_start: float = 0.0  # seconds a cold worker needs before its first job
    idle_timeout: float = 60.0  # a worker idle this long is cold again
    fail_first: int = 0  # the first N jobs fail in the workflow
    rate_limit_every: int = 0  # every Nth request answers 429 (0: never)
    s3: bool = False  # images as URLs (`s3_url`) instead of base64
    execution_timeout: float = 0.0  # a job running longer ends TIMED_OUT, as the endpoint's policy says (0: never)


@dataclass
class _Job:
    id: str
    workflow: dict
    status: str = "IN_QUEUE"
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    output: dict | None = None
    error: str | None = None
    task: asyncio.Task | None = None


class MockRunPod:
    """The endpoint's state: jobs, the shared queue and the workers."""

    def __init__(self, options: RunPodOptions, comfy_urls: list[str]):
        self.options = options
        self.jobs: dict[str, _Job] = {}
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.requests = 0
        self.rate_limited = 0  # requests answered 429
        self.executed = 0  # jobs that produced images (what a real endpoint would bill)
        self.failures_left = options.fail_first
        self.s3: dict[str, bytes] = {}
        self._comfy_urls = comfy_urls
        self._warm_until = [0.0] * len(comfy_urls)
        self._busy = [False] * len(comfy_urls)
        self._workers: list[asyncio.Task] = []

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._worker(i)) for i in range(len(self._comfy_urls))]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _worker(self, index: int) -> None:
        async with ComfyClient(self._comfy_urls[index], timeout_s=3600, poll_interval_s=0.2) as comfy:
            while True:
                job = self.jobs[await self.queue.get()]
                if job.status != "IN_QUEUE":
                    continue  # cancelled while waiting
                self._busy[index] = True
                try:
                    if time.monotonic() > self._warm_until[index] and self.options.cold_start:
                        await asyncio.sleep(self.options.cold_start)
                    if job.status != "IN_QUEUE":
                        continue  # cancelled during the cold start
                    job.status, job.started = "IN_PROGRESS", time.monotonic()
                    # The job runs as its own task so that /cancel stops the job, never the worker.
                    job.task = asyncio.create_task(self._within_timeout(job, comfy))
                    await asyncio.wait({job.task})
                finally:
                    if job.task is not None and not job.task.done():
                        job.task.cancel()  # the worker itself is stopping
                    job.task = None
                    self._busy[index] = False
                    self._warm_until[index] = time.monotonic() + self.options.idle_timeout

    async def _within_timeout(self, job: _Job, comfy: ComfyClient) -> None:
        limit = self.options.execution_timeout
        if not limit:
            return await self._execute(job, comfy)
        try:
            await asyncio.wait_for(self._execute(job, comfy), limit)
        except asyncio.TimeoutError:
            job.status, job.finished = "TIMED_OUT", time.monotonic()
            job.error = f"job exceeded the endpoint's execution timeout of {limit:g} s"

    async def _execute(self, job: _Job, comfy: ComfyClient) -> None:
        output_node = next((k for k, v in job.workflow.items() if v.get("class_type") == "SaveImage"), None)
        if self.failures_left > 0:
            self.failures_left -= 1
            job.status, job.finished = "FAILED", time.monotonic()
            job.error = "Workflow execution error: Node Type: KSampler, Node ID: 3, Message: mock failure"
            job.output = {"error": job.error, "details": ["Node 3 (KSampler): mock failure"]}
            return
        try:
            out = await comfy.run(job.workflow, output_node or "9")
        except asyncio.CancelledError:
            if job.status != "CANCELLED":
                raise
            return  # /cancel: the status already says so
        except ComfyError as exc:
            job.status, job.finished, job.error = "FAILED", time.monotonic(), exc.message
            job.output = {"error": exc.message, "details": []}
            return
        self.executed += 1
        images = []
        for name, data in zip(out.filenames, out.images):
            if self.options.s3:
                key = f"{job.id}-{name}"
                self.s3[key] = data
                images.append({"filename": name, "type": "s3_url", "data": f"/s3/{key}"})
            else:
                images.append({"filename": name, "type": "base64", "data": base64.b64encode(data).decode()})
        job.output, job.status, job.finished = {"images": images}, "COMPLETED", time.monotonic()

    def status_of(self, job: _Job, base: str) -> dict[str, Any]:
        answer: dict[str, Any] = {"id": job.id, "status": job.status}
        start = job.started or job.finished
        if start is not None:
            answer["delayTime"] = round((start - job.submitted) * 1000)
        if job.started is not None and job.finished is not None:
            answer["executionTime"] = round((job.finished - job.started) * 1000)
        if job.status in ("COMPLETED", "FAILED") and job.output is not None:
            output = dict(job.output)
            if self.options.s3 and "images" in output:
                output["images"] = [{**i, "data": base + i["data"]} for i in output["images"]]
            answer["output"] = output
        if job.error:
            answer["error"] = job.error
        return answer

    def health(self) -> dict[str, Any]:
        states = [j.status for j in self.jobs.values()]
        busy = sum(self._busy)
        return {"jobs": {"completed": states.count("COMPLETED"), "failed": states.count("FAILED"),
                         "inProgress": states.count("IN_PROGRESS"), "inQueue": states.count("IN_QUEUE"),
                         "retried": 0},
                "workers": {"idle": len(self._busy) - busy, "running": busy}}


MOCK_KEY = web.AppKey("mock_runpod", MockRunPod)


def _guard(request: web.Request) -> MockRunPod:
    """Authentication, the endpoint id and the 429 switch, as RunPod answers them."""
    mock = request.app[MOCK_KEY]
    mock.requests += 1
    if request.headers.get("Authorization") != f"Bearer {mock.options.api_key}":
        raise web.HTTPUnauthorized(text="Unauthorized")
    if request.match_info["endpoint"] != mock.options.endpoint_id:
        raise web.HTTPNotFound(text="endpoint not found")
    every = mock.options.rate_limit_every
    if every and mock.requests % every == 0:
        mock.rate_limited += 1
        raise web.HTTPTooManyRequests(text="rate limited", headers={"Retry-After": "0.05"})
    return mock


async def _run(request: web.Request) -> web.Response:
    mock = _guard(request)
    try:
        body = await request.json()
        workflow = body["input"]["workflow"]
        assert isinstance(workflow, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        return web.json_response({"error": "input.workflow must be an API-format workflow"}, status=400)
    job = _Job(id=f"{uuid.uuid4()}-u1", workflow=workflow)
    mock.jobs[job.id] = job
    mock.queue.put_nowait(job.id)
    return web.json_response({"id": job.id, "status": job.status})


def _job(request: web.Request, mock: MockRunPod) -> _Job:
    job = mock.jobs.get(request.match_info["job"])
    if job is None:
        raise web.HTTPNotFound(text="job not found")
    return job


async def _status(request: web.Request) -> web.Response:
    mock = _guard(request)
    base = f"{request.scheme}://{request.host}"
    return web.json_response(mock.status_of(_job(request, mock), base))


async def _cancel(request: web.Request) -> web.Response:
    mock = _guard(request)
    job = _job(request, mock)
    if job.status in ("IN_QUEUE", "IN_PROGRESS"):
        job.status, job.finished = "CANCELLED", time.monotonic()
        if job.task is not None:
            job.task.cancel()
    return web.json_response({"id": job.id, "status": job.status})


async def _health(request: web.Request) -> web.Response:
    return web.json_response(_guard(request).health(), headers={MOCK_HEADER: "1"})


async def _s3(request: web.Request) -> web.Response:
    data = request.app[MOCK_KEY].s3.get(request.match_info["key"])
    if data is None:
        raise web.HTTPNotFound()
    return web.Response(body=data, content_type="image/png")


def make_app(mock: MockRunPod) -> web.Application:
    app = web.Application()
    app[MOCK_KEY] = mock
    app.router.add_post("/v2/{endpoint}/run", _run)
    app.router.add_get("/v2/{endpoint}/status/{job}", _status)
    app.router.add_post("/v2/{endpoint}/cancel/{job}", _cancel)
    app.router.add_get("/v2/{endpoint}/health", _health)
    app.router.add_get("/s3/{key}", _s3)

    async def start_workers(app: web.Application) -> None:
        app[MOCK_KEY].start()  # the workers' tasks need the app's running loop

    async def stop_workers(app: web.Application) -> None:
        await app[MOCK_KEY].stop()

    app.on_startup.append(start_workers)
    app.on_cleanup.append(stop_workers)
    return app


class MockRunPodServer:
    """The mock endpoint and its workers' mock ComfyUI servers, on free ports, in a background thread."""

    def __init__(self, options: RunPodOptions | None = None, host: str = "127.0.0.1", port: int = 0):
        self.options = options or RunPodOptions()
        self.host, self.port = host, port
        self._comfy: list[MockServer] = []
        self._server: AppThread | None = None
        self.state: MockRunPod | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MockRunPodServer:
        rng = random.Random(0)
        self._comfy = [MockServer(MockOptions(latency=self.options.latency, rng_seed=rng.randrange(1000))).start()
                       for _ in range(self.options.workers)]
        self.state = MockRunPod(self.options, [s.url for s in self._comfy])
        self._server = AppThread(make_app(self.state), self.host, self.port, name="mock-runpod",
                                 handler_cancellation=False).start()
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # its cleanup stops the workers
            self._server = None
        for server in self._comfy:
            server.stop()

    def __enter__(self) -> MockRunPodServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str, port: int, options: RunPodOptions) -> None:
    """`creative mock-runpod`: serve until Ctrl-C."""
    server = MockRunPodServer(options, host, port).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
