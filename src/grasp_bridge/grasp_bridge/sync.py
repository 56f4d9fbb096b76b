"""Pairing of messages from several topics by exact header stamp (message_filters-free).

Camera drivers publish an image and its camera_info with the same stamp; this is
``message_filters.TimeSynchronizer`` in a few lines, without the dependency.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable


def stamp_key(stamp) -> tuple[int, int]:
    """(sec, nanosec) of a ``builtin_interfaces/Time``."""
    return int(stamp.sec), int(stamp.nanosec)


class StampSynchronizer:
    """Calls ``callback(*msgs)`` once every one of ``n`` inputs has a message with the same stamp.

    Args:
        n: number of inputs; messages are given to :meth:`add` with their input index.
        callback: called with the ``n`` messages in input order.
        queue_size: stamps kept waiting for partners; the oldest is dropped beyond it.

    Messages must have ``header.stamp``. A later message on the same input and
    stamp replaces the earlier one. Thread-safety: call from one callback group.
    """

    def __init__(self, n: int, callback: Callable[..., None], queue_size: int = 10) -> None:
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n, self.callback, self.queue_size = n, callback, int(queue_size)
        self._pending: OrderedDict[tuple[int, int], list] = OrderedDict()

    def add(self, index: int, msg) -> bool:
        """Add message ``msg`` of input ``index``; returns True when it completed a set (callback ran)."""
        key = stamp_key(msg.header.stamp)
        slots = self._pending.get(key)
        if slots is None:
            slots = self._pending[key] = [None] * self.n
            while len(self._pending) > self.queue_size:
                self._pending.popitem(last=False)
        slots[index] = msg
        if all(m is not None for m in slots):
            del self._pending[key]
            # anything older than a completed set will never complete in order: drop it
            for k in [k for k in self._pending if k < key]:
                del self._pending[k]
            self.callback(*slots)
            return True
        return False
