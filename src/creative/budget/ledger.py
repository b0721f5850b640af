"""Monthly budget ledger and guard.

The ledger is one JSON-lines file beside the runs: one JSON line per event (`reserve`, `settle`, `release`),
appended under an exclusive file lock so parallel runs cannot both squeeze under the cap.
A run's reservation stays open until it is settled or released; the guard counts settled
spend plus open reservations plus the new estimate. It never fails open: a ledger it cannot
read refuses the run.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creative.core.errors import BudgetRefused, ConfigError
from creative.core.json_text import loads as json_loads
from creative.core.process import pid_alive

EVENT_KINDS = ("reserve", "settle", "release")
# Timestamps outside these years are forged or broken: no real event was written then.
EARLIEST_TS = datetime(2000, 1, 1).timestamp()
LATEST_TS = datetime(2200, 1, 1).timestamp()
# No single image run costs this much; a larger amount is a typo or a forgery.
MAX_AMOUNT_USD = 1_000_000.0


@dataclass
class RunSpend:
    """What one run holds in the ledger this month."""

    run_id: str
    reserved: float = 0.0
    settled: float | None = None
    released: bool = False
    pid: int | None = None

    @property
    def open_reservation(self) -> float:
        return 0.0 if (self.settled is not None or self.released) else self.reserved


@dataclass
class BudgetState:
    """The month's totals as the guard sees them."""

    month: str
    cap: float
    runs: dict[str, RunSpend] = field(default_factory=dict)

    @property
    def settled(self) -> float:
        return round(sum(r.settled or 0.0 for r in self.runs.values()), 6)

    @property
    def reserved(self) -> float:
        return round(sum(r.open_reservation for r in self.runs.values()), 6)

    @property
    def committed(self) -> float:
        return round(self.settled + self.reserved, 6)

    @property
    def remaining(self) -> float:
        return round(self.cap - self.committed, 6)

    def allows(self, estimate: float) -> bool:
        """Whether `estimate` more fits under the cap (exactly at the cap is allowed)."""
        return self.committed + estimate <= self.cap + 1e-9


def resolve_timezone(name: str | None) -> tzinfo | None:
    """The budget month's timezone: an IANA name, or None for the machine's local time."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"budget.timezone: unknown timezone {name!r}", hint="use an IANA name such as Europe/Berlin") from None


def month_of(ts: float, tz: tzinfo | None) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m")


class Ledger:
    """Append-only budget ledger with an exclusive lock around read-decide-append."""

    def __init__(self, path: Path, *, cap: float, tz: tzinfo | None = None, clock: Callable[[], float] = time.time):
        self.path = path
        self.cap = cap
        self.tz = tz
        self.clock = clock

    @contextmanager
    def _locked(self) -> Iterator[object]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _refuse_if_not_regular(self.path)
            handle = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise _unusable(self.path, exc.strerror or str(exc)) from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def state(self) -> BudgetState:
        """This month's totals (takes the lock so it never reads a half-written line)."""
        with self._locked() as handle:
            return self._read(handle)

    def check(self, estimate: float) -> BudgetState:
        """This month's state, or BudgetRefused when `estimate` would pass the cap; reserves nothing."""
        state = self.state()
        _refuse_if_over(state, estimate)
        return state

    def reserve(self, run_id: str, estimate: float, reason: str = "estimate") -> BudgetState:
        """Reserve `estimate` for a run, or refuse with BudgetRefused when it would pass the cap."""
        with self._locked() as handle:
            state = self._read(handle)
            _refuse_if_over(state, estimate)
            self._append(handle, "reserve", run_id, estimate, reason)
            state.runs.setdefault(run_id, RunSpend(run_id)).reserved += estimate
            return state

    def settle(self, run_id: str, actual: float, reason: str = "actual cost") -> None:
        with self._locked() as handle:
            self._append(handle, "settle", run_id, actual, reason)

    def release(self, run_id: str, reason: str = "released") -> None:
        with self._locked() as handle:
            self._append(handle, "release", run_id, 0.0, reason)

    def _append(self, handle, kind: str, run_id: str, amount: float, reason: str) -> None:
        event = {
            "event": kind,
            "run_id": run_id,
            "amount_usd": round(amount, 6),
            "time": datetime.fromtimestamp(self.clock(), self.tz).isoformat(timespec="seconds"),
            "ts": self.clock(),
            "reason": reason,
            "pid": os.getpid(),
        }
        try:
            handle.write(json.dumps(event, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:  # full disk, or a file made immutable while we held it
            raise _unusable(self.path, exc.strerror or str(exc)) from None

    def _read(self, handle) -> BudgetState:
        handle.seek(0)
        month = month_of(self.clock(), self.tz)
        state = BudgetState(month=month, cap=self.cap)
        try:
            text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise _unusable(self.path, getattr(exc, "strerror", None) or str(exc)) from None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            event = _parse_event(line, self.path, number)
            if month_of(event["ts"], self.tz) != month:
                continue
            run = state.runs.setdefault(event["run_id"], RunSpend(event["run_id"]))
            if event["event"] == "reserve":
                run.reserved += event["amount_usd"]
                run.pid = event.get("pid")
            elif event["event"] == "settle":
                run.settled = (run.settled or 0.0) + event["amount_usd"]
            else:
                run.released = True
        return state


def _refuse_if_over(state: BudgetState, estimate: float) -> None:
    if state.allows(estimate):
        return
    raise BudgetRefused(
        f"budget guard refused the run: spent ${state.settled:.2f} this month "
        f"(+${state.reserved:.2f} reserved by running jobs), cap ${state.cap:.2f}, "
        f"this run's estimate ${estimate:.2f} would make ${state.committed + estimate:.2f}",
        hint="raise budget.monthly_cap_usd in creative.yaml, use fewer --variants, or wait for next month",
    )


def _refuse_if_not_regular(path: Path) -> None:
    """A directory, FIFO or device in the ledger's place would hang or fail the append."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise _unusable(path, "it is not a regular file")


def _unusable(path: Path, why: str) -> BudgetRefused:
    return BudgetRefused(
        f"budget ledger {path} cannot be used ({why}); refusing to spend without a ledger to record it",
        hint="make it a regular file this user can write (or move it away to start a new one)",
    )


def _event_problem(event: object) -> str | None:
    """What is wrong with one decoded ledger event, or None when it can be counted."""
    if not isinstance(event, dict):
        return "it is not a JSON object"
    if event.get("event") not in EVENT_KINDS:
        return f"event {event.get('event')!r} is not one of {', '.join(EVENT_KINDS)}"
    if not isinstance(event.get("run_id"), str):
        return "run_id is not a string"
    amount, ts = event.get("amount_usd"), event.get("ts")
    # bool is an int to Python, but `true` is no amount of money
    if not isinstance(amount, (int, float)) or isinstance(amount, bool):
        return f"amount_usd {amount!r} is not a number"
    if not math.isfinite(amount) or amount < 0 or amount > MAX_AMOUNT_USD:
        return f"amount_usd {amount!r} is not an amount between 0 and {MAX_AMOUNT_USD:,.0f}"
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return f"ts {ts!r} is not a number"
    if not (math.isfinite(ts) and EARLIEST_TS <= ts <= LATEST_TS):
        return f"ts {ts!r} is not a time between the years 2000 and 2200"
    return None


def _parse_event(line: str, path: Path, number: int) -> dict:
    """One ledger line, or BudgetRefused naming the file and line: never guess at spend."""
    try:
        event = json_loads(line)
        problem = _event_problem(event)
    except ValueError:  # also a line nested too deep (json_text refuses it before parsing)
        event, problem = None, "it is not valid JSON"
    if problem:
        raise BudgetRefused(
            f"budget ledger {path} line {number} is unreadable ({problem}); refusing to spend "
            f"without knowing this month's total",
            hint="repair or remove that line (each line is one JSON event: event, run_id, amount_usd, ts)",
        )
    return event


def budget_summary(state: BudgetState, *, alive: Callable[[int | None], bool] = pid_alive) -> dict:
    """The month's totals and the runs behind them, as plain data for tables and --json."""
    runs = []
    for run in state.runs.values():
        if run.released:
            status = "released"
        elif run.settled is not None:
            status = "settled"
        else:
            status = "reserved" if alive(run.pid) else "stale"
        runs.append({
            "run_id": run.run_id, "status": status, "reserved_usd": round(run.reserved, 6),
            "settled_usd": None if run.settled is None else round(run.settled, 6), "pid": run.pid,
        })
    return {
        "month": state.month, "cap_usd": state.cap, "settled_usd": state.settled,
        "reserved_usd": state.reserved, "remaining_usd": state.remaining, "runs": runs,
    }


def settled_by_run(path: Path) -> dict[str, float]:
    """Settled spend per run over the whole ledger (every month): what each run's generation cost."""
    if not path.is_file():
        return {}
    totals: dict[str, float] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            event = _parse_event(line, path, number)
            if event["event"] == "settle":
                totals[event["run_id"]] = round(totals.get(event["run_id"], 0.0) + event["amount_usd"], 6)
    return totals
