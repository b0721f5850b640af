"""Copywriter model: what the writer adds around the model's own answer time (mock chat server)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from common import PYTHON, ROOT, Config, Result, result

NAME = "writer"
HERE = Path(__file__).resolve().parent
MAX_CACHED_S = 0.5  # re-drafting a brief answered from the cache


def run(cfg: Config) -> list[Result]:
    samples: dict[str, list[float]] = {"first": [], "cached": [], "checks": []}
    for _ in range(cfg.reps):
        proc = subprocess.run([PYTHON, str(HERE / "writer_once.py")], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"writer_once.py failed ({proc.returncode}): {proc.stderr[-800:]}")
        figures = json.loads(proc.stdout)
        for key in samples:
            samples[key].append(figures[key])
    return [
        result("writer_first_brief", "s", samples["first"],
               notes="imports (openai, lingua), prompt, one request to a zero-latency mock, validation, rule checks"),
        result("writer_cached_brief", "s", samples["cached"], limit=MAX_CACHED_S),
        result("writer_rule_checks_6_concepts", "s", samples["checks"]),
    ]
