"""ROS-free MuJoCo simulation of the UR5 + Robotiq-2F-85-like pick cell.

* :mod:`.config`: :class:`CellConfig` (the simulator's settings; geometry from
  :class:`grasp_core.layout.CellLayout`), :func:`default_extrinsics_path`, :data:`HOME_Q`.
* :mod:`.model`: the MJCF (the project's own UR5, table, bin, camera; the gripper's from
  :mod:`grasp_core.robot.gripper`).
* :mod:`.cell`: :class:`SimCell` (reset with objects, servo the arm, gripper, render depth/RGB,
  ground truth), composed of:
  :mod:`.spawn` (which objects, where), :mod:`.servo` (control laws), :mod:`.gripper` (the gripper
  drive), :mod:`.rendering` (camera placement, rendering, projection), :mod:`.ground_truth`
  (objects in the bin / on the table), :mod:`.board` (the optional ChArUco plate).
* :mod:`.trajectory`: :class:`TrajectoryFollower` (joint_trajectory_controller semantics),
  :func:`quintic_trajectory`.

Object specs and their geometry (:func:`object_points`, :func:`fits_gripper`, …) live in
:mod:`grasp_core.objects` and are re-exported here.
"""
from ..objects import fits_gripper, graspable_random_object, min_horizontal_width, object_points
from .cell import SimCell
from .config import HOME_Q, CellConfig, default_extrinsics_path
from .trajectory import TrajectoryFollower, quintic_trajectory

__all__ = ["CellConfig", "HOME_Q", "SimCell", "TrajectoryFollower", "default_extrinsics_path", "fits_gripper",
           "graspable_random_object", "min_horizontal_width", "object_points", "quintic_trajectory"]
