"""`creative results import` and `creative results show`: platform results in, variants judged."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from creative.core.config import Settings
from creative.results.gallery import variant_results
from creative.results.importer import ImportReport, import_files
from creative.results.view import all_view, experiment_view, joined_rows, run_view
from creative.run.folder import RunFolder, RunsRoot
from creative.run.gallery_refresh import refresh_gallery
from creative.run.index import sync_index
from creative.store.db import opened


def import_results(settings: Settings, files: list[Path], *, platform: str, experiment: str | None,
                   currency: str | None, columns: Path | None, ad_map: Path | None) -> list[ImportReport]:
    """Import, then rewrite the galleries of the runs the results belong to."""
    runs_dir = settings.paths.runs_dir
    with opened(RunsRoot(runs_dir).database) as conn:
        sync_index(conn, runs_dir)
        reports = import_files(conn, files, platform=platform, experiment=experiment, currency=currency,
                               columns=columns, ad_map=ad_map)
        galleries = [f for r in reports for f in r.runs if RunFolder(runs_dir / f).gallery.is_file()]
        joined = joined_rows(conn) if galleries else []
        for report in reports:
            for folder in report.runs:
                if folder in galleries and refresh_gallery(runs_dir / folder, variant_results(joined, folder)) is None:
                    report.galleries.append(folder)
    return reports


def show_results(settings: Settings, run: str | None, experiment: str | None, metric: str | None) -> dict:
    runs_dir = settings.paths.runs_dir
    metric = metric or settings.experiment.metric
    confidence = settings.experiment.confidence
    with opened(RunsRoot(runs_dir).database) as conn:
        sync_index(conn, runs_dir)
        if experiment:
            return experiment_view(conn, experiment, metric, confidence)
        if run:
            return run_view(conn, run, metric, confidence)
        return all_view(conn, metric, confidence)


def print_import(reports: list[ImportReport], console: Console) -> None:
    """One paragraph per file: counted, not counted again (and why), matched, unmatched ad names."""
    for r in reports:
        if r.already_imported:
            console.print(f"{r.file}: already imported; nothing changed")
            continue
        matched = ", ".join(f"{n} by {how}" for how, n in sorted(r.matched.items())) or "none"
        console.print(f"{r.file}: {r.platform}, {r.currency}, {r.rows} rows, {r.counted} counted; matched {matched}")
        if r.summary_lines:
            console.print(f"  left out {len(r.summary_lines)} total/summary rows (lines {_lines(r.summary_lines)})")
        for o in r.overlaps:
            console.print(f"  [yellow]overlap[/]: {len(o['lines'])} rows (lines {_lines(o['lines'])}) cover dates already "
                          f"imported from {o['earlier_file']} ({o['dates']}); not counted again")
        if r.matched.get("contained"):
            console.print("  [yellow]note[/]: some names only contain a file name creative wrote (e.g. '- Copy'); "
                          "map them with --ad-map if that is wrong")
        for u in r.unmatched:
            console.print(f"  [yellow]unmatched[/]: {u['ad_name']!r} (lines {_lines(u['lines'])})")
        if r.galleries:
            pages = [f"{name}/{RunFolder(Path(name)).gallery.name}" for name in r.galleries]
            console.print(f"  galleries updated: {', '.join(pages)}")
        if r.unmatched:
            console.print("  stored; match them with --ad-map FILE.csv (columns 'ad name','file') or label baseline ads "
                          "with `creative experiment add NAME --baseline-ad ...`")


def _lines(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:8]))
    return shown + (f" and {len(lines) - 8} more" if len(lines) > 8 else "")


def _fmt_rate(unit: dict, key: str, pct: bool) -> str:
    value, ci = unit.get(key), unit.get(f"{key}_ci")
    if value is None:
        return "–"
    one = (lambda v: "–" if v is None else f"{v:.2%}") if pct else (lambda v: "∞" if v is None else f"{v:,.2f}")
    return one(value) + (f" [{one(ci[0])}, {one(ci[1])}]" if ci else "")


def print_table(title: str, block: dict, console: Console) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("unit", "spend", "impr.", "clicks", "conv.", "CTR", "CPC", "CVR", "CPA", "ROAS", "thumb-stop", "P(best)"):
        # run ids stay whole (folded onto a second line, never cut with an ellipsis)
        table.add_column(name, justify="left" if name == "unit" else "right", overflow="fold" if name == "unit" else "ellipsis")
    p_best = block["judgement"].get("p_best", {})
    for u in block["units"]:
        share = p_best.get(u["label"])
        table.add_row(u["label"], f"{u['spend']:,.2f}", f"{u['impressions']:,}", f"{u['clicks']:,}", f"{u['conversions']:,g}",
                      _fmt_rate(u, "ctr", True), _fmt_rate(u, "cpc", False), _fmt_rate(u, "cvr", True),
                      _fmt_rate(u, "cpa", False), "–" if u["roas"] is None else f"{u['roas']:.2f}",
                      _fmt_rate(u, "thumb_stop", True) if "thumb_stop" in u else "–",
                      "" if share is None else f"{share:.0%}")
    console.print(table)
    j = block["judgement"]
    if len(block["units"]) < 2:
        return  # nothing to compare
    if j.get("best"):
        console.print(f"best on {j['metric'].upper()}: [bold]{j['best']}[/] (P(best) {j['p_best'][j['best']]:.0%})")
    else:
        console.print(f"best on {j['metric'].upper()}: not yet: {j.get('reason', '')}")


def print_view(view: dict, console: Console) -> None:
    console.print(f"[bold]{view['what']}[/]: {view['rows']} result rows, amounts in {view['currency'] or '–'}; "
                  "rates with 95% intervals")
    if not view["rows"]:
        console.print("[dim]no results imported for this yet: creative results import FILE[/]")
        return
    print_table("per variant", view["variants"], console)
    print_table("per concept", view["concepts"], console)
    print_table("per run", view["runs"], console)
    if "arms" in view:
        print_table("A (baseline) vs B (creative)", view["arms"], console)
    if view.get("unmatched"):
        console.print(f"[yellow]unmatched ad names[/]: {', '.join(view['unmatched'])}")
