"""Generation backends: ComfyUI servers and RunPod serverless endpoints, each with its price.

A backend is either a ComfyUI server URL or a RunPod endpoint (id, API key from an environment
variable, optional base URL). Both give a client with the same interface (check, run, collect),
so dispatch spreads jobs over any mix of them. Price: `usd_per_image`, or `usd_per_gpu_hour`
billed on the measured execution time (RunPod's `executionTime`; for ComfyUI the time from the
execution's start to its end), plus the cold-start delay where the provider bills it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Union

from creative.core.errors import ComfyError

if TYPE_CHECKING:  # the clients (httpx, websockets, asyncio) load when one is made: pricing needs none
    import httpx

    from creative.gen.client import ComfyClient, RunOutput
    from creative.gen.runpod import RunPodClient

Client = Union["ComfyClient", "RunPodClient"]


@dataclass(frozen=True)
class Backend:
    kind: Literal["comfyui", "runpod"] = "comfyui"
    url: str = ""  # ComfyUI: the server; RunPod: the API's base URL
    endpoint_id: str | None = None
    api_key_env: str = "RUNPOD_API_KEY"
    usd_per_image: float | None = None
    usd_per_gpu_hour: float | None = None
    bill_cold_start: bool = True  # RunPod bills a worker from the moment it starts, cold start included
    price_configured: bool = True  # False: a default price, which the bundled mock does not charge

    def priced_for(self, client: object) -> Backend:
        """This backend as billed once `client.check()` has answered: the bundled mock with no price of
        its own costs nothing, so a demo never touches a real budget."""
        if getattr(client, "is_mock", False) and not self.price_configured:
            return replace(self, usd_per_image=0.0, usd_per_gpu_hour=None)
        return self

    @property
    def name(self) -> str:
        """How the runlog and messages name it (never with a key)."""
        if self.kind == "runpod":
            from creative.gen.runpod import DEFAULT_BASE_URL

            return f"{(self.url or DEFAULT_BASE_URL).rstrip('/')}/v2/{self.endpoint_id}"
        return self.url

    def cost(self, out: RunOutput | None) -> float:
        """What one image made on this backend costs (an image whose timing is unknown: the per-image price)."""
        if self.usd_per_gpu_hour is None:
            return self.usd_per_image or 0.0
        seconds = _execution_seconds(out)
        if out is not None and self.bill_cold_start and out.delay_seconds:
            seconds += out.delay_seconds
        return round(self.usd_per_gpu_hour * seconds / 3600, 6)


def _execution_seconds(out: RunOutput | None) -> float:
    if out is None:
        return 0.0
    if out.gpu_seconds is not None:
        return out.gpu_seconds
    if out.started_at is not None:
        return max(0.0, out.ended_at - out.started_at)
    return 0.0


def as_backend(value: str | Backend) -> Backend:
    return value if isinstance(value, Backend) else Backend(kind="comfyui", url=value)


def make_client(backend: Backend, *, http: httpx.AsyncClient, timeout_s: float, poll_interval_s: float,
                clock: Callable[[], float] = time.time, env: Mapping[str, str] | None = None) -> Client:
    from creative.gen.client import ComfyClient
    from creative.gen.runpod import DEFAULT_BASE_URL, RunPodClient

    if backend.kind == "comfyui":
        return ComfyClient(backend.url, http=http, timeout_s=timeout_s, poll_interval_s=poll_interval_s, clock=clock)
    env = os.environ if env is None else env
    key = env.get(backend.api_key_env, "")
    if not key:
        raise ComfyError(f"RunPod endpoint {backend.endpoint_id}: the environment variable {backend.api_key_env} "
                         f"holding its API key is not set", hint=f"export {backend.api_key_env}=<your RunPod API key>")
    return RunPodClient(backend.endpoint_id or "", api_key=key, base_url=backend.url or DEFAULT_BASE_URL, http=http,
                        timeout_s=timeout_s, poll_interval_s=min(poll_interval_s, 0.5), clock=clock)
