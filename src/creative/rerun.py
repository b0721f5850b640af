"""Work on an existing run folder: resume a crashed run, regenerate one variant, draft a brief only."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from creative.copy import brief as brief_stage
from creative.core.atomic import write_atomic
from creative.brand.kit import load_channels
from creative.gen.workflow import graph_sha256, load_workflow
from creative.render.compose import recompose_run
from creative.core.config import Settings
from creative.core.errors import InputError
from creative.core.models import Brief, Channel, PromptSet
from creative.pipeline import (
    CACHE_DIR_NAME,
    RunContext,
    RunResult,
    cache_hits,
    compose_stage,
    finish_run,
    generate_stage,
    guarded_run,
    jobs_for,
    ledger_for,
    replace_own_ads,
    report_stage,
    resolve_channel,
)
from creative.video_stage import export_stage
from creative.core.progress import Reporter
from creative.run.runlog import RUNLOG_VERSION, read_runlog, sha256_file


@dataclass
class OpenRun:
    """An existing run folder with everything needed to continue it."""

    ctx: RunContext
    brief: Brief
    prompts: PromptSet
    channel: Channel
    workflow: object


def open_run(run_dir: Path, settings: Settings, reporter: Reporter) -> OpenRun:
    """Load a run folder's runlog, brief, prompts, channel and workflow; precise errors if any is missing."""
    run_dir = Path(run_dir)
    for name in ("runlog.json", "brief.md", "prompts.json"):
        if not (run_dir / name).is_file():
            raise InputError(f"{run_dir}: no {name}; this is not a run folder that can be continued")
    try:
        runlog = read_runlog(run_dir)
    except ValueError as exc:
        raise InputError(f"{run_dir / 'runlog.json'}: cannot be read ({str(exc).splitlines()[0]})") from None
    if runlog.version > RUNLOG_VERSION:
        raise InputError(f"{run_dir}: runlog version {runlog.version} is newer than this creative; upgrade creative")
    brief = brief_stage.read_brief(run_dir / "brief.md")
    try:
        prompts = PromptSet.model_validate_json((run_dir / "prompts.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{run_dir / 'prompts.json'}: invalid ({str(exc).splitlines()[0]})") from None
    channel = resolve_channel(load_channels(settings.templates_dir / "channels.yaml"), brief.channel)
    workflow = load_workflow(Path(runlog.inputs.get("workflow") or settings.comfyui.workflow))
    return OpenRun(RunContext(run_dir=run_dir, runlog=runlog, reporter=reporter), brief, prompts, channel, workflow)


def background_ok(path: Path) -> bool:
    """True when a background exists on disk and decodes as an image."""
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except (OSError, SyntaxError):
        return False


def resume_run(run_dir: Path, settings: Settings, reporter: Reporter) -> RunResult:
    """Finish a crashed or cancelled run, reusing every background already on disk, and settle the ledger."""
    run = open_run(run_dir, settings, reporter)
    ctx, runlog = run.ctx, run.ctx.runlog
    cost = settings.budget.cost_per_image_usd
    missing = []
    for prompt in run.prompts.variants:
        record = runlog.variant(prompt.variant)
        path = ctx.run_dir / "backgrounds" / f"v{prompt.variant:02d}.png"
        if background_ok(path):
            if record.status != "ok":  # generated (and paid) before the crash
                record.status, record.background, record.error = "ok", f"backgrounds/{path.name}", None
                record.background_sha256 = sha256_file(path)
                record.cost_actual_usd = 0.0 if record.cached else cost
        else:
            missing.append(prompt)
    ledger = ledger_for(settings)
    held = ledger.state().runs.get(runlog.run_id)
    runlog.status, runlog.exit_code, runlog.message = "running", None, None
    runlog.history.append({"time": time.time(), "action": "resume", "regenerate": [p.variant for p in missing]})
    reporter.stage("resume", f"{len(run.prompts.variants) - len(missing)} backgrounds on disk, {len(missing)} to generate")
    with guarded_run(ctx, ledger, settings) as spend:
        # The crashed run's reservation stays open until now; without one, reserve what is missing.
        spend.reserved = bool(held and held.open_reservation > 0)
        if missing:
            cache_dir = settings.paths.runs_dir / CACHE_DIR_NAME
            jobs = jobs_for(PromptSet(variants=missing), run.workflow)
            if not spend.reserved:
                ledger.reserve(runlog.run_id, (len(jobs) - cache_hits(jobs, cache_dir)) * cost, reason="resume")
                spend.reserved = True
            generate_stage(ctx, settings, jobs, cache_dir)
        ads = compose_stage(ctx, run.brief, run.prompts, run.channel, settings)
        report_stage(ctx, run.brief, run.prompts, ads, settings.brand_dir)
        return finish_run(ctx)


def regen_variant(run_dir: Path, settings: Settings, reporter: Reporter, variant: int, *,
                  seed: int | None = None, new_seed: bool = False, prompt: str | None = None) -> RunResult:
    """Regenerate one variant (same, given or new seed; optionally a new scene prompt), re-compose and re-export it."""
    run = open_run(run_dir, settings, reporter)
    ctx, runlog = run.ctx, run.ctx.runlog
    numbers = [p.variant for p in run.prompts.variants]
    if variant not in numbers:
        raise InputError(f"{run_dir}: no variant {variant}", hint=f"variants in this run: {', '.join(map(str, numbers))}")
    old = next(p for p in run.prompts.variants if p.variant == variant)
    new_seed_value = seed if seed is not None else (random.SystemRandom().randrange(2**32) if new_seed else old.seed)
    updated = old.model_copy(update={"seed": new_seed_value, "positive": prompt or old.positive})
    run.prompts.variants[numbers.index(variant)] = updated
    write_atomic(ctx.run_dir / "prompts.json", run.prompts.model_dump_json(indent=2) + "\n")

    record = runlog.variant(variant)
    record.seed, record.positive, record.status, record.error = updated.seed, updated.positive, "pending", None
    record.graph_sha256 = graph_sha256(run.workflow.apply(updated.positive, updated.negative, updated.seed, updated.width, updated.height))
    runlog.history.append({"time": time.time(), "action": "regen", "variant": variant, "seed_before": old.seed,
                           "seed_after": updated.seed, "prompt_changed": updated.positive != old.positive})
    runlog.status, runlog.exit_code, runlog.message = "running", None, None
    previous_cost = record.cost_actual_usd
    ledger = ledger_for(settings)
    regen_id = f"{runlog.run_id}#regen-v{variant:02d}-{int(time.time())}"
    with guarded_run(ctx, ledger, settings, ledger_id=regen_id) as spend:
        cache_dir = settings.paths.runs_dir / CACHE_DIR_NAME
        jobs = jobs_for(PromptSet(variants=[updated]), run.workflow)
        ledger.reserve(regen_id, (1 - cache_hits(jobs, cache_dir)) * settings.budget.cost_per_image_usd, reason=f"regen v{variant:02d}")
        spend.reserved = True
        generate_stage(ctx, settings, jobs, cache_dir)
        # Only this regeneration's cost is settled, under its own ledger id.
        spend.actual = record.cost_actual_usd
        record.cost_actual_usd += previous_cost  # the variant's total over all its generations
        ads = compose_stage(ctx, run.brief, run.prompts, run.channel, settings, variants=[variant])
        report_stage(ctx, run.brief, run.prompts, ads, settings.brand_dir)
        return finish_run(ctx)


def recompose(run_dir: Path, settings: Settings, reporter: Reporter) -> RunResult:
    """Re-render a run's ads after brand/ or brief.md was edited; never touches ComfyUI or the budget."""
    run = open_run(run_dir, settings, reporter)
    ctx, runlog = run.ctx, run.ctx.runlog
    runlog.history.append({"time": time.time(), "action": "compose", "brief_sha256": sha256_file(ctx.run_dir / "brief.md")})
    with guarded_run(ctx, ledger_for(settings), settings):
        with ctx.stage("compose", "re-rendering from brief.md and brand/"):
            ads = recompose_run(ctx.run_dir, settings.brand_dir, settings.templates_dir / "channels.yaml")
            replace_own_ads(runlog, ads, [v.variant for v in runlog.variants])
            for ad in ads:
                for warning in ad.warnings:
                    reporter.warn(f"v{ad.variant:02d} {ad.width}x{ad.height}: {warning}")
        # Videos carry the same typography, so they are re-encoded too.
        export_stage(ctx, run.brief, run.prompts, run.channel, settings, sorted({ad.variant for ad in ads}))
        report_stage(ctx, run.brief, run.prompts, [ad for v in runlog.variants for ad in v.ads], settings.brand_dir)
        return finish_run(ctx)
