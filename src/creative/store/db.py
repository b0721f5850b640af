"""The runs folder's SQLite file: connection, WAL, schema version and migrations.

Run folders stay the source of truth for what was made; this file holds what is not in them
(imported platform results, experiments) and an index of the run folders that can be rebuilt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from creative.core.errors import CreativeError

# One script per schema version; a database at version N runs scripts N+1.. in order.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        folder TEXT PRIMARY KEY, run_id TEXT NOT NULL, created TEXT, created_at REAL, channel TEXT,
        status TEXT, variants_ok INTEGER, variants_failed INTEGER, cost_usd REAL, seconds REAL,
        problem TEXT, runlog_mtime_ns INTEGER, runlog_size INTEGER
    );
    CREATE INDEX runs_run_id ON runs(run_id);
    CREATE TABLE run_variants (
        folder TEXT NOT NULL REFERENCES runs(folder) ON DELETE CASCADE, variant INTEGER NOT NULL,
        concept TEXT, seed INTEGER, status TEXT, prompt TEXT, PRIMARY KEY (folder, variant)
    );
    CREATE TABLE run_ads (
        folder TEXT NOT NULL REFERENCES runs(folder) ON DELETE CASCADE, variant INTEGER NOT NULL,
        path TEXT NOT NULL, kind TEXT NOT NULL, width INTEGER, height INTEGER, PRIMARY KEY (folder, path)
    );
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, file_name TEXT NOT NULL, platform TEXT NOT NULL,
        currency TEXT, experiment TEXT, imported_at REAL NOT NULL, rows INTEGER NOT NULL, counted INTEGER NOT NULL
    );
    CREATE TABLE results (
        id INTEGER PRIMARY KEY, import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        row_number INTEGER NOT NULL, platform TEXT NOT NULL, ad_name TEXT NOT NULL, ad_key TEXT NOT NULL,
        segment TEXT NOT NULL, date_start TEXT, date_end TEXT, currency TEXT,
        spend REAL NOT NULL, impressions INTEGER NOT NULL, clicks INTEGER NOT NULL, conversions REAL NOT NULL,
        conversion_value REAL NOT NULL, views_3s INTEGER
    );
    CREATE INDEX results_ad ON results(platform, ad_key, segment);
    CREATE TABLE ad_map (ad_key TEXT PRIMARY KEY, ad_name TEXT NOT NULL, file_stem TEXT NOT NULL);
    CREATE TABLE experiments (
        name TEXT PRIMARY KEY, baseline_minutes REAL NOT NULL, baseline_variants INTEGER,
        currency TEXT, created_at REAL NOT NULL
    );
    CREATE TABLE experiment_runs (
        experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE, campaign TEXT NOT NULL,
        run_id TEXT NOT NULL, PRIMARY KEY (experiment, run_id)
    );
    CREATE TABLE baseline_ads (
        experiment TEXT NOT NULL REFERENCES experiments(name) ON DELETE CASCADE, campaign TEXT NOT NULL,
        ad_key TEXT NOT NULL, ad_name TEXT NOT NULL, PRIMARY KEY (experiment, ad_key)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database file at `path` (RunsRoot.database), migrated to SCHEMA_VERSION.

    Autocommit mode: writes go through `transaction()`, so a failed import writes nothing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise CreativeError(f"{path}: cannot open the results database ({exc})",
                            hint="if it is damaged, move it aside: the run index is rebuilt from the run folders, "
                                 "imported results must be imported again") from None
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the schema to SCHEMA_VERSION; refuse a database from a newer creative."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CreativeError(f"{path}: schema version {version} is newer than this creative ({SCHEMA_VERSION})",
                            hint="upgrade creative to read it")
    for number in range(version, SCHEMA_VERSION):
        with transaction(conn):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number + 1}")
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    # executescript() would commit on its own; each statement runs inside our transaction instead.
    return [s.strip() for s in script.split(";") if s.strip()]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE .. COMMIT, or ROLLBACK on any exception: all of it is written or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def opened(path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()
