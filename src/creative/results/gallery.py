"""A run's imported results per variant, ready for its gallery (render/report.py write_gallery(results=...))."""

from __future__ import annotations

from creative.results.summary import group, metrics
from creative.results.view import Row


def _pct(m: dict, key: str) -> str | None:
    if m.get(key) is None:
        return None
    ci = m.get(f"{key}_ci")
    return f"{m[key]:.2%}" + (f" [{ci[0]:.2%}, {ci[1]:.2%}]" if ci else "")


def _money(m: dict, key: str, currency: str) -> str | None:
    if m.get(key) is None:
        return None
    ci = m.get(f"{key}_ci")
    bounds = f" [{ci[0]:,.2f}, {'∞' if ci[1] is None else f'{ci[1]:,.2f}'}]" if ci and ci[0] is not None else ""
    return f"{m[key]:,.2f} {currency}{bounds}"


def variant_results(joined: list[Row], folder: str) -> dict[int, dict[str, str]]:
    """Variant number -> {label: text} of a run folder's imported results (from view.joined_rows)."""
    rows = [r for r in joined if r.match is not None and r.match.folder == folder]
    currency = next((r["currency"] for r in rows if r["currency"]), "")
    out = {}
    for variant, totals in group(rows, lambda r: r.match.variant).items():
        m = metrics(totals)
        entries = {"spend": _money(m, "spend", currency), "impressions": f"{m['impressions']:,}",
                   "clicks": f"{m['clicks']:,}", "conversions": f"{m['conversions']:,g}", "CTR": _pct(m, "ctr"),
                   "CPC": _money(m, "cpc", currency), "CVR": _pct(m, "cvr"), "CPA": _money(m, "cpa", currency),
                   "ROAS": None if m["roas"] is None else f"{m['roas']:.2f}", "thumb-stop": _pct(m, "thumb_stop")}
        out[variant] = {k: v for k, v in entries.items() if v is not None}
    return out
