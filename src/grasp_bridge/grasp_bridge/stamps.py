"""builtin_interfaces/Time → seconds, once for every node."""
from __future__ import annotations

import math

from rclpy.time import Time


def stamp_s(stamp) -> float:
    """A ``builtin_interfaces/Time`` as float seconds (``rclpy.time.Time.from_msg``).

    ``Time.from_msg`` refuses negative seconds (ValueError); such a stamp (a message stamped
    before the clock's epoch, e.g. "5 s ago" just after a simulation started) is converted as
    ``sec + nanosec·1e-9`` instead, so that the freshness check rejects it as stale rather than an
    exception ending the callback. Anything else unconvertible gives NaN.
    """
    try:
        return Time.from_msg(stamp).nanoseconds * 1e-9
    except ValueError:
        try:
            return float(stamp.sec) + float(stamp.nanosec) * 1e-9
        except (TypeError, ValueError):
            return math.nan
    except (TypeError, OverflowError):
        return math.nan
