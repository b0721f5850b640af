"""Numbers and dates as the platforms write them: '1.234,56', '$1,234.56', '--', '2026-11-01', 'Nov 1, 2026'."""

from __future__ import annotations

import re
from datetime import date

from dateutil import parser as date_parser
from price_parser import Price

from creative.results.tables import Cell

EMPTY = {"", "-", "--", "—", "n/a", "N/A"}
PLAIN = re.compile(r"^-?[\d.,'\s\u00a0\u202f]+$")  # digits and marks only: no currency sign to find
# Digits with thousands/decimal marks and spaces, maybe a currency sign or code around them.
NUMBER_SHAPE = re.compile(r"^[(\-−+]?\s*[^\d\s.,()\-−+]{0,3}\s*[(\-−+]?\d[\d.,'\s\u00a0\u202f]*\s*[^\d\s.,()]{0,3}\)?$")
BOTH_MARKS = re.compile(r"\d[.,']\d{3}([.,])\d+$")
COMMA_DECIMAL = re.compile(r"^\D*\d+,\d{1,2}\D*$")


class BadNumber(ValueError):
    """A cell that should hold a number and does not."""


def decimal_mark(samples: list[str], delimiter: str) -> str:
    """The file's decimal mark: from a value with both marks, a ',dd' value, or a ';' delimiter (European)."""
    for text in samples:
        match = BOTH_MARKS.search(text.strip())
        if match:
            return match.group(1)
    if any(COMMA_DECIMAL.match(t.strip()) for t in samples):
        return ","
    return "," if delimiter == ";" else "."


def parse_number(cell: Cell, decimal: str) -> float | None:
    """The cell's value (negative kept), None when empty ('--'), BadNumber when it is not a number."""
    if cell is None:
        return None
    if isinstance(cell, (int, float)):
        return float(cell)
    text = str(cell).strip()
    if text in EMPTY:
        return None
    if text.endswith("%") or not NUMBER_SHAPE.match(text):
        raise BadNumber(text)
    if PLAIN.match(text):  # most cells: drop the thousands marks, read the decimal mark as '.'
        thousands = "." if decimal == "," else ","
        digits = re.sub(r"[\s\u00a0\u202f']", "", text).replace(thousands, "").replace(decimal, ".")
        try:
            return float(digits)
        except ValueError:
            raise BadNumber(text) from None
    amount = Price.fromstring(text, decimal_separator=decimal).amount
    if amount is None:
        raise BadNumber(text)
    negative = text.startswith(("-", "−", "(")) or re.search(r"[^\d]\s*[-−]\s*\d", text) is not None
    return -float(amount) if negative else float(amount)


def parse_date(cell: Cell, dayfirst: bool) -> date:
    """A day as the exports write it; ValueError when it is not one."""
    if isinstance(cell, date):
        return cell
    text = str(cell or "").strip()
    if not text:
        raise ValueError("empty")
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):  # ISO: never day-first
        return date.fromisoformat(text[:10])
    return date_parser.parse(text, dayfirst=dayfirst).date()


def parse_range(text: str, dayfirst: bool) -> tuple[date, date] | None:
    """'November 1, 2026 - November 30, 2026' (Google Ads' line above the header), or None."""
    parts = re.split(r"\s+[-–]\s+", text.strip())
    if len(parts) != 2:
        return None
    try:
        return parse_date(parts[0], dayfirst), parse_date(parts[1], dayfirst)
    except (ValueError, OverflowError):
        return None
