"""Run the real `creative` command in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PAGE = REPO / "examples" / "serum.html"


def run_creative(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m creative ARGS` with no stdin, in `cwd`, returning text output."""
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
