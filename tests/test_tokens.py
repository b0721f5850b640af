"""Token spend through the budget ledger: estimate, reserve, settle what was used."""

from __future__ import annotations

import json

import pytest

from creative.budget.ledger import Ledger
from creative.budget.tokens import TokenPrices, estimate_cost, estimate_tokens, reserved_tokens, token_cost
from creative.core.errors import BudgetRefused

PRICES = TokenPrices(input_usd=2.5, output_usd=10.0)


def test_cost_and_estimate():
    assert token_cost(1_000_000, 0, PRICES) == 2.5
    assert token_cost(2000, 500, PRICES) == pytest.approx(0.005 + 0.005)
    assert estimate_tokens("x" * 4001) == 1001
    # Two turns: the second sends the prompt plus the first answer.
    assert estimate_cost("x" * 4000, 100, PRICES, requests=2) == token_cost(1000 + 1100, 200, PRICES)


def _events(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_reservation_is_settled_with_the_actual_cost_even_on_error(tmp_path):
    ledger = Ledger(tmp_path / "budget.jsonl", cap=1.0)
    with pytest.raises(RuntimeError):
        with reserved_tokens(ledger, "run-brief", 0.2, reason="brief writer") as spend:
            spend.actual_usd = 0.05
            raise RuntimeError("model went away")
    events = _events(tmp_path / "budget.jsonl")
    assert [(e["event"], e["run_id"], e["amount_usd"]) for e in events] == [
        ("reserve", "run-brief", 0.2), ("settle", "run-brief", 0.05)]
    assert ledger.state().committed == pytest.approx(0.05)


def test_over_the_cap_is_refused_and_free_models_leave_no_trace(tmp_path):
    ledger = Ledger(tmp_path / "budget.jsonl", cap=0.1)
    with pytest.raises(BudgetRefused):
        with reserved_tokens(ledger, "run-brief", 0.2, reason="brief writer"):
            pass
    with reserved_tokens(ledger, "run-brief", 0.0, reason="brief writer") as spend:
        spend.actual_usd = 0.0
    assert _events(tmp_path / "budget.jsonl") == []
