"""`creative results import`: read exports, then write them in one transaction (all files or nothing).

Idempotent: a file already imported (same SHA-256) changes nothing; a row whose ad already has
results for an overlapping date range is reported and not counted again, unless both rows name
the same campaign/ad set columns with different values (two ad sets running the same ad).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from creative.core.errors import InputError
from creative.results.match import AdResolver, read_ad_map
from creative.results.parse import ParsedExport, parse_table, segments_apart
from creative.results.platforms import PLATFORMS, Spec, detect, load_mapping, split_header
from creative.results.tables import find_header, read_rows
from creative.store import experiments as experiments_table
from creative.store import results as results_table
from creative.store.db import transaction

AD_NAME_HEADERS = {a for spec in PLATFORMS.values() for a in spec.columns["ad_name"]}


@dataclass
class ImportReport:
    """What one file's import did, for the terminal and --json."""

    file: str
    platform: str
    currency: str
    rows: int
    counted: int = 0
    already_imported: bool = False
    overlaps: list[dict] = field(default_factory=list)  # rows not counted again: lines, dates, earlier file
    summary_lines: list[int] = field(default_factory=list)
    matched: dict[str, int] = field(default_factory=dict)  # how -> rows
    unmatched: list[dict] = field(default_factory=list)  # ad name and the lines it is on
    runs: list[str] = field(default_factory=list)  # run folders the file's rows belong to
    galleries: list[str] = field(default_factory=list)  # run folders whose index.html was rewritten


def read_export(path: Path, platform: str, columns: Path | None, currency: str | None) -> ParsedExport:
    """One export file, parsed and checked (nothing written)."""
    candidates = read_rows(path)
    mapping = load_mapping(columns) if columns else None
    names = set(mapping.columns["ad_name"]) if mapping else AD_NAME_HEADERS
    table = find_header(path, candidates, lambda cells: any(split_header(c)[0] in names for c in cells))
    spec: Spec
    if mapping:
        spec = mapping
    elif platform == "auto":
        spec = detect(table.header, path)
    else:
        spec = PLATFORMS[platform]
    return parse_table(table, spec, currency)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_files(conn, files: list[Path], *, platform: str = "auto", experiment: str | None = None,
                 currency: str | None = None, columns: Path | None = None, ad_map: Path | None = None) -> list[ImportReport]:
    """Parse every file first (a bad one stops all), then write everything in one transaction.

    `conn`: the runs folder's database with its run index up to date (rows are matched against it)."""
    if platform != "auto" and platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}", hint=f"use auto, {', '.join(PLATFORMS)} or --columns FILE.yaml")
    reports: list[ImportReport | None] = []  # None: filled in below, in the order the files were given
    parsed: list[tuple[ParsedExport, str]] = []
    for path in map(Path, files):
        if not path.is_file():
            raise InputError(f"{path}: file not found")
        sha = sha256_of(path)
        earlier = results_table.find_import(conn, sha)
        if earlier is not None:  # known file: nothing to read, nothing to change
            reports.append(ImportReport(file=path.name, platform=earlier["platform"], currency=earlier["currency"],
                                        rows=earlier["rows"], already_imported=True))
        else:
            parsed.append((read_export(path, platform, columns, currency), sha))
            reports.append(None)
    mapping = read_ad_map(ad_map) if ad_map else []
    with transaction(conn):
        if mapping:
            results_table.put_ad_map(conn, mapping)
        if experiment is not None:
            _check_currency(conn, experiment, parsed)
        new = [_store(conn, export, sha, experiment) for export, sha in parsed]
    resolver = AdResolver(conn)
    for report, (export, _) in zip(new, parsed):
        _describe_matches(report, export, resolver)
    fresh = iter(new)
    return [report or next(fresh) for report in reports]


def _check_currency(conn, experiment: str, parsed: list[tuple[ParsedExport, str]]) -> None:
    """Every file in the experiment's currency; the first import sets it when `experiment new` did not."""
    record = experiments_table.get(conn, experiment)
    if record is None:
        raise InputError(f"no experiment named {experiment!r}", hint=f"create it: creative experiment new {experiment} --baseline-minutes M")
    expected = record["currency"]
    for export, _ in parsed:
        if expected is None:
            expected = export.currency
            experiments_table.set_currency(conn, experiment, expected)
        elif export.currency != expected:
            raise InputError(f"{export.path}: results in {export.currency}, experiment {experiment!r} is in {expected}; "
                             "nothing imported", hint="export the report in the experiment's currency")


def _store(conn, export: ParsedExport, sha: str, experiment: str | None) -> ImportReport:
    report = ImportReport(file=export.path.name, platform=export.platform, currency=export.currency,
                          rows=len(export.rows), summary_lines=export.summary_rows)
    earlier = results_table.find_import(conn, sha)
    if earlier is not None:
        report.already_imported = True
        return report
    counted, overlaps = [], {}
    for row in export.rows:
        start, end = row.date_start.isoformat(), row.date_end.isoformat()
        clash = next((r for r in results_table.overlapping(conn, export.platform, row.ad_key, start, end)
                      if not segments_apart(r["segment"], row.segment)), None)
        if clash is not None:
            entry = overlaps.setdefault((clash["file_name"], clash["date_start"], clash["date_end"]), [])
            entry.append(row.row_number)
            continue
        counted.append(row)
    import_id = results_table.add_import(conn, sha256=sha, file_name=export.path.name, platform=export.platform,
                                         currency=export.currency, experiment=experiment, rows=len(export.rows),
                                         counted=len(counted))
    results_table.add_rows(conn, [{
        **row.__dict__, "import_id": import_id, "platform": export.platform, "currency": export.currency,
        "date_start": row.date_start.isoformat(), "date_end": row.date_end.isoformat()} for row in counted])
    report.counted = len(counted)
    report.overlaps = [{"earlier_file": f, "dates": f"{s}..{e}", "lines": lines} for (f, s, e), lines in overlaps.items()]
    return report


def _describe_matches(report: ImportReport, export: ParsedExport, resolver: AdResolver) -> None:
    unmatched: dict[str, list[int]] = {}
    for row in export.rows:
        found = resolver.resolve(row.ad_key)
        if found is None:
            unmatched.setdefault(row.ad_name, []).append(row.row_number)
        else:
            report.matched[found.how] = report.matched.get(found.how, 0) + 1
            if found.folder and found.folder not in report.runs:
                report.runs.append(found.folder)
    report.unmatched = [{"ad_name": name, "lines": lines} for name, lines in unmatched.items()]
