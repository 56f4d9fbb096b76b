"""ROS-free joint trajectories and motion limits.

A :class:`JointTrajectory` is what a planner hands to an executor (the ROS node turns it into a
``trajectory_msgs/JointTrajectory``, the simulator plays it back): sampled positions, velocities and
accelerations of the six UR5 joints at times measured from the start of the motion.

Units: seconds, radians, rad/s, rad/s², metres; arrays float64, joints in
:data:`grasp_core.robot.JOINT_NAMES` order.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..robot import JOINT_NAMES, UR5_JOINT_LIMITS, JointLimits


class PlanningError(ValueError):
    """A motion that cannot be planned: unreachable goal, configuration flip, limits, collision."""


def _per_joint(value, name: str) -> np.ndarray:
    """A scalar or (6,) limit → read-only (6,) float64, all finite and positive."""
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (6,)).copy()
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and positive (scalar or 6 values), got {value!r}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class MotionLimits:
    """Limits and sampling used by the planners (:mod:`.planner`).

    Defaults are conservative for a UR5 working in a lab next to people (well under the arm's
    π rad/s joint speed).

    Attributes:
        max_velocity: (6,) rad/s per joint (a scalar is broadcast). Default 1.0.
        max_acceleration: (6,) rad/s² per joint. Default 2.0.
        max_jerk: (6,) rad/s³ per joint. Default 15.0.
        max_linear_speed: Cartesian speed of ``tool0`` along a straight line, m/s. Default 0.15.
        max_linear_acceleration: m/s². Default 0.5.
        max_linear_jerk: m/s³. Default 5.0.
        clear_linear_speed: tool0 speed on straight lines that move away from contact (the lift, the
            retreat up from the release: :func:`grasp_core.motion.run_pick`), m/s. Default 0.30.
        clear_linear_acceleration: m/s² on those lines (their jerk scales with it). Default 1.0.
        rotation_radius: m; a straight-line move's path length is
            s = max(translation (m), rotation angle (rad) · rotation_radius), so the tool turns at most
            max_linear_speed / rotation_radius rad/s. Default 0.10 (0.15 m/s → 1.5 rad/s).
        dt: sample period of the planned trajectories, s. Default 0.02.
        max_joint_step: largest joint change between consecutive samples of a Cartesian path, rad;
            a larger one is a configuration flip (branch change near a singularity) and fails the plan.
            Default 0.2.
        position_limits: joint position limits the goals and every sample must respect
            (default: ur_description's UR5 limits).

    Raises:
        ValueError: a non-finite or non-positive limit.
    """

    max_velocity: np.ndarray = field(default_factory=lambda: np.full(6, 1.0))
    max_acceleration: np.ndarray = field(default_factory=lambda: np.full(6, 2.0))
    max_jerk: np.ndarray = field(default_factory=lambda: np.full(6, 15.0))
    max_linear_speed: float = 0.15
    max_linear_acceleration: float = 0.5
    max_linear_jerk: float = 5.0
    clear_linear_speed: float = 0.30
    clear_linear_acceleration: float = 1.0
    rotation_radius: float = 0.10
    dt: float = 0.02
    max_joint_step: float = 0.2
    position_limits: JointLimits = UR5_JOINT_LIMITS

    def __post_init__(self) -> None:
        for name in ("max_velocity", "max_acceleration", "max_jerk"):
            object.__setattr__(self, name, _per_joint(getattr(self, name), name))
        for name in ("max_linear_speed", "max_linear_acceleration", "max_linear_jerk", "clear_linear_speed",
                     "clear_linear_acceleration", "rotation_radius", "dt", "max_joint_step"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be finite and positive, got {getattr(self, name)!r}")
            object.__setattr__(self, name, v)
        if not isinstance(self.position_limits, JointLimits):
            raise ValueError("position_limits must be a grasp_core.robot.JointLimits")

    def clear(self) -> MotionLimits:
        """These limits with the straight lines at ``clear_linear_speed`` / ``clear_linear_acceleration``
        (jerk scaled alike): for a line that moves the tool away from contact."""
        scale = self.clear_linear_acceleration / self.max_linear_acceleration
        return replace(self, max_linear_speed=self.clear_linear_speed,
                       max_linear_acceleration=self.clear_linear_acceleration,
                       max_linear_jerk=self.max_linear_jerk * scale)


@dataclass(frozen=True)
class JointTrajectory:
    """A sampled joint-space trajectory of the six arm joints.

    Attributes:
        joint_names: the joints, in column order (default :data:`JOINT_NAMES`).
        times: (N,) float64, s from the start, N ≥ 1, times[0] = 0 ≤ …, strictly increasing.
        positions: (N, 6) float64, rad.
        velocities: (N, 6) float64, rad/s.
        accelerations: (N, 6) float64, rad/s².

    Arrays are copied and made read-only on construction.

    Raises:
        ValueError: wrong shapes, non-finite values, times not starting at 0 or not strictly
            increasing, or a joint-name count that does not match the columns.
    """

    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    accelerations: np.ndarray
    joint_names: tuple[str, ...] = JOINT_NAMES

    def __post_init__(self) -> None:
        t = np.array(self.times, dtype=np.float64).reshape(-1)
        n = len(t)
        if n < 1:
            raise ValueError("a trajectory needs at least one sample")
        names = tuple(self.joint_names)
        arrays = {}
        for name in ("positions", "velocities", "accelerations"):
            a = np.array(getattr(self, name), dtype=np.float64)
            if a.shape != (n, len(names)):
                raise ValueError(f"{name} must have shape ({n}, {len(names)}), got {a.shape}")
            arrays[name] = a
        for name, a in (("times", t), *arrays.items()):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"trajectory {name} contain non-finite values")
        if abs(t[0]) > 1e-12:
            raise ValueError(f"times must start at 0, got {t[0]}")
        if n > 1 and np.any(np.diff(t) <= 0):
            raise ValueError("times must be strictly increasing")
        for name, a in (("times", t), *arrays.items()):
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        object.__setattr__(self, "joint_names", names)

    @property
    def duration(self) -> float:
        """Time of the last sample, s."""
        return float(self.times[-1])

    def __len__(self) -> int:
        return len(self.times)

    @property
    def start(self) -> np.ndarray:
        """(6,) first positions, rad."""
        return self.positions[0].copy()

    @property
    def end(self) -> np.ndarray:
        """(6,) last positions, rad."""
        return self.positions[-1].copy()

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """State at time ``t`` s (clamped to [0, duration]).

        Positions are cubic Hermite interpolated from the neighbouring samples' positions and
        velocities, velocities and accelerations linearly.

        Returns:
            (positions, velocities, accelerations), each (6,) float64.

        Raises:
            ValueError: t not finite.
        """
        if not np.isfinite(t):
            raise ValueError(f"sample time must be finite, got {t}")
        if len(self.times) == 1 or t <= 0.0:
            return self.positions[0].copy(), self.velocities[0].copy(), self.accelerations[0].copy()
        if t >= self.duration:
            return self.positions[-1].copy(), self.velocities[-1].copy(), self.accelerations[-1].copy()
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        t0, t1 = self.times[i], self.times[i + 1]
        h = t1 - t0
        s = (t - t0) / h
        p0, p1 = self.positions[i], self.positions[i + 1]
        v0, v1 = self.velocities[i], self.velocities[i + 1]
        h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
        h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
        q = h00 * p0 + h10 * h * v0 + h01 * p1 + h11 * h * v1
        v = (1 - s) * v0 + s * v1
        a = (1 - s) * self.accelerations[i] + s * self.accelerations[i + 1]
        return q, v, a

    @classmethod
    def stationary(cls, q, dt: float = 0.02) -> JointTrajectory:
        """Two samples (0 and ``dt`` s) holding (6,) ``q`` rad at rest: a no-op move."""
        q = np.asarray(q, dtype=np.float64).reshape(6)
        return cls(np.array([0.0, dt]), np.stack([q, q]), np.zeros((2, 6)), np.zeros((2, 6)))
