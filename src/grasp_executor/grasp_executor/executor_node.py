"""``grasp_executor`` node: picks what ``/grasp_candidates`` proposes (ours or any other publisher's).

Every candidate is validated before anything moves (:func:`grasp_core.motion.validate_candidate`):
known frame, finite, fresh (``max_age_s`` on the node clock), grasp point inside the
configured workspace box, opening within the stroke, pre-grasp / grasp / lift reachable
within the joint limits, fingers clear of the sensed depth. Rejections are logged once per
cause (WARN), later repeats at DEBUG. The camera → ``base_link`` transform is the hand-eye
calibration: the extrinsics YAML (``extrinsics``, default ``config/camera_extrinsics.yaml``),
and/or a tf2 lookup (``use_tf``: ``auto`` — tf2 when tf2_ros is importable, the file for its own
camera frame when tf2 has no transform —, ``true`` — tf2 only —, ``false`` — the file only).

Motion backends are plugins (entry points ``grasp_executor.motion_backends``, parameter
``motion_backend``; ``auto`` = ``moveit_py`` when MoveIt's moveit_py is importable, else
``builtin``): ``builtin`` (analytic UR5 IK, ruckig time parameterisation, table and
depth collision checks, JointTrajectory topic) and ``moveit_py`` (MoveIt 2 planning group
``ur_manipulator``, pose goals for ``tool0``; full installs).

Pick sequence (:func:`grasp_core.motion.run_pick`): pregrasp → approach → close → lift →
place (above the bin) → release → home; success = the gripper did not close fully after the
lift and at the place pose.

Interfaces:
    subscribes ``candidates_topic`` (grasp_interfaces/GraspCandidateArray), ``/joint_states``,
        ``depth_topic`` + ``depth_info_topic`` (for the depth collision check);
    publishes the trajectory topic (trajectory_msgs/JointTrajectory) and ``~/pick_results``
        (std_msgs/String, one JSON record per attempt);
    action server ``~/pick`` (grasp_interfaces/action/Pick): one pick, with stage feedback;
    action client: the gripper (:mod:`grasp_executor.gripper`).

Automatic mode (``auto: true``): pick the best valid candidate of every fresh candidate
message taken after the arm reached home, until ``max_empty_frames`` consecutive fresh
messages bring no valid candidate (reported as "table clear" when they held no candidate at
all, else as "no valid candidate", with the rejections logged), ``max_consecutive_failures``
picks in a row fail, or ``max_picks`` attempts were made.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from geometry_msgs.msg import PoseStamped
from grasp_bridge.camera_info import camera_info_to_intrinsics
from grasp_bridge.image import image_to_numpy
from grasp_bridge.log import OncePerCause
from grasp_bridge.plugins import load_plugin
from grasp_bridge.qos import result_qos, sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_core.motion.validation import UNKNOWN_FRAME
from grasp_core.robot import load_extrinsics
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from grasp_core import motion
from grasp_interfaces.action import Pick
from grasp_interfaces.msg import GraspCandidateArray

from .gripper import RosGripper


def default_extrinsics_path() -> Path:
    """config/camera_extrinsics.yaml: the installed grasp_bringup share copy, else the checkout's."""
    try:
        from ament_index_python.packages import get_package_share_directory

        p = Path(get_package_share_directory("grasp_bringup")) / "config" / "camera_extrinsics.yaml"
        if p.is_file():
            return p
    except Exception:  # noqa: BLE001 - ament index absent or package not installed
        pass
    for root in (os.environ.get("GRASP_ROOT"), Path(__file__).resolve().parents[3]):
        if root and (Path(root) / "config" / "camera_extrinsics.yaml").is_file():
            return Path(root) / "config" / "camera_extrinsics.yaml"
    raise ValueError("config/camera_extrinsics.yaml not found; set the 'extrinsics' parameter")


def stamp_s(stamp) -> float:
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def candidate_input(c, header) -> motion.CameraGrasp:
    """A camera-frame candidate message → :class:`grasp_core.motion.CameraGrasp` (NaN pose when not valid)."""
    q = c.pose.orientation
    quat = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    n = float(np.linalg.norm(quat))
    rot = Rotation.from_quat(quat / n).as_matrix() if np.isfinite(n) and n > 1e-9 else np.full((3, 3), np.nan)
    p = c.pose.position
    position = np.array([p.x, p.y, p.z], dtype=np.float64)
    if not c.pose_valid:  # the publisher had no depth or intrinsics for it: nothing to execute
        position = np.full(3, np.nan)
    return motion.CameraGrasp(position=position, rotation=rot, opening=float(c.opening), quality=float(c.quality),
                              frame_id=header.frame_id, stamp=stamp_s(header.stamp))


@dataclass
class Attempt:
    """One pick attempt, as published on ~/pick_results and summarised by the main job."""

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


class ExecutorNode(Node):
    """See the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_executor", **kwargs)
        p = self.declare_parameter
        self.candidates_topic = str(p("candidates_topic", "/grasp_candidates").value)
        depth_topic = str(p("depth_topic", "/depth/image").value)
        depth_info_topic = str(p("depth_info_topic", "/depth/camera_info").value)
        self.use_depth_collision = bool(p("use_depth_collision", True).value)
        extrinsics = str(p("extrinsics", "").value)
        self.use_tf = str(p("use_tf", "auto").value).lower()
        self.base_frame = str(p("base_frame", "base_link").value)
        self.max_age_s = float(p("max_age_s", 1.0).value)
        ws_min = list(p("workspace_min", [0.25, -0.35, -0.02]).value)
        ws_max = list(p("workspace_max", [0.80, 0.35, 0.25]).value)
        grasp_depth = float(p("grasp_depth", 0.015).value)
        min_tcp_z = float(p("min_tcp_z", 0.025).value)
        height_fraction = float(p("height_fraction", 0.5).value)
        table_z = float(p("table_z", 0.0).value)
        pregrasp_clearance = float(p("pregrasp_clearance", 0.10).value)
        lift_height = float(p("lift_height", 0.15).value)
        opening_margin = float(p("opening_margin", 0.02).value)
        backend_name = str(p("motion_backend", "builtin").value)
        self.grip_effort = float(p("grip_effort", 100.0).value)
        self.min_held_opening = float(p("min_held_opening", 0.004).value)
        home = list(p("home_joints", [0.0]).value)
        place = list(p("place_joints", [0.0]).value)
        self.auto = bool(p("auto", False).value)
        self.max_consecutive_failures = int(p("max_consecutive_failures", 3).value)
        self.max_empty_frames = int(p("max_empty_frames", 3).value)
        self.max_picks = int(p("max_picks", 0).value)
        self.settle_s = float(p("settle_s", 0.3).value)
        self.wait_timeout_s = float(p("wait_timeout_s", 20.0).value)
        if self.max_age_s <= 0:
            raise ValueError(f"max_age_s must be > 0, got {self.max_age_s}")

        if len(ws_min) != 3 or len(ws_max) != 3 or any(a >= b for a, b in zip(ws_min, ws_max, strict=True)):
            raise ValueError(f"workspace_min {ws_min} / workspace_max {ws_max}: need 3 values each, min < max")
        self.workspace = motion.Workspace(*((float(a), float(b)) for a, b in zip(ws_min, ws_max, strict=True)))
        self.vconfig = motion.ValidationConfig(
            workspace=self.workspace, max_age_s=self.max_age_s, grasp_depth=grasp_depth, min_tcp_z=min_tcp_z,
            pregrasp_clearance=pregrasp_clearance, lift_height=lift_height, opening_margin=opening_margin,
            height_fraction=height_fraction, table_z=table_z)
        self.home_joints = np.asarray(home, dtype=np.float64) if len(home) == 6 else motion.HOME_JOINTS.copy()
        self.place_joints = np.asarray(place, dtype=np.float64) if len(place) == 6 else motion.PLACE_JOINTS.copy()
        if self.use_tf not in ("auto", "true", "false"):
            raise ValueError(f"use_tf must be auto, true or false, got {self.use_tf!r}")
        self.tf_buffer = None
        if self.use_tf != "false":
            try:
                import tf2_ros

                self.tf_buffer = tf2_ros.Buffer()
                self._tf_listener = tf2_ros.TransformListener(self.tf_buffer, self)
            except ImportError as exc:
                if self.use_tf == "true":
                    raise ValueError("use_tf is true but tf2_ros is not importable (pip path: use the "
                                     "extrinsics file, use_tf:=auto or false)") from exc
        self.extrinsics = None
        if self.use_tf != "true":
            path = Path(extrinsics) if extrinsics else default_extrinsics_path()
            self.extrinsics = load_extrinsics(path, parent_frame=self.base_frame)

        self.sub_group = MutuallyExclusiveCallbackGroup()
        self.client_group = ReentrantCallbackGroup()
        if backend_name == "auto":  # MoveIt where it is installed, else the built-in planner
            try:
                import moveit.planning  # noqa: F401

                backend_name = "moveit_py"
            except ImportError:
                backend_name = "builtin"
        backend_cls = load_plugin("grasp_executor.motion_backends", backend_name)
        self.backend = backend_cls(self, callback_group=self.sub_group)
        self.gripper = RosGripper(self, str(p("gripper_action", "/robotiq_gripper_controller/gripper_cmd").value),
                                  str(p("gripper_interface", "auto").value),
                                  timeout_s=float(p("gripper_timeout_s", 15.0).value),
                                  callback_group=self.client_group)

        self._lock = threading.Lock()
        self._busy = threading.Lock()
        self._latest: GraspCandidateArray | None = None
        self._latest_received = 0
        self._depth: dict[float, tuple[np.ndarray, object]] = {}
        self._info = None
        self.log_once = OncePerCause(self.get_logger())  # WARN once per cause, DEBUG after
        self.ready_since = -math.inf  # node-clock time the arm was last at home (images after it are usable)
        self.attempts: list[Attempt] = []
        self.rejections: dict[str, int] = {}
        self.finished = threading.Event()
        self.stop_reason = ""

        self.create_subscription(GraspCandidateArray, self.candidates_topic, self.on_candidates, result_qos(),
                                 callback_group=self.sub_group)
        if self.use_depth_collision:
            self.create_subscription(Image, depth_topic, self.on_depth, sensor_qos(), callback_group=self.sub_group)
            self.create_subscription(CameraInfo, depth_info_topic, self.on_info, sensor_qos(),
                                     callback_group=self.sub_group)
        self.results_pub = self.create_publisher(String, "~/pick_results", QoSProfile(depth=50))
        self.pick_server = ActionServer(
            self, Pick, "~/pick", execute_callback=self.execute_pick, goal_callback=self.on_goal,
            cancel_callback=lambda _g: CancelResponse.REJECT, callback_group=self.client_group)
        self._worker = None
        if self.auto:
            self._worker = threading.Thread(target=self.auto_loop, name="grasp_executor_auto", daemon=True)
            self._worker.start()
        self.get_logger().info(
            f"executor ready: backend '{backend_name}', candidates on {self.candidates_topic}, "
            f"{self._transform_source()} for {self.base_frame}, auto={self.auto}")

    # ------------------------------------------------------------------ inputs
    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_candidates(self, msg: GraspCandidateArray) -> None:
        with self._lock:
            self._latest = msg
            self._latest_received += 1
        if not self.auto and not self._busy.locked() and msg.candidates:
            # no automatic mode: validate anyway so bad input is reported as it arrives
            for c in msg.candidates:
                self.check(c, msg.header)

    def on_depth(self, msg: Image) -> None:
        try:
            depth = image_to_numpy(msg)
        except ValueError as exc:
            self.log_once("depth:decode", f"ignoring depth image for collision checks: {exc}")
            return
        with self._lock:
            self._depth[stamp_s(msg.header.stamp)] = (depth, msg.header.frame_id)
            while len(self._depth) > 8:
                self._depth.pop(min(self._depth))

    def on_info(self, msg: CameraInfo) -> None:
        try:
            self._info = camera_info_to_intrinsics(msg)
        except ValueError as exc:
            self.log_once("depth:camera_info", f"ignoring camera_info for collision checks: {exc}")

    # ------------------------------------------------------------------ validation
    def _transform_source(self) -> str:
        parts = (["tf2"] if self.tf_buffer is not None else []) + (
            [f"extrinsics file ({self.extrinsics.child_frame})"] if self.extrinsics is not None else [])
        return " then ".join(parts)

    def t_base_camera(self, frame_id: str, stamp: float):
        """(4, 4) T_base_camera for ``frame_id`` (tf2, then the extrinsics file), or None when unknown."""
        if self.tf_buffer is not None:
            from rclpy.time import Time

            try:
                tf = self.tf_buffer.lookup_transform(self.base_frame, frame_id, Time())
                t, r = tf.transform.translation, tf.transform.rotation
                m = np.eye(4)
                m[:3, :3] = Rotation.from_quat([r.x, r.y, r.z, r.w]).as_matrix()
                m[:3, 3] = [t.x, t.y, t.z]
                return m
            except Exception:  # noqa: BLE001 - tf2 raises several lookup exceptions; fall back to the file
                pass
        if self.extrinsics is not None and frame_id == self.extrinsics.child_frame:
            return self.extrinsics.matrix
        return None

    def collision_map(self, stamp: float):
        """The depth collision map of the image with this stamp (None when unavailable)."""
        if not self.use_depth_collision or self._info is None:
            return None
        with self._lock:
            entry = self._depth.get(stamp)
        if entry is None:
            return None
        depth, frame = entry
        t = self.t_base_camera(frame or self._info.frame_id, stamp)
        if t is None:
            return None
        try:
            return motion.DepthCollisionMap.from_depth(depth, self._info, t)
        except ValueError as exc:
            self.log_once("depth:map", f"no depth collision check for this image: {exc}")
            return None

    def check(self, c, header, collision=None):
        """Validate one candidate: a :class:`grasp_core.motion.GraspTarget`, or None (rejection logged)."""
        cand = candidate_input(c, header)
        t = self.t_base_camera(header.frame_id, cand.stamp)
        if t is None:
            rej = motion.Rejection(code=UNKNOWN_FRAME, reason=(
                f"no transform from {header.frame_id!r} to {self.base_frame} "
                f"(the hand-eye calibration is for {self._camera_frame()!r})"))
        else:
            try:
                q = self.backend.current_joints()
            except RuntimeError as exc:
                self.log_once("joint_states", f"cannot validate candidates: {exc}")
                return None
            # t is the transform for the message's own frame (tf2 or the file)
            extr, cfg = t, replace(self.vconfig, camera_frame=header.frame_id)
            rej = motion.validate_candidate(cand, extr, q, cfg, now=self.now(), depth_map=collision)
        if isinstance(rej, motion.Rejection):
            self.rejections[rej.code] = self.rejections.get(rej.code, 0) + 1
            self.log_once(f"reject:{rej.code}", f"rejected candidate ({rej.code}): {rej.reason}")
            return None
        return rej

    def _camera_frame(self) -> str:
        return self.extrinsics.child_frame if self.extrinsics is not None else "(tf2 only)"

    # ------------------------------------------------------------------ picking
    def wait_fresh(self, timeout: float) -> GraspCandidateArray | None:
        """The first candidate message stamped after the arm settled at home, or None after ``timeout`` (node clock)."""
        t0 = self.now()
        wall_deadline = time.monotonic() + 20.0 * timeout + 10.0
        while time.monotonic() < wall_deadline and not self.finished.is_set():
            with self._lock:
                msg = self._latest
            if msg is not None and stamp_s(msg.header.stamp) > self.ready_since + self.settle_s:
                return msg
            if self.now() - t0 > timeout:
                return None
            time.sleep(0.01)
        return None

    def pick_from(self, msg: GraspCandidateArray, feedback=None) -> tuple[Attempt | None, int]:
        """Try the candidates of ``msg`` best first; execute the first valid one.

        Returns (the attempt, or None when no candidate was valid; number of candidates rejected).
        """
        collision = self.collision_map(stamp_s(msg.header.stamp))
        rejected = 0
        for c in sorted(msg.candidates, key=lambda c: -c.quality if math.isfinite(c.quality) else math.inf):
            target = self.check(c, msg.header, collision)
            if target is None:
                rejected += 1
                continue
            return self.execute_target(target, c, stamp_s(msg.header.stamp), feedback), rejected
        return None, rejected

    def execute_target(self, target, c, image_stamp: float, feedback=None) -> Attempt:
        """Run the pick sequence for a validated target and record the attempt."""
        self.last_candidate = c
        t0 = self.now()
        cfg = motion.PickConfig(close_effort=self.grip_effort, min_held_opening=self.min_held_opening,
                                clock=self.now)
        try:
            res = motion.run_pick(target, self.backend, self.gripper, cfg, self.place_joints, self.home_joints,
                                  feedback=feedback)
        except RuntimeError as exc:  # gripper or controller unavailable
            res = motion.PickResult(success=False, stage_reached="error", reason=str(exc),
                                    cycle_time_s=self.now() - t0, final_opening=math.nan, stage_times={})
        self.ready_since = self.now()
        self.last_target = target
        a = Attempt(index=len(self.attempts), success=res.success, stage=res.stage_reached, reason=res.reason,
                    t_start=t0, t_end=self.now(), cycle_time_s=res.cycle_time_s, final_opening=res.final_opening,
                    stage_times=dict(res.stage_times), image_stamp=image_stamp,
                    candidate={"u": c.center_u, "v": c.center_v, "angle": c.angle, "width_px": c.width_px,
                               "length_px": c.length_px, "quality": c.quality, "opening": c.opening,
                               "model_id": c.model_id})
        self.attempts.append(a)
        self.results_pub.publish(String(data=a.to_json()))
        level = self.get_logger().info if a.success else self.get_logger().warning
        what = "success" if a.success else f"FAILED at {a.stage}: {a.reason}"
        level(f"pick {a.index}: {what}; {a.cycle_time_s:.1f} s, opening {a.final_opening * 1000:.1f} mm")
        return a

    def go_home(self) -> bool:
        """Move home with the gripper open; sets ready_since. False (logged) when it fails."""
        try:
            self.gripper.command(0.085, self.grip_effort)
            ok = self.backend.move_joints(self.home_joints).ok
        except RuntimeError as exc:
            self.log_once("home", f"cannot move home: {exc}")
            return False
        self.ready_since = self.now()
        return ok

    def wait_for_robot(self, timeout_wall: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_wall
        while time.monotonic() < deadline and not self.finished.is_set():
            try:
                self.backend.current_joints()
                return True
            except RuntimeError:
                time.sleep(0.05)
        return False

    def auto_loop(self) -> None:
        """Automatic mode (module docstring)."""
        if not self.wait_for_robot():
            self.stop_reason = "no /joint_states from the robot"
            self.get_logger().error(self.stop_reason)
            self.finished.set()
            return
        with self._busy:
            self.go_home()
            failures = empty = rejected_total = 0
            while not self.finished.is_set():
                if self.max_picks and len(self.attempts) >= self.max_picks:
                    self.stop_reason = f"{self.max_picks} pick(s) made"
                    break
                msg = self.wait_fresh(self.wait_timeout_s)
                if msg is None:
                    self.stop_reason = f"no fresh candidates within {self.wait_timeout_s:.0f} s"
                    break
                attempt, rejected = self.pick_from(msg)
                if attempt is None:
                    empty += 1
                    rejected_total += rejected
                    self.ready_since = stamp_s(msg.header.stamp)  # next frame, please
                    if empty >= self.max_empty_frames:
                        self.stop_reason = (
                            f"table clear ({empty} frames without a candidate)" if rejected_total == 0 else
                            f"no valid candidate in {empty} frames ({rejected_total} rejected; see the warnings)")
                        break
                    continue
                empty = rejected_total = 0
                failures = 0 if attempt.success else failures + 1
                if failures >= self.max_consecutive_failures:
                    self.stop_reason = f"{failures} consecutive failed picks"
                    break
        n_ok = sum(a.success for a in self.attempts)
        self.get_logger().info(f"automatic mode finished: {self.stop_reason}; {n_ok}/{len(self.attempts)} picks")
        self.finished.set()

    # ------------------------------------------------------------------ action
    def on_goal(self, _goal) -> GoalResponse:
        if self.auto or self._busy.locked():
            self.get_logger().warning("refusing pick goal: busy (automatic mode or another pick running)")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def execute_pick(self, goal_handle):
        """Pick action: one pick from the given candidate or from the next fresh candidates."""
        req = goal_handle.request
        result = Pick.Result()
        t0 = self.now()

        def feedback(stage: str) -> None:
            fb = Pick.Feedback()
            fb.stage, fb.elapsed = stage, float(self.now() - t0)
            goal_handle.publish_feedback(fb)

        with self._busy:
            if req.use_candidate:
                feedback("validate")
                target = self.check(req.candidate, req.header, self.collision_map(stamp_s(req.header.stamp)))
                attempt = None if target is None else self.execute_target(
                    target, req.candidate, stamp_s(req.header.stamp), feedback)
                if attempt is not None:
                    result.executed = req.candidate
            else:
                if not self.go_home():
                    result.stage, result.message = "home", "could not move home before waiting for candidates"
                    goal_handle.abort()
                    return result
                feedback("wait_candidates")
                msg = self.wait_fresh(req.timeout if req.timeout > 0 else self.wait_timeout_s)
                if msg is None:
                    result.stage, result.message = "wait_candidates", "no fresh candidates"
                    goal_handle.abort()
                    return result
                feedback("validate")
                attempt, rejected = self.pick_from(msg, feedback)
                if attempt is not None:
                    result.executed = self.last_candidate
        if attempt is None:
            result.stage = "validate"
            result.message = "no valid candidate (see the executor's log for the reasons)"
            goal_handle.abort()
            return result
        result.success, result.stage, result.message = attempt.success, attempt.stage, attempt.reason
        result.tool0_goal = tool0_pose_msg(self.last_target.t_base_tool0_grasp, self.base_frame)
        result.final_opening = float(attempt.final_opening) if math.isfinite(attempt.final_opening) else 0.0
        result.cycle_time = float(attempt.cycle_time_s)
        goal_handle.succeed()
        return result

    def destroy_node(self):
        # also called by rclpy's shutdown for a node whose __init__ failed half-way
        if hasattr(self, "finished"):
            self.finished.set()
        worker = getattr(self, "_worker", None)
        if worker is not None and worker.is_alive():
            worker.join(timeout=2.0)
        return super().destroy_node()


def tool0_pose_msg(t, frame: str = "base_link", stamp=None) -> PoseStamped:
    """geometry_msgs/PoseStamped from a (4, 4) pose."""
    msg = PoseStamped()
    msg.header.frame_id = frame
    if stamp is not None:
        msg.header.stamp = stamp
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in t[:3, 3])
    x, y, z, w = Rotation.from_matrix(t[:3, :3]).as_quat()
    msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = (
        float(x), float(y), float(z), float(w))
    return msg


def main(args: list[str] | None = None) -> int:
    return spin_node(ExecutorNode, "executor_node", args, threads=4)


if __name__ == "__main__":
    import sys

    sys.exit(main())
