"""The runs folder's SQLite file: schema migrations, WAL, and the run index behind `creative runs list`."""

from __future__ import annotations

import json
import sqlite3

import pytest
from results_helpers import cli, make_run

from creative.core.errors import CreativeError
from creative.run.index import list_runs, sync_index
from creative.store.db import SCHEMA_VERSION, connect, opened


def test_new_database_is_migrated_in_wal_mode_and_a_newer_one_is_refused(tmp_path):
    conn = connect(tmp_path / "creative.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "run_variants", "run_ads", "imports", "results", "experiments", "baseline_ads"} <= tables
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CreativeError, match="newer than this creative"):
        connect(tmp_path / "creative.sqlite")


def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    from creative.store import db

    monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS + ("CREATE TABLE extra (x); CREATE TABLE broken (",))
    monkeypatch.setattr(db, "SCHEMA_VERSION", len(db.MIGRATIONS))
    with pytest.raises(CreativeError, match="cannot open the results database"):
        connect(tmp_path / "creative.sqlite")
    raw = sqlite3.connect(tmp_path / "creative.sqlite")
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # version 1 applied, 2 rolled back
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0


def test_runs_list_reads_the_index_and_rebuilds_it_when_missing(tmp_path):
    runs = tmp_path / "runs"
    first = make_run(runs, "20261101-090000-lumen-skin-serum-meta_static", ["glow", "ritual"], seconds=321.5, cost=0.08)
    make_run(runs, "20261102-090000-lumen-skin-serum-tiktok", ["glow"], channel="tiktok")
    (runs / ".cache").mkdir()
    listed = list_runs(runs)
    assert [r.run_id for r in listed] == [first.name, "20261102-090000-lumen-skin-serum-tiktok"]
    assert (listed[0].variants_ok, listed[0].seconds, listed[0].cost_usd, listed[0].channel) == (2, 321.5, 0.08, "meta_static")
    with opened(runs / "creative.sqlite") as conn:
        assert sync_index(conn, runs) == 0  # nothing changed: no runlog is read again
        rows = conn.execute("SELECT path FROM run_ads WHERE folder = ? ORDER BY path", (first.name,)).fetchall()
    assert [r[0] for r in rows] == [f"ads/{first.name}_v01_glow_1080x1350.jpg", f"ads/{first.name}_v02_ritual_1080x1350.jpg"]

    data = json.loads((first / "runlog.json").read_text())
    data["status"], data["totals"]["cost_usd"] = "partial", 0.5
    (first / "runlog.json").write_text(json.dumps(data))  # size changes: re-read
    (runs / "creative.sqlite").unlink()
    for extra in ("-wal", "-shm"):
        (runs / f"creative.sqlite{extra}").unlink(missing_ok=True)
    out = cli("runs", "list", "--runs-dir", runs, "--json")
    assert out.exit_code == 0
    rows = {r["run_id"]: r for r in json.loads(out.stdout)}
    assert rows[first.name]["status"] == "partial" and rows[first.name]["cost_usd"] == 0.5
    assert (runs / "creative.sqlite").is_file()

    import shutil

    shutil.rmtree(first)
    assert [r.run_id for r in list_runs(runs)] == ["20261102-090000-lumen-skin-serum-tiktok"]


def test_sync_indexes_a_new_folder_once(tmp_path):
    runs = tmp_path / "runs"
    run_dir = make_run(runs, "20261101-090000-lumen-skin-serum-meta_static", ["glow"])
    with opened(runs / "creative.sqlite") as conn:
        assert sync_index(conn, runs) == 1
        assert [tuple(r) for r in conn.execute("SELECT run_id, variants_ok FROM runs")] == [(run_dir.name, 1)]
        assert sync_index(conn, runs) == 0


def test_runs_list_still_reads_the_folders_when_the_database_is_damaged(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "20261101-090000-lumen-skin-serum-meta_static", ["glow"])
    (runs / "creative.sqlite").write_bytes(b"not a database at all" * 100)
    listed = list_runs(runs)
    assert [(r.run_id, r.variants_ok) for r in listed] == [("20261101-090000-lumen-skin-serum-meta_static", 1)]
    broken = cli("results", "show", "--runs-dir", runs)
    assert broken.exit_code == 1 and "cannot open the results database" in broken.stderr and "move it aside" in broken.stderr
