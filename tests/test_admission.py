"""Batch admission: slots held by products until their generation ends."""

from __future__ import annotations

import threading

from creative.run.admission import Slots


def test_slots_are_taken_up_to_their_count_and_given_back_once_each():
    slots = Slots(2)
    first, second = slots.take(), slots.take()
    assert first is not None and second is not None
    assert slots.take() is None  # all taken
    first.release()
    first.release()  # a second release of the same slot gives nothing back
    third = slots.take()
    assert third is not None
    assert slots.take() is None


def test_a_freed_future_taken_before_a_release_resolves_with_it():
    slots = Slots(1)
    slot = slots.take()
    freed = slots.freed()
    assert not freed.done()
    threading.Thread(target=slot.release).start()
    freed.result(timeout=30)  # the waiting batch wakes
    assert slots.freed() is not freed  # the next wait waits for the next release
    assert not slots.freed().done()
