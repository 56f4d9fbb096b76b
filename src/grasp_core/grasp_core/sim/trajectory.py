"""Sampled joint trajectories → servo setpoints (ROS-free, ``joint_trajectory_controller`` semantics).

A trajectory is a list of waypoints: times (s, from the trajectory's start, increasing),
positions (N, 6) rad and optionally velocities (N, 6) rad/s. Between waypoints the setpoint is
a cubic Hermite spline when velocities are given (position and velocity continuous; this is
what ``joint_trajectory_controller`` does with position + velocity waypoints) and linear
otherwise. Before the first waypoint's time the first point is held (the caller prepends the
current state when the first point lies in the future, see :meth:`TrajectoryFollower.set`);
after the last one the last point is held with zero velocity. :meth:`TrajectoryFollower.set`
replaces the whole trajectory, as a new goal replaces the running one in
``joint_trajectory_controller``.
"""
from __future__ import annotations

import numpy as np


def _validate(times, positions, velocities) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if t.size == 0 or p.ndim != 2 or p.shape[0] != t.size or p.shape[1] < 1:
        raise ValueError(f"trajectory needs N times and (N, J) positions, got {t.shape} and {p.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise ValueError("trajectory times and positions must be finite")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError(f"trajectory times must strictly increase, got {t.tolist()}")
    if t[0] < 0:
        raise ValueError(f"trajectory times are from its start and must be >= 0, got {t[0]}")
    v = None
    if velocities is not None:
        v = np.asarray(velocities, dtype=np.float64)
        if v.ndim == 1:
            v = v[None, :]
        if v.shape != p.shape or not np.all(np.isfinite(v)):
            raise ValueError(f"velocities must be finite and shaped like positions {p.shape}, got {v.shape}")
    return t, p, v


class TrajectoryFollower:
    """Holds one joint trajectory and samples its setpoint at any time.

    Without a trajectory :meth:`sample` raises; call :meth:`set` first (a single waypoint at
    time 0 is a hold command).
    """

    def __init__(self) -> None:
        self._t: np.ndarray | None = None
        self._p: np.ndarray | None = None
        self._v: np.ndarray | None = None
        self.start_time = 0.0

    def set(self, times, positions, velocities=None, start_time: float = 0.0) -> None:
        """Replace the trajectory.

        Args:
            times: (N,) s from ``start_time``, strictly increasing, >= 0.
            positions: (N, J) rad.
            velocities: optional (N, J) rad/s → cubic Hermite interpolation; None → linear.
            start_time: the clock time (s, e.g. ``SimCell.time``) the times count from.

        Raises:
            ValueError: shapes, non-finite values, non-increasing or negative times.
        """
        t, p, v = _validate(times, positions, velocities)
        self._t, self._p, self._v = t, p, v
        self.start_time = float(start_time)

    @property
    def active(self) -> bool:
        """Whether a trajectory is set."""
        return self._t is not None

    @property
    def end_time(self) -> float:
        """Clock time of the last waypoint (s); raises when no trajectory is set."""
        if self._t is None:
            raise RuntimeError("no trajectory set")
        return self.start_time + float(self._t[-1])

    def finished(self, t: float) -> bool:
        """Whether clock time t is at or past the last waypoint."""
        return self._t is None or t >= self.end_time

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Setpoint (q (J,), qd (J,)) at clock time t."""
        q, qd, _ = self.sample_full(t)
        return q, qd

    def sample_full(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Setpoint (q, qd, qdd), each (J,), at clock time t (qdd is 0 on linear segments)."""
        if self._t is None:
            raise RuntimeError("no trajectory set: call set() first")
        ts, ps, vs = self._t, self._p, self._v
        s = float(t) - self.start_time
        zero = np.zeros(ps.shape[1])
        if s <= ts[0]:
            return ps[0].copy(), (zero if s < ts[0] or vs is None else vs[0].copy()), zero.copy()
        if s >= ts[-1]:
            return ps[-1].copy(), zero, zero.copy()
        k = int(np.searchsorted(ts, s, side="right")) - 1
        h = ts[k + 1] - ts[k]
        u = (s - ts[k]) / h
        p0, p1 = ps[k], ps[k + 1]
        if vs is None:
            return p0 + u * (p1 - p0), (p1 - p0) / h, zero
        m0, m1 = vs[k] * h, vs[k + 1] * h
        u2, u3 = u * u, u * u * u
        q = (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1
        dq = ((6 * u2 - 6 * u) * p0 + (3 * u2 - 4 * u + 1) * m0 + (-6 * u2 + 6 * u) * p1 + (3 * u2 - 2 * u) * m1) / h
        ddq = ((12 * u - 6) * p0 + (6 * u - 4) * m0 + (-12 * u + 6) * p1 + (6 * u - 2) * m1) / (h * h)
        return q, dq, ddq


def quintic_trajectory(q0, q1, duration: float, n: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth (minimum-jerk, zero boundary velocity and acceleration) joint move sampled at n points.

    Returns (times (n,), positions (n, J), velocities (n, J)), times from 0 to ``duration``.
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    if duration <= 0 or n < 2:
        raise ValueError(f"need duration > 0 and n >= 2, got {duration}, {n}")
    t = np.linspace(0.0, duration, n)
    s = t / duration
    blend = 10 * s**3 - 15 * s**4 + 6 * s**5
    dblend = (30 * s**2 - 60 * s**3 + 30 * s**4) / duration
    d = q1 - q0
    return t, q0 + blend[:, None] * d, dblend[:, None] * d
