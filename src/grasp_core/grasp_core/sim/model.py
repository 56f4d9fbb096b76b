"""MJCF of the simulated pick cell: table, bin, overhead camera, UR5 arm and a 2F-85-like gripper.

Everything here is the project's own model, written from published numbers (no mesh files):

* UR5 (classic / CB3) kinematics: the nominal DH values of ur_description's
  ``config/ur5/default_kinematics.yaml`` (``grasp_core.robot.UR5_DH``), with the link frames
  laid out as ur_description's URDF does (``base_link`` → ``base_link_inertia`` rotated by π
  about z → shoulder → upper arm → forearm → wrist 1-3 → ``tool0``), so joint angles are the
  ROS joint angles and the ``tool0`` site equals :func:`grasp_core.robot.forward_kinematics`.
* Masses, centres of mass and inertia tensors: ur_description ``config/ur5/physical_parameters.yaml``
  (``inertia_parameters``); link radii from the same file (the capsules are for looks and
  for collisions with objects).
* Limits: ur_description ``config/ur5/joint_limits.yaml``: ±2π (elbow ±π), π rad/s,
  efforts 150/150/150/28/28/28 N·m (the actuators' force ranges).
* Gripper: a simplified Robotiq 2F-85 (coupling + housing + two parallel fingers on prismatic
  joints along tool0 ±y, one tendon actuator, equality-coupled), pad centres at
  :data:`grasp_core.robot.TCP_OFFSET` along tool0 z: :func:`grasp_core.robot.gripper.gripper_xml`.
* Table and bin: :class:`grasp_core.layout.CellLayout`.

Frames: world = ``base_link`` (REP 103, z up), table top at the layout's ``table_z`` (0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera import CameraIntrinsics
from ..layout import CELL_LAYOUT, CellLayout
from ..objects import ObjectSpec, mesh_scale_attr
from ..robot import JOINT_NAMES, UR5_DH
from ..robot.arm import arm_parts
from ..robot.gripper import (  # noqa: F401  (re-exported: the gripper's MJCF and constants)
    FINGER_ARMATURE,
    FINGER_MASS,
    FINGERTIP_REACH,
    GRIP_KP,
    GRIP_KV,
    GRIPPER_BODY_MASS,
    PAD_HALF,
    STROKE,
    TCP_OFFSET,
    gripper_xml,
)

# ------------------------------------------------------------------------------------- UR5 data
#: ur_description physical_parameters.yaml (UR5): link masses, kg.
UR5_MASSES = {"base": 4.0, "shoulder": 3.7, "upper_arm": 8.393, "forearm": 2.33,
              "wrist_1": 1.219, "wrist_2": 1.219, "wrist_3": 0.1879}
#: physical_parameters.yaml center_of_mass (link frame, m).
UR5_COG = {"shoulder": (0.0, -0.00193, -0.02561), "upper_arm": (-0.2125, 0.0, 0.11336),
           "forearm": (-0.24225, 0.0, 0.0265), "wrist_1": (0.0, -0.01634, -0.0018),
           "wrist_2": (0.0, 0.01634, -0.0018), "wrist_3": (0.0, 0.0, -0.001159)}
#: physical_parameters.yaml inertia rotation (roll, pitch, yaw) of the principal axes in the link frame.
UR5_COG_RPY = {"upper_arm": (0.0, math.pi / 2, 0.0), "forearm": (0.0, math.pi / 2, 0.0)}
#: physical_parameters.yaml tensor (diagonal: ixx, iyy, izz), kg·m².
UR5_INERTIA = {"shoulder": (0.014972358333333331, 0.014972358333333331, 0.01040625),
               "upper_arm": (0.13388583541666665, 0.13388583541666665, 0.0151074),
               "forearm": (0.031216803515624995, 0.031216803515624995, 0.004095),
               "wrist_1": (0.002013889583333333, 0.002013889583333333, 0.0021942),
               "wrist_2": (0.0018310395833333333, 0.0018310395833333333, 0.0021942),
               "wrist_3": (8.062475833333332e-05, 8.062475833333332e-05, 0.0001321171875)}
#: joint_limits.yaml efforts, N·m.
UR5_EFFORT = (150.0, 150.0, 150.0, 28.0, 28.0, 28.0)

#: Servo gains (ours): stiffness kp (N·m/rad) and damping kv (N·m·s/rad) of the position actuators,
#: and the joints' armature (reflected rotor inertia of the harmonic drives, kg·m², assumed).
ARM_KP = (30000.0, 30000.0, 15000.0, 3000.0, 3000.0, 1500.0)
ARM_KV = (600.0, 600.0, 250.0, 40.0, 40.0, 20.0)
ARM_ARMATURE = (0.4, 0.4, 0.2, 0.06, 0.06, 0.06)

# ------------------------------------------------------------------------------------- gripper data
#: Fingertip distance from tool0 along z, m (:data:`grasp_core.robot.FINGERTIP_REACH`); the gripper's
#: MJCF and constants live in :mod:`grasp_core.robot.gripper`.
FINGERTIP_Z = FINGERTIP_REACH
GRIPPER_STROKE = STROKE

# ------------------------------------------------------------------------------------- collisions
# contype/conaffinity bits: 1 = world, objects, gripper; 2 = arm links (touch objects only).
_ARM_COL = 'contype="2" conaffinity="0"'
_WORLD_COL = 'contype="1" conaffinity="1"'
_OBJ_COL = 'contype="1" conaffinity="3"'


def _f(v) -> str:
    return " ".join(f"{float(x):.10g}" for x in np.atleast_1d(v))


def rpy_quat(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """(w, x, y, z) quaternion of URDF rpy (fixed-axis X, then Y, then Z: R = Rz·Ry·Rx)."""
    return Rotation.from_euler("xyz", [roll, pitch, yaw]).as_quat(scalar_first=True)


def mat_quat(r: np.ndarray) -> np.ndarray:
    """(w, x, y, z) quaternion (MuJoCo's order) of a (3, 3) rotation matrix."""
    return Rotation.from_matrix(np.asarray(r, dtype=np.float64)).as_quat(scalar_first=True)


def _inertial(link: str) -> str:
    q = rpy_quat(*UR5_COG_RPY.get(link, (0.0, 0.0, 0.0)))
    return (f'<inertial pos="{_f(UR5_COG[link])}" quat="{_f(q)}" mass="{UR5_MASSES[link]}" '
            f'diaginertia="{_f(UR5_INERTIA[link])}"/>')


def _joint(k: int) -> str:
    lim = math.pi if JOINT_NAMES[k] == "elbow_joint" else 2 * math.pi
    return (f'<joint name="{JOINT_NAMES[k]}" type="hinge" axis="0 0 1" range="{-lim} {lim}" '
            f'armature="{ARM_ARMATURE[k]}" damping="0.5"/>')


def _tool0_in_wrist3() -> np.ndarray:
    """Rotation of tool0 in the wrist_3_link frame: ur_description's flange (rpy 0, −π/2, −π/2)
    followed by tool0 (rpy π/2, 0, π/2)."""
    r_flange = Rotation.from_euler("xyz", [0.0, -math.pi / 2, -math.pi / 2])
    r_tool0 = Rotation.from_euler("xyz", [math.pi / 2, 0.0, math.pi / 2])
    return (r_flange * r_tool0).as_matrix()


def arm_xml(board_body: str = "") -> str:
    """The UR5 chain in ur_description's link frames, ending with the gripper at tool0 (and the
    optional calibration plate body, :func:`board_xml`, in tool0's frame)."""
    d = UR5_DH
    r_tool0 = mat_quat(_tool0_in_wrist3())
    grav = 'gravcomp="1"'

    def geoms(link: str) -> str:  # the link's collision shapes, :data:`grasp_core.robot.arm.ARM_PARTS`
        out = []
        for p in arm_parts(d):
            if p.link == link:
                rgba = "0.45 0.6 0.75 1" if p.kind == "cylinder" else "0.75 0.75 0.78 1"
                out.append(f'<geom type="{p.kind}" size="{_f(p.radius)}" fromto="{_f(p.p0)} {_f(p.p1)}" '
                           f'{_ARM_COL} rgba="{rgba}"/>')
        return "".join(out)

    return (
        '<body name="base_link_inertia" quat="0 0 0 1">'
        f'<inertial pos="0 0 0.03" mass="{UR5_MASSES["base"]}" diaginertia="0.0044 0.0044 0.0072"/>'
        f'<geom name="base" type="cylinder" size="0.075 0.04" pos="0 0 0.04" {_ARM_COL} rgba="0.3 0.3 0.32 1"/>'
        f'<body name="shoulder_link" pos="0 0 {d.d1}" {grav}>{_joint(0)}{_inertial("shoulder")}'
        f'{geoms("shoulder_link")}'
        f'<body name="upper_arm_link" quat="{_f(rpy_quat(math.pi / 2, 0, 0))}" {grav}>{_joint(1)}'
        f'{_inertial("upper_arm")}{geoms("upper_arm_link")}'
        f'<body name="forearm_link" pos="{d.a2} 0 0" {grav}>{_joint(2)}{_inertial("forearm")}'
        f'{geoms("forearm_link")}'
        f'<body name="wrist_1_link" pos="{d.a3} 0 {d.d4}" {grav}>{_joint(3)}{_inertial("wrist_1")}'
        f'{geoms("wrist_1_link")}'
        f'<body name="wrist_2_link" pos="0 {-d.d5} 0" quat="{_f(rpy_quat(math.pi / 2, 0, 0))}" {grav}>'
        f'{_joint(4)}{_inertial("wrist_2")}{geoms("wrist_2_link")}'
        f'<body name="wrist_3_link" pos="0 {d.d6} 0" quat="{_f(rpy_quat(math.pi / 2, math.pi, math.pi))}" '
        f'{grav}>{_joint(5)}{_inertial("wrist_3")}{geoms("wrist_3_link")}'
        f'<site name="tool0" quat="{_f(r_tool0)}" size="0.005"/>'
        f'<frame quat="{_f(r_tool0)}">{gripper_xml(_WORLD_COL)}{board_body}</frame>'
        '</body></body></body></body></body></body></body>'
    )


def actuators_xml(grip_force: float) -> str:
    """Arm position servos (force-limited to the UR5 efforts) and the gripper tendon servo."""
    arm = "".join(
        f'<position name="{n}" joint="{n}" kp="{ARM_KP[k]}" kv="{ARM_KV[k]}" ctrllimited="false" '
        f'forcelimited="true" forcerange="{-UR5_EFFORT[k]} {UR5_EFFORT[k]}"/>'
        for k, n in enumerate(JOINT_NAMES))
    grip = (f'<position name="gripper" tendon="grip_opening" kp="{GRIP_KP}" kv="{GRIP_KV}" ctrllimited="true" '
            f'ctrlrange="0 {GRIPPER_STROKE}" forcelimited="true" forcerange="{-grip_force} {grip_force}"/>')
    return f"<actuator>{arm}{grip}</actuator>"


@dataclass
class PlacedObject:
    """An object to spawn: its spec, drop pose (position (3,) m, quaternion wxyz), colour, density (kg/m³)."""

    spec: ObjectSpec
    pos: np.ndarray
    quat: np.ndarray
    rgba: np.ndarray = field(default_factory=lambda: np.array([0.8, 0.3, 0.2, 1.0]))
    density: float = 500.0


@dataclass
class CameraPlacement:
    """MuJoCo camera: position (3,), quaternion wxyz (MuJoCo camera axes) and the image's intrinsics."""

    pos: np.ndarray
    quat: np.ndarray
    intrinsics: CameraIntrinsics


def camera_xml(cam: CameraPlacement) -> str:
    """A camera with pixel intrinsics (MuJoCo's focalpixel/principalpixel; sensor size is arbitrary)."""
    k = cam.intrinsics
    w, h = k.width, k.height
    dx, dy = k.cx - (w - 1) / 2.0, k.cy - (h - 1) / 2.0
    return (f'<camera name="depth_cam" pos="{_f(cam.pos)}" quat="{_f(cam.quat)}" resolution="{w} {h}" '
            f'sensorsize="{w * 1e-5} {h * 1e-5}" focalpixel="{k.fx} {k.fy}" principalpixel="{-dx} {-dy}"/>')


@dataclass
class BoardMount:
    """An optional calibration plate fixed to the flange (off unless the cell is given one).

    Attributes:
        texture: name of the PNG in the model's assets (the printed plate, row 0 = y0 edge,
            column 0 = x0 edge of the outline).
        outline: (x0, y0, x1, y1) of the printed face in the board frame, m (z = 0 is the face;
            the plate extends ``thickness`` along +z, away from the printed side).
        pos, quat: the board frame in ``tool0``: position (3,) m, quaternion (w, x, y, z).
        thickness: plate thickness, m. mass: kg (gravity-compensated like the arm).
    """

    texture: str
    outline: tuple[float, float, float, float]
    pos: np.ndarray
    quat: np.ndarray
    thickness: float = 0.004
    mass: float = 0.15


def board_xml(board: BoardMount) -> tuple[str, str]:
    """(asset XML, body XML in tool0's frame) of the calibration plate: a textured slab mesh that
    collides with nothing (contype = conaffinity = 0), a site ``calib_board`` at the board frame, and
    a bracket bar from the coupling to the plate (visual only)."""
    x0, y0, x1, y1 = board.outline
    th = board.thickness
    verts = [(x0, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0),
             (x0, y0, th), (x1, y0, th), (x1, y1, th), (x0, y1, th)]
    # MuJoCo's texture v = 0 is the image's first row: the y0 edge; u = 0 its first column: the x0 edge
    tex = [((x - x0) / (x1 - x0), (y - y0) / (y1 - y0)) for x, y, _ in verts]
    # counter-clockwise seen from outside: printed face (normal −z) first
    faces = [(0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4),
             (1, 2, 6), (1, 6, 5), (2, 3, 7), (2, 7, 6), (3, 0, 4), (3, 4, 7)]
    assets = (f'<texture name="calib_board" type="2d" file="{board.texture}"/>'
              '<material name="calib_board" texture="calib_board" specular="0.05" shininess="0.1"/>'
              f'<mesh name="calib_board" vertex="{_f(np.ravel(verts))}" texcoord="{_f(np.ravel(tex))}" '
              f'face="{" ".join(str(i) for f in faces for i in f)}"/>')
    # bracket: from the coupling's rim to under the plate's near edge, behind the printed face
    p_board = np.asarray(board.pos, dtype=np.float64)
    near = float(p_board[0] + x0)
    bx0, bx1 = 0.03, max(near + 0.02, 0.05)
    bz = float(p_board[2]) + th + 0.003
    body = (f'<body name="calib_board_mount" gravcomp="1">'
            f'<geom name="calib_board_bracket" type="box" size="{(bx1 - bx0) / 2} 0.012 0.003" '
            f'pos="{(bx0 + bx1) / 2} 0 {bz}" contype="0" conaffinity="0" mass="0.05" rgba="0.5 0.5 0.52 1"/>'
            f'<body name="calib_board" pos="{_f(board.pos)}" quat="{_f(board.quat)}" gravcomp="1">'
            f'<geom name="calib_board" type="mesh" mesh="calib_board" material="calib_board" contype="0" '
            f'conaffinity="0" mass="{board.mass}"/>'
            '<site name="calib_board" pos="0 0 0" size="0.003" rgba="1 0 0 0"/>'
            '</body></body>')
    return assets, body


def build_cell_xml(camera: CameraPlacement, objects: list[PlacedObject], layout: CellLayout | None = None,
                   timestep: float = 0.002, grip_force: float = 100.0, board: BoardMount | None = None) -> str:
    """MJCF string of the whole cell.

    Args:
        camera: the overhead camera.
        objects: objects to drop (free bodies named after their specs).
        layout: table and placing bin (an open box on the table) (default
            :data:`grasp_core.layout.CELL_LAYOUT`).
        timestep: s. grip_force: the gripper actuator's force limit, N.
        board: optional calibration plate on the flange (:class:`BoardMount`; its texture PNG must be
            passed to MuJoCo in the assets, under ``board.texture``). None: no plate (default).
    """
    assets = []
    for o in objects:
        for aname, (fpath, scale) in o.spec.mesh_files.items():
            assets.append(f'<mesh name="{aname}" file="{fpath}" scale="{mesh_scale_attr(scale)}"/>')
    board_body = ""
    if board is not None:
        board_assets, board_body = board_xml(board)
        assets.append(board_assets)
    lay = layout or CELL_LAYOUT
    bx, by = lay.bin_centre
    hx, hy = lay.bin_inner[0] / 2, lay.bin_inner[1] / 2
    t, hz = lay.bin_wall_thickness / 2, lay.bin_height / 2
    (x0, x1), (y0, y1), tz = lay.table_x, lay.table_y, lay.table_thickness / 2
    table_pos = _f([(x0 + x1) / 2, (y0 + y1) / 2, lay.table_z - tz])
    table_size = _f([(x1 - x0) / 2, (y1 - y0) / 2, tz])
    bin_col = f'{_WORLD_COL} rgba="0.2 0.35 0.6 1"'
    world = [
        # directional lights without shadows: the arm beside the view casts none into the image
        '<light name="top" directional="true" pos="0.4 0.2 2.5" dir="0.1 0.05 -1" diffuse="0.65 0.65 0.65" '
        'specular="0.1 0.1 0.1" castshadow="false"/>',
        '<light name="side" directional="true" pos="-0.6 -0.8 1.5" dir="0.4 0.5 -0.6" diffuse="0.3 0.3 0.3" '
        'specular="0 0 0" castshadow="false"/>',
        f'<geom name="table" type="box" pos="{table_pos}" size="{table_size}" {_WORLD_COL} '
        'friction="0.7 0.005 0.0001" rgba="0.62 0.55 0.45 1"/>',
        f'<body name="bin" pos="{bx} {by} {_f(lay.table_z)}">'
        f'<geom name="bin_floor" type="box" pos="0 0 0.002" size="{hx} {hy} 0.002" {bin_col}/>'
        f'<geom name="bin_wall_px" type="box" pos="{hx + t} 0 {hz}" size="{t} {hy + 2 * t} {hz}" {bin_col}/>'
        f'<geom name="bin_wall_nx" type="box" pos="{-hx - t} 0 {hz}" size="{t} {hy + 2 * t} {hz}" {bin_col}/>'
        f'<geom name="bin_wall_py" type="box" pos="0 {hy + t} {hz}" size="{hx} {t} {hz}" {bin_col}/>'
        f'<geom name="bin_wall_ny" type="box" pos="0 {-hy - t} {hz}" size="{hx} {t} {hz}" {bin_col}/>'
        '</body>',
        camera_xml(camera),
        arm_xml(board_body),
    ]
    for o in objects:
        gs = []
        for k, g in enumerate(o.spec.geoms):
            attrs = f'name="{o.spec.name}_g{k}" type="{g.type}" pos="{_f(g.pos)}" euler="{_f(g.euler)}"'
            attrs += f' mesh="{g.mesh}"' if g.type == "mesh" else f' size="{_f(g.size)}"'
            # condim 6: torsional and rolling friction, so that lying cylinders and spheres come to rest
            # (rolling resistance 1 mm, hard plastic on a table) instead of rolling on for ever
            gs.append(f'<geom {attrs} {_OBJ_COL} rgba="{_f(o.rgba)}" friction="0.9 0.01 0.001" condim="6" '
                      f'density="{o.density:.6g}"/>')
        world.append(f'<body name="{o.spec.name}" pos="{_f(o.pos)}" quat="{_f(o.quat)}">'
                     f'<freejoint name="{o.spec.name}_free"/>' + "".join(gs) + "</body>")
    return (
        '<mujoco model="grasp_cell"><compiler angle="radian" autolimits="true"/>'
        f'<option timestep="{timestep}" integrator="implicitfast" cone="elliptic" impratio="10"/>'
        f'<visual><global offwidth="{max(camera.intrinsics.width, 640)}" '
        f'offheight="{max(camera.intrinsics.height, 480)}"/>'
        '<map znear="0.02" zfar="10"/><quality shadowsize="0"/></visual>'
        '<statistic center="0.3 0 0.3" extent="1"/>'
        f'<asset>{"".join(assets)}</asset>'
        f'<worldbody>{"".join(world)}</worldbody>'
        '<tendon><fixed name="grip_opening"><joint joint="left_finger_joint" coef="1"/>'
        '<joint joint="right_finger_joint" coef="1"/></fixed></tendon>'
        '<equality><joint joint1="left_finger_joint" joint2="right_finger_joint" polycoef="0 1 0 0 0" '
        'solref="0.005 1"/></equality>'
        '<contact><exclude body1="left_finger" body2="right_finger"/></contact>'
        f'{actuators_xml(grip_force)}'
        '</mujoco>'
    )
