"""The simulated overhead camera: its placement from the extrinsics, rendering, projection.

The pose of ``camera_depth_optical_frame`` in ``base_link`` comes from the extrinsics file (REP 103
optical axes: z forward, x right, y down); MuJoCo cameras look along −z with +y up, so the MJCF
camera is that rotation times diag(1, −1, −1). Rendering gives z-depth in metres (the distance
along the optical axis, as a Kinect reports it) and RGB; the sensor's noise and holes are
:func:`grasp_core.depth_noise.simulate_depth`'s.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera import CameraIntrinsics
from ..robot import load_extrinsics
from .config import NOMINAL_EXTRINSICS
from .model import CameraPlacement, mat_quat

#: Name of the camera in the cell's MJCF.
CAMERA_NAME = "depth_cam"


def camera_pose(path: str | Path | None) -> np.ndarray:
    """(4, 4) T_base_link_camera_depth_optical_frame from an extrinsics file; ``path`` None: the
    nominal pose of the shipped ``config/camera_extrinsics.yaml`` (with a warning).

    Raises:
        grasp_core.robot.ExtrinsicsError: the file is unreadable or not relative to ``base_link``.
    """
    if path is None:
        warnings.warn("config/camera_extrinsics.yaml not found (set GRASP_ROOT): using its nominal values",
                      stacklevel=3)
        t_xyz, q_xyzw = NOMINAL_EXTRINSICS
        t = np.eye(4)
        t[:3, :3] = Rotation.from_quat(q_xyzw).as_matrix()
        t[:3, 3] = t_xyz
        return t
    return load_extrinsics(path, parent_frame="base_link").matrix


def camera_placement(t_base_camera: np.ndarray, intrinsics: CameraIntrinsics) -> CameraPlacement:
    """The MJCF camera (MuJoCo axes) for an optical frame at ``t_base_camera`` (4, 4)."""
    r_mj = t_base_camera[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # MuJoCo cameras look along −z with +y up
    return CameraPlacement(t_base_camera[:3, 3].copy(), mat_quat(r_mj), intrinsics)


def render_depth_rgb(renderer, data, camera: str = CAMERA_NAME) -> tuple[np.ndarray, np.ndarray]:
    """(perfect z-depth (H, W) float32 m, rgb (H, W, 3) uint8) from ``camera`` with a ``mujoco.Renderer``."""
    renderer.update_scene(data, camera=camera)
    rgb = renderer.render().copy()
    renderer.enable_depth_rendering()
    try:
        renderer.update_scene(data, camera=camera)
        depth = renderer.render().astype(np.float32)
    finally:
        renderer.disable_depth_rendering()
    return depth, rgb


def project(points_base, t_base_camera: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(N, 3) base_link points → (N, 3) [u, v, z-depth] in the image (px, px, m)."""
    p = np.atleast_2d(np.asarray(points_base, dtype=np.float64))
    t = np.linalg.inv(t_base_camera)
    pc = p @ t[:3, :3].T + t[:3, 3]
    k = intrinsics
    return np.stack([k.fx * pc[:, 0] / pc[:, 2] + k.cx, k.fy * pc[:, 1] / pc[:, 2] + k.cy, pc[:, 2]], axis=1)


__all__ = ["CAMERA_NAME", "camera_placement", "camera_pose", "project", "render_depth_rgb"]
