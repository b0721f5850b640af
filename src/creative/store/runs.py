"""The run index tables: one row per run folder, its variants and its ad files (plain data in, plain data out)."""

from __future__ import annotations

import sqlite3
from typing import Any

RUN_COLUMNS = ("folder", "run_id", "created", "created_at", "channel", "status", "variants_ok", "variants_failed",
               "cost_usd", "seconds", "problem", "runlog_mtime_ns", "runlog_size")


def indexed_stamps(conn: sqlite3.Connection) -> dict[str, tuple[int | None, int | None]]:
    """folder -> (runlog mtime_ns, size) as last indexed."""
    return {r["folder"]: (r["runlog_mtime_ns"], r["runlog_size"])
            for r in conn.execute("SELECT folder, runlog_mtime_ns, runlog_size FROM runs")}


def put_run(conn: sqlite3.Connection, run: dict[str, Any], variants: list[dict[str, Any]], ads: list[dict[str, Any]]) -> None:
    """Replace one run folder's rows (its variants and ads go with it)."""
    conn.execute("DELETE FROM runs WHERE folder = ?", (run["folder"],))
    conn.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                 [run.get(c) for c in RUN_COLUMNS])
    conn.executemany("INSERT OR REPLACE INTO run_variants (folder, variant, concept, seed, status, prompt) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [(run["folder"], v["variant"], v.get("concept"), v.get("seed"), v.get("status"), v.get("prompt"))
                      for v in variants])
    conn.executemany("INSERT OR REPLACE INTO run_ads (folder, variant, path, kind, width, height) VALUES (?, ?, ?, ?, ?, ?)",
                     [(run["folder"], a["variant"], a["path"], a["kind"], a.get("width"), a.get("height")) for a in ads])


def drop_runs(conn: sqlite3.Connection, folders: list[str]) -> None:
    conn.executemany("DELETE FROM runs WHERE folder = ?", [(f,) for f in folders])


def all_runs(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM runs ORDER BY folder").fetchall()


def find_run(conn: sqlite3.Connection, run_id: str) -> sqlite3.Row | None:
    """The run with this id (or folder name)."""
    return conn.execute("SELECT * FROM runs WHERE run_id = ? OR folder = ? ORDER BY folder LIMIT 1",
                        (run_id, run_id)).fetchone()


def run_variants(conn: sqlite3.Connection, folder: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM run_variants WHERE folder = ? ORDER BY variant", (folder,)).fetchall()


def run_ads(conn: sqlite3.Connection, folder: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM run_ads WHERE folder = ? ORDER BY variant, path", (folder,)).fetchall()


def run_in_folder(conn: sqlite3.Connection, folder: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM runs WHERE folder = ?", (folder,)).fetchone()


def all_variants(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT folder, variant, concept FROM run_variants").fetchall()


def all_ads(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT folder, variant, path, kind FROM run_ads ORDER BY folder, variant, path").fetchall()
