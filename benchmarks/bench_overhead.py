"""Overhead: the whole `creative run` against a zero-latency mock, split by stage."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import (PYTHON, ROOT, Config, MockProcess, Result, attach_profile, busy_seconds, execution_spans,
                    profile_argv, result)

NAME = "overhead"
HERE = Path(__file__).resolve().parent
MAX_TOTAL_S = 1.5
MAX_PER_AD_S = 0.060
# Reported in pipeline order; "export" is listed even when the channel has no separate export stage.
PARTS = ("process_start", "research", "brief", "prompts", "budget", "generation_bookkeeping", "compose", "export",
         "report")
def run_argv(mock_url: str, runs_dir: Path) -> list[str]:
    """`python -m creative run ...` arguments (after the interpreter)."""
    return ["-m", "creative", "run", "--url", "examples/serum.html", "--channel", "meta_static",
            "--offer", "Buy 2 get 1", "--comfy-url", mock_url, "--runs-dir", str(runs_dir), "-q", "--no-cache"]


def one_run(mock: MockProcess) -> dict:
    """Wall time of one `creative run` and its stages, with the mock's execution time taken out;
    then compose_once.py on the same run folder, which draws every ad again with nothing to
    overlap (a run draws each variant while the next backgrounds generate): the per-ad figure."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run([PYTHON, *run_argv(mock.url, Path(tmp))], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"creative run failed ({proc.returncode}): {proc.stderr[-800:]}")
        runlog_path = next(Path(tmp).glob("*/runlog.json"))
        runlog = json.loads(runlog_path.read_text())
        proc = subprocess.run([PYTHON, str(HERE / "compose_once.py"), str(runlog_path.parent)], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compose_once.py failed ({proc.returncode}): {proc.stderr[-800:]}")
        alone = json.loads(proc.stdout)
    figures = split(wall, runlog, mock.history())
    figures["per_ad"] = alone["seconds"] / max(alone["ads"], 1)
    return figures


def split(wall: float, runlog: dict, history: dict) -> dict:
    """Seconds per part (see PARTS), the mock's execution time, and the number of ads."""
    stages: dict[str, float] = {}
    for stage in runlog["stages"]:
        stages[stage["name"]] = stages.get(stage["name"], 0.0) + stage["seconds"]
    ids = {pid for v in runlog["variants"] for pid in v["prompt_ids"]}
    mock_exec = busy_seconds(list(execution_spans(history, ids).values()))
    parts = {name: stages.get(name, 0.0) for name in PARTS}
    parts["process_start"] = wall - sum(stages.values())
    parts["generation_bookkeeping"] = stages.get("generate", 0.0) - mock_exec
    ads = runlog["totals"]["ads"]
    return {"wall": wall, "mock_exec": mock_exec, "parts": parts, "ads": ads, "total": wall - mock_exec}


def run(cfg: Config) -> list[Result]:
    with MockProcess(latency=0.0) as mock:
        runs = [one_run(mock) for _ in range(cfg.reps)]
        results = _results(runs)
        attach_profile(results, lambda: _profile(mock))
    return results


def _profile(mock: MockProcess) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return "creative run: " + profile_argv(run_argv(mock.url, Path(tmp)))


def _results(runs: list[dict]) -> list[Result]:
    ads = runs[0]["ads"]
    total = result(f"{NAME}.total_excluding_mock", "s", [r["total"] for r in runs], limit=MAX_TOTAL_S,
                   extra={"wall_s": [round(r["wall"], 4) for r in runs],
                          "mock_exec_s": [round(r["mock_exec"], 4) for r in runs], "ads": ads})
    per_ad = result(f"{NAME}.compose_export_per_ad", "s", [r["per_ad"] for r in runs], limit=MAX_PER_AD_S,
                    extra={"ads": ads})
    parts = [result(f"{NAME}.stage.{name}", "s", [r["parts"][name] for r in runs]) for name in PARTS]
    if total.passed is False:
        total.notes = _biggest_parts_note(parts)
    if per_ad.passed is False:
        per_ad.notes = (f"compose_run alone took {per_ad.median * ads:.2f}s for {ads} ads "
                        f"({per_ad.median * 1000:.0f} ms each, rendered in parallel threads).")
    return [total, per_ad, *parts]


def _biggest_parts_note(parts: list[Result]) -> str:
    worst = sorted(parts, key=lambda r: -r.median)[:3]
    listing = ", ".join(f"{r.name.rsplit('.', 1)[1]} {r.median:.2f}s" for r in worst)
    return f"largest parts: {listing}."
