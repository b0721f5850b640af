"""A catalog run: every product of a feed in its own run folder, on one GPU queue, under one budget.

Several products are in flight at once and all give their jobs to one GpuQueue; the next starts as
soon as one has all its images (run/admission.py), so backgrounds generate while earlier products'
ads are drawn and the servers never wait for the composers. Each product reserves its own estimate
under the ledger's lock; when the cap refuses one, no further product starts, the ones done are
kept and the ones not started are listed. `batch.json` records each product's state after each
product, so `creative batch resume` finishes what a killed or cancelled batch left.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, Field

from creative.copy.prompts import SEED_LIMIT
from creative.core.atomic import write_atomic
from creative.core.config import Settings
from creative.core.errors import EXIT_TERMINATED, BudgetRefused, Cancelled, CreativeError, InputError, Terminated
from creative.core.progress import Reporter
from creative.gen.queue import GpuQueue
from creative.render.batch_report import AdRow, write_batch_gallery
from creative.research.feeds import FeedItem, feed_notes
from creative.run import heap
from creative.run.admission import Slot, Slots
from creative.run.context import RunRequest, ledger_for
from creative.run.folder import BatchFolder, RunFolder
from creative.run.outcome import RunResult, execute
from creative.run.plan import new_run
from creative.run.pricing import backends_for
from creative.stages import generate
from creative.stages.full import FULL_RUN

log = logging.getLogger(__name__)

# Products before the end of their generation (one readying its prompts while others generate), and
# all products started: the rest of them wait for the composers (see run/admission.py). Where the
# composers are slower than the GPUs (GPUs sharing the machine's cores), the products waiting for
# them grow in number; with a low cap the servers would then wait too. A waiting product holds its
# run's state, not its images (those are drawn a few at a time), so forty cost little memory.
GPU_AHEAD = 3
IN_FLIGHT = 40
MAX_VARIANTS = 1000  # room above a product's base seed for its variants' seeds
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


def run_batch(folder: BatchFolder, state: BatchState, settings: Settings, reporter: Reporter, *,
              product_reporter: Callable[[], Reporter] = Reporter) -> BatchState:
    """Run every product not yet done on one GPU queue, the next starting as soon as one has all its
    images (GPU_AHEAD before the end of their generation, IN_FLIGHT at most); stop starting new ones
    at the cap.

    Ctrl-C (or SIGTERM) cancels the products in flight (our prompts are interrupted or deleted on the
    servers, each run settles what it received) and starts no more; `creative batch resume` does the rest.
    """
    todo = [p for p in state.products if p.status not in ("ok", "partial")]
    _release_stale(state, todo, settings)
    heap.limit_arenas()
    # Every backend is checked once, before any product is started: one that is down or misconfigured
    # stops the batch before anything is reserved or spent.
    with GpuQueue(backends_for(settings), timeout_s=settings.comfyui.timeout_s) as gpu:
        gpu.reachable()
        with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="batch") as pool, \
                ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="compose") as composers:
            shared = Shared(gpu, composers, Slots(GPU_AHEAD))
            running: dict[Future, BatchProduct] = {}
            try:
                _run_all(todo, running, pool, shared, folder, state, settings, reporter, product_reporter)
            except KeyboardInterrupt as exc:
                _cancel(running, gpu, folder, state, reporter, exc)
    write_outputs(folder, state)
    return state


@dataclass
class Shared:
    """What every product of the batch uses: the GPU queue, the threads that draw ads, and the
    slots that admit products ahead of the end of their generation."""

    gpu: GpuQueue
    composers: ThreadPoolExecutor
    ahead: Slots


def _run_all(todo: list[BatchProduct], running: dict[Future, BatchProduct], pool: ThreadPoolExecutor,
             shared: Shared, folder: BatchFolder, state: BatchState, settings: Settings, reporter: Reporter,
             product_reporter: Callable[[], Reporter]) -> None:
    queue, stopped = list(todo), False
    while queue or running:
        freed = shared.ahead.freed()  # before taking: a slot given back from now on wakes the wait
        while queue and not stopped and len(running) < IN_FLIGHT:
            slot = shared.ahead.take()
            if slot is None:
                break
            product = queue.pop(0)
            running[pool.submit(_run_product, product, state, settings, product_reporter(), shared, slot)] = product
        if not running:
            break
        done, _ = wait([*running, freed], return_when=FIRST_COMPLETED)
        for future in done:
            if future not in running:  # a product has all its images: the next one may start
                continue
            product = running.pop(future)
            _record(product, future)
            heap.trim()
            finished = sum(p.status != "pending" for p in state.products)
            reporter.info(f"[{finished}/{len(state.products)}] {product.id}: {product.status}"
                          + (f" ({product.message})" if product.message and product.status != "ok" else ""))
            stopped = stopped or product.status == "refused"
        save(folder, state)


def _cancel(running: dict[Future, BatchProduct], gpu: GpuQueue, folder: BatchFolder, state: BatchState,
            reporter: Reporter, exc: KeyboardInterrupt) -> None:
    """Ctrl-C: cancel the products in flight, keep what they delivered, and say how to finish the batch."""
    reporter.warn(f"cancelled: stopping the {len(running)} product(s) in flight, starting no more")
    gpu.cancel()
    for future, product in list(running.items()):
        if not future.cancel():  # already running: its run ends as cancelled, or done if it was composing
            _record(product, future)
    save(folder, state)
    write_outputs(folder, state)
    cancelled = Cancelled("batch cancelled: products not finished are left for `creative batch resume`",
                          hint=f"creative batch resume {folder.path}")
    if isinstance(exc, Terminated):
        cancelled.exit_code = EXIT_TERMINATED
    raise cancelled from None


def _release_stale(state: BatchState, todo: list[BatchProduct], settings: Settings) -> None:
    """A product whose run was killed is run again from the start (its backgrounds come from the cache):
    its old reservation is released so it is not counted twice."""
    ledger = ledger_for(settings)
    runs = ledger.state().runs
    for product in todo:
        spend = runs.get(product.run_id or "")
        if spend is not None and spend.open_reservation > 0:
            ledger.release(product.run_id, reason="batch resumed: the product is run again")


def _run_product(product: BatchProduct, state: BatchState, settings: Settings, reporter: Reporter,
                 shared: Shared, slot: Slot) -> RunResult:
    item = FeedItem(**product.item)
    request = RunRequest(channel=state.channel, url=item.link, offer=state.offer, variants=state.variants,
                         notes=feed_notes(item), seed=product_seed(item.id))
    try:
        ctx = new_run(request, settings, reporter)
        ctx.gpu, ctx.compose_pool = shared.gpu, shared.composers
        product.run_dir, product.run_id = str(ctx.folder.path), ctx.runlog.run_id
        return execute(ctx, _releasing_after_generation(slot))
    finally:
        slot.release()  # a product that failed before its images gives its place back too


def _releasing_after_generation(slot: Slot) -> list:
    """FULL_RUN, with the product's slot given back once its images are all in."""
    stages = list(FULL_RUN)
    stages.insert(stages.index(generate.run) + 1, lambda ctx: slot.release())
    return stages


def product_seed(product_id: str) -> int:
    """A product's base seed, from its id.

    Products of one category share their scene prompts; with the same seeds they would share their
    backgrounds too. From the id, each product gets its own, and a resumed batch the same ones again
    (so what was made before comes from the cache).
    """
    digest = hashlib.sha256(f"product:{product_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (SEED_LIMIT - MAX_VARIANTS)


def _record(product: BatchProduct, future: Future) -> None:
    try:
        result: RunResult = future.result()
    except BudgetRefused as exc:
        product.status, product.message = "refused", exc.message
    except Cancelled as exc:
        product.status, product.message = "cancelled", exc.message
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
