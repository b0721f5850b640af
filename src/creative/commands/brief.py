"""`creative brief`: a run folder with only the research and the drafted brief (nothing paid but research)."""

from __future__ import annotations

from pathlib import Path

from creative.core.config import Settings
from creative.core.errors import EXIT_OK
from creative.core.progress import Reporter
from creative.run.context import RunContext, RunRequest
from creative.run.outcome import execute
from creative.run.plan import new_run
from creative.stages import brief, research


def _drafted(ctx: RunContext) -> None:
    runlog = ctx.runlog
    runlog.status, runlog.exit_code, runlog.message = "drafted", EXIT_OK, f"brief drafted: {ctx.folder.brief}"


def draft(request: RunRequest, settings: Settings, reporter: Reporter) -> Path:
    """Research the page and draft the brief; returns the brief's path."""
    ctx = new_run(request, settings, reporter, brief_only=True)
    execute(ctx, [research.run, brief.run, _drafted])
    return ctx.folder.brief
