"""Client for a RunPod serverless endpoint running worker-comfyui: the interface dispatch uses for ComfyUI.

The API: `POST /v2/<endpoint>/run` with `{"input": {"workflow": <API graph>}}` answers a job id;
`GET /status/<job>` goes IN_QUEUE -> IN_PROGRESS -> COMPLETED | FAILED | CANCELLED | TIMED_OUT,
with `delayTime` (queue and cold start) and `executionTime` in milliseconds; images come back as
`{"filename", "type": "base64" | "s3_url", "data"}`; `POST /cancel/<job>`; `GET /health`.
The API key travels only in the Authorization header: it is never part of a URL or a message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from typing import Any, Callable

import httpx

from creative.core.errors import ComfyError
from creative.core.mock import MOCK_HEADER
from creative.gen.client import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, RunOutput, _check_image, comfy_error

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.runpod.ai"
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
MAX_429_RETRIES = 6
MAX_POLL_S = 2.0  # polling backs off up to this while a job waits in the queue


class RunPodClient:
    """One serverless endpoint. `base_url` (the endpoint's address without the key) names it in runlogs."""

    assigns_ids = True  # the endpoint names its jobs; ComfyUI takes ours

    def __init__(self, endpoint_id: str, *, api_key: str, base_url: str = DEFAULT_BASE_URL,
                 http: httpx.AsyncClient | None = None, timeout_s: float = 600.0, poll_interval_s: float = 0.5,
                 clock: Callable[[], float] = time.time, max_image_bytes: int = MAX_IMAGE_BYTES):
        self.endpoint_id = endpoint_id
        self.base_url = f"{base_url.rstrip('/')}/v2/{endpoint_id}"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        self._own_http = http is None
        self.timeout_s, self.poll_interval_s, self.clock = timeout_s, poll_interval_s, clock
        self.max_image_bytes = max_image_bytes
        self.is_mock = False  # set by check(): the bundled mock endpoint says so

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    # -- requests ------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call's JSON answer; 429 is backed off and retried, 401 and 404 say what to fix."""
        return self._json(await self._send(method, path, **kwargs), path)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(MAX_429_RETRIES + 1):
            try:
                resp = await self.http.request(method, self.base_url + path, headers=self._headers, **kwargs)
            except httpx.HTTPError as exc:
                raise comfy_error(f"RunPod endpoint {self.endpoint_id} unreachable: {type(exc).__name__}",
                                  transient=True) from None
            if resp.status_code == 429 and attempt < MAX_429_RETRIES:
                wait = _retry_after(resp, attempt)
                log.info("RunPod endpoint %s: 429, retrying in %.1f s", self.endpoint_id, wait)
                await asyncio.sleep(wait)
                continue
            return resp
        raise AssertionError("unreachable")

    def _json(self, resp: httpx.Response, path: str) -> Any:
        where = f"RunPod endpoint {self.endpoint_id}"
        if resp.status_code == 401:
            raise comfy_error(f"{where}: the API key was refused (401)", transient=False,
                              hint="check the environment variable named by api_key_env in creative.yaml")
        if resp.status_code == 404:
            raise comfy_error(f"{where}: not found (404 for {path})", transient=False,
                              hint="check endpoint_id (and base_url) of this backend in creative.yaml")
        if resp.status_code == 429:
            raise comfy_error(f"{where}: still rate limited (429) after {MAX_429_RETRIES} retries", transient=True)
        if resp.status_code >= 400:
            raise comfy_error(f"{where}: HTTP {resp.status_code} for {path}", transient=resp.status_code >= 500)
        try:
            return resp.json()
        except ValueError:
            raise comfy_error(f"{where}: {path} did not answer JSON", transient=True) from None

    # -- the interface dispatch uses ------------------------------------------------------

    async def check(self) -> dict:
        """GET /health: jobs in queue and workers; fails before anything is spent when misconfigured."""
        resp = await self._send("GET", "/health")
        health = self._json(resp, "/health")
        self.is_mock = resp.headers.get(MOCK_HEADER) == "1"
        if not isinstance(health, dict):
            raise comfy_error(f"RunPod endpoint {self.endpoint_id}: /health answered {type(health).__name__}",
                              transient=True)
        return health

    async def node_info(self, classes: list[str]) -> dict:
        return {}  # a serverless endpoint does not publish its models; its error says what is missing

    async def check_models(self, graph: dict) -> None:
        return None

    async def run(self, graph: dict, output_node: str, *, on_progress: Callable[[int, int], None] | None = None,
                  timeout_s: float | None = None, prompt_id: str | None = None,
                  on_queued: Callable[[str], None] | None = None) -> RunOutput:
        """Submit the graph, follow the job to its end and return its images."""
        queued_at = self.clock()
        answer = await self._request("POST", "/run", json={"input": {"workflow": graph}})
        job_id = str((answer or {}).get("id") or "")
        if not job_id:
            raise comfy_error(f"RunPod endpoint {self.endpoint_id}: /run answered no job id", transient=True)
        if on_queued is not None:
            on_queued(job_id)
        try:
            status = await self._follow(job_id, self.timeout_s if timeout_s is None else timeout_s)
        except asyncio.CancelledError:
            await self._cancel_quietly(job_id)
            raise
        return await self._output(job_id, status, queued_at)

    async def collect(self, prompt_id: str, output_node: str, timeout_s: float) -> RunOutput | None:
        """A job queued earlier (e.g. before a crash): its images, waiting while it runs; None when gone."""
        try:
            status = await self._follow(prompt_id, timeout_s)
        except ComfyError:
            return None
        if status.get("status") != "COMPLETED":
            return None
        return await self._output(prompt_id, status, self.clock())

    async def cancel(self, prompt_ids: list[str] | set[str]) -> None:
        for job_id in prompt_ids:
            await self._request("POST", f"/cancel/{job_id}")

    # -- following a job --------------------------------------------------------------------

    async def _follow(self, job_id: str, limit: float) -> dict:
        deadline = time.monotonic() + limit
        wait = self.poll_interval_s
        while True:
            status = await self._request("GET", f"/status/{job_id}")
            state = str((status or {}).get("status", ""))
            if state in FINISHED:
                return status
            if time.monotonic() >= deadline:
                await self._cancel_quietly(job_id)
                raise comfy_error(f"RunPod job {job_id} did not finish within {limit:g} s (timeout; it was "
                                  f"{state.lower() or 'unknown'})", transient=True, kind="timeout",
                                  hint="raise comfyui.timeout_s or check the endpoint's workers")
            await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
            # In the queue a job may wait for a cold start: ask less often; running, ask at the base rate.
            wait = min(wait * 1.5, MAX_POLL_S) if state == "IN_QUEUE" else self.poll_interval_s

    async def _cancel_quietly(self, job_id: str) -> None:
        try:
            await asyncio.shield(self._request("POST", f"/cancel/{job_id}"))
        except (ComfyError, asyncio.CancelledError):
            log.info("could not cancel RunPod job %s", job_id)

    async def _output(self, job_id: str, status: dict, queued_at: float) -> RunOutput:
        state = status.get("status")
        where = f"RunPod job {job_id}"
        output = status.get("output") if isinstance(status.get("output"), dict) else {}
        if state != "COMPLETED":
            error = status.get("error") or output.get("error") or state
            kind = "cancelled" if state == "CANCELLED" else "timeout" if state == "TIMED_OUT" else "error"
            raise comfy_error(f"{where} {str(state).lower()}: {_one_line(error)}{_details(output)}",
                              transient=kind != "cancelled", kind=kind)
        if output.get("error"):
            raise comfy_error(f"{where} failed: {_one_line(output['error'])}{_details(output)}", transient=False)
        items = [i for i in output.get("images") or [] if isinstance(i, dict)]
        if not items:
            raise comfy_error(f"{where} completed with no images", transient=False,
                              hint="check `output` in the workflow's bind file")
        images = [await self._image(job_id, item) for item in items]
        execution_s = _seconds(status.get("executionTime"))
        delay_s = _seconds(status.get("delayTime"))
        return RunOutput(prompt_id=job_id, images=images, filenames=[str(i.get("filename", "")) for i in items],
                         queued_at=queued_at, started_at=None, ended_at=self.clock(), server=self.base_url,
                         gpu_seconds=execution_s, delay_seconds=delay_s)

    async def _image(self, job_id: str, item: dict) -> bytes:
        kind, data = item.get("type"), item.get("data")
        if not isinstance(data, str):
            raise comfy_error(f"RunPod job {job_id}: image {item.get('filename')!r} has no data", transient=True)
        if kind == "base64":
            if len(data) > self.max_image_bytes * 4 // 3 + 4:
                raise comfy_error(f"RunPod job {job_id}: image over {self.max_image_bytes} bytes", transient=False)
            try:
                raw = base64.b64decode(data.split(",", 1)[-1], validate=True)
            except (binascii.Error, ValueError):
                raise comfy_error(f"RunPod job {job_id}: image data is not base64", transient=True) from None
        elif kind == "s3_url":
            raw = await self._download(job_id, data)
        else:
            raise comfy_error(f"RunPod job {job_id}: unknown image type {kind!r}", transient=False)
        try:
            await asyncio.to_thread(_check_image, raw, MAX_IMAGE_PIXELS)
        except Exception as exc:  # Pillow raises many types for bad data
            raise comfy_error(f"RunPod job {job_id}: image is not readable ({exc})", transient=True) from None
        return raw

    async def _download(self, job_id: str, url: str) -> bytes:
        try:
            async with self.http.stream("GET", url) as resp:  # a presigned URL: no API key sent
                if resp.status_code != 200:
                    raise comfy_error(f"RunPod job {job_id}: image download answered HTTP {resp.status_code}",
                                      transient=True)
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_image_bytes:
                        raise comfy_error(f"RunPod job {job_id}: image over {self.max_image_bytes} bytes",
                                          transient=False)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise comfy_error(f"RunPod job {job_id}: image download failed ({type(exc).__name__})",
                              transient=True) from None
        return b"".join(chunks)


def _retry_after(resp: httpx.Response, attempt: int) -> float:
    try:
        return min(30.0, max(0.0, float(resp.headers.get("Retry-After", ""))))
    except ValueError:
        return min(8.0, 0.25 * 2 ** attempt)


def _seconds(ms: Any) -> float | None:
    return ms / 1000.0 if isinstance(ms, (int, float)) and ms >= 0 else None


def _details(output: dict) -> str:
    """worker-comfyui's `details` list (which node failed and why), as a suffix for the message."""
    details = output.get("details")
    if not isinstance(details, list) or not details:
        return ""
    return " (" + _one_line("; ".join(str(d) for d in details)) + ")"


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())[:300]
