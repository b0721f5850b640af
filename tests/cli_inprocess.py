"""Run `creative` in-process with typer's CliRunner and read it as a user would: exit code and last line."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from creative.cli import app, error_line
from creative.core.errors import EXIT_FAILURE, CreativeError


@dataclass
class Outcome:
    code: int
    stdout: str
    line: str  # the error line main() prints for a failure, else the last line of stderr


def invoke(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """`creative ARGS` through CliRunner; an unexpected exception (a would-be traceback) is re-raised."""
    result = CliRunner().invoke(app, list(args), env=env)
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit):
        lines = result.stderr.strip().splitlines()
        return Outcome(result.exit_code, result.stdout, lines[-1] if lines else "")
    if isinstance(exc, CreativeError):
        return Outcome(exc.exit_code, result.stdout, error_line(exc))
    raise exc


def assert_one_clear_line(outcome: Outcome, code: int, *needles: str) -> None:
    """The failure ended with `code` and one line (no traceback) that says each of `needles`."""
    assert outcome.code == code, outcome
    assert outcome.code != EXIT_FAILURE or code == EXIT_FAILURE
    assert "\n" not in outcome.line and outcome.line.startswith("error: "), outcome.line
    assert "Traceback" not in outcome.line
    for needle in needles:
        assert needle in outcome.line, (needle, outcome.line)
