"""The brand a run records, read back from run folders: which brand an existing run was made with,
and whether the bundled sample brand has been used before (its hint is shown once)."""

from __future__ import annotations

from creative.brand.select import BrandChoice, recorded_brand, sample_brand_hint
from creative.core.errors import CreativeError
from creative.run.folder import RunFolder, RunsRoot


def brand_of_run(folder: RunFolder) -> BrandChoice | None:
    try:
        entry = folder.read_runlog().brand
    except CreativeError:
        return None
    return recorded_brand(entry, folder.path.name)


def sample_used_before(runs: RunsRoot, current: RunFolder | None = None) -> bool:
    """True when an earlier run (not `current`) recorded the sample brand in its runlog."""
    for folder in runs.runs():
        if current is not None and folder.path.resolve() == current.path.resolve():
            continue
        try:
            entry = folder.read_runlog().brand or {}
        except CreativeError:
            continue
        if isinstance(entry, dict) and entry.get("sample"):
            return True
    return False


def sample_hint(choice: BrandChoice, runs: RunsRoot, current: RunFolder | None = None) -> str | None:
    """How to make one's own brand, on the first run with the sample brand; None otherwise.

    Earlier runs' runlogs are read only for a run on the sample brand: one's own brand never
    pays for a scan that grows with every run kept."""
    return sample_brand_hint(choice, choice.sample and sample_used_before(runs, current))
