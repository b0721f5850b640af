"""Research stage: read the product page into research.json and research.md (skipped for a given brief)."""

from __future__ import annotations

from creative.brand.select import brand_mismatch
from creative.core.redact import redact_url
from creative.research import research, research_cost_usd, write_research
from creative.run.context import RunContext


def run(ctx: RunContext) -> None:
    request, settings = ctx.request, ctx.settings
    if request.brief_path is not None:
        return
    if request.notes is not None:
        with ctx.stage("research", f"{redact_url(request.notes.url)} (from the feed)"):
            write_research(request.notes, ctx.folder.research_json, ctx.folder.research_md)
            ctx.notes = request.notes
        return
    if ctx.research_cost and ctx.spend is not None:
        # Paid research (Firecrawl) is reserved before it runs, like generation.
        ctx.ledger.reserve(ctx.spend.ledger_id, ctx.research_cost, reason="research")
        ctx.spend.reserved = True
    research_settings = settings.research
    with ctx.stage("research", f"{redact_url(request.url)} ({research_settings.backend})"):
        notes = research(
            request.url, timeout_s=research_settings.timeout_s, max_bytes=research_settings.max_bytes,
            backend=research_settings.backend, ignore_robots=research_settings.ignore_robots,
            chromium_path=research_settings.chromium_path, screenshot_path=ctx.folder.screenshot,
            firecrawl_api_url=research_settings.firecrawl_api_url,
        )
        # Tokens in the page URL never reach research.*, brief.md or the runlog.
        notes = notes.model_copy(update={"url": redact_url(notes.url), "final_url": notes.final_url and redact_url(notes.final_url)})
        write_research(notes, ctx.folder.research_json, ctx.folder.research_md)
        ctx.runlog.research_cost_usd = research_cost_usd(notes.backend, research_settings.firecrawl_cost_per_scrape_usd)
        ctx.reporter.info(f"found: {notes.product_name or notes.title or 'no product name'}"
                          + (f" · {notes.price} {notes.currency or ''}" if notes.price else ""))
        ctx.notes = notes
        warning = brand_mismatch(notes.brand, getattr(notes, "site_name", None), ctx.brand.name)
        if warning:  # the ads would carry another brand's kit: say so here, in the runlog and the gallery
            ctx.runlog.warnings.append(warning)
            ctx.reporter.warn(warning)
