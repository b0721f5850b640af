"""`creative experiment report`: the numbers behind keep, kill or pause, and the verdict itself.

B is what `creative` made (the experiment's runs), A the manual baseline (its labelled ads).
Throughput is variants shipped per hour of work: for B the runlogs' wall times, for A the
baseline minutes recorded with `experiment new`. Performance compares the arms on the metric in
creative.yaml (`experiment.metric`) at equal spend, i.e. per unit of cost or per impression.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from creative.budget.ledger import settled_by_run
from creative.core.config import ExperimentSettings
from creative.results.summary import Totals, group, judge, metrics
from creative.results.view import experiment_rows, one_currency
from creative.store import experiments as experiments_table
from creative.store import runs as runs_table

SPEND_BALANCE = 1.25  # arms whose ad spend differs by more than this factor are flagged


def experiment_report(conn: sqlite3.Connection, ledger: Path, name: str, criteria: ExperimentSettings) -> dict:
    """`ledger`: the budget ledger, for what each run's generation cost."""
    record, b_rows, a_rows, campaign_of = experiment_rows(conn, name)
    currency = one_currency(b_rows + a_rows, f"experiment {name}") or record["currency"]
    campaigns = _campaigns(conn, name, b_rows, a_rows, campaign_of, criteria)
    shipped = [c for c in campaigns if c["shipped"]]
    arms = {"A": _arm(a_rows, "A (baseline)"), "B": _arm(b_rows, "B (creative)")}
    throughput = _throughput(conn, record, campaign_of)
    performance = _performance(arms, criteria)
    costs = _costs(ledger, conn, campaign_of, arms, throughput)
    report = {
        "experiment": name, "currency": currency, "criteria": criteria.model_dump(),
        "campaigns": campaigns, "campaigns_shipped": len(shipped), "campaigns_planned": criteria.campaigns,
        "arms": {k: metrics(t) for k, t in arms.items()}, "throughput": throughput,
        "performance": performance, "cost_per_variant": costs,
    }
    report["verdict"], report["reasons"] = _verdict(report, criteria)
    return report


def _arm(rows, label: str) -> Totals:
    return group(rows, lambda r: label).get(label) or Totals(label)


def _campaigns(conn, name, b_rows, a_rows, campaign_of, criteria) -> list[dict]:
    names = sorted(set(campaign_of.values()) | {r["campaign"] for r in experiments_table.baseline_ads(conn, name)})
    out = []
    for campaign in names:
        a = _arm([r for r in a_rows if r.match.campaign == campaign], "A")
        b = _arm([r for r in b_rows if campaign_of.get(r.match.folder) == campaign], "B")
        shipped = a.impressions > 0 and b.impressions > 0
        out.append({"campaign": campaign, "shipped": shipped, "A": metrics(a), "B": metrics(b),
                    "judgement": judge([a, b], criteria.metric, criteria.confidence) if shipped else None})
    return out


def _throughput(conn, record, campaign_of: dict[str, str]) -> dict:
    """Variants per hour: B from the runlogs (ok variants over wall time), A from the baseline minutes."""
    b_variants, b_seconds, missing = 0, 0.0, []
    for folder in campaign_of:
        run = runs_table.run_in_folder(conn, folder)
        if run["variants_ok"] is None or not run["seconds"]:
            missing.append(run["run_id"])
            continue
        b_variants += run["variants_ok"]
        b_seconds += run["seconds"]
    a_variants = record["baseline_variants"]
    if a_variants is None:
        a_variants = len({r["ad_key"] for r in experiments_table.baseline_ads(conn, record["name"])})
    b_rate = b_variants / (b_seconds / 3600) if b_seconds else None
    a_rate = a_variants / (record["baseline_minutes"] / 60) if record["baseline_minutes"] and a_variants else None
    return {"B_variants": b_variants, "B_hours": round(b_seconds / 3600, 4), "B_per_hour": b_rate,
            "A_variants": a_variants, "A_hours": round(record["baseline_minutes"] / 60, 4), "A_per_hour": a_rate,
            "ratio": b_rate / a_rate if b_rate and a_rate else None, "runs_without_timing": missing}


def _performance(arms: dict[str, Totals], criteria: ExperimentSettings) -> dict:
    a, b = arms["A"], arms["B"]
    result = judge([a, b], criteria.metric, criteria.confidence)
    p_b = result.get("p_best", {}).get(b.label)
    spend_ratio = b.spend / a.spend if a.spend and b.spend else None
    return {**result, "p_b_better": p_b, "spend_ratio_b_over_a": spend_ratio,
            "equal_spend": spend_ratio is not None and 1 / SPEND_BALANCE <= spend_ratio <= SPEND_BALANCE}


def _costs(ledger: Path, conn, campaign_of, arms, throughput) -> dict:
    """Cost per shipped variant: generation (settled in the budget ledger) plus ad spend; A has ad spend only."""
    settled = settled_by_run(ledger)
    run_ids = [runs_table.run_in_folder(conn, f)["run_id"] for f in campaign_of]
    generation = round(sum(settled.get(r, 0.0) for r in run_ids), 4)
    b_n, a_n = throughput["B_variants"], throughput["A_variants"]
    return {"B_generation": generation, "B_ad_spend": round(arms["B"].spend, 2),
            "B": round((generation + arms["B"].spend) / b_n, 4) if b_n else None,
            "A_ad_spend": round(arms["A"].spend, 2), "A": round(arms["A"].spend / a_n, 4) if a_n else None}


def _verdict(report: dict, criteria: ExperimentSettings) -> tuple[str, list[str]]:
    """keep: throughput reached or B better; kill: neither, and A is better; pause: neither, performance unsettled."""
    reasons = []
    shipped, planned = report["campaigns_shipped"], report["campaigns_planned"]
    if shipped < planned:
        reasons.append(f"{shipped} of {planned} campaigns shipped with results for both A and B; so far:")
    ratio = report["throughput"]["ratio"]
    fast = ratio is not None and ratio >= criteria.throughput_factor
    reasons.append(f"throughput B/A {ratio:.2f}x (needs {criteria.throughput_factor:g}x)" if ratio is not None
                   else "throughput unknown (runs without wall time or no baseline variants)")
    perf = report["performance"]
    p_b = perf.get("p_b_better")
    metric = criteria.metric.upper()
    if p_b is None:
        reasons.append(f"{metric}: not enough data to compare")
        better = worse = False
    else:
        better, worse = p_b >= criteria.confidence, p_b <= 1 - criteria.confidence
        word = "better" if better else "worse" if worse else "not settled"
        reasons.append(f"{metric}: B {word} than A (P(B better) {p_b:.0%}, needs {criteria.confidence:.0%})"
                       + ("" if better or worse or not perf.get("reason") else f"; {perf['reason']}"))
    if not perf.get("equal_spend"):
        reasons.append("ad spend of A and B differs by more than 25%: compare with care")
    if shipped < planned:
        return "not enough data", reasons
    if fast or better:
        return "keep", reasons
    if ratio is None and p_b is None:
        return "not enough data", reasons
    return ("kill" if worse else "pause"), reasons
