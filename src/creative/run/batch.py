"""A catalog run: every product of a feed in its own run folder, two at a time, under one budget.

Two products are in flight at once, so one product's backgrounds generate while the other's ads
are drawn and the backends never wait for the composer. Each product reserves its own estimate
under the ledger's lock; when the cap refuses one, no further product starts, the ones done are
kept and the ones not started are listed. `batch.json` records each product's state after each
product, so `creative batch resume` finishes what a killed or cancelled batch left.
"""

from __future__ import annotations

import csv
import ctypes
import io
import logging
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, Field

from creative.core.atomic import write_atomic
from creative.core.config import Settings
from creative.core.errors import BudgetRefused, Cancelled, CreativeError, InputError
from creative.core.progress import Reporter
from creative.render.batch_report import AdRow, write_batch_gallery
from creative.research.feeds import FeedItem, feed_notes
from creative.run.context import RunRequest, ledger_for
from creative.run.folder import BatchFolder, RunFolder
from creative.run.outcome import RunResult, execute
from creative.run.plan import new_run
from creative.stages.full import FULL_RUN

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter
IN_FLIGHT = 2  # products at once: one generating while the other composes
Status = Literal["pending", "ok", "partial", "failed", "refused", "cancelled"]


class BatchProduct(BaseModel):
    id: str
    where: str
    item: dict
    status: Status = "pending"
    message: str | None = None
    run_dir: str | None = None
    run_id: str | None = None


class BatchState(BaseModel):
    batch_id: str
    feed: str
    format: str
    channel: str
    offer: str | None = None
    variants: int | None = None
    created_at: float
    products: list[BatchProduct] = Field(default_factory=list)
    skipped: list[dict] = Field(default_factory=list)  # {"id", "where", "reason"}: never started


def new_state(folder: BatchFolder, feed: str, fmt: str, channel: str, items: list[FeedItem], skipped: list[dict],
              offer: str | None, variants: int | None) -> BatchState:
    products = [BatchProduct(id=i.id, where=i.where, item=asdict(i)) for i in items]
    return BatchState(batch_id=folder.path.name, feed=feed, format=fmt, channel=channel, offer=offer,
                      variants=variants, created_at=time.time(), products=products, skipped=skipped)


def save(folder: BatchFolder, state: BatchState) -> None:
    write_atomic(folder.state, state.model_dump_json(indent=2) + "\n")


def load(folder: BatchFolder) -> BatchState:
    try:
        return BatchState.model_validate_json(folder.state.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder.path}: no {folder.state.name}; this is not a batch folder",
                         hint="pass a folder under <runs>/.batches/ that `creative batch` printed") from None
    except ValueError as exc:
        raise InputError(f"{folder.state}: cannot be read ({str(exc).splitlines()[0]})") from None


def _limit_malloc_arenas() -> None:
    """Keep glibc from giving each worker thread its own malloc arena.

    Each product's images are decoded and freed in whichever thread composes it; with an arena per
    thread the freed memory stays fragmented across arenas and the batch's peak memory climbs with
    the number of products (measured: +70 MB from 4 to 16 products), while with a shared arena it
    stays flat. Elsewhere (macOS, musl) this is a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass


def run_batch(folder: BatchFolder, state: BatchState, settings: Settings, reporter: Reporter, *,
              product_reporter: Callable[[], Reporter] = Reporter) -> BatchState:
    """Run every product not yet done, IN_FLIGHT at a time; stop starting new ones at the cap."""
    todo = [p for p in state.products if p.status not in ("ok", "partial")]
    _release_stale(state, todo, settings)
    _limit_malloc_arenas()
    stopped = False
    with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="batch") as pool:
        running: dict[Future, BatchProduct] = {}
        queue = list(todo)
        try:
            while queue or running:
                while queue and not stopped and len(running) < IN_FLIGHT:
                    product = queue.pop(0)
                    running[pool.submit(_run_product, product, state, settings, product_reporter())] = product
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    product = running.pop(future)
                    _record(product, future)
                    reporter.info(f"{product.id}: {product.status}" + (f" ({product.message})" if product.message
                                                                        and product.status != "ok" else ""))
                    stopped = stopped or product.status == "refused"
                save(folder, state)
        except KeyboardInterrupt:
            # Runs in flight belong to worker threads, which Ctrl-C does not reach: they finish (and
            # settle their budget), no new product starts, and `creative batch resume` does the rest.
            reporter.warn(f"cancelled: finishing the {len(running)} product(s) in flight, starting no more")
            for future, product in list(running.items()):
                if not future.cancel():  # already running: wait for its outcome
                    _record(product, future)
            save(folder, state)
            write_outputs(folder, state)
            raise Cancelled("batch cancelled: products not started are left for `creative batch resume`",
                            hint=f"creative batch resume {folder.path}") from None
    write_outputs(folder, state)
    return state


def _release_stale(state: BatchState, todo: list[BatchProduct], settings: Settings) -> None:
    """A product whose run was killed is run again from the start (its backgrounds come from the cache):
    its old reservation is released so it is not counted twice."""
    ledger = ledger_for(settings)
    runs = ledger.state().runs
    for product in todo:
        spend = runs.get(product.run_id or "")
        if spend is not None and spend.open_reservation > 0:
            ledger.release(product.run_id, reason="batch resumed: the product is run again")


def _run_product(product: BatchProduct, state: BatchState, settings: Settings, reporter: Reporter) -> RunResult:
    item = FeedItem(**product.item)
    request = RunRequest(channel=state.channel, url=item.link, offer=state.offer, variants=state.variants,
                         notes=feed_notes(item))
    ctx = new_run(request, settings, reporter)
    product.run_dir, product.run_id = str(ctx.folder.path), ctx.runlog.run_id
    return execute(ctx, FULL_RUN)


def _record(product: BatchProduct, future: Future) -> None:
    try:
        result: RunResult = future.result()
    except BudgetRefused as exc:
        product.status, product.message = "refused", exc.message
    except CreativeError as exc:
        product.status, product.message = "failed", exc.message
    except Exception as exc:  # one product's unexpected failure must not lose the batch's state
        log.exception("product %s failed unexpectedly", product.id)
        product.status, product.message = "failed", f"{type(exc).__name__}: {exc}"
    else:
        product.status = "ok" if result.exit_code == 0 else "partial"
        product.message = result.message


def summary(state: BatchState) -> tuple[int, str]:
    """The batch's exit code and one line saying how it ended."""
    counts = {s: sum(p.status == s for p in state.products) for s in ("ok", "partial", "failed", "refused",
                                                                     "pending", "cancelled")}
    line = (f"{counts['ok']} of {len(state.products)} products done"
            + "".join(f", {counts[s]} {s}" for s in ("partial", "failed") if counts[s])
            + (f", {len(state.skipped)} skipped" if state.skipped else ""))
    not_started = [p.id for p in state.products if p.status in ("refused", "pending")]
    if counts["refused"]:
        return 3, f"{line}; stopped at the budget cap, not started: {', '.join(not_started)}"
    if counts["partial"] or counts["failed"] or counts["cancelled"]:
        return 4, line
    return 0, line


def write_outputs(folder: BatchFolder, state: BatchState) -> list[AdRow]:
    """The batch gallery and the bulk-upload CSV, over every product that delivered ads."""
    rows: list[AdRow] = []
    for product in state.products:
        if product.status not in ("ok", "partial") or not product.run_dir:
            continue
        run = RunFolder(Path(product.run_dir))
        runlog, brief = run.read_runlog(), run.read_brief()
        concepts = {c.name: c for c in brief.concepts}
        for variant in runlog.variants:
            concept = concepts.get(variant.concept)
            for ad in variant.ads:
                rows.append(AdRow(file=str(run.path / ad.path), product_id=product.id,
                                  title=str(product.item.get("title") or brief.product),
                                  headline=concept.headline if concept else "", cta=concept.cta if concept else "",
                                  link=str(product.item.get("link") or ""), channel=state.channel))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "product_id", "headline", "cta", "link", "channel"])
    writer.writerows([r.file, r.product_id, r.headline, r.cta, r.link, r.channel] for r in rows)
    write_atomic(folder.upload_csv, buffer.getvalue())
    write_batch_gallery(folder.gallery, rows, state.skipped + [
        {"id": p.id, "where": p.where, "reason": f"{p.status}: {p.message}"} for p in state.products
        if p.status not in ("ok", "partial")], title=f"Batch {state.batch_id}")
    return rows
