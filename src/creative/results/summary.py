"""Add up imported rows per variant, concept, run or arm; compute each metric with its interval; judge the best."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from creative.results.stats import CONFIDENCE, METRICS, impressions_to_settle, p_best, wilson

SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value")


@dataclass
class Totals:
    """Summed counts of one unit (a variant, a concept, a run, an arm)."""

    label: str
    spend: float = 0.0
    impressions: int = 0
    clicks: int = 0
    conversions: float = 0.0
    conversion_value: float = 0.0
    views_3s: int | None = None  # only when the export had 3-second views (video)
    rows: int = 0
    extra: dict = field(default_factory=dict)  # thumbnail, run, variant... for reports

    def add(self, row) -> None:
        for name in SUMS:
            setattr(self, name, getattr(self, name) + row[name])
        if row["views_3s"] is not None:
            self.views_3s = (self.views_3s or 0) + row["views_3s"]
        self.rows += 1


def group(rows: Iterable, key: Callable) -> dict[str, Totals]:
    """Totals per key(row); rows whose key is None are left out."""
    units: dict[str, Totals] = {}
    for row in rows:
        label = key(row)
        if label is not None:
            units.setdefault(label, Totals(label)).add(row)
    return units


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _interval(rate: tuple[float, float] | None) -> list[float] | None:
    return None if rate is None else [round(rate[0], 6), round(rate[1], 6)]


def _cost_interval(spend: float, impressions: int, rate: tuple[float, float] | None) -> list[float | None] | None:
    """Cost per click/conversion = cost per impression / rate: the rate's interval, inverted."""
    if rate is None or not impressions:
        return None
    cpm = spend / impressions
    low, high = rate
    return [round(cpm / high, 4) if high else None, round(cpm / low, 4) if low else None]  # None: unbounded


def metrics(t: Totals) -> dict:
    """Spend, counts and every rate with its 95% interval (ROAS has none: order values are not counts)."""
    ctr = wilson(t.clicks, t.impressions)
    conv_rate = wilson(t.conversions, t.impressions)
    out = {
        "spend": round(t.spend, 2), "impressions": t.impressions, "clicks": t.clicks,
        "conversions": round(t.conversions, 2), "conversion_value": round(t.conversion_value, 2),
        "ctr": _ratio(t.clicks, t.impressions), "ctr_ci": _interval(ctr),
        "cpc": _ratio(t.spend, t.clicks), "cpc_ci": _cost_interval(t.spend, t.impressions, ctr),
        "cvr": _ratio(t.conversions, t.clicks), "cvr_ci": _interval(wilson(t.conversions, t.clicks)),
        "cpa": _ratio(t.spend, t.conversions), "cpa_ci": _cost_interval(t.spend, t.impressions, conv_rate),
        "roas": _ratio(t.conversion_value, t.spend),
    }
    if t.views_3s is not None:
        out["thumb_stop"] = _ratio(t.views_3s, t.impressions)
        out["thumb_stop_ci"] = _interval(wilson(t.views_3s, t.impressions))
    return out


def judge(units: list[Totals], metric_name: str, confidence: float = CONFIDENCE) -> dict:
    """P(best) per unit on the metric; a winner only at `confidence`, else 'not yet' and the traffic to settle it."""
    metric = METRICS[metric_name]
    live = [u for u in units if u.impressions > 0]
    if len(live) < 2:
        return {"metric": metric_name, "best": None, "verdict": "not enough data",
                "reason": "fewer than two units with impressions", "p_best": {}}
    args = ([getattr(u, metric.successes) for u in live], [u.impressions for u in live], [u.spend for u in live])
    probs = p_best(*args, metric)
    leader = max(range(len(live)), key=probs.__getitem__)
    result = {"metric": metric_name, "p_best": {u.label: round(p, 4) for u, p in zip(live, probs)},
              "leader": live[leader].label, "confidence": confidence}
    if probs[leader] >= confidence:
        return {**result, "best": live[leader].label, "verdict": "best"}
    more = impressions_to_settle(*args, metric, confidence)
    return {**result, "best": None, "verdict": "not yet", "more_impressions": more,
            "reason": (f"about {more:,} more impressions would settle it" if more is not None
                       else "the units perform alike: even 100x today's impressions would not settle it")}


def table(units: dict[str, Totals], metric_name: str, confidence: float = CONFIDENCE) -> dict:
    """Metrics per unit and the judgement, as plain data."""
    ordered = sorted(units.values(), key=lambda u: u.label)
    return {"units": [{"label": u.label, **u.extra, **metrics(u)} for u in ordered],
            "judgement": judge(ordered, metric_name, confidence)}
