"""Rich tables for commands that report on runs and the budget (stderr-free: tables go to stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table


def _console() -> Console:
    # Piped output is not cut to 80 columns: run ids must stay whole for grep and scripts.
    return Console() if sys.stdout.isatty() else Console(width=200)


def print_budget(summary: dict, ledger_path: Path, console: Console | None = None) -> None:
    console = console or _console()
    head = Table.grid(padding=(0, 2))
    head.add_row("month", summary["month"])
    head.add_row("cap", f"${summary['cap_usd']:.2f}")
    head.add_row("settled", f"${summary['settled_usd']:.2f}")
    head.add_row("reserved", f"${summary['reserved_usd']:.2f}")
    head.add_row("remaining", f"[bold]${summary['remaining_usd']:.2f}[/]")
    console.print(head)
    if not summary["runs"]:
        console.print(f"[dim]no runs this month in {ledger_path}[/]")
        return
    if summary.get("by_backend"):
        backends = Table("backend", "spent")
        for name, usd in summary["by_backend"].items():
            backends.add_row(name, f"${usd:.2f}")
        console.print(backends)
    table = Table("run", "status", "reserved", "settled")
    for run in summary["runs"]:
        status = "[yellow]stale[/] (process gone)" if run["status"] == "stale" else run["status"]
        settled = "" if run["settled_usd"] is None else f"${run['settled_usd']:.2f}"
        table.add_row(run["run_id"], status, f"${run['reserved_usd']:.2f}", settled)
    console.print(table)


def print_runs(runs: list, console: Console | None = None) -> None:
    console = console or _console()
    if not runs:
        console.print("[dim]no runs yet[/]")
        return
    table = Table("run", "date", "channel", "status", "ok/failed", "cost", "time")
    for run in runs:
        ok_failed = "" if run.variants_ok is None else f"{run.variants_ok}/{run.variants_failed}"
        cost = "" if run.cost_usd is None else f"${run.cost_usd:.2f}"
        seconds = "" if run.seconds is None else f"{run.seconds:.1f}s"
        status = run.status + (f" [yellow]({run.problem})[/]" if run.problem else "")
        table.add_row(run.run_id, run.created, run.channel, status, ok_failed, cost, seconds)
    console.print(table)
