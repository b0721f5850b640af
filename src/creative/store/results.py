"""Imported platform results: one row per import (file) and one per counted export row."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

ROW_COLUMNS = ("import_id", "row_number", "platform", "ad_name", "ad_key", "segment", "date_start", "date_end",
               "currency", "spend", "impressions", "clicks", "conversions", "conversion_value", "views_3s")


def find_import(conn: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM imports WHERE sha256 = ?", (sha256,)).fetchone()


def add_import(conn: sqlite3.Connection, *, sha256: str, file_name: str, platform: str, currency: str,
               experiment: str | None, rows: int, counted: int) -> int:
    cursor = conn.execute(
        "INSERT INTO imports (sha256, file_name, platform, currency, experiment, imported_at, rows, counted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (sha256, file_name, platform, currency, experiment, time.time(), rows, counted))
    return int(cursor.lastrowid)


def overlapping(conn: sqlite3.Connection, platform: str, ad_key: str, start: str, end: str) -> list[sqlite3.Row]:
    """Stored rows of the same ad whose dates overlap start..end (ISO dates compare as text)."""
    return conn.execute(
        "SELECT r.segment, r.date_start, r.date_end, i.file_name FROM results r JOIN imports i ON i.id = r.import_id "
        "WHERE r.platform = ? AND r.ad_key = ? AND r.date_start <= ? AND r.date_end >= ?",
        (platform, ad_key, end, start)).fetchall()


def add_rows(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    conn.executemany(f"INSERT INTO results ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})",
                     [[r[c] for c in ROW_COLUMNS] for r in rows])


def all_rows(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM results ORDER BY platform, ad_key, date_start").fetchall()


def put_ad_map(conn: sqlite3.Connection, entries: list[tuple[str, str, str]]) -> None:
    """(ad_key, ad_name, file_stem) rows; a later mapping of the same ad name wins."""
    conn.executemany("INSERT OR REPLACE INTO ad_map (ad_key, ad_name, file_stem) VALUES (?, ?, ?)", entries)


def ad_map(conn: sqlite3.Connection) -> dict[str, str]:
    return {r["ad_key"]: r["file_stem"] for r in conn.execute("SELECT ad_key, file_stem FROM ad_map")}
