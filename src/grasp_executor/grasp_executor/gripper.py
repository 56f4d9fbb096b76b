"""The gripper action: the ONE place where the Robotiq 2F-85 command interface is mapped.

Real cells (PickNikRobotics/ros2_robotiq_gripper, shared/INTERFACES.md) serve
``/robotiq_gripper_controller/gripper_cmd`` as

* ``control_msgs/action/GripperCommand`` (Humble): ``command.position`` = knuckle angle (rad),
  ``command.max_effort`` (N); result ``position``, ``effort``, ``stalled``, ``reached_goal``;
* ``control_msgs/action/ParallelGripperCommand`` (Jazzy and later): ``command`` is a
  ``sensor_msgs/JointState`` (name = the knuckle joint, position, effort); result ``state``
  (JointState), ``stalled``, ``reached_goal``.

control_msgs is not installable on the pip path; there the simulated cell serves
``grasp_interfaces/action/GripperCommand``, field for field the Humble type. ``interface``
chooses: ``auto`` (control_msgs GripperCommand when importable, else grasp_interfaces),
``control_msgs``, ``control_msgs_parallel`` or ``grasp_interfaces``.

Openings (m, 0 … 0.085) are converted to knuckle angles with
:func:`grasp_core.robot.opening_to_knuckle` (linear model, see its docstring).
"""
from __future__ import annotations

import math
import time

from grasp_bridge.actions import GoalSender
from grasp_core.motion import GripperResult
from grasp_core.robot import KNUCKLE_JOINT, knuckle_to_opening, opening_to_knuckle

INTERFACES = ("auto", "control_msgs", "control_msgs_parallel", "grasp_interfaces")


def resolve_action_type(interface: str = "auto"):
    """(action type, its name) for the ``interface`` choice (module docstring).

    Raises:
        ValueError: unknown choice, or a control_msgs type asked for but not importable.
    """
    if interface not in INTERFACES:
        raise ValueError(f"gripper interface must be one of {INTERFACES}, got {interface!r}")
    if interface in ("auto", "control_msgs"):
        try:
            from control_msgs.action import GripperCommand

            return GripperCommand, "control_msgs/action/GripperCommand"
        except ImportError:
            if interface == "control_msgs":
                raise ValueError("gripper interface control_msgs asked for, but control_msgs is not installed") \
                    from None
    if interface == "control_msgs_parallel":
        try:
            from control_msgs.action import ParallelGripperCommand

            return ParallelGripperCommand, "control_msgs/action/ParallelGripperCommand"
        except ImportError:
            raise ValueError("gripper interface control_msgs_parallel asked for, but control_msgs "
                             "(with ParallelGripperCommand, Jazzy+) is not installed") from None
    from grasp_interfaces.action import GripperCommand

    return GripperCommand, "grasp_interfaces/action/GripperCommand"


def make_goal(action_type, knuckle: float, max_effort: float):
    """Goal message of ``action_type`` commanding the knuckle angle (rad) with a force limit (N)."""
    goal = action_type.Goal()
    if hasattr(goal.command, "max_effort"):  # GripperCommand (control_msgs or grasp_interfaces)
        goal.command.position = float(knuckle)
        goal.command.max_effort = float(max_effort)
    else:  # ParallelGripperCommand: a JointState
        goal.command.name = [KNUCKLE_JOINT]
        goal.command.position = [float(knuckle)]
        goal.command.effort = [float(max_effort)]
    return goal


def parse_result(result) -> GripperResult:
    """GripperResult (opening m, stalled, reached_goal) from either action type's result."""
    if hasattr(result, "state"):  # ParallelGripperCommand
        knuckle = float(result.state.position[0]) if len(result.state.position) else math.nan
    else:
        knuckle = float(result.position)
    opening = float(knuckle_to_opening(knuckle)) if math.isfinite(knuckle) else math.nan
    return GripperResult(opening=opening, stalled=bool(result.stalled), reached_goal=bool(result.reached_goal))


class RosGripper:
    """The :class:`grasp_core.motion.Gripper` protocol over the gripper action (blocking calls).

    Call :meth:`command` from a thread that is not spinning the node (the executor node's
    worker thread or an action callback on a MultiThreadedExecutor). Goals go through
    :class:`grasp_bridge.actions.GoalSender` (rclpy 9.1.2 can lose the goal response of a goal
    sent from such a thread).
    """

    def __init__(self, node, action_name: str = "/robotiq_gripper_controller/gripper_cmd",
                 interface: str = "auto", timeout_s: float = 10.0) -> None:
        self.node = node
        self.action_type, self.type_name = resolve_action_type(interface)
        self.action_name = action_name
        self.timeout_s = float(timeout_s)
        self.client = GoalSender(node, self.action_type, action_name)

    def _wait(self, future, deadline: float) -> bool:
        while not future.done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def command(self, opening: float, max_effort: float) -> GripperResult:
        """Move the jaws to ``opening`` m with at most ``max_effort`` N; blocks until the action ends.

        Raises:
            RuntimeError: no action server, no goal response, goal rejected, or no result within
                ``timeout_s`` (wall, all of it).
        """
        deadline = time.monotonic() + self.timeout_s
        if not self.client.wait_for_server(timeout_sec=self.timeout_s):
            raise RuntimeError(f"gripper action {self.action_name} ({self.type_name}) not available")
        goal = make_goal(self.action_type, opening_to_knuckle(opening), max_effort)
        send = self.client.send_goal_async(goal)
        if not self._wait(send, deadline):
            raise RuntimeError(f"gripper goal on {self.action_name} got no response in {self.timeout_s:.0f} s")
        if not send.result().accepted:
            raise RuntimeError(f"gripper goal on {self.action_name} rejected")
        res = send.result().get_result_async()
        if not self._wait(res, deadline):
            raise RuntimeError(f"gripper action {self.action_name} gave no result in {self.timeout_s:.0f} s")
        return parse_result(res.result().result)
