"""Intervals and P(best): checked against the closed-form Wilson interval and clear-cut cases."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from creative.results.stats import METRICS, impressions_to_settle, p_best, wilson
from creative.results.summary import Totals, judge, metrics


@pytest.mark.parametrize("k,n", [(10, 100), (0, 50), (50, 50), (301, 12_345)])
def test_wilson_interval_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert wilson(3, 0) is None


def test_p_best_is_seeded_sums_to_one_and_finds_a_clear_winner():
    clicks, impressions, spend = [300, 150, 160], [10_000, 10_000, 10_000], [100, 100, 100]
    first = p_best(clicks, impressions, spend, METRICS["ctr"])
    assert first == p_best(clicks, impressions, spend, METRICS["ctr"])
    assert sum(first) == pytest.approx(1.0) and first[0] > 0.99
    # CPA: fewer conversions for the same spend is the worse variant
    cpa = p_best([40, 10], [10_000, 10_000], [200, 200], METRICS["cpa"])
    assert cpa[0] > 0.99


def test_close_variants_are_not_called_and_the_traffic_to_settle_grows_as_they_get_closer():
    units = [Totals("a", spend=50, impressions=5_000, clicks=110), Totals("b", spend=50, impressions=5_000, clicks=95)]
    verdict = judge(units, "ctr")
    assert verdict["verdict"] == "not yet" and verdict["best"] is None and verdict["leader"] == "a"
    closer = impressions_to_settle([110, 104], [5_000, 5_000], [50, 50], METRICS["ctr"])
    assert 0 < verdict["more_impressions"] < closer
    same = judge([Totals("a", 50, 5_000, 100), Totals("b", 50, 5_000, 100)], "ctr")
    assert same["more_impressions"] is None and "alike" in same["reason"]


def test_metrics_carry_rates_costs_and_their_intervals():
    m = metrics(Totals("v", spend=200.0, impressions=20_000, clicks=400, conversions=10, conversion_value=500, views_3s=6_000))
    assert m["ctr"] == 0.02 and m["cpc"] == 0.5 and m["cvr"] == 0.025 and m["cpa"] == 20 and m["roas"] == 2.5
    assert m["thumb_stop"] == 0.3 and m["thumb_stop_ci"][0] < 0.3 < m["thumb_stop_ci"][1]
    low, high = m["cpa_ci"]
    assert low < 20 < high
    none_yet = metrics(Totals("v", spend=30.0, impressions=3_000, clicks=20, conversions=0))
    assert none_yet["cpa"] is None and none_yet["cpa_ci"][1] is None  # no conversions: CPA unbounded above
