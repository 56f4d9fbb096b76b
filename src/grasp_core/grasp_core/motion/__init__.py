"""Motion for the UR5 + Robotiq 2F-85 cell, ROS-free: planning, candidate validation, the pick sequence.

* :mod:`.trajectory`: :class:`JointTrajectory`, :class:`MotionLimits`, :class:`PlanningError`.
* :mod:`.planner`: :func:`plan_joint_motion` (ruckig, joint space), :func:`plan_linear_motion`
  (straight tool0 line, IK per sample).
* :mod:`.collision`: table / bin / arm checks (:class:`CellCollisionChecker`) and the sensed-depth
  finger check (:class:`DepthCollisionMap`).
* :mod:`.validation`: camera-frame candidate → :class:`GraspTarget` or :class:`Rejection`.
* :mod:`.pick`: :func:`run_pick` over a :class:`MotionBackend` and a :class:`Gripper`;
  :class:`BuiltinBackend` over an :class:`Arm`.

Cell (``base_link`` = world, z up): :data:`grasp_core.layout.CELL_LAYOUT` (``config/grasp.yaml``'s
``cell:``): table top z = 0, camera at (0.5, 0, 0.7) looking down, pick area (0.50, 0.00) ± 0.12 m, bin
(inner 0.30 × 0.30 m, walls 0.08 m) centred at (0.25, −0.60) (:data:`BIN_CENTER`, :data:`BIN_INNER`,
:data:`BIN_HEIGHT`: that layout's values, one definition for cell and executor).

Named configurations (rad, :data:`grasp_core.robot.JOINT_NAMES` order), from that layout:

* :data:`HOME_JOINTS` = (π/2, −1.9, 2.3, −1.97, −1.5708, 0): shoulder panned to +y, upper arm
  raised, forearm folded back over the base, tool pointing down with tool0 at about
  (−0.11, 0.32, 0.26) m. Outside the camera's whole image (test_sim renders the empty cell: the
  table only) and outside the view pyramid over the workspace footprint (test_motion). The
  simulated cell starts here (:data:`grasp_core.sim.HOME_Q` is this value).
* :data:`PLACE_JOINTS`: tool0 pointing down 0.30 m above the bin centre (0.25, −0.60): TCP at
  0.15 m, fingertips 0.13 m, 5 cm above the 0.08 m bin walls (a little higher than the nominal
  0.25 m so that a held object clears the walls), same IK branch as HOME:
  :meth:`grasp_core.layout.CellLayout.place_joints` (closed-form IK nearest HOME, 1e-4 rad).
"""
from __future__ import annotations

import numpy as np

from ..layout import CELL_LAYOUT
from .collision import (
    BIN_CENTER,
    BIN_HEIGHT,
    BIN_INNER,
    Box,
    CellCollisionChecker,
    DepthCollisionMap,
    FingerGeometry,
    HeightMap,
    arm_in_view,
    bin_walls,
    default_cell_checker,
    in_view_cone,
    link_points,
)
from .pick import (
    STAGES,
    Arm,
    BinFill,
    BuiltinBackend,
    Gripper,
    GripperResult,
    MotionBackend,
    MoveResult,
    PickConfig,
    PickResult,
    PlacePlan,
    place_plan,
    run_pick,
)
from .planner import check_linear_path, plan_joint_motion, plan_linear_motion
from .trajectory import JointTrajectory, MotionLimits, PlanningError
from .validation import (
    CameraGrasp,
    CandidateRejected,
    GraspTarget,
    Rejection,
    ValidationConfig,
    Workspace,
    validate_candidate,
    validate_or_raise,
)

#: Home: arm folded on the +y side of the base, out of the camera's view (module docstring), rad.
HOME_JOINTS = np.array(CELL_LAYOUT.home_joints, dtype=np.float64)
HOME_JOINTS.setflags(write=False)
#: Place: tool0 pointing down 0.30 m above the bin centre (0.25, −0.60) (module docstring), rad.
PLACE_JOINTS = CELL_LAYOUT.place_joints()
PLACE_JOINTS.setflags(write=False)

__all__ = [
    "BIN_CENTER", "BIN_HEIGHT", "BIN_INNER", "HOME_JOINTS", "PLACE_JOINTS", "STAGES", "Arm", "Box",
    "BinFill", "BuiltinBackend", "CameraGrasp",
    "CandidateRejected", "CellCollisionChecker", "DepthCollisionMap", "FingerGeometry", "GraspTarget", "Gripper",
    "HeightMap",
    "GripperResult", "JointTrajectory", "MotionBackend", "MotionLimits", "MoveResult", "PickConfig", "PickResult",
    "PlacePlan", "PlanningError", "Rejection", "ValidationConfig", "Workspace", "bin_walls", "check_linear_path",
    "default_cell_checker", "arm_in_view", "in_view_cone", "link_points", "plan_joint_motion", "plan_linear_motion",
    "place_plan", "run_pick", "validate_candidate",
    "validate_or_raise",
]
