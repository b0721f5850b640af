"""`creative batch`: ads for every product of a feed, and `creative batch resume` for a stopped batch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from creative.core.config import Settings
from creative.core.errors import InputError
from creative.core.progress import Reporter
from creative.research.feeds import parse_feed, read_feed
from creative.run.batch import BatchState, load, new_state, run_batch, save
from creative.run.folder import BatchFolder, RunsRoot


@dataclass
class BatchRequest:
    feed: str
    channel: str
    limit: int | None = None
    only: list[str] = field(default_factory=list)
    offer: str | None = None
    variants: int | None = None
    store_url: str | None = None  # a Shopify products.json read from a file: the store's address


def start(request: BatchRequest, settings: Settings, reporter: Reporter) -> tuple[BatchFolder, BatchState]:
    """Read the feed, record the batch, and run its products."""
    data = read_feed(request.feed, timeout_s=settings.research.timeout_s)
    feed = parse_feed(data, request.feed, store_url=request.store_url)
    items = feed.items
    if request.only:
        unknown = sorted(set(request.only) - {i.id for i in items} - {s.id for s in feed.skipped})
        if unknown:
            raise InputError(f"{request.feed}: no product with id {', '.join(unknown)}",
                             hint="--only takes the feed's product ids")
        items = [i for i in items if i.id in set(request.only)]
    if request.limit is not None:
        items = items[:request.limit]
    skipped = [{"id": s.id, "where": s.where, "reason": s.reason} for s in feed.skipped]
    for s in skipped:
        reporter.warn(f"skipped {s['id']} ({s['where']}): {s['reason']}")
    if not items:
        raise InputError(f"{request.feed}: no product left to make ads for ({len(skipped)} skipped)")
    folder = RunsRoot(settings.paths.runs_dir).create_batch(time.strftime("%Y%m%d-%H%M%S") + "-batch")
    state = new_state(folder, request.feed, feed.format, request.channel, items, skipped, request.offer,
                      request.variants)
    save(folder, state)
    reporter.info(f"batch {folder.path}: {len(items)} products from a {feed.format} feed")
    return folder, run_batch(folder, state, settings, reporter)


def resume(batch_dir: Path, settings: Settings, reporter: Reporter) -> tuple[BatchFolder, BatchState]:
    """Run the products a killed or cancelled batch did not finish."""
    folder = BatchFolder(Path(batch_dir).resolve())
    state = load(folder)
    left = [p for p in state.products if p.status not in ("ok", "partial")]
    reporter.info(f"batch {folder.path}: {len(left)} of {len(state.products)} products left")
    return folder, run_batch(folder, state, settings, reporter)
