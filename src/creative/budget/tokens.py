"""Token spend: estimate a chat request's cost before it is sent, reserve it, settle what `usage` says.

Chat tokens go through the same ledger as images, under their own ledger id so that settling
them early never closes the run's image reservation.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from creative.budget.ledger import Ledger

# Tokenizers differ by model; about four characters a token holds for Latin text and
# over-estimates for most others, which is the safe side for a reservation.
CHARS_PER_TOKEN = 4
MILLION = 1_000_000


@dataclass(frozen=True)
class TokenPrices:
    """USD per million input (prompt) and output (completion) tokens."""

    input_usd: float = 0.0
    output_usd: float = 0.0

    @property
    def free(self) -> bool:
        return self.input_usd == 0 and self.output_usd == 0


def estimate_tokens(text: str) -> int:
    """A generous token count for `text` (used only to size a reservation)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def token_cost(input_tokens: int, output_tokens: int, prices: TokenPrices) -> float:
    """USD for a number of tokens at `prices`."""
    return round((input_tokens * prices.input_usd + output_tokens * prices.output_usd) / MILLION, 8)


def estimate_cost(prompt_text: str, max_output_tokens: int, prices: TokenPrices, requests: int = 1) -> float:
    """Worst case for a conversation of `requests` turns on this prompt.

    Each turn sends the prompt plus every earlier answer and is answered with `max_output_tokens`.
    """
    prompt = estimate_tokens(prompt_text)
    inputs = sum(prompt + turn * max_output_tokens for turn in range(requests))
    return token_cost(inputs, requests * max_output_tokens, prices)


@dataclass
class TokenSpend:
    """The actual cost accumulated while a reservation is held."""

    ledger_id: str
    reserved_usd: float
    actual_usd: float = 0.0


@contextmanager
def reserved_tokens(ledger: Ledger | None, ledger_id: str, estimate_usd: float, reason: str) -> Iterator[TokenSpend]:
    """Reserve `estimate_usd` (BudgetRefused over the cap), then settle `actual_usd` whatever happens.

    Nothing is written to the ledger when there is no ledger or the estimate is zero (a free local model).
    """
    spend = TokenSpend(ledger_id, estimate_usd)
    if ledger is None or estimate_usd <= 0:
        yield spend
        return
    ledger.reserve(ledger_id, estimate_usd, reason=reason)
    try:
        yield spend
    finally:
        ledger.settle(ledger_id, spend.actual_usd, reason=f"{reason}: tokens used")
