"""The ``moveit_py`` motion backend: MoveIt 2 plans and executes (full ROS installs only).

Selected with ``motion_backend: moveit_py``; importable only where MoveIt 2's Python
bindings (``moveit_py``) are installed — the pip path has none, so this module imports
``moveit`` inside the constructor and raises ``ValueError`` with the reason when it is absent.

Interface used (MoveIt 2 moveit_py, shared/INTERFACES.md): ``MoveItPy(node_name=...)`` with
the MoveIt parameters of ``ur_moveit_config`` (passed to the executor's process by the launch
file), planning component ``ur_manipulator``, pose goals for ``tool0`` in ``base_link``;
free-space moves with the default pipeline (OMPL), straight-line moves with the Pilz
industrial motion planner's ``LIN`` planner; inverse kinematics through
``RobotState.set_from_ik`` (the kinematics plugin configured for the group).

Parameters (``moveit_py.*``): ``node_name`` ("grasp_executor_moveit"), ``group``
("ur_manipulator"), ``tool_link`` ("tool0"), ``base_frame`` ("base_link"),
``linear_pipeline`` ("pilz_industrial_motion_planner"), ``linear_planner_id`` ("LIN"),
``velocity_scaling`` (0.3), ``acceleration_scaling`` (0.3), ``ik_timeout_s`` (0.05).

MoveIt 2 Jazzy/Kilted API (moveit2 ``jazzy`` 4d84106): ``PlanRequestParameters(moveit_py, ns)``
has no default for ``ns`` (moveit_py planning_component.cpp:204; Humble's took one argument) and
loads ``<ns>.plan_request_params.*`` (``plan_request_params.*`` for ``""``; config/moveit_py.yaml)
from MoveItPy's node; ``MoveItPy.execute`` returns an ``ExecutionStatus`` that is true only on
success (moveit_cpp.cpp:204-227; ``.status`` is the name, e.g. ``ABORTED``).
"""
from __future__ import annotations

import numpy as np
from grasp_core.motion import MoveResult
from scipy.spatial.transform import Rotation


class MoveItPyBackend:
    """MotionBackend over moveit_py (module docstring)."""

    def __init__(self, node, callback_group=None) -> None:
        try:
            from moveit.core.robot_state import RobotState
            from moveit.planning import MoveItPy, PlanRequestParameters
        except ImportError as exc:
            raise ValueError(f"motion_backend moveit_py needs MoveIt 2's moveit_py ({exc}); "
                             f"use motion_backend:=builtin on the pip path") from exc
        p = node.declare_parameter
        self.group = str(p("moveit_py.group", "ur_manipulator").value)
        self.tool_link = str(p("moveit_py.tool_link", "tool0").value)
        self.base_frame = str(p("moveit_py.base_frame", "base_link").value)
        self.ik_timeout = float(p("moveit_py.ik_timeout_s", 0.05).value)
        self._RobotState = RobotState
        self.robot = MoveItPy(node_name=str(p("moveit_py.node_name", "grasp_executor_moveit").value))
        self.arm = self.robot.get_planning_component(self.group)
        # "" = the top-level plan_request_params of config/moveit_py.yaml; pipeline, planner and
        # scaling are then set per move type from this node's parameters
        self.free_params = PlanRequestParameters(self.robot, "")
        self.linear_params = PlanRequestParameters(self.robot, "")
        self.linear_params.planning_pipeline = str(p("moveit_py.linear_pipeline",
                                                     "pilz_industrial_motion_planner").value)
        self.linear_params.planner_id = str(p("moveit_py.linear_planner_id", "LIN").value)
        vel = float(p("moveit_py.velocity_scaling", 0.3).value)
        acc = float(p("moveit_py.acceleration_scaling", 0.3).value)
        for params in (self.free_params, self.linear_params):
            params.max_velocity_scaling_factor = vel
            params.max_acceleration_scaling_factor = acc
        self.node = node

    def current_joints(self) -> np.ndarray:
        """(6,) rad from MoveIt's current state (planning scene monitor), read under its lock."""
        with self.robot.get_planning_scene_monitor().read_only() as scene:
            state = scene.current_state
            state.update()
            return np.asarray(state.get_joint_group_positions(self.group), dtype=np.float64)

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
        if not state.set_from_ik(self.group, self._pose_msg(t_base_tool0).pose, self.tool_link, self.ik_timeout):
            return None
        return np.asarray(state.get_joint_group_positions(self.group), dtype=np.float64)

    def _plan_execute(self, params) -> MoveResult:
        self.arm.set_start_state_to_current_state()
        result = self.arm.plan(single_plan_parameters=params)
        if not result:
            return MoveResult(False, f"MoveIt planning failed (error code {_error_code(result)})")
        # an aborted or preempted execution (tolerance violation, controller fault, no active
        # controller for the group) is a failed move, not a completed one
        status = self.robot.execute(result.trajectory, controllers=[])
        if not status:
            name = getattr(status, "status", status)
            self.node.get_logger().error(f"MoveIt execution did not succeed: {name}")
            return MoveResult(False, f"MoveIt execution {name}")
        return MoveResult(True, "")

    def move_joints(self, q_goal) -> MoveResult:
        state = self._RobotState(self.robot.get_robot_model())
        state.set_joint_group_positions(self.group, np.asarray(q_goal, dtype=np.float64))
        self.arm.set_goal_state(robot_state=state)
        return self._plan_execute(self.free_params)

    def move_linear(self, t_base_tool0) -> MoveResult:
        self.arm.set_goal_state(pose_stamped_msg=self._pose_msg(t_base_tool0), pose_link=self.tool_link)
        return self._plan_execute(self.linear_params)


def _error_code(response) -> object:
    """The MotionPlanResponse's MoveItErrorCodes value (``val``), or '?' where it has none."""
    code = getattr(response, "error_code", None)
    return getattr(code, "val", "?")
