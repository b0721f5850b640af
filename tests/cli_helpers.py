"""Run `creative` in-process (Typer's test runner) or, for the few true end-to-end tests, as a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PAGE = REPO / "examples" / "serum.html"


@dataclass
class CliResult:
    """What a finished command left: exit code, stdout and stderr (the fields of a CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


def run_creative(*args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult:
    """`creative ARGS` in this process, in `cwd`, with CREATIVE_* unset but for `env`; no stdin.

    The runner sets and restores the environment itself; the working folder is restored here,
    so nothing leaks into the next test.
    """
    from creative.cli import app

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CREATIVE_")}
    overrides.update(env or {})
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env=overrides, catch_exceptions=False)
    finally:
        os.chdir(previous)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_creative_process(*args: str, cwd: Path, env: dict[str, str] | None = None,
                         timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m creative ARGS` as a real process: only for what needs one (signals, the console
    script's exit path, output streams of a real process)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CREATIVE_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "creative", *args],
        cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )


def closed_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
