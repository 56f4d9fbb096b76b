"""Camera calibration against the robot, ROS-free (numpy in, numpy out).

* :mod:`.handeye`: eye-to-hand calibration of a fixed camera with a ChArUco board on the
  flange: board definition and detection, the AX = YB solver, residuals, pose proposals.
"""
from .handeye import (
    MIN_SAMPLES,
    BoardObservation,
    BoardSpec,
    CalibrationPose,
    HandEyeResult,
    ResidualStats,
    check_rotation_diversity,
    default_board_mount,
    detect_board,
    loop_residuals,
    pose_error,
    project_board,
    propose_poses,
    solve_eye_to_hand,
)

__all__ = ["BoardObservation", "BoardSpec", "CalibrationPose", "HandEyeResult", "MIN_SAMPLES", "ResidualStats",
           "check_rotation_diversity", "default_board_mount", "detect_board", "loop_residuals", "pose_error",
           "project_board", "propose_poses", "solve_eye_to_hand"]
