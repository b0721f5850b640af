"""Turn an export's rows into checked result rows: columns found, numbers read, impossible values refused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from creative.core.errors import InputError
from creative.results.numbers import BadNumber, decimal_mark, parse_date, parse_number, parse_range
from creative.results.platforms import REQUIRED, Spec, split_header
from creative.results.tables import Cell, Table

COUNTS = ("impressions", "clicks", "views_3s")
AMOUNTS = ("spend", "conversions", "conversion_value")
AD_EXTENSIONS = re.compile(r"\.(jpe?g|png|webp|gif|mp4|mov)$", re.IGNORECASE)
MAX_PROBLEMS = 20  # listed in the error; the rest are counted


@dataclass
class ResultRow:
    row_number: int  # line in the file (header included), as a spreadsheet shows it
    ad_name: str
    ad_key: str
    segment: str
    date_start: date | None
    date_end: date | None
    spend: float
    impressions: int
    clicks: int
    conversions: float
    conversion_value: float
    views_3s: int | None


@dataclass
class ParsedExport:
    path: Path
    platform: str
    currency: str
    rows: list[ResultRow]
    summary_rows: list[int] = field(default_factory=list)  # total / no-name rows left out, by line


def segments_apart(a: str, b: str) -> bool:
    """Whether two rows' segments ('campaign name=X | ad set name=Y') are surely different slices of
    an ad's delivery: same columns, different values. Otherwise their dates must not overlap."""
    if not a or not b:
        return False
    columns = [[part.split("=", 1)[0] for part in s.split(" | ")] for s in (a, b)]
    return columns[0] == columns[1] and a != b


def ad_key(name: str) -> str:
    """How an ad name is compared: case, spacing and a file extension do not matter."""
    return AD_EXTENSIONS.sub("", " ".join(name.split()).casefold())


def _columns(table: Table, spec: Spec) -> dict[str, int]:
    names = [split_header(h)[0] for h in table.header]
    found: dict[str, int] = {}
    for name, aliases in spec.columns.items():
        for alias in aliases:
            if alias in names:
                found[name] = names.index(alias)
                break
    return found


def _need(spec: Spec, name: str) -> str:
    return " or ".join(f"'{a}'" for a in spec.columns.get(name, (name,)))


def resolve_columns(table: Table, spec: Spec) -> tuple[dict[str, int], tuple[date, date] | None]:
    """Field -> column index; InputError naming the columns needed and the ones found."""
    found = _columns(table, spec)
    missing = [_need(spec, n) for n in REQUIRED if n not in found]
    preamble_range = next((r for line in table.preamble if (r := parse_range(line, False))), None)
    has_dates = "day" in found or ("start" in found and "end" in found) or preamble_range is not None
    if not has_dates:
        options = [_need(spec, "day")] if "day" in spec.columns else []
        if "start" in spec.columns:
            options.append(f"{_need(spec, 'start')} with {_need(spec, 'end')}")
        missing.append("a date column: " + (" or ".join(options) or "day"))
    if missing:
        raise InputError(
            f"{table.path}: missing columns for {spec.platform}: {'; '.join(missing)}",
            hint=f"found: {', '.join(repr(h) for h in table.header if h)}; export the report with those columns "
                 "(a per-day breakdown or the reporting dates), or describe the columns with --columns FILE.yaml")
    return found, preamble_range


def _currency(table: Table, spec: Spec, found: dict[str, int], given: str | None) -> tuple[str, int | None]:
    """The file's currency: header suffix '(USD)', a currency column (checked per row), the mapping or --currency."""
    from_headers = {c for h in table.header if (c := split_header(h)[1])}
    if len(from_headers) > 1:
        raise InputError(f"{table.path}: columns in several currencies ({', '.join(sorted(from_headers))})")
    currency = next(iter(from_headers), None) or spec.currency or given
    column = found.get("currency")
    if currency is None and column is not None:
        values = {str(r[column]).strip().upper() for _, r in table.rows if column < len(r) and r[column]}
        currency = next(iter(values)) if len(values) == 1 else None
    if currency is None:
        raise InputError(f"{table.path}: the file does not say its currency",
                         hint="pass --currency USD (or the account's currency)")
    if given and given.upper() != currency.upper():
        raise InputError(f"{table.path}: the file is in {currency}, --currency says {given.upper()}")
    return currency.upper(), column


def _cell(row: list[Cell], index: int | None) -> Cell:
    return row[index] if index is not None and index < len(row) else None


def parse_table(table: Table, spec: Spec, currency: str | None = None) -> ParsedExport:
    """Every data row checked; InputError listing each bad row (nothing is imported from a bad file)."""
    found, preamble_range = resolve_columns(table, spec)
    file_currency, currency_column = _currency(table, spec, found, currency)
    samples = [str(r[i]) for _, r in table.rows[:200] for n, i in found.items() if n in COUNTS + AMOUNTS
               and i < len(r) and isinstance(r[i], str)]
    decimal = spec.decimal or decimal_mark(samples, table.delimiter)
    dayfirst = decimal == ","
    headers = {n: table.header[i] for n, i in found.items()}
    names = [split_header(h)[0] for h in table.header]
    segment_columns = [i for i, n in enumerate(names) if n in spec.segments]
    rows: list[ResultRow] = []
    summary: list[int] = []
    problems: list[str] = []
    seen: dict[tuple, int] = {}
    for line, raw in table.rows:
        name = str(_cell(raw, found["ad_name"]) or "").strip()
        first = str(raw[0] if raw else "").strip().lower()
        if not name or any(first.startswith(p) for p in spec.skip_prefixes):
            summary.append(line)
            continue
        values: dict[str, float | None] = {}
        for field_name in COUNTS + AMOUNTS:
            if field_name not in found:
                continue
            try:
                values[field_name] = parse_number(_cell(raw, found[field_name]), decimal)
            except BadNumber as exc:
                problems.append(f"line {line}: {headers[field_name]} {str(exc)!r} is not a number")
        row_currency = _cell(raw, currency_column)
        if row_currency and str(row_currency).strip().upper() != file_currency:
            problems.append(f"line {line}: currency {str(row_currency).strip()} differs from the file's {file_currency}")
        try:
            start, end = _dates(raw, found, preamble_range, dayfirst)
        except (ValueError, OverflowError):
            problems.append(f"line {line}: date not readable")
            continue
        problems += _impossible(line, values, headers)
        segment = " | ".join(f"{names[i]}={str(_cell(raw, i) or '').strip()}" for i in segment_columns)
        key = (ad_key(name), segment, start, end)
        if key in seen:
            problems.append(f"line {line}: repeats line {seen[key]} (same ad and dates, "
                            + (f"same {segment})" if segment else "and no campaign or ad set column to tell them apart)"))
        seen[key] = line
        rows.append(ResultRow(
            row_number=line, ad_name=name, ad_key=ad_key(name), segment=segment, date_start=start, date_end=end,
            spend=values.get("spend") or 0.0, impressions=int(values.get("impressions") or 0),
            clicks=int(values.get("clicks") or 0), conversions=values.get("conversions") or 0.0,
            conversion_value=values.get("conversion_value") or 0.0,
            views_3s=None if values.get("views_3s") is None else int(values["views_3s"])))
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise InputError(f"{table.path}: {len(problems)} bad value{'s' if len(problems) != 1 else ''}, nothing imported: "
                         + "; ".join(problems[:MAX_PROBLEMS]) + more, hint="fix those rows in the export and import it again")
    return ParsedExport(table.path, spec.platform, file_currency, rows, summary)


def _dates(raw: list[Cell], found: dict[str, int], preamble_range, dayfirst: bool) -> tuple[date, date]:
    if "day" in found:
        day = parse_date(_cell(raw, found["day"]), dayfirst)
        return day, day
    if "start" in found and "end" in found:
        return parse_date(_cell(raw, found["start"]), dayfirst), parse_date(_cell(raw, found["end"]), dayfirst)
    return preamble_range


def _impossible(line: int, values: dict[str, float | None], headers: dict[str, str]) -> list[str]:
    """Negative amounts, fractional counts, clicks or 3-second views above impressions."""
    problems = [f"line {line}: {headers[n]} is negative ({v:g})" for n, v in values.items() if v is not None and v < 0]
    problems += [f"line {line}: {headers[n]} is not a whole number ({values[n]:g})"
                 for n in COUNTS if values.get(n) is not None and values[n] != int(values[n])]
    impressions = values.get("impressions") or 0
    for name in ("clicks", "views_3s"):
        if (values.get(name) or 0) > impressions:
            problems.append(f"line {line}: {headers[name]} {values[name]:g} above {headers['impressions']} {impressions:g}")
    return problems
