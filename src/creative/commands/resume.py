"""`creative resume`: finish a crashed or cancelled run, reusing every background already on disk."""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from creative.core.config import Settings
from creative.core.progress import Reporter
from creative.run.context import RunContext, Spend, open_run
from creative.run.outcome import RunResult, execute
from creative.run.runlog import sha256_file
from creative.stages import budget, compose, export, generate, report
from creative.run.pricing import estimate_per_image


def background_ok(path: Path) -> bool:
    """True when a background exists on disk and decodes as an image."""
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except (OSError, SyntaxError):
        return False


def collect_backgrounds(ctx: RunContext) -> list[int]:
    """Mark variants whose background was written (and paid) before the crash; return the missing ones."""
    cost = estimate_per_image(ctx.settings, None)  # made before the crash, its timing unknown
    missing = []
    for prompt in ctx.prompts.variants:
        record = ctx.runlog.variant(prompt.variant)
        path = ctx.folder.background(prompt.variant)
        if background_ok(path):
            if record.status != "ok":
                record.status, record.background, record.error = "ok", ctx.folder.relative(path), None
                record.background_sha256 = sha256_file(path)
                record.cost_actual_usd = 0.0 if record.cached else cost
        else:
            record.status = "pending" if record.status == "ok" else record.status
            missing.append(prompt.variant)
    return missing


def resume(run_dir: Path, settings: Settings, reporter: Reporter) -> RunResult:
    ctx = open_run(run_dir, settings, reporter)
    runlog = ctx.runlog
    missing = collect_backgrounds(ctx)
    held = ctx.ledger.state().runs.get(runlog.run_id)
    if held is not None and held.open_reservation > 0:
        # A killed run's reservation stays open until now: it covers what is left, and is settled here.
        ctx.spend = Spend(runlog.run_id, reason="resume", reserved=True, carried=True)
    else:
        # The run was settled when it stopped: this resume reserves and settles only what it adds.
        paid = runlog.budget.actual_usd if runlog.budget is not None and runlog.budget.actual_usd else 0.0
        ctx.spend = Spend(f"{runlog.run_id}#resume-{int(time.time())}", reason="resume", already_settled=paid)
    runlog.status, runlog.exit_code, runlog.message = "running", None, None
    runlog.history.append({"time": time.time(), "action": "resume", "regenerate": missing})
    reporter.stage("resume", f"{len(ctx.prompts.variants) - len(missing)} backgrounds on disk, {len(missing)} to generate")
    return execute(ctx, [generate.collect, budget.run, generate.run, compose.run, export.run, report.run])
