"""Export stage: one MP4 per variant and size, for channels with video.

Each video is the variant's background (slow push-in) under its typography, which is rendered
once as a transparent layer (typography.render_overlay) and kept as a hidden PNG beside the MP4.
A failed encode fails only its variant; a missing ffmpeg fails the stage (ExportError).
"""

from __future__ import annotations

import io
import itertools
import logging
from pathlib import Path

from PIL import Image

from creative.brand.kit import load_layout
from creative.core.atomic import write_atomic
from creative.core.errors import CreativeError, ExportError
from creative.core.models import VideoRecord
from creative.render.encoders import Runner, choose_encoder
from creative.render.files import ad_filename
from creative.render.typography import render_overlay
from creative.render.video import VideoJob, VideoResult, encode_videos
from creative.run.context import RunContext
from creative.run.runlog import sha256_file
from creative.stages.compose import variants_to_compose

log = logging.getLogger(__name__)


def overlay_path(video: Path) -> Path:
    """The hidden typography layer kept beside a video: video/.<name>.overlay.png."""
    return video.parent / f".{video.stem}.overlay.png"


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    # Fast compression: the layer is an intermediate, mostly transparent, rewritten on every export.
    image.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def build_jobs(ctx: RunContext, variants: list[int]) -> tuple[list[VideoJob], dict[int, str]]:
    """Render and save each overlay, and return the encode jobs plus variants that could not be prepared."""
    brand, brand_dir, channel = ctx.brand, ctx.settings.brand_dir, ctx.channel
    name_id = ctx.name_id or ctx.run_id
    concepts = {c.name: c for c in ctx.brief.concepts}
    by_number = {p.variant: p for p in ctx.prompts.variants}
    layouts: dict = {}
    jobs: list[VideoJob] = []
    failed: dict[int, str] = {}
    for number in variants:
        prompt = by_number.get(number)
        concept = concepts.get(prompt.concept) if prompt else None
        bg = ctx.folder.background(number)
        try:
            if concept is None:
                raise ExportError(f"variant {number}: no scene prompt or no concept of that name in the brief")
            with Image.open(bg) as im:
                background = im.convert("RGB")
            for size in channel.sizes:
                if size.layout not in layouts:
                    layouts[size.layout] = load_layout(brand_dir, size.layout, brand)
                layer = render_overlay(background, concept, brand, brand_dir, layouts[size.layout], size, channel.safe_zone)
                out = ctx.folder.video / ad_filename(name_id, number, concept.name, size.width, size.height, "mp4")
                write_atomic(overlay_path(out), _png(layer.image))
                jobs.append(VideoJob.for_channel(channel, size, variant=number, background=bg,
                                                 overlay=overlay_path(out), out=out))
        except (CreativeError, OSError) as exc:
            # One variant's bad inputs must not stop the others' videos.
            failed[number] = getattr(exc, "message", None) or str(exc)
            jobs = [j for j in jobs if j.variant != number]
    return jobs, failed


def run(ctx: RunContext, *, runner: Runner | None = None, workers: int | None = None) -> list[VideoRecord]:
    """Encode the videos of the variants composed, when the channel has video.

    Records the encoder (name and why) on the runlog and each video on its variant; a variant
    whose video fails is marked failed with the reason. Does nothing, and records no stage, for
    channels without video.
    """
    channel = ctx.channel
    if channel.video is None:
        return []
    variants = variants_to_compose(ctx)
    detail = f"{len(variants)} variants × {len(channel.sizes)} sizes, {channel.video.duration_s:g} s clips"
    with ctx.stage("export", detail):
        probe = {"runner": runner} if runner else {}
        choice = choose_encoder(ctx.settings.encoder, ffmpeg=ctx.settings.ffmpeg, **probe)
        ctx.runlog.encoder = {"name": choice.name, "reason": choice.reason}
        ctx.reporter.info(f"video encoder: {choice.name} ({choice.reason})")
        jobs, failed = build_jobs(ctx, variants)
        done = itertools.count(1)

        def progress(result: VideoResult) -> None:
            state = result.path.name if result.ok and result.path else f"v{result.variant:02d} failed"
            ctx.reporter.info(f"video {next(done)} of {len(jobs)}: {state}")

        results = encode_videos(jobs, encoder=choice, workers=workers, on_done=progress, **probe)
        records = _record(ctx, jobs, results, failed)
    return records


def _record(ctx: RunContext, jobs: list[VideoJob], results: list[VideoResult],
            failed: dict[int, str]) -> list[VideoRecord]:
    errors: dict[int, list[str]] = {n: [f"video: {msg}"] for n, msg in failed.items()}
    records: list[VideoRecord] = []
    for job, result in zip(jobs, results):
        if not result.ok or result.path is None:
            errors.setdefault(job.variant, []).append(f"video {job.width}x{job.height}: {result.error}")
            continue
        records.append(VideoRecord(
            variant=job.variant, width=job.width, height=job.height, path=ctx.folder.relative(result.path),
            bytes=result.bytes, sha256=sha256_file(result.path), seconds=round(result.seconds, 3),
            encoder=result.encoder, duration_s=job.duration_s, fps=job.fps,
        ))
    new_paths = {r.path for r in records}
    for variant in ctx.runlog.variants:
        mine = [r for r in records if r.variant == variant.variant]
        if mine:  # same path = re-encoded; other channels' videos stay
            variant.videos = [v for v in variant.videos if v.path not in new_paths] + mine
    for number, messages in errors.items():
        variant = ctx.runlog.variant(number)
        variant.status, variant.error = "failed", "; ".join(messages)
        ctx.reporter.warn(f"v{number:02d}: {variant.error}")
    log.info("%d videos written, %d variants failed", len(records), len(errors))
    return records
