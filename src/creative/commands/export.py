"""`creative export RUN_DIR --channel X`: a finished run's backgrounds laid out again for another channel.

No generation and no cost. A background serves a size when cover-cropping it to that size keeps at
least MIN_COVER (70%) of its area. For background aspect a and size aspect t (width / height) the
kept share is min(a, t) / max(a, t), so 4:5 backgrounds serve 1:1 (80%) and 9:16 (72%) but not
1.91:1 (41%).

Sizes that can be served are exported into the same run folder, named with `<run_id>-<channel>`
in place of the run id so they never overwrite the run's own files. Sizes that cannot be served
are not rendered at all; the command then exits 2 naming them (they need backgrounds generated at
their aspect). When no size can be served nothing is written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from creative.brand.kit import load_channels
from creative.core.config import Settings
from creative.core.errors import EXIT_BAD_INPUT, CreativeError, InputError
from creative.core.models import AdSize, Channel
from creative.core.progress import Reporter
from creative.core.text import slugify
from creative.run.context import RunContext, open_run, resolve_channel
from creative.run.outcome import RunResult, execute
from creative.stages import compose, export, report

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


def _background_sizes(ctx: RunContext) -> tuple[list[int], list[tuple[int, int]]]:
    numbers, sizes = [], []
    for record in ctx.runlog.variants:
        path = ctx.folder.background(record.variant)
        if record.status == "ok" and path.is_file():
            with Image.open(path) as im:
                sizes.append(im.size)
            numbers.append(record.variant)
    return numbers, sizes


def reexport(run_dir: Path, channel_name: str, settings: Settings, reporter: Reporter) -> RunResult:
    """Export an existing run for another channel from its backgrounds; see the module docstring."""
    ctx = open_run(run_dir, settings, reporter)
    runlog = ctx.runlog
    channel = resolve_channel(load_channels(settings.templates_dir / "channels.yaml"), channel_name)
    if channel_name == ctx.brief.channel:
        raise InputError(f"{run_dir} is already a {channel_name} run",
                         hint=f"use `creative compose {run_dir}` to re-render its own ads")
    numbers, sizes = _background_sizes(ctx)
    if not numbers:
        raise InputError(f"{run_dir}: no variant has a background to export", hint=f"`creative resume {run_dir}` first")
    checks = check_sizes(sizes, channel)
    servable = [c for c in checks if c.ok]
    missing = [c for c in checks if not c.ok]
    hint = (f"generate backgrounds at that aspect: creative run --brief {ctx.folder.brief} --channel {channel_name}"
            f" (a background serves a size when cover-cropping keeps at least {MIN_COVER:.0%} of it)")
    if not servable:
        raise InputError(f"{channel_name}: no size can be cut from this run's backgrounds: {_describe(missing)}", hint=hint)

    ctx.channel_name, ctx.channel = channel_name, channel.model_copy(update={"sizes": [c.size for c in servable]})
    ctx.targets, ctx.name_id = numbers, f"{runlog.run_id}-{slugify(channel_name, fallback='channel')}"
    entry = {"time": time.time(), "action": "export", "channel": channel_name,
             "sizes": [c.size.label for c in servable], "skipped": [c.size.label for c in missing]}
    runlog.history.append(entry)
    before = (runlog.status, runlog.exit_code, runlog.message)
    try:
        result = execute(ctx, [compose.run, export.run, report.run])
    except CreativeError as exc:
        # A failed export of another channel does not make the run itself failed.
        runlog.status, runlog.exit_code, runlog.message = before
        entry["error"] = exc.message
        ctx.save()
        raise
    result.message = f"exported {channel_name} ({', '.join(entry['sizes'])}): {result.message}"
    if missing:
        result.exit_code = max(result.exit_code, EXIT_BAD_INPUT)
        result.message = (f"{result.message}; {channel_name} sizes that need new backgrounds (not written): "
                          f"{_describe(missing)}. {hint}")
    log.info("exported %s: %s", channel_name, entry)
    return result
