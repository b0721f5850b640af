"""Progress display: live bars on a terminal, plain lines when piped, nothing when quiet."""

from __future__ import annotations

import io
import re

from rich.console import Console

from creative.console import ConsoleReporter
from creative.cli import make_reporter
from creative.core.progress import LineReporter, Reporter

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def drive(reporter: Reporter) -> None:
    reporter.stage("generate", "2 backgrounds on 1 server(s)")
    reporter.generation_started([1, 2])
    for variant in (1, 2):
        reporter.generation_event("submitted", {"variant": variant, "server": "http://gpu:8188"})
        for step in (1, 2, 3, 4):
            reporter.generation_event("progress", {"variant": variant, "server": "http://gpu:8188", "value": step, "max": 4})
    reporter.generation_event("done", {"variant": 1, "server": "http://gpu:8188"})
    reporter.generation_event("failed", {"variant": 2, "server": "http://gpu:8188", "error": "node 3 (KSampler): out of memory"})
    reporter.generation_finished()


def test_terminal_shows_bars_per_variant_and_overall():
    out = io.StringIO()
    drive(ConsoleReporter(Console(file=out, force_terminal=True, width=100)))
    text = ANSI.sub("", out.getvalue())
    assert "all variants" in text and "2/2" in text  # overall done/total
    assert "v01 done" in text and "v02 failed" in text
    assert "4/4" in text  # per-variant steps from progress frames


def test_piped_output_has_stage_lines_and_failures_but_no_bars():
    out = io.StringIO()
    drive(ConsoleReporter(Console(file=out, force_terminal=False, width=100)))
    lines = out.getvalue().splitlines()
    assert lines[0] == "› generate 2 backgrounds on 1 server(s)"
    assert lines[1:] == ["warning: v02 failed: node 3 (KSampler): out of memory"]
    assert "\x1b[" not in out.getvalue()


def test_piped_stderr_gets_the_same_lines_without_rich(capsys):
    reporter = make_reporter(quiet=False)  # pytest's captured stderr is not a terminal
    assert isinstance(reporter, LineReporter)
    drive(reporter)
    reporter.info("found: Serum [Night] · 12 EUR")  # brackets are text, not markup
    rich_out = io.StringIO()
    rich_reporter = ConsoleReporter(Console(file=rich_out, force_terminal=False, width=100))
    drive(rich_reporter)
    rich_reporter.info("found: Serum [Night] · 12 EUR")
    assert capsys.readouterr().err == rich_out.getvalue()


def test_plain_lines_from_many_threads_are_written_whole():
    import threading

    class Recording:
        def __init__(self):
            self.writes: list[str] = []

        def write(self, text: str) -> None:
            self.writes.append(text)

        def flush(self) -> None:
            pass

    stream = Recording()
    reporter = LineReporter(stream)
    threads = [threading.Thread(target=lambda n=n: [reporter.info(f"product {n} line {i}") for i in range(50)])
               for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(w.endswith("\n") and w.count("\n") == 1 for w in stream.writes)  # one write, one whole line
    assert sorted(stream.writes) == sorted(f"  product {n} line {i}\n" for n in range(6) for i in range(50))


def test_quiet_reporter_is_silent(capsys):
    reporter = make_reporter(quiet=True)
    drive(reporter)
    reporter.warn("nobody hears this")
    assert capsys.readouterr() == ("", "")
