"""`creative regen`: generate one variant again (same, given or new seed; optionally a new scene)."""

from __future__ import annotations

import random
import time
from pathlib import Path

from creative.core.config import Settings
from creative.core.errors import InputError
from creative.core.progress import Reporter
from creative.gen.workflow import graph_sha256
from creative.run.context import RunContext, Spend, open_run
from creative.run.outcome import RunResult, execute
from creative.stages import budget, compose, export, generate, report


def regen(run_dir: Path, settings: Settings, reporter: Reporter, variant: int, *,
          seed: int | None = None, new_seed: bool = False, prompt: str | None = None) -> RunResult:
    """Regenerate one variant, re-compose and re-export it, and record the change in the runlog."""
    ctx = open_run(run_dir, settings, reporter)
    runlog, prompts = ctx.runlog, ctx.prompts
    numbers = [p.variant for p in prompts.variants]
    if variant not in numbers:
        raise InputError(f"{run_dir}: no variant {variant}", hint=f"variants in this run: {', '.join(map(str, numbers))}")
    old = prompts.variants[numbers.index(variant)]
    new_seed_value = seed if seed is not None else (random.SystemRandom().randrange(2**32) if new_seed else old.seed)
    updated = old.model_copy(update={"seed": new_seed_value, "positive": prompt or old.positive})
    prompts.variants[numbers.index(variant)] = updated
    ctx.folder.write_prompts(prompts)

    record = runlog.variant(variant)
    record.seed, record.positive, record.status, record.error = updated.seed, updated.positive, "pending", None
    record.graph_sha256 = graph_sha256(ctx.workflow.apply(updated.positive, updated.negative, updated.seed, updated.width, updated.height))
    runlog.history.append({"time": time.time(), "action": "regen", "variant": variant, "seed_before": old.seed,
                           "seed_after": updated.seed, "prompt_changed": updated.positive != old.positive})
    runlog.status, runlog.exit_code, runlog.message = "running", None, None
    previous_cost = record.cost_actual_usd
    ctx.targets = [variant]
    # This regeneration is reserved and settled under its own ledger id.
    ctx.spend = Spend(f"{runlog.run_id}#regen-v{variant:02d}-{int(time.time())}", reason=f"regen v{variant:02d}")

    def settle_this_generation(ctx: RunContext) -> None:
        ctx.spend.actual = record.cost_actual_usd
        record.cost_actual_usd += previous_cost  # the variant's total over all its generations

    return execute(ctx, [budget.run, generate.run, settle_this_generation, compose.run, export.run, report.run])
