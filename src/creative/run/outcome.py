"""How a command's stages run and end: the runlog's final status, the budget settled, once.

`execute(ctx, stages)` is the one place a run's ending is written: ok, partial (exit 4),
failed, refused or cancelled, with the reservation settled for what was actually spent.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from creative.core.errors import (
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TERMINATED,
    BudgetRefused,
    Cancelled,
    CreativeError,
    Terminated,
)
from creative.run.context import RunContext, Spend
from creative.run.runlog import RunLog

Stage = Callable[[RunContext], None]


@dataclass
class RunResult:
    run_dir: Path
    exit_code: int
    message: str
    runlog: RunLog


def execute(ctx: RunContext, stages: Iterable[Stage]) -> RunResult:
    """Run the stages in order under `guarded`, then give the run's final status."""
    with guarded(ctx):
        for stage in stages:
            stage(ctx)
        return finish(ctx)


@contextmanager
def guarded(ctx: RunContext) -> Iterator[Spend]:
    """Record how a run ends in its runlog and settle its reservation, whatever happens."""
    runlog = ctx.runlog
    spend = ctx.spend = ctx.spend or Spend(runlog.run_id)
    started = time.time() - 1  # file times are coarse on some file systems
    try:
        with ctx.resources:
            yield spend
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        code = EXIT_TERMINATED if terminated else EXIT_CANCELLED
        how = "stopped by SIGTERM" if terminated else "cancelled by the user (Ctrl-C)"
        runlog.status, runlog.exit_code, runlog.message = "cancelled", code, how
        cancelled = Cancelled(
            f"{how}: our running prompts were interrupted and pending ones deleted",
            hint=f"the runlog records status cancelled; `creative resume {ctx.folder.path}` finishes the run",
        )
        cancelled.exit_code = code
        raise cancelled from None
    except BudgetRefused as exc:
        runlog.status, runlog.exit_code, runlog.message = "refused", exc.exit_code, exc.message
        raise
    except CreativeError as exc:
        runlog.status, runlog.exit_code, runlog.message = "failed", exc.exit_code, exc.message
        if not exc.written:  # only what this command wrote, not files it left as they were
            exc.written, exc.written_in = ctx.folder.files(since=started), str(ctx.folder.path)
        raise
    finally:
        if spend.reserved:
            actual = actual_cost(runlog) if spend.actual is None else spend.actual
            actual = max(0.0, round(actual - spend.already_settled, 6))
            if runlog.budget is not None:
                runlog.budget.actual_usd = actual_cost(runlog)
            ctx.ledger.settle(spend.ledger_id, actual)
            if runlog.budget is not None:
                runlog.budget.spent_after_usd = ctx.ledger.state().settled
        ctx.save()


def actual_cost(runlog: RunLog) -> float:
    return round(sum(v.cost_actual_usd for v in runlog.variants) + runlog.research_cost_usd, 6)


def totals(runlog: RunLog) -> dict:
    return {
        "variants_ok": sum(v.status == "ok" for v in runlog.variants),
        "variants_failed": sum(v.status == "failed" for v in runlog.variants),
        "ads": sum(len(v.ads) for v in runlog.variants),
        "videos": sum(len(v.videos) for v in runlog.variants),
        "cost_usd": round(actual_cost(runlog), 4),
        "cached": sum(v.cached for v in runlog.variants),
        "seconds": round(time.time() - runlog.created_at, 2),
    }


def finish(ctx: RunContext) -> RunResult:
    """Final status from the variants' outcomes: ok, or partial (exit 4) listing what failed."""
    runlog = ctx.runlog
    if runlog.status == "drafted":  # `creative brief`: the stages said how it ended
        return RunResult(ctx.folder.path, runlog.exit_code or EXIT_OK, runlog.message or "", runlog)
    runlog.totals = totals(runlog)
    failed = [v for v in runlog.variants if v.status != "ok"]
    if failed:
        listing = "; ".join(f"v{v.variant:02d}: {v.error}" for v in failed)
        runlog.status, runlog.exit_code = "partial", EXIT_PARTIAL
        runlog.message = f"{len(failed)} of {len(runlog.variants)} variants failed ({listing}); the others were delivered"
    else:
        runlog.status, runlog.exit_code = "ok", EXIT_OK
        runlog.message = f"{len(runlog.variants)} variants, {runlog.totals['ads']} ads"
    return RunResult(run_dir=ctx.folder.path, exit_code=runlog.exit_code, message=runlog.message, runlog=runlog)
