"""The results of a run, an experiment or everything: imported rows joined to variants, added up and judged."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from creative.core.errors import InputError
from creative.results.match import AdResolver, Match
from creative.results.summary import Totals, group, table
from creative.store import experiments as experiments_table
from creative.store import results as results_table
from creative.store import runs as runs_table


@dataclass
class Row:
    """One stored result row and what it was matched to (None: unmatched)."""

    data: sqlite3.Row
    match: Match | None

    def __getitem__(self, key: str):
        return self.data[key]


def joined_rows(conn: sqlite3.Connection) -> list[Row]:
    resolver = AdResolver(conn)
    return [Row(r, resolver.resolve(r["ad_key"])) for r in results_table.all_rows(conn)]


def one_currency(rows: list[Row], what: str) -> str | None:
    currencies = sorted({r["currency"] for r in rows if r["currency"]})
    if len(currencies) > 1:
        raise InputError(f"results for {what} are in {', '.join(currencies)}; amounts in different currencies cannot be added",
                         hint="show each run separately, or import exports in one currency")
    return currencies[0] if currencies else None


def find_folder(conn: sqlite3.Connection, run: str) -> sqlite3.Row:
    """A run by id, folder name or path (its last part)."""
    name = run.rstrip("/").rsplit("/", 1)[-1]
    found = runs_table.find_run(conn, name)
    if found is None:
        raise InputError(f"no run {name!r} in the runs folder", hint="see `creative runs list`")
    return found


def _variant_label(row: Row, with_run: bool) -> str | None:
    m = row.match
    if m is None or m.folder is None:
        return None
    base = f"v{m.variant:02d} {m.concept or ''}".strip()
    return f"{m.run_id} {base}" if with_run else base


def _describe(units: dict[str, Totals], rows: list[Row], key) -> None:
    """Attach run, variant, concept and a thumbnail path to variant units (for tables and reports)."""
    for row in rows:
        label = key(row)
        if label in units and row.match is not None and row.match.folder:
            m = row.match
            unit = units[label]
            unit.extra.setdefault("run_id", m.run_id)
            unit.extra.setdefault("folder", m.folder)
            unit.extra.setdefault("variant", m.variant)
            unit.extra.setdefault("concept", m.concept)
            if m.ad_path and m.kind == "image":
                unit.extra.setdefault("ad_path", m.ad_path)


def run_view(conn: sqlite3.Connection, run: str, metric: str, confidence: float) -> dict:
    found = find_folder(conn, run)
    rows = [r for r in joined_rows(conn) if r.match is not None and r.match.folder == found["folder"]]
    return _view(rows, f"run {found['run_id']}", metric, confidence, with_run=False)


def experiment_rows(conn: sqlite3.Connection, name: str) -> tuple[sqlite3.Row, list[Row], list[Row], dict[str, str]]:
    """The experiment, its B rows (its runs' variants), its A rows (labelled baseline ads), run folder -> campaign."""
    record = experiments_table.get(conn, name)
    if record is None:
        raise InputError(f"no experiment named {name!r}", hint=f"create it: creative experiment new {name} --baseline-minutes M")
    campaign_of = {}
    for entry in experiments_table.runs(conn, name):
        folder = runs_table.find_run(conn, entry["run_id"])
        if folder is not None:
            campaign_of[folder["folder"]] = entry["campaign"]
    rows = joined_rows(conn)
    b_rows = [r for r in rows if r.match is not None and r.match.folder in campaign_of]
    a_rows = [r for r in rows if r.match is not None and r.match.how == "baseline" and r.match.experiment == name]
    return record, b_rows, a_rows, campaign_of


def experiment_view(conn: sqlite3.Connection, name: str, metric: str, confidence: float) -> dict:
    _, b_rows, a_rows, _ = experiment_rows(conn, name)
    view = _view(b_rows + a_rows, f"experiment {name}", metric, confidence, with_run=True)
    arms = group(b_rows + a_rows, lambda r: "A (baseline)" if r.match.how == "baseline" else "B (creative)")
    view["arms"] = table(arms, metric, confidence)
    return view


def all_view(conn: sqlite3.Connection, metric: str, confidence: float) -> dict:
    rows = joined_rows(conn)
    view = _view([r for r in rows if r.match is not None and r.match.folder], "all runs", metric, confidence, with_run=True)
    view["unmatched"] = sorted({r["ad_name"] for r in rows if r.match is None})
    return view


def _unit_of(row: Row, with_run: bool) -> str:
    """A row's variant label, or the baseline ad it is."""
    return _variant_label(row, with_run) if row.match.folder else f"baseline: {row['ad_name']}"


def _concept_of(row: Row) -> str:
    return row.match.concept or "(no concept)" if row.match.folder else "(baseline)"


def _view(rows: list[Row], what: str, metric: str, confidence: float, *, with_run: bool) -> dict:
    currency = one_currency(rows, what)
    variants = group(rows, lambda r: _unit_of(r, with_run))
    _describe(variants, rows, lambda r: _unit_of(r, with_run))
    concepts = group(rows, _concept_of)
    runs = group([r for r in rows if r.match.folder], lambda r: r.match.run_id)
    return {"what": what, "currency": currency, "metric": metric, "rows": len(rows),
            "variants": table(variants, metric, confidence), "concepts": table(concepts, metric, confidence),
            "runs": table(runs, metric, confidence)}
