"""`creative run`: the stages in order, one run folder, a runlog rewritten after every stage."""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from creative.copy import brief as brief_stage
from creative.copy import prompts as prompts_stage
from creative.core.atomic import write_atomic
from creative.brand.kit import load_brand, load_channels
from creative.budget.ledger import LEDGER_NAME, BudgetState, Ledger, resolve_timezone
from creative.gen.dispatch import GenJob, generate_all
from creative.gen.workflow import default_workflow_path, graph_sha256, load_workflow
from creative.render.compose import AdComposer, compose_run
from creative.core.config import Settings
from creative.core.errors import (
    EXIT_CANCELLED,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    BudgetRefused,
    Cancelled,
    ComfyError,
    CreativeError,
    InputError,
)
from creative.core.models import Brief, Channel, GenerationResult, PromptSet
from creative.core.progress import Reporter
from creative.core.redact import redact_url
from creative.render.report import write_contact_sheet, write_gallery
from creative.research import research, research_cost_usd, write_research
from creative.run.runlog import (
    BudgetRecord,
    RunLog,
    StageRecord,
    VariantRecord,
    sha256_file,
    write_runlog,
)
from creative.core.text import slugify
from creative.video_stage import export_stage

# SDXL works best near one megapixel with sides in multiples of 64.
BACKGROUND_PIXELS = 1024 * 1024
CACHE_DIR_NAME = ".cache"  # under the runs folder: backgrounds by the hash of their final graph
SIDE_MULTIPLE = 64


@dataclass
class RunOptions:
    """What the user asked for on the command line."""

    channel: str | None = None
    url: str | None = None
    brief_path: Path | None = None
    offer: str | None = None
    variants: int | None = None
    seed: int | None = None
    new_seeds: bool = False
    no_cache: bool = False


@dataclass
class RunResult:
    run_dir: Path
    exit_code: int
    message: str
    runlog: RunLog


@dataclass
class RunContext:
    """The run folder and its runlog, shared by the stages of one run."""

    run_dir: Path
    runlog: RunLog
    reporter: Reporter
    clock: Callable[[], float] = time.time
    written: list[str] = field(default_factory=list)

    def save(self) -> None:
        write_runlog(self.runlog, self.run_dir)

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[StageRecord]:
        """Time a stage, record its outcome and rewrite the runlog when it ends."""
        self.reporter.stage(name, detail)
        record = StageRecord(name=name, started_at=self.clock())
        self.runlog.stages.append(record)
        self.save()  # a crash inside the stage leaves it recorded as running
        try:
            yield record
        except BaseException as exc:
            record.outcome = "failed"
            record.error = getattr(exc, "message", None) or type(exc).__name__
            raise
        else:
            record.outcome = "ok"
        finally:
            record.ended_at = self.clock()
            record.seconds = round(record.ended_at - record.started_at, 4)
            self.save()


def background_size(channel: Channel) -> tuple[int, int]:
    """Generation size for a channel: the first size's aspect at about one megapixel."""
    primary = channel.sizes[0]
    aspect = primary.width / primary.height
    width = math.sqrt(BACKGROUND_PIXELS * aspect)
    height = width / aspect
    return _round_side(width), _round_side(height)


def _round_side(value: float) -> int:
    return max(SIDE_MULTIPLE, int(round(value / SIDE_MULTIPLE)) * SIDE_MULTIPLE)


def make_run_dir(runs_dir: Path, brand: str, channel: str, now: float) -> tuple[str, Path]:
    """Create `runs/<YYYYMMDD-HHMMSS>-<brand>-<channel>`; a suffix keeps parallel runs apart."""
    base = f"{datetime.fromtimestamp(now).strftime('%Y%m%d-%H%M%S')}-{slugify(brand, fallback='brand')}-{slugify(channel, fallback='channel')}"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        run_id = base if attempt == 1 else f"{base}-{attempt}"
        try:
            (runs_dir / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id, (runs_dir / run_id).resolve()  # absolute, so the printed path works from anywhere
    raise CreativeError(f"cannot create a unique run folder under {runs_dir}")


# Room a run needs: backgrounds, ads in every size, contact sheet, videos; generous on purpose.
BYTES_PER_VARIANT = 40 * 1024 * 1024


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


def resolve_channel(channels: dict[str, Channel], name: str | None) -> Channel:
    if not name:
        raise InputError("no channel given", hint=f"pass --channel, one of: {', '.join(sorted(channels))}")
    if name not in channels:
        raise InputError(f"unknown channel {name!r}", hint=f"choose one of: {', '.join(sorted(channels))} (templates/channels.yaml)")
    return channels[name]


@dataclass
class RunPlan:
    """Everything validated before a run folder exists: inputs, templates, estimate."""

    channel_name: str
    channel: Channel
    brand: object
    workflow: object
    variants: int
    estimate: float
    research_cost: float
    ledger: Ledger
    given_brief: Brief | None


def plan_run(options: RunOptions, settings: Settings, *, clock: Callable[[], float] = time.time) -> RunPlan:
    """Validate inputs and templates and price the run; writes nothing."""
    if not options.url and not options.brief_path:
        raise InputError("nothing to work from", hint="pass --url URL (or a local file) or --brief FILE")
    channels = load_channels(settings.templates_dir / "channels.yaml")
    given_brief = brief_stage.read_brief(options.brief_path) if options.brief_path else None
    channel_name = options.channel or (given_brief.channel if given_brief else None)
    channel = resolve_channel(channels, channel_name)
    brand = load_brand(settings.brand_dir)
    if given_brief is not None:
        # Refused copy is refused before a run folder exists or anything is reserved.
        brief_stage.check_policy(given_brief, brand.banned_words)
    workflow_path = Path(settings.comfyui.workflow) if settings.comfyui.workflow else default_workflow_path(settings.templates_dir)
    workflow = load_workflow(workflow_path)
    variants = options.variants or settings.variants
    research_cost = 0.0 if given_brief else research_cost_usd(settings.research.backend, settings.research.firecrawl_cost_per_scrape_usd)
    estimate = round(variants * settings.budget.cost_per_image_usd + research_cost, 6)
    ledger = ledger_for(settings, clock=clock)
    return RunPlan(channel_name, channel, brand, workflow, variants, estimate, research_cost, ledger, given_brief)


def ledger_for(settings: Settings, *, clock: Callable[[], float] = time.time) -> Ledger:
    """The budget ledger of the configured runs folder."""
    return Ledger(settings.paths.runs_dir / LEDGER_NAME, cap=settings.budget.monthly_cap_usd,
                  tz=resolve_timezone(settings.budget.timezone), clock=clock)


def dry_run(options: RunOptions, settings: Settings) -> dict:
    """The estimate and whether the guard would allow the run; spends and writes nothing."""
    plan = plan_run(options, settings)
    # An empty state when there is no ledger yet: a dry run must not create one.
    state = plan.ledger.state() if plan.ledger.path.exists() else BudgetState(month="", cap=plan.ledger.cap)
    return {
        "channel": plan.channel_name, "variants": plan.variants, "estimate_usd": plan.estimate,
        "cap_usd": plan.ledger.cap, "committed_usd": state.committed, "allowed": state.allows(plan.estimate),
    }


def run_pipeline(options: RunOptions, settings: Settings, reporter: Reporter, *, clock: Callable[[], float] = time.time) -> RunResult:
    """Run every stage for `creative run`. Errors before the run folder exists are raised."""
    plan = plan_run(options, settings, clock=clock)
    channel_name, channel, brand, workflow = plan.channel_name, plan.channel, plan.brand, plan.workflow
    variants, estimate, ledger, given_brief = plan.variants, plan.estimate, plan.ledger, plan.given_brief
    runs_dir = settings.paths.runs_dir
    check_runs_dir_writable(runs_dir, variants * BYTES_PER_VARIANT)
    # Fail fast (a corrupt ledger refuses here too); the binding check is the locked
    # reservation just before generation.
    before = ledger.check(estimate)

    run_id, run_dir = make_run_dir(runs_dir, brand.name, channel_name, clock())
    runlog = RunLog(
        run_id=run_id,
        created_at=clock(),
        inputs={
            "url": options.url and redact_url(options.url),
            "brief": str(options.brief_path) if options.brief_path else None,
            "channel": channel_name,
            "offer": options.offer,
            "variants": variants,
            "seed": options.seed,
            "new_seeds": options.new_seeds,
            "comfy_urls": settings.comfyui.urls,
            "workflow": str(workflow.path),
        },
        input_hashes={"workflow": sha256_file(workflow.path), "brand.yaml": sha256_file(settings.brand_dir / "brand.yaml")},
        config=settings.redacted(),
        budget=BudgetRecord(cap_usd=ledger.cap, spent_before_usd=before.settled, reserved_before_usd=before.reserved, estimate_usd=estimate),
    )
    ctx = RunContext(run_dir=run_dir, runlog=runlog, reporter=reporter, clock=clock)
    ctx.save()
    with guarded_run(ctx, ledger, settings) as spend:
        if plan.research_cost:
            # Paid research (Firecrawl) is reserved before it runs, like generation.
            ledger.reserve(run_id, plan.research_cost, reason="research")
            spend.reserved = True
        brief = _brief_stage(ctx, options, settings, brand, channel_name, channel, given_brief)
        prompt_set = _prompts_stage(ctx, options, brief, brand, channel, variants, workflow)
        cache_dir = None if options.no_cache else runs_dir / CACHE_DIR_NAME
        jobs = jobs_for(prompt_set, workflow)
        hits = cache_hits(jobs, cache_dir)
        estimate = round((len(jobs) - hits) * settings.budget.cost_per_image_usd, 6)
        runlog.budget.estimate_usd = round(estimate + plan.research_cost, 6)
        with ctx.stage("budget", f"estimate ${estimate:.2f}" + (f" ({hits} from cache)" if hits else "")):
            ledger.reserve(run_id, estimate)
            spend.reserved = True
        # Each variant's ads are drawn as soon as its background is written, while the GPU works
        # on the next ones; the compose stage then finishes the last and writes them all.
        with AdComposer(run_dir, run_id, brief, prompt_set, channel, settings.brand_dir) as composer:
            generate_stage(ctx, settings, jobs, cache_dir, on_background=composer.add)
            ads = compose_stage(ctx, brief, prompt_set, channel, settings, composer=composer)
        report_stage(ctx, brief, prompt_set, ads, settings.brand_dir)
        return finish_run(ctx)


def draft_only(options: RunOptions, settings: Settings, reporter: Reporter, *, clock: Callable[[], float] = time.time) -> Path:
    """`creative brief`: a run folder with only the research and the drafted brief (nothing paid but research)."""
    if not options.url:
        raise InputError("no page to research", hint="pass --url URL (or a local HTML file)")
    plan = plan_run(options, settings, clock=clock)
    check_runs_dir_writable(settings.paths.runs_dir)
    plan.ledger.check(plan.research_cost)
    run_id, run_dir = make_run_dir(settings.paths.runs_dir, plan.brand.name, plan.channel_name, clock())
    runlog = RunLog(run_id=run_id, created_at=clock(), inputs={"url": options.url, "channel": plan.channel_name, "offer": options.offer},
                    config=settings.redacted(), budget=BudgetRecord(cap_usd=plan.ledger.cap, estimate_usd=plan.research_cost))
    ctx = RunContext(run_dir=run_dir, runlog=runlog, reporter=reporter, clock=clock)
    with guarded_run(ctx, plan.ledger, settings) as spend:
        if plan.research_cost:
            plan.ledger.reserve(run_id, plan.research_cost, reason="research")
            spend.reserved = True
        _brief_stage(ctx, options, settings, plan.brand, plan.channel_name, plan.channel, None)
        runlog.status, runlog.exit_code, runlog.message = "drafted", EXIT_OK, f"brief drafted: {run_dir / 'brief.md'}"
    return run_dir


@dataclass
class Spend:
    """Whether the run holds a reservation that must be settled, and under which ledger id."""

    ledger_id: str
    reserved: bool = False
    actual: float | None = None  # what to settle; default: the whole run's actual cost


@contextmanager
def guarded_run(ctx: RunContext, ledger: Ledger, settings: Settings, ledger_id: str | None = None) -> Iterator[Spend]:
    """Record how a run ends in its runlog and settle its reservation, whatever happens."""
    runlog, run_dir = ctx.runlog, ctx.run_dir
    spend = Spend(ledger_id or runlog.run_id)
    try:
        yield spend
    except KeyboardInterrupt:
        runlog.status, runlog.exit_code, runlog.message = "cancelled", EXIT_CANCELLED, "cancelled by the user (Ctrl-C)"
        raise Cancelled(
            "cancelled: our running prompts were interrupted and pending ones deleted",
            hint=f"the runlog in {run_dir} records status cancelled; `creative resume {run_dir}` finishes it",
        ) from None
    except BudgetRefused as exc:
        runlog.status, runlog.exit_code, runlog.message = "refused", exc.exit_code, exc.message
        raise
    except CreativeError as exc:
        runlog.status, runlog.exit_code, runlog.message = "failed", exc.exit_code, exc.message
        exc.written = exc.written or _written_files(run_dir)
        raise
    finally:
        if spend.reserved:
            actual = actual_cost(runlog) if spend.actual is None else spend.actual
            runlog.budget.actual_usd = actual_cost(runlog)
            ledger.settle(spend.ledger_id, actual)
            runlog.budget.spent_after_usd = ledger.state().settled
        ctx.save()


def _brief_stage(ctx: RunContext, options: RunOptions, settings: Settings, brand, channel_name: str, channel: Channel, given: Brief | None) -> Brief:
    if given is not None:
        with ctx.stage("brief", f"from {options.brief_path}"):
            write_atomic(ctx.run_dir / "brief.md", options.brief_path.read_text(encoding="utf-8"))
            ctx.runlog.input_hashes["brief.md"] = sha256_file(options.brief_path)
            return given
    with ctx.stage("research", f"{options.url} ({settings.research.backend})"):
        notes = research(
            options.url, timeout_s=settings.research.timeout_s, max_bytes=settings.research.max_bytes,
            backend=settings.research.backend, ignore_robots=settings.research.ignore_robots,
            chromium_path=settings.research.chromium_path, screenshot_path=ctx.run_dir / "screenshot.png",
            firecrawl_api_url=settings.research.firecrawl_api_url,
        )
        # Tokens in the page URL never reach research.*, brief.md or the runlog.
        notes = notes.model_copy(update={"url": redact_url(notes.url), "final_url": notes.final_url and redact_url(notes.final_url)})
        write_research(notes, ctx.run_dir)
        ctx.runlog.research_cost_usd = research_cost_usd(notes.backend, settings.research.firecrawl_cost_per_scrape_usd)
        ctx.reporter.info(f"found: {notes.product_name or notes.title or 'no product name'}"
                          + (f" · {notes.price} {notes.currency or ''}" if notes.price else ""))
    with ctx.stage("brief"):
        brief = brief_stage.draft_brief(
            notes, brand=brand.name, channel_name=channel_name, channel=channel, offer=options.offer,
            banned_words=brand.banned_words,
        )
        brief_stage.check_policy(brief, brand.banned_words)
        brief_stage.write_brief(brief, ctx.run_dir / "brief.md")
        ctx.reporter.info(f"{len(brief.concepts)} concepts: " + ", ".join(c.name for c in brief.concepts))
    return brief


def _prompts_stage(ctx: RunContext, options: RunOptions, brief: Brief, brand, channel: Channel, variants: int, workflow) -> PromptSet:
    with ctx.stage("prompts"):
        width, height = background_size(channel)
        prompt_set = prompts_stage.build_prompts(
            brief, variants=variants, width=width, height=height, palette_words=brand.palette_words,
            mood=brand.mood, seed=options.seed, new_seeds=options.new_seeds,
        )
        write_atomic(ctx.run_dir / "prompts.json", prompt_set.model_dump_json(indent=2) + "\n")
        workflow_hash = sha256_file(workflow.path)
        ctx.runlog.variants = [
            VariantRecord(
                variant=p.variant, concept=p.concept, positive=p.positive, negative=p.negative, seed=p.seed,
                width=p.width, height=p.height, workflow=workflow.name, workflow_sha256=workflow_hash,
                graph_sha256=graph_sha256(workflow.apply(p.positive, p.negative, p.seed, p.width, p.height)),
            )
            for p in prompt_set.variants
        ]
    return prompt_set


def jobs_for(prompt_set: PromptSet, workflow) -> list[GenJob]:
    return [
        GenJob(variant=p.variant, graph=workflow.apply(p.positive, p.negative, p.seed, p.width, p.height),
               output_node=workflow.output_node, seed=p.seed)
        for p in prompt_set.variants
    ]


def cache_hits(jobs: list[GenJob], cache_dir: Path | None) -> int:
    if cache_dir is None:
        return 0
    return sum((cache_dir / f"{graph_sha256(job.graph)}.png").is_file() for job in jobs)


def generate_stage(ctx: RunContext, settings: Settings, jobs: list[GenJob], cache_dir: Path | None,
                   on_background: Callable[[int], object] | None = None) -> list[GenerationResult]:
    """Generate every job's background; `on_background(variant)` is told of each one written."""
    urls = settings.comfyui.urls

    def on_event(name: str, payload: dict) -> None:
        ctx.reporter.generation_event(name, payload)
        if name == "done" and on_background is not None:
            try:
                on_background(payload["variant"])
            except CreativeError:
                pass  # raised again, where it belongs, by the compose stage

    with ctx.stage("generate", f"{len(jobs)} backgrounds on {len(urls)} server(s)"):
        ctx.reporter.generation_started([job.variant for job in jobs])
        try:
            results = asyncio.run(generate_all(
                jobs, urls, ctx.run_dir / "backgrounds", timeout_s=settings.comfyui.timeout_s,
                on_event=on_event, cache_dir=cache_dir,
            ))
        finally:
            ctx.reporter.generation_finished()
        for result in results:
            _record_generation(ctx, result, settings.budget.cost_per_image_usd)
        cached = sum(r.cached for r in results)
        if cached:
            ctx.reporter.info(f"{cached} of {len(results)} variants came from the cache (no cost)")
        failed = [r for r in results if not r.ok]
        if len(failed) == len(results):
            raise ComfyError("every variant failed to generate: " + "; ".join(f"v{r.variant:02d}: {r.error}" for r in failed))
    return results


def _record_generation(ctx: RunContext, result: GenerationResult, cost_per_image: float) -> None:
    record = ctx.runlog.variant(result.variant)
    record.status = "ok" if result.ok else "failed"
    record.attempts = result.attempts
    record.prompt_ids = [a.prompt_id for a in result.attempts]
    record.server = result.attempts[-1].server if result.attempts else None
    record.cached = result.cached
    record.seconds = result.seconds
    record.error = result.error
    record.graph_sha256 = result.graph_sha256 or record.graph_sha256
    record.cost_estimate_usd = cost_per_image
    record.cost_actual_usd = cost_per_image if result.ok and not result.cached else 0.0
    if result.ok and result.path:
        record.background = result.path
        record.background_sha256 = sha256_file(ctx.run_dir / result.path)


def compose_stage(ctx: RunContext, brief: Brief, prompt_set: PromptSet, channel: Channel, settings: Settings,
                  variants: list[int] | None = None, *, export: bool = True, composer: AdComposer | None = None) -> list:
    """Compose `variants` (default: every generated one), then (export=True) run the export stage,
    which encodes videos for channels with video; returns all of the run's ads.

    run, resume and regen all come through here, so each of them also re-exports its videos.
    `composer`: one that has been drawing variants since their backgrounds arrived.
    """
    if variants is None:
        variants = [v.variant for v in ctx.runlog.variants if v.status == "ok"]
    with ctx.stage("compose", f"{len(variants)} variants × {len(channel.sizes)} sizes"):
        if composer is not None:
            ads = composer.finish(variants)
        else:
            ads = compose_run(ctx.run_dir, ctx.runlog.run_id, brief, prompt_set, channel, settings.brand_dir,
                              variants=variants)
        replace_own_ads(ctx.runlog, ads, variants)
        for ad in ads:
            for warning in ad.warnings:
                ctx.reporter.warn(f"v{ad.variant:02d} {ad.width}x{ad.height}: {warning}")
    if export:
        export_stage(ctx, brief, prompt_set, channel, settings, variants)
    return [ad for record in ctx.runlog.variants for ad in record.ads]


def replace_own_ads(runlog: RunLog, ads: list, variants: list[int]) -> None:
    """Put the run's own new ads on its variants, keeping ads re-exported for other channels."""
    own_prefix = f"{runlog.run_id}_"
    for number in variants:
        record = runlog.variant(number)
        others = [ad for ad in record.ads if not Path(ad.path).name.startswith(own_prefix)]
        record.ads = [ad for ad in ads if ad.variant == number] + others


def report_stage(ctx: RunContext, brief: Brief, prompt_set: PromptSet, ads, brand_dir: Path) -> None:
    with ctx.stage("report"):
        write_contact_sheet(ctx.run_dir, ads, font=brand_dir / "fonts" / "NotoSans-Regular.ttf")
        per_variant = {v.variant: {"status": v.status, "cost_usd": v.cost_actual_usd,
                                   **({"from cache": "yes"} if v.cached else {}),
                                   **({"error": v.error} if v.error else {})} for v in ctx.runlog.variants}
        write_gallery(ctx.run_dir, run_id=ctx.runlog.run_id, brief=brief, prompts=prompt_set, ads=ads,
                      totals={**_totals(ctx.runlog), "per_variant": per_variant},
                      videos=[video for v in ctx.runlog.variants for video in v.videos],
                      encoder=ctx.runlog.encoder)


def _totals(runlog: RunLog) -> dict:
    return {
        "variants_ok": sum(v.status == "ok" for v in runlog.variants),
        "variants_failed": sum(v.status == "failed" for v in runlog.variants),
        "ads": sum(len(v.ads) for v in runlog.variants),
        "videos": sum(len(v.videos) for v in runlog.variants),
        "cost_usd": round(actual_cost(runlog), 4),
        "cached": sum(v.cached for v in runlog.variants),
        "seconds": round(time.time() - runlog.created_at, 2),
    }


def actual_cost(runlog: RunLog) -> float:
    return round(sum(v.cost_actual_usd for v in runlog.variants) + runlog.research_cost_usd, 6)


def finish_run(ctx: RunContext) -> RunResult:
    """Final status from the variants' outcomes: ok, or partial (exit 4) listing what failed."""
    runlog = ctx.runlog
    runlog.totals = _totals(runlog)
    failed = [v for v in runlog.variants if v.status != "ok"]
    if failed:
        listing = "; ".join(f"v{v.variant:02d}: {v.error}" for v in failed)
        runlog.status, runlog.exit_code = "partial", EXIT_PARTIAL
        runlog.message = f"{len(failed)} of {len(runlog.variants)} variants failed ({listing}); the others were delivered"
    else:
        runlog.status, runlog.exit_code = "ok", EXIT_OK
        runlog.message = f"{len(runlog.variants)} variants, {runlog.totals['ads']} ads"
    return RunResult(run_dir=ctx.run_dir, exit_code=runlog.exit_code, message=runlog.message, runlog=runlog)


def _written_files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and not p.name.startswith("."))[:12]


__all__ = ["RunOptions", "RunResult", "run_pipeline", "background_size", "make_run_dir", "EXIT_FAILURE"]
