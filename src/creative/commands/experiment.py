"""`creative experiment new|add|report`: a manual baseline (A) against creative's runs (B), and the verdict."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rich.console import Console

from creative.core.config import Settings
from creative.core.errors import InputError
from creative.results.parse import ad_key
from creative.results.report_page import write_report
from creative.results.verdict import experiment_report
from creative.results.view import experiment_view
from creative.run.folder import RunsRoot
from creative.run.index import sync_index
from creative.store import experiments as experiments_table
from creative.store import runs as runs_table
from creative.store.db import opened, transaction


def new_experiment(settings: Settings, name: str, baseline_minutes: float, baseline_variants: int | None,
                   currency: str | None) -> None:
    if not name.strip():
        raise InputError("an experiment needs a name")
    with opened(RunsRoot(settings.paths.runs_dir).database) as conn, transaction(conn):
        if experiments_table.get(conn, name) is not None:
            raise InputError(f"experiment {name!r} already exists", hint="pick another name, or add campaigns to it")
        experiments_table.create(conn, name, baseline_minutes, baseline_variants, currency.upper() if currency else None)


def add_to_experiment(settings: Settings, name: str, campaign: str, runs: list[str], baseline_ads: list[str]) -> dict:
    """Add run ids (B) and baseline ad names (A) to a campaign of the experiment."""
    if not runs and not baseline_ads:
        raise InputError("nothing to add", hint="give --run RUN_ID and/or --baseline-ad 'Ad name'")
    runs_dir = settings.paths.runs_dir
    with opened(RunsRoot(runs_dir).database) as conn:
        sync_index(conn, runs_dir)
        with transaction(conn):
            _require(conn, name)
            unknown = [r for r in runs if runs_table.find_run(conn, r.rstrip("/").rsplit("/", 1)[-1]) is None]
            if unknown:
                raise InputError(f"no run {', '.join(map(repr, unknown))} in {runs_dir}", hint="see `creative runs list`")
            for run in runs:
                found = runs_table.find_run(conn, run.rstrip("/").rsplit("/", 1)[-1])
                experiments_table.add_run(conn, name, campaign, found["run_id"])
            for ad in baseline_ads:
                experiments_table.add_baseline_ad(conn, name, campaign, ad_key(ad), ad.strip())
        return {"runs": len(experiments_table.runs(conn, name)), "baseline_ads": len(experiments_table.baseline_ads(conn, name))}


def _require(conn: sqlite3.Connection, name: str) -> sqlite3.Row:
    record = experiments_table.get(conn, name)
    if record is None:
        raise InputError(f"no experiment named {name!r}", hint=f"create it: creative experiment new {name} --baseline-minutes M")
    return record


def report(settings: Settings, name: str, out_dir: Path | None) -> tuple[dict, Path]:
    """The verdict and its numbers; writes the HTML page, charts and report.json (default reports/<name>/)."""
    runs_dir = settings.paths.runs_dir
    criteria = settings.experiment
    with opened(RunsRoot(runs_dir).database) as conn:
        sync_index(conn, runs_dir)
        numbers = experiment_report(conn, RunsRoot(runs_dir).ledger, name, criteria)
        view = experiment_view(conn, name, criteria.metric, criteria.confidence)
    page = write_report(numbers, view, runs_dir, out_dir or Path("reports") / name)
    return numbers, page


def print_report(numbers: dict, page: Path, console: Console) -> None:
    t = numbers["throughput"]
    ratio = "–" if t["ratio"] is None else f"{t['ratio']:.2f}x"
    console.print(f"[bold]experiment {numbers['experiment']}[/]: verdict [bold]{numbers['verdict']}[/]")
    for reason in numbers["reasons"]:
        console.print(f"  · {reason}")
    console.print(f"campaigns shipped: {numbers['campaigns_shipped']} of {numbers['campaigns_planned']}")
    console.print(f"throughput: B {t['B_variants']} variants in {t['B_hours']:.2f} h, A {t['A_variants']} in "
                  f"{t['A_hours']:.2f} h; B/A {ratio}")
    c = numbers["cost_per_variant"]
    cur = numbers["currency"] or ""
    console.print("cost per shipped variant: B " + ("–" if c["B"] is None else f"{c['B']:,.2f} {cur}")
                  + f" (generation {c['B_generation']:,.2f} + ad spend {c['B_ad_spend']:,.2f}), A "
                  + ("–" if c["A"] is None else f"{c['A']:,.2f} {cur}"))
    metric = numbers["criteria"]["metric"]
    for arm in "AB":
        m = numbers["arms"][arm]
        value, ci = m.get(metric), m.get(f"{metric}_ci")
        shown = "–" if value is None else (f"{value:.2%}" if metric == "ctr" else f"{value:,.2f}")
        bounds = "" if not ci else " [" + ", ".join("∞" if v is None else (f"{v:.2%}" if metric == "ctr" else f"{v:,.2f}")
                                                   for v in ci) + "]"  # None: no conversions yet, CPA unbounded
        console.print(f"{metric.upper()} {arm}: {shown}{bounds} on {m['spend']:,.2f} spend")
    console.print(f"report: {page}")
