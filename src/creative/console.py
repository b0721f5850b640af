"""The rich progress display: stage lines and warnings on stderr, live bars on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from creative.core.progress import Reporter, failure_line
from creative.core.redact import redact_text

if TYPE_CHECKING:
    from rich.progress import Progress


class ConsoleReporter(Reporter):
    """Stage lines and warnings on stderr; a live per-variant bar when stderr is a terminal."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True, highlight=False)
        self._progress: Progress | None = None
        self._tasks: dict[int, Any] = {}
        self._overall: Any = None

    def stage(self, name: str, detail: str = "") -> None:
        self.console.print(f"[bold cyan]›[/] {name}" + (f" [dim]{escape(redact_text(detail))}[/]" if detail else ""))

    def info(self, message: str) -> None:
        self.console.print(f"  {escape(redact_text(message))}")

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(redact_text(message))}")

    def generation_started(self, variants: list[int]) -> None:
        if not self.console.is_terminal:
            return
        # The live bars load only on a terminal (a brief, a pipe or a log file never draws them).
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.console, transient=False,
        )
        self._overall = self._progress.add_task("[bold]all variants", total=len(variants))
        for variant in variants:
            self._tasks[variant] = self._progress.add_task(f"  v{variant:02d} queued", total=None)
        self._progress.start()

    def generation_event(self, kind: str, data: dict[str, Any]) -> None:
        variant = data.get("variant")
        if self._progress is None:
            line = failure_line(kind, data)
            if line:
                self.warn(line)
            return
        task = self._tasks.get(variant)
        if task is None:
            return
        server = data.get("server", "")
        if kind == "progress":
            self._progress.update(task, description=f"  v{variant:02d} {server}", total=data.get("max"), completed=data.get("value"))
        elif kind == "submitted":
            self._progress.update(task, description=f"  v{variant:02d} {server}")
        elif kind == "retry":
            self._progress.update(task, description=f"  v{variant:02d} retrying", total=None, completed=0)
        elif kind in ("done", "failed"):
            # A finished bar keeps its step count (4/4); a failed one stays where it stopped.
            total = self._progress.tasks[task].total or 1
            if kind == "done":
                self._progress.update(task, description=f"  v{variant:02d} done", total=total, completed=total)
            else:
                self._progress.update(task, description=f"  v{variant:02d} [red]failed[/]", total=total)
            self._progress.advance(self._overall)

    def generation_finished(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
