"""Error tree: every failure a user can see carries a message and an exit code.

Exit codes: 0 success, 1 failure, 2 bad input or usage, 3 refused by the budget
guard, 4 partial (some variants failed; the rest are delivered), 130 cancelled (Ctrl-C),
143 stopped by SIGTERM.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
EXIT_PARTIAL = 4
EXIT_CANCELLED = 130  # the shell's code for a process stopped by Ctrl-C
EXIT_TERMINATED = 143  # the shell's code for a process stopped by SIGTERM


class CreativeError(Exception):
    """Base error: `message` is one line for the user, `hint` says how to fix it."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, written: list[str] | None = None,
                 written_in: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.written = written or []  # files this command wrote before it failed, relative to `written_in`
        self.written_in = written_in

    def user_message(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(self.hint)
        if self.written:
            where = f" in {self.written_in}" if self.written_in else ""
            parts.append(f"Already written{where}: " + ", ".join(self.written))
        return " — ".join(parts)


class InputError(CreativeError):
    """Bad input from the user: options, files, URLs, configuration."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(InputError):
    """A YAML or config file that does not validate."""


class ResearchError(InputError):
    """The product page could not be fetched or is not a page we can read."""


class WorkflowError(InputError):
    """A workflow or its bind file is invalid."""


class BudgetRefused(CreativeError):
    """The monthly budget guard refused the run."""

    exit_code = EXIT_BUDGET


class ComfyError(CreativeError):
    """ComfyUI could not be reached or failed to produce an image."""


class ComfyValidationError(ComfyError):
    """ComfyUI rejected the graph (HTTP 400); never retried."""


class LayoutError(CreativeError):
    """Copy that cannot be laid out (does not fit, missing glyphs, outside safe zone)."""


class ExportError(CreativeError):
    """Encoding or writing a deliverable failed."""


class Cancelled(CreativeError):
    """The user pressed Ctrl-C (or SIGTERM came); our prompts were cancelled and the runlog says so."""

    exit_code = EXIT_CANCELLED


class Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler, so a stopped run unwinds exactly like Ctrl-C."""
