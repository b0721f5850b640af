"""Shared helpers for the benchmarks: stats, results, mock ComfyUI subprocesses, profiles."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHANNEL = "meta_static"
READY_TIMEOUT_S = 30.0


@dataclass
class Config:
    """How hard to run: repetitions per figure and whether this is a --quick run."""

    reps: int = 5
    quick: bool = False


@dataclass
class Result:
    """One reported figure: target, median with min and max, pass/fail and notes."""

    name: str
    unit: str
    target: str
    median: float
    min: float
    max: float
    n: int
    passed: bool | None  # None: informational, no target
    extra: dict = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(samples: list[float]) -> dict:
    """Median, min, max and count of a list of samples."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def result(name: str, unit: str, samples: list[float], *, limit: float | None = None, op: str = "<=",
           extra: dict | None = None, notes: str = "") -> Result:
    """A Result from raw samples; pass/fail compares the median with `limit` using `op`."""
    s = summarize(samples)
    passed = None
    target = "-"
    if limit is not None:
        passed = s["median"] <= limit if op == "<=" else s["median"] >= limit
        target = f"{op} {limit:g}"
    return Result(name, unit, target, s["median"], s["min"], s["max"], s["n"], passed,
                  {"samples": [round(x, 6) for x in samples], **(extra or {})}, notes)


def machine_info() -> dict:
    """What the figures were taken on, and when."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
    }


def free_port() -> int:
    """A TCP port that was free a moment ago (the mock binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate a child process, killing it if it has not stopped within 10 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class MockProcess:
    """`python -m creative mock-comfy` in its own process, so its CPU and GIL are not ours."""

    def __init__(self, latency: float):
        self.latency = latency
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        self.proc: subprocess.Popen | None = None

    def start(self) -> MockProcess:
        argv = [PYTHON, "-m", "creative", "mock-comfy", "--port", str(self.port), "--latency", f"{self.latency:g}"]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._log)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"mock on port {self.port} exited: {self._log.read()[-500:]!r}")
            try:
                if httpx.get(self.url + "/system_stats", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mock on port {self.port} did not answer within {READY_TIMEOUT_S:g} s")

    def history(self) -> dict:
        """The mock's whole /history."""
        return httpx.get(self.url + "/history", timeout=30.0).json()

    def clear_history(self) -> None:
        httpx.post(self.url + "/history", json={"clear": True}, timeout=10.0)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self._log.close()

    def __enter__(self) -> MockProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def mocks(count: int, latency: float) -> Iterator[list[MockProcess]]:
    """`count` mock servers, each in its own process, stopped on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(MockProcess(latency)) for _ in range(count)]


def execution_spans(history: dict, prompt_ids: set[str] | None = None) -> dict[str, tuple[float, float]]:
    """prompt_id -> (execution_start, execution_success) in seconds, from /history messages (ms)."""
    spans: dict[str, tuple[float, float]] = {}
    for pid, entry in history.items():
        if prompt_ids is not None and pid not in prompt_ids:
            continue
        stamps = {event: data.get("timestamp") for event, data in entry.get("status", {}).get("messages", [])}
        if stamps.get("execution_start") is not None and stamps.get("execution_success") is not None:
            spans[pid] = (stamps["execution_start"] / 1000.0, stamps["execution_success"] / 1000.0)
    return spans


def busy_seconds(spans: list[tuple[float, float]]) -> float:
    """Length of the union of the intervals (time at least one prompt was executing)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def make_jobs(count: int, seed_base: int = 0) -> list:
    """`count` GenJobs with distinct seeds at meta_static's background size."""
    from creative.brand.kit import load_channels
    from creative.gen.dispatch import GenJob
    from creative.gen.workflow import default_workflow_path, load_workflow
    from creative.stages.prompts import background_size

    templates = ROOT / "templates"
    width, height = background_size(load_channels(templates / "channels.yaml")[CHANNEL])
    workflow = load_workflow(default_workflow_path(templates))
    jobs = []
    for i in range(1, count + 1):
        seed = seed_base + i
        graph = workflow.apply(f"benchmark scene {i}, soft studio light, no text",
                               "text, letters, logo, watermark", seed, width, height)
        jobs.append(GenJob(variant=i, graph=graph, output_node=workflow.output_node, seed=seed, filename=f"v{i:02d}.png"))
    return jobs


def fresh_seed_base() -> int:
    # Distinct seeds per repetition: the mock caches identical nodes like ComfyUI does.
    return int(time.time() * 1000) % 10_000_000 * 100


# ---------------------------------------------------------------- profiles

def profile_argv(argv: list[str], *, cwd: Path = ROOT, top: int = 6) -> str:
    """Run `python <argv>` under pyinstrument and summarize where its time went."""
    if not pyinstrument_available():
        return "no profile: pyinstrument is not installed (pip install pyinstrument)"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.json"
        cmd = [PYTHON, "-m", "pyinstrument", "-r", "json", "-o", str(out), *argv]
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if not out.exists():
            return "no profile: pyinstrument produced no output"
        return summarize_profile(json.loads(out.read_text()), top=top)


def profile_call(fn: Callable[[], object], *, top: int = 6) -> str:
    """Run `fn()` under pyinstrument (async-aware) in this process and summarize it."""
    if not pyinstrument_available():
        return "no profile: pyinstrument is not installed (pip install pyinstrument)"
    from pyinstrument import Profiler
    from pyinstrument.renderers import JSONRenderer

    profiler = Profiler(async_mode="enabled")
    with profiler:
        fn()
    return summarize_profile(json.loads(JSONRenderer().render(profiler.last_session)), top=top)


def pyinstrument_available() -> bool:
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        return False
    return True


def summarize_profile(data: dict, *, top: int = 6) -> str:
    """'total; most own time: ...; slowest creative.* calls (inclusive): ...' from a JSON profile."""
    own: dict[str, float] = {}
    inclusive: dict[str, float] = {}

    def walk(frame: dict, on_stack: frozenset[str]) -> None:
        key = f"{frame['function']} ({frame.get('file_path_short', '?')}:{frame.get('line_no', 0)})"
        children = frame.get("children", [])
        own[key] = own.get(key, 0.0) + frame["time"] - sum(c["time"] for c in children)
        # Recursion would count a function's time twice: count it at its outermost frame only.
        if "creative" in frame.get("file_path", "") and key not in on_stack:
            inclusive[key] = inclusive.get(key, 0.0) + frame["time"]
        for child in children:
            walk(child, on_stack | {key})

    walk(data["root_frame"], frozenset())
    fmt = lambda items: ", ".join(f"{k} {v:.2f}s" for k, v in items)  # noqa: E731
    hot_own = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    hot_ours = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return (f"profile {data['duration']:.2f}s wall: most own time: {fmt(hot_own)}; "
            f"slowest creative code (inclusive): {fmt(hot_ours)}")


def attach_profile(results: list[Result], profile: Callable[[], str]) -> None:
    """When a target is missed, profile once and put the summary in the first failure's notes."""
    failed = [r for r in results if r.passed is False]
    if not failed:
        return
    summary = profile()
    failed[0].notes = f"{failed[0].notes} {summary}".strip()
    for r in failed[1:]:
        r.notes = f"{r.notes} (profile: see {failed[0].name})".strip()
