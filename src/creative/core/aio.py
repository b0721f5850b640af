"""Running a coroutine to the end from synchronous code, with SIGTERM handled as Ctrl-C is.

asyncio.run turns Ctrl-C into a cancellation of the coroutine: its clean-up runs (our prompts are
cancelled on the servers, what they made is kept and paid), then KeyboardInterrupt is raised. A
SIGTERM handler that raises instead lands at an arbitrary point, e.g. inside a websocket's callback
or between an image received and it recorded, which can leave the run hanging or an image unpaid.
Here SIGTERM cancels the coroutine the same way, then Terminated is raised.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Coroutine, TypeVar

from creative.core.errors import Terminated

T = TypeVar("T")


def run(coro: Coroutine[object, object, T]) -> T:
    """asyncio.run(coro), where SIGTERM cancels it and raises Terminated once its clean-up is done."""
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(coro)  # signals reach the main thread only
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        tasks: list[asyncio.Task] = []
        terminated = False

        async def main() -> T:
            tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            if terminated:  # the signal came before the coroutine started
                coro.close()
                raise asyncio.CancelledError
            return await coro

        def on_sigterm() -> None:
            nonlocal terminated
            if terminated:
                return  # a second SIGTERM must not cut the clean-up short
            terminated = True
            if tasks and not tasks[0].done():
                tasks[0].cancel()

        previous = signal.getsignal(signal.SIGTERM)
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        try:
            return runner.run(main())
        except asyncio.CancelledError:
            if terminated:
                raise Terminated() from None
            raise
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            if previous is not None:  # None: set outside Python, which we cannot restore
                signal.signal(signal.SIGTERM, previous)
