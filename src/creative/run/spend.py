"""Where this month's money went: the billed images of each run, summed per backend from the runlogs."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from creative.run.folder import RunsRoot

RESEARCH = "research"  # paid page fetches (e.g. Firecrawl), not a generation backend


def spend_by_backend(runs: RunsRoot, ledger_ids: Iterable[str]) -> dict[str, float]:
    """{backend name: USD} over the runs behind `ledger_ids` (a regen or resume `<run>#...` counts
    as its run), dearest first; a runlog that cannot be read is left out."""
    wanted = {ledger_id.split("#", 1)[0] for ledger_id in ledger_ids}
    totals: dict[str, float] = defaultdict(float)
    for folder in runs.runs():
        if folder.path.name not in wanted:
            continue
        try:
            runlog = folder.read_runlog()
        except Exception:  # a broken runlog is reported by `creative runs`, not here
            continue
        for variant in runlog.variants:
            for attempt in variant.attempts:
                if attempt.billed:
                    totals[attempt.server] += attempt.cost_usd
        if runlog.research_cost_usd:
            totals[RESEARCH] += runlog.research_cost_usd
    return {name: round(usd, 6) for name, usd in sorted(totals.items(), key=lambda kv: -kv[1])}
