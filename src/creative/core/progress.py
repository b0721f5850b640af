"""What the stages report while they work: the Reporter interface, which by default says nothing.

The console display (creative.console) implements it for the command line."""

from __future__ import annotations

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
