"""One GPU queue for many runs at once: a Dispatcher on an event loop of its own thread.

A batch runs several products in worker threads. Each product hands its jobs to the same
GpuQueue, so every backend is kept busy across products (product N+1's backgrounds generate
while product N's ads are drawn) and the per-server limit of our prompts holds for the batch.
The events of a product's jobs are handled in that product's own thread, in order, so its
runlog is only ever written by one thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from pathlib import Path
from typing import Callable

from creative.core.models import GenerationResult
from creative.gen.backends import Backend
from creative.gen.dispatch import Dispatcher, GenJob

log = logging.getLogger(__name__)

_DONE = object()


def _quietly(function: Callable, *args: object) -> None:
    """Call `function`, logging what it raises."""
    try:
        function(*args)
    except Exception:  # one product's bookkeeping must not stop the queue
        log.exception("%s failed", getattr(function, "__name__", "an event handler"))


class GpuQueue:
    """Backends shared by every thread that calls `generate`; `cancel()` stops every run's jobs."""

    def __init__(self, servers: list[str | Backend], *, timeout_s: float = 600.0, poll_interval_s: float = 1.0):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gpu-queue", daemon=True)
        self._thread.start()
        self._tasks: set[asyncio.Task] = set()
        self._cancelled = False
        self._dispatcher = Dispatcher(servers, timeout_s=timeout_s, poll_interval_s=poll_interval_s)
        try:
            self._call(self._dispatcher.__aenter__())
        except BaseException:
            self._stop_loop()
            raise

    def __enter__(self) -> GpuQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(self, jobs: list[GenJob], out_dir: Path, *, on_event: Callable[[str, dict], None],
                 flush: Callable[[], None] | None = None, cache_dir: Path | None = None) -> list[GenerationResult]:
        """Generate these jobs on the shared backends and return their results, in order.

        `on_event` is called in this thread, for each event; then `flush` once for the events that
        arrived together, before the jobs that sent them go on (e.g. to send a prompt only once it is
        recorded on disk). Raises KeyboardInterrupt here when the queue was cancelled (Ctrl-C in the
        main thread), so the run ends as a cancelled run does.
        """
        events: queue.SimpleQueue = queue.SimpleQueue()

        def relay(name: str, payload: dict) -> asyncio.Future:  # called in the loop's thread
            handled: concurrent.futures.Future = concurrent.futures.Future()
            events.put((name, payload, handled))
            return asyncio.wrap_future(handled)

        future = asyncio.run_coroutine_threadsafe(self._run(jobs, out_dir, relay, cache_dir), self._loop)
        # Every event of the jobs is put before their run ends, so this comes last.
        future.add_done_callback(lambda _: events.put(_DONE))
        finished = False
        while not finished:
            arrived = [events.get()]
            while not events.empty():
                arrived.append(events.get())
            finished = arrived[-1] is _DONE
            handled = [item for item in arrived if item is not _DONE]
            try:
                for name, payload, _ in handled:
                    _quietly(on_event, name, payload)
                if flush is not None:
                    _quietly(flush)
            finally:
                for *_, done in handled:
                    done.set_result(None)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt("the batch was cancelled") from None

    def reachable(self) -> list[Backend]:
        """The backends that answered the first check, priced as they bill (see Dispatcher.reachable)."""
        return self._call(self._dispatcher.reachable())

    def cancel(self) -> None:
        """Cancel every run's jobs: our prompts are interrupted or deleted on the servers, as on Ctrl-C."""
        self._cancelled = True
        self._loop.call_soon_threadsafe(lambda: [task.cancel() for task in list(self._tasks)])

    def close(self) -> None:
        """Wait for the runs' clean-up, close the backends' connections and stop the loop."""
        try:
            self._call(self._drain_and_close())
        finally:
            self._stop_loop()

    async def _run(self, jobs: list[GenJob], out_dir: Path, relay: Callable, cache_dir: Path | None):
        task = asyncio.current_task()
        assert task is not None
        if self._cancelled:
            raise asyncio.CancelledError
        self._tasks.add(task)
        try:
            return await self._dispatcher.run(jobs, out_dir, on_event=relay, cache_dir=cache_dir)
        finally:
            self._tasks.discard(task)

    async def _drain_and_close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        await self._dispatcher.aclose()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
