"""Read run folders for `creative runs list/show`: from runlogs only, tolerant of other versions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from creative.budget.ledger import pid_alive
from creative.run.folder import RunFolder, RunsRoot
from creative.run.runlog import RUNLOG_VERSION


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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"runlog.json unreadable ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, "runlog.json is not an object"
    return data, None


def summarize(run_dir: Path) -> RunSummary:
    data, problem = load_raw_runlog(run_dir)
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
    inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
    summary.channel = str(inputs.get("channel") or "")
    summary.status = str(data.get("status") or "")
    pid = data.get("pid")
    if summary.status == "running" and isinstance(pid, int) and not pid_alive(pid):
        # Killed (kill -9, a crash, a reboot): it will never finish by itself.
        summary.status, summary.problem = "failed", "stopped without finishing; `creative resume` continues it"
    variants = data.get("variants") if isinstance(data.get("variants"), list) else []
    statuses = [v.get("status") for v in variants if isinstance(v, dict)]
    if statuses:
        summary.variants_ok = statuses.count("ok")
        summary.variants_failed = statuses.count("failed")
    totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
    cost = totals.get("cost_usd")
    summary.cost_usd = cost if isinstance(cost, (int, float)) else None
    seconds = totals.get("seconds")
    summary.seconds = seconds if isinstance(seconds, (int, float)) else None
    return summary


def list_runs(runs_dir: Path) -> list[RunSummary]:
    return [summarize(folder.path) for folder in RunsRoot(runs_dir).runs()]
