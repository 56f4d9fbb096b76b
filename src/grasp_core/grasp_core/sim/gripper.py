"""The simulated 2F-85's drive: commanded opening, force limit, ramped setpoint, motion and stall state.

One force-limited position servo on the opening (the tendon of the two finger joints), driven by a
setpoint ramped at the configured speed (:func:`grasp_core.sim.servo.ramp`): the Robotiq
behaviour — move at the set speed, squeeze with at most the set force when blocked. Openings are
the distance between the pads' inner faces, m (0 closed … :data:`grasp_core.robot.STROKE` open).
"""
from __future__ import annotations

import math

import numpy as np

from ..robot.gripper import MAX_FORCE, STROKE
from .servo import gripper_ctrl, ramp

#: Force limits a command is clipped to, N (the 2F-85's range is 20-235 N).
MIN_EFFORT = 5.0


class GripperDrive:
    """Setpoint state of the simulated gripper (module docstring).

    Args:
        kp, kv: the tendon servo's stiffness (N/m) and damping (N·s/m).
        speed: setpoint rate, m/s of opening. default_force: force limit of commands without one, N.
    """

    def __init__(self, kp: float, kv: float, speed: float, default_force: float) -> None:
        self.kp, self.kv, self.speed, self.default_force = float(kp), float(kv), float(speed), float(default_force)
        self.target = self.ref = STROKE
        self.rate = 0.0
        self.force = self.default_force

    def command(self, opening: float, max_effort: float | None = None) -> float:
        """Set the target opening (clipped to [0, STROKE]) and the force limit; returns that limit, N.

        Raises:
            ValueError: non-finite opening or effort, or effort <= 0.
        """
        if not math.isfinite(opening):
            raise ValueError(f"gripper opening must be finite, got {opening}")
        if max_effort is None:
            force = self.default_force
        else:
            if not math.isfinite(max_effort) or max_effort <= 0:
                raise ValueError(f"gripper max_effort must be a positive number of newtons, got {max_effort}")
            force = float(np.clip(max_effort, MIN_EFFORT, MAX_FORCE))
        self.force = force
        self.target = float(np.clip(opening, 0.0, STROKE))
        return force

    def control(self, dt: float) -> float:
        """Advance the ramp by one step of ``dt`` s; the actuator's control (m)."""
        self.ref, self.rate = ramp(self.target, self.ref, self.speed, dt)
        return gripper_ctrl(self.ref, self.rate, self.kp, self.kv)

    def moving(self, opening: float, opening_velocity: float) -> bool:
        """Fingers moving: noticeable speed, or the setpoint still ramping with the fingers following it."""
        if abs(opening_velocity) > 5e-3:
            return True
        ramping = abs(self.target - self.ref) > 1e-9
        return ramping and abs(self.ref - opening) < 4e-3

    def stalled(self, opening: float, opening_velocity: float) -> bool:
        """Closed on something: not moving, opening > 2 mm, and the target more than 2 mm below the opening."""
        return (not self.moving(opening, opening_velocity)) and opening > 2e-3 and self.target < opening - 2e-3


__all__ = ["GripperDrive", "MIN_EFFORT"]
