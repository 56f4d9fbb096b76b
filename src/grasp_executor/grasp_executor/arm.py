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


class RosArm:
    """The :class:`grasp_core.motion.Arm` protocol over /joint_states and the trajectory topic.

    Args:
        node: the owning node (its clock times the motions).
        trajectory_topic: the controller's JointTrajectory topic.
        joint_states_topic: usually ``/joint_states``.
        tf_prefix: prefix of the driver's joint names (ur_robot_driver ``tf_prefix``).
        goal_tolerance: rad, per joint, at the end of a motion.
        settle_s: extra time (node clock) allowed after the trajectory's duration.
        wall_timeout_factor: wall-clock safety limit = factor × (duration + settle) + 10 s,
            against a stopped simulation.
    """

    def __init__(self, node, trajectory_topic: str, joint_states_topic: str = "/joint_states",
                 tf_prefix: str = "", goal_tolerance: float = 0.01, settle_s: float = 1.0,
                 wall_timeout_factor: float = 20.0, callback_group=None) -> None:
        self.node = node
        self.tf_prefix = tf_prefix
        self.goal_tolerance = float(goal_tolerance)
        self.settle_s = float(settle_s)
        self.wall_timeout_factor = float(wall_timeout_factor)
        self._lock = threading.Lock()
        self._q: np.ndarray | None = None
        self._stamp = -1.0
        self.pub = node.create_publisher(JointTrajectory, trajectory_topic, QoSProfile(depth=10))
        node.create_subscription(JointState, joint_states_topic, self._on_joint_states, QoSProfile(depth=10),
                                 callback_group=callback_group)
        self.last_error = ""

    def _on_joint_states(self, msg: JointState) -> None:
        names = list(msg.name)
        try:
            q = np.array([msg.position[names.index(self.tf_prefix + j)] for j in JOINT_NAMES], dtype=np.float64)
        except (ValueError, IndexError):
            return  # another publisher's joints (e.g. a gripper-only JointState)
        if np.all(np.isfinite(q)):
            with self._lock:
                self._q = q
                self._stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9

    def has_state(self) -> bool:
        with self._lock:
            return self._q is not None

    def joint_positions(self) -> np.ndarray:
        """(6,) float64 rad, the latest /joint_states. Raises RuntimeError before the first one."""
        with self._lock:
            if self._q is None:
                raise RuntimeError("no /joint_states received yet")
            return self._q.copy()

    def now(self) -> float:
        """The node's clock, s (simulation time with use_sim_time)."""
        return self.node.get_clock().now().nanoseconds * 1e-9

    def execute(self, traj) -> bool:
        """Publish ``traj`` and block until the arm reached its last point (True) or time ran out (False)."""
        goal = np.asarray(traj.positions[-1], dtype=np.float64)
        t_start = self.now()
        self.pub.publish(trajectory_msg(traj, tf_prefix=self.tf_prefix))
        t_end = t_start + float(traj.duration)
        wall_deadline = time.monotonic() + self.wall_timeout_factor * (float(traj.duration) + self.settle_s) + 10.0
        while time.monotonic() < wall_deadline:
            time.sleep(0.01)
            now = self.now()
            if now < t_end:
                continue
            err = float(np.max(np.abs(self.joint_positions() - goal)))
            if err <= self.goal_tolerance:
                self.last_error = ""
                return True
            if now > t_end + self.settle_s:
                self.last_error = f"arm {err:.3f} rad from the trajectory's end {self.settle_s:.1f} s after it"
                return False
        self.last_error = "timed out waiting for the arm (is the controller / simulation running?)"
        return False
