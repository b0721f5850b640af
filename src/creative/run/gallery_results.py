"""Imported results for a run's gallery: the call the report stage makes when it writes index.html."""

from __future__ import annotations

from pathlib import Path

from creative.results.gallery import variant_results
from creative.results.view import joined_rows
from creative.run.index import sync_index
from creative.run.folder import RunsRoot
from creative.store.db import opened


def gallery_results(run_dir: Path) -> dict[int, dict[str, str]]:
    """Variant -> {label: text} for `run_dir`, from its runs folder's database; {} when nothing was imported."""
    run_dir = Path(run_dir)
    root = RunsRoot(run_dir.parent)
    if not root.database.is_file():
        return {}  # never create the database just to find it empty
    with opened(root.database) as conn:
        sync_index(conn, run_dir.parent)  # a run that just finished is indexed before it is matched
        return variant_results(joined_rows(conn), run_dir.name)
