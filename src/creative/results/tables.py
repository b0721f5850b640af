"""Read an export file (CSV in any of the platforms' encodings and delimiters, or XLSX) into rows of cells."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from creative.core.errors import InputError

Cell = str | int | float | date | None
PREAMBLE_LINES = 12  # Google Ads puts a title and the date range above the header


@dataclass
class Table:
    """The header row, the data rows (with their line number in the file) and the lines above the header."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[Cell]]]
    preamble: list[str] = field(default_factory=list)
    delimiter: str = ","


def read_rows(path: Path) -> list[tuple[list[list[Cell]], str]]:
    """The rows of the file's first sheet with their CSV delimiter ('' for XLSX). A CSV is read with each
    delimiter a platform uses, the sniffed one first: a title line above the header can fool the sniffer."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return [(_xlsx_rows(path), "")]
    return _csv_rows(path)


def _xlsx_rows(path: Path) -> list[list[Cell]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a bad workbook
        raise InputError(f"{path}: not a readable XLSX workbook ({type(exc).__name__})",
                         hint="export the report again as .xlsx or .csv") from None
    try:
        sheet = book.worksheets[0]
        return [[_xlsx_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _xlsx_cell(value: object) -> Cell:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (int, float, date)) and not isinstance(value, bool):
        return value
    return None if value is None else str(value)


def _decode(raw: bytes, path: Path) -> str:
    """Google Ads writes UTF-16 with a BOM; the others UTF-8 (maybe with a BOM) or a Windows code page."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: text encoding not recognised", hint="save the export as UTF-8 CSV or XLSX")


def _csv_rows(path: Path) -> list[tuple[list[list[Cell]], str]]:
    text = _decode(path.read_bytes(), path)
    sample = "\n".join(text.splitlines()[:PREAMBLE_LINES + 5])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        sniffed = ","
    delimiters = [sniffed] + [d for d in ",;\t" if d != sniffed]
    return [([list(row) for row in csv.reader(io.StringIO(text), delimiter=d)], d) for d in delimiters]


def find_header(path: Path, candidates: list[tuple[list[list[Cell]], str]], is_header) -> Table:
    """Split rows at the first one `is_header` accepts (within the first lines), trying each reading in turn."""
    for rows, delimiter in candidates:
        for index, row in enumerate(rows[:PREAMBLE_LINES]):
            cells = [str(c).strip() if c is not None else "" for c in row]
            if is_header(cells):
                preamble = [delimiter.join(str(c) for c in r if c not in (None, "")) for r in rows[:index]]
                data = [(index + 2 + n, r) for n, r in enumerate(rows[index + 1:]) if any(c not in (None, "") for c in r)]
                return Table(path, cells, data, preamble, delimiter)
    rows = candidates[0][0]
    first = next((r for r in rows if any(c not in (None, "") for c in r)), [])
    raise InputError(
        f"{path}: no header row with an ad name column in the first {PREAMBLE_LINES} lines",
        hint="found: " + (", ".join(repr(str(c)) for c in first if c not in (None, "")) or "an empty file")
             + "; export with the 'Ad name' column, or describe the columns with --columns FILE.yaml",
    )
