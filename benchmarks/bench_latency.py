"""Client latency: from the mock's execution_success to the background being on disk."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from common import (Config, MockProcess, Result, attach_profile, execution_spans, fresh_seed_base, make_jobs,
                    profile_call, result)

NAME = "latency"
VARIANTS = 6
LATENCY_S = 0.25  # long enough that every image is finished one at a time, not in a burst
MAX_MS = 20.0
def one_run(mock: MockProcess) -> dict:
    """Per image: ms from execution_success to the 'done' event, and to the file's mtime."""
    from creative.gen.dispatch import generate_all

    events: dict[int, dict] = {}

    def on_event(name: str, payload: dict) -> None:
        # Stamp first: the callback runs right after the file was renamed into place.
        now = time.time()
        events.setdefault(payload["variant"], {})[name] = (now, payload)

    jobs = make_jobs(VARIANTS, fresh_seed_base())
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(generate_all(jobs, [mock.url], Path(tmp), on_event=on_event))
        mtimes = {job.variant: (Path(tmp) / job.filename).stat().st_mtime_ns / 1e9 for job in jobs}
    spans = execution_spans(mock.history())
    done_ms, mtime_ms = [], []
    for variant, seen in events.items():
        pid = seen["submitted"][1]["prompt_id"]
        finished = spans[pid][1]
        done_ms.append((seen["done"][0] - finished) * 1000)
        mtime_ms.append((mtimes[variant] - finished) * 1000)
    return {"done": done_ms, "mtime": mtime_ms}


def run(cfg: Config) -> list[Result]:
    with MockProcess(LATENCY_S) as mock:
        runs = [one_run(mock) for _ in range(cfg.reps)]
        every = [ms for r in runs for ms in r["done"]]
        res = result(f"{NAME}.success_to_file_ms", "ms", [statistics.median(r["done"]) for r in runs], limit=MAX_MS,
                     extra={"per_image_ms": [round(x, 2) for x in every],
                            "p90_ms": statistics.quantiles(every, n=10)[-1],
                            "to_mtime_median_ms": statistics.median(m for r in runs for m in r["mtime"]),
                            "note": "figure = median over repetitions of each run's per-image median; "
                                    "the mock's timestamps are whole ms (truncated), so figures read up to 1 ms high"})
        attach_profile([res], lambda: "client: " + profile_call(lambda: one_run(mock)))
    return [res]
