"""Rewrite a finished run's index.html from its folder, with the variants' imported results.

Used after `creative results import`, so the gallery gains the results without re-rendering
anything. Everything comes from the run folder (runlog.json, brief.md, prompts.json).
"""

from __future__ import annotations

import logging
from pathlib import Path

from creative.copy.brief import read_brief
from creative.core.errors import CreativeError
from creative.core.models import PromptSet
from creative.render.report import write_gallery
from creative.run.runlog import RUNLOG_VERSION, RunLog, read_runlog

log = logging.getLogger(__name__)


def per_variant(runlog: RunLog) -> dict[int, dict]:
    """What the gallery shows beside each variant's seed: status, cost, cache, error."""
    return {v.variant: {"status": v.status, "cost_usd": v.cost_actual_usd,
                        **({"from cache": "yes"} if v.cached else {}),
                        **({"error": v.error} if v.error else {})} for v in runlog.variants}


def refresh_gallery(run_dir: Path, results: dict[int, dict[str, str]]) -> str | None:
    """Rewrite run_dir/index.html with `results`; returns why it could not (None when written)."""
    run_dir = Path(run_dir)
    if not (run_dir / "index.html").is_file():
        return "no gallery yet"
    try:
        runlog = read_runlog(run_dir)
        if runlog.version > RUNLOG_VERSION:
            return f"runlog version {runlog.version} is newer than this creative"
        brief = read_brief(run_dir / "brief.md")
        prompts = PromptSet.model_validate_json((run_dir / "prompts.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, CreativeError) as exc:
        return f"cannot read the run folder ({type(exc).__name__})"
    write_gallery(run_dir, run_id=runlog.run_id, brief=brief, prompts=prompts,
                  ads=[ad for v in runlog.variants for ad in v.ads],
                  totals={**runlog.totals, "per_variant": per_variant(runlog)},
                  videos=[video for v in runlog.variants for video in v.videos], encoder=runlog.encoder,
                  results=results)
    return None
