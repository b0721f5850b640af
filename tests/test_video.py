"""Video ads: the exact ffmpeg graph, real encodes checked with ffprobe, parallel atomic output."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageDraw, ImageFilter

from creative.render.encoders import EncoderChoice
from creative.core.errors import ExportError
from creative.core.models import Channel
from creative.render.video import (
    VideoJob,
    build_video_command,
    encode_videos,
    frame_count,
    is_faststart,
    mp4_top_level_boxes,
    push_in_corners,
)

ROOT = Path(__file__).resolve().parents[1]
X264 = EncoderChoice("libx264", "test")
W, H, SECONDS, FPS = 360, 640, 2, 30
BLOB = (60, 80)  # a bright dot on the background, far from the centre so the push-in moves it
STRIPES = (40, 400, 320, 440)  # overlay box of 4 px black/white bars: blurs or moves are visible
RED = (230, 30, 60)
RED_BOX = (200, 500, 320, 580)

PERSPECTIVE = (
    "perspective=eval=frame:interpolation=cubic:sense=source:"
    "x0=W*(1-1/(1+0.001016949153*(in-1)))/2:x1=W-W*(1-1/(1+0.001016949153*(in-1)))/2:"
    "x2=W*(1-1/(1+0.001016949153*(in-1)))/2:x3=W-W*(1-1/(1+0.001016949153*(in-1)))/2:"
    "y0=H*(1-1/(1+0.001016949153*(in-1)))/2:y1=H*(1-1/(1+0.001016949153*(in-1)))/2:"
    "y2=H-H*(1-1/(1+0.001016949153*(in-1)))/2:y3=H-H*(1-1/(1+0.001016949153*(in-1)))/2"
)
EXPECTED_X264 = [
    "ffmpeg",
    "-framerate", "30", "-i", "in/bg.png",
    "-i", "in/ov.png",
    "-f", "lavfi", "-t", "2", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000",
    "-filter_complex",
    "[0:v]scale=360:640:flags=lanczos:force_original_aspect_ratio=increase[s0];"
    "[s0]crop=360:640[s1];[s1]setsar=1[s2];"
    "[s2]scale=out_color_matrix=bt709:out_range=tv[s3];[s3]format=yuv420p[s4];"
    "[s4]loop=loop=59:size=1:start=0[s5];[s5]settb=1/30[s6];[s6]setpts=N[s7];"
    f"[s7]{PERSPECTIVE}[s8];"
    "[1:v]scale=out_color_matrix=bt709:out_range=tv[s9];[s9]format=yuva420p[s10];"
    "[s8][s10]overlay=eof_action=repeat:format=yuv420:x=0:y=0[s11]",
    "-map", "[s11]", "-map", "2:a",
    "-f", "mp4", "-ac", "2", "-ar", "48000", "-b:a", "128k", "-c:a", "aac", "-c:v", "libx264",
    "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-crf", "18",
    "-map_metadata", "-1", "-movflags", "+faststart", "-pix_fmt", "yuv420p", "-preset", "medium",
    "-profile:v", "high", "-r", "30", "-t", "2",
    "out/v01.mp4",
    "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
]  # fmt: skip


def command(**overrides: object) -> list[str]:
    kwargs: dict = dict(width=W, height=H, duration_s=SECONDS, fps=FPS, encoder="libx264") | overrides
    return build_video_command(Path("in/bg.png"), Path("in/ov.png"), Path("out/v01.mp4"), **kwargs)


# --- the pure graph -------------------------------------------------------------------------


def test_build_video_command_is_exact():
    assert command() == EXPECTED_X264


def test_nvenc_threads_and_binary_change_only_their_arguments():
    args = command(encoder="h264_nvenc", threads=2, ffmpeg_bin="/opt/ffmpeg")
    assert args[0] == "/opt/ffmpeg"
    i = args.index("-c:v")
    assert args[i + 1] == "h264_nvenc"
    for flag, value in [("-preset", "p5"), ("-tune", "hq"), ("-rc", "vbr"), ("-cq", "19"), ("-b:v", "0"),
                        ("-threads", "2"), ("-profile:v", "high")]:  # fmt: skip
        assert args[args.index(flag) + 1] == value
    assert "-crf" not in args
    assert args[args.index("-filter_complex") + 1] == EXPECTED_X264[EXPECTED_X264.index("-filter_complex") + 1]


def test_channel_duration_and_fps_drive_frames_and_length():
    channels = yaml.safe_load((ROOT / "templates/channels.yaml").read_text())
    for name, frames in [("meta_reels", 180), ("tiktok", 270)]:
        channel = Channel.model_validate(channels[name])
        job = VideoJob.for_channel(channel, channel.sizes[0], variant=1, background=Path("b.png"),
                                   overlay=Path("o.png"), out=Path("v.mp4"))  # fmt: skip
        assert (job.width, job.height, job.fps) == (1080, 1920, 30)
        args = build_video_command(job.background, job.overlay, job.out, width=job.width, height=job.height,
                                   duration_s=job.duration_s, fps=job.fps, encoder="libx264")  # fmt: skip
        assert frame_count(job.duration_s, job.fps) == frames
        assert f"loop=loop={frames - 1}:size=1" in args[args.index("-filter_complex") + 1]
        end = args.index("v.mp4")
        assert args[end - 2 : end] == ["-t", str(job.duration_s)]
    with pytest.raises(ExportError, match="no video settings"):
        static = Channel.model_validate(channels["meta_static"])
        VideoJob.for_channel(static, static.sizes[0], variant=1, background=Path("b"), overlay=Path("o"),
                             out=Path("v"))  # fmt: skip


def test_bad_sizes_and_encoders_are_refused():
    with pytest.raises(ExportError, match="must be even"):
        command(width=361)
    with pytest.raises(ExportError, match="unsupported video encoder"):
        command(encoder="libx265")


def test_push_in_goes_from_1_to_1_06_at_the_centre():
    frames = 180
    corners = push_in_corners(frames)

    def at(expr: str, n: int) -> float:  # `in` counts from 1 in ffmpeg's perspective filter
        return eval(expr.replace("in", str(n + 1)), {}, {"W": 1080.0, "H": 1920.0})  # noqa: S307

    assert at(corners["x0"], 0) == 0 and at(corners["y3"], 0) == 1920
    width_last = at(corners["x1"], frames - 1) - at(corners["x0"], frames - 1)
    assert math.isclose(1080 / width_last, 1.06, rel_tol=1e-9)
    assert math.isclose(at(corners["x0"], 90) + at(corners["x1"], 90), 1080)  # centred


# --- MP4 box parsing ------------------------------------------------------------------------


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_mp4_boxes_parse_32_bit_64_bit_and_to_end(tmp_path: Path):
    big = struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + b"abcd"
    path = tmp_path / "a.mp4"
    path.write_bytes(box(b"ftyp", b"isom") + box(b"moov", b"x" * 10) + big + struct.pack(">I4s", 0, b"free") + b"zz")
    assert mp4_top_level_boxes(path) == [("ftyp", 12), ("moov", 18), ("mdat", 20), ("free", 10)]
    assert is_faststart(path)
    path.write_bytes(box(b"ftyp") + box(b"mdat", b"data") + box(b"moov"))
    assert not is_faststart(path)
    path.write_bytes(box(b"ftyp") + struct.pack(">I4s", 3, b"moov"))
    with pytest.raises(ExportError, match="corrupt MP4 box"):
        mp4_top_level_boxes(path)


# --- real encodes ---------------------------------------------------------------------------


def make_inputs(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bg = Image.new("RGB", (W, H), (20, 24, 30))
    draw = ImageDraw.Draw(bg)
    x, y = BLOB
    draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=(255, 255, 255))
    bg = bg.filter(ImageFilter.GaussianBlur(2.5))  # smooth blob: its centroid is sub-pixel accurate
    overlay = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = STRIPES
    for i, sx in enumerate(range(left, right, 4)):
        draw.rectangle((sx, top, sx + 3, bottom - 1), fill=(255, 255, 255, 255) if i % 2 else (0, 0, 0, 255))
    draw.rectangle((RED_BOX[0], RED_BOX[1], RED_BOX[2] - 1, RED_BOX[3] - 1), fill=(*RED, 255))
    bg.save(folder / "bg.png")
    overlay.save(folder / "overlay.png")
    return folder / "bg.png", folder / "overlay.png"


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def luma_frames(path: Path) -> list[bytes]:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    size = W * H
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def centroid(frame: bytes, cx: float, cy: float, radius: int = 14) -> tuple[float, float]:
    total = sx = sy = 0.0
    for y in range(int(cy) - radius, int(cy) + radius + 1):
        for x in range(int(cx) - radius, int(cx) + radius + 1):
            weight = max(0, frame[y * W + x] - 40)
            total, sx, sy = total + weight, sx + weight * x, sy + weight * y
    return sx / total, sy / total


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("video")
    bg, overlay = make_inputs(folder)
    job = VideoJob(1, bg, overlay, folder / "out" / "v01.mp4", W, H, SECONDS, FPS)
    [result] = encode_videos([job], encoder=X264)
    assert result.ok, result.error
    return result.path


def test_stream_format_matches_platform_specs(encoded: Path):
    info = ffprobe(encoded)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1
    v, a = video[0], audio[0]
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (v["width"], v["height"]) == (W, H)
    assert v["r_frame_rate"] == "30/1" and v["avg_frame_rate"] == "30/1"
    assert int(v["nb_frames"]) == SECONDS * FPS
    assert v.get("color_space") == "bt709"
    assert (a["codec_name"], a["channels"], a["sample_rate"]) == ("aac", 2, "48000")
    for duration in (info["format"]["duration"], v["duration"], a["duration"]):
        assert abs(float(duration) - SECONDS) < 1 / FPS


def test_moov_before_mdat(encoded: Path):
    kinds = [kind for kind, _ in mp4_top_level_boxes(encoded)]
    assert kinds[0] == "ftyp"
    assert kinds.index("moov") < kinds.index("mdat")


def test_push_in_is_smooth_and_overlay_stays_sharp(encoded: Path):
    frames = luma_frames(encoded)
    assert len(frames) == SECONDS * FPS
    x0, y0 = centroid(frames[0], *BLOB)
    assert abs(x0 - BLOB[0]) < 0.3 and abs(y0 - BLOB[1]) < 0.3  # first frame is not zoomed
    last = len(frames) - 1
    track = []
    for n, frame in enumerate(frames):
        zoom = 1 + 0.06 * n / last
        ex, ey = W / 2 + zoom * (x0 - W / 2), H / 2 + zoom * (y0 - H / 2)
        x, y = centroid(frame, ex, ey)
        assert math.hypot(x - ex, y - ey) < 0.3, f"frame {n}: dot at {x:.2f},{y:.2f}, expected {ex:.2f},{ey:.2f}"
        track.append((x, y))
    # Every frame moves by about the same amount: no whole-pixel snapping, no repeated frames.
    expected_step = math.hypot(0.06 / last * (x0 - W / 2), 0.06 / last * (y0 - H / 2))
    steps = [math.dist(a, b) for a, b in zip(track, track[1:])]
    assert max(abs(s - expected_step) for s in steps) < 0.5 * expected_step, steps
    assert math.dist(track[0], track[-1]) > 10  # the background really moved

    # The overlay bars are identical in every frame, with full contrast.
    left, top, right, bottom = STRIPES
    row = (top + bottom) // 2

    def bars(frame: bytes) -> bytes:
        return frame[row * W + left : row * W + right]

    first = bars(frames[0])
    for frame in (frames[len(frames) // 2], frames[-1]):
        assert max(abs(a - b) for a, b in zip(first, bars(frame))) <= 12
    centres = [first[i + 1 : i + 3] for i in range(0, right - left, 4)]
    assert all(max(c) < 40 for c in centres[0::2]) and all(min(c) > 215 for c in centres[1::2])


def test_colours_use_bt709(encoded: Path):
    rgb = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(encoded), "-frames:v", "1",
         "-vf", "scale=in_color_matrix=bt709:in_range=tv,format=rgb24", "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    image = Image.frombytes("RGB", (W, H), rgb)
    left, top, right, bottom = RED_BOX
    pixel = image.getpixel(((left + right) // 2, (top + bottom) // 2))
    assert all(abs(c - e) <= 4 for c, e in zip(pixel, RED)), pixel


def test_channel_durations_are_exact_in_real_encodes(tmp_path: Path):
    # The channel's duration and fps at a quarter of the pixels: only the timing is checked here.
    w, h = W // 2, H // 2
    bg, overlay = tmp_path / "bg.png", tmp_path / "overlay.png"
    Image.new("RGB", (w, h), (20, 24, 30)).save(bg)
    Image.new("RGBA", (w, h), (0, 0, 0, 0)).save(overlay)
    channels = yaml.safe_load((ROOT / "templates/channels.yaml").read_text())
    jobs = []
    for n, name in enumerate(["meta_reels", "tiktok"], start=1):
        video = Channel.model_validate(channels[name]).video
        jobs.append(VideoJob(n, bg, overlay, tmp_path / f"{name}.mp4", w, h, video.duration_s, video.fps))
    for job, result in zip(jobs, encode_videos(jobs, encoder=X264, workers=2)):
        assert result.ok, result.error
        info = ffprobe(job.out)
        [v] = [s for s in info["streams"] if s["codec_type"] == "video"]
        assert int(v["nb_frames"]) == round(job.duration_s * job.fps)
        assert v["r_frame_rate"] == v["avg_frame_rate"] == f"{job.fps}/1"
        for stream in info["streams"]:
            assert abs(float(stream["duration"]) - job.duration_s) < 1 / job.fps
        assert abs(float(info["format"]["duration"]) - job.duration_s) < 1 / job.fps


def test_failed_variant_does_not_fail_others_and_writes_atomically(tmp_path: Path):
    bg, overlay = make_inputs(tmp_path / "in")
    square = tmp_path / "in" / "square.png"
    Image.new("RGB", (500, 500), (200, 100, 50)).save(square)  # cover-scaled and cropped
    broken = tmp_path / "in" / "broken.png"
    broken.write_bytes(b"not a png")
    small = tmp_path / "in" / "small_overlay.png"
    Image.new("RGBA", (W // 2, H // 2)).save(small)
    out = tmp_path / "video"
    out.mkdir()
    (out / "v02.mp4").write_bytes(b"previous good file")
    jobs = [
        VideoJob(1, square, overlay, out / "v01.mp4", W, H, 1, FPS),
        VideoJob(2, broken, overlay, out / "v02.mp4", W, H, 1, FPS),
        VideoJob(3, bg, small, out / "v03.mp4", W, H, 1, FPS),
    ]
    results = encode_videos(jobs, encoder=X264, workers=2)
    assert [r.variant for r in results] == [1, 2, 3]
    assert results[0].ok and results[0].bytes == (out / "v01.mp4").stat().st_size
    assert ffprobe(out / "v01.mp4")["streams"][0]["width"] == W
    assert not results[1].ok and "ffmpeg failed (libx264)" in (results[1].error or "")
    assert (out / "v02.mp4").read_bytes() == b"previous good file"  # never half-replaced
    assert not results[2].ok and "overlay small_overlay.png is 180x320" in (results[2].error or "")
    assert sorted(p.name for p in out.iterdir()) == ["v01.mp4", "v02.mp4"]  # no temp files left


def test_missing_ffmpeg_fails_each_variant_with_a_reason(tmp_path: Path):
    bg, overlay = make_inputs(tmp_path)
    choice = EncoderChoice("libx264", "test", ffmpeg="/nonexistent/ffmpeg")
    [result] = encode_videos([VideoJob(1, bg, overlay, tmp_path / "v.mp4", W, H, 1, FPS)], encoder=choice)
    assert not result.ok and "ffmpeg not found: '/nonexistent/ffmpeg'" in (result.error or "")


class FakeEncoder:
    """Runner that writes a tiny faststart MP4 after a delay and records how many run at once."""

    def __init__(self, fail_encoder: str | None = None, delay: float = 0.2):
        self.fail_encoder, self.delay = fail_encoder, delay
        self.running = self.peak = 0
        self.encoders: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        encoder = args[list(args).index("-c:v") + 1]
        with self.lock:
            self.encoders.append(encoder)
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.delay)
        with self.lock:
            self.running -= 1
        if encoder == self.fail_encoder:
            return subprocess.CompletedProcess(args, 1, "", "[h264_nvenc @ 0x1] OpenEncodeSessionEx failed\n")
        [out] = [a for a in args if a.endswith(".part")]
        Path(out).write_bytes(box(b"ftyp") + box(b"moov") + box(b"mdat", b"x"))
        return subprocess.CompletedProcess(args, 0, "", "")


def test_variants_run_in_parallel_up_to_workers(tmp_path: Path):
    bg, overlay = make_inputs(tmp_path)
    jobs = [VideoJob(n, bg, overlay, tmp_path / f"v{n}.mp4", W, H, 1, FPS) for n in range(1, 6)]
    runner = FakeEncoder()
    results = encode_videos(jobs, encoder=X264, workers=2, runner=runner)
    assert all(r.ok for r in results) and runner.peak == 2


def test_nvenc_failure_is_retried_with_x264(tmp_path: Path):
    bg, overlay = make_inputs(tmp_path)
    runner = FakeEncoder(fail_encoder="h264_nvenc", delay=0)
    nvenc = EncoderChoice("h264_nvenc", "test")
    [result] = encode_videos([VideoJob(1, bg, overlay, tmp_path / "v.mp4", W, H, 1, FPS)], encoder=nvenc, runner=runner)
    assert result.ok and result.encoder == "libx264"
    assert runner.encoders == ["h264_nvenc", "libx264"]
