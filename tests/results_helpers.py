"""Run folders and platform exports of our own for the results and experiment tests.

Run folders are written the way the pipeline writes them (runlog.json through the RunLog model,
JPEG ads named by ad_filename); exports carry the headers Meta, TikTok and Google Ads use.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image

from creative.budget.ledger import Ledger
from creative.core.models import AdRecord
from creative.render.files import ad_filename
from creative.run.folder import RunFolder, RunsRoot
from creative.run.runlog import RunLog, VariantRecord

COLOURS = [(200, 60, 60), (60, 160, 90), (60, 90, 200), (220, 170, 40), (150, 70, 170), (40, 170, 180)]
META_HEADER = ["Reporting starts", "Reporting ends", "Campaign name", "Ad set name", "Ad name", "Delivery",
               "Results", "Result indicator", "Cost per result", "Amount spent (USD)", "Impressions", "Link clicks",
               "Purchases", "Purchases conversion value", "3-second video plays"]


def make_run(runs_dir: Path, run_id: str, concepts: list[str], *, seconds: float = 600.0, cost: float = 0.24,
             channel: str = "meta_static", size: tuple[int, int] = (1080, 1350)) -> Path:
    """A finished run folder: one ok variant per concept, one small real JPEG ad each, its cost settled in the ledger."""
    run_dir = runs_dir / run_id
    (run_dir / "ads").mkdir(parents=True)
    variants = []
    for number, concept in enumerate(concepts, start=1):
        name = ad_filename(run_id, number, concept, *size, "jpg")
        Image.new("RGB", (size[0] // 10, size[1] // 10), COLOURS[(number - 1) % len(COLOURS)]).save(run_dir / "ads" / name)
        ad = AdRecord(variant=number, concept=concept, seed=100 + number, width=size[0], height=size[1], path=f"ads/{name}")
        variants.append(VariantRecord(variant=number, concept=concept, positive=f"{concept} scene", negative="text",
                                      seed=100 + number, width=1024, height=1024, status="ok", ads=[ad],
                                      cost_actual_usd=cost / len(concepts)))
    runlog = RunLog(run_id=run_id, status="ok", inputs={"channel": channel}, variants=variants,
                    totals={"variants_ok": len(concepts), "variants_failed": 0, "cost_usd": cost, "seconds": seconds})
    RunFolder(run_dir).write_runlog(runlog)
    Ledger(RunsRoot(runs_dir).ledger, cap=500).settle(run_id, cost)
    return run_dir


def ad_name(run_id: str, variant: int, concept: str, ext: str = ".jpg", size: tuple[int, int] = (1080, 1350)) -> str:
    return ad_filename(run_id, variant, concept, *size, "jpg").removesuffix(".jpg") + ext


def meta_row(name: str, spend: float, impressions: int, clicks: int, purchases: int, *, start: str = "2026-11-01",
             end: str = "2026-11-30", campaign: str = "Serum launch", ad_set: str = "Broad", value: float | None = None,
             views: int | str = "") -> list:
    value = purchases * 40.0 if value is None else value
    return [start, end, campaign, ad_set, name, "active", purchases, "actions:offsite_conversion.fb_pixel_purchase",
            round(spend / purchases, 2) if purchases else "", spend, impressions, clicks, purchases, value, views]


def write_meta_csv(path: Path, rows: list[list], *, header: list[str] | None = None, locale: str = "en") -> Path:
    """A Meta Ads Manager CSV export: English ('1,234.56', ',') or German-style ('1.234,56', ';')."""
    header = header or META_HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if locale == "de" else ",")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_localise(c, locale) for c in row])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return path


def _localise(cell, locale: str):
    if isinstance(cell, float) or (isinstance(cell, int) and not isinstance(cell, bool)):
        text = f"{cell:,.2f}" if isinstance(cell, float) else f"{cell:,}"
        if locale == "de":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text
    return cell


GOOGLE_HEADER = ["Day", "Ad name", "Campaign", "Ad group", "Currency code", "Cost", "Impr.", "Clicks", "Conversions",
                 "Conv. value", "Cost / conv."]


def write_google_csv(path: Path, rows: list[list], date_range: str = "November 1, 2026 - November 30, 2026") -> Path:
    """A Google Ads report download: UTF-16, tab-separated, title and date range above the header, total rows below."""
    lines = ["Ad report", date_range, "\t".join(GOOGLE_HEADER)]
    for row in rows:
        lines.append("\t".join(_localise(c, "en") if not isinstance(c, str) else c for c in row))
    totals = [sum(r[i] for r in rows) for i in (5, 6, 7, 8)]
    lines.append("\t".join(["Total: Account", "", "", "", "USD", f"{totals[0]:,.2f}", f"{totals[1]:,}", f"{totals[2]:,}", f"{totals[3]:,.2f}", "", ""]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-16")
    return path


TIKTOK_HEADER = ["Date", "Campaign name", "Ad group name", "Ad name", "Currency", "Cost", "Impressions",
                 "Clicks (destination)", "CTR (destination)", "Conversions", "Cost per conversion", "Total purchase value"]


def write_tiktok_xlsx(path: Path, rows: list[list]) -> Path:
    """A TikTok Ads Manager XLSX export (numbers as numbers, dates as text as TikTok writes them)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(TIKTOK_HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


class Outcome:
    """A CLI call in-process: exit code as the `creative` command would return it, stdout, stderr."""

    def __init__(self, result):
        from creative.core.errors import CreativeError

        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exit_code = result.exit_code
        if isinstance(result.exception, CreativeError):  # main() turns these into one line and the exit code
            self.exit_code = result.exception.exit_code
            self.stderr += result.exception.user_message()
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception


def cli(*args: str | Path) -> Outcome:
    from typer.testing import CliRunner

    from creative.cli import app

    return Outcome(CliRunner().invoke(app, [str(a) for a in args]))
