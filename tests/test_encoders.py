"""Encoder choice: NVENC only after a real test encode works; libx264 otherwise."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence

import pytest

from creative.render import encoders
from creative.render.encoders import EncoderChoice, choose_encoder, failure_reason, nvenc_test_command
from creative.core.errors import ExportError

ENCODERS_OUT = """Encoders:
 V..... = Video
 A..... = Audio
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 A..... aac                  AAC (Advanced Audio Coding)
"""
NVENC_STDERR = (
    "[h264_nvenc @ 0x55890c455540] Cannot load libcuda.so.1\n"
    "Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0\n"
)


class FakeFFmpeg:
    """A runner: answers `-encoders` with a listing and the NVENC test encode with a result."""

    def __init__(self, listing: str = ENCODERS_OUT, nvenc_rc: int = 1, nvenc_stderr: str = NVENC_STDERR):
        self.listing, self.nvenc_rc, self.nvenc_stderr = listing, nvenc_rc, nvenc_stderr
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        args = list(args)
        self.calls.append(args)
        if "-encoders" in args:
            return subprocess.CompletedProcess(args, 0, self.listing, "")
        if "h264_nvenc" in args:
            return subprocess.CompletedProcess(args, self.nvenc_rc, "", "" if self.nvenc_rc == 0 else self.nvenc_stderr)
        raise AssertionError(f"unexpected ffmpeg call {args}")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    encoders._cache.clear()
    yield
    encoders._cache.clear()


def test_listed_but_failing_nvenc_falls_back_to_x264_with_ffmpeg_reason():
    runner = FakeFFmpeg()
    choice = choose_encoder("auto", runner=runner)
    assert choice.name == "libx264"
    assert "test encode failed" in choice.reason
    assert "Cannot load libcuda.so.1" in choice.reason
    assert runner.calls[1] == nvenc_test_command("ffmpeg")  # a real encode was tried, not just the list


def test_working_nvenc_is_chosen():
    choice = choose_encoder("auto", runner=FakeFFmpeg(nvenc_rc=0))
    assert choice == EncoderChoice("h264_nvenc", "one-frame test encode works", "ffmpeg")


def test_unlisted_nvenc_is_not_test_encoded():
    runner = FakeFFmpeg(listing=ENCODERS_OUT.replace(" V....D h264_nvenc", " V....D h264_other"))
    choice = choose_encoder("auto", runner=runner)
    assert choice.name == "libx264"
    assert "missing" in choice.reason
    assert len(runner.calls) == 1


def test_forced_nvenc_that_fails_raises_with_last_stderr_line():
    with pytest.raises(ExportError) as err:
        choose_encoder("nvenc", runner=FakeFFmpeg())
    assert "Error while opening encoder for output stream #0:0" in err.value.message
    assert "Cannot load libcuda.so.1" in err.value.message


def test_forced_nvenc_that_works_and_forced_x264():
    assert choose_encoder("nvenc", runner=FakeFFmpeg(nvenc_rc=0)).name == "h264_nvenc"
    assert choose_encoder("x264", runner=FakeFFmpeg(nvenc_rc=0)).name == "libx264"


def test_probe_runs_once_per_process_and_runner():
    runner = FakeFFmpeg()
    for _ in range(3):
        choose_encoder("auto", runner=runner)
    assert len(runner.calls) == 2  # -encoders + one test encode
    encoders._cache.clear()
    choose_encoder("auto", runner=runner)
    assert len(runner.calls) == 4


def test_missing_libx264_is_named():
    runner = FakeFFmpeg(listing=ENCODERS_OUT.replace("libx264", "libx265"))
    with pytest.raises(ExportError, match="no libx264 encoder"):
        choose_encoder("auto", runner=runner)


def test_nvenc_probe_timeout_is_a_reason_not_a_hang():
    def runner(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if "-encoders" in args:
            return subprocess.CompletedProcess(list(args), 0, ENCODERS_OUT, "")
        raise subprocess.TimeoutExpired(list(args), 30)

    choice = choose_encoder("auto", runner=runner)
    assert choice.name == "libx264" and "timed out" in choice.reason


def test_runner_reporting_missing_binary_raises_export_error():
    def runner(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", args[0])

    with pytest.raises(ExportError, match="ffmpeg not found: '/opt/ff/ffmpeg'"):
        choose_encoder("auto", runner=runner, ffmpeg="/opt/ff/ffmpeg")


def test_missing_ffmpeg_binary_for_real():
    with pytest.raises(ExportError) as err:
        choose_encoder("auto", ffmpeg="/nonexistent/bin/ffmpeg")
    assert "/nonexistent/bin/ffmpeg" in err.value.message and "not found" in err.value.message
    assert "apt-get install ffmpeg" in (err.value.hint or "")


def test_unknown_preference():
    with pytest.raises(ExportError, match="unknown encoder preference"):
        choose_encoder("gpu", runner=FakeFFmpeg())  # type: ignore[arg-type]


def test_failure_reason_prefers_encoder_message_and_keeps_last_line():
    assert failure_reason(NVENC_STDERR, "h264_nvenc") == (
        "Cannot load libcuda.so.1 (Error initializing output stream 0:0 -- "
        "Error while opening encoder for output stream #0:0)"
    )
    assert failure_reason("one\n\nlast line\n", "h264_nvenc") == "last line"
    assert failure_reason("", "h264_nvenc") == "no error output"


def test_list_encoders_parses_real_ffmpeg():
    names = encoders.list_encoders("ffmpeg")
    assert {"libx264", "aac"} <= names
    assert "------" not in names and "=" not in names


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="machine has an NVIDIA GPU")
def test_auto_on_this_machine_is_libx264_with_reason():
    choice = choose_encoder("auto")
    assert choice.name == "libx264"
    assert "test encode failed" in choice.reason or "missing" in choice.reason
    with pytest.raises(ExportError, match="NVENC was requested but cannot be used"):
        choose_encoder("nvenc")
