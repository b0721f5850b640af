"""A new run: inputs checked and priced before its folder exists, then the folder and its runlog."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from creative.brand.kit import Brand, load_brand, load_channels
from creative.brand.select import resolve_brand, run_folder_name
from creative.budget.ledger import BudgetState, Ledger
from creative.copy.brief import check_policy, read_brief
from creative.core.config import Settings
from creative.core.errors import InputError
from creative.core.models import Brief, Channel
from creative.core.progress import Reporter
from creative.core.redact import redact_url
from creative.gen.workflow import Workflow
from creative.research import research_cost_usd
from creative.run.context import RunContext, RunRequest, ledger_for, load_run_workflow, resolve_channel
from creative.run.brands import sample_hint
from creative.run.folder import RunsRoot
from creative.run.pricing import backends_for, estimate_per_image, recent_gpu_seconds
from creative.run.runlog import BudgetRecord, RunLog, sha256_file

# Room a run needs: backgrounds, ads in every size, contact sheet, videos; generous on purpose.
BYTES_PER_VARIANT = 40 * 1024 * 1024


@dataclass
class RunPlan:
    """Everything validated before a run folder exists: inputs, templates, estimate."""

    channel_name: str
    channel: Channel
    brand: Brand
    workflow: Workflow
    variants: int
    estimate: float
    research_cost: float
    ledger: Ledger
    given_brief: Brief | None
    sure_estimate: float  # counting only the prices the user set: what the early budget check uses


def plan_run(request: RunRequest, settings: Settings, *, brief_only: bool = False,
             clock: Callable[[], float] = time.time) -> RunPlan:
    """Validate inputs and templates and price the run (a brief costs its research only); writes nothing."""
    if not request.url and not request.brief_path:
        raise InputError("nothing to work from", hint="pass --url URL (or a local file) or --brief FILE")
    channels = load_channels(settings.templates_dir / "channels.yaml")
    given_brief = read_brief(request.brief_path) if request.brief_path else None
    channel_name = request.channel or (given_brief.channel if given_brief else None)
    channel = resolve_channel(channels, channel_name)
    brand = load_brand(settings.brand_dir)
    if given_brief is not None:
        # Fitting copy needs fonts and Pillow's drawing: loaded for a given brief only.
        from creative.copy.preflight import preflight

        # Refused copy is refused before a run folder exists or anything is reserved.
        check_policy(given_brief, brand.banned_words)
        preflight(given_brief, brand, settings.brand_dir, channel)  # copy that fits, scenes without text
    workflow = load_run_workflow(settings)
    variants = request.variants or settings.variants
    research_cost = 0.0 if given_brief else research_cost_usd(settings.research.backend, settings.research.firecrawl_cost_per_scrape_usd)
    if brief_only:  # no images: the recent runs' GPU timings are not read
        estimate = sure = research_cost
    else:
        seconds = recent_gpu_seconds(RunsRoot(settings.paths.runs_dir), workflow.name)
        backends = backends_for(settings)
        estimate = round(variants * estimate_per_image(settings, seconds, backends) + research_cost, 6)
        # The early check counts only prices the user set: a backend on the default price may be the
        # bundled mock, which is free. The budget stage reserves what the backends that answer will bill.
        priced = [b for b in backends if b.price_configured]
        sure = round(variants * estimate_per_image(settings, seconds, priced) + research_cost, 6)
    ledger = ledger_for(settings, clock=clock)
    return RunPlan(channel_name, channel, brand, workflow, variants, estimate, research_cost, ledger, given_brief,
                   sure)


def dry_run(request: RunRequest, settings: Settings) -> dict:
    """The estimate and whether the guard would allow the run; spends and writes nothing."""
    plan = plan_run(request, settings)
    # An empty state when there is no ledger yet: a dry run must not create one.
    state = plan.ledger.state() if plan.ledger.path.exists() else BudgetState(month="", cap=plan.ledger.cap)
    return {
        "channel": plan.channel_name, "variants": plan.variants, "estimate_usd": plan.estimate,
        "cap_usd": plan.ledger.cap, "committed_usd": state.committed, "allowed": state.allows(plan.estimate),
    }


def check_runs_dir_writable(runs_dir: Path, needed_bytes: int = 0, *, disk_usage=shutil.disk_usage) -> None:
    """Refuse early (before anything is spent) when the runs folder cannot take the run's files."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=runs_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise InputError(f"runs folder {runs_dir} is not writable: {exc.strerror or exc}",
                         hint="pass --runs-dir DIR, or fix the folder's permissions") from None
    free = disk_usage(runs_dir).free
    if free < needed_bytes:
        raise InputError(
            f"not enough disk space in {runs_dir}: {free / 2**20:.0f} MB free, this run needs about {needed_bytes / 2**20:.0f} MB",
            hint="free some space (old run folders can go) or pass --runs-dir on another disk",
        )


def new_run(request: RunRequest, settings: Settings, reporter: Reporter, *, brief_only: bool = False,
            clock: Callable[[], float] = time.time) -> RunContext:
    """Plan the run, check the budget and the disk, then create its folder and first runlog."""
    plan = plan_run(request, settings, brief_only=brief_only, clock=clock)
    if brief_only and not request.url:
        raise InputError("no page to research", hint="pass --url URL (or a local HTML file)")
    estimate = plan.sure_estimate
    runs = RunsRoot(settings.paths.runs_dir)
    check_runs_dir_writable(runs.path, 0 if brief_only else plan.variants * BYTES_PER_VARIANT)
    # Fail fast (a corrupt ledger refuses here too); the binding check is the locked
    # reservation just before the paid work.
    before = plan.ledger.check(estimate)
    product = plan.given_brief.product if plan.given_brief else None
    folder = runs.create_run(run_folder_name(clock(), plan.brand.name, plan.channel_name, url=request.url,
                                             product=product))
    if brief_only:
        inputs = {"url": request.url and redact_url(request.url), "channel": plan.channel_name, "offer": request.offer}
        hashes: dict[str, str] = {}
    else:
        inputs = {
            "url": request.url and redact_url(request.url),
            "brief": str(request.brief_path) if request.brief_path else None,
            "channel": plan.channel_name, "offer": request.offer, "variants": plan.variants,
            "seed": request.seed, "new_seeds": request.new_seeds, "comfy_urls": settings.comfyui.urls,
            "workflow": str(plan.workflow.path),
        }
        hashes = {"workflow": sha256_file(plan.workflow.path), "brand.yaml": sha256_file(settings.brand_dir / "brand.yaml")}
    runlog = RunLog(
        run_id=folder.path.name, created_at=clock(), pid=os.getpid(), inputs=inputs, input_hashes=hashes, config=settings.redacted(),
        budget=BudgetRecord(cap_usd=plan.ledger.cap, spent_before_usd=before.settled,
                            reserved_before_usd=before.reserved, estimate_usd=estimate),
    )
    choice = resolve_brand(settings)
    runlog.brand = choice.record()
    hint = sample_hint(choice, runs, folder)
    if hint:  # the first run on the bundled sample brand: how to make one's own
        reporter.info(f"note: {hint}")
    ctx = RunContext(folder=folder, runlog=runlog, settings=settings, reporter=reporter, brand=plan.brand,
                     channel_name=plan.channel_name, channel=plan.channel, workflow=plan.workflow, ledger=plan.ledger,
                     clock=clock, request=request, brief=plan.given_brief, research_cost=plan.research_cost,
                     brief_only=brief_only)
    ctx.request.variants = plan.variants
    ctx.save()
    return ctx
