"""H.264 encoder choice: NVENC only when a real test encode works, else libx264.

Being listed by `ffmpeg -encoders` proves nothing: Debian's ffmpeg lists h264_nvenc on
machines without an NVIDIA driver. So NVENC is chosen only after a one-frame encode succeeds.
Probe results are cached for the life of the process, per (ffmpeg binary, runner).
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from creative.core.errors import ExportError

log = logging.getLogger(__name__)

EncoderName = Literal["libx264", "h264_nvenc"]
Preference = Literal["auto", "nvenc", "x264"]

# How ffmpeg is invoked: args in, CompletedProcess (text stdout/stderr) out. Tests inject fakes.
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]

PROBE_TIMEOUT_S = 30.0
INSTALL_HINT = "install ffmpeg with libx264 (Debian/Ubuntu: apt-get install ffmpeg) or point the ffmpeg path at one"


@dataclass(frozen=True)
class EncoderChoice:
    """The H.264 encoder to use, why it was picked, and the ffmpeg binary that has it."""

    name: EncoderName
    reason: str
    ffmpeg: str = "ffmpeg"


def subprocess_runner(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Default runner: run ffmpeg, capture text output, never wait forever."""
    return subprocess.run(
        list(args), capture_output=True, text=True, errors="replace", timeout=PROBE_TIMEOUT_S, check=False
    )


def last_line(text: str) -> str:
    """The last non-empty line of ffmpeg's stderr (where it says why it stopped)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


def failure_reason(stderr: str, encoder: str) -> str:
    """ffmpeg's last stderr line, plus the encoder's own message when it printed one.

    The last line is usually generic ("Error initializing output stream"); the line tagged
    `[h264_nvenc @ ...]` says the actual cause ("Cannot load libcuda.so.1").
    """
    last = last_line(stderr)
    tagged = [line.split("]", 1)[1].strip() for line in stderr.splitlines() if f"[{encoder} @" in line and "]" in line]
    if tagged and tagged[-1] and tagged[-1] not in last:
        return f"{tagged[-1]} ({last})"
    return last


def nvenc_test_command(ffmpeg: str = "ffmpeg") -> list[str]:
    """One black frame through h264_nvenc with the settings real encodes use, to /dev/null."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i", "color=c=black:s=256x256:r=30",
        "-frames:v", "1", "-c:v", "h264_nvenc", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-f", "null", "-",
    ]  # fmt: skip


@dataclass(frozen=True)
class _Probe:
    encoders: frozenset[str]
    nvenc_ok: bool
    nvenc_reason: str


_cache: dict[tuple[str, Runner], _Probe] = {}
_cache_lock = threading.Lock()


def _run(runner: Runner, args: list[str], ffmpeg: str) -> subprocess.CompletedProcess[str] | None:
    """Run ffmpeg; a missing binary is an ExportError, a timeout returns None."""
    try:
        return runner(args)
    except FileNotFoundError as exc:
        raise ExportError(f"ffmpeg not found: '{ffmpeg}' is not installed or not on PATH", hint=INSTALL_HINT) from exc
    except PermissionError as exc:
        raise ExportError(f"ffmpeg at '{ffmpeg}' cannot be executed: {exc}", hint=INSTALL_HINT) from exc
    except subprocess.TimeoutExpired:
        return None


def list_encoders(ffmpeg: str = "ffmpeg", *, runner: Runner = subprocess_runner) -> frozenset[str]:
    """Encoder names from `ffmpeg -encoders` (lines like ' V....D libx264  libx264 H.264 ...')."""
    proc = _run(runner, [ffmpeg, "-hide_banner", "-encoders"], ffmpeg)
    if proc is None or proc.returncode != 0:
        why = "timed out" if proc is None else last_line(proc.stderr)
        raise ExportError(f"'{ffmpeg} -encoders' failed: {why}", hint=INSTALL_HINT)
    names = set()
    in_table = False
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "------":  # the legend ends here; the table starts
            in_table = True
        elif in_table and len(parts) >= 2:
            names.add(parts[1])
    return frozenset(names)


def _probe(ffmpeg: str, runner: Runner) -> _Probe:
    key = (ffmpeg, runner)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    encoders = list_encoders(ffmpeg, runner=runner)
    if "h264_nvenc" not in encoders:
        ok, reason = False, "h264_nvenc missing from this ffmpeg"
    else:
        proc = _run(runner, nvenc_test_command(ffmpeg), ffmpeg)
        if proc is None:
            ok, reason = False, f"h264_nvenc listed, test encode timed out after {PROBE_TIMEOUT_S:.0f} s"
        elif proc.returncode != 0:
            ok, reason = False, f"h264_nvenc listed, test encode failed: {failure_reason(proc.stderr, 'h264_nvenc')}"
        else:
            ok, reason = True, "one-frame test encode works"
    probe = _Probe(encoders, ok, reason)
    log.info("encoder probe for %s: %s", ffmpeg, reason)
    with _cache_lock:
        _cache[key] = probe
    return probe


def choose_encoder(
    preference: Preference = "auto", *, runner: Runner = subprocess_runner, ffmpeg: str = "ffmpeg"
) -> EncoderChoice:
    """Pick the H.264 encoder: `auto` tries NVENC then libx264; `nvenc`/`x264` force one.

    Raises ExportError when ffmpeg is missing, when a forced NVENC fails its test encode (with
    ffmpeg's reason), or when libx264 is needed but this ffmpeg lacks it.
    """
    if preference not in ("auto", "nvenc", "x264"):
        raise ExportError(f"unknown encoder preference '{preference}'", hint="use auto, nvenc or x264")
    probe = _probe(ffmpeg, runner)
    if preference in ("auto", "nvenc") and probe.nvenc_ok:
        return EncoderChoice("h264_nvenc", probe.nvenc_reason, ffmpeg)
    if preference == "nvenc":
        raise ExportError(
            f"NVENC was requested but cannot be used: {probe.nvenc_reason}",
            hint="install the NVIDIA driver and an ffmpeg built with NVENC, or use encoder auto/x264",
        )
    if "libx264" not in probe.encoders:
        raise ExportError(f"ffmpeg at '{ffmpeg}' has no libx264 encoder", hint=INSTALL_HINT)
    if preference == "x264":
        return EncoderChoice("libx264", "libx264 requested", ffmpeg)
    # Read as "video encoder: libx264 (h264_nvenc listed, test encode failed: ...)".
    return EncoderChoice("libx264", probe.nvenc_reason, ffmpeg)
