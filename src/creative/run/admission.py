"""When a batch starts its next product: as soon as one ahead of it has all its images.

A product spends most of its time on the GPU queue, then drawing its ads. Started only when an
earlier product has finished drawing, the next one readies its brief and prompts while the
servers run out of work. Products are admitted instead by slots held until their generation ends,
so one is always readying its prompts while others generate; a cap on all products started
bounds what waits for the composers.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future


class Slot:
    """One product's place before the end of its generation; released once, however often asked."""

    def __init__(self, slots: Slots):
        self._slots = slots
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if held:
            self._slots._give_back()


class Slots:
    """A fixed number of Slots, and a future that resolves whenever one is given back."""

    def __init__(self, count: int):
        self._free = count
        self._lock = threading.Lock()
        self._freed: Future = Future()

    def freed(self) -> Future:
        """Resolves when a slot is next given back: take it before trying `take`, so none is missed."""
        with self._lock:
            return self._freed

    def take(self) -> Slot | None:
        with self._lock:
            if self._free == 0:
                return None
            self._free -= 1
        return Slot(self)

    def _give_back(self) -> None:
        with self._lock:
            self._free += 1
            freed, self._freed = self._freed, Future()
        freed.set_result(None)
