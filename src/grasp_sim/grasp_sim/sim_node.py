"""``grasp_sim`` node: the MuJoCo UR5 + Robotiq 2F-85 cell behind the drivers' ROS interfaces.

The physics (:class:`grasp_core.sim.SimCell`) runs in its own thread, paced to
``real_time_factor`` × wall time (slower when the machine cannot keep up: every
stamp and ``/clock`` follow simulation time, so nodes with ``use_sim_time`` stay
consistent). Interfaces, named as the real drivers name them (shared/INTERFACES.md):

Publishes:
    /clock (rosgraph_msgs/Clock): simulation time, ``clock_rate_hz``.
    /joint_states (sensor_msgs/JointState): the six UR5 joints (rad, rad/s, N·m) and
        ``robotiq_85_left_knuckle_joint`` (rad, 0 open … 0.7929 closed), ``joint_state_rate_hz``.
    <camera_namespace>/depth/image_rect_raw (sensor_msgs/Image, 32FC1 m, 0 = hole) and
        .../depth/camera_info, frame ``camera_depth_optical_frame``;
    <camera_namespace>/color/image_raw (rgb8, registered to depth) and .../color/camera_info,
        frame ``camera_color_optical_frame`` (same pose), ``camera_rate_hz``.
    ~/objects (visualization_msgs/MarkerArray): GROUND-TRUTH object poses in ``base_link``
        (marker ``ns`` = object name) for tests, benchmarks and RViz — never for the executor.
    ~/trajectory_events (std_msgs/String): one JSON object per trajectory received (``accepted``,
        and ``cause`` / ``reason`` when refused), for tests and the fault-injection benchmark.

Subscribes:
    <trajectory_topic> (trajectory_msgs/JointTrajectory, default
        ``/scaled_joint_trajectory_controller/joint_trajectory``): joint_trajectory_controller
        topic semantics — a new trajectory replaces the current one; joints are matched by name
        (any order, an optional tf_prefix); a first point later than t = 0 is reached from the
        current position; a zero header stamp means "start now".

Action server:
    <gripper_action> (grasp_interfaces/action/GripperCommand, field for field
        control_msgs/GripperCommand; default ``/robotiq_gripper_controller/gripper_cmd``):
        ``command.position`` is the knuckle angle (rad), ``command.max_effort`` the force (N).

Service:
    ~/reset (std_srvs/Trigger): respawn the scene from the current ``objects``, ``n_objects``
        and ``seed`` parameters (set them first with ``ros2 param set``); arm home, gripper open.

Bad trajectories (unknown joints, non-finite values, beyond the joint limits, times not
increasing, a first point farther than ``start_tolerance`` from the current joints, a segment or
point velocity beyond the UR5's joint velocity limits × ``velocity_limit_scale``, as
joint_trajectory_controller refuses them) are refused: logged once per cause, counted on
``~/trajectory_events``, the current motion continues.
"""
from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Pose
from grasp_bridge.camera_info import intrinsics_to_camera_info
from grasp_bridge.image import numpy_to_image
from grasp_bridge.log import OncePerCause
from grasp_bridge.params import declare_config, declare_layout
from grasp_bridge.qos import sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.stamps import stamp_s
from grasp_core.config import SimConfig
from grasp_core.robot import JOINT_NAMES, KNUCKLE_JOINT, UR5_JOINT_LIMITS, knuckle_to_opening
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rosgraph_msgs.msg import Clock
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import Marker, MarkerArray

from grasp_interfaces.action import GripperCommand


def sim_stamp(t: float) -> Time:
    """builtin_interfaces/Time from simulation seconds."""
    sec = math.floor(t)
    return Time(sec=int(sec), nanosec=min(int(round((t - sec) * 1e9)), 999_999_999))


def duration_s(d) -> float:
    """builtin_interfaces/Duration → seconds."""
    return float(d.sec) + float(d.nanosec) * 1e-9


class TrajectoryError(ValueError):
    """A JointTrajectory the simulated controller refuses; ``cause`` is a short key for logging."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def trajectory_arrays(msg: JointTrajectory, joint_names=JOINT_NAMES, limits=UR5_JOINT_LIMITS):
    """Convert a JointTrajectory to arrays in ``joint_names`` order.

    Returns:
        (times (N,) s from the trajectory start, positions (N, 6) rad, velocities (N, 6) rad/s
        or None when the points carry none).

    Raises:
        TrajectoryError: joints missing or unknown (a tf_prefix is allowed: names are matched
            by suffix), no points, wrong lengths, non-finite values, positions beyond the joint
            limits, or times not strictly increasing.
    """
    names = list(msg.joint_names)
    order = []
    for j in joint_names:
        hits = [i for i, n in enumerate(names) if n == j or n.endswith("_" + j) or n.endswith("/" + j)]
        if len(hits) != 1:
            raise TrajectoryError("joint_names", f"joint {j!r} {'missing from' if not hits else 'repeated in'} "
                                  f"joint_names {names}")
        order.append(hits[0])
    if len(names) != len(joint_names):
        raise TrajectoryError("joint_names", f"expected the {len(joint_names)} UR5 joints, got {names}")
    if not msg.points:
        raise TrajectoryError("empty", "trajectory has no points")
    n = len(names)
    times, pos, vel = [], [], []
    has_vel = all(len(p.velocities) == n for p in msg.points)
    for k, p in enumerate(msg.points):
        if len(p.positions) != n:
            raise TrajectoryError("length", f"point {k} has {len(p.positions)} positions for {n} joints")
        times.append(duration_s(p.time_from_start))
        pos.append([p.positions[i] for i in order])
        if has_vel:
            vel.append([p.velocities[i] for i in order])
    times = np.asarray(times, dtype=np.float64)
    pos = np.asarray(pos, dtype=np.float64)
    vel = np.asarray(vel, dtype=np.float64) if has_vel else None
    if not (np.all(np.isfinite(times)) and np.all(np.isfinite(pos)) and (vel is None or np.all(np.isfinite(vel)))):
        raise TrajectoryError("non_finite", "trajectory contains NaN or infinite values")
    if times[0] < 0 or np.any(np.diff(times) <= 0):
        raise TrajectoryError("times", f"time_from_start must be >= 0 and strictly increasing, got {times.tolist()}")
    for row in pos:
        if not limits.within(row):
            raise TrajectoryError("limits", f"point {np.round(row, 3).tolist()} rad is beyond the joint limits")
    return times, pos, vel


def check_dynamics(times, pos, vel, q_now, start_tolerance: float, max_velocity) -> None:
    """joint_trajectory_controller-like checks of a trajectory about to replace the current one.

    Args:
        times: (N,) s; pos: (N, 6) rad; vel: (N, 6) rad/s or None; q_now: (6,) current joints, rad.
        start_tolerance: rad, largest allowed |first point − current joints| per joint.
        max_velocity: (6,) rad/s, largest allowed segment velocity (|Δq| / Δt) and point velocity.

    Raises:
        TrajectoryError: cause ``start`` (the first point is not where the arm is) or ``velocity``.
    """
    dev = np.abs(pos[0] - q_now)
    if float(np.max(dev)) > start_tolerance:
        j = int(np.argmax(dev))
        raise TrajectoryError("start", f"first point is {dev[j]:.3f} rad from the current {JOINT_NAMES[j]} "
                              f"(start tolerance {start_tolerance} rad)")
    vmax = np.asarray(max_velocity, dtype=np.float64)
    if len(times) > 1:
        seg = np.abs(np.diff(pos, axis=0)) / np.diff(times)[:, None]
        over = seg / vmax
        if float(np.max(over)) > 1.0:
            k, j = np.unravel_index(int(np.argmax(over)), over.shape)
            raise TrajectoryError("velocity", f"segment {k} moves {JOINT_NAMES[j]} at {seg[k, j]:.2f} rad/s "
                                  f"(limit {vmax[j]:.2f} rad/s)")
    if vel is not None and np.any(np.abs(vel) > vmax):
        k, j = np.unravel_index(int(np.argmax(np.abs(vel) / vmax)), vel.shape)
        raise TrajectoryError("velocity", f"point {k} asks {JOINT_NAMES[j]} for {vel[k, j]:.2f} rad/s "
                              f"(limit {vmax[j]:.2f} rad/s)")


class SimNode(Node):
    """The simulated cell (see the module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_sim", **kwargs)
        from grasp_core.sim import CellConfig, SimCell, TrajectoryFollower
        from rclpy.parameter import Parameter

        # The clock's source: its stamps come from the simulation itself, never from /clock, so it does not
        # subscribe to its own /clock when the launch sets use_sim_time for every node (a subscription that,
        # on a MultiThreadedExecutor, was offered ~48 times per message: measured in the composed cell)
        self.set_parameters([Parameter("use_sim_time", value=False)])

        self.cfg = cfg = declare_config(self, SimConfig)
        self.objects, self.n_objects, self.seed = cfg.objects, cfg.n_objects, cfg.seed
        extrinsics = cfg.extrinsics
        depth_noise, depth_holes = cfg.depth_noise, cfg.depth_holes
        self.camera_period = 1.0 / cfg.camera_rate_hz
        self.js_period = 1.0 / cfg.joint_state_rate_hz
        self.clock_period = 1.0 / cfg.clock_rate_hz
        self.objects_period = 1.0 / cfg.objects_rate_hz
        self.rtf = cfg.real_time_factor
        traj_topic = cfg.trajectory_topic
        gripper_action = cfg.gripper_action
        cam_ns = cfg.camera_namespace.rstrip("/")
        self.gripper_default_effort = cfg.gripper_max_effort
        self.gripper_timeout = cfg.gripper_timeout_s
        self.layout = declare_layout(self)
        cfg_kwargs = {"depth_noise": depth_noise, "depth_holes": depth_holes, "layout": self.layout}
        if extrinsics:
            cfg_kwargs["extrinsics"] = extrinsics
        self.cell = SimCell(CellConfig(**cfg_kwargs))
        self.names = self.cell.reset(self.n_objects, self.objects, self.seed)
        self.follower = TrajectoryFollower()
        self._hold_current()
        self.lock = threading.Lock()
        self._reset_request: threading.Event | None = None
        self._reset_error: str | None = None
        self.log_once = OncePerCause(self.get_logger())  # WARN once per cause, DEBUG after
        self.trajectories_accepted = 0
        self.trajectories_refused = 0

        sensor = sensor_qos()
        self.clock_pub = self.create_publisher(Clock, "/clock", QoSProfile(depth=10))
        self.js_pub = self.create_publisher(JointState, "/joint_states", QoSProfile(depth=10))
        self.depth_pub = self.create_publisher(Image, f"{cam_ns}/depth/image_rect_raw", sensor)
        self.depth_info_pub = self.create_publisher(CameraInfo, f"{cam_ns}/depth/camera_info", sensor)
        self.color_pub = self.create_publisher(Image, f"{cam_ns}/color/image_raw", sensor)
        self.color_info_pub = self.create_publisher(CameraInfo, f"{cam_ns}/color/camera_info", sensor)
        self.objects_pub = self.create_publisher(MarkerArray, "~/objects", QoSProfile(depth=2))
        self.events_pub = self.create_publisher(String, "~/trajectory_events", QoSProfile(depth=100))
        group = ReentrantCallbackGroup()
        self.create_subscription(JointTrajectory, traj_topic, self.on_trajectory, QoSProfile(depth=10),
                                 callback_group=group)
        self.gripper_server = ActionServer(
            self, GripperCommand, gripper_action, execute_callback=self.execute_gripper,
            goal_callback=lambda _g: GoalResponse.ACCEPT, cancel_callback=lambda _g: CancelResponse.ACCEPT,
            callback_group=group)
        self.create_service(Trigger, "~/reset", self.on_reset, callback_group=group)

        #: simulated seconds given up because the physics fell more than 0.2 s behind real time, and how
        #: often (0 and 0: the cell kept pace with the clock at ``real_time_factor``)
        self.lag_dropped_s = 0.0
        self.lag_drops = 0
        self._running = True
        self._thread = threading.Thread(target=self._physics_loop, name="grasp_sim_physics", daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"simulated cell: {len(self.names)} object(s) from {self.objects!r} (seed {self.seed}); "
            f"trajectories on {traj_topic}, gripper on {gripper_action}, camera on {cam_ns}")

    # ---------------------------------------------------------------- helpers
    def _hold_current(self) -> None:
        """Servo the arm where it is (no trajectory)."""
        self.follower.set(np.zeros(1), self.cell.joint_positions()[None, :], None, start_time=self.cell.time)

    @property
    def sim_time(self) -> float:
        return self.cell.time

    # ---------------------------------------------------------------- trajectory input
    def on_trajectory(self, msg: JointTrajectory) -> None:
        """Replace the current trajectory (joint_trajectory_controller topic semantics)."""
        try:
            times, pos, vel = trajectory_arrays(msg)
        except TrajectoryError as exc:
            self._refused(exc)
            return
        with self.lock:
            now = self.cell.time
            start = now
            stamp = stamp_s(msg.header.stamp)
            if stamp > 0:
                start = max(now, stamp)
            q_now = self.cell.joint_positions()
            if times[0] > 1e-6:  # reach the first point from where the arm is
                times = np.concatenate([[0.0], times])
                pos = np.vstack([q_now, pos])
                if vel is not None:
                    vel = np.vstack([np.zeros(6), vel])
            try:
                check_dynamics(times, pos, vel, q_now, self.cfg.start_tolerance,
                               UR5_JOINT_LIMITS.max_velocity * self.cfg.velocity_limit_scale)
            except TrajectoryError as exc:
                self._refused(exc)
                return
            self.follower.set(times, pos, vel, start_time=start)
        self.trajectories_accepted += 1
        self.events_pub.publish(String(data=json.dumps(
            {"t": self.cell.time, "accepted": True, "points": len(msg.points), "duration": float(times[-1])})))

    def _refused(self, exc: TrajectoryError) -> None:
        self.trajectories_refused += 1
        self.log_once(f"trajectory:{exc.cause}", f"refusing trajectory ({exc.cause}): {exc}")
        self.events_pub.publish(String(data=json.dumps(
            {"t": self.cell.time, "accepted": False, "cause": exc.cause, "reason": str(exc)})))

    # ---------------------------------------------------------------- gripper action
    def execute_gripper(self, goal_handle):
        """Move the fingers to the commanded knuckle angle; finish when they stop (or stall)."""
        cmd = goal_handle.request.command
        result = GripperCommand.Result()
        if not (math.isfinite(cmd.position) and math.isfinite(cmd.max_effort)):
            self.log_once("gripper:non_finite", "refusing gripper command with non-finite values")
            goal_handle.abort()
            return result
        opening = float(knuckle_to_opening(cmd.position))
        effort = float(cmd.max_effort) if cmd.max_effort > 0 else (self.gripper_default_effort or None)
        with self.lock:
            self.cell.command_gripper(opening, effort)
            t0 = self.cell.time
        feedback = GripperCommand.Feedback()
        while rclpy_ok():
            time.sleep(0.01)
            with self.lock:
                t = self.cell.time
                moving = self.cell.gripper_moving()
                knuckle = self.cell.gripper_knuckle()
                stalled = self.cell.gripper_stalled()
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return result
            feedback.position, feedback.stalled = knuckle, stalled
            goal_handle.publish_feedback(feedback)
            if (t - t0 > 0.1 and not moving) or t - t0 > self.gripper_timeout:
                break
        result.position = knuckle
        result.effort = float(effort or 0.0) if stalled else 0.0
        result.stalled = bool(stalled)
        result.reached_goal = abs(knuckle - cmd.position) < 0.02
        goal_handle.succeed()
        return result

    # ---------------------------------------------------------------- reset service
    def on_reset(self, request, response):
        self.objects = str(self.get_parameter("objects").value)
        self.n_objects = int(self.get_parameter("n_objects").value)
        self.seed = int(self.get_parameter("seed").value)
        done = threading.Event()
        with self.lock:
            self._reset_error = None
            self._reset_request = done
        done.wait(timeout=120.0)
        if self._reset_error:
            response.success, response.message = False, self._reset_error
        else:
            response.success = done.is_set()
            response.message = (f"{len(self.names)} object(s) from {self.objects!r}, seed {self.seed}"
                                if done.is_set() else "reset timed out")
        return response

    # ---------------------------------------------------------------- physics thread
    def _physics_loop(self) -> None:
        try:
            self._physics()
        finally:  # the renderer's GL context belongs to this thread: release it here
            self.cell.close()

    def _physics(self) -> None:
        dt = self.cell.timestep
        with self.lock:  # the renderer's GL context is made by the first render: before the clock starts
            self.cell.render()
        wall0, sim0 = time.monotonic(), self.cell.time
        next_js = next_clock = next_cam = next_obj = self.cell.time
        while self._running and rclpy_ok():
            out = []
            with self.lock:
                if self._reset_request is not None:
                    try:
                        self.names = self.cell.reset(self.n_objects, self.objects, self.seed)
                        self._hold_current()
                    except (ValueError, OSError) as exc:
                        self._reset_error = str(exc)
                    self._reset_request.set()
                    self._reset_request = None
                    wall0, sim0 = time.monotonic(), self.cell.time
                    next_js = next_clock = next_cam = next_obj = self.cell.time
                target = sim0 + (time.monotonic() - wall0) * self.rtf
                if target - self.cell.time > 0.2:  # cannot keep up: run as fast as possible, do not burst
                    self.lag_dropped_s += target - self.cell.time
                    self.lag_drops += 1
                    self.log_once("behind", f"physics {target - self.cell.time:.2f} s behind real time at "
                                  f"simulated {self.cell.time:.2f} s: that time is given up (the machine "
                                  "cannot keep pace; later cases at DEBUG)")
                    wall0, sim0 = time.monotonic(), self.cell.time
                    target = self.cell.time + 0.02
                steps = 0
                while self.cell.time + 0.5 * dt < target and steps < 50:
                    q, qd, qdd = self.follower.sample_full(self.cell.time)
                    self.cell.set_joint_targets(q, qd, qdd)
                    self.cell.step()
                    steps += 1
                    # joint state and clock at their own cadence of simulation time, also while the
                    # physics catches up (up to 50 steps = 0.1 s after a render): a receiver that takes
                    # /clock before /joint_states sees a state one period old, not one burst old (CI:
                    # "joint state is 0.120 s old (max 0.1 s)" while the cell ran fine)
                    t = self.cell.time
                    if t >= next_js:
                        next_js = t + self.js_period
                        out.append(self._joint_state(t))
                    if t >= next_clock:
                        next_clock = t + self.clock_period
                        out.append(Clock(clock=sim_stamp(t)))
                t = self.cell.time
                if t >= next_obj:
                    next_obj = t + self.objects_period
                    out.append(self._objects_markers(t))
                if t >= next_cam:
                    next_cam = t + self.camera_period
                    depth, rgb = self.cell.render()
                    out.append(("camera", t, depth, rgb))
            for msg in out:
                self._publish(msg)
            if not steps:
                time.sleep(0.002)

    def _joint_state(self, t: float) -> JointState:
        msg = JointState()
        msg.header.stamp = sim_stamp(t)
        msg.name = [*JOINT_NAMES, KNUCKLE_JOINT]
        msg.position = [*map(float, self.cell.joint_positions()), float(self.cell.gripper_knuckle())]
        msg.velocity = [*map(float, self.cell.joint_velocities()), 0.0]
        return msg

    def _objects_markers(self, t: float) -> MarkerArray:
        arr = MarkerArray()
        for k, (name, pose) in enumerate(self.cell.object_poses().items()):
            m = Marker()
            m.header.stamp = sim_stamp(t)
            m.header.frame_id = "base_link"
            m.ns, m.id, m.type, m.action = name, k, Marker.SPHERE, Marker.ADD
            m.pose = Pose()
            m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in pose[:3, 3])
            qx, qy, qz, qw = Rotation.from_matrix(pose[:3, :3]).as_quat()
            m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w = (
                float(qx), float(qy), float(qz), float(qw))
            m.scale.x = m.scale.y = m.scale.z = 0.03
            m.color.r, m.color.g, m.color.b, m.color.a = 1.0, 0.5, 0.0, 1.0
            m.text = name
            arr.markers.append(m)
        return arr

    def _publish(self, msg) -> None:
        if isinstance(msg, Clock):
            self.clock_pub.publish(msg)
        elif isinstance(msg, JointState):
            self.js_pub.publish(msg)
        elif isinstance(msg, MarkerArray):
            self.objects_pub.publish(msg)
        else:
            _, t, depth, rgb = msg
            intr = self.cell.intrinsics
            dh = Header(stamp=sim_stamp(t), frame_id="camera_depth_optical_frame")
            ch = Header(stamp=sim_stamp(t), frame_id="camera_color_optical_frame")
            self.depth_pub.publish(numpy_to_image(depth.astype(np.float32), "32FC1", dh))
            self.depth_info_pub.publish(intrinsics_to_camera_info(intr, dh))
            self.color_pub.publish(numpy_to_image(rgb, "rgb8", ch))
            self.color_info_pub.publish(intrinsics_to_camera_info(intr, ch))

    def destroy_node(self):
        # also called by rclpy's shutdown for a node whose __init__ failed half-way
        self._running = False
        thread = getattr(self, "_thread", None)
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        elif thread is None and hasattr(self, "cell"):
            self.cell.close()
        return super().destroy_node()


def rclpy_ok() -> bool:
    import rclpy

    return rclpy.ok()


def main(args: list[str] | None = None) -> int:
    return spin_node(SimNode, "sim_node", args, threads=4)


if __name__ == "__main__":
    import sys

    sys.exit(main())
