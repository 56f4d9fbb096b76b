"""Goals sent from a worker thread while a MultiThreadedExecutor spins: no goal response is lost.

rclpy 9.1.2's ActionClient.send_goal_async registers a second future after its lock and returns
that one (grasp_bridge.actions' docstring); a response taken between the two is lost. The race
window is a few bytecodes wide; these tests widen it by making rclpy.action.client's Future
constructor sleep 50 ms (fault injection into rclpy, not into the code under test), so a plain
ActionClient loses the response of every goal and the tests can show that GoalSender and the
executor's RosGripper do not.
"""
from __future__ import annotations

import threading
import time
from importlib.metadata import version

import pytest
import rclpy
import rclpy.action.client
from conftest import wait_for
from grasp_bridge.actions import GoalSender
from grasp_core.robot import opening_to_knuckle
from grasp_executor.gripper import RosGripper
from rclpy.action import ActionClient, ActionServer, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.task import Future

from grasp_interfaces.action import GripperCommand

ACTION = "/test_actions/gripper_cmd"
GOALS = 5


class SlowFuture(Future):
    """rclpy's Future, 50 ms slower to make: send_goal_async's unlocked second future comes late."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        time.sleep(0.05)


@pytest.fixture
def cell(domain_id, monkeypatch):
    """(client node, accepted goal positions) with a gripper action server, both spun by an MTE."""
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=domain_id)
    server_node = rclpy.create_node("test_actions_server", context=ctx)
    client_node = rclpy.create_node("test_actions_client", context=ctx)
    accepted: list[float] = []

    def on_goal(goal):
        accepted.append(goal.command.position)
        return GoalResponse.ACCEPT

    def execute(handle):
        feedback = GripperCommand.Feedback()
        feedback.position = handle.request.command.position
        handle.publish_feedback(feedback)
        handle.succeed()
        result = GripperCommand.Result()
        result.position = handle.request.command.position
        result.reached_goal = True
        return result

    server = ActionServer(server_node, GripperCommand, ACTION, execute_callback=execute, goal_callback=on_goal,
                          callback_group=ReentrantCallbackGroup())
    ex = MultiThreadedExecutor(num_threads=8, context=ctx)
    ex.add_node(server_node)
    ex.add_node(client_node)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()
    monkeypatch.setattr(rclpy.action.client, "Future", SlowFuture)
    try:
        yield client_node, accepted
    finally:
        ex.shutdown(timeout_sec=2.0)
        server.destroy()
        rclpy.shutdown(context=ctx)
        spinner.join(5.0)


def lost_responses(send, accepted: list, n: int = GOALS) -> int:
    """Send n goals one after another from this (non-spinning) thread; count those never answered."""
    lost = 0
    for i in range(n):
        goal = GripperCommand.Goal()
        goal.command.position = 0.1 * i
        before = len(accepted)
        future = send(goal)
        if not wait_for(future.done, 2.0, interval=0.005):
            assert len(accepted) == before + 1  # the server did accept it: the response was lost here
            lost += 1
            continue
        handle = future.result()
        assert handle.accepted
        result = handle.get_result_async()
        assert wait_for(result.done, 5.0, interval=0.005)
        assert result.result().result.position == pytest.approx(0.1 * i)
    return lost


def test_plain_action_client_loses_the_responses_the_injected_delay_lets_through(cell):
    """Control: the fault injection reproduces the race on rclpy's own client (so the next tests can fail)."""
    node, accepted = cell
    client = ActionClient(node, GripperCommand, ACTION, callback_group=ReentrantCallbackGroup())
    assert client.wait_for_server(timeout_sec=10.0)
    lost = lost_responses(client.send_goal_async, accepted)
    assert lost >= GOALS - 1, (f"rclpy {version('rclpy')}'s ActionClient lost {lost} of {GOALS} responses: if its "
                               "send_goal_async no longer registers a second future, GoalSender can go")


def test_goal_sender_loses_no_response(cell):
    node, accepted = cell
    sender = GoalSender(node, GripperCommand, ACTION)
    assert sender.wait_for_server(timeout_sec=10.0) and sender.server_is_ready()
    assert not GoalSender(node, GripperCommand, "/test_actions/nobody").server_is_ready()
    feedback: list[float] = []

    def send(goal):
        return sender.send_goal_async(goal, feedback_callback=lambda m: feedback.append(m.feedback.position))

    assert lost_responses(send, accepted) == 0
    assert len(accepted) == GOALS
    assert wait_for(lambda: len(feedback) >= GOALS, 5.0, interval=0.005)
    assert feedback == pytest.approx([0.1 * i for i in range(GOALS)])


def test_goal_sender_hands_send_errors_to_the_caller(cell):
    node, _ = cell
    sender = GoalSender(node, GripperCommand, ACTION)
    future = sender.send_goal_async("not a goal")
    assert wait_for(future.done, 5.0, interval=0.005)
    with pytest.raises(TypeError):
        future.result()


def test_ros_gripper_commands_complete_through_the_race(cell):
    """The executor's gripper: each command returns the server's result, none times out."""
    node, accepted = cell
    gripper = RosGripper(node, ACTION, "grasp_interfaces", timeout_s=5.0)
    for opening in (0.085, 0.0, 0.04):
        t0 = time.monotonic()
        result = gripper.command(opening, 50.0)
        assert time.monotonic() - t0 < 2.0
        assert result.reached_goal
        assert accepted[-1] == pytest.approx(opening_to_knuckle(opening))
    assert len(accepted) == 3
