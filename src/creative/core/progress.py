"""What the stages report while they work: the Reporter interface, which by default says nothing.

LineReporter writes plain lines for a pipe or a log file; the rich display (creative.console)
draws live bars on a terminal."""

from __future__ import annotations

import threading
from typing import Any, TextIO

from creative.core.redact import redact_text


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


class LineReporter(Reporter):
    """Stage lines, details and warnings as plain lines (stderr piped or logged): no bars, no styling,
    and no rich to import, which a short command such as `creative brief` would feel."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._lock = threading.Lock()  # a batch's products report from several threads

    def _line(self, text: str) -> None:
        with self._lock:  # one write a line: lines from two threads never interleave
            self.stream.write(redact_text(text) + "\n")
            self.stream.flush()

    def stage(self, name: str, detail: str = "") -> None:
        self._line(f"› {name}" + (f" {detail}" if detail else ""))

    def info(self, message: str) -> None:
        self._line(f"  {message}")

    def warn(self, message: str) -> None:
        self._line(f"warning: {message}")

    def generation_event(self, kind: str, data: dict[str, Any]) -> None:
        line = failure_line(kind, data)
        if line:
            self.warn(line)


def failure_line(kind: str, data: dict[str, Any]) -> str | None:
    """The warning a variant's failed or retried generation is reported with, else None."""
    if kind not in ("failed", "retry"):
        return None
    return f"v{data.get('variant'):02d} {kind}: {data.get('error', '')}"
