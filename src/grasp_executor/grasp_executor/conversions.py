"""Message ↔ ROS-free conversions of the executor: candidates in, tool0 poses and attempt records out."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
from geometry_msgs.msg import PoseStamped
from grasp_bridge.stamps import stamp_s
from scipy.spatial.transform import Rotation

from grasp_core import motion


class BadCandidate(ValueError):
    """A candidate message that cannot be turned into a grasp; ``code`` is a rejection code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def candidate_input(c, header, quaternion_tolerance: float = 0.01) -> motion.CameraGrasp:
    """A candidate message (``grasp_interfaces/GraspCandidate``) + its array's header → :class:`CameraGrasp`.

    The pose is taken as given, in ``header.frame_id``; a pose the publisher marked invalid
    (``pose_valid`` false: no depth or intrinsics) has a NaN position (rejected as non-finite).

    Raises:
        BadCandidate: the orientation quaternion is not finite or its norm differs from 1 by more
            than ``quaternion_tolerance`` (it is never silently normalised).
    """
    q = c.pose.orientation
    quat = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    n = float(np.linalg.norm(quat))
    if not math.isfinite(n):
        raise BadCandidate(motion.validation.NON_FINITE, "candidate orientation is not finite")
    if abs(n - 1.0) > quaternion_tolerance:
        raise BadCandidate(motion.validation.INVALID,
                           f"orientation quaternion has norm {n:.4f}, not 1 ± {quaternion_tolerance}")
    rot = Rotation.from_quat(quat / n).as_matrix()
    p = c.pose.position
    position = np.array([p.x, p.y, p.z], dtype=np.float64)
    if not c.pose_valid:  # the publisher had no depth or intrinsics for it: nothing to execute
        position = np.full(3, np.nan)
    return motion.CameraGrasp(position=position, rotation=rot, opening=float(c.opening), quality=float(c.quality),
                              frame_id=header.frame_id, stamp=stamp_s(header.stamp))


def tool0_pose_msg(t, frame: str = "base_link", stamp=None) -> PoseStamped:
    """geometry_msgs/PoseStamped from a (4, 4) pose (m, in ``frame``)."""
    msg = PoseStamped()
    msg.header.frame_id = frame
    if stamp is not None:
        msg.header.stamp = stamp
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in t[:3, 3])
    x, y, z, w = Rotation.from_matrix(t[:3, :3]).as_quat()
    msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = (
        float(x), float(y), float(z), float(w))
    return msg


def candidate_summary(c) -> dict:
    """The image-space fields of a candidate message, for the attempt record."""
    return {"u": c.center_u, "v": c.center_v, "angle": c.angle, "width_px": c.width_px, "length_px": c.length_px,
            "quality": c.quality, "opening": c.opening, "model_id": c.model_id}


@dataclass
class Attempt:
    """One pick attempt, as published on ~/pick_results (JSON) and summarised by the main job.

    Times are node-clock seconds; ``final_opening`` m; ``stage_times`` s per stage.
    """

    index: int
    success: bool
    stage: str
    reason: str
    t_start: float
    t_end: float
    cycle_time_s: float
    final_opening: float
    stage_times: dict = field(default_factory=dict)
    candidate: dict = field(default_factory=dict)
    image_stamp: float = math.nan

    def to_json(self) -> str:
        return json.dumps(self.__dict__, default=float)
