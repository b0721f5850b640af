"""Generation: 6 variants on 1, 2 and 3 mock servers against a plain sequential client."""

from __future__ import annotations

import asyncio
import math
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from common import (Config, MockProcess, Result, attach_profile, busy_seconds, execution_spans, fresh_seed_base,
                    make_jobs, mocks, profile_call, result)

NAME = "generation"
VARIANTS = 6
LATENCY_S = 1.0
SERVER_COUNTS = (1, 2, 3)
MAX_RATIO = 1.10
MIN_SPEEDUP_3 = 2.7
POLL_S = 0.01


def sequential(jobs: list, servers: list[MockProcess], out_dir: Path) -> None:
    """The naive client on the first server: post, wait for the history entry, download, write, next."""
    with httpx.Client(base_url=servers[0].url, timeout=30.0) as http:
        for job in jobs:
            pid = str(uuid.uuid4())
            http.post("/prompt", json={"prompt": job.graph, "client_id": uuid.uuid4().hex, "prompt_id": pid})
            entry = _wait_history(http, pid)
            image = entry["outputs"][job.output_node]["images"][0]
            data = http.get("/view", params={k: image[k] for k in ("filename", "subfolder", "type")}).content
            (out_dir / f"v{job.variant:02d}.png").write_bytes(data)


def _wait_history(http: httpx.Client, pid: str) -> dict:
    while True:
        entry = http.get(f"/history/{pid}").json().get(pid)
        if entry and entry.get("status", {}).get("completed"):
            return entry
        time.sleep(POLL_S)


def dispatched(jobs: list, servers: list[MockProcess], out_dir: Path) -> None:
    """Our dispatch: every job at once, least busy server first."""
    from creative.gen.dispatch import generate_all

    results = asyncio.run(generate_all(jobs, [s.url for s in servers], out_dir))
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"generation failed in the benchmark: {failed[0].error}")


def timed(fn, jobs: list, servers: list[MockProcess]) -> tuple[float, float]:
    """(wall seconds, mock-limited ideal: the busiest server's execution time)."""
    for server in servers:
        server.clear_history()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fn(jobs, servers, Path(tmp))
        wall = time.perf_counter() - start
    busiest = max(busy_seconds(list(execution_spans(s.history()).values())) for s in servers)
    return wall, busiest


def one_repetition(rep: int, pool: list[MockProcess]) -> dict:
    """Every configuration once; the order flips on odd repetitions to spread drift evenly."""
    configs = [("sequential", 1)] + [("dispatch", n) for n in SERVER_COUNTS]
    if rep % 2:
        configs.reverse()
    out = {}
    for kind, count in configs:
        jobs = make_jobs(VARIANTS, fresh_seed_base())
        fn = sequential if kind == "sequential" else dispatched
        out[(kind, count)] = timed(fn, jobs, pool[:count])
    return out


def run(cfg: Config) -> list[Result]:
    with mocks(max(SERVER_COUNTS), LATENCY_S) as pool:
        reps = [one_repetition(i, pool) for i in range(cfg.reps)]
        results = _results(reps)
        attach_profile(results, lambda: _profile(pool))
    return results


def _profile(pool: list[MockProcess]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return "client side, 3 servers: " + profile_call(
            lambda: dispatched(make_jobs(VARIANTS, fresh_seed_base()), pool, Path(tmp)))


def _results(reps: list[dict]) -> list[Result]:
    seq = [r[("sequential", 1)][0] for r in reps]
    out = [result(f"{NAME}.sequential_1server_wall", "s", seq,
                  extra={"variants": VARIANTS, "latency_s": LATENCY_S})]
    for count in SERVER_COUNTS:
        walls = [r[("dispatch", count)][0] for r in reps]
        busiest = [r[("dispatch", count)][1] for r in reps]
        ideal = math.ceil(VARIANTS / count) * LATENCY_S
        ratios = [w / ideal for w in walls]
        speedups = [s / w for s, w in zip(seq, walls)]
        extra = {"servers": count, "ideal_s": ideal, "wall_s": _med(walls), "wall_min_s": min(walls),
                 "wall_max_s": max(walls), "speedup_over_sequential": _med(speedups),
                 "mock_busiest_server_s": _med(busiest),
                 "ratio_to_mock_busy": _med([w / b for w, b in zip(walls, busiest)])}
        r = result(f"{NAME}.{count}server_ratio_to_ideal", "x", ratios, limit=MAX_RATIO, extra=extra)
        if r.passed is False:
            r.notes = _ratio_note(count, ideal, extra)
        out.append(r)
        if count == 3:
            out.append(result(f"{NAME}.3server_wall_over_mock_busy", "x",
                              [w / b for w, b in zip(walls, busiest)]))
            s = result(f"{NAME}.3server_speedup_over_sequential", "x", speedups, limit=MIN_SPEEDUP_3, op=">=")
            if s.passed is False:
                s.notes = _ratio_note(count, ideal, extra)
            out.append(s)
    return out


def _ratio_note(count: int, ideal: float, extra: dict) -> str:
    per_image = extra["mock_busiest_server_s"] / math.ceil(VARIANTS / count)
    return (f"the busiest mock executed for {extra['mock_busiest_server_s']:.2f}s against an ideal of {ideal:g}s "
            f"({per_image:.2f}s per image for a {LATENCY_S:g}s latency); our wall is "
            f"{extra['ratio_to_mock_busy']:.2f}x the mock's busy time, the rest being the client between prompts.")


def _med(values: list[float]) -> float:
    return statistics.median(values)
