"""ROS-free MuJoCo simulation of the UR5 + Robotiq-2F-85-like pick cell.

* :mod:`.model`: the MJCF (the project's own UR5, gripper, table, bin, camera).
* :mod:`.cell`: :class:`SimCell` (reset with objects, servo the arm, gripper, render depth/RGB,
  ground truth) and :class:`CellConfig`.
* :mod:`.trajectory`: :class:`TrajectoryFollower` (joint_trajectory_controller semantics),
  :func:`quintic_trajectory`.
"""
from .cell import (
    HOME_Q,
    CellConfig,
    SimCell,
    default_extrinsics_path,
    fits_gripper,
    graspable_random_object,
    min_horizontal_width,
    object_points,
)
from .trajectory import TrajectoryFollower, quintic_trajectory

__all__ = ["CellConfig", "HOME_Q", "SimCell", "TrajectoryFollower", "default_extrinsics_path", "fits_gripper",
           "graspable_random_object", "min_horizontal_width", "object_points", "quintic_trajectory"]
