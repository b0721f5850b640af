"""`creative compose`: re-render a run's ads after brand/ or brief.md was edited; no ComfyUI, no cost."""

from __future__ import annotations

import time
from pathlib import Path

from creative.core.config import Settings
from creative.core.progress import Reporter
from creative.run.context import open_run
from creative.run.outcome import RunResult, execute
from creative.run.runlog import sha256_file
from creative.stages import brief, compose, export, report


def recompose(run_dir: Path, settings: Settings, reporter: Reporter) -> RunResult:
    ctx = open_run(run_dir, settings, reporter)
    ctx.runlog.history.append({"time": time.time(), "action": "compose", "brief_sha256": sha256_file(ctx.folder.brief)})
    # Videos carry the same typography, so they are re-encoded too.
    return execute(ctx, [brief.check, compose.run, compose.prune, export.run, report.run])
