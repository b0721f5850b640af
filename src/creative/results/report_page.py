"""The experiment report as files: report.html, variants.png, campaigns.png, thumbnails and report.json."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

from PIL import Image

from creative.core.atomic import write_atomic
from creative.core.text import slugify
from creative.results.charts import LABELS, campaigns_chart, variants_chart

THUMB_PX = 160
VERDICT_COLOURS = {"keep": "#2f6b3f", "kill": "#a4461f", "pause": "#9a6b00", "not enough data": "#6b7079"}
CSS = """
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#22262e;background:#f6f5f2}
main{max-width:1100px;margin:0 auto;padding:28px 24px 60px}h1{font-size:24px;margin:0}h2{font-size:18px;margin:28px 0 8px}
.verdict{display:inline-block;color:#fff;border-radius:8px;padding:4px 12px;font-weight:600;font-size:18px;margin:10px 0}
ul{margin:6px 0}table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
td,th{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e1dc;vertical-align:middle}th{color:#6b7079;font-weight:500}
td.n{text-align:right;font-variant-numeric:tabular-nums}img.t{width:72px;height:auto;border-radius:4px;display:block}
.chart{max-width:100%;background:#fff;border:1px solid #e3e1dc;border-radius:8px}.muted{color:#6b7079}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _rate(unit: dict, key: str, pct: bool) -> str:
    value, ci = unit.get(key), unit.get(f"{key}_ci")
    if value is None:
        return "–"
    text = f"{value:.2%}" if pct else f"{value:,.2f}"
    if ci:
        low = "–" if ci[0] is None else (f"{ci[0]:.2%}" if pct else f"{ci[0]:,.2f}")
        high = "∞" if ci[1] is None else (f"{ci[1]:.2%}" if pct else f"{ci[1]:,.2f}")
        text += f' <span class="muted">[{low}, {high}]</span>'
    return text


def _unit_cells(unit: dict) -> str:
    cells = [f"{unit['spend']:,.2f}", f"{unit['impressions']:,}", f"{unit['clicks']:,}", f"{unit['conversions']:,g}",
             _rate(unit, "ctr", True), _rate(unit, "cpc", False), _rate(unit, "cvr", True), _rate(unit, "cpa", False),
             "–" if unit.get("roas") is None else f"{unit['roas']:.2f}",
             _rate(unit, "thumb_stop", True) if "thumb_stop" in unit else "–"]
    return "".join(f'<td class="n">{c}</td>' for c in cells)


HEAD = ("<tr><th></th><th>unit</th><th>spend</th><th>impr.</th><th>clicks</th><th>conv.</th><th>CTR</th><th>CPC</th>"
        "<th>CVR</th><th>CPA</th><th>ROAS</th><th>thumb-stop</th><th>P(best)</th></tr>")


def thumbnails(units: list[dict], runs_dir: Path, out_dir: Path) -> dict[str, Path]:
    """A small JPEG of each variant's first image ad, in out_dir/thumbs (the report stands on its own)."""
    thumbs = {}
    for unit in units:
        if not unit.get("ad_path"):
            continue
        source = runs_dir / unit["folder"] / unit["ad_path"]
        try:
            with Image.open(source) as image:
                image.thumbnail((THUMB_PX, THUMB_PX))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, "JPEG", quality=85)
        except OSError:
            continue  # a deleted or unreadable ad: the row simply has no picture
        path = out_dir / "thumbs" / f"{slugify(unit['label'], max_len=80, fallback='ad')}.jpg"
        write_atomic(path, buffer.getvalue())
        thumbs[unit["label"]] = path
    return thumbs


def write_report(report: dict, view: dict, runs_dir: Path, out_dir: Path) -> Path:
    """Write the page, its charts and report.json into out_dir; returns the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metric = report["criteria"]["metric"]
    units = view["variants"]["units"]
    thumbs = thumbnails(units, runs_dir, out_dir)
    variants_chart(units, metric, out_dir / "variants.png", thumbs)
    campaigns_chart(report["campaigns"], metric, out_dir / "campaigns.png")
    write_atomic(out_dir / "report.json", json.dumps({"report": report, "results": view}, indent=2, default=str) + "\n")
    page = out_dir / "report.html"
    write_atomic(page, _page(report, view, thumbs, out_dir))
    return page


def _page(report: dict, view: dict, thumbs: dict[str, Path], out_dir: Path) -> str:
    metric = report["criteria"]["metric"]
    t, c = report["throughput"], report["cost_per_variant"]
    cur = report["currency"] or ""
    p_best = view["variants"]["judgement"].get("p_best", {})
    rows = []
    for unit in view["variants"]["units"]:
        thumb = thumbs.get(unit["label"])
        img = f'<img class="t" src="{_e(thumb.relative_to(out_dir).as_posix())}" alt="">' if thumb else ""
        share = p_best.get(unit["label"])
        rows.append(f"<tr><td>{img}</td><td>{_e(unit['label'])}</td>{_unit_cells(unit)}"
                    f'<td class="n">{"" if share is None else f"{share:.0%}"}</td></tr>')
    judgement = view["variants"]["judgement"]
    called = (f"best: <b>{_e(judgement['best'])}</b>" if judgement.get("best")
              else f"no variant is best yet ({_e(judgement.get('reason', ''))})")
    arms = "".join(f"<tr><td></td><td>{_e(name)}</td>{_unit_cells(unit)}<td></td></tr>"
                   for name, unit in (("A baseline", report["arms"]["A"]), ("B creative", report["arms"]["B"])))
    camp = "".join(f"<tr><td>{_e(x['campaign'])}</td><td>{'yes' if x['shipped'] else 'no'}</td>"
                   f"<td>{_rate(x['A'], metric, metric == 'ctr')}</td><td>{_rate(x['B'], metric, metric == 'ctr')}</td>"
                   f"<td>{'' if not x['judgement'] else _e(x['judgement'].get('best') or 'not yet')}</td></tr>"
                   for x in report["campaigns"])
    ratio = "–" if t["ratio"] is None else f"{t['ratio']:.2f}x"
    cost_b = "–" if c["B"] is None else f"{c['B']:,.2f} {cur}"
    cost_a = "–" if c["A"] is None else f"{c['A']:,.2f} {cur}"
    colour = VERDICT_COLOURS.get(report["verdict"], "#6b7079")
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(report["experiment"])} · experiment</title>'
        f"<style>{CSS}</style></head><body><main><h1>Experiment {_e(report['experiment'])}</h1>"
        f'<div class="verdict" style="background:{colour}">{_e(report["verdict"])}</div>'
        f"<ul>{''.join(f'<li>{_e(r)}</li>' for r in report['reasons'])}</ul>"
        f"<h2>Numbers</h2><table><tr><th>campaigns shipped</th><td>{report['campaigns_shipped']} of {report['campaigns_planned']}</td></tr>"
        f"<tr><th>throughput B</th><td>{t['B_variants']} variants in {t['B_hours']:.2f} h</td></tr>"
        f"<tr><th>throughput A</th><td>{t['A_variants']} variants in {t['A_hours']:.2f} h</td></tr>"
        f"<tr><th>throughput B/A</th><td>{ratio} (needs {report['criteria']['throughput_factor']:g}x)</td></tr>"
        f"<tr><th>cost per variant B</th><td>{cost_b} "
        f"(generation {c['B_generation']:,.2f} + ad spend {c['B_ad_spend']:,.2f})</td></tr>"
        f"<tr><th>cost per variant A</th><td>{cost_a} (ad spend {c['A_ad_spend']:,.2f})</td></tr>"
        f"</table><h2>A vs B</h2><table>{HEAD}{arms}</table>"
        f'<p><img class="chart" src="campaigns.png" alt="A vs B per campaign"></p>'
        f"<table><tr><th>campaign</th><th>shipped</th><th>A {LABELS[metric]}</th><th>B {LABELS[metric]}</th><th>best</th></tr>{camp}</table>"
        f"<h2>Variants ({_e(cur)})</h2><p>{called}</p><table>{HEAD}{''.join(rows)}</table>"
        f'<p><img class="chart" src="variants.png" alt="{LABELS[metric]} per variant"></p>'
        f'<p class="muted">Intervals are 95% Wilson intervals; P(best) from {LABELS[metric]} posteriors '
        f"(Beta-binomial, Monte Carlo with a fixed seed).</p></main></body></html>\n"
    )
