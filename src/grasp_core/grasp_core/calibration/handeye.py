"""Eye-to-hand calibration with a ChArUco board (ROS-free, numpy in / numpy out).

The concepts live in :mod:`.board` (board definition and mount), :mod:`.detection` (corners and
PnP), :mod:`.solver` (AX = YB, residuals) and :mod:`.poses` (poses for a run); this module keeps
their names importable from ``grasp_core.calibration.handeye``.

The set-up, the method (AX = YB after Shah 2013, Levenberg–Marquardt refinement) and the residuals
are documented in :mod:`.solver`, the board frame in :mod:`.board`.
"""
from .board import BoardSpec, default_board_mount
from .detection import BoardObservation, detect_board, project_board
from .poses import CalibrationPose, propose_poses
from .solver import (
    MIN_SAMPLES,
    HandEyeResult,
    ResidualStats,
    check_rotation_diversity,
    loop_residuals,
    pose_error,
    solve_eye_to_hand,
)

__all__ = ["BoardObservation", "BoardSpec", "CalibrationPose", "HandEyeResult", "MIN_SAMPLES", "ResidualStats",
           "check_rotation_diversity", "default_board_mount", "detect_board", "loop_residuals", "pose_error",
           "project_board", "propose_poses", "solve_eye_to_hand"]
