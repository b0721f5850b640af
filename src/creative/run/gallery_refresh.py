"""Rewrite a finished run's gallery from its folder, with the variants' imported results.

Used after `creative results import`, so the gallery gains the results without re-rendering
anything. Everything comes from the run folder (runlog, brief, prompts).
"""

from __future__ import annotations

from pathlib import Path

from creative.core.errors import CreativeError
from creative.render.report import write_gallery
from creative.run.folder import RunFolder
from creative.core.models import Brief, PromptSet
from creative.run.runlog import RunLog


def per_variant(runlog: RunLog) -> dict[int, dict]:
    """What the gallery shows beside each variant's seed: status, cost, cache, error."""
    return {v.variant: {"status": v.status, "cost_usd": v.cost_actual_usd,
                        **({"from cache": "yes"} if v.cached else {}),
                        **({"error": v.error} if v.error else {})} for v in runlog.variants}


def write_run_gallery(folder: RunFolder, runlog: RunLog, brief: Brief, prompts: PromptSet,
                      results: dict[int, dict[str, str]] | None = None, totals: dict | None = None) -> None:
    """The run's gallery page, from its runlog, brief and prompts (and imported results, if any)."""
    write_gallery(folder.gallery, contact_sheet=folder.contact_sheet, run_id=runlog.run_id, brief=brief,
                  prompts=prompts, ads=[ad for v in runlog.variants for ad in v.ads],
                  totals={**(runlog.totals if totals is None else totals), "per_variant": per_variant(runlog)},
                  videos=[video for v in runlog.variants for video in v.videos], encoder=runlog.encoder,
                  warnings=runlog.warnings, results=results)


def refresh_gallery(run_dir: Path, results: dict[int, dict[str, str]]) -> str | None:
    """Rewrite the run's gallery with `results`; returns why it could not (None when written)."""
    folder = RunFolder(Path(run_dir))
    if not folder.gallery.is_file():
        return "no gallery yet"
    try:
        runlog, brief, prompts = folder.read_runlog(), folder.read_brief(), folder.read_prompts()
    except (OSError, ValueError, CreativeError) as exc:
        return f"cannot read the run folder ({type(exc).__name__})"
    write_run_gallery(folder, runlog, brief, prompts, results)
    return None
