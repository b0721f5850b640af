"""Generate stage: the variants' backgrounds from ComfyUI, each handed to the composer as it lands."""

from __future__ import annotations

import asyncio

from creative.core import aio
from creative.core.errors import ComfyError, CreativeError
from creative.core.models import Attempt, GenerationResult
from creative.core.atomic import write_atomic
from creative.gen.client import RunOutput, new_http_client
from creative.gen.backends import Backend, make_client
from creative.run.pricing import backends_for, estimate_per_image
from creative.gen.dispatch import GenJob, as_png, generate_all
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
    settings, backends = ctx.settings, backends_for(ctx.settings)
    # Each variant's ads are drawn as soon as its background is written, while the GPU works
    # on the next ones; the compose stage then finishes the last and writes them all.
    composer = ctx.resources.enter_context(AdComposer(ctx.folder, ctx.name_id or ctx.run_id, ctx.brief, ctx.prompts,
                                                      ctx.channel, settings.brand_dir, pool=ctx.compose_pool))
    ctx.composer = composer

    changed = False

    def record(name: str, payload: dict) -> None:
        nonlocal changed
        ctx.reporter.generation_event(name, payload)
        if name in ("submitted", "queued"):
            _record_submitted(ctx, payload)
            changed = True
        elif name == "done":
            _record_done(ctx, payload)
            changed = True
            try:
                composer.add(payload["variant"])
            except CreativeError:
                pass  # raised again, where it belongs, by the compose stage

    def save() -> None:
        # On disk before the prompt is sent: after a crash, resume collects it instead of paying twice.
        nonlocal changed
        if changed:
            ctx.save()
            changed = False

    def on_event(name: str, payload: dict) -> None:
        record(name, payload)
        save()

    with ctx.stage("generate", f"{len(jobs)} backgrounds on {len(backends)} server(s)"):
        ctx.reporter.generation_started([job.variant for job in jobs])
        try:
            if ctx.gpu is not None:
                # Events that arrive together are saved together: one runlog write, not one each.
                results = ctx.gpu.generate(jobs, ctx.folder.backgrounds, on_event=record, flush=save,
                                           cache_dir=ctx.cache_dir)
            else:
                results = aio.run(generate_all(
                    jobs, backends, ctx.folder.backgrounds, timeout_s=settings.comfyui.timeout_s,
                    on_event=on_event, cache_dir=ctx.cache_dir,
                ))
        finally:
            ctx.reporter.generation_finished()
        for result in results:
            _record(ctx, result, estimate_per_image(settings, None))
        cached = sum(r.cached for r in results)
        if cached:
            ctx.reporter.info(f"{cached} of {len(results)} variants came from the cache (no cost)")
        failed = [r for r in results if not r.ok]
        if len(failed) == len(results):
            raise ComfyError("every variant failed to generate: " + "; ".join(f"v{r.variant:02d}: {r.error}" for r in failed))


def _record_submitted(ctx: RunContext, payload: dict) -> None:
    record = ctx.runlog.variant(payload["variant"])
    previous = payload.get("previous")  # a backend that names its own jobs: replace our id by its own
    record.attempts = [a for a in record.attempts if a.prompt_id != previous]
    record.prompt_ids = [p for p in record.prompt_ids if p != previous]
    record.attempts.append(Attempt(server=payload["server"], prompt_id=payload["prompt_id"],
                                   started_at=ctx.clock(), outcome="queued"))
    record.prompt_ids.append(payload["prompt_id"])
    record.server = payload["server"]


def _record_done(ctx: RunContext, payload: dict) -> None:
    """A background on disk is paid for at once, so a cancelled run settles what it received."""
    record = ctx.runlog.variant(payload["variant"])
    record.status, record.cached, record.background = "ok", bool(payload.get("cached")), payload.get("path")
    record.cost_actual_usd = float(payload.get("cost_usd") or 0.0)


def _record(ctx: RunContext, result: GenerationResult, estimate: float) -> None:
    record = ctx.runlog.variant(result.variant)
    record.status = "ok" if result.ok else "failed"
    record.attempts = result.attempts
    record.prompt_ids = [a.prompt_id for a in result.attempts]
    record.server = result.attempts[-1].server if result.attempts else None
    record.cached = result.cached
    record.seconds = result.seconds
    record.error = result.error
    record.graph_sha256 = result.graph_sha256 or record.graph_sha256
    record.cost_estimate_usd = estimate
    # Every image the server made for us is paid once: failed downloads included, cache hits free.
    record.cost_actual_usd = 0.0 if result.cached else round(sum(a.cost_usd for a in result.attempts if a.billed), 6)
    if result.ok and result.path:
        record.background = result.path
        record.background_sha256 = sha256_file(ctx.folder.path / result.path)


def collect(ctx: RunContext) -> None:
    """Fetch the images of prompts a killed run had queued and the servers finished while it was gone.

    They were made for us, so they are written and paid for instead of being generated again.
    """
    waiting = [(record, attempt) for record in ctx.runlog.variants if record.status != "ok"
               for attempt in record.attempts[-1:] if attempt.outcome == "queued"]
    if not waiting:
        return
    with ctx.stage("collect", f"{len(waiting)} prompts queued before the run stopped"):
        outputs = aio.run(_collect_all(ctx, waiting))
        backends = {b.name: b for b in backends_for(ctx.settings)}
        for (record, attempt), output in zip(waiting, outputs):
            if isinstance(output, RunOutput) and output.images:
                target = ctx.folder.background(record.variant)
                write_atomic(target, as_png(output.images[0]))
                attempt.outcome, attempt.billed, attempt.ended_at = "ok", True, ctx.clock()
                record.status, record.error, record.background = "ok", None, ctx.folder.relative(target)
                record.background_sha256 = sha256_file(target)
                attempt.cost_usd = backends.get(attempt.server, Backend()).cost(output)
                record.cost_actual_usd = round(sum(a.cost_usd for a in record.attempts if a.billed), 6)
            else:
                attempt.outcome, attempt.ended_at = "cancelled", ctx.clock()
                attempt.error = f"not finished on {attempt.server}: {output}" if output else "gone from the server"
        found = sum(r.status == "ok" for r, _ in waiting)
        ctx.reporter.info(f"{found} of {len(waiting)} images collected from the servers; the rest are generated again")


async def _collect_all(ctx: RunContext, waiting: list) -> list:
    configured = {b.name: b for b in backends_for(ctx.settings)}
    servers = sorted({attempt.server for _, attempt in waiting})
    timeout = ctx.settings.comfyui.timeout_s
    async with new_http_client(servers) as http:
        clients = {}
        for name in servers:
            try:
                clients[name] = make_client(configured.get(name, Backend(kind="comfyui", url=name)), http=http,
                                            timeout_s=timeout, poll_interval_s=1.0)
            except ComfyError as exc:
                clients[name] = exc.message  # e.g. an endpoint whose key is gone: generate again

        async def one(attempt: Attempt) -> RunOutput | str | None:
            client = clients[attempt.server]
            if isinstance(client, str):
                return client
            try:
                return await client.collect(attempt.prompt_id, ctx.workflow.output_node, timeout)
            except ComfyError as exc:  # a server that is down or failed the prompt: generate it again
                return exc.message

        return await asyncio.gather(*(one(attempt) for _, attempt in waiting))
