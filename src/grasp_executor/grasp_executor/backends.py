"""Motion backends of the executor node: plugins behind :class:`grasp_core.motion.MotionBackend`.

A backend is constructed as ``Backend(node, config, safety, callback_group=...)`` — ``config`` is
the node's :class:`grasp_core.config.ExecutorConfig` (a backend reads its own section, Nav2 style:
``config.builtin`` / ``config.moveit_py``), ``safety`` the node's :class:`.safety.Safety` (arming,
stop requests, the joint-state guard) — and implements ``current_joints()``,
``solve_ik(T_base_tool0, q_seed)``, ``move_joints(q)`` and ``move_linear(T_base_tool0)``
(blocking; call from a worker thread) and ``stop()``.

``builtin``: :class:`grasp_core.motion.BuiltinBackend` (closed-form UR5 IK, the solution nearest
the current joints within the limits, ruckig time parameterisation, straight-line Cartesian
approach/retreat, table collision check) driving the arm through :class:`.arm.RosArm`
(joint_trajectory_controller topic + /joint_states).
"""
from __future__ import annotations

import numpy as np

from grasp_core import motion

from .arm import RosArm


class BuiltinRosBackend:
    """The ``builtin`` backend (module docstring); parameters ``builtin.*``
    (:class:`grasp_core.config.BuiltinBackendConfig`).

    Every planned trajectory is checked against the table and the bin
    (:func:`grasp_core.motion.default_cell_checker`) before it is sent; :class:`.arm.RosArm` sends it
    only when armed, from fresh joint state, starting within ``start_tolerance`` of the measured
    joints.
    """

    def __init__(self, node, config, safety, callback_group=None) -> None:
        b = config.builtin
        self.arm = RosArm(node, b.trajectory_topic, tf_prefix=b.tf_prefix, goal_tolerance=b.goal_tolerance,
                          start_tolerance=b.start_tolerance, max_state_age_s=config.max_joint_state_age_s,
                          robot_timeout_s=config.robot_timeout_s,
                          clock_timeout_s=config.robot_clock_timeout_s, permit=safety.permit, abort=safety.abort,
                          max_tracking_error=config.max_tracking_error)
        self.impl = motion.BuiltinBackend(self.arm, config.motion_limits(),
                                           collision=motion.default_cell_checker(layout=getattr(node, 'layout', None)))

    def state_problem(self) -> str:
        """"" when the robot state is fresh, else why not."""
        return self.arm.state_problem()

    def current_joints(self) -> np.ndarray:
        return self.arm.joint_positions()

    def set_guarded(self, guarded: bool) -> None:
        """Approach and closing: the arm's tracking-error stop applies (:class:`.arm.RosArm`)."""
        self.impl.set_guarded(guarded)

    def solve_ik(self, t_base_tool0, q_seed):
        return self.impl.solve_ik(t_base_tool0, q_seed)

    def move_joints(self, q_goal):
        return self.impl.move_joints(q_goal)

    def move_linear(self, t_base_tool0):
        return self.impl.move_linear(t_base_tool0)

    def stop(self) -> None:
        self.arm.stop()

    def close(self) -> None:
        self.arm.close()
