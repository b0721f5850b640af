"""Experiments: the manual baseline (A) against the pipeline's runs (B), campaign by campaign."""

from __future__ import annotations

import sqlite3
import time


def get(conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM experiments WHERE name = ?", (name,)).fetchone()


def create(conn: sqlite3.Connection, name: str, baseline_minutes: float, baseline_variants: int | None,
           currency: str | None) -> None:
    conn.execute("INSERT INTO experiments (name, baseline_minutes, baseline_variants, currency, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", (name, baseline_minutes, baseline_variants, currency, time.time()))


def set_currency(conn: sqlite3.Connection, name: str, currency: str) -> None:
    conn.execute("UPDATE experiments SET currency = ? WHERE name = ?", (currency, name))


def add_run(conn: sqlite3.Connection, name: str, campaign: str, run_id: str) -> None:
    conn.execute("INSERT OR REPLACE INTO experiment_runs (experiment, campaign, run_id) VALUES (?, ?, ?)",
                 (name, campaign, run_id))


def add_baseline_ad(conn: sqlite3.Connection, name: str, campaign: str, ad_key: str, ad_name: str) -> None:
    conn.execute("INSERT OR REPLACE INTO baseline_ads (experiment, campaign, ad_key, ad_name) VALUES (?, ?, ?, ?)",
                 (name, campaign, ad_key, ad_name))


def runs(conn: sqlite3.Connection, name: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM experiment_runs WHERE experiment = ? ORDER BY campaign, run_id", (name,)).fetchall()


def baseline_ads(conn: sqlite3.Connection, name: str | None = None) -> list[sqlite3.Row]:
    if name is None:
        return conn.execute("SELECT * FROM baseline_ads ORDER BY experiment, campaign, ad_name").fetchall()
    return conn.execute("SELECT * FROM baseline_ads WHERE experiment = ? ORDER BY campaign, ad_name", (name,)).fetchall()
