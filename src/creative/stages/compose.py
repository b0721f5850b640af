"""Compose stage: the ads of every variant with a background, at every size of the channel."""

from __future__ import annotations

import logging
from pathlib import Path

from creative.core.errors import LayoutError
from creative.core.models import AdRecord
from creative.render.compose import compose_run
from creative.render.files import ad_name_pattern
from creative.run.context import RunContext
from creative.run.runlog import RunLog

log = logging.getLogger(__name__)


def variants_to_compose(ctx: RunContext) -> list[int]:
    """The variants this command works on whose background is on disk, in order."""
    wanted = ctx.targets
    return [p.variant for p in ctx.prompts.variants
            if (wanted is None or p.variant in wanted) and ctx.folder.background(p.variant).is_file()]


def run(ctx: RunContext) -> None:
    variants = variants_to_compose(ctx)
    name_id = ctx.name_id or ctx.run_id
    detail = f"{len(variants)} variants × {len(ctx.channel.sizes)} sizes"
    had_ads = ctx.folder.ads.is_dir() and any(ctx.folder.ads.iterdir())
    with ctx.stage("compose", f"{ctx.channel_name}: {detail}" if ctx.name_id else detail):
        try:
            if ctx.composer is not None:
                ads = ctx.composer.finish(variants)
            else:
                ads = compose_run(ctx.folder, name_id, ctx.brief, ctx.prompts, ctx.channel, ctx.settings.brand_dir,
                                  variants=variants)
        except LayoutError as exc:
            if had_ads:  # every ad or none is written: say so, a marketer may fear for the old ones
                exc.hint = " ".join(filter(None, [exc.hint, "The run's existing ads were left unchanged."]))
            raise
        replace_ads(ctx.runlog, ads, variants, name_id)
        for ad in ads:
            for warning in ad.warnings:
                ctx.reporter.warn(f"v{ad.variant:02d} {ad.width}x{ad.height}: {warning}")


def replace_ads(runlog: RunLog, ads: list[AdRecord], variants: list[int], name_id: str) -> None:
    """Put the new ads on their variants, keeping ads written under other names (other channels)."""
    prefix = f"{name_id}_"
    for number in variants:
        record = runlog.variant(number)
        others = [ad for ad in record.ads if not Path(ad.path).name.startswith(prefix)]
        record.ads = [ad for ad in ads if ad.variant == number] + others


def prune(ctx: RunContext) -> None:
    """Delete this run's ad files that its runlog no longer lists; other files in ads/ stay."""
    name_id = ctx.name_id or ctx.run_id
    pattern = ad_name_pattern(name_id)
    kept = {Path(ad.path).name for v in ctx.runlog.variants for ad in v.ads}
    ads_dir = ctx.folder.ads
    for path in sorted(ads_dir.iterdir()) if ads_dir.is_dir() else []:
        if path.is_file() and pattern.fullmatch(path.name) and path.name not in kept:
            path.unlink()
            log.info("removed stale ad %s", path.name)
