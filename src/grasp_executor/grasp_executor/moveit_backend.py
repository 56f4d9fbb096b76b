"""The ``moveit_py`` motion backend: MoveIt 2 plans and executes (full ROS installs only).

Selected with ``motion_backend: moveit_py``; importable only where MoveIt 2's Python
bindings (``moveit_py``) are installed — the pip path has none, so this module imports
``moveit`` inside the constructor and raises ``ValueError`` with the reason when it is absent.

A :class:`.backends.MotionBackendPlugin` like every backend: ``configure(node, "moveit_py", config,
safety, layout)`` connects to MoveIt; it reads ``config.moveit_py`` (:class:`grasp_core.config.MoveItPyConfig`:
planning ``group``, ``tool_link``) and ``config.base_frame``.

Interface used (MoveIt 2 moveit_py, shared/INTERFACES.md): ``MoveItPy(node_name=...)`` with
the MoveIt parameters of ``ur_moveit_config`` and ``config/moveit_py.yaml`` (passed to the
executor's process by the launch file), planning component ``ur_manipulator``, pose goals for
``tool0`` in ``base_link``; inverse kinematics through ``RobotState.set_from_ik`` (the
kinematics plugin configured for the group). Free-space moves plan with the request parameters
``plan_request_params.*`` (OMPL), straight-line moves with ``linear.plan_request_params.*``
(the Pilz industrial motion planner's ``LIN``; lines away from contact — the lift, the retreat from
the release — with ``clear_linear.plan_request_params.*``), all in config/moveit_py.yaml.

MoveIt 2 Jazzy/Kilted API (moveit2 ``jazzy`` 4d84106): ``PlanRequestParameters(moveit_py, ns)``
has no default for ``ns`` (moveit_py planning_component.cpp:204; Humble's took one argument) and
loads ``<ns>.plan_request_params.*`` (``plan_request_params.*`` for ``""``) from MoveItPy's node
(planning_component.hpp:82-98); ``MoveItPy.execute`` returns an ``ExecutionStatus`` that is
true only on success (moveit_cpp.cpp:204-227; ``.status`` is its name, e.g. ``ABORTED``);
``TrajectoryExecutionManager.stop_execution()`` stops what runs.

Safety (grasp_executor.safety): nothing is executed unless :meth:`Safety.permit` allows it, and
while a trajectory runs a watcher stops MoveIt's execution as soon as it no longer does
(disarm, cancel).
"""
from __future__ import annotations

import threading

import numpy as np
from grasp_core.motion import MoveResult
from scipy.spatial.transform import Rotation

from .backends import MotionBackendPlugin

#: name of MoveItPy's own node (its parameters come from the launch file's ``/**`` files)
NODE_NAME = "grasp_executor_moveit"
#: parameter namespace of the straight-line moves' request parameters (config/moveit_py.yaml)
LINEAR_NAMESPACE = "linear"
#: the same for straight lines away from contact (lift, retreat from the release): faster scaling
CLEAR_LINEAR_NAMESPACE = "clear_linear"
#: time limit of one inverse-kinematics query, s
IK_TIMEOUT_S = 0.05


class MoveItPyBackend(MotionBackendPlugin):
    """MotionBackend over moveit_py (module docstring)."""

    robot = None

    def configure(self, node, name: str, config, safety, layout=None) -> None:
        """Connect to MoveIt (MoveItPy's own node) and load the request parameters.

        Raises:
            ValueError: moveit_py is not importable here.
        """
        try:
            from moveit.core.robot_state import RobotState
            from moveit.planning import MoveItPy, PlanRequestParameters
        except ImportError as exc:
            raise ValueError(f"motion_backend moveit_py needs MoveIt 2's moveit_py ({exc}); "
                             f"use motion_backend:=builtin on the pip path") from exc
        super().configure(node, name, config, safety, layout)
        self.group = config.moveit_py.group
        self.tool_link = config.moveit_py.tool_link
        self.base_frame = config.base_frame
        self._RobotState = RobotState
        self.robot = MoveItPy(node_name=NODE_NAME)
        self.arm = self.robot.get_planning_component(self.group)
        self.free_params = PlanRequestParameters(self.robot, "")
        self.linear_params = PlanRequestParameters(self.robot, LINEAR_NAMESPACE)
        self.clear_linear_params = PlanRequestParameters(self.robot, CLEAR_LINEAR_NAMESPACE)

    def current_joints(self) -> np.ndarray:
        """(6,) rad from MoveIt's current state (planning scene monitor), read under its lock."""
        with self.robot.get_planning_scene_monitor().read_only() as scene:
            state = scene.current_state
            state.update()
            return np.asarray(state.get_joint_group_positions(self.group), dtype=np.float64)

    def cleanup(self) -> None:
        """Shut MoveItPy down (its node and planning scene monitor)."""
        shutdown = getattr(self.robot, "shutdown", None)
        if shutdown is not None:
            shutdown()
        self.robot = None

    def _pose_msg(self, t_base_tool0):
        from geometry_msgs.msg import PoseStamped

        msg = PoseStamped()
        msg.header.frame_id = self.base_frame
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in t_base_tool0[:3, 3])
        x, y, z, w = Rotation.from_matrix(np.asarray(t_base_tool0)[:3, :3]).as_quat()
        msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w = (
            float(x), float(y), float(z), float(w))
        return msg

    def solve_ik(self, t_base_tool0, q_seed):
        """Joint solution (6,) for the tool0 pose from the group's kinematics plugin, or None."""
        state = self._RobotState(self.robot.get_robot_model())
        state.set_joint_group_positions(self.group, np.asarray(q_seed, dtype=np.float64))
        if not state.set_from_ik(self.group, self._pose_msg(t_base_tool0).pose, self.tool_link, IK_TIMEOUT_S):
            return None
        return np.asarray(state.get_joint_group_positions(self.group), dtype=np.float64)

    def stop(self) -> None:
        """Stop MoveIt's running execution (if any)."""
        self.robot.get_trajectory_execution_manager().stop_execution()

    def _execute(self, trajectory) -> MoveResult:
        why = self.safety.permit()
        if why:
            return MoveResult(False, f"not executed: {why}")
        done = threading.Event()
        stopped = []

        def watch() -> None:  # disarm / cancel while MoveIt executes (execute releases the GIL)
            while not done.wait(0.01):
                why = self.safety.permit()
                if why:
                    stopped.append(why)
                    self.stop()
                    return

        watcher = threading.Thread(target=watch, name="moveit_execution_watch", daemon=True)
        watcher.start()
        try:
            status = self.robot.execute(trajectory, controllers=[])
        finally:
            done.set()
            watcher.join()
        if stopped:
            return MoveResult(False, f"stopped: {stopped[0]}")
        # an aborted or preempted execution (tolerance violation, controller fault, no active
        # controller for the group) is a failed move, not a completed one
        if not status:
            name = getattr(status, "status", status)
            self.node.get_logger().error(f"MoveIt execution did not succeed: {name}")
            return MoveResult(False, f"MoveIt execution {name}")
        return MoveResult(True, "")

    def _plan_execute(self, params) -> MoveResult:
        self.arm.set_start_state_to_current_state()
        result = self.arm.plan(single_plan_parameters=params)
        if not result:
            return MoveResult(False, f"MoveIt planning failed (error code {_error_code(result)})")
        return self._execute(result.trajectory)

    def move_joints(self, q_goal) -> MoveResult:
        state = self._RobotState(self.robot.get_robot_model())
        state.set_joint_group_positions(self.group, np.asarray(q_goal, dtype=np.float64))
        self.arm.set_goal_state(robot_state=state)
        return self._plan_execute(self.free_params)

    def move_linear(self, t_base_tool0, clear: bool = False) -> MoveResult:
        self.arm.set_goal_state(pose_stamped_msg=self._pose_msg(t_base_tool0), pose_link=self.tool_link)
        return self._plan_execute(self.clear_linear_params if clear else self.linear_params)


def _error_code(response) -> object:
    """The MotionPlanResponse's MoveItErrorCodes value (``val``), or '?' where it has none."""
    code = getattr(response, "error_code", None)
    return getattr(code, "val", "?")
