"""Results: importing a month of per-day Meta rows, showing them, and `runs list` from the index."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, Config, Result, result

sys.path.insert(0, str(ROOT / "tests"))  # the run folders and exports the tests build

NAME = "results"
RUNS, VARIANTS, DAYS = 200, 6, 30
IMPORT_RUNS = 20  # runs whose ads get a month of daily rows: 20 x 6 x 30 = 3,600 rows


def _setup(base: Path) -> tuple[Path, Path]:
    from results_helpers import ad_name, make_run, meta_row, write_meta_csv

    runs = base / "runs"
    concepts = [f"c{n}" for n in range(1, VARIANTS + 1)]
    ids = [f"202611{1 + r // 100:02d}-{r % 100:06d}-lumen-skin-serum-meta_static" for r in range(RUNS)]
    for run_id in ids:
        make_run(runs, run_id, concepts)
    rows = [meta_row(ad_name(run_id, v, c), 10.0 + v, 1_000 * v, 20 * v, v, start=f"2026-11-{d:02d}", end=f"2026-11-{d:02d}")
            for run_id in ids[:IMPORT_RUNS] for v, c in enumerate(concepts, start=1) for d in range(1, DAYS + 1)]
    return runs, write_meta_csv(base / "meta.csv", rows)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cfg: Config) -> list[Result]:
    from creative.commands.results import import_results, show_results
    from creative.core.config import Settings
    from creative.run.index import list_runs

    cold_list, warm_list, first_import, again, show = [], [], [], [], []
    for _ in range(cfg.reps):
        base = Path(tempfile.mkdtemp(prefix="bench-results-"))
        try:
            runs, export = _setup(base)
            settings = Settings.model_validate({"paths": {"runs_dir": str(runs)}})
            cold_list.append(_timed(lambda: list_runs(runs)))
            warm_list.append(_timed(lambda: list_runs(runs)))
            args = {"platform": "auto", "experiment": None, "currency": None, "columns": None, "ad_map": None}
            first_import.append(_timed(lambda: import_results(settings, [export], **args)))
            again.append(_timed(lambda: import_results(settings, [export], **args)))
            run_id = sorted(p.name for p in runs.iterdir() if p.is_dir())[0]
            show.append(_timed(lambda: show_results(settings, run_id, None, "cpa")))
        finally:
            shutil.rmtree(base, ignore_errors=True)
    rows = IMPORT_RUNS * VARIANTS * DAYS
    return [
        result(f"runs list, {RUNS} runs, index built", "s", cold_list),
        result(f"runs list, {RUNS} runs, from the index", "s", warm_list),
        result(f"results import, {rows:,} Meta rows", "s", first_import, notes="parse, check, store in one transaction, match, rewrite galleries"),
        result("results import, same file again", "s", again),
        result("results show, one run (P(best), settle estimate)", "s", show),
    ]
