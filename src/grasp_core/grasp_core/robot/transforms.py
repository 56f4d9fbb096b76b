"""Rigid transforms between the camera and the robot: hand-eye extrinsics files and grasp → tool0 targets.

Notation: ``T_a_b`` is the (4, 4) float64 homogeneous transform that maps
coordinates in frame b to frame a (the pose of b in a), metres; rotations are
proper rotation matrices; quaternions are (x, y, z, w) as in ROS and
``scipy.spatial.transform.Rotation``.

Grasp frame (see ``grasp_core.camera.GraspPose``): columns of the rotation are
x = y × z, y = jaw closing direction, z = approach direction. The TCP frame of
the gripper is this grasp frame at the target: its origin is the grasp point
between the pads, ``tcp_offset`` m along tool0's z, so
``T_tool0_tcp = [R_tool0_tcp | (0, 0, tcp_offset)]`` with R_tool0_tcp = Rot_z(gripper_yaw)
(0 when the jaws close along tool0's y axis).

Extrinsics YAML file (hand-eye calibration result, one static transform)::

    parent_frame: base_link
    child_frame: camera_depth_optical_frame
    translation: [x, y, z]        # m, child origin in parent
    rotation: [x, y, z, w]        # unit quaternion, child axes in parent

i.e. T_parent_child, the same numbers ``tf2_ros static_transform_publisher``
takes (``--x --y --z --qx --qy --qz --qw --frame-id parent --child-frame-id child``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from .gripper import TCP_OFFSET

BASE_FRAME = "base_link"
CAMERA_FRAME = "camera_depth_optical_frame"


class ExtrinsicsError(ValueError):
    """An extrinsics (hand-eye calibration) file or value that cannot be used."""


# --------------------------------------------------------------------------------------------
# Basic rigid-transform helpers
# --------------------------------------------------------------------------------------------

def make_transform(rotation, translation) -> np.ndarray:
    """(4, 4) float64 transform from a (3, 3) rotation matrix and a (3,) translation (m)."""
    t = np.eye(4)
    t[:3, :3] = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
    t[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return t


def invert_transform(t) -> np.ndarray:
    """Inverse of a (4, 4) rigid transform: [Rᵀ | −Rᵀ p]. Returns (4, 4) float64."""
    t = np.asarray(t, dtype=np.float64)
    r, p = t[:3, :3], t[:3, 3]
    return make_transform(r.T, -r.T @ p)


def _check_rigid(t, name: str) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if t.shape != (4, 4) or not np.all(np.isfinite(t)):
        raise ValueError(f"{name} must be a finite (4, 4) transform, got shape {t.shape}")
    r = t[:3, :3]
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
        raise ValueError(f"{name}: rotation block is not a proper rotation matrix")
    if not np.allclose(t[3], [0, 0, 0, 1]):
        raise ValueError(f"{name}: last row must be [0, 0, 0, 1]")
    return t


def rot_z(angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` rad about z."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# --------------------------------------------------------------------------------------------
# Extrinsics file
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Extrinsics:
    """A static transform T_parent_child (hand-eye calibration result).

    Attributes:
        parent_frame, child_frame: frame ids (default ``base_link`` ← ``camera_depth_optical_frame``).
        translation: (3,) float64, m, child origin in the parent frame.
        rotation: (4,) float64 unit quaternion (x, y, z, w), child axes in the parent frame
            (normalised on construction, sign chosen with w ≥ 0).

    Raises:
        ExtrinsicsError: non-finite values, wrong lengths, empty frame ids, or a quaternion
            whose norm is not 1 within 1e-3 (a wrong order or units, not rounding).
    """

    translation: np.ndarray
    rotation: np.ndarray
    parent_frame: str = BASE_FRAME
    child_frame: str = CAMERA_FRAME

    def __post_init__(self) -> None:
        try:
            t = np.array(self.translation, dtype=np.float64).reshape(-1)
            q = np.array(self.rotation, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ExtrinsicsError(f"translation/rotation must be numbers: {exc}") from exc
        if t.shape != (3,) or not np.all(np.isfinite(t)):
            raise ExtrinsicsError(f"translation must be 3 finite numbers [x, y, z] (m), got {self.translation!r}")
        if q.shape != (4,) or not np.all(np.isfinite(q)):
            raise ExtrinsicsError(f"rotation must be a quaternion of 4 finite numbers [x, y, z, w], "
                                  f"got {self.rotation!r}")
        n = float(np.linalg.norm(q))
        if abs(n - 1.0) > 1e-3:
            raise ExtrinsicsError(f"rotation quaternion {q.tolist()} has norm {n:.6f}, not 1 "
                                  f"(expected [x, y, z, w]; Euler angles are not accepted)")
        q = q / n
        if q[3] < 0:
            q = -q
        if not (isinstance(self.parent_frame, str) and self.parent_frame and isinstance(self.child_frame, str)
                and self.child_frame):
            raise ExtrinsicsError(f"parent_frame and child_frame must be non-empty strings, "
                                  f"got {self.parent_frame!r}, {self.child_frame!r}")
        t.setflags(write=False)
        q.setflags(write=False)
        object.__setattr__(self, "translation", t)
        object.__setattr__(self, "rotation", q)

    @property
    def matrix(self) -> np.ndarray:
        """(4, 4) float64 T_parent_child."""
        return make_transform(Rotation.from_quat(self.rotation).as_matrix(), self.translation)

    @classmethod
    def from_matrix(cls, t_parent_child, parent_frame: str = BASE_FRAME,
                    child_frame: str = CAMERA_FRAME) -> Extrinsics:
        """From a (4, 4) rigid transform T_parent_child. Raises ExtrinsicsError if not rigid."""
        try:
            t = _check_rigid(t_parent_child, "T_parent_child")
        except ValueError as exc:
            raise ExtrinsicsError(str(exc)) from exc
        return cls(t[:3, 3].copy(), Rotation.from_matrix(t[:3, :3]).as_quat(), parent_frame, child_frame)

    def to_dict(self) -> dict:
        """The YAML layout (module docstring) as plain Python types."""
        return {"parent_frame": self.parent_frame, "child_frame": self.child_frame,
                "translation": [float(v) for v in self.translation],
                "rotation": [float(v) for v in self.rotation]}


def load_extrinsics(path: str | Path, parent_frame: str | None = None,
                    child_frame: str | None = None) -> Extrinsics:
    """Read an extrinsics YAML file (module docstring).

    Args:
        path: the file.
        parent_frame, child_frame: when given, the file's frames must equal them
            (guards against loading a camera → base file the wrong way round).

    Returns:
        :class:`Extrinsics` (T_parent_child).

    Raises:
        ExtrinsicsError: file missing or unreadable, not a mapping, missing keys, bad
            values, or frames different from the ones asked for.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ExtrinsicsError(f"cannot read extrinsics {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ExtrinsicsError(f"{path}: expected a mapping with parent_frame, child_frame, translation, rotation")
    missing = [k for k in ("parent_frame", "child_frame", "translation", "rotation") if k not in data]
    if missing:
        raise ExtrinsicsError(f"{path}: missing key(s) {missing} (need parent_frame, child_frame, "
                              f"translation [x, y, z] m, rotation [x, y, z, w])")
    try:
        ext = Extrinsics(data["translation"], data["rotation"], data["parent_frame"], data["child_frame"])
    except ExtrinsicsError as exc:
        raise ExtrinsicsError(f"{path}: {exc}") from exc
    for want, got, key in ((parent_frame, ext.parent_frame, "parent_frame"),
                           (child_frame, ext.child_frame, "child_frame")):
        if want is not None and want != got:
            raise ExtrinsicsError(f"{path}: {key} is {got!r}, expected {want!r}")
    return ext


def save_extrinsics(path: str | Path, extrinsics: Extrinsics) -> Path:
    """Write ``extrinsics`` as an extrinsics YAML file (creates parent folders); returns the path.

    Raises:
        ExtrinsicsError: the file cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(extrinsics.to_dict(), sort_keys=False, default_flow_style=None))
    except OSError as exc:
        raise ExtrinsicsError(f"cannot write extrinsics {path}: {exc}") from exc
    return path


# --------------------------------------------------------------------------------------------
# Grasps: camera → base, tool0 targets
# --------------------------------------------------------------------------------------------

def grasp_pose_matrix(grasp) -> np.ndarray:
    """(4, 4) float64 T_camera_grasp from a ``GraspPose`` (``.position`` m, ``.rotation`` (3, 3)) or a (4, 4)."""
    if hasattr(grasp, "position") and hasattr(grasp, "rotation"):
        t = make_transform(grasp.rotation, grasp.position)
    else:
        t = np.asarray(grasp, dtype=np.float64)
    return _check_rigid(t, "grasp pose")


def camera_pose_to_base(t_base_camera, grasp_pose_in_camera) -> np.ndarray:
    """Express a camera-frame grasp in the robot base frame: T_base_grasp = T_base_camera · T_camera_grasp.

    Args:
        t_base_camera: (4, 4) pose of the camera optical frame in ``base_link`` (hand-eye
            calibration, e.g. ``load_extrinsics(...).matrix``), or an :class:`Extrinsics`.
        grasp_pose_in_camera: ``GraspPose`` or (4, 4) T_camera_grasp, m.

    Returns:
        (4, 4) float64 T_base_grasp (grasp frame axes as in the module docstring).

    Raises:
        ValueError: a transform that is not a finite rigid (4, 4).
    """
    if isinstance(t_base_camera, Extrinsics):
        t_base_camera = t_base_camera.matrix
    return _check_rigid(t_base_camera, "T_base_camera") @ grasp_pose_matrix(grasp_pose_in_camera)


def vertical_grasp_frame(t_base_grasp, min_horizontal: float = 1e-3) -> np.ndarray:
    """Force a base-frame grasp to approach along the table normal (−z of ``base_link``).

    z' = (0, 0, −1); y' = the jaw closing direction projected into the table plane and
    normalised; x' = y' × z'. The position is unchanged.

    Raises:
        ValueError: the closing direction is within ``min_horizontal`` (norm of its
            horizontal part) of vertical, so no jaw direction can be kept.
    """
    t = _check_rigid(t_base_grasp, "T_base_grasp")
    y = t[:3, 1].copy()
    y[2] = 0.0
    n = float(np.linalg.norm(y))
    if n < min_horizontal:
        raise ValueError("jaw closing direction is (nearly) vertical: cannot project it into the table plane")
    y /= n
    z = np.array([0.0, 0.0, -1.0])
    return make_transform(np.stack([np.cross(y, z), y, z], axis=1), t[:3, 3])


def top_down_tcp_pose(t_base_camera, grasp_pose_in_camera, tcp_offset: float = TCP_OFFSET,
                      vertical_approach: bool = True, grasp_depth: float = 0.0,
                      gripper_yaw: float = 0.0) -> np.ndarray:
    """``tool0`` target in ``base_link`` that puts the gripper's TCP on a camera-frame grasp.

    Steps: T_base_grasp = T_base_camera · T_camera_grasp (:func:`camera_pose_to_base`);
    optionally :func:`vertical_grasp_frame` (approach = −z of ``base_link``, jaws kept
    in the table plane); the TCP goes ``grasp_depth`` m past the grasp point along the
    approach; then T_base_tool0 = T_base_tcp · T_tool0_tcp⁻¹ with
    T_tool0_tcp = [Rot_z(gripper_yaw) | (0, 0, tcp_offset)].

    Args:
        t_base_camera: (4, 4) camera optical frame in ``base_link`` (or :class:`Extrinsics`).
        grasp_pose_in_camera: ``GraspPose`` or (4, 4) T_camera_grasp.
        tcp_offset: tool0 → TCP distance along tool0 z, m (2F-85: ``gripper.TCP_OFFSET``).
        vertical_approach: force the approach to the table normal (default True).
        grasp_depth: how far past the measured surface point the TCP goes, m (≥ 0 sinks
            the pads into the object's outline; the grasp point is on the visible surface).
        gripper_yaw: rotation of the TCP frame about tool0 z, rad (0: jaws close along tool0 y).

    Returns:
        (4, 4) float64 T_base_link_tool0; its z axis is the approach direction.
        A parallel-jaw grasp is symmetric: ``flip_jaws(T)`` is an equivalent target.

    Raises:
        ValueError: bad transforms, or a vertical closing direction with ``vertical_approach``.
    """
    t = camera_pose_to_base(t_base_camera, grasp_pose_in_camera)
    if vertical_approach:
        t = vertical_grasp_frame(t)
    t = offset_along_approach(t, grasp_depth)
    t_tool0_tcp = make_transform(rot_z(gripper_yaw), [0.0, 0.0, tcp_offset])
    return t @ invert_transform(t_tool0_tcp)


def offset_along_approach(t_base_tool0, distance: float) -> np.ndarray:
    """The pose moved by ``distance`` m along its own z (approach) axis; negative backs away.

    Returns a new (4, 4) float64; orientation unchanged.
    """
    t = np.array(t_base_tool0, dtype=np.float64)
    t[:3, 3] += distance * t[:3, 2]
    return t


def pregrasp_pose(t_base_tool0, clearance: float = 0.10) -> np.ndarray:
    """Pre-grasp: the grasp pose backed off ``clearance`` m against the approach (same orientation).

    Raises ValueError for a negative clearance.
    """
    if clearance < 0:
        raise ValueError(f"clearance must be non-negative, got {clearance}")
    return offset_along_approach(t_base_tool0, -clearance)


def lift_pose(t_base_tool0, height: float = 0.10) -> np.ndarray:
    """Post-grasp lift: the pose raised ``height`` m along +z of ``base_link`` (same orientation)."""
    t = np.array(t_base_tool0, dtype=np.float64)
    t[2, 3] += height
    return t


def flip_jaws(t_base_tool0) -> np.ndarray:
    """The equivalent parallel-jaw target rotated by π about the approach axis: T · Rot_z(π)."""
    return np.asarray(t_base_tool0, dtype=np.float64) @ make_transform(rot_z(math.pi), np.zeros(3))
