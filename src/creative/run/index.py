"""The run index for `creative runs list/show`: read from runlogs only, tolerant of other versions.

Run folders are the source of truth. Their summaries are kept in the runs folder's SQLite file;
`list_runs` reads that index and re-reads only the runlogs that changed since (size or mtime),
so the index is rebuilt from the folders whenever it is missing or stale.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from creative.budget.ledger import pid_alive
from creative.core.json_text import loads as json_loads
from creative.core.errors import CreativeError
from creative.run.folder import RunFolder, RunsRoot
from creative.run.runlog import RUNLOG_VERSION
from creative.store import runs as runs_table
from creative.store.db import opened, transaction

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    run_dir: Path
    run_id: str
    created: str = ""
    channel: str = ""
    status: str = ""
    variants_ok: int | None = None
    variants_failed: int | None = None
    cost_usd: float | None = None
    seconds: float | None = None
    problem: str | None = None  # why (part of) the runlog could not be read


def load_raw_runlog(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The runlog as plain JSON, or None and the reason it cannot be read."""
    path = RunFolder(run_dir).runlog
    if not path.is_file():
        return None, "no runlog.json"
    try:
        data = json_loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"runlog.json unreadable ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, "runlog.json is not an object"
    return data, None


def summarize(run_dir: Path) -> RunSummary:
    return _summarize_data(run_dir, *load_raw_runlog(run_dir))


def _summarize_data(run_dir: Path, data: dict[str, Any] | None, problem: str | None) -> RunSummary:
    summary = RunSummary(run_dir=run_dir, run_id=run_dir.name, problem=problem)
    if data is None:
        return summary
    version = data.get("version")
    if not isinstance(version, int):
        summary.problem = "runlog has no version"
    elif version > RUNLOG_VERSION:
        summary.problem = f"runlog version {version} is newer than this creative ({RUNLOG_VERSION}); showing what is readable"
    summary.run_id = str(data.get("run_id") or run_dir.name)
    created = data.get("created_at")
    if isinstance(created, (int, float)):
        summary.created = datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M")
    inputs = _dict(data.get("inputs"))
    summary.channel = str(inputs.get("channel") or "")
    summary.status = str(data.get("status") or "")
    pid = data.get("pid")
    if summary.status == "running" and isinstance(pid, int) and not pid_alive(pid):
        # Killed (kill -9, a crash, a reboot): it will never finish by itself.
        summary.status, summary.problem = "failed", "stopped without finishing; `creative resume` continues it"
    statuses = [v.get("status") for v in _variants(data)]
    if statuses:
        summary.variants_ok = statuses.count("ok")
        summary.variants_failed = statuses.count("failed")
    totals = _dict(data.get("totals"))
    summary.cost_usd = _number(totals.get("cost_usd"))
    summary.seconds = _number(totals.get("seconds"))
    return summary


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _variants(data: dict[str, Any]) -> list[dict[str, Any]]:
    variants = data.get("variants")
    return [v for v in variants if isinstance(v, dict) and isinstance(v.get("variant"), int)] if isinstance(variants, list) else []


def _index_rows(run_dir: Path, stamp: tuple[int | None, int | None]) -> tuple[dict, list[dict], list[dict]]:
    """The index rows for one run folder: the run, its variants and its ad files."""
    data, problem = load_raw_runlog(run_dir)
    summary = _summarize_data(run_dir, data, problem)
    run = {k: v for k, v in summary.__dict__.items() if k != "run_dir"}
    run.update(folder=run_dir.name, created_at=_number((data or {}).get("created_at")),
               runlog_mtime_ns=stamp[0], runlog_size=stamp[1])
    variants, ads = [], []
    for v in _variants(data or {}):
        variants.append({"variant": v["variant"], "concept": v.get("concept"), "seed": v.get("seed"),
                         "status": v.get("status"), "prompt": v.get("positive")})
        for kind, key in (("image", "ads"), ("video", "videos")):
            for ad in v.get(key) or []:
                if isinstance(ad, dict) and isinstance(ad.get("path"), str):
                    ads.append({"variant": v["variant"], "path": ad["path"], "kind": kind,
                                "width": ad.get("width"), "height": ad.get("height")})
    return run, variants, ads


def _stamp(run_dir: Path) -> tuple[int | None, int | None]:
    try:
        stat = os.stat(RunFolder(run_dir).runlog)
    except OSError:
        return None, None
    return stat.st_mtime_ns, stat.st_size


def run_folders(runs_dir: Path) -> list[Path]:
    """Every run folder in `runs_dir` (hidden folders such as the generation cache are not runs)."""
    return [folder.path for folder in RunsRoot(runs_dir).runs()]


def sync_index(conn, runs_dir: Path) -> int:
    """Bring the index in line with the run folders; returns how many runlogs were (re-)read."""
    folders = {p.name: p for p in run_folders(runs_dir)}
    known = runs_table.indexed_stamps(conn)
    stale = {name: stamp for name, path in folders.items()
             if known.get(name) != (stamp := _stamp(path)) or stamp == (None, None)}
    gone = [name for name in known if name not in folders]
    if stale or gone:
        with transaction(conn):
            runs_table.drop_runs(conn, gone)
            for name, stamp in stale.items():
                runs_table.put_run(conn, *_index_rows(folders[name], stamp))
    return len(stale)


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run folder's summary, from the index (refreshed first)."""
    if not runs_dir.is_dir():
        return []
    try:
        with opened(RunsRoot(runs_dir).database) as conn:
            sync_index(conn, runs_dir)
            rows = runs_table.all_runs(conn)
    except (CreativeError, sqlite3.Error) as exc:
        # a read-only or damaged database must not hide the runs: read the folders themselves
        log.warning("run index unavailable (%s); reading every runlog", getattr(exc, "message", exc))
        return [summarize(folder) for folder in run_folders(runs_dir)]
    fields = [f for f in RunSummary.__dataclass_fields__ if f != "run_dir"]
    summaries = [RunSummary(run_dir=runs_dir / row["folder"], **{f: row[f] for f in fields}) for row in rows]
    # A run indexed while running may have been killed since (its runlog unchanged): ask again.
    return [summarize(s.run_dir) if s.status == "running" else s for s in summaries]
