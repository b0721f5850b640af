"""`creative export RUN_DIR --channel X`: a finished run's backgrounds laid out again for another channel.

No generation and no cost. The rule for which sizes the existing backgrounds can serve:
a background serves a size when cover-cropping it to that size keeps at least MIN_COVER (70%)
of its area. For background aspect a and size aspect t (width / height) the kept share is
min(a, t) / max(a, t), so 4:5 backgrounds serve 1:1 (80%) and 9:16 (72%) but not 1.91:1 (41%).

Sizes that can be served are exported into the same run folder, named with
`<run_id>-<channel>` in place of the run id so they never overwrite the run's own files:
ads/<run_id>-<channel>_v01_<concept>_<W>x<H>.jpg and, for video channels, video/....mp4.
Sizes that cannot be served are not rendered at all; the command then exits 2 naming them
(they need backgrounds generated at their aspect). When no size can be served nothing is written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from creative.brand.kit import load_channels
from creative.render.compose import background_path, compose_run
from creative.core.config import Settings
from creative.core.errors import EXIT_BAD_INPUT, CreativeError, InputError
from creative.core.models import AdSize, Channel
from creative.pipeline import RunResult, finish_run, guarded_run, ledger_for, report_stage, resolve_channel
from creative.core.progress import Reporter
from creative.rerun import open_run
from creative.core.text import slugify
from creative.video_stage import export_stage

log = logging.getLogger(__name__)

MIN_COVER = 0.70


def cover_fraction(bg_width: int, bg_height: int, width: int, height: int) -> float:
    """Share of a bg_width x bg_height background that a cover-crop to width x height keeps."""
    a, t = bg_width / bg_height, width / height
    return min(a, t) / max(a, t)


@dataclass(frozen=True)
class SizeCheck:
    size: AdSize
    worst: float  # lowest kept share over the run's backgrounds

    @property
    def ok(self) -> bool:
        return self.worst >= MIN_COVER


def check_sizes(backgrounds: list[tuple[int, int]], channel: Channel) -> list[SizeCheck]:
    """Each of the channel's sizes with the worst cover share over the given background sizes."""
    return [SizeCheck(size, min(cover_fraction(w, h, size.width, size.height) for w, h in backgrounds))
            for size in channel.sizes]


def _describe(checks: list[SizeCheck]) -> str:
    return ", ".join(f"{c.size.label} (keeps {c.worst:.0%})" for c in checks)


def reexport(run_dir: Path, channel_name: str, settings: Settings, reporter: Reporter) -> RunResult:
    """Export an existing run for another channel from its backgrounds; see the module docstring."""
    run = open_run(run_dir, settings, reporter)
    ctx, runlog = run.ctx, run.ctx.runlog
    channel = resolve_channel(load_channels(settings.templates_dir / "channels.yaml"), channel_name)
    if channel_name == run.brief.channel:
        raise InputError(f"{run_dir} is already a {channel_name} run",
                         hint=f"use `creative compose {run_dir}` to re-render its own ads")
    numbers, sizes = [], []
    for record in runlog.variants:
        path = background_path(ctx.run_dir, record.variant)
        if record.status == "ok" and path.is_file():
            with Image.open(path) as im:
                sizes.append(im.size)
            numbers.append(record.variant)
    if not numbers:
        raise InputError(f"{run_dir}: no variant has a background to export", hint=f"`creative resume {run_dir}` first")
    checks = check_sizes(sizes, channel)
    servable = [c for c in checks if c.ok]
    missing = [c for c in checks if not c.ok]
    hint = (f"generate backgrounds at that aspect: creative run --brief {ctx.run_dir / 'brief.md'} --channel {channel_name}"
            f" (a background serves a size when cover-cropping keeps at least {MIN_COVER:.0%} of it)")
    if not servable:
        raise InputError(f"{channel_name}: no size can be cut from this run's backgrounds: {_describe(missing)}", hint=hint)

    target = channel.model_copy(update={"sizes": [c.size for c in servable]})
    name_id = f"{runlog.run_id}-{slugify(channel_name, fallback='channel')}"
    entry = {"time": time.time(), "action": "export", "channel": channel_name,
             "sizes": [c.size.label for c in servable], "skipped": [c.size.label for c in missing]}
    runlog.history.append(entry)
    before = (runlog.status, runlog.exit_code, runlog.message)
    try:
        with guarded_run(ctx, ledger_for(settings), settings):
            with ctx.stage("compose", f"{channel_name}: {len(numbers)} variants × {len(servable)} sizes"):
                ads = compose_run(ctx.run_dir, name_id, run.brief, run.prompts, target, settings.brand_dir, variants=numbers)
                paths = {ad.path for ad in ads}
                for record in runlog.variants:
                    record.ads = [a for a in record.ads if a.path not in paths] + [a for a in ads if a.variant == record.variant]
            export_stage(ctx, run.brief, run.prompts, target, settings, numbers, name_id=name_id)
            all_ads = [ad for record in runlog.variants for ad in record.ads]
            report_stage(ctx, run.brief, run.prompts, all_ads, settings.brand_dir)
            result = finish_run(ctx)
            result.message = f"exported {channel_name} ({', '.join(entry['sizes'])}): {result.message}"
    except CreativeError as exc:
        # A failed export of another channel does not make the run itself failed.
        runlog.status, runlog.exit_code, runlog.message = before
        entry["error"] = exc.message
        ctx.save()
        raise
    if missing:
        result.exit_code = max(result.exit_code, EXIT_BAD_INPUT)
        result.message = (f"{result.message}; {channel_name} sizes that need new backgrounds (not written): "
                          f"{_describe(missing)}. {hint}")
    log.info("exported %s: %s", channel_name, entry)
    return result
