""":class:`grasp_core.inference.Detection` → ``grasp_interfaces/GraspCandidateArray``."""
from __future__ import annotations

import math

import numpy as np
from grasp_core.inference import Detection

from grasp_interfaces.msg import GraspCandidate, GraspCandidateArray


def detection_to_msg(det: Detection, header, image_width: int, image_height: int,
                     model_id: str) -> GraspCandidateArray:
    """Build the candidates message of one detection, best first.

    Args:
        det: the detection; its grasps are in source-image pixels and its poses
            (when not None) in the camera optical frame.
        header: ``std_msgs/Header`` of the source depth image (stamp and optical
            frame are copied unchanged).
        image_width, image_height: size of the source image, px.
        model_id: model card name of the network that proposed the grasps.

    Returns:
        A ``GraspCandidateArray``: per candidate ``pose`` (position m, quaternion of
        the grasp frame) and ``opening`` (m) from the pose when known
        (``pose_valid`` true), else identity pose, ``pose_valid`` false and
        ``opening`` NaN; ``quality``, ``center_u/v``, ``angle``, ``width_px``,
        ``length_px``; ``depth`` (m, NaN when unknown); ``model_id``; ``shape_label`` /
        ``shape_confidence`` from ``det.classes`` (per grasp (name, confidence)) when the detector
        labels its grasps (:class:`grasp_core.nn.detseg_onnx.DetSegDetection`), else empty / 0.
    """
    out = GraspCandidateArray()
    out.header = header
    out.image_width, out.image_height = int(image_width), int(image_height)
    classes = getattr(det, "classes", None) or [("", 0.0)] * len(det.grasps)
    for g, z, pose, (label, conf) in zip(det.grasps, det.depths, det.poses, classes, strict=True):
        c = GraspCandidate()
        c.shape_label, c.shape_confidence = str(label), float(conf)
        if pose is not None:
            c.pose.position.x, c.pose.position.y, c.pose.position.z = (float(x) for x in pose.position)
            qx, qy, qz, qw = (float(x) for x in pose.quaternion)
            c.pose.orientation.x, c.pose.orientation.y, c.pose.orientation.z, c.pose.orientation.w = qx, qy, qz, qw
            c.pose_valid = True
            c.opening = float(pose.opening)
        else:
            c.pose.orientation.w = 1.0
            c.pose_valid = False
            c.opening = math.nan
        c.quality = float(np.clip(g.quality, 0.0, 1.0))
        c.center_u, c.center_v = float(g.u), float(g.v)
        c.angle = float(g.angle)
        c.width_px, c.length_px = float(g.width_px), float(g.length_px)
        c.depth = float(z) if np.isfinite(z) else math.nan
        c.model_id = str(model_id)
        out.candidates.append(c)
    return out
