"""A reply a test server holds back until the test releases it: timeouts proven by order, not by a clock."""

from __future__ import annotations

import threading
from collections.abc import Callable


class HeldReply:
    """`hold()` in a request handler blocks until `release()`; `answered` says whether it got through.

    A client that reports a timeout while `answered` is still False gave up before the server
    replied, which is what a timeout means; no wall-clock figure is needed to show it.
    """

    def __init__(self, limit_s: float = 30.0):
        self.limit_s = limit_s  # only keeps a broken client from hanging the suite
        self._released = threading.Event()
        self.requests = 0
        self.answered = False

    def hold(self) -> None:
        self.requests += 1
        self._released.wait(self.limit_s)
        self.answered = True

    def answer(self, send: Callable[[], None]) -> None:
        """Hold, then `send()` the reply; a client that gave up meanwhile has closed the socket."""
        self.hold()
        try:
            send()
        except ConnectionError:  # the expected outcome of a timeout test: nobody is listening
            pass

    def release(self) -> None:
        self._released.set()

    def reset(self) -> None:
        self._released.clear()
        self.requests, self.answered = 0, False
