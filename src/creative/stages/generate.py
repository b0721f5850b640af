"""Generate stage: the variants' backgrounds from ComfyUI, each handed to the composer as it lands."""

from __future__ import annotations

import asyncio

from creative.core.errors import ComfyError, CreativeError
from creative.core.models import GenerationResult
from creative.gen.dispatch import GenJob, generate_all
from creative.gen.workflow import graph_sha256
from creative.render.compose import AdComposer
from creative.run.context import RunContext
from creative.run.runlog import sha256_file


def pending_jobs(ctx: RunContext) -> list[GenJob]:
    """A job for each variant this command works on that has no background yet."""
    done = {v.variant for v in ctx.runlog.variants if v.status == "ok"}
    wanted = ctx.targets
    return [
        GenJob(variant=p.variant, graph=ctx.workflow.apply(p.positive, p.negative, p.seed, p.width, p.height),
               output_node=ctx.workflow.output_node, seed=p.seed, filename=ctx.folder.background(p.variant).name)
        for p in ctx.prompts.variants
        if p.variant not in done and (wanted is None or p.variant in wanted)
    ]


def cache_hits(ctx: RunContext, jobs: list[GenJob]) -> int:
    cache = ctx.cache_dir
    if cache is None:
        return 0
    return sum((cache / f"{graph_sha256(job.graph)}.png").is_file() for job in jobs)


def run(ctx: RunContext) -> None:
    jobs = pending_jobs(ctx)
    if not jobs:
        return
    settings, urls = ctx.settings, ctx.settings.comfyui.urls
    # Each variant's ads are drawn as soon as its background is written, while the GPU works
    # on the next ones; the compose stage then finishes the last and writes them all.
    composer = ctx.resources.enter_context(AdComposer(ctx.folder, ctx.name_id or ctx.run_id, ctx.brief, ctx.prompts,
                                                      ctx.channel, settings.brand_dir))
    ctx.composer = composer

    def on_event(name: str, payload: dict) -> None:
        ctx.reporter.generation_event(name, payload)
        if name == "done":
            try:
                composer.add(payload["variant"])
            except CreativeError:
                pass  # raised again, where it belongs, by the compose stage

    with ctx.stage("generate", f"{len(jobs)} backgrounds on {len(urls)} server(s)"):
        ctx.reporter.generation_started([job.variant for job in jobs])
        try:
            results = asyncio.run(generate_all(
                jobs, urls, ctx.folder.backgrounds, timeout_s=settings.comfyui.timeout_s,
                on_event=on_event, cache_dir=ctx.cache_dir,
            ))
        finally:
            ctx.reporter.generation_finished()
        for result in results:
            _record(ctx, result, settings.budget.cost_per_image_usd)
        cached = sum(r.cached for r in results)
        if cached:
            ctx.reporter.info(f"{cached} of {len(results)} variants came from the cache (no cost)")
        failed = [r for r in results if not r.ok]
        if len(failed) == len(results):
            raise ComfyError("every variant failed to generate: " + "; ".join(f"v{r.variant:02d}: {r.error}" for r in failed))


def _record(ctx: RunContext, result: GenerationResult, cost_per_image: float) -> None:
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
        record.background_sha256 = sha256_file(ctx.folder.path / result.path)
