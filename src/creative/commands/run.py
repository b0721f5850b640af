"""`creative run`: research, brief, prompts, budget, generate, compose, export, report in one new run folder."""

from __future__ import annotations

import time
from typing import Callable

from creative.core.config import Settings
from creative.core.progress import Reporter
from creative.run.context import RunRequest
from creative.run.outcome import RunResult, execute
from creative.run.plan import new_run
from creative.stages.full import FULL_RUN

STAGES = FULL_RUN


def run(request: RunRequest, settings: Settings, reporter: Reporter, *,
        clock: Callable[[], float] = time.time) -> RunResult:
    """Every stage for a new run. Errors before the run folder exists are raised."""
    return execute(new_run(request, settings, reporter, clock=clock), STAGES)
