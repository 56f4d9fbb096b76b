"""grasp_executor.moveit_backend against stand-ins with moveit_py's Jazzy/Kilted signatures (pip path).

MoveIt 2 is not installable here, so the ``moveit`` package below is a stand-in with the call
signatures of moveit2 ``jazzy`` 4d84106's bindings that the backend relies on:
``PlanRequestParameters(moveit_cpp, ns)`` with both arguments required
(planning_component.cpp:204), ``MoveItPy.execute(robot_trajectory, controllers)`` returning an
``ExecutionStatus`` that is falsy unless it succeeded, with its name in ``.status``
(moveit_cpp.cpp:204-227, controller_manager.cpp:47-53), ``TrajectoryExecutionManager.stop_execution()``
ending a running execution as PREEMPTED, and a MotionPlanResponse that is truthy on SUCCESS. The
backend, its configuration (grasp_core.config.ExecutorConfig), the node's Safety, a real rclpy
node and MoveResult are real.
"""
from __future__ import annotations

import sys
import textwrap
import threading
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

STAND_IN = {
    "moveit/__init__.py": "",
    "moveit/core/__init__.py": "",
    "moveit/core/robot_state.py": """
        class RobotState:
            def __init__(self, robot_model):
                self.positions = {}
            def set_joint_group_positions(self, group, values):
                self.positions[group] = list(values)
            def get_joint_group_positions(self, group):
                return self.positions[group]
            def set_from_ik(self, group, pose, tip, timeout):
                return True
    """,
    "moveit/planning.py": """
        import threading

        class PlanRequestParameters:
            def __init__(self, moveit_cpp, ns):  # no default namespace, as in Jazzy/Kilted
                assert isinstance(ns, str)
                self.namespace = ns
                self.planner_id = self.planning_pipeline = ""
                self.max_velocity_scaling_factor = self.max_acceleration_scaling_factor = 1.0

        class ExecutionStatus:
            def __init__(self, status):
                self.status = status
            def __bool__(self):
                return self.status == "SUCCEEDED"

        class Response:
            trajectory = "trajectory"
            def __bool__(self):
                return True

        class PlanningComponent:
            def __init__(self):
                self.plans = []
            def set_start_state_to_current_state(self):
                pass
            def set_goal_state(self, **kwargs):
                self.goal = kwargs
            def plan(self, single_plan_parameters=None):
                self.plans.append(single_plan_parameters)
                return Response()

        class TrajectoryExecutionManager:
            def __init__(self):
                self.stopped = threading.Event()
            def stop_execution(self, auto_clear=True):
                self.stopped.set()

        class MoveItPy:
            next_status = "SUCCEEDED"
            run_s = 0.0  # how long an execution runs unless stopped
            def __init__(self, node_name="moveit_py"):
                self.component = PlanningComponent()
                self.manager = TrajectoryExecutionManager()
                self.executed = []
            def get_planning_component(self, name):
                return self.component
            def get_robot_model(self):
                return None
            def get_trajectory_execution_manager(self):
                return self.manager
            def execute(self, robot_trajectory, controllers):
                self.executed.append((robot_trajectory, controllers))
                if self.manager.stopped.wait(MoveItPy.run_s):
                    return ExecutionStatus("PREEMPTED")
                return ExecutionStatus(MoveItPy.next_status)
    """,
}


@pytest.fixture
def backend(tmp_path, monkeypatch):
    for rel, text in STAND_IN.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "moveit" or m.startswith("moveit.")]:
        monkeypatch.delitem(sys.modules, name)
    from grasp_bridge.plugins import activate_plugin, configure_plugin, shutdown_plugin
    from grasp_core.config import ExecutorConfig
    from grasp_executor.moveit_backend import MoveItPyBackend
    from grasp_executor.safety import Safety

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("moveit_backend_test", context=context)
    try:
        backend = MoveItPyBackend()
        configure_plugin(backend, node, "moveit_py", ExecutorConfig(), Safety(armed=True))
        activate_plugin(backend)
        yield backend
        shutdown_plugin(backend)
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        for name in [m for m in sys.modules if m == "moveit" or m.startswith("moveit.")]:
            del sys.modules[name]


def test_plan_request_parameters_get_their_namespaces(backend):
    assert backend.free_params.namespace == ""  # plan_request_params.* of config/moveit_py.yaml
    assert backend.linear_params.namespace == "linear"  # linear.plan_request_params.*
    assert backend.group == "ur_manipulator" and backend.tool_link == "tool0" and backend.base_frame == "base_link"


def test_a_successful_execution_is_a_completed_move(backend):
    res = backend.move_joints(np.zeros(6))
    assert res.ok and res.reason == ""
    assert backend.robot.executed == [("trajectory", [])]


@pytest.mark.parametrize("status", ["ABORTED", "PREEMPTED", "TIMED_OUT", "FAILED"])
def test_a_failed_execution_is_a_failed_move_with_its_status(backend, status, monkeypatch):
    monkeypatch.setattr(type(backend.robot), "next_status", status)
    res = backend.move_joints(np.zeros(6))
    assert not res.ok and status in res.reason
    t = np.eye(4)
    t[:3, 3] = (0.4, 0.0, 0.3)
    res = backend.move_linear(t)
    assert not res.ok and status in res.reason
    assert backend.arm.plans[-1] is backend.linear_params


def test_nothing_is_executed_while_disarmed(backend):
    backend.safety.set_armed(False)
    res = backend.move_joints(np.zeros(6))
    assert not res.ok and "disarmed" in res.reason
    assert backend.robot.executed == []


def test_a_stop_request_stops_the_running_execution(backend, monkeypatch):
    monkeypatch.setattr(type(backend.robot), "run_s", 10.0)
    threading.Timer(0.3, backend.safety.request_stop, args=("Pick cancelled",)).start()
    t0 = time.monotonic()
    res = backend.move_joints(np.zeros(6))
    assert time.monotonic() - t0 < 5.0
    assert backend.robot.manager.stopped.is_set()
    assert not res.ok and "Pick cancelled" in res.reason


def test_deactivating_the_backend_stops_the_running_execution(backend, monkeypatch):
    """The executor's shutdown (Nav2 lifecycle: deactivate) stops a motion in progress."""
    monkeypatch.setattr(type(backend.robot), "run_s", 10.0)
    threading.Timer(0.3, backend.deactivate).start()
    t0 = time.monotonic()
    res = backend.move_joints(np.zeros(6))
    assert time.monotonic() - t0 < 5.0
    assert backend.robot.manager.stopped.is_set()
    assert not res.ok and "shutting down" in res.reason
