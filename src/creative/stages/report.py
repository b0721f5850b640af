"""Report stage: the contact sheet and the HTML gallery of every ad and video the run holds."""

from __future__ import annotations

from creative.run.context import RunContext
from creative.run.outcome import totals


def run(ctx: RunContext) -> None:
    runlog, folder = ctx.runlog, ctx.folder
    with ctx.stage("report"):
        # The contact sheet's and gallery's drawing load with the stage that writes them.
        from creative.render.report import write_contact_sheet
        from creative.run.gallery_refresh import write_run_gallery

        font = ctx.brand.fonts.get("regular") or next(iter(ctx.brand.fonts.values()))
        write_contact_sheet(folder.contact_sheet, folder.path, [ad for v in runlog.variants for ad in v.ads],
                            font=ctx.settings.brand_dir / "fonts" / font)
        # A run composed again after its ads were shipped keeps the results imported for them.
        write_run_gallery(folder, runlog, ctx.brief, ctx.prompts, _imported_results(ctx), totals(runlog))


def _imported_results(ctx: RunContext) -> dict[int, dict[str, str]]:
    """The variants' imported ad results, if any were imported (the statistics load only then)."""
    if not ctx.runs.database.is_file():
        return {}
    from creative.run.gallery_results import gallery_results

    return gallery_results(ctx.folder.path)
