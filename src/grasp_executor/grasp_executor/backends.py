"""Motion backends of the executor node: plugins behind :class:`grasp_core.motion.MotionBackend`.

A backend is constructed as ``Backend(node, callback_group=...)``, reads its own parameters
from the node (namespace ``<backend name>.``, Nav2 style) and implements
``current_joints()``, ``solve_ik(T_base_tool0, q_seed)``, ``move_joints(q)`` and
``move_linear(T_base_tool0)`` (blocking; call from a worker thread).

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
    """The ``builtin`` backend (module docstring). Parameters (``builtin.*``):

    trajectory_topic (str): the controller's JointTrajectory topic
        (default ``/scaled_joint_trajectory_controller/joint_trajectory``).
    tf_prefix (str): prefix of the driver's joint names.
    max_joint_velocity (rad/s), max_joint_acceleration (rad/s²), max_joint_jerk (rad/s³):
        joint limits used for time parameterisation (one value for all joints).
    max_cartesian_speed (m/s): tool0 speed on straight-line segments.

    Every planned trajectory is checked against the table and the bin
    (:func:`grasp_core.motion.default_cell_checker`) before it is sent.
    goal_tolerance (rad): per-joint error accepted at the end of a motion.
    """

    def __init__(self, node, callback_group=None) -> None:
        p = node.declare_parameter
        topic = str(p("builtin.trajectory_topic", "/scaled_joint_trajectory_controller/joint_trajectory").value)
        tf_prefix = str(p("builtin.tf_prefix", "").value)
        defaults = motion.MotionLimits()
        limits = motion.MotionLimits(
            max_velocity=float(p("builtin.max_joint_velocity", float(np.min(defaults.max_velocity))).value),
            max_acceleration=float(p("builtin.max_joint_acceleration",
                                     float(np.min(defaults.max_acceleration))).value),
            max_jerk=float(p("builtin.max_joint_jerk", float(np.min(defaults.max_jerk))).value),
            max_linear_speed=float(p("builtin.max_cartesian_speed", defaults.max_linear_speed).value),
        )
        tol = float(p("builtin.goal_tolerance", 0.01).value)
        self.arm = RosArm(node, topic, tf_prefix=tf_prefix, goal_tolerance=tol, callback_group=callback_group)
        self.impl = motion.BuiltinBackend(self.arm, limits, collision=motion.default_cell_checker())

    def current_joints(self) -> np.ndarray:
        return self.arm.joint_positions()

    def solve_ik(self, t_base_tool0, q_seed):
        return self.impl.solve_ik(t_base_tool0, q_seed)

    def move_joints(self, q_goal):
        return self.impl.move_joints(q_goal)

    def move_linear(self, t_base_tool0):
        return self.impl.move_linear(t_base_tool0)
