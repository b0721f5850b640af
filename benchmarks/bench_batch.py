"""Batch: a catalog of products x 6 variants through `creative batch`, on 3 mock ComfyUI servers and on
the mock RunPod endpoint with 3 workers.

Figures: generation wall time against the GPU-ideal (ceil(images / 3) x image time), our own time per
product beyond the GPU's, and the batch process's peak memory at two sizes (it must stay flat).
The batch runs in a child process (this file with --child) so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (PYTHON, ROOT, Config, Result, busy_seconds, execution_spans, free_port, mocks,  # noqa: E402
                    result, stop_process)

NAME = "batch"
SERVERS = 3
VARIANTS = 6
LATENCY_S = 0.2
FULL_SIZES, QUICK_SIZES = (50, 100), (4, 8)  # products: memory must not grow from the smaller to the larger
MAX_RATIO = 1.10
MAX_PEAK_MB = 300.0
MAX_OWN_S_PER_PRODUCT = 0.3
FULL_REPS = 1  # 250 products a repetition (100, 50 and 100 on RunPod): minutes each, as video's parallel figure
RUNPOD_KEY = "bench-key"


def write_feed(path: Path, products: int) -> None:
    """A Meta catalog CSV: every product with a description, so no page is fetched."""
    nonce = time.time_ns()  # fresh briefs, so fresh seeds: the mock caches identical nodes like ComfyUI
    rows = ["id,title,description,availability,price,link"]
    rows += [f"P{n},Product {n} {nonce},A calm everyday product number {n} for the benchmark.,in stock,"
             f"{10 + n}.00 EUR,https://shop.example/p{n}" for n in range(1, products + 1)]
    path.write_text("\n".join(rows) + "\n")


def child(argv: list[str]) -> dict:
    """`creative batch ...` in this process: wall time, exit code and peak RSS."""
    from creative.cli import main

    sys.argv = ["creative", *argv]
    start = time.perf_counter()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    wall = time.perf_counter() - start
    unit = 1 if sys.platform == "darwin" else 1024
    return {"wall": wall, "code": code, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit}


def spawn(products: int, workdir: Path, extra: list[str], env: dict[str, str] | None = None) -> dict:
    feed = workdir / f"feed-{products}.csv"
    write_feed(feed, products)
    argv = ["batch", "--feed", str(feed), "--channel", "meta_static", "--variants", str(VARIANTS),
            "--runs-dir", str(workdir / f"runs-{products}-{time.time_ns()}"), "-q", *extra]
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("CREATIVE_")}, **(env or {})}
    proc = subprocess.run([PYTHON, str(Path(__file__).resolve()), "--child", *argv], cwd=workdir, env=full_env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"batch child failed: {proc.stderr[-800:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["code"] != 0:
        raise RuntimeError(f"batch exited {out['code']}: {proc.stderr[-800:]}")
    return out


def generation_window(pool: list) -> tuple[float, float, int]:
    """(first execution start to last execution end over every mock, the GPU-ideal as measured, images).

    The measured ideal is the mocks' total busy time spread evenly over them: the mock serves nodes it
    has seen from its cache, as ComfyUI does, so an image can take less than the nominal latency.
    """
    per_mock = [list(execution_spans(m.history()).values()) for m in pool]
    spans = [s for spans_ in per_mock for s in spans_]
    window = max(end for _, end in spans) - min(start for start, _ in spans)
    return window, sum(busy_seconds(spans_) for spans_ in per_mock) / len(pool), len(spans)


class RunPodProcess:
    """`creative mock-runpod` with 3 workers in its own process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [PYTHON, "-m", "creative", "mock-runpod", "--port", str(self.port), "--workers", str(SERVERS),
                "--latency", f"{LATENCY_S:g}", "--api-key", RUNPOD_KEY]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/v2/mock-endpoint/health", headers={"Authorization": f"Bearer {RUNPOD_KEY}"},
                          timeout=1.0).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("mock RunPod endpoint did not start")

    def stop(self) -> None:
        stop_process(self.proc)


def run(cfg: Config) -> list[Result]:
    small, big = QUICK_SIZES if cfg.quick else FULL_SIZES
    reps = cfg.reps if cfg.quick else min(cfg.reps, FULL_REPS)
    ideal = math.ceil(big * VARIANTS / SERVERS) * LATENCY_S
    samples: dict[str, list[float]] = {k: [] for k in ("ratio", "nominal", "own", "peak_big", "peak_small",
                                                       "runpod_ratio", "images")}
    with tempfile.TemporaryDirectory() as tmp, mocks(SERVERS, LATENCY_S) as pool:
        workdir = Path(tmp)
        comfy = [arg for m in pool for arg in ("--comfy-url", m.url)]
        for _ in range(reps):
            for mock in pool:
                mock.clear_history()
            out = spawn(big, workdir, comfy)
            window, measured_ideal, images = generation_window(pool)
            if images != big * VARIANTS:  # fewer: some came from the cache, and the figures mean nothing
                raise RuntimeError(f"the batch generated {images} images, not {big * VARIANTS}")
            samples["ratio"].append(window / measured_ideal)
            samples["nominal"].append(window / ideal)
            samples["images"].append(images)
            samples["own"].append(max(0.0, out["wall"] - window) / big)
            samples["peak_big"].append(out["peak_rss"] / 2**20)
            samples["peak_small"].append(spawn(small, workdir, comfy)["peak_rss"] / 2**20)
        endpoint = RunPodProcess()
        try:
            (workdir / "creative.yaml").write_text(json.dumps({"comfyui": {"backends": [
                {"type": "runpod", "endpoint_id": "mock-endpoint", "base_url": endpoint.url}]}}))
            for _ in range(reps):
                out = spawn(big, workdir, [], env={"RUNPOD_API_KEY": RUNPOD_KEY})
                samples["runpod_ratio"].append(out["wall"] / ideal)
        finally:
            endpoint.stop()
            (workdir / "creative.yaml").unlink(missing_ok=True)
    label = f"{big}p_x{VARIANTS}v"
    return [
        result(f"{NAME}.{label}_3server_generation_to_measured_ideal", "x", samples["ratio"], limit=MAX_RATIO,
               extra={"images": samples["images"], "latency_s": LATENCY_S}),
        result(f"{NAME}.{label}_3server_generation_to_nominal_ideal", "x", samples["nominal"],
               extra={"nominal_ideal_s": ideal, "note": "below 1 where the mock served cached nodes"}),
        result(f"{NAME}.{label}_own_s_per_product", "s", samples["own"], limit=MAX_OWN_S_PER_PRODUCT),
        result(f"{NAME}.{label}_peak_rss_mb", "MB", samples["peak_big"], limit=MAX_PEAK_MB),
        result(f"{NAME}.peak_rss_growth_{small}p_to_{big}p_mb", "MB",
               [b - s for b, s in zip(samples["peak_big"], samples["peak_small"])],
               extra={"peak_small_mb": [round(s, 1) for s in samples["peak_small"]]}),
        result(f"{NAME}.{label}_runpod_3workers_wall_to_ideal", "x", samples["runpod_ratio"],
               extra={"ideal_s": ideal, "note": "whole batch wall time (start-up and the last compose included)"}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=argparse.REMAINDER, required=True, help="`creative` arguments")
    args = parser.parse_args()
    print(json.dumps(child(args.child)))


if __name__ == "__main__":
    main()
