"""Forged and damaged budget ledgers refuse the run with exit 3 and one line naming the file and line."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timezone

import pytest

from cli_inprocess import assert_one_clear_line, invoke
from creative.budget.ledger import Ledger
from creative.core.errors import EXIT_BUDGET, BudgetRefused

NOV = datetime(2026, 11, 15, 12, tzinfo=timezone.utc).timestamp()


def _line(**override) -> str:
    event = {"event": "settle", "run_id": "forged", "amount_usd": 0.5, "ts": NOV}
    event.update(override)
    return json.dumps(event, allow_nan=True)


FORGED = {
    "negative amount": _line(amount_usd=-50.0),
    "NaN amount": _line(amount_usd=float("nan")),
    "infinite amount": _line(amount_usd=float("inf")),
    "amount as text": _line(amount_usd="0.5"),
    "amount as boolean": _line(amount_usd=True),
    "timestamp 1e300": _line(ts=1e300),
    "timestamp in the far past": _line(ts=-1e10),
    "timestamp in the far future": _line(ts=datetime(2999, 1, 1, tzinfo=timezone.utc).timestamp()),
    "timestamp as text": _line(ts="2026-11-15"),
    "nested thousands deep": "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("bad", FORGED.values(), ids=FORGED.keys())
def test_forged_line_makes_the_ledger_unreadable(tmp_path, bad):
    book = Ledger(tmp_path / "budget.jsonl", cap=1.0, tz=timezone.utc, clock=lambda: NOV)
    book.reserve("a", 0.1)
    with open(book.path, "a") as handle:
        handle.write(bad + "\n")
    with pytest.raises(BudgetRefused) as info:
        book.reserve("b", 0.1)
    assert f"{book.path} line 2 is unreadable" in info.value.message
    assert len(book.path.read_text().splitlines()) == 2  # nothing appended


def test_negative_amount_cannot_lower_the_spend_through_the_cli(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "budget.jsonl").write_text(_line(amount_usd=-1000.0, ts=datetime.now().timestamp()) + "\n")
    outcome = invoke("budget", "--runs-dir", str(runs))
    assert_one_clear_line(outcome, EXIT_BUDGET, "budget.jsonl line 1", "amount_usd -1000.0")


def test_timestamp_1e300_through_the_cli(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "budget.jsonl").write_text(_line(ts=1e300) + "\n")
    outcome = invoke("budget", "--runs-dir", str(runs))
    assert_one_clear_line(outcome, EXIT_BUDGET, "line 1", "ts 1e+300")


def test_ledger_that_is_a_directory_refuses(tmp_path):
    (tmp_path / "runs" / "budget.jsonl").mkdir(parents=True)
    outcome = invoke("budget", "--runs-dir", str(tmp_path / "runs"))
    assert_one_clear_line(outcome, EXIT_BUDGET, "budget.jsonl cannot be used", "not a regular file")


def _make_unwritable(path) -> str:
    """Immutable (chattr +i) when running as root, who ignores file modes; else read-only."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return "Permission denied"
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this file system")
    return "Operation not permitted"


def test_ledger_that_cannot_be_written_refuses(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    ledger = runs / "budget.jsonl"
    ledger.write_text(_line(ts=datetime.now().timestamp()) + "\n")
    why = _make_unwritable(ledger)
    try:
        outcome = invoke("budget", "--runs-dir", str(runs))
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(ledger)], check=False)
    assert_one_clear_line(outcome, EXIT_BUDGET, "budget.jsonl cannot be used", why)
