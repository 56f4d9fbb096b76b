"""Per-frame stage instants of a node, published as ``grasp_interfaces/StageTimes`` (a debug aid).

A node with its parameter ``publish_timings`` true marks named instants while it handles a frame
(:meth:`StageClock.mark`, system clock ``time.time_ns()``) and publishes them on ``~/timings`` with
the source image's header; ``bench/bench_detector.py`` joins the camera's, the detector's and its
own receipt by stamp into the end-to-end breakdown (:func:`stage_durations`). Off (the default),
nothing is published and a mark costs one attribute test.
"""
from __future__ import annotations

import time

from grasp_interfaces.msg import StageTimes


class StageClock:
    """Named instants of one frame, in order.

    Args:
        enabled: False → :meth:`mark` records nothing and :meth:`to_msg` is not to be called.
        start_ns: a first instant already taken (e.g. when the frame arrived), with its name ``start``.
        start: name of ``start_ns``.
    """

    __slots__ = ("enabled", "events", "t_ns")

    def __init__(self, enabled: bool, start_ns: int | None = None, start: str = "received") -> None:
        self.enabled = enabled
        self.events: list[str] = []
        self.t_ns: list[int] = []
        if enabled and start_ns is not None:
            self.events.append(start)
            self.t_ns.append(int(start_ns))

    def mark(self, name: str, t_ns: int | None = None) -> None:
        """Record instant ``name`` now (system clock, ns), or at ``t_ns``."""
        if self.enabled:
            self.events.append(name)
            self.t_ns.append(time.time_ns() if t_ns is None else int(t_ns))

    def to_msg(self, header) -> StageTimes:
        """The instants as a ``StageTimes`` message with ``header`` (the source image's)."""
        msg = StageTimes()
        msg.header = header
        msg.events = list(self.events)
        msg.t_ns = list(self.t_ns)
        return msg


def stage_durations(stamp_ns: int, events: list[str], t_ns: list[int]) -> dict[str, float]:
    """Seconds of each stage of a ``StageTimes``: stage ``events[i]`` ends at ``t_ns[i]``.

    Args:
        stamp_ns: the instant before the first event (the image stamp, or the previous node's last
            instant), ns on the same clock.
        events, t_ns: the message's fields.

    Returns:
        event name → seconds since the instant before it (in event order).

    Raises:
        ValueError: ``events`` and ``t_ns`` of different lengths.
    """
    if len(events) != len(t_ns):
        raise ValueError(f"{len(events)} events but {len(t_ns)} instants")
    out, prev = {}, int(stamp_ns)
    for name, t in zip(events, t_ns, strict=True):
        out[name] = (int(t) - prev) * 1e-9
        prev = int(t)
    return out
