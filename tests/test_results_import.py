"""`creative results import`: real export formats in, rows joined to variants, idempotent, bad input refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from results_helpers import (
    META_HEADER, ad_name, cli, make_run, meta_row, write_google_csv, write_meta_csv, write_tiktok_xlsx,
)

RUN = "20261101-090000-lumen-skin-serum-meta_static"
CONCEPTS = ["glow", "ritual", "science"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runs(tmp_path) -> Path:
    runs_dir = tmp_path / "runs"
    make_run(runs_dir, RUN, CONCEPTS)
    return runs_dir


def stored(runs_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(runs_dir / "creative.sqlite") as conn:
        return conn.execute(sql).fetchall()


def do_import(runs_dir: Path, *args) -> list[dict]:
    out = cli("results", "import", *args, "--runs-dir", runs_dir, "--json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def test_meta_export_joins_rows_to_variants_with_and_without_extension(runs, tmp_path):
    export = write_meta_csv(tmp_path / "meta.csv", [
        meta_row(ad_name(RUN, 1, "glow"), 120.5, 10_000, 300, 6),
        meta_row(ad_name(RUN, 2, "ritual", ext=""), 80.25, 8_000, 160, 2),
        meta_row(ad_name(RUN, 3, "science").upper(), 50.0, 5_000, 40, 1),
        meta_row("Spring sale – hand made", 60.0, 6_000, 90, 3),
        meta_row("", 310.75, 29_000, 590, 12),  # Meta's summary row has no ad name
    ])
    [report] = do_import(runs, export)
    assert report["platform"] == "meta" and report["currency"] == "USD"
    assert report["rows"] == 4 and report["counted"] == 4 and report["matched"] == {"name": 3}
    assert report["unmatched"] == [{"ad_name": "Spring sale – hand made", "lines": [5]}]
    assert report["summary_lines"] == [6]
    assert stored(runs, "SELECT round(sum(spend), 2), sum(impressions), sum(clicks) FROM results") == [(310.75, 29_000, 590)]

    view = json.loads(cli("results", "show", RUN, "--runs-dir", runs, "--json").stdout)
    units = {u["label"]: u for u in view["variants"]["units"]}
    assert set(units) == {"v01 glow", "v02 ritual", "v03 science"}
    glow = units["v01 glow"]
    assert glow["spend"] == 120.5 and glow["ctr"] == pytest.approx(0.03) and glow["cpa"] == pytest.approx(120.5 / 6)
    assert glow["ctr_ci"][0] < 0.03 < glow["ctr_ci"][1]
    assert view["runs"]["units"][0]["label"] == RUN and view["runs"]["units"][0]["impressions"] == 23_000


def test_same_file_twice_changes_nothing_and_overlapping_dates_are_not_counted_again(runs, tmp_path):
    name = ad_name(RUN, 1, "glow")
    month = write_meta_csv(tmp_path / "november.csv", [meta_row(name, 100.0, 10_000, 200, 5)])
    do_import(runs, month)
    [again] = do_import(runs, month)
    assert again["already_imported"] is True and again["counted"] == 0
    days = write_meta_csv(tmp_path / "days.csv", [
        meta_row(name, 10.0, 1_000, 20, 1, start="2026-11-29", end="2026-11-29"),
        meta_row(name, 12.0, 1_100, 25, 0, start="2026-12-01", end="2026-12-01"),
    ])
    [overlap] = do_import(runs, days)
    assert overlap["counted"] == 1
    assert overlap["overlaps"] == [{"earlier_file": "november.csv", "dates": "2026-11-01..2026-11-30", "lines": [2]}]
    assert stored(runs, "SELECT count(*), sum(spend), sum(impressions) FROM results") == [(2, 112.0, 11_100)]
    table = cli("results", "import", days, "--runs-dir", runs)
    assert "already imported" in table.stdout


def test_locale_numbers_and_currency_in_the_header(runs, tmp_path):
    header = [h.replace("(USD)", "(EUR)") for h in META_HEADER]
    export = write_meta_csv(tmp_path / "meta_de.csv", [meta_row(ad_name(RUN, 1, "glow"), 1234.56, 98_765, 1_234, 12,
                                                                value=2345.5)], header=header, locale="de")
    assert "1.234,56" in export.read_text(encoding="utf-8-sig")
    [report] = do_import(runs, export)
    assert report["currency"] == "EUR"
    assert stored(runs, "SELECT spend, impressions, clicks, conversion_value, currency FROM results") == [
        (1234.56, 98_765, 1_234, 2345.5, "EUR")]


def test_google_ads_utf16_report_with_date_range_line_and_total_rows(runs, tmp_path):
    export = write_google_csv(tmp_path / "google.csv", [
        ["2026-11-03", ad_name(RUN, 1, "glow"), "Serum PMax", "Group 1", "USD", 1234.5, 45_678, 901, 12.5, 600.0, ""],
        ["2026-11-03", ad_name(RUN, 2, "ritual"), "Serum PMax", "Group 1", "USD", 20.0, 2_000, 30, 1.0, 40.0, ""],
    ])
    assert export.read_bytes()[:2] == b"\xff\xfe"
    [report] = do_import(runs, export, "--platform", "auto")
    assert report["platform"] == "google" and report["counted"] == 2 and report["summary_lines"] == [6]
    assert stored(runs, "SELECT spend, impressions, clicks, conversions, date_start FROM results ORDER BY spend") == [
        (20.0, 2_000, 30, 1.0, "2026-11-03"), (1234.5, 45_678, 901, 12.5, "2026-11-03")]


def test_tiktok_xlsx_per_day_rows(runs, tmp_path):
    export = write_tiktok_xlsx(tmp_path / "tiktok.xlsx", [
        ["2026-11-04", "Serum", "Gen Z", ad_name(RUN, 1, "glow", ext=".jpg"), "USD", 45.5, 12_000, 150, 0.0125, 3, 15.17, 120.0],
        ["2026-11-05", "Serum", "Gen Z", ad_name(RUN, 1, "glow", ext=".jpg"), "USD", 50.0, 13_000, 170, 0.0131, 4, 12.5, 160.0],
    ])
    [report] = do_import(runs, export)
    assert report["platform"] == "tiktok" and report["counted"] == 2 and report["matched"] == {"name": 2}
    assert stored(runs, "SELECT sum(spend), sum(impressions), sum(conversions) FROM results") == [(95.5, 25_000, 7.0)]


def test_copies_are_matched_but_flagged_and_a_mapping_csv_joins_renamed_ads(runs, tmp_path):
    mapping = tmp_path / "ads.csv"
    mapping.write_text(f"ad name,file\nSerum hero (final),{ad_name(RUN, 3, 'science')}\n", encoding="utf-8")
    export = write_meta_csv(tmp_path / "meta.csv", [
        meta_row(ad_name(RUN, 2, "ritual", ext="") + " - Copy", 10.0, 1_000, 10, 0),
        meta_row("Serum hero (final)", 20.0, 2_000, 20, 1),
    ])
    [report] = do_import(runs, export, "--ad-map", mapping)
    assert report["matched"] == {"contained": 1, "mapping": 1} and report["unmatched"] == []
    printed = cli("results", "show", RUN, "--runs-dir", runs, "--json").stdout
    assert {u["label"] for u in json.loads(printed)["variants"]["units"]} == {"v02 ritual", "v03 science"}


def test_other_exports_through_a_columns_file(runs, tmp_path):
    columns = tmp_path / "pinterest.yaml"
    columns.write_text("name: pinterest\ncolumns:\n  ad_name: Creative\n  day: Date\n  spend: Spend\n"
                       "  impressions: Paid impressions\n  clicks: Outbound clicks\n  conversions: Checkouts\n"
                       "currency: USD\n", encoding="utf-8")
    export = tmp_path / "pins.csv"
    export.write_text(f"Date,Creative,Spend,Paid impressions,Outbound clicks,Checkouts\n"
                      f"2026-11-02,{ad_name(RUN, 1, 'glow')},\"$1,000.00\",\"50,000\",700,9\n", encoding="utf-8")
    [report] = do_import(runs, export, "--columns", columns)
    assert report["platform"] == "pinterest" and report["matched"] == {"name": 1}
    assert stored(runs, "SELECT spend, impressions, clicks, conversions FROM results") == [(1000.0, 50_000, 700, 9.0)]


def test_missing_columns_are_named_needed_and_found(runs, tmp_path):
    export = tmp_path / "meta.csv"
    export.write_text("Reporting starts,Reporting ends,Ad name,Amount spent (USD),Reach\n2026-11-01,2026-11-30,x,1,2\n")
    out = cli("results", "import", export, "--runs-dir", runs, "--platform", "meta")
    assert out.exit_code == 2
    assert "missing columns for meta: 'impressions'; 'link clicks' or 'clicks (all)'" in out.stderr
    assert "found: 'Reporting starts', 'Reporting ends', 'Ad name', 'Amount spent (USD)', 'Reach'" in out.stderr


def test_impossible_numbers_are_listed_by_line_and_nothing_is_written(runs, tmp_path):
    good = write_meta_csv(tmp_path / "good.csv", [meta_row(ad_name(RUN, 1, "glow"), 10.0, 1_000, 10, 1)])
    bad = write_meta_csv(tmp_path / "bad.csv", [
        meta_row(ad_name(RUN, 1, "glow"), 10.0, 1_000, 10, 1, start="2026-12-01", end="2026-12-31"),
        meta_row(ad_name(RUN, 2, "ritual"), -5.0, 1_000, 10, 1),
        meta_row(ad_name(RUN, 3, "science"), 5.0, 100, 120, 1),
        meta_row(ad_name(RUN, 3, "science"), 5.0, "many", 1, 1, campaign="Other"),
    ])
    out = cli("results", "import", good, bad, "--runs-dir", runs)
    assert out.exit_code == 2
    assert "line 3: Amount spent (USD) is negative (-5)" in out.stderr
    assert "line 4: Link clicks 120 above Impressions 100" in out.stderr
    assert "line 5: Impressions 'many' is not a number" in out.stderr
    assert stored(runs, "SELECT count(*) FROM imports") == [(0,)]  # the good file was not written either
    assert stored(runs, "SELECT count(*) FROM results") == [(0,)]


def test_currency_other_than_the_experiments_is_refused(runs, tmp_path):
    assert cli("experiment", "new", "q4", "--baseline-minutes", "240", "--currency", "USD", "--runs-dir", runs).exit_code == 0
    header = [h.replace("(USD)", "(GBP)") for h in META_HEADER]
    export = write_meta_csv(tmp_path / "gbp.csv", [meta_row(ad_name(RUN, 1, "glow"), 10.0, 1_000, 10, 1)], header=header)
    out = cli("results", "import", export, "--experiment", "q4", "--runs-dir", runs)
    assert out.exit_code == 2 and "results in GBP, experiment 'q4' is in USD" in out.stderr
    assert stored(runs, "SELECT count(*) FROM results") == [(0,)]
    unknown = cli("results", "import", export, "--experiment", "nope", "--runs-dir", runs)
    assert unknown.exit_code == 2 and "no experiment named 'nope'" in unknown.stderr


def test_the_bundled_example_exports_import(tmp_path):
    runs_dir = tmp_path / "runs"
    make_run(runs_dir, "20261101-090000-lumen-skin-serum-meta_static", CONCEPTS)
    files = sorted((ROOT / "examples" / "exports").glob("*.*"))
    exports = [f for f in files if f.suffix in (".csv", ".xlsx") and f.name != "ad-map.csv"]
    assert {f.suffix for f in exports} == {".csv", ".xlsx"}
    reports = do_import(runs_dir, *exports)
    assert {r["platform"] for r in reports} == {"meta", "google", "tiktok"}
    assert all(r["counted"] > 0 and r["matched"].get("name") for r in reports)


def test_two_ad_sets_count_apart_but_an_export_without_ad_sets_overlaps_both(runs, tmp_path):
    name = ad_name(RUN, 1, "glow")
    sets = write_meta_csv(tmp_path / "sets.csv", [meta_row(name, 10.0, 1_000, 10, 1, ad_set="Broad"),
                                                  meta_row(name, 20.0, 2_000, 20, 2, ad_set="Lookalike")])
    assert do_import(runs, sets)[0]["counted"] == 2
    header = [h for h in META_HEADER if h not in ("Campaign name", "Ad set name")]
    plain = write_meta_csv(tmp_path / "plain.csv", [[c for h, c in zip(META_HEADER, meta_row(name, 30.0, 3_000, 30, 3,
                                                                                                start="2026-11-15"))
                                                    if h in header]], header=header)
    [report] = do_import(runs, plain)
    assert report["counted"] == 0 and report["overlaps"][0]["earlier_file"] == "sets.csv"
    assert stored(runs, "SELECT sum(spend) FROM results") == [(30.0,)]
    same_set_twice = write_meta_csv(tmp_path / "twice.csv", [meta_row(name, 1.0, 100, 1, 0, start="2026-12-01", end="2026-12-01"),
                                                             meta_row(name, 2.0, 200, 2, 0, start="2026-12-01", end="2026-12-01")])
    out = cli("results", "import", same_set_twice, "--runs-dir", runs)
    assert out.exit_code == 2 and "line 3: repeats line 2 (same ad and dates, same campaign name=Serum launch" in out.stderr


def test_show_everything_lists_unmatched_names_and_refuses_an_unknown_metric(runs, tmp_path):
    export = write_meta_csv(tmp_path / "meta.csv", [meta_row(ad_name(RUN, 1, "glow"), 10.0, 1_000, 10, 1),
                                                    meta_row("Holiday teaser", 5.0, 500, 5, 0)])
    do_import(runs, export)
    view = json.loads(cli("results", "show", "--runs-dir", runs, "--json").stdout)
    assert view["unmatched"] == ["Holiday teaser"] and [u["label"] for u in view["runs"]["units"]] == [RUN]
    bad = cli("results", "show", "--metric", "roas", "--runs-dir", runs)
    assert bad.exit_code == 2 and "--metric 'roas': use cpa, ctr or cpc" in bad.stderr
    missing = cli("results", "show", "20990101-000000-nope", "--runs-dir", runs)
    assert missing.exit_code == 2 and "no run '20990101-000000-nope'" in missing.stderr
