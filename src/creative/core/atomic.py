"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Temp files are hidden, sit next to their target and carry the writer's process id
(`.<name>.<pid>.<random>.tmp` or `.part`), so a process killed mid-write (SIGKILL, power loss)
leaves nothing that a later write in the same folder does not sweep away.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from creative.core.process import pid_alive

log = logging.getLogger(__name__)

# What partial_prefix + mkstemp's random part + a suffix look like; group 1 is the writer's pid.
_PARTIAL = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.(?:tmp|part)$")
_swept: set[Path] = set()  # folders already swept by this process


def _file_mode() -> int:
    """Mode for new files: what open() would give under the current umask (mkstemp uses 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def partial_prefix(path: Path) -> str:
    """The temp-file prefix for writing `path`: hidden, and tagged with this process's id."""
    return f".{path.name}.{os.getpid()}."


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete temp files in `folder` whose writer no longer runs (it was killed mid-write)."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _PARTIAL.match(name)
        if match and not pid_alive(int(match.group(1))):
            try:
                (folder / name).unlink()
                removed.append(folder / name)
            except OSError as exc:
                log.warning("could not remove the partial file %s: %s", folder / name, exc)
    if removed:
        log.info("removed %d partial file(s) left in %s by a killed process", len(removed), folder)
    return removed


def sweep_once(folder: Path) -> None:
    """remove_stale_partials, the first time this process writes into `folder`."""
    key = Path(folder).resolve()
    if key not in _swept:
        _swept.add(key)
        remove_stale_partials(key)


def write_atomic(path: Path, data: bytes | str) -> int:
    """Write `data` to `path` through a temp file in the same folder and a rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_once(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=partial_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(payload)
