"""``grasp_executor`` node: picks what ``/grasp_candidates`` proposes (ours or any other publisher's).

Every candidate is validated before anything moves (:func:`grasp_core.motion.validate_candidate`):
known frame (:mod:`.frames`: the base frame, the hand-eye calibrated camera frame, tf2 where
installed; otherwise rejected with the frames it knows), approach (planar image grasps top-down,
6-DoF grasps as given within ``approach_cone_deg`` of vertical), finite, unit quaternion, quality
in [0, 1], fresh (``max_age_s`` on the node clock), grasp point inside the workspace box and above
the table plane, opening within the stroke, pre-grasp / grasp / lift reachable within the joint
limits, fingers clear of the sensed depth (the image with the candidates' stamp, else — other
software's candidates — the nearest within ``max_age_s``; no depth image → no pick, unless
``allow_no_depth``). At most ``max_candidates`` candidates per message are considered, highest
quality first. Rejections are logged once per cause (WARN), later repeats at DEBUG, and the Pick
result carries them.

Safety (:mod:`.safety`, :mod:`.arm`): the node starts disarmed unless ``start_armed``; ``~/arm``
(std_srvs/SetBool) arms and disarms — disarmed, nothing is sent to the arm or the gripper and Pick
goals end at once with that reason; disarming or cancelling a Pick stops the arm (a trajectory
holding the measured joints). Nothing is planned or executed from joint state older than
``max_joint_state_age_s``; every trajectory starts within ``builtin.start_tolerance`` of the
measured joints; ``/joint_states`` silent for ``robot_timeout_s`` during a motion aborts it with
"robot driver not responding" and nothing more is sent; the node recovers when the driver returns.
``/joint_states``, candidates, depth and the action server run in separate callback groups, so a
flood of candidates cannot starve the joint state. All parameters are read-only at run time
(``use_sim_time`` included).

Motion backends are plugins (entry points ``grasp_executor.motion_backends``, parameter
``motion_backend``; ``auto`` = ``moveit_py`` when MoveIt's moveit_py is importable, else
``builtin``); see :mod:`.backends`.

Pick sequence (:func:`grasp_core.motion.run_pick`): pregrasp → approach → close → lift → place
(above the bin) → release → home; success = the gripper did not close fully after the lift and at
the place pose. Automatic mode (``auto: true``) is :class:`grasp_core.picking.PickLoop` over fresh
candidate messages taken after the arm reached home; it starts once the robot state is fresh and
the depth collision check has its camera_info and a depth image (up to 60 s each), and ends with
its stop reason logged, whatever happens inside it.

Interfaces:
    subscribes ``candidates_topic`` (grasp_interfaces/GraspCandidateArray), ``/joint_states``,
        ``depth_topic`` + ``depth_info_topic`` (for the depth collision check; by default the camera's
        ``depth/image_unfilled``, whose holes :class:`~grasp_executor.depth_cache.DepthCache` inpaints
        before an image is checked against);
    publishes the trajectory topic (trajectory_msgs/JointTrajectory) and ``~/pick_results``
        (std_msgs/String, one JSON record per attempt);
    services ``~/arm`` (std_srvs/SetBool), ``~/clear_bin`` (std_srvs/Trigger: the bin was emptied —
        the node keeps what it placed there, :class:`grasp_core.motion.BinFill`, so the next object is
        carried above the pile and set down on it);
    action server ``~/pick`` (grasp_interfaces/action/Pick): one pick, with stage feedback, cancellable;
    action client: the gripper (:mod:`grasp_executor.gripper`).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import numpy as np
from grasp_bridge.camera_info import camera_info_to_intrinsics
from grasp_bridge.image import image_to_numpy
from grasp_bridge.log import OncePerCause
from grasp_bridge.params import declare_config, declare_layout, refuse_use_sim_time_change
from grasp_bridge.plugins import activate_plugin, configure_plugin, load_plugin, shutdown_plugin
from grasp_bridge.qos import result_qos, sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.stamps import stamp_s
from grasp_core.config import ExecutorConfig
from grasp_core.depth import depth_to_metres
from grasp_core.motion.validation import AS_GIVEN, PROJECTED, UNKNOWN_FRAME
from grasp_core.picking import (
    WRONG_CLASS,
    Choice,
    LoopPolicy,
    PickLoop,
    confirmed_by_previous,
    decline_too_wide,
    no_class_message,
    select_class,
    with_object_points,
)
from grasp_core.robot import STROKE
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from grasp_core import motion
from grasp_interfaces.action import Pick
from grasp_interfaces.msg import GraspCandidateArray

from .conversions import Attempt, BadCandidate, candidate_input, candidate_summary, tool0_pose_msg
from .depth_cache import DepthCache
from .frames import FrameResolver
from .gripper import RosGripper
from .safety import GuardedGripper, Safety

#: Rejection code when the collision check has no depth image (and ``allow_no_depth`` is false).
NO_DEPTH = "no_depth"
#: At most one INFO line per this many seconds on what a targeted frame's candidates matched.
CLASS_LOG_PERIOD_S = 2.0
#: Candidate messages kept (the newest is the one picked from; the class confirmation looks at the one before).
RECENT_MESSAGES = 4


def _positions(candidates) -> np.ndarray:
    """(N, 3) float64 grasp positions (``pose.position``, the message's frame) of GraspCandidate messages."""
    return np.array([[c.pose.position.x, c.pose.position.y, c.pose.position.z] for c in candidates],
                    np.float64).reshape(-1, 3)


class ExecutorNode(Node):
    """See the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_executor", **kwargs)
        self.cfg = cfg = declare_config(self, ExecutorConfig)
        self.layout = declare_layout(self)  # cell.*: table, bin, home and place (config/grasp.yaml's /** section)
        refuse_use_sim_time_change(self)
        self.base_frame = cfg.base_frame
        self.vconfig = cfg.validation_config(self.layout)
        self.home_joints = cfg.joints("home_joints", self.layout)
        self.place_joints = cfg.joints("place_joints", self.layout)
        self.frames = FrameResolver(self, cfg.base_frame, cfg.use_tf, cfg.extrinsics)
        self.safety = Safety(armed=cfg.start_armed)
        self.log_once = OncePerCause(self.get_logger())  # WARN once per cause, DEBUG after

        self.cand_group = MutuallyExclusiveCallbackGroup()
        self.depth_group = MutuallyExclusiveCallbackGroup()
        self.client_group = ReentrantCallbackGroup()
        self.ur_safety = None
        if cfg.ur_safety_mode_topic:
            try:
                from .ur_status import UrSafetyMonitor

                self.ur_safety = UrSafetyMonitor(self, self.safety, cfg.ur_safety_mode_topic,
                                                 MutuallyExclusiveCallbackGroup())
            except ImportError as exc:
                self.get_logger().info(f"UR safety mode not watched ({exc}; ur_robot_driver installs bring it)")
        backend_name = cfg.motion_backend
        if backend_name == "auto":  # MoveIt where it is installed, else the built-in planner
            try:
                import moveit.planning  # noqa: F401

                backend_name = "moveit_py"
            except ImportError:
                backend_name = "builtin"
        backend = load_plugin("grasp_executor.motion_backends", backend_name)()
        configure_plugin(backend, self, backend_name, cfg, self.safety, self.layout)
        self.backend = backend
        self.gripper = GuardedGripper(
            RosGripper(self, cfg.gripper_action, cfg.gripper_interface, timeout_s=cfg.gripper_timeout_s),
            self.safety)

        self._cond = threading.Condition()
        self._busy = threading.Lock()
        self._recent: list[GraspCandidateArray] = []  # the last few candidate messages, oldest first (the newest:
        # what the pick loop takes; the one before it: the class confirmation)
        self.depth = DepthCache()
        self.ready_since = -math.inf  # node-clock time the arm was last at home (images after it are usable)
        self.attempts: list[Attempt] = []
        self.rejections: dict[str, int] = {}
        self.last_rejections: list[motion.Rejection] = []
        self.finished = threading.Event()
        self.stop_reason = ""
        self.loop: PickLoop | None = None
        self.table_scene = None  # the last TableScene automatic mode judged "table clear" on (for pictures)
        self.bin_fill = motion.BinFill()  # what this node put in the bin since it started or ~/clear_bin

        self.create_subscription(GraspCandidateArray, cfg.candidates_topic, self.on_candidates, result_qos(),
                                 callback_group=self.cand_group)
        if cfg.use_depth_collision:
            self.create_subscription(Image, cfg.depth_topic, self.on_depth, sensor_qos(),
                                     callback_group=self.depth_group)
            self.create_subscription(CameraInfo, cfg.depth_info_topic, self.on_info, sensor_qos(),
                                     callback_group=self.depth_group)
        self.results_pub = self.create_publisher(String, "~/pick_results", QoSProfile(depth=50))
        self.create_service(SetBool, "~/arm", self.on_arm, callback_group=self.client_group)
        self.create_service(Trigger, "~/clear_bin", self.on_clear_bin, callback_group=self.client_group)
        self.pick_server = ActionServer(
            self, Pick, "~/pick", execute_callback=self.execute_pick, goal_callback=self.on_goal,
            cancel_callback=self.on_cancel, callback_group=self.client_group)
        activate_plugin(self.backend)
        self._worker = None
        if cfg.auto:
            self._worker = threading.Thread(target=self.auto_loop, name="grasp_executor_auto", daemon=True)
            self._worker.start()
        self.get_logger().info(
            f"executor ready: backend '{backend_name}', candidates on {cfg.candidates_topic}, "
            f"{self.frames.describe()} for {self.base_frame}, auto={cfg.auto}, "
            f"{'ARMED' if self.safety.armed else 'disarmed (call ~/arm to arm)'}")

    # ------------------------------------------------------------------ inputs
    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def on_candidates(self, msg: GraspCandidateArray) -> None:
        try:
            self._on_candidates(msg)
        except Exception as exc:  # noqa: BLE001 - a hostile message must not end the node
            self.log_once(f"candidates:{type(exc).__name__}", f"dropping a candidate message: {exc}")

    def _on_candidates(self, msg: GraspCandidateArray) -> None:
        n = len(msg.candidates)
        if n > self.cfg.max_candidates:  # bounded work per message: the best max_candidates only
            ranked = sorted(msg.candidates, key=lambda c: -c.quality if math.isfinite(c.quality) else math.inf)
            msg.candidates = ranked[:self.cfg.max_candidates]
            self.log_once("candidates:too_many", f"{n} candidates in one message: validating the best "
                                                 f"{self.cfg.max_candidates} (max_candidates), dropping the rest")
        with self._cond:
            self._recent = [*self._recent[-(RECENT_MESSAGES - 1):], msg]
            self._cond.notify_all()
        if not self.cfg.auto and not self._busy.locked() and msg.candidates:
            # no automatic mode: validate anyway so bad input is reported as it arrives
            collision, why = self.collision_map(stamp_s(msg.header.stamp))
            for c in msg.candidates:
                self.check(c, msg.header, collision, why)

    def on_depth(self, msg: Image) -> None:
        try:  # a driver's 16UC1 millimetres become metres here; any non-depth encoding is refused
            depth = depth_to_metres(image_to_numpy(msg), msg.encoding)
        except ValueError as exc:
            self.log_once("depth:decode", f"ignoring depth image for collision checks: {exc}")
            return
        self.depth.add(stamp_s(msg.header.stamp), depth, msg.header.frame_id)

    def on_info(self, msg: CameraInfo) -> None:
        try:
            self.depth.info = camera_info_to_intrinsics(msg)
        except ValueError as exc:
            self.log_once("depth:camera_info", f"ignoring camera_info for collision checks: {exc}")

    def on_clear_bin(self, _request, response):
        n = len(self.bin_fill.boxes)
        self.bin_fill.clear()
        response.success, response.message = True, f"bin marked empty ({n} placed objects forgotten)"
        self.get_logger().info(response.message)
        return response

    def on_arm(self, request, response):
        self.safety.set_armed(bool(request.data))
        response.success = True
        response.message = "armed" if request.data else "disarmed: nothing will move"
        log = self.get_logger()
        if request.data:
            log.info("executor ARMED by ~/arm")
        else:
            log.warning("executor disarmed by ~/arm: stopping any motion")
        return response

    # ------------------------------------------------------------------ validation
    def collision_map(self, stamp: float):
        """(depth collision map or None, why none) for the image with this stamp, less the points on
        the arm where it stands now (:meth:`grasp_core.motion.DepthCollisionMap.without_robot`)."""
        if not self.cfg.use_depth_collision:
            return None, ""
        dmap, why = self.depth.collision_map(stamp, self.frames.t_base, max_dt=self.cfg.max_age_s)
        if dmap is not None:
            try:
                dmap = dmap.without_robot(self.backend.current_joints())
            except (RuntimeError, ValueError) as exc:  # no joint state: validation rejects with its own reason
                self.log_once("self_filter", f"depth points on the arm not removed: {exc}")
        return dmap, why

    def check(self, c, header, collision=None, collision_why: str = "", scene=None):
        """Validate one candidate: a :class:`grasp_core.motion.GraspTarget`, or None (rejection logged).

        With ``scene`` (a :class:`grasp_core.tabletop.TableScene` of the candidate's image), a grasp on
        an object wider across the jaws than the stroke is declined first (``too_wide``)."""
        rej = self._validate(c, header, collision, collision_why, scene)
        if isinstance(rej, motion.Rejection):
            self.rejections[rej.code] = self.rejections.get(rej.code, 0) + 1
            self.last_rejections.append(rej)
            self.log_once(f"reject:{rej.code}", f"rejected candidate ({rej.code}): {rej.reason}")
            return None
        if rej.approach == PROJECTED:
            self.log_once("approach:projected", (
                f"candidate approach {rej.approach_angle_deg:.1f} deg from vertical is outside the "
                f"{self.cfg.approach_cone_deg:g} deg cone: made vertical (project_approach_to_vertical)"))
        elif rej.approach == AS_GIVEN and rej.approach_angle_deg > 1.0:
            self.get_logger().debug(f"candidate approach {rej.approach_angle_deg:.1f} deg from vertical: as given")
        return with_object_points(rej, scene)

    def _validate(self, c, header, collision, collision_why, scene=None):
        try:
            cand = candidate_input(c, header, self.cfg.quaternion_tolerance)
        except BadCandidate as exc:
            return motion.Rejection(code=exc.code, reason=str(exc))
        t = self.frames.t_base(header.frame_id)
        if t is None:
            return motion.Rejection(code=UNKNOWN_FRAME, reason=(
                f"no transform from {header.frame_id!r} to {self.base_frame} (known frames: "
                f"{', '.join(self.frames.known_frames())})"))
        if scene is not None:
            too_wide = decline_too_wide(t[:3, :3] @ cand.position + t[:3, 3], t[:3, :3] @ cand.rotation[:, 1], scene)
            if too_wide is not None:
                return too_wide
        try:
            q = self.backend.current_joints()
        except RuntimeError as exc:
            return motion.Rejection(code="robot_state", reason=f"cannot validate: {exc}")
        cfg = replace(self.vconfig, camera_frame=header.frame_id)
        optical = header.frame_id != self.base_frame and (
            header.frame_id == self.frames.camera_frame() or header.frame_id.endswith("_optical_frame"))
        res = motion.validate_candidate(cand, t, q, cfg, now=self.now(), depth_map=collision,
                                        optical_frame=optical)
        # the candidate's own faults (angle, workspace, reach, ...) are named first; a candidate that
        # passes them is still refused while the finger collision check has no depth to look at
        if (not isinstance(res, motion.Rejection) and collision is None and self.cfg.use_depth_collision
                and not self.cfg.allow_no_depth):
            return motion.Rejection(code=NO_DEPTH, reason=(
                f"no depth image for the finger collision check ({collision_why or 'none received'}); "
                f"set allow_no_depth to pick without it"))
        return res

    # ------------------------------------------------------------------ picking
    def _epoch_check(self) -> None:
        """A clock that jumped back (simulation restarted) invalidates the 'ready since' time."""
        if self.ready_since > self.now() + 1.0:
            self.get_logger().warning("the clock jumped back (driver or simulation restarted): resetting")
            self.ready_since = -math.inf

    def wait_fresh(self, timeout: float) -> GraspCandidateArray | None:
        """The first candidate message stamped after the arm settled at home, or None after ``timeout`` (node clock).

        Event-driven: woken by each new message; gives up early when the node is finishing.
        """
        t0 = self.now()
        with self._cond:
            while not self.finished.is_set():
                self._epoch_check()
                msg = self._recent[-1] if self._recent else None
                if msg is not None and stamp_s(msg.header.stamp) > self.ready_since + self.cfg.settle_s:
                    return msg
                now = self.now()
                if now < t0 - 1.0:
                    t0 = now
                if now - t0 > timeout:
                    return None
                self._cond.wait(0.05)
        return None

    def target_class(self, requested: str = "") -> str:
        """The class to pick: ``requested`` (a Pick goal's ``target_class``) or else the parameter; "" = any."""
        return requested or self.cfg.target_class

    def class_candidates(self, candidates, target_class: str, msg: GraspCandidateArray | None = None) -> list:
        """``candidates`` (of message ``msg``) of ``target_class`` (:func:`grasp_core.picking.select_class`;
        all when it is ""), and with ``class_confirm_distance`` > 0 only those the previous message confirms
        (:func:`grasp_core.picking.confirmed_by_previous`; no previous message in the same frame: none); when
        targeting, an INFO line on what matched (at most one per ``CLASS_LOG_PERIOD_S``: candidates arrive at
        the camera's rate)."""
        cands = list(candidates)
        kept = select_class(cands, target_class, self.cfg.min_class_confidence)
        if target_class:
            n_class = len(kept)
            confirm = ""
            if self.cfg.class_confirm_distance > 0 and msg is not None and kept:
                prev = self._previous(msg)
                ok = confirmed_by_previous(_positions(kept), _positions(select_class(
                    prev.candidates if prev is not None else [], target_class, self.cfg.min_class_confidence)),
                    self.cfg.class_confirm_distance)
                kept = [c for c, k in zip(kept, ok, strict=True) if k]
                confirm = f", {len(kept)} confirmed by the previous frame"
            labels = ", ".join(sorted({c.shape_label or "unlabelled" for c in cands})) or "none"
            self.get_logger().info(
                f"target class '{target_class}': {n_class} of {len(cands)} candidates match{confirm} "
                f"(confidence >= {self.cfg.min_class_confidence:.2f}; labels seen: {labels})",
                throttle_duration_sec=CLASS_LOG_PERIOD_S)
        return kept

    def _previous(self, msg: GraspCandidateArray) -> GraspCandidateArray | None:
        """The latest message received before ``msg`` with an earlier stamp and the same frame, or None."""
        t = stamp_s(msg.header.stamp)
        with self._cond:
            older = [m for m in self._recent if m is not msg and stamp_s(m.header.stamp) < t
                     and m.header.frame_id == msg.header.frame_id]
        return max(older, key=lambda m: stamp_s(m.header.stamp)) if older else None

    def choose(self, msg: GraspCandidateArray, target_class: str = "") -> Choice:
        """The best valid candidate of ``msg`` of ``target_class`` ("" any; :meth:`target_class` resolves
        a goal's class against the parameter), a :class:`grasp_core.picking.Choice` (``no_class`` set when
        the class was asked and none of its candidates came); rejections logged."""
        candidates = self.class_candidates(msg.candidates, target_class, msg)
        collision, why = self.collision_map(stamp_s(msg.header.stamp))
        scene = self.depth.table_scene(stamp_s(msg.header.stamp), self.frames.t_base, self.layout)
        rejections = []
        if len(candidates) < len(msg.candidates):  # other classes: objects remain, the table is not clear
            rejections.append(motion.Rejection(code=WRONG_CLASS, reason=(
                f"{len(msg.candidates) - len(candidates)} candidates not of class '{target_class}'")))
        self.last_rejections = []
        for c in sorted(candidates, key=lambda c: -c.quality if math.isfinite(c.quality) else math.inf):
            target = self.check(c, msg.header, collision, why, scene)
            if target is None:
                rejections.append(self.last_rejections[-1])
                continue
            self.last_candidate = c
            return Choice(target, rejections, len(msg.candidates))
        none_of_class = bool(target_class) and not candidates
        return Choice(None, rejections, len(msg.candidates), no_class=target_class if none_of_class else "")

    def execute_target(self, target, c, image_stamp: float, feedback=None, return_home: bool = True) -> Attempt:
        """Run the pick sequence for a validated target and record the attempt (``return_home`` False: a
        successful sequence ends over the bin, :func:`grasp_core.motion.run_pick`)."""
        self.last_candidate = c
        t0 = self.now()
        cfg = self.cfg.pick_config(self.layout, clock=self.now)
        try:
            res = motion.run_pick(target, self.backend, self.gripper, cfg, self.place_joints, self.home_joints,
                                  feedback=feedback, return_home=return_home, bin_fill=self.bin_fill)
        except RuntimeError as exc:  # gripper or controller unavailable
            res = motion.PickResult(success=False, stage_reached="error", reason=str(exc),
                                    cycle_time_s=self.now() - t0, final_opening=math.nan, stage_times={})
        self.ready_since = self.now()
        self.last_target = target
        a = Attempt(index=len(self.attempts), success=res.success, stage=res.stage_reached, reason=res.reason,
                    t_start=t0, t_end=self.now(), cycle_time_s=res.cycle_time_s, final_opening=res.final_opening,
                    stage_times=dict(res.stage_times), image_stamp=image_stamp, candidate=candidate_summary(c))
        self.attempts.append(a)
        self.results_pub.publish(String(data=a.to_json()))
        timing = f"{a.cycle_time_s:.1f} s, opening {a.final_opening * 1000:.1f} mm"
        # one logging call per severity: rclpy refuses a call site whose severity changes between calls
        if a.success:
            self.get_logger().info(f"pick {a.index}: success; {timing}")
        else:
            self.get_logger().warning(f"pick {a.index}: FAILED at {a.stage}: {a.reason}; {timing}")
        return a

    def go_home(self) -> bool:
        """Move home with the gripper open; sets ready_since. False (logged) when it fails."""
        try:
            self.gripper.command(STROKE, self.cfg.grip_effort)
            res = self.backend.move_joints(self.home_joints)
        except RuntimeError as exc:
            self.log_once("home", f"cannot move home: {exc}")
            return False
        if not res.ok:
            self.log_once("home", f"cannot move home: {res.reason}")
        self.ready_since = self.now()
        return res.ok

    def robot_problem(self) -> str:
        problem = getattr(self.backend, "state_problem", None)
        if problem is not None:
            return problem()
        try:
            self.backend.current_joints()
            return ""
        except RuntimeError as exc:
            return str(exc)

    def wait_for_robot(self, timeout_wall: float = 60.0) -> bool:
        """Block until the robot state is fresh (True) or ``timeout_wall`` s passed / the node finishes."""
        deadline = time.monotonic() + timeout_wall
        while time.monotonic() < deadline and not self.finished.is_set():
            if not self.robot_problem():
                return True
            time.sleep(0.05)
        return False

    def depth_missing(self) -> str:
        """Why the depth collision check cannot run yet ("" when it can, or when it is not required:
        ``use_depth_collision`` off or ``allow_no_depth`` on)."""
        if not self.cfg.use_depth_collision or self.cfg.allow_no_depth:
            return ""
        return self.depth.missing()

    def wait_for_depth(self, timeout_wall: float = 60.0) -> bool:
        """Block until the depth collision check has its inputs (True) or ``timeout_wall`` s passed /
        the node finishes: automatic mode must not count start-up frames, refused for a camera_info
        still in discovery, as frames without a safe grasp."""
        deadline = time.monotonic() + timeout_wall
        while time.monotonic() < deadline and not self.finished.is_set():
            if not self.depth_missing():
                return True
            time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ automatic mode
    def _wait_armed(self) -> bool:
        """Block while disarmed (logged once); False when the node is finishing."""
        while not self.safety.armed and not self.finished.is_set():
            self.log_once("auto:disarmed", "automatic mode waiting: disarmed (call ~/arm)")
            time.sleep(0.05)
        return not self.finished.is_set()

    def _auto_next_frame(self):
        """Automatic mode's frames: waits while disarmed or while the robot is gone, then fresh candidates."""
        while self._wait_armed():
            problem = self.robot_problem()
            if problem:
                self.log_once("auto:robot", f"automatic mode waiting for the robot: {problem}")
                if not self.wait_for_robot(self.cfg.wait_timeout_s):
                    continue
                self.get_logger().info("robot state is back: going home")
                self.safety.begin_pick()
                self.go_home()
                continue
            return self.wait_fresh(self.cfg.wait_timeout_s)
        return None

    def _auto_execute(self, msg, target) -> bool:
        if self.safety.begin_pick():
            return False
        blend = not self.cfg.go_home_between_picks
        ok = self.execute_target(target, self.last_candidate, stamp_s(msg.header.stamp), return_home=not blend).success
        if ok and blend and not self._out_of_view():
            self.go_home()  # images taken from over the bin would show the arm
        return ok

    def _out_of_view(self) -> bool:
        """Whether the arm, where it is now, leaves the pick area visible to the calibrated camera
        (:func:`grasp_core.motion.arm_in_view`); False when the camera pose or the joints are unknown."""
        t = self.frames.t_base(self.frames.camera_frame())
        try:
            return t is not None and not motion.arm_in_view(self.backend.current_joints(), t, self.layout)
        except (RuntimeError, ValueError):  # no fresh joint state; a camera pose not above the table
            return False

    def _auto_remaining(self, msg) -> int | None:
        """Regions standing above the table in the depth image of ``msg`` (None: that image is not at hand)."""
        scene = self.depth.table_scene(stamp_s(msg.header.stamp), self.frames.t_base, self.layout)
        self.table_scene = scene
        return None if scene is None else len(scene)

    def _auto_after_empty(self, msg) -> None:
        self.ready_since = stamp_s(msg.header.stamp)  # next frame, please

    def auto_loop(self) -> None:
        """Automatic mode (module docstring): ends with its reason logged, whatever goes wrong inside."""
        try:
            if not self.wait_for_robot():
                self.stop_reason = f"no usable /joint_states from the robot ({self.robot_problem()})"
            elif not self.wait_for_depth():
                self.stop_reason = f"no depth for the collision check ({self.depth_missing()})"
            else:
                self.loop = PickLoop(self._auto_next_frame, lambda m: self.choose(m, self.target_class()),
                                     self._auto_execute,
                                     LoopPolicy(self.cfg.max_empty_frames, self.cfg.max_consecutive_failures,
                                                self.cfg.max_picks),
                                     after_empty=self._auto_after_empty, timeout_s=self.cfg.wait_timeout_s,
                                     remaining=self._auto_remaining)
                with self._busy:
                    self._wait_armed()
                    self.safety.begin_pick()
                    self.go_home()
                    self.stop_reason = self.loop.run()
                    last = self.loop.last_choice
                    if last is not None and last.no_class:  # the last frame had candidates, none of the class
                        self.stop_reason = f"{no_class_message(last.no_class)}: {self.stop_reason}"
                    if (not self.cfg.go_home_between_picks and self.attempts and self.attempts[-1].success
                            and not self.finished.is_set() and not self.safety.permit()):
                        self.go_home()  # the last pick ended over the bin
        except Exception as exc:  # noqa: BLE001 - the mode must end with its reason, not die silently
            self.stop_reason = f"automatic mode failed: {type(exc).__name__}: {exc}"
            self.get_logger().error(self.stop_reason)
        n_ok = sum(a.success for a in self.attempts)
        self.get_logger().info(f"automatic mode finished: {self.stop_reason}; {n_ok}/{len(self.attempts)} picks")
        self.finished.set()

    # ------------------------------------------------------------------ action
    def on_goal(self, _goal) -> GoalResponse:
        if (self.cfg.auto and not self.finished.is_set()) or self._busy.locked():
            self.get_logger().warning("refusing pick goal: busy (automatic mode or another pick running)")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def on_cancel(self, _goal) -> CancelResponse:
        self.get_logger().warning("pick cancelled: stopping the arm")
        self.safety.request_stop("pick cancelled")
        return CancelResponse.ACCEPT

    def execute_pick(self, goal_handle):
        """Pick action: one pick from the given candidate or from the next fresh candidates."""
        req = goal_handle.request
        result = Pick.Result()
        t0 = self.now()

        def feedback(stage: str) -> None:
            fb = Pick.Feedback()
            fb.stage, fb.elapsed = stage, float(self.now() - t0)
            goal_handle.publish_feedback(fb)

        def finish(stage: str, message: str):
            result.stage, result.message = stage, message
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
            else:
                goal_handle.abort()
            return result

        with self._busy:
            why = self.safety.begin_pick()
            if why:
                self.get_logger().warning(f"refusing pick goal: {why}")
                return finish("validate", why)
            if not self.wait_for_robot(2.0):  # a goal right after start-up: discovery may still run
                return finish("validate", f"robot state unusable: {self.robot_problem()}")
            self.last_rejections = []
            cls = self.target_class(req.target_class)
            if req.use_candidate:
                feedback("validate")
                if not self.class_candidates([req.candidate], cls):
                    return finish("validate", no_class_message(cls))
                collision, cwhy = self.collision_map(stamp_s(req.header.stamp))
                target = self.check(req.candidate, req.header, collision, cwhy)
                attempt = None if target is None else self.execute_target(
                    target, req.candidate, stamp_s(req.header.stamp), feedback)
                if attempt is not None:
                    result.executed = req.candidate
            else:
                if not self.go_home():
                    return finish("home", "could not move home before waiting for candidates")
                feedback("wait_candidates")
                msg = self.wait_fresh(req.timeout if req.timeout > 0 else self.cfg.wait_timeout_s)
                if msg is None:
                    return finish("wait_candidates", "no fresh candidates")
                feedback("validate")
                choice = self.choose(msg, cls)
                if choice.no_class:
                    return finish("validate", no_class_message(choice.no_class))
                attempt = None if choice.target is None else self.execute_target(
                    choice.target, self.last_candidate, stamp_s(msg.header.stamp), feedback)
                if attempt is not None:
                    result.executed = self.last_candidate
        if attempt is None:
            reasons = "; ".join(dict.fromkeys(f"{r.code}: {r.reason}" for r in self.last_rejections))
            return finish("validate", f"no valid candidate ({reasons or 'none received'})")
        result.success, result.stage, result.message = attempt.success, attempt.stage, attempt.reason
        result.tool0_goal = tool0_pose_msg(self.last_target.t_base_tool0_grasp, self.base_frame)
        result.final_opening = float(attempt.final_opening) if math.isfinite(attempt.final_opening) else 0.0
        result.cycle_time = float(attempt.cycle_time_s)
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.succeed()
        return result

    def destroy_node(self):
        # also called by rclpy's shutdown for a node whose __init__ failed half-way
        if hasattr(self, "finished"):
            self.finished.set()
        if hasattr(self, "_cond"):
            with self._cond:
                self._cond.notify_all()
        backend = getattr(self, "backend", None)
        if backend is not None and backend.state == "active":
            backend.deactivate()  # a running motion stops (and the built-in backend holds the arm)
            backend.state = "inactive"
        worker = getattr(self, "_worker", None)
        if worker is not None and worker.is_alive():
            worker.join(timeout=2.0)
        shutdown_plugin(backend)  # cleanup: the robot connection
        return super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return spin_node(ExecutorNode, "executor_node", args, threads=8)


if __name__ == "__main__":
    import sys

    sys.exit(main())
