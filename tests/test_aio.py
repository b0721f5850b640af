"""core.aio.run: SIGTERM cancels the coroutine, lets its clean-up finish, then raises Terminated."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from creative.core import aio
from creative.core.errors import Terminated


def test_sigterm_cancels_the_coroutine_and_raises_terminated_after_its_clean_up():
    cleaned: list[str] = []

    async def work() -> None:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # a clean-up that awaits, as cancelling prompts does
            cleaned.append("done")
            raise

    def outer(signum, frame):  # what the CLI installs: must not run while the coroutine does
        raise AssertionError("the CLI's handler ran inside the event loop")

    previous = signal.signal(signal.SIGTERM, outer)
    try:
        with pytest.raises(Terminated):
            aio.run(work())
        assert cleaned == ["done"]
        assert signal.getsignal(signal.SIGTERM) is outer  # given back afterwards
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_coroutine_that_ends_returns_its_value():
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert aio.run(answer()) == 42
