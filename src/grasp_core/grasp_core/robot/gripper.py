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


#: The gripper's solid parts (the one description of its geometry: :func:`gripper_xml` builds the
#: simulated 2F-85 from it, :func:`gripper_boxes` gives the collision check and the planner the same
#: shapes). Body parts: (name, MJCF type, MJCF half sizes, centre in tool0), m.
COUPLING = ("coupling", "cylinder", (0.0375, 0.0075), (0.0, 0.0, 0.0075))
HOUSING = ("housing", "box", (0.030, 0.045, 0.040), (0.0, 0.0, 0.055))
PALM = ("palm", "box", (0.022, 0.065, 0.006), (0.0, 0.0, 0.101))
BODY_PARTS = (COUPLING, HOUSING, PALM)
#: tool0 → the palm's underside along z, m: nothing but the fingers reaches below it.
PALM_BOTTOM = PALM[3][2] + PALM[2][2]
#: Finger link behind (outboard of) each pad: half thickness (y), centre offset outboard of the
#: pad's inner face (y), m; it runs from the palm's underside to the fingertip.
FINGER_LINK_HALF_Y, FINGER_LINK_Y = 0.004, 0.012
#: Usable finger length: fingertip → palm underside along z, m (0.0615).
USABLE_FINGER_LENGTH = FINGERTIP_REACH - PALM_BOTTOM


def _finger_parts() -> tuple[tuple[str, tuple, tuple], ...]:
    """(part, half sizes, centre in the finger body frame (origin on the pad's inner face at the TCP
    height, y outboard)) of one finger: its pad and its link."""
    px, py, pz = PAD_HALF
    link_top, link_bot = PALM_BOTTOM - TCP_OFFSET, pz
    lz, lc = (link_bot - link_top) / 2, (link_bot + link_top) / 2
    return (("pad", (px, py, pz), (0.0, py, 0.0)),
            ("finger_link", (px, FINGER_LINK_HALF_Y, lz), (0.0, FINGER_LINK_Y, lc)))


def gripper_boxes(opening: float) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The simulated 2F-85's parts as boxes in ``tool0`` at a jaw ``opening`` (m, clipped to
    [0, STROKE]): ``(geom name, lo (3,), hi (3,))`` float64 corners, m, axis-aligned in tool0 (the
    coupling cylinder by its bounding box). Names and shapes are those of :func:`gripper_xml`'s geoms
    (``test/test_contact_safety.py`` compares them with MuJoCo's compiled model)."""
    h = float(np.clip(opening, 0.0, STROKE)) / 2.0
    out = []
    for name, kind, size, pos in BODY_PARTS:
        half = (size[0], size[0], size[1]) if kind == "cylinder" else size
        c, e = np.asarray(pos, dtype=np.float64), np.asarray(half, dtype=np.float64)
        out.append((name, c - e, c + e))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for part, half, pos in _finger_parts():
            c = np.array([pos[0], sign * (h + pos[1]), TCP_OFFSET + pos[2]])
            e = np.asarray(half, dtype=np.float64)
            out.append((f"{side}_{part}", c - e, c + e))
    return out


def gripper_xml(contact: str = GRIPPER_CONTACT) -> str:
    """MJCF body ``gripper_base`` of the simulated 2F-85 (frame = tool0: z approach, y jaw closing).

    Built from :data:`BODY_PARTS` and the finger parts (the shapes :func:`gripper_boxes` returns).
    Fingers: slide joints ``left_finger_joint`` / ``right_finger_joint`` (0 … STROKE/2 each, along
    ±y), pads ``left_pad`` / ``right_pad`` (geoms and sites), site ``tcp`` at ``TCP_OFFSET``. The
    caller adds the ``grip_opening`` tendon, the finger equality and the actuator.

    Args:
        contact: MJCF contact attributes of every geom.
    """
    pad_cls = (f'friction="{PAD_FRICTION} 0.02 0.0005" condim="{PAD_CONDIM}" solref="0.004 1" '
               'solimp="0.95 0.99 0.001 0.5 2" priority="1"')
    (_, pad_half, pad_pos), (_, link_half, link_pos) = _finger_parts()

    def vec(v, sign: float = 1.0) -> str:
        return f"{v[0]} {sign * v[1]} {v[2]}"

    def finger(side: str, sign: int) -> str:
        return (
            f'<body name="{side}_finger" pos="0 0 {TCP_OFFSET}">'
            f'<joint name="{side}_finger_joint" type="slide" axis="0 {sign} 0" range="0 {STROKE / 2}" '
            f'armature="{FINGER_ARMATURE}" damping="2"/>'
            f'<inertial pos="0 {sign * 0.010} -0.01" mass="{FINGER_MASS}" diaginertia="4e-5 4e-5 1.5e-5"/>'
            f'<geom name="{side}_pad" type="box" size="{vec(pad_half)}" pos="{vec(pad_pos, sign)}" {pad_cls} '
            f'{contact} rgba="0.15 0.15 0.15 1"/>'
            f'<geom name="{side}_finger_link" type="box" size="{vec(link_half)}" pos="{vec(link_pos, sign)}" '
            f'{contact} rgba="0.55 0.55 0.6 1"/>'
            f'<site name="{side}_pad" pos="0 0 0" size="0.003"/>'
            '</body>')

    rgba = {"coupling": "0.2 0.2 0.2 1", "housing": "0.25 0.25 0.27 1", "palm": "0.55 0.55 0.6 1"}
    body = "".join(f'<geom name="{n}" type="{k}" size="{" ".join(map(str, sz))}" pos="{vec(pos)}" {contact} '
                   f'rgba="{rgba[n]}"/>' for n, k, sz, pos in BODY_PARTS)
    return (
        '<body name="gripper_base" gravcomp="1">'
        f'<inertial pos="0 0 0.055" mass="{GRIPPER_BODY_MASS}" diaginertia="0.0012 0.0012 0.0005"/>'
        + body +
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
