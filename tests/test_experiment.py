"""`creative experiment new|add|report`: the keep-or-kill verdict from runs, baseline ads and imported results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from results_helpers import COLOURS, ad_name, cli, make_run, meta_row, write_meta_csv

CONCEPTS = ["glow", "ritual", "science"]
B_GREEN = (47, 107, 63)  # charts.COLOURS["B"]


def run_id(n: int) -> str:
    return f"2026110{n}-090000-lumen-skin-serum-meta_static"


def setup_experiment(tmp_path: Path, *, baseline_minutes: float, b_clicks: int, a_clicks: int, b_conv: int, a_conv: int,
                     campaigns: int = 3) -> Path:
    """Three campaigns, each a 3-variant run (600 s of wall time) beside 3 manual ads, with a month of results."""
    runs = tmp_path / "runs"
    rows = []
    for c in range(1, 4):
        make_run(runs, run_id(c), CONCEPTS, seconds=600, cost=0.24)
        if c > campaigns:
            continue
        for v, concept in enumerate(CONCEPTS, start=1):
            rows.append(meta_row(ad_name(run_id(c), v, concept), 100.0, 10_000, b_clicks, b_conv, campaign=f"C{c}"))
            rows.append(meta_row(f"Manual C{c} #{v}", 100.0, 10_000, a_clicks, a_conv, campaign=f"C{c}"))
    assert cli("experiment", "new", "q4", "--baseline-minutes", baseline_minutes, "--runs-dir", runs).exit_code == 0
    for c in range(1, 4):
        added = cli("experiment", "add", "q4", "--campaign", f"C{c}", "--run", run_id(c),
                    *[a for v in (1, 2, 3) for a in ("--baseline-ad", f"Manual C{c} #{v}")], "--runs-dir", runs)
        assert added.exit_code == 0, added.stderr
    export = write_meta_csv(tmp_path / "meta.csv", rows)
    imported = cli("results", "import", export, "--experiment", "q4", "--runs-dir", runs, "--json")
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)[0]["unmatched"] == []  # baseline ads are labelled, not unmatched
    return runs


def report(runs: Path, out: Path, *extra) -> dict:
    result = cli("experiment", "report", "q4", "--runs-dir", runs, "--out", out, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_keep_when_throughput_reaches_the_factor_with_numbers_page_and_charts(tmp_path):
    runs = setup_experiment(tmp_path, baseline_minutes=540, b_clicks=200, a_clicks=200, b_conv=5, a_conv=5)
    numbers = report(runs, tmp_path / "report")
    assert numbers["verdict"] == "keep"
    assert numbers["campaigns_shipped"] == 3 and numbers["campaigns_planned"] == 3
    t = numbers["throughput"]
    assert (t["B_variants"], t["B_hours"], t["A_variants"], t["A_hours"]) == (9, 0.5, 9, 9.0)
    assert t["ratio"] == pytest.approx(18.0)
    costs = numbers["cost_per_variant"]
    assert costs["B_generation"] == pytest.approx(0.72) and costs["B"] == pytest.approx((0.72 + 900) / 9, abs=1e-4)
    assert costs["A"] == pytest.approx(100.0)
    assert numbers["arms"]["B"]["cpa"] == pytest.approx(20.0) and numbers["performance"]["equal_spend"] is True

    page = Path(numbers["page"])
    text = page.read_text(encoding="utf-8")
    assert ">keep<" in text and "18.00x" in text and "campaigns.png" in text and "variants.png" in text
    thumbs = sorted((page.parent / "thumbs").glob("*.jpg"))
    assert len(thumbs) == 9
    with Image.open(page.parent / "variants.png") as chart:
        colours = {c for _, c in chart.convert("RGB").getcolors(1 << 24)}
    assert B_GREEN in colours
    assert any(all(abs(a - b) < 12 for a, b in zip(c, COLOURS[0])) for c in colours)  # v01's red thumbnail is drawn
    with Image.open(page.parent / "campaigns.png") as chart:
        assert chart.width > 500 and B_GREEN in {c for _, c in chart.convert("RGB").getcolors(1 << 24)}


def test_kill_when_slower_than_the_factor_and_the_baseline_converts_better(tmp_path):
    runs = setup_experiment(tmp_path, baseline_minutes=30, b_clicks=200, a_clicks=200, b_conv=4, a_conv=12)
    numbers = report(runs, tmp_path / "report")
    assert numbers["throughput"]["ratio"] == pytest.approx(1.0)
    assert numbers["performance"]["p_b_better"] < 0.05
    assert numbers["verdict"] == "kill"


def test_pause_when_slower_and_performance_not_settled(tmp_path):
    runs = setup_experiment(tmp_path, baseline_minutes=30, b_clicks=200, a_clicks=200, b_conv=6, a_conv=5)
    numbers = report(runs, tmp_path / "report")
    assert numbers["verdict"] == "pause"
    assert numbers["performance"]["more_impressions"] is None or numbers["performance"]["more_impressions"] > 0
    printed = cli("experiment", "report", "q4", "--runs-dir", runs, "--out", tmp_path / "r2")
    assert "verdict pause" in printed.stdout and "not settled" in printed.stdout


def test_not_enough_data_until_the_planned_campaigns_ship_and_the_plan_comes_from_creative_yaml(tmp_path):
    runs = setup_experiment(tmp_path, baseline_minutes=540, b_clicks=200, a_clicks=200, b_conv=5, a_conv=5, campaigns=2)
    numbers = report(runs, tmp_path / "report")
    assert numbers["verdict"] == "not enough data" and numbers["campaigns_shipped"] == 2
    assert "2 of 3 campaigns shipped" in numbers["reasons"][0]
    assert numbers["reasons"][1] == "throughput B/A 18.00x (needs 2x)"  # the numbers so far are stated too
    config = tmp_path / "creative.yaml"
    config.write_text("experiment:\n  campaigns: 2\n  metric: ctr\n", encoding="utf-8")
    numbers = report(runs, tmp_path / "report2", "--config", config)
    assert numbers["verdict"] == "keep" and numbers["criteria"]["metric"] == "ctr"


def test_results_show_for_an_experiment_has_arms_and_baseline_units(tmp_path):
    runs = setup_experiment(tmp_path, baseline_minutes=540, b_clicks=300, a_clicks=100, b_conv=5, a_conv=5)
    view = json.loads(cli("results", "show", "--experiment", "q4", "--metric", "ctr", "--runs-dir", runs, "--json").stdout)
    labels = {u["label"] for u in view["arms"]["units"]}
    assert labels == {"A (baseline)", "B (creative)"} and view["arms"]["judgement"]["best"] == "B (creative)"
    assert any(u["label"] == "baseline: Manual C1 #1" for u in view["variants"]["units"])
    assert len(view["runs"]["units"]) == 3
    table = cli("results", "show", "--experiment", "q4", "--runs-dir", runs)
    assert "per variant" in table.stdout and "A (baseline) vs B (creative)" in table.stdout


def test_experiment_input_errors(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, run_id(1), CONCEPTS)
    assert cli("experiment", "new", "q4", "--baseline-minutes", "60", "--runs-dir", runs).exit_code == 0
    again = cli("experiment", "new", "q4", "--baseline-minutes", "60", "--runs-dir", runs)
    assert again.exit_code == 2 and "already exists" in again.stderr
    missing = cli("experiment", "add", "q4", "--campaign", "C1", "--run", "20990101-000000-nope", "--runs-dir", runs)
    assert missing.exit_code == 2 and "no run '20990101-000000-nope'" in missing.stderr
    empty = report(runs, tmp_path / "empty")  # no campaigns, no results yet: still a page, and an honest verdict
    assert empty["verdict"] == "not enough data" and Path(empty["page"]).is_file()
    assert (tmp_path / "empty" / "variants.png").is_file() and (tmp_path / "empty" / "campaigns.png").is_file()
    unknown = cli("experiment", "report", "nope", "--runs-dir", runs, "--out", tmp_path / "x")
    assert unknown.exit_code == 2 and "no experiment named 'nope'" in unknown.stderr
