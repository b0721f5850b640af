"""What generation costs: the configured backends with their prices, and the estimate the budget reserves.

GPU-hour prices are estimated from the median execution time of the workflow's recent images (read
from the runlogs), or `budget.fallback_gpu_seconds` before any was measured.
"""

from __future__ import annotations

import statistics

from creative.core.config import Settings
from creative.gen.backends import Backend
from creative.run.folder import RunsRoot

RECENT_RUNS = 20


def backends_for(settings: Settings) -> list[Backend]:
    """The configured backends with their prices; bare server URLs cost `budget.cost_per_image_usd`.

    A price is "configured" when the backend has its own or `cost_per_image_usd` was set (file or
    environment); otherwise the bundled mock charges nothing (Backend.priced_for).
    """
    default = settings.budget.cost_per_image_usd
    default_set = "cost_per_image_usd" in settings.budget.model_fields_set
    if not settings.comfyui.backends:
        return [Backend(kind="comfyui", url=url, usd_per_image=default, price_configured=default_set)
                for url in settings.comfyui.urls]
    backends = []
    for b in settings.comfyui.backends:
        own = b.usd_per_image is not None or b.usd_per_gpu_hour is not None
        backends.append(Backend(
            kind=b.type, url=(b.url if b.type == "comfyui" else b.base_url) or "", endpoint_id=b.endpoint_id,
            api_key_env=b.api_key_env, bill_cold_start=b.bill_cold_start, usd_per_gpu_hour=b.usd_per_gpu_hour,
            usd_per_image=b.usd_per_image if own else default, price_configured=own or default_set))
    return backends


def estimate_per_image(settings: Settings, gpu_seconds: float | None, backends: list[Backend] | None = None) -> float:
    """The dearest backend's price for one image: jobs may land on any of them."""
    seconds = gpu_seconds or settings.budget.fallback_gpu_seconds
    prices = [b.usd_per_image or 0.0 if b.usd_per_gpu_hour is None else b.usd_per_gpu_hour * seconds / 3600
              for b in (backends_for(settings) if backends is None else backends)]
    return round(max(prices, default=0.0), 6)


def recent_gpu_seconds(runs: RunsRoot, workflow: str) -> float | None:
    """Median measured execution time of one image of `workflow` over the latest runs, if any was measured."""
    seconds: list[float] = []
    for folder in reversed(runs.runs()[-RECENT_RUNS:]):
        try:
            runlog = folder.read_runlog()
        except Exception:  # an unreadable runlog is no evidence either way
            continue
        for variant in runlog.variants:
            if variant.workflow == workflow:
                seconds += [a.gpu_seconds for a in variant.attempts if a.billed and a.gpu_seconds]
    return statistics.median(seconds) if seconds else None
