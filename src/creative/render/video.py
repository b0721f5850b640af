"""Video ads: a slow push-in on the background with the typography layer fixed on top.

The ffmpeg graph is built by a pure function (`build_video_command`) so tests can assert it
exactly; `encode_videos` runs one ffmpeg per variant in parallel and writes each MP4 atomically.
"""

from __future__ import annotations

import logging
import os
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from creative.core.atomic import FILE_MODE
from creative.render.encoders import EncoderChoice, EncoderName, Runner, last_line
from creative.core.errors import ExportError
from creative.core.models import AdSize, Channel

log = logging.getLogger(__name__)

ZOOM_END = 1.06
AUDIO_RATE = 48000
ENCODE_TIMEOUT_S = 600.0
PUSH_IN_INTERPOLATION = "cubic"

# Quality settings per encoder: visually clean for ads that platforms will re-encode anyway.
ENCODER_ARGS: dict[str, dict[str, object]] = {
    "libx264": {"preset": "medium", "crf": 18},
    "h264_nvenc": {"preset": "p5", "tune": "hq", "rc": "vbr", "cq": 19, "b:v": 0},
}


@dataclass(frozen=True)
class VideoJob:
    """One variant's video: inputs, output path and the channel's video settings."""

    variant: int
    background: Path
    overlay: Path  # RGBA PNG exactly width x height: the typography layer
    out: Path
    width: int
    height: int
    duration_s: float
    fps: int = 30

    @classmethod
    def for_channel(
        cls, channel: Channel, size: AdSize, *, variant: int, background: Path, overlay: Path, out: Path
    ) -> VideoJob:
        """A job at one of the channel's sizes with its video duration and fps."""
        if channel.video is None:
            raise ExportError("this channel has no video settings", hint="add `video:` to templates/channels.yaml")
        return cls(
            variant, Path(background), Path(overlay), Path(out),
            size.width, size.height, channel.video.duration_s, channel.video.fps,
        )  # fmt: skip


@dataclass(frozen=True)
class VideoResult:
    """Outcome of one variant's encode; a failure carries ffmpeg's reason."""

    variant: int
    ok: bool
    path: Path | None = None
    encoder: str | None = None
    error: str | None = None
    seconds: float = 0.0
    bytes: int = 0


def frame_count(duration_s: float, fps: int) -> int:
    """Frames in the clip: the channel duration rounded to whole frames."""
    return max(1, round(duration_s * fps))


def push_in_corners(frames: int, zoom_end: float = ZOOM_END) -> dict[str, str]:
    """`perspective` corner expressions for a centred zoom from 1.0 to `zoom_end`.

    perspective resamples with sub-pixel precision, so the push-in is smooth; zoompan and crop
    snap the crop window to whole pixels, which shows as jitter on a slow zoom. `in` counts
    input frames from 1, so the first frame is untouched and the last is at `zoom_end`.
    """
    k = (zoom_end - 1.0) / max(frames - 1, 1)  # zoom added per frame
    z = f"(1+{k:.10g}*(in-1))"
    dx, dy = f"W*(1-1/{z})/2", f"H*(1-1/{z})/2"  # inset of the visible window on each side
    return {
        "x0": dx, "y0": dy,
        "x1": f"W-{dx}", "y1": dy,
        "x2": dx, "y2": f"H-{dy}",
        "x3": f"W-{dx}", "y3": f"H-{dy}",
    }  # fmt: skip


def build_video_command(
    background: Path,
    overlay: Path,
    out: Path,
    *,
    width: int,
    height: int,
    duration_s: float,
    fps: int,
    encoder: EncoderName,
    ffmpeg_bin: str = "ffmpeg",
    threads: int | None = None,
) -> list[str]:
    """The full ffmpeg argv for one video ad (pure: reads no files)."""
    import ffmpeg  # ffmpeg-python: only runs that make videos pay for importing it
    if encoder not in ENCODER_ARGS:
        raise ExportError(f"unsupported video encoder '{encoder}'", hint="use libx264 or h264_nvenc")
    if width % 2 or height % 2:  # yuv420p halves chroma in both directions
        raise ExportError(f"video size {width}x{height} must be even", hint="fix the size in templates/channels.yaml")
    frames = frame_count(duration_s, fps)
    bg = (
        # One decoded frame, scaled, cropped and converted once, then repeated: far cheaper than
        # `-loop 1`, which decodes and rescales the image for every frame.
        ffmpeg.input(str(background), framerate=fps)
        .video.filter("scale", width, height, force_original_aspect_ratio="increase", flags="lanczos")
        .filter("crop", width, height)
        .filter("setsar", 1)
        .filter("scale", out_color_matrix="bt709", out_range="tv")
        .filter("format", "yuv420p")
        .filter("loop", loop=frames - 1, size=1, start=0)
        # Exact integer timestamps: setpts truncates, so N/fps/TB turns frame 123 into 121.999 -> 121,
        # a repeated timestamp the CFR output then has to paper over.
        .filter("settb", f"1/{fps}")
        .filter("setpts", "N")
        .filter(
            "perspective",
            sense="source",
            interpolation=PUSH_IN_INTERPOLATION,
            eval="frame",
            **push_in_corners(frames),
        )
    )
    # BT.709 stated explicitly: the converters ffmpeg inserts on its own use BT.601, which
    # shifts brand colours in players that (correctly) read HD video as BT.709.
    text = (
        ffmpeg.input(str(overlay))
        .video.filter("scale", out_color_matrix="bt709", out_range="tv")
        .filter("format", "yuva420p")
    )
    # Overlay after the zoom so the text never moves or resamples; the single overlay frame is
    # repeated by overlay's default eof_action. Blending in YUV equals blending in RGB (both linear).
    video = ffmpeg.overlay(bg, text, x=0, y=0, format="yuv420")
    audio = ffmpeg.input(f"anullsrc=channel_layout=stereo:sample_rate={AUDIO_RATE}", f="lavfi", t=duration_s).audio
    out_args: dict[str, object] = {
        "f": "mp4",
        "c:v": encoder,
        "profile:v": "high",
        "pix_fmt": "yuv420p",
        "r": fps,  # constant frame rate
        "colorspace": "bt709",
        "color_primaries": "bt709",
        "color_trc": "bt709",
        "c:a": "aac",
        "b:a": "128k",
        "ac": 2,
        "ar": AUDIO_RATE,
        "t": duration_s,
        "movflags": "+faststart",
        "map_metadata": -1,
        **ENCODER_ARGS[encoder],
    }
    if threads:
        out_args["threads"] = threads
    stream = ffmpeg.output(video, audio, str(out), **out_args).global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error"
    )
    return stream.compile(cmd=ffmpeg_bin, overwrite_output=True)


def mp4_top_level_boxes(path: Path) -> list[tuple[str, int]]:
    """(type, size) of each top-level MP4 box, in file order."""
    boxes: list[tuple[str, int]] = []
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        pos = 0
        while pos + 8 <= end:
            fh.seek(pos)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:  # 64-bit size follows the type
                (size,) = struct.unpack(">Q", fh.read(8))
            elif size == 0:  # box runs to the end of the file
                size = end - pos
            if size < 8:
                raise ExportError(f"{path.name}: corrupt MP4 box at byte {pos}")
            boxes.append((kind.decode("latin-1"), size))
            pos += size
    return boxes


def is_faststart(path: Path) -> bool:
    """True when `moov` comes before `mdat`, so players can start before the download ends."""
    kinds = [kind for kind, _ in mp4_top_level_boxes(path)]
    return "moov" in kinds and "mdat" in kinds and kinds.index("moov") < kinds.index("mdat")


def check_overlay(job: VideoJob) -> None:
    """Refuse overlays that are not at the video size: scaling would blur the text."""
    try:
        with Image.open(job.overlay) as im:
            size, has_alpha = im.size, "A" in im.getbands() or "transparency" in im.info
    except OSError as exc:
        raise ExportError(f"overlay {job.overlay} cannot be read: {exc}") from exc
    if size != (job.width, job.height):
        raise ExportError(
            f"overlay {job.overlay.name} is {size[0]}x{size[1]}, video is {job.width}x{job.height}",
            hint="render the typography layer at the video size",
        )
    if not has_alpha:
        log.warning("overlay %s has no alpha channel; it will hide the background", job.overlay)


def _default_runner(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, errors="replace", timeout=ENCODE_TIMEOUT_S, check=False
    )


def encode_video(
    job: VideoJob,
    *,
    encoder: EncoderChoice,
    runner: Runner = _default_runner,
    threads: int | None = None,
) -> VideoResult:
    """Encode one variant to a temp file next to `job.out`, then rename. Never raises."""
    started = time.monotonic()
    tmp: Path | None = None
    try:
        check_overlay(job)
        job.out.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=job.out.parent, prefix=f".{job.out.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(name)
        args = build_video_command(
            job.background, job.overlay, tmp,
            width=job.width, height=job.height, duration_s=job.duration_s, fps=job.fps,
            encoder=encoder.name, ffmpeg_bin=encoder.ffmpeg, threads=threads,
        )  # fmt: skip
        log.debug("variant %d: %s", job.variant, " ".join(args))
        try:
            proc = runner(args)
        except FileNotFoundError as exc:
            raise ExportError(f"ffmpeg not found: '{encoder.ffmpeg}'") from exc
        except subprocess.TimeoutExpired as exc:
            raise ExportError(f"ffmpeg timed out after {exc.timeout:.0f} s") from exc
        if proc.returncode != 0:
            raise ExportError(f"ffmpeg failed ({encoder.name}): {last_line(proc.stderr)}")
        if not is_faststart(tmp):
            raise ExportError("encoded MP4 has its moov box after mdat (faststart did not run)")
        with open(tmp, "rb") as fh:  # on disk before the rename, so a crash never leaves a torn MP4
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; deliverables get normal permissions
        os.replace(tmp, job.out)
        tmp = None
        size = job.out.stat().st_size
        seconds = time.monotonic() - started
        log.info("variant %d: %s (%s, %.1f s)", job.variant, job.out.name, encoder.name, seconds)
        return VideoResult(job.variant, True, job.out, encoder.name, None, seconds, size)
    except (ExportError, OSError) as exc:
        message = exc.message if isinstance(exc, ExportError) else str(exc)
        log.info("variant %d: video failed: %s", job.variant, message)  # the export stage reports it
        return VideoResult(job.variant, False, None, encoder.name, message, time.monotonic() - started)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def encode_videos(
    jobs: list[VideoJob],
    *,
    encoder: EncoderChoice,
    workers: int | None = None,
    runner: Runner = _default_runner,
    on_done: Callable[[VideoResult], None] | None = None,
) -> list[VideoResult]:
    """Encode all variants in parallel (up to one ffmpeg per core); results in job order.

    `on_done` is told of each video as it finishes (for progress), from the worker threads.

    A failed encode fails only its variant. An NVENC failure is retried once with libx264,
    since a GPU can pass the probe and still refuse a session (consumer cards cap them).
    """
    if not jobs:
        return []
    cores = os.cpu_count() or 1
    workers = max(1, min(workers or cores, len(jobs)))
    # Split the cores between concurrent ffmpegs instead of letting each spawn one thread per core.
    threads = max(1, cores // workers)

    def one(job: VideoJob) -> VideoResult:
        result = encode_video(job, encoder=encoder, runner=runner, threads=threads)
        if not result.ok and encoder.name == "h264_nvenc":
            log.warning("variant %d: NVENC failed (%s); retrying with libx264", job.variant, result.error)
            fallback = EncoderChoice("libx264", "fallback after NVENC failure", encoder.ffmpeg)
            result = encode_video(job, encoder=fallback, runner=runner, threads=threads)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ffmpeg") as pool:
        return list(pool.map(one, jobs))
