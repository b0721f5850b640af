"""A process killed mid-export leaves .part/.tmp files; the next write into that folder removes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from PIL import Image

from creative.core.atomic import remove_stale_partials, write_atomic
from creative.render.encoders import EncoderChoice
from creative.render.video import VideoJob, encode_videos

W, H, FPS = 180, 320, 30


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_partials_of_dead_writers_are_removed(tmp_path):
    dead, live = dead_pid(), os.getpid()
    stale = [tmp_path / f".v01.mp4.{dead}.k2j4h_x.part", tmp_path / f".runlog.json.{dead}.abc123.tmp"]
    kept = [tmp_path / f".v02.mp4.{live}.q9w8e7.part", tmp_path / "v03.mp4", tmp_path / "notes.part"]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert sorted(remove_stale_partials(tmp_path)) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)


def test_atomic_write_names_its_temp_file_with_our_pid(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (seen.append(Path(src).name), real_replace(src, dst)))
    write_atomic(tmp_path / "a.json", "{}")
    assert seen and seen[0].startswith(f".a.json.{os.getpid()}.") and seen[0].endswith(".tmp")


# A child that starts an export whose "ffmpeg" never finishes, so it can be killed mid-encode.
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from creative.render.encoders import EncoderChoice
    from creative.render.video import VideoJob, encode_video
    folder = Path(sys.argv[1])
    job = VideoJob(1, folder / "bg.png", folder / "ov.png", folder / "out" / "v01.mp4", 180, 320, 1, 30)
    encode_video(job, encoder=EncoderChoice("libx264", "test"), runner=lambda args: time.sleep(600))
""")


def test_export_killed_mid_encode_leaves_no_part_file_after_the_next_export(tmp_path):
    Image.new("RGB", (W, H), (40, 90, 160)).save(tmp_path / "bg.png")
    Image.new("RGBA", (W, H), (0, 0, 0, 0)).save(tmp_path / "ov.png")
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while not list(out.glob(".*.part")) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    left = list(out.glob(".*.part"))
    assert len(left) == 1 and f".{child.pid}." in left[0].name  # what the kill left behind

    job = VideoJob(2, tmp_path / "bg.png", tmp_path / "ov.png", out / "v02.mp4", W, H, 1, FPS)
    [result] = encode_videos([job], encoder=EncoderChoice("libx264", "test"))
    assert result.ok, result.error
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                            "-of", "csv=p=0", str(out / "v02.mp4")], capture_output=True, text=True)
    assert f"h264,{W},{H}" in probe.stdout
    assert sorted(p.name for p in out.iterdir()) == ["v02.mp4"]


def test_interrupted_export_kills_its_ffmpegs_and_leaves_no_part_file(tmp_path):
    import threading

    import pytest

    Image.new("RGB", (W, H), (40, 90, 160)).save(tmp_path / "bg.png")
    Image.new("RGBA", (W, H), (0, 0, 0, 0)).save(tmp_path / "ov.png")
    out = tmp_path / "out"
    # Long clips: each encode takes far longer than the test waits before pressing Ctrl-C.
    jobs = [VideoJob(n, tmp_path / "bg.png", tmp_path / "ov.png", out / f"v{n:02d}.mp4", W, H, 600, FPS)
            for n in range(1, 4)]
    main = threading.main_thread().ident

    def press_ctrl_c_once_encoding() -> None:
        deadline = time.monotonic() + 30
        while not list(out.glob(".*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # ffmpeg is running and writing
        signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=press_ctrl_c_once_encoding, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        encode_videos(jobs, encoder=EncoderChoice("libx264", "test"), workers=2)
    assert list(out.iterdir()) == []  # no .part file, no half MP4, no later job started
    ffmpegs = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout.split()
    assert ffmpegs == []
