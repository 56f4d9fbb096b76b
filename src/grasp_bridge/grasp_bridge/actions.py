"""Action goals sent from threads that do not spin the node, without losing the goal response.

rclpy's ``ActionClient.send_goal_async`` (rclpy 9.1.2, the Kilted wheels) registers the goal's
future under its lock, then creates a SECOND future and registers it again outside the lock, and
returns that one (a mis-merged backport of the fix for ros2/rclpy#1123, PR #1517). When the server's
response is taken by an executor thread between the two -- the caller is a worker thread while a
MultiThreadedExecutor spins the node, and the machine is loaded -- the first future receives the
goal handle and the returned one never completes: the caller waits out its timeout although the
server accepted (and executes) the goal. It happened once in CI: the executor's "close" gripper
command reported "not accepted" after 15 s while the simulated gripper had closed.

:class:`GoalSender` closes the window with public API only: its :class:`~rclpy.action.ActionClient`
lives in a mutually exclusive callback group together with a guard condition, and goals are sent
from that guard condition's callback, so the client cannot take the response before
``send_goal_async`` has returned. Callers on any thread get a future that completes with the
:class:`~rclpy.action.client.ClientGoalHandle`.
"""
from __future__ import annotations

import collections

from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.task import Future


class GoalSender:
    """An action client whose goals may be sent from any thread (module docstring).

    The node must be spun by an executor (any kind): goals are sent from one of its callbacks. A
    caller that blocks until the future is done must therefore not be the thread that executor
    needs for that (a callback on a SingleThreadedExecutor); worker threads and the callbacks of
    a MultiThreadedExecutor with a thread to spare may block.

    Args:
        node: the rclpy node the client belongs to.
        action_type: the action's type (e.g. ``control_msgs.action.GripperCommand``).
        action_name: the action's name (absolute or relative to the node).
    """

    def __init__(self, node, action_type, action_name: str) -> None:
        self.group = MutuallyExclusiveCallbackGroup()
        #: the underlying client (its callbacks run in :attr:`group`); use it for graph queries only
        self.client = ActionClient(node, action_type, action_name, callback_group=self.group)
        self._queue: collections.deque = collections.deque()  # (goal, feedback callback, future), in send order
        self._guard = node.create_guard_condition(self._send_queued, callback_group=self.group)

    def wait_for_server(self, timeout_sec: float | None = None) -> bool:
        """True once an action server is there (wall ``timeout_sec``; None waits for ever)."""
        return self.client.wait_for_server(timeout_sec=timeout_sec)

    def server_is_ready(self) -> bool:
        """True when an action server is there now (ActionClient.server_is_ready)."""
        return self.client.server_is_ready()

    def send_goal_async(self, goal, feedback_callback=None) -> Future:
        """Queue ``goal`` for sending; the returned future completes with its ClientGoalHandle.

        The future completes with the handle whether the goal was accepted or rejected
        (``handle.accepted``), or with the exception ``send_goal_async`` raised (e.g. TypeError
        for a goal of another type). ``feedback_callback`` (one argument: the action's
        FeedbackMessage) runs in the executor, as with ActionClient. Thread-safe.
        """
        done: Future = Future()
        self._queue.append((goal, feedback_callback, done))
        self._guard.trigger()
        return done

    def _send_queued(self) -> None:
        while self._queue:
            goal, feedback_callback, done = self._queue.popleft()
            try:
                sent = self.client.send_goal_async(goal, feedback_callback=feedback_callback)
            except Exception as exc:  # handed to the caller, who raises it
                done.set_exception(exc)
                continue
            sent.add_done_callback(lambda f, done=done: done.set_result(f.result()))
