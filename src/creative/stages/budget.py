"""Budget stage: reserve the images still to generate under the ledger's lock, before anything is sent."""

from __future__ import annotations

from creative.core import aio
from creative.gen.dispatch import require_reachable
from creative.run.context import RunContext
from creative.run.pricing import backends_for, estimate_per_image, recent_gpu_seconds
from creative.stages.generate import cache_hits, pending_jobs


def run(ctx: RunContext) -> None:
    jobs = pending_jobs(ctx)
    spend = ctx.spend
    if not jobs or spend.carried:
        return  # nothing to pay for, or a crashed run's open reservation already covers it
    hits = cache_hits(ctx, jobs)
    backends = backends_for(ctx.settings)
    if hits < len(jobs):
        # A backend that is down or misconfigured (e.g. a refused RunPod key) fails the run here, before
        # anything is reserved; the ones that answer are priced as they bill (the bundled mock: free).
        ctx.ledger.check(0.0)  # a month already over the cap is refused before any backend is asked
        backends = (ctx.gpu.reachable() if ctx.gpu is not None  # a batch's queue: checked once for all products
                    else aio.run(require_reachable(backends, timeout_s=ctx.settings.comfyui.timeout_s)))
    per_image = estimate_per_image(ctx.settings, recent_gpu_seconds(ctx.runs, ctx.workflow.name), backends)
    estimate = round((len(jobs) - hits) * per_image, 6)
    if spend.reason == "estimate" and ctx.runlog.budget is not None:
        ctx.runlog.budget.estimate_usd = round(estimate + ctx.research_cost, 6)
    with ctx.stage("budget", f"estimate ${estimate:.2f}" + (f" ({hits} from cache)" if hits else "")):
        ctx.ledger.reserve(spend.ledger_id, estimate, reason=spend.reason)
        spend.reserved = True
