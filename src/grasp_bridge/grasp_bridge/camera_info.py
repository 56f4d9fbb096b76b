"""``sensor_msgs/CameraInfo`` ↔ :class:`grasp_core.camera.CameraIntrinsics`."""
from __future__ import annotations

import numpy as np
from grasp_core.camera import CameraInfoError, CameraIntrinsics, check_intrinsics
from sensor_msgs.msg import CameraInfo


def camera_info_to_intrinsics(msg: CameraInfo, source: str = "camera_info") -> CameraIntrinsics:
    """Pinhole intrinsics of a (rectified) image from its camera_info.

    Uses ``width``, ``height``, ``k`` (row-major 3×3, px) and ``header.frame_id``
    (the optical frame; empty → ``camera_depth_optical_frame``). Distortion is
    ignored: depth images are expected rectified (``image_rect_raw``).

    Args:
        msg: the camera_info.
        source: what it came from (e.g. the topic), used in the error message.

    Raises:
        CameraInfoError (a ValueError): zero size, or fx, fy, cx, cy not finite and > 0
            (e.g. an uncalibrated driver that publishes K = 0, or NaN/inf in K),
            or K with fewer than 9 values.
    """
    w, h = int(msg.width), int(msg.height)
    k = np.asarray(msg.k, dtype=np.float64).ravel()
    if k.size != 9:
        raise CameraInfoError(f"{source}: K has {k.size} values, expected 9")
    k = k.reshape(3, 3)
    check_intrinsics(w, h, k[0, 0], k[1, 1], k[0, 2], k[1, 2], source)
    frame = msg.header.frame_id or "camera_depth_optical_frame"
    return CameraIntrinsics(w, h, float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), frame)


def intrinsics_to_camera_info(intr: CameraIntrinsics, header=None) -> CameraInfo:
    """A camera_info for rectified images with these intrinsics (plumb_bob, zero distortion).

    ``header.frame_id`` is ``intr.frame_id`` unless ``header`` (copied) says otherwise.

    Raises:
        CameraInfoError: intrinsics that are not finite and > 0 (see
            :func:`grasp_core.camera.check_intrinsics`); no such camera_info is published.
    """
    check_intrinsics(intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, "intrinsics")
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
