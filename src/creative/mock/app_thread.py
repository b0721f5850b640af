"""Run an aiohttp application on a free port in a background thread (for tests and demos)."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class AppThread:
    """Serves `app` on its own event loop; `start()` returns once the port is bound."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0, name: str = "mock"):
        self.app = app
        self.host, self.port = host, port
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> AppThread:
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()
        failure: list[BaseException] = []

        async def boot() -> None:
            # handler_cancellation: a client that gave up (a timeout test) does not keep a slow handler alive.
            self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, handler_cancellation=True)
            await self._runner.setup()
            await web.TCPSite(self._runner, self.host, self.port).start()
            self.port = self._runner.addresses[0][1]

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(boot())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_default_executor())

        self._thread = threading.Thread(target=run, name=f"{self.name}-{id(self):x}", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> AppThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
