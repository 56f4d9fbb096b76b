"""The UR5 arm over the joint_trajectory_controller topic interface (blocking, for the built-in backend).

``execute`` publishes a ``trajectory_msgs/JointTrajectory`` on the controller's
``~/joint_trajectory`` topic (ur_robot_driver: ``/scaled_joint_trajectory_controller/joint_trajectory``;
ur_simulation_gz: ``/joint_trajectory_controller/joint_trajectory``) and waits, on the node's
clock (simulation time with ``use_sim_time``), until the trajectory's duration has passed and
``/joint_states`` shows the arm at the final point. The real driver's
FollowJointTrajectory action (control_msgs) gives the same result with tolerances; the topic
works everywhere, including the pip path.
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np
from builtin_interfaces.msg import Duration
from grasp_bridge.runtime import stop_spinning
from grasp_bridge.stamps import stamp_s
from grasp_core.robot import JOINT_NAMES
from rclpy.qos import QoSProfile
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint


def to_duration(t: float) -> Duration:
    sec = math.floor(t)
    return Duration(sec=int(sec), nanosec=min(int(round((t - sec) * 1e9)), 999_999_999))


def trajectory_msg(traj, joint_names=JOINT_NAMES, tf_prefix: str = "") -> JointTrajectory:
    """``trajectory_msgs/JointTrajectory`` from a :class:`grasp_core.motion.JointTrajectory`.

    The header stamp stays zero ("start on receipt"). Times s, positions rad, velocities rad/s,
    accelerations rad/s².
    """
    msg = JointTrajectory()
    msg.joint_names = [tf_prefix + n for n in joint_names]
    for k, t in enumerate(traj.times):
        p = JointTrajectoryPoint()
        p.positions = [float(v) for v in traj.positions[k]]
        p.velocities = [float(v) for v in traj.velocities[k]]
        p.accelerations = [float(v) for v in traj.accelerations[k]]
        p.time_from_start = to_duration(float(t))
        msg.points.append(p)
    return msg


class RobotUnavailable(RuntimeError):
    """No usable robot state: none yet, too old, or the driver stopped publishing.

    ``fatal`` tells :func:`grasp_core.motion.run_pick` to end without recovery motions.
    """

    fatal = True


class RosArm:
    """The :class:`grasp_core.motion.Arm` protocol over /joint_states and the trajectory topic.

    Safety (issue: never move from stale state):

    * :meth:`joint_positions` raises :class:`RobotUnavailable` when the latest ``/joint_states`` is
      older than ``max_state_age_s`` on the node clock, or none arrived for ``robot_timeout_s`` of
      wall time (a dead driver also stops ``/clock``, so simulation time alone cannot tell);
    * :meth:`execute` sends nothing while :attr:`permit` says no (disarmed) or when the
      trajectory's first point is more than ``start_tolerance`` from the measured joints; while it
      waits, a set :attr:`abort` event (cancel, disarm) sends a stop (a trajectory holding the
      measured joints) and returns False; ``/joint_states`` silent for ``robot_timeout_s`` on the node
      clock (or, with simulated time, ``clock_timeout_s`` of wall time) ends the wait with "robot
      driver not responding" and sends nothing more (wall time this process itself was not
      scheduled — a loaded machine, the GIL of a composed process — does not count as silence).

    Args:
        node: the owning node (its clock times the motions).
        trajectory_topic: the controller's JointTrajectory topic.
        joint_states_topic: usually ``/joint_states``.
        tf_prefix: prefix of the driver's joint names (ur_robot_driver ``tf_prefix``).
        goal_tolerance: rad, per joint, at the end of a motion.
        settle_s: extra time (node clock) allowed after the trajectory's duration.
        start_tolerance: rad, per joint, between the trajectory's first point and the measured joints.
        max_state_age_s: oldest usable joint state, s of node clock.
        robot_timeout_s: seconds without ``/joint_states`` on the node clock that mean the robot is lost
            (wall time on a real robot; simulation time with ``use_sim_time``, where a slow simulator
            is not a lost one).
        clock_timeout_s: with ``use_sim_time``: wall seconds without ``/joint_states`` that mean the
            simulator is gone altogether (its clock stopped too, so simulation time cannot tell).
        permit: () → "" when motion is allowed, else the reason (e.g. "disarmed").
        abort: the stop-request event to watch (default: a new one, :attr:`abort`).
        contact_stop: () → True when the stop that :attr:`permit` reports is the robot's own contact
            stop (a UR protective stop): the motion then ends as a collision.
        max_tracking_error: rad; while :attr:`guarded` (approach and closing, set by
            :func:`grasp_core.motion.run_pick`), measured joints farther than this from every
            commanded sample of the ``TRACKING_LAG_S`` before their own stamp (the joint-state
            node's clock: a late message is not an error) stop the arm (a trajectory holding the
            measured joints) and fail the move as a collision (:attr:`last_collision`).

    Attributes:
        abort: threading.Event; set it to stop the current motion. last_error: why the last
            :meth:`execute` failed. robot_lost: the last failure was a silent driver.
    """

    def __init__(self, node, trajectory_topic: str, joint_states_topic: str = "/joint_states",
                 tf_prefix: str = "", goal_tolerance: float = 0.01, settle_s: float = 1.0,
                 start_tolerance: float = 0.02, max_state_age_s: float = 0.1, robot_timeout_s: float = 0.5,
                 clock_timeout_s: float = 5.0, permit=None, abort: threading.Event | None = None,
                 max_tracking_error: float = math.inf, contact_stop=None) -> None:
        self.node = node
        self.tf_prefix = tf_prefix
        self.goal_tolerance = float(goal_tolerance)
        self.settle_s = float(settle_s)
        self.start_tolerance = float(start_tolerance)
        self.max_state_age_s = float(max_state_age_s)
        self.robot_timeout_s = float(robot_timeout_s)
        self.clock_timeout_s = float(clock_timeout_s)
        self.permit = permit or (lambda: "")
        self.contact_stop = contact_stop or (lambda: False)
        self.abort = abort if abort is not None else threading.Event()
        self._lock = threading.Lock()
        self._q: np.ndarray | None = None
        self._stamp = -1.0
        self._received = -math.inf  # time.monotonic() of the last /joint_states
        self._received_clock = -math.inf  # joint-state node's clock at its receipt
        self.pub = node.create_publisher(JointTrajectory, trajectory_topic, QoSProfile(depth=10))
        # /joint_states on a node and thread of its own: the owner's executor may be busy taking large
        # messages (depth images, candidate arrays) — the joint state must not wait behind them
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        # read once: the executor refuses run-time changes of use_sim_time (grasp_bridge.params)
        self.sim_time = self._sim_time_of(node)
        sim = Parameter("use_sim_time", value=self.sim_time)
        self._js_node = rclpy.create_node(f"{node.get_name()}_joint_states", namespace=node.get_namespace(),
                                          context=node.context, parameter_overrides=[sim])
        self._js_node.create_subscription(JointState, joint_states_topic, self._on_joint_states,
                                          QoSProfile(depth=10))
        self._js_exec = SingleThreadedExecutor(context=node.context)
        self._js_exec.add_node(self._js_node)
        self._js_thread = threading.Thread(target=self._spin_js, name="joint_states", daemon=True)
        self._js_thread.start()
        self.last_error = ""
        self.robot_lost = False
        self.max_tracking_error = float(max_tracking_error)
        self.guarded = False
        self.last_collision = False

    @staticmethod
    def _sim_time_of(node) -> bool:
        try:
            return bool(node.get_parameter("use_sim_time").value)
        except Exception:  # noqa: BLE001 - a node without the parameter runs on wall time
            return False

    def _spin_js(self) -> None:
        try:
            self._js_exec.spin()
        except Exception:  # noqa: BLE001 - context shut down: the thread ends with it
            pass

    def close(self) -> None:
        """Stop the joint-state thread (joined: grasp_bridge.runtime.stop_spinning) and destroy its node."""
        stop_spinning(self._js_exec, self._js_thread, timeout_s=2.0)
        self._js_node.destroy_node()

    def _on_joint_states(self, msg: JointState) -> None:
        names = list(msg.name)
        try:
            q = np.array([msg.position[names.index(self.tf_prefix + j)] for j in JOINT_NAMES], dtype=np.float64)
        except (ValueError, IndexError):
            return  # another publisher's joints (e.g. a gripper-only JointState)
        if np.all(np.isfinite(q)):
            with self._lock:
                self._q = q
                self._stamp = stamp_s(msg.header.stamp)
                self._received = time.monotonic()
                self._received_clock = self._js_now()

    def has_state(self) -> bool:
        with self._lock:
            return self._q is not None

    def state_problem(self) -> str:
        """"" when the joint state is usable now, else why not (no state, too old, driver silent)."""
        with self._lock:
            q, stamp = self._q, self._stamp
        if q is None:
            return "no /joint_states received yet"
        silent = self._silence()
        if silent:
            return silent
        age = self._js_now() - stamp
        if age > self.max_state_age_s:
            return f"joint state is {age:.3f} s old (max {self.max_state_age_s} s)"
        return ""

    def _silence(self) -> str:
        """"" or "robot driver not responding (...)" (class docstring: node clock, wall backstop)."""
        with self._lock:
            wall = time.monotonic() - self._received
            clock = self._js_now() - self._received_clock
        if clock > self.robot_timeout_s:
            return f"robot driver not responding (no /joint_states for {clock:.1f} s)"
        limit = self.clock_timeout_s if self.sim_time else self.robot_timeout_s
        if wall > limit:
            return f"robot driver not responding (no /joint_states for {wall:.1f} s of wall time)"
        return ""

    def joint_positions(self) -> np.ndarray:
        """(6,) float64 rad, the latest /joint_states. Raises :class:`RobotUnavailable` unless fresh."""
        why = self.state_problem()
        if why:
            raise RobotUnavailable(why)
        with self._lock:
            return self._q.copy()

    def _js_now(self) -> float:
        """The joint-state node's clock, s: its /clock is taken on the same thread as /joint_states.

        Ages and silences are measured on it, not on the owner's clock: while the owner's executor is
        busy its /clock waits in the queue, a receipt stamped with it would look old once the queue
        is taken and the clock jumps (seen under CI load: "not responding" while /joint_states flowed).
        """
        return self._js_node.get_clock().now().nanoseconds * 1e-9

    def now(self) -> float:
        """The node's clock, s (simulation time with use_sim_time)."""
        return self.node.get_clock().now().nanoseconds * 1e-9

    def stop(self) -> None:
        """Hold the arm where it was last measured (one point at t = 0, zero velocity)."""
        with self._lock:
            q = None if self._q is None else self._q.copy()
        if q is None:
            return
        msg = JointTrajectory()
        msg.joint_names = [self.tf_prefix + n for n in JOINT_NAMES]
        msg.points.append(JointTrajectoryPoint(positions=[float(v) for v in q], velocities=[0.0] * 6,
                                               time_from_start=to_duration(0.0)))
        self.pub.publish(msg)

    #: Delay allowed between a commanded sample and the measured joints (transport, controller), s.
    TRACKING_LAG_S = 0.15

    @classmethod
    def _tracking_error(cls, traj, q: np.ndarray, s: float) -> float:
        """Smallest max-joint distance (rad) of ``q`` from the commanded samples of [s − lag, s]."""
        times = np.asarray(traj.times, dtype=np.float64)
        pos = np.asarray(traj.positions, dtype=np.float64)
        ts = np.clip(np.linspace(s - cls.TRACKING_LAG_S, s, 7), times[0], times[-1])
        cmd = np.stack([np.interp(ts, times, pos[:, j]) for j in range(pos.shape[1])], axis=1)
        return float(np.min(np.max(np.abs(cmd - q), axis=1)))

    def execute(self, traj) -> bool:
        """Publish ``traj`` and block until the arm reached its last point (True) or not (False, ``last_error``)."""
        self.robot_lost = False
        self.last_collision = False
        why = self.permit()
        if why:
            self.last_error = f"not executed: {why}"
            return False
        if self.abort.is_set():
            self.last_error = "not executed: stop requested"
            return False
        try:
            q0 = self.joint_positions()
        except RobotUnavailable as exc:
            self.robot_lost = "not responding" in str(exc)
            self.last_error = f"not executed: {exc}"
            return False
        dev = float(np.max(np.abs(np.asarray(traj.positions[0], dtype=np.float64) - q0)))
        if dev > self.start_tolerance:
            self.last_error = (f"not executed: trajectory starts {dev:.3f} rad from the measured joints "
                               f"(max {self.start_tolerance} rad)")
            return False
        goal = np.asarray(traj.positions[-1], dtype=np.float64)
        # the joint-state node's clock and the measurements' own stamps: a busy owner executor (or a
        # late /joint_states) must not turn the delay of a message into a tracking error
        t_start = self._js_now()
        self.pub.publish(trajectory_msg(traj, tf_prefix=self.tf_prefix))
        t_end = t_start + float(traj.duration)
        last_poll = time.monotonic()
        while True:
            stalled = time.monotonic() - last_poll
            if stalled > 0.05:  # this process was not scheduled (CPU or GIL): not the robot's silence
                with self._lock:
                    self._received += stalled
            if self.abort.wait(0.01):
                self.stop()
                self.last_error = "stopped: stop requested"
                return False
            why = self.permit()
            if why:
                self.stop()
                self.last_collision = bool(self.contact_stop())  # the robot stopped on a contact
                self.last_error = f"stopped: {why}"
                return False
            with self._lock:
                last_poll = time.monotonic()
                q, q_stamp = self._q.copy(), self._stamp
            silent = self._silence()
            if silent:  # send nothing more: the controller may be gone
                self.robot_lost = True
                self.last_error = silent
                return False
            now = self._js_now()
            if now < t_start - 1.0:  # the clock jumped back: the simulation (or driver) restarted
                self.robot_lost = True
                self.last_error = "robot clock jumped back (driver restarted) during the motion"
                return False
            if self.guarded:
                err = self._tracking_error(traj, q, q_stamp - t_start)
                if err > self.max_tracking_error:
                    self.stop()
                    self.last_collision = True
                    self.last_error = (f"collision: tracking error {err:.3f} rad > {self.max_tracking_error} rad; "
                                       "arm stopped")
                    return False
            if now < t_end:
                continue
            err = float(np.max(np.abs(q - goal)))
            if err <= self.goal_tolerance:
                self.last_error = ""
                return True
            if now > t_end + self.settle_s:
                self.last_error = f"arm {err:.3f} rad from the trajectory's end {self.settle_s:.1f} s after it"
                return False
