"""Issue 13: the executor's arm (``RosArm``) stops following a trajectory when the robot side's
``/joint_states`` fall behind it by more than ``max_tracking_error`` during a guarded motion.

The robot side is a separate process whose joints stay where they are (a blocked arm); the
executor side is ``RosArm`` on its own rclpy context in this process, on a test domain.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from grasp_core.motion import MotionLimits  # noqa: E402
from grasp_core.motion.planner import plan_joint_motion  # noqa: E402
from grasp_core.robot import JOINT_NAMES  # noqa: E402

Q0 = np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0])
STUCK_ROBOT = textwrap.dedent(f"""
    import rclpy
    from sensor_msgs.msg import JointState
    rclpy.init()
    node = rclpy.create_node("stuck_robot")
    pub = node.create_publisher(JointState, "/joint_states", 10)
    def tick():
        m = JointState()
        m.header.stamp = node.get_clock().now().to_msg()
        m.name = {list(JOINT_NAMES)!r}
        m.position = {Q0.tolist()!r}
        pub.publish(m)
    node.create_timer(0.01, tick)
    rclpy.spin(node)
""")


@pytest.fixture()
def ros_arm(domain_id, ros_env):
    dom = domain_id
    env = {**ros_env, "ROS_DOMAIN_ID": str(dom)}
    robot = subprocess.Popen([sys.executable, "-c", STUCK_ROBOT], env=env)
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=dom)
    from grasp_executor.arm import RosArm
    from rclpy.executors import SingleThreadedExecutor
    from trajectory_msgs.msg import JointTrajectory

    node = rclpy.create_node("tracking_test_executor", context=ctx)
    sent: list = []
    node.create_subscription(JointTrajectory, "/test/joint_trajectory", sent.append, 10)
    arm = RosArm(node, "/test/joint_trajectory", settle_s=0.3, max_state_age_s=0.5, robot_timeout_s=2.0,
                 max_tracking_error=0.05)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    spin = threading.Thread(target=ex.spin, daemon=True)
    spin.start()
    try:
        t0 = time.monotonic()
        while not arm.has_state() and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        assert arm.has_state(), "no /joint_states from the robot process"
        yield arm, sent
    finally:
        arm.close()
        ex.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.shutdown(context=ctx)
        robot.terminate()
        robot.wait(timeout=10)


def test_guarded_motion_stops_on_tracking_error(ros_arm):
    arm, sent = ros_arm
    goal = Q0 + np.array([0.6, 0.0, 0.0, 0.0, 0.0, 0.0])
    traj = plan_joint_motion(arm.joint_positions(), goal, MotionLimits())
    assert traj.duration > 1.0
    arm.guarded = True
    t0 = time.monotonic()
    assert not arm.execute(traj)
    stopped_after = time.monotonic() - t0
    assert arm.last_collision and arm.last_error.startswith("collision: tracking error"), arm.last_error
    assert stopped_after < traj.duration  # stopped while following, not at the end
    time.sleep(0.3)
    assert len(sent) >= 2  # the trajectory, then the hold at the measured joints
    hold = sent[-1]
    assert len(hold.points) == 1 and np.allclose(hold.points[0].positions, Q0, atol=1e-6)


def test_unguarded_motion_is_not_stopped_as_a_collision(ros_arm):
    """The same blocked arm outside approach/closing: the move fails at its end, not as a collision."""
    arm, _ = ros_arm
    traj = plan_joint_motion(arm.joint_positions(), Q0 + np.array([0.3, 0, 0, 0, 0, 0]), MotionLimits())
    arm.guarded = False
    t0 = time.monotonic()
    assert not arm.execute(traj)
    assert time.monotonic() - t0 >= traj.duration
    assert not arm.last_collision and "from the trajectory's end" in arm.last_error


def test_ur_protective_stop_stops_the_motion_as_a_collision_and_blocks_the_next(ros_arm):
    """The UR driver's safety mode (io_and_status_controller/safety_mode) through Safety: a protective
    stop mid-motion ends it as a collision with a hold sent; nothing starts until NORMAL again."""
    from grasp_executor.safety import Safety
    from grasp_executor.ur_status import SafetyModeWatch, safety_mode_problem

    arm, sent = ros_arm
    safety = Safety(armed=True)
    arm.permit, arm.abort = safety.permit, safety.abort
    arm.contact_stop = lambda: safety.robot_fault_contact
    logged: list[str] = []
    log = type("Log", (), {"info": lambda self, m: logged.append(m), "error": lambda self, m: logged.append(m)})()
    watch = SafetyModeWatch(safety, log)
    watch.apply(1)
    traj = plan_joint_motion(arm.joint_positions(), Q0 + np.array([0.3, 0, 0, 0, 0, 0]), MotionLimits())
    threading.Timer(0.3, watch.apply, args=(3,)).start()  # the robot's force limit trips mid-motion
    t0 = time.monotonic()
    assert not arm.execute(traj)
    assert time.monotonic() - t0 < traj.duration
    assert arm.last_collision and "PROTECTIVE_STOP" in arm.last_error and arm.last_error.startswith("stopped")
    time.sleep(0.2)
    assert len(sent[-1].points) == 1  # the hold at the measured joints
    n = len(sent)
    assert not arm.execute(traj) and "not executed: UR safety mode PROTECTIVE_STOP" in arm.last_error
    assert len(sent) == n and "PROTECTIVE_STOP" in safety.begin_pick()
    watch.apply(3)  # repeated: logged once
    watch.apply(1)
    assert safety.begin_pick() == "" and safety.permit() == ""
    normal = "UR safety mode NORMAL: motion allowed"
    assert [m.split(" (")[0] for m in logged] == [normal, "UR safety mode PROTECTIVE_STOP", normal]
    watch.apply(7)
    assert not safety.robot_fault_contact and "ROBOT_EMERGENCY_STOP" in safety.permit()
    assert safety_mode_problem(2) == "" and "unknown" in safety_mode_problem(42)
