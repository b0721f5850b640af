"""Scale: 60 variants over 3 mock servers; linear time and flat memory per variant.

The generating side runs in a child process (this file with --child) so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (PYTHON, ROOT, Config, Result, attach_profile, busy_seconds, execution_spans,  # noqa: E402
                    fresh_seed_base, make_jobs, mocks, profile_argv, result)

NAME = "scale"
SERVERS = 3
LATENCY_S = 1.0  # the same image time as the generation benchmark
BIG, SMALL = 60, 20
MAX_RATIO = 1.10
MAX_PEAK_MB = 300.0
# Far below one background (~100-200 kB as PNG, ~3 MB decoded): a kept image per variant would show.
MAX_BYTES_PER_VARIANT = 50 * 1024


def child(variants: int, urls: list[str]) -> dict:
    """Generate `variants` backgrounds; wall time and this process's peak RSS."""
    from creative.gen.dispatch import generate_all

    jobs = make_jobs(variants, fresh_seed_base())
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        results = asyncio.run(generate_all(jobs, urls, Path(tmp)))
        wall = time.perf_counter() - start
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    unit = 1 if sys.platform == "darwin" else 1024
    return {"wall": wall, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit,
            "failed": sum(not r.ok for r in results)}


def _time_note(over_busy: Result) -> str:
    return (f"our wall is {over_busy.median:.2f}x the busiest mock's busy time: the rest of the gap to the ideal "
            f"is the mocks themselves, three processes rendering on the same cores as the client.")


def child_argv(variants: int, urls: list[str]) -> list[str]:
    return [str(Path(__file__).resolve()), "--child", str(variants), *urls]


def spawn(variants: int, urls: list[str]) -> dict:
    proc = subprocess.run([PYTHON, *child_argv(variants, urls)], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"scale child failed: {proc.stderr[-800:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["failed"]:
        raise RuntimeError(f"scale child: {out['failed']} of {variants} variants failed")
    return out


def measured(variants: int, pool: list) -> dict:
    """One child run plus the busiest mock's execution time during it."""
    for mock in pool:
        mock.clear_history()
    out = spawn(variants, [m.url for m in pool])
    out["mock_busy"] = max(busy_seconds(list(execution_spans(m.history()).values())) for m in pool)
    return out


def run(cfg: Config) -> list[Result]:
    ideal = math.ceil(BIG / SERVERS) * LATENCY_S
    with mocks(SERVERS, LATENCY_S) as pool:
        urls = [m.url for m in pool]
        small, big = [], []
        for _ in range(cfg.reps):
            small.append(measured(SMALL, pool))
            big.append(measured(BIG, pool))
        results = [
            result(f"{NAME}.60v_3server_ratio_to_ideal", "x", [b["wall"] / ideal for b in big], limit=MAX_RATIO,
                   extra={"ideal_s": ideal, "wall_s": [round(b["wall"], 3) for b in big], "latency_s": LATENCY_S}),
            result(f"{NAME}.60v_wall_over_mock_busy", "x", [b["wall"] / b["mock_busy"] for b in big],
                   extra={"mock_busiest_server_s": [round(b["mock_busy"], 3) for b in big]}),
            result(f"{NAME}.60v_peak_rss_mb", "MB", [b["peak_rss"] / 2**20 for b in big], limit=MAX_PEAK_MB),
            result(f"{NAME}.bytes_per_variant_20v_to_60v", "bytes",
                   [(b["peak_rss"] - s["peak_rss"]) / (BIG - SMALL) for s, b in zip(small, big)],
                   limit=MAX_BYTES_PER_VARIANT,
                   extra={"peak_rss_20v_mb": [round(s["peak_rss"] / 2**20, 1) for s in small]}),
        ]
        if results[0].passed is False:
            results[0].notes = _time_note(results[1])
        attach_profile(results, lambda: "60 variants: " + profile_argv(child_argv(BIG, urls)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", type=int, required=True, help="variants to generate")
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    print(json.dumps(child(args.child, args.urls)))


if __name__ == "__main__":
    main()
