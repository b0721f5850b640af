"""Budget ledger and guard: reservations, settlement, months, corrupt ledgers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from creative.budget.ledger import Ledger, month_of
from creative.core.errors import BudgetRefused

NOV = datetime(2026, 11, 15, 12, tzinfo=timezone.utc).timestamp()
DEC = datetime(2026, 12, 2, 12, tzinfo=timezone.utc).timestamp()


def ledger(tmp_path, cap=1.0, now=NOV):
    return Ledger(tmp_path / "budget.jsonl", cap=cap, tz=timezone.utc, clock=lambda: now)


def test_reserve_counts_open_reservations_and_refuses_past_cap(tmp_path):
    book = ledger(tmp_path)
    book.reserve("a", 0.4)
    book.reserve("b", 0.4)
    with pytest.raises(BudgetRefused) as info:
        book.reserve("c", 0.4)
    message = info.value.message
    assert "cap $1.00" in message and "estimate $0.40" in message and "spent $0.00" in message
    assert "+$0.80 reserved" in message
    lines = (tmp_path / "budget.jsonl").read_text().splitlines()
    assert [json.loads(l)["run_id"] for l in lines] == ["a", "b"]


def test_settle_replaces_reservation_with_actual(tmp_path):
    book = ledger(tmp_path)
    book.reserve("a", 0.8)
    book.settle("a", 0.2)
    state = book.state()
    assert (state.settled, state.reserved, state.remaining) == (0.2, 0.0, 0.8)
    book.reserve("b", 0.8)  # fits now that a's reservation is settled lower


def test_release_frees_reservation(tmp_path):
    book = ledger(tmp_path)
    book.reserve("a", 1.0)
    book.release("a")
    assert book.state().committed == 0.0
    book.check(1.0)


def test_exactly_at_cap_is_allowed(tmp_path):
    book = ledger(tmp_path, cap=0.24)
    book.reserve("a", 0.24)
    with pytest.raises(BudgetRefused):
        book.check(0.01)


def test_previous_month_does_not_count(tmp_path):
    ledger(tmp_path, now=NOV).reserve("old", 1.0)
    december = ledger(tmp_path, now=DEC)
    assert december.state().committed == 0.0
    assert month_of(DEC, timezone.utc) == "2026-12"


@pytest.mark.parametrize("bad", ["{not json", json.dumps({"event": "spend", "run_id": "x", "amount_usd": 1, "ts": NOV})])
def test_corrupt_ledger_refuses_naming_file_and_line(tmp_path, bad):
    book = ledger(tmp_path)
    book.reserve("a", 0.1)
    with open(tmp_path / "budget.jsonl", "a") as handle:
        handle.write(bad + "\n")
    with pytest.raises(BudgetRefused) as info:
        book.check(0.1)
    assert f"{tmp_path / 'budget.jsonl'} line 2" in info.value.message
