"""``sensor_msgs/CameraInfo`` ↔ :class:`grasp_core.camera.CameraIntrinsics`."""
from __future__ import annotations

import numpy as np
from grasp_core.camera import CameraInfoError, CameraIntrinsics
from sensor_msgs.msg import CameraInfo


def camera_info_to_intrinsics(msg: CameraInfo) -> CameraIntrinsics:
    """Pinhole intrinsics of a (rectified) image from its camera_info.

    Uses ``width``, ``height``, ``k`` (row-major 3×3, px) and ``header.frame_id``
    (the optical frame; empty → ``camera_depth_optical_frame``). Distortion is
    ignored: depth images are expected rectified (``image_rect_raw``).

    Raises:
        CameraInfoError (a ValueError): zero size or non-positive focal length
            (e.g. an uncalibrated driver that publishes K = 0).
    """
    w, h = int(msg.width), int(msg.height)
    k = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if w <= 0 or h <= 0:
        raise CameraInfoError(f"camera_info has image size {w}x{h}")
    if k[0, 0] <= 0 or k[1, 1] <= 0:
        raise CameraInfoError(f"camera_info has non-positive focal length fx={k[0, 0]} fy={k[1, 1]}")
    frame = msg.header.frame_id or "camera_depth_optical_frame"
    return CameraIntrinsics(w, h, float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), frame)


def intrinsics_to_camera_info(intr: CameraIntrinsics, header=None) -> CameraInfo:
    """A camera_info for rectified images with these intrinsics (plumb_bob, zero distortion).

    ``header.frame_id`` is ``intr.frame_id`` unless ``header`` (copied) says otherwise.
    """
    msg = CameraInfo()
    if header is not None:
        msg.header = header
    if not msg.header.frame_id:
        msg.header.frame_id = intr.frame_id
    msg.width, msg.height = int(intr.width), int(intr.height)
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = intr.K.ravel().tolist()
    msg.r = np.eye(3).ravel().tolist()
    msg.p = np.hstack([intr.K, np.zeros((3, 1))]).ravel().tolist()
    return msg
