"""Motion backends of the executor node: plugins behind :class:`grasp_core.motion.MotionBackend`.

Every backend derives from :class:`MotionBackendPlugin`, a :class:`grasp_bridge.plugins.Plugin`
with Nav2's lifecycle, like the camera sources and the detectors. The executor node calls

1. ``configure(node, name, config, safety, layout)`` while it is built — ``name`` is the
   backend's plugin name (``builtin``, ``moveit_py``), ``config`` the node's
   :class:`grasp_core.config.ExecutorConfig` (a backend reads its own section, Nav2 style:
   ``config.builtin`` / ``config.moveit_py``), ``safety`` the node's :class:`.safety.Safety`
   (arming, stop requests), ``layout`` the node's :class:`grasp_core.layout.CellLayout` (table,
   bin); raises ``ValueError`` with a one-line reason when the backend cannot work;
2. ``activate()`` when it serves; 3. ``deactivate()`` at shutdown (requests a stop of any
   running motion through ``safety``); 4. ``cleanup()`` (releases the robot connection);

and, while active, ``state_problem()``, ``current_joints()``, ``solve_ik(T_base_tool0, q_seed)``,
``move_joints(q)``, ``move_linear(T_base_tool0)`` (blocking; call from a worker thread) and ``stop()``.

``builtin``: :class:`grasp_core.motion.BuiltinBackend` (closed-form UR5 IK, the solution nearest
the current joints within the limits, ruckig time parameterisation, straight-line Cartesian
approach/retreat, table collision check) driving the arm through :class:`.arm.RosArm`
(joint_trajectory_controller topic + /joint_states).
"""
from __future__ import annotations

import numpy as np
from grasp_bridge.plugins import Plugin

from grasp_core import motion

from .arm import RosArm


class MotionBackendPlugin(Plugin):
    """The motion backends' contract (module docstring): a Plugin plus the motion methods.

    Attributes:
        config: the node's :class:`grasp_core.config.ExecutorConfig` (after ``configure``).
        safety: the node's :class:`.safety.Safety` (after ``configure``).
        layout: the node's :class:`grasp_core.layout.CellLayout` (after ``configure``).
    """

    config = None
    safety = None
    layout = None

    def configure(self, node, name: str, config, safety, layout=None) -> None:
        """Remember the host's configuration, safety and cell layout (subclasses connect to the robot).

        Raises:
            ValueError: the backend cannot work here (one-line reason).
        """
        super().configure(node, name)
        self.config, self.safety, self.layout = config, safety, layout

    def state_problem(self) -> str:
        """"" when the robot state can be moved from, else why not. Default: ""."""
        return ""

    def current_joints(self) -> np.ndarray:
        """(6,) float64 measured joint positions, rad (UR joint order)."""
        raise NotImplementedError

    def solve_ik(self, t_base_tool0, q_seed) -> np.ndarray | None:
        """(6,) rad joint solution for the (4, 4) ``base_link`` → ``tool0`` pose nearest ``q_seed``, or None."""
        raise NotImplementedError

    def move_joints(self, q_goal) -> motion.MoveResult:
        """Move to the (6,) rad joint goal (blocking)."""
        raise NotImplementedError

    def move_linear(self, t_base_tool0, clear: bool = False) -> motion.MoveResult:
        """Move ``tool0`` on a straight line to the (4, 4) pose in ``base_link`` (blocking); ``clear``:
        the line moves away from contact (lift, retreat from the release) and may run faster."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop any running motion now (may be called from any thread)."""
        raise NotImplementedError

    def deactivate(self) -> None:
        """Stop any running motion: a stop request through :class:`.safety.Safety`, which every
        backend's execution watches (the built-in one then holds the arm where it is)."""
        if self.safety is not None:
            self.safety.request_stop("executor shutting down")


class BuiltinRosBackend(MotionBackendPlugin):
    """The ``builtin`` backend (module docstring); parameters ``builtin.*``
    (:class:`grasp_core.config.BuiltinBackendConfig`).

    Every planned trajectory is checked against the table and the bin of the node's cell layout
    (:func:`grasp_core.motion.default_cell_checker`) before it is sent; :class:`.arm.RosArm` sends it
    only when armed, from fresh joint state, starting within ``start_tolerance`` of the measured
    joints.
    """

    arm: RosArm | None = None

    def configure(self, node, name: str, config, safety, layout=None) -> None:
        super().configure(node, name, config, safety, layout)
        b = config.builtin
        self.arm = RosArm(node, b.trajectory_topic, tf_prefix=b.tf_prefix, goal_tolerance=b.goal_tolerance,
                          start_tolerance=b.start_tolerance, max_state_age_s=config.max_joint_state_age_s,
                          robot_timeout_s=config.robot_timeout_s,
                          clock_timeout_s=config.robot_clock_timeout_s, permit=safety.permit, abort=safety.abort,
                          max_tracking_error=config.max_tracking_error,
                          contact_stop=lambda: safety.robot_fault_contact)
        self.impl = motion.BuiltinBackend(self.arm, config.motion_limits(),
                                           collision=motion.default_cell_checker(layout=layout))

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

    def move_linear(self, t_base_tool0, clear: bool = False):
        return self.impl.move_linear(t_base_tool0, clear)

    def stop(self) -> None:
        self.arm.stop()

    def cleanup(self) -> None:
        """Stop the joint-state node and its thread."""
        self.arm.close()
