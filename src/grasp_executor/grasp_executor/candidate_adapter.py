"""``grasp_candidate_adapter`` node: other robot software's grasps → ``GraspCandidateArray``.

GPD, GraspNet / Contact-GraspNet wrappers, MoveIt Task Constructor stages or a pose estimator with
grasp tables publish grasps in their own message types; this node republishes them on
``output_topic`` (``/grasp_candidates``) for the executor, which validates them exactly as it
validates our detectors' candidates (frame, approach cone, finite, fresh, workspace, stroke,
reachability, collisions against the sensed depth).

Inputs (each off when its topic parameter is ""):

* ``pose_array_topic``: ``geometry_msgs/PoseArray`` — one candidate per pose, all with the
  ``opening`` (m) and ``quality`` parameters; order kept (the executor takes the highest quality,
  first of equals).
* ``pose_stamped_topic``: ``geometry_msgs/PoseStamped`` — one candidate.
* ``moveit_grasp_topic``: ``moveit_msgs/Grasp`` (full installs; ``moveit_msgs`` is imported only
  there) — opening from ``grasp_posture``'s ``robotiq_85_left_knuckle_joint`` (last point, the 2F-85
  knuckle mapping of :mod:`grasp_core.robot.gripper`), quality ``grasp_quality``; ``grasp_pose`` is
  the ``tool0`` pose, so the grasp point is ``moveit_tcp_offset`` along its z. moveit_msgs has no
  array message: a ``Grasp[]`` (e.g. a ``GraspPlanning`` response) goes through
  :func:`moveit_grasps_to_candidates`.

Pose convention (``grasp_interfaces/GraspCandidate``): position = the grasp point on the object
(m), z axis = approach direction (the gripper moves along +z), y axis = jaw closing direction.
The header (frame and stamp) is copied unchanged: the executor resolves the frame (``base_link``,
the calibrated camera frame, tf2 frames in full installs) and refuses stale stamps.

Image-space fields: projected into the camera (:func:`grasp_core.camera.project_grasp`) when
``camera_info_topic`` has delivered intrinsics and the frame can be related to the camera's
(:class:`.frames.FrameResolver`); otherwise marked absent: ``image_width = image_height = 0`` and
``center_u``, ``center_v``, ``angle``, ``width_px``, ``length_px``, ``depth`` NaN (projected:
``depth`` is the grasp point's optical-axis depth). The executor's
checks use the 3-D pose only.
"""
from __future__ import annotations

import math

import numpy as np
from geometry_msgs.msg import PoseArray, PoseStamped
from grasp_bridge.camera_info import camera_info_to_intrinsics
from grasp_bridge.log import OncePerCause
from grasp_bridge.params import declare_config
from grasp_bridge.qos import result_qos, sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_core.camera import project_grasp
from grasp_core.config import CandidateAdapterConfig
from grasp_core.robot import ROBOTIQ_2F85
from grasp_core.robot.gripper import PAD_HALF
from rclpy.node import Node
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo

from grasp_interfaces.msg import GraspCandidate, GraspCandidateArray

from .frames import FrameResolver

#: Jaw (pad) size along the grasp x axis, m: the image rectangle's length.
JAW_LENGTH = 2.0 * PAD_HALF[0]


def pose_to_candidate(pose, opening: float, quality: float, model_id: str) -> GraspCandidate:
    """A ``geometry_msgs/Pose`` (grasp point, z = approach, y = closing) → ``GraspCandidate``.

    The image-space fields are marked absent (NaN); :func:`fill_image_fields` fills them.
    """
    c = GraspCandidate()
    c.pose = pose
    c.pose_valid = True
    c.opening, c.quality, c.model_id = float(opening), float(quality), str(model_id)
    c.center_u = c.center_v = c.angle = c.width_px = c.length_px = c.depth = math.nan
    return c


def moveit_grasp_to_candidate(grasp, tcp_offset: float, model_id: str, gripper=ROBOTIQ_2F85) -> GraspCandidate:
    """A ``moveit_msgs/Grasp`` → ``GraspCandidate`` (module docstring); reads only the message's fields.

    Args:
        grasp: ``moveit_msgs/Grasp`` (``grasp_pose``, ``grasp_posture``, ``grasp_quality``).
        tcp_offset: ``grasp_pose`` → grasp point along the pose's z, m.
        gripper: the 2F-85 (``joint_name`` and the knuckle → opening mapping).

    Returns:
        The candidate; opening NaN when ``grasp_posture`` has no point for the gripper's joint (the
        executor then rejects it as non-finite). Frame and stamp are ``grasp.grasp_pose.header``'s.
    """
    pose = grasp.grasp_pose.pose
    q = pose.orientation
    z = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()[:, 2] if (q.x, q.y, q.z, q.w) != (0, 0, 0, 0) \
        else np.full(3, np.nan)
    out_pose = type(pose)()
    out_pose.orientation = q
    out_pose.position.x, out_pose.position.y, out_pose.position.z = (
        float(v) for v in np.array([pose.position.x, pose.position.y, pose.position.z]) + tcp_offset * z)
    opening = math.nan
    posture = grasp.grasp_posture
    if gripper.joint_name in list(posture.joint_names) and posture.points:
        i = list(posture.joint_names).index(gripper.joint_name)
        positions = list(posture.points[-1].positions)
        if i < len(positions):
            opening = float(gripper.knuckle_to_opening(float(positions[i])))
    return pose_to_candidate(out_pose, opening, float(grasp.grasp_quality), model_id)


def moveit_grasps_to_candidates(grasps, tcp_offset: float, model_id: str = "moveit") -> GraspCandidateArray:
    """A sequence of ``moveit_msgs/Grasp`` (one frame and stamp: the first's ``grasp_pose.header``)
    → ``GraspCandidateArray``; grasps in another frame than the first are left out.

    Raises:
        ValueError: an empty sequence.
    """
    grasps = list(grasps)
    if not grasps:
        raise ValueError("no grasps")
    out = GraspCandidateArray()
    out.header = grasps[0].grasp_pose.header
    out.candidates = [moveit_grasp_to_candidate(g, tcp_offset, model_id) for g in grasps
                      if g.grasp_pose.header.frame_id == out.header.frame_id]
    return out


def fill_image_fields(msg: GraspCandidateArray, intr, t_camera_frame) -> int:
    """Project every candidate of ``msg`` into the camera; returns how many got image fields.

    Args:
        msg: candidates in ``msg.header.frame_id`` (modified in place).
        intr: :class:`grasp_core.camera.CameraIntrinsics`, or None (nothing is filled).
        t_camera_frame: (4, 4) T_camera_frame (the camera optical frame ← the candidates' frame), or None.

    The array's ``image_width`` / ``image_height`` are set to the camera's size when any candidate
    projects, else 0; a candidate that does not project (behind the camera, outside the image, bad
    pose) keeps NaN fields.
    """
    msg.image_width = msg.image_height = 0
    if intr is None or t_camera_frame is None:
        return 0
    n = 0
    for c in msg.candidates:
        q, p = c.pose.orientation, c.pose.position
        quat = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
        norm = float(np.linalg.norm(quat))
        if not (math.isfinite(norm) and norm > 0):
            continue
        rot = t_camera_frame[:3, :3] @ Rotation.from_quat(quat / norm).as_matrix()
        pos = t_camera_frame[:3, :3] @ np.array([p.x, p.y, p.z]) + t_camera_frame[:3, 3]
        opening = float(c.opening) if math.isfinite(c.opening) else 0.0
        g = project_grasp(intr, pos, rot, opening, JAW_LENGTH, float(c.quality))
        if g is None:
            continue
        c.center_u, c.center_v, c.angle, c.width_px, c.length_px = g.u, g.v, g.angle, g.width_px, g.length_px
        c.depth = float(pos[2])  # the grasp point is on the object's surface
        n += 1
    if n:
        msg.image_width, msg.image_height = int(intr.width), int(intr.height)
    return n


class CandidateAdapter(Node):
    """See the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_candidate_adapter", **kwargs)
        self.cfg = cfg = declare_config(self, CandidateAdapterConfig)
        self.frames = FrameResolver(self, cfg.base_frame, cfg.use_tf, cfg.extrinsics)
        self.log_once = OncePerCause(self.get_logger())
        self.intr = None
        self.pub = self.create_publisher(GraspCandidateArray, cfg.output_topic, result_qos())
        inputs = []
        if cfg.pose_array_topic:
            self.create_subscription(PoseArray, cfg.pose_array_topic, self.on_pose_array, 10)
            inputs.append(f"PoseArray on {cfg.pose_array_topic}")
        if cfg.pose_stamped_topic:
            self.create_subscription(PoseStamped, cfg.pose_stamped_topic, self.on_pose_stamped, 10)
            inputs.append(f"PoseStamped on {cfg.pose_stamped_topic}")
        if cfg.moveit_grasp_topic:
            try:
                from moveit_msgs.msg import Grasp
            except ImportError:
                self.get_logger().info(f"moveit_msgs is not importable (pip path): {cfg.moveit_grasp_topic} "
                                       f"(moveit_msgs/Grasp) is off")
            else:
                self.create_subscription(Grasp, cfg.moveit_grasp_topic, self.on_moveit_grasp, 10)
                inputs.append(f"moveit_msgs/Grasp on {cfg.moveit_grasp_topic}")
        if cfg.camera_info_topic:
            self.create_subscription(CameraInfo, cfg.camera_info_topic, self.on_info, sensor_qos())
        self.get_logger().info(f"candidate adapter: {', '.join(inputs) or 'no inputs'} -> GraspCandidateArray "
                               f"on {cfg.output_topic}; frames: {self.frames.describe()}")

    def on_info(self, msg: CameraInfo) -> None:
        try:
            self.intr = camera_info_to_intrinsics(msg)
        except ValueError as exc:
            self.log_once("camera_info", f"ignoring camera_info (image-space fields stay absent): {exc}")

    def t_camera(self, frame_id: str):
        """(4, 4) T_camera_frame for the image projection, or None (no intrinsics or transform)."""
        if self.intr is None:
            return None
        t_base_frame = self.frames.t_base(frame_id)
        t_base_camera = self.frames.t_base(self.intr.frame_id)
        if t_base_frame is None or t_base_camera is None:
            return None
        return np.linalg.inv(t_base_camera) @ t_base_frame

    def publish(self, msg: GraspCandidateArray, source: str) -> None:
        if msg.header.stamp.sec == 0 and msg.header.stamp.nanosec == 0:
            self.log_once("stamp:zero", f"{source} with stamp 0: the executor refuses it as stale "
                                        f"(stamp grasps with the time of the data they were found in)")
        try:
            fill_image_fields(msg, self.intr, self.t_camera(msg.header.frame_id))
        except Exception as exc:  # noqa: BLE001 - the 3-D candidate still goes out, image fields absent
            self.log_once(f"project:{type(exc).__name__}", f"image-space fields left absent: {exc}")
        self.pub.publish(msg)

    def on_pose_array(self, msg: PoseArray) -> None:
        out = GraspCandidateArray(header=msg.header)
        out.candidates = [pose_to_candidate(p, self.cfg.opening, self.cfg.quality, self.cfg.model_id)
                          for p in msg.poses]
        self.publish(out, "PoseArray")

    def on_pose_stamped(self, msg: PoseStamped) -> None:
        out = GraspCandidateArray(header=msg.header)
        out.candidates = [pose_to_candidate(msg.pose, self.cfg.opening, self.cfg.quality, self.cfg.model_id)]
        self.publish(out, "PoseStamped")

    def on_moveit_grasp(self, msg) -> None:
        try:
            out = moveit_grasps_to_candidates([msg], self.cfg.moveit_tcp_offset, self.cfg.model_id)
        except Exception as exc:  # noqa: BLE001 - a malformed message is dropped, the node keeps serving
            self.log_once(f"moveit:{type(exc).__name__}", f"dropping a moveit_msgs/Grasp: {exc}")
            return
        if not all(math.isfinite(c.opening) for c in out.candidates):
            self.log_once("moveit:opening", f"moveit_msgs/Grasp without {ROBOTIQ_2F85.joint_name} in grasp_posture: "
                                            f"opening unknown (NaN; the executor rejects it)")
        self.publish(out, "moveit_msgs/Grasp")


def main(args: list[str] | None = None) -> int:
    return spin_node(CandidateAdapter, "grasp_candidate_adapter", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
