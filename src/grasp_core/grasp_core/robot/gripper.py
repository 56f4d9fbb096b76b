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

Simulation model (:func:`gripper_xml`): the project's simplified 2F-85 in MJCF (coupling + housing
+ palm, two parallel fingers on prismatic joints along tool0 ±y, 22 × 8 × 37 mm pads centred at
``TCP_OFFSET``), used by the simulated cell (:mod:`grasp_core.sim.model`) and the dataset's
physics trials (:mod:`grasp_core.synth.physics`); its constants live here with the gripper's.

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
#: Pad box half sizes (x, y = thickness, z = height), m: 22 × 8 × 37 mm (the simulated 2F-85's pads).
PAD_HALF = (0.011, 0.004, 0.0185)
#: tool0 → fingertips along tool0 z, m: pad centre (TCP_OFFSET) + half the 37 mm pad height.
FINGERTIP_REACH = TCP_OFFSET + PAD_HALF[2]
#: Maximum finger speed, m/s, and grip force, N (Robotiq specification).
MAX_SPEED = 0.150
MAX_FORCE = 235.0

# ------------------------------------------------------------------ simulation model (MJCF)
#: Pad friction (sliding) and contact dimension of the simulated pads.
PAD_FRICTION, PAD_CONDIM = 1.4, 4
#: Masses (kg): coupling + housing, each finger (2F-85 ≈ 0.9 kg in total).
GRIPPER_BODY_MASS, FINGER_MASS = 0.70, 0.10
#: Tendon servo stiffness (N/m) and damping (N·s/m) on the opening, reflected mass of each finger drive (kg).
GRIP_KP, GRIP_KV, FINGER_ARMATURE = 40000.0, 400.0, 0.5
#: MJCF contact bits of the gripper's geoms (collide with the world and the objects).
GRIPPER_CONTACT = 'contype="1" conaffinity="1"'


def gripper_xml(contact: str = GRIPPER_CONTACT) -> str:
    """MJCF body ``gripper_base`` of the simulated 2F-85 (frame = tool0: z approach, y jaw closing).

    Fingers: slide joints ``left_finger_joint`` / ``right_finger_joint`` (0 … STROKE/2 each, along
    ±y), pads ``left_pad`` / ``right_pad`` (geoms and sites), site ``tcp`` at ``TCP_OFFSET``. The
    caller adds the ``grip_opening`` tendon, the finger equality and the actuator.

    Args:
        contact: MJCF contact attributes of every geom.
    """
    px, py, pz = PAD_HALF
    # Finger link behind (outboard of) the pad, from the palm (z 0.107) down to the fingertip.
    link_top, link_bot = 0.107 - TCP_OFFSET, pz
    lz, lc = (link_bot - link_top) / 2, (link_bot + link_top) / 2
    pad_cls = (f'friction="{PAD_FRICTION} 0.02 0.0005" condim="{PAD_CONDIM}" solref="0.004 1" '
               'solimp="0.95 0.99 0.001 0.5 2" priority="1"')

    def finger(side: str, sign: int) -> str:
        return (
            f'<body name="{side}_finger" pos="0 0 {TCP_OFFSET}">'
            f'<joint name="{side}_finger_joint" type="slide" axis="0 {sign} 0" range="0 {STROKE / 2}" '
            f'armature="{FINGER_ARMATURE}" damping="2"/>'
            f'<inertial pos="0 {sign * 0.010} -0.01" mass="{FINGER_MASS}" diaginertia="4e-5 4e-5 1.5e-5"/>'
            f'<geom name="{side}_pad" type="box" size="{px} {py} {pz}" pos="0 {sign * py} 0" {pad_cls} '
            f'{contact} rgba="0.15 0.15 0.15 1"/>'
            f'<geom name="{side}_finger_link" type="box" size="{px} 0.004 {lz}" pos="0 {sign * 0.012} {lc}" '
            f'{contact} rgba="0.55 0.55 0.6 1"/>'
            f'<site name="{side}_pad" pos="0 0 0" size="0.003"/>'
            '</body>')

    return (
        '<body name="gripper_base" gravcomp="1">'
        f'<inertial pos="0 0 0.055" mass="{GRIPPER_BODY_MASS}" diaginertia="0.0012 0.0012 0.0005"/>'
        f'<geom name="coupling" type="cylinder" size="0.0375 0.0075" pos="0 0 0.0075" {contact} '
        'rgba="0.2 0.2 0.2 1"/>'
        f'<geom name="housing" type="box" size="0.030 0.045 0.040" pos="0 0 0.055" {contact} '
        'rgba="0.25 0.25 0.27 1"/>'
        f'<geom name="palm" type="box" size="0.022 0.065 0.006" pos="0 0 0.101" {contact} '
        'rgba="0.55 0.55 0.6 1"/>'
        f'<site name="tcp" pos="0 0 {TCP_OFFSET}" size="0.004" rgba="1 0 0 0"/>'
        + finger("left", 1) + finger("right", -1) +
        '</body>')


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
