"""Progress on stderr: a rich display on a terminal, plain stage lines otherwise, nothing when quiet.

The rich display lives in creative.console, imported only when something is shown: a quiet
run does not pay for importing rich."""

from __future__ import annotations

import sys
from typing import Any



class Reporter:
    """Receives stage and generation events from the pipeline; the default says nothing."""

    def stage(self, name: str, detail: str = "") -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def generation_started(self, variants: list[int]) -> None:
        pass

    def generation_event(self, kind: str, data: dict[str, Any]) -> None:
        pass

    def generation_finished(self) -> None:
        pass


def make_reporter(quiet: bool) -> Reporter:
    if quiet:
        return Reporter()
    from rich.console import Console

    from creative.console import ConsoleReporter

    return ConsoleReporter(Console(file=sys.stderr, highlight=False))
