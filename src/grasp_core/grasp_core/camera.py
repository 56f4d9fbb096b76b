"""Pinhole camera intrinsics, camera_info YAML files, and grasp deprojection / projection.

Frames follow REP 103/105: a camera optical frame has x right, y down, z
forward (along the viewing ray).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .grasp import Grasp, wrap_angle


class CameraInfoError(ValueError):
    """A camera_info YAML file or message that cannot be used."""


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of a rectified depth image.

    Attributes:
        width, height: image size, px.
        fx, fy: focal lengths, px.
        cx, cy: principal point, px (pixel-centre origin, as ROS camera_info K).
        frame_id: the camera optical frame the image is expressed in.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    frame_id: str = "camera_depth_optical_frame"

    @property
    def K(self) -> np.ndarray:  # noqa: N802 - the field's name
        """(3, 3) float64 camera matrix."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    @classmethod
    def default_for(cls, width: int, height: int, frame_id: str = "camera_depth_optical_frame") -> CameraIntrinsics:
        """Kinect-like defaults scaled to the image: fx = fy = 525·(width/640), centred principal point.

        The Cornell grasping dataset ships no intrinsics; these are the values
        the project documents for its frames (Kinect v1, 640×480).
        """
        f = 525.0 * width / 640.0
        return cls(int(width), int(height), f, f, (width - 1) / 2.0, (height - 1) / 2.0, frame_id)

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera at another resolution."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(int(width), int(height), self.fx * sx, self.fy * sy,
                                (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5, self.frame_id)

    def to_yaml_dict(self, camera_name: str = "camera") -> dict:
        """The camera_info YAML layout that camera_calibration / camera_info_manager write."""
        return {
            "image_width": self.width,
            "image_height": self.height,
            "camera_name": camera_name,
            "frame_id": self.frame_id,
            "camera_matrix": {"rows": 3, "cols": 3, "data": self.K.ravel().tolist()},
            "distortion_model": "plumb_bob",
            "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5},
            "rectification_matrix": {"rows": 3, "cols": 3, "data": np.eye(3).ravel().tolist()},
            "projection_matrix": {"rows": 3, "cols": 4, "data": np.hstack([self.K, np.zeros((3, 1))]).ravel().tolist()},
        }


def check_intrinsics(width, height, fx, fy, cx, cy, source: str = "camera_info") -> None:
    """Reject intrinsics that no rectified pinhole camera has.

    Args:
        width, height: image size, px; must be finite and > 0.
        fx, fy: focal lengths, px; must be finite and > 0 (an uncalibrated driver publishes K = 0).
        cx, cy: principal point, px; must be finite and > 0.
        source: what the values came from (a file name, a topic), for the message.

    Raises:
        CameraInfoError: with one line naming the first bad value.
    """
    for key, v in (("width", width), ("height", height), ("fx", fx), ("fy", fy), ("cx", cx), ("cy", cy)):
        try:
            ok = bool(np.isfinite(float(v)) and float(v) > 0)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise CameraInfoError(f"{source}: {key} = {v!r} (intrinsics must be finite and > 0)")


def load_camera_info_yaml(path: str | Path, frame_id: str | None = None) -> CameraIntrinsics:
    """Read a camera_info YAML (camera_calibration / camera_info_manager format).

    Uses ``image_width``, ``image_height`` and ``camera_matrix.data`` (row-major
    3×3 K). Distortion is not applied: depth images are expected rectified, and
    a non-zero distortion is accepted but ignored. ``frame_id`` (argument, else
    the file's optional ``frame_id`` key) names the optical frame.

    Raises:
        CameraInfoError: file missing, unreadable or without the keys above, or
            intrinsics that fail :func:`check_intrinsics` (non-finite or non-positive).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CameraInfoError(f"cannot read camera info {path}: {exc}") from exc
    try:
        w, h = int(data["image_width"]), int(data["image_height"])
        k = np.asarray(data["camera_matrix"]["data"], dtype=np.float64).reshape(3, 3)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CameraInfoError(f"{path}: not a camera_info YAML (need image_width, image_height, "
                              f"camera_matrix.data with 9 values): {exc}") from exc
    check_intrinsics(w, h, k[0, 0], k[1, 1], k[0, 2], k[1, 2], str(path))
    fid = frame_id or data.get("frame_id") or "camera_depth_optical_frame"
    return CameraIntrinsics(w, h, float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), str(fid))


def deproject_pixel(intr: CameraIntrinsics, u: float, v: float, depth: float) -> np.ndarray:
    """Back-project pixel (u, v) at depth z (m) to a 3-D point in the optical frame.

    Pinhole model: X = (u − cx)·z/fx, Y = (v − cy)·z/fy, Z = z. Returns (3,) float64 metres.
    """
    return np.array([(u - intr.cx) * depth / intr.fx, (v - intr.cy) * depth / intr.fy, depth])


def opening_metres(intr: CameraIntrinsics, width_px: float, angle: float, depth: float) -> float:
    """Gripper opening (m) of a grasp ``width_px`` wide at image angle Φ, at depth z.

    A segment of length w px along direction (cos Φ, −sin Φ) in the image at
    depth z spans w·sqrt((cos Φ/fx)² + (sin Φ/fy)²)·z metres (pinhole model).
    """
    return float(width_px * depth * np.hypot(np.cos(angle) / intr.fx, np.sin(angle) / intr.fy))


@dataclass(frozen=True)
class GraspPose:
    """A grasp in 3-D, in the camera optical frame.

    Attributes:
        position: (3,) float64 metres, the grasp centre on the surface at the measured depth.
        rotation: (3, 3) float64 rotation matrix, columns = grasp axes in the
            optical frame: x = y × z, y = jaw closing direction, z = approach direction.
        quaternion: (4,) float64 (x, y, z, w) of ``rotation``.
        opening: gripper opening, m.
        depth: depth at the centre, m.
    """

    position: np.ndarray
    rotation: np.ndarray
    quaternion: np.ndarray
    opening: float
    depth: float


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix → (4,) quaternion (x, y, z, w) with w ≥ 0 (via SciPy)."""
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(r).as_quat()
    return q if q[3] >= 0 else -q


def grasp_to_pose(intr: CameraIntrinsics, grasp: Grasp, depth: float) -> GraspPose:
    """Deproject an image grasp to a 3-D top-down grasp pose in the camera optical frame.

    The approach axis z is the viewing ray through the grasp centre (an overhead
    camera looks along the approach); the closing axis y is the image closing
    direction (cos Φ, −sin Φ) lifted to 3-D at the grasp depth and made
    orthogonal to z (Gram–Schmidt); x = y × z.

    Raises:
        ValueError: depth not finite and positive.
    """
    if not np.isfinite(depth) or depth <= 0:
        raise ValueError(f"grasp depth must be finite and positive, got {depth}")
    p = deproject_pixel(intr, grasp.u, grasp.v, depth)
    z = p / np.linalg.norm(p)
    du, dv = np.cos(grasp.angle), -np.sin(grasp.angle)
    y = np.array([du / intr.fx, dv / intr.fy, 0.0])
    y = y - z * float(y @ z)
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    r = np.stack([x, y, z], axis=1)
    opening = opening_metres(intr, grasp.width_px, grasp.angle, depth)
    return GraspPose(p, r, rotation_to_quaternion(r), opening, float(depth))


def project_grasp(intr: CameraIntrinsics, position, rotation, opening: float, jaw_length: float,
                  quality: float = 1.0) -> Grasp | None:
    """The image-space rectangle of a 3-D grasp (the inverse of :func:`grasp_to_pose`), pinhole model.

    The centre is the projection of the grasp point; the closing line joins the projections of
    the two jaw contacts ``position ± opening/2 · y``; the rectangle's length is the projection
    of ``jaw_length`` along the grasp's x axis at the grasp point. u = fx·x/z + cx, v = fy·y/z + cy.

    Args:
        intr: intrinsics of the camera whose optical frame ``position`` / ``rotation`` are in.
        position: (3,) grasp point, m. rotation: (3, 3) grasp axes (columns x, y = closing, z = approach).
        opening: jaw opening, m (≥ 0). jaw_length: jaw (pad) size along x, m. quality: copied.

    Returns:
        :class:`Grasp` (u, v, Φ in (−π/2, π/2], width_px, length_px, quality), or None when the
        grasp point or a jaw contact is not in front of the camera (z ≤ 0) or the centre falls
        outside the image.
    """
    p = np.asarray(position, dtype=np.float64).reshape(3)
    r = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
    half = 0.5 * float(opening) * r[:, 1]
    pts = np.stack([p, p + half, p - half, p + 0.5 * float(jaw_length) * r[:, 0]])
    if not (np.all(np.isfinite(pts)) and np.all(pts[:, 2] > 0)):
        return None
    uv = np.stack([intr.fx * pts[:, 0] / pts[:, 2] + intr.cx, intr.fy * pts[:, 1] / pts[:, 2] + intr.cy], axis=1)
    u, v = uv[0]
    if not (-0.5 <= u < intr.width - 0.5 and -0.5 <= v < intr.height - 0.5):
        return None
    du, dv = uv[1] - uv[2]
    if np.hypot(du, dv) < 1e-9:  # closing line along the viewing ray: take the x axis' normal
        du, dv = -(uv[3] - uv[0])[1], (uv[3] - uv[0])[0]
    angle = float(wrap_angle(np.arctan2(-dv, du)))
    return Grasp(float(u), float(v), angle, float(np.hypot(*(uv[1] - uv[2]))),
                 float(2.0 * np.hypot(*(uv[3] - uv[0]))), float(quality))
