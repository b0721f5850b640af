"""Report stage: the contact sheet and the HTML gallery of every ad and video the run holds."""

from __future__ import annotations

from creative.render.report import write_contact_sheet, write_gallery
from creative.run.context import RunContext
from creative.run.outcome import totals


def run(ctx: RunContext) -> None:
    runlog, folder = ctx.runlog, ctx.folder
    ads = [ad for v in runlog.variants for ad in v.ads]
    with ctx.stage("report"):
        font = ctx.brand.fonts.get("regular") or next(iter(ctx.brand.fonts.values()))
        write_contact_sheet(folder.contact_sheet, folder.path, ads, font=ctx.settings.brand_dir / "fonts" / font)
        per_variant = {v.variant: {"status": v.status, "cost_usd": v.cost_actual_usd,
                                   **({"from cache": "yes"} if v.cached else {}),
                                   **({"error": v.error} if v.error else {})} for v in runlog.variants}
        write_gallery(folder.gallery, contact_sheet=folder.contact_sheet, run_id=runlog.run_id, brief=ctx.brief,
                      prompts=ctx.prompts, ads=ads, totals={**totals(runlog), "per_variant": per_variant},
                      videos=[video for v in runlog.variants for video in v.videos], encoder=runlog.encoder,
                      warnings=runlog.warnings)
