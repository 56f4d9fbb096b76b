"""Robotiq 2F-85 parallel gripper: constants, TCP offset, opening ↔ knuckle-joint mapping.

Interface (PickNikRobotics/ros2_robotiq_gripper, see shared/INTERFACES.md): one
actuated joint ``robotiq_85_left_knuckle_joint`` commanded in rad through
``/robotiq_gripper_controller/gripper_cmd``, 0.0 = fully open, ≈ 0.7929 = fully
closed (URDF upper limit 0.8); the other finger joints mimic it.

Opening ↔ knuckle angle: the real finger is a four-bar linkage, so the opening
is a non-linear (roughly sinusoidal) function of the knuckle angle. Here it is
approximated as linear over the stroke::

    knuckle = KNUCKLE_CLOSED · (1 − opening / STROKE)
    opening = STROKE · (1 − knuckle / KNUCKLE_CLOSED)

which is exact at both ends and off by a few millimetres mid-stroke. Good enough
to pre-open the gripper wider than an object (add a margin); do not use it to
infer an object's width from the closed knuckle angle to better than ~1 cm.

TCP offset: the grasp point (between the finger pads) lies on tool0's z axis at
``tcp_offset`` from ``tool0``. Default 0.150 m: the 2F-85 body plus its UR
coupling put the fingertips about 0.15–0.16 m from the flange, and the pad
centre sits slightly above the tip; 0.150 m is the nominal value this project
uses and should be replaced by the value measured in the simulated model
(tool0 → midpoint of the finger pads) or by the robot's configured TCP.

Units: metres, radians, seconds, newtons.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Controller's actuated joint of the 2F-85 (ros2_robotiq_gripper).
KNUCKLE_JOINT = "robotiq_85_left_knuckle_joint"
#: Stroke (maximum opening between the pads), m.
STROKE = 0.085
#: Knuckle angle at full opening, rad.
KNUCKLE_OPEN = 0.0
#: Knuckle angle when fully closed (ros2_robotiq_gripper's closed position), rad.
KNUCKLE_CLOSED = 0.7929
#: URDF upper limit of the knuckle joint, rad.
KNUCKLE_LIMIT = 0.8
#: Nominal tool0 → grasp-point (pad centre) distance along tool0 z, m (see the module docstring).
TCP_OFFSET = 0.150
#: tool0 → fingertips along tool0 z, m: pad centre (TCP_OFFSET) + half the 37 mm pad height.
FINGERTIP_REACH = TCP_OFFSET + 0.0185
#: Maximum finger speed, m/s, and grip force, N (Robotiq specification).
MAX_SPEED = 0.150
MAX_FORCE = 235.0


@dataclass(frozen=True)
class ParallelGripper:
    """A parallel-jaw gripper driven by one knuckle joint, linear opening model (module docstring).

    Attributes:
        stroke: maximum opening, m.
        tcp_offset: tool0 → grasp point along tool0 z, m.
        knuckle_closed: knuckle angle when fully closed, rad (open is 0).
        joint_name: the controller's actuated joint.
        max_speed: m/s. max_force: N.
    """

    stroke: float = STROKE
    tcp_offset: float = TCP_OFFSET
    knuckle_closed: float = KNUCKLE_CLOSED
    joint_name: str = KNUCKLE_JOINT
    max_speed: float = MAX_SPEED
    max_force: float = MAX_FORCE

    def __post_init__(self) -> None:
        if not (self.stroke > 0 and self.knuckle_closed > 0 and np.isfinite(self.tcp_offset)):
            raise ValueError(f"invalid gripper parameters: {self}")

    def opening_to_knuckle(self, opening, clip: bool = True):
        """Opening (m, scalar or array) → knuckle angle (rad, same shape), linear approximation.

        Args:
            opening: distance between the pads, m; 0 = closed, ``stroke`` = open.
            clip: clip openings outside [0, stroke] (default); when False they raise.

        Returns:
            float for a scalar input, else float64 array: knuckle_closed·(1 − opening/stroke).

        Raises:
            ValueError: non-finite opening, or outside [0, stroke] with ``clip=False``.
        """
        o = np.asarray(opening, dtype=np.float64)
        if not np.all(np.isfinite(o)):
            raise ValueError(f"gripper opening must be finite, got {opening!r}")
        if not clip and (np.any(o < -1e-12) or np.any(o > self.stroke + 1e-12)):
            raise ValueError(f"gripper opening {opening!r} m outside [0, {self.stroke}] m")
        k = self.knuckle_closed * (1.0 - np.clip(o, 0.0, self.stroke) / self.stroke)
        return float(k) if k.ndim == 0 else k

    def knuckle_to_opening(self, knuckle):
        """Knuckle angle (rad, scalar or array) → opening (m, same shape), linear approximation.

        Angles are clipped to [0, knuckle_closed] (the joint may read slightly past the
        closed value). Raises ValueError for non-finite input.
        """
        k = np.asarray(knuckle, dtype=np.float64)
        if not np.all(np.isfinite(k)):
            raise ValueError(f"knuckle angle must be finite, got {knuckle!r}")
        o = self.stroke * (1.0 - np.clip(k, 0.0, self.knuckle_closed) / self.knuckle_closed)
        return float(o) if o.ndim == 0 else o

    def pregrasp_opening(self, object_width: float, margin: float = 0.01) -> float:
        """Opening (m) to approach an object ``object_width`` m wide: width + margin, capped at the stroke.

        Raises:
            ValueError: non-finite or negative width, or an object wider than the stroke.
        """
        if not np.isfinite(object_width) or object_width < 0:
            raise ValueError(f"object width must be finite and non-negative, got {object_width}")
        if object_width > self.stroke:
            raise ValueError(f"object {object_width:.3f} m wide does not fit the {self.stroke:.3f} m stroke")
        return float(min(self.stroke, object_width + margin))


#: The Robotiq 2F-85 with the nominal TCP offset.
ROBOTIQ_2F85 = ParallelGripper()


def opening_to_knuckle(opening, clip: bool = True):
    """:meth:`ParallelGripper.opening_to_knuckle` of the 2F-85 (m → rad, linear approximation)."""
    return ROBOTIQ_2F85.opening_to_knuckle(opening, clip)


def knuckle_to_opening(knuckle):
    """:meth:`ParallelGripper.knuckle_to_opening` of the 2F-85 (rad → m, linear approximation)."""
    return ROBOTIQ_2F85.knuckle_to_opening(knuckle)
