"""Eye-to-hand calibration with a ChArUco board (ROS-free, numpy in / numpy out).

The concepts live in :mod:`.board` (board definition and mount), :mod:`.detection` (corners and
PnP), :mod:`.solver` (AX = YB, residuals) and :mod:`.poses` (poses for a run); this module keeps
their names importable from ``grasp_core.calibration.handeye``.

Set-up: a FIXED camera watches the workspace; the robot holds a ChArUco board rigidly on its
flange (``tool0``). For every robot pose i we know

* A_i = T_base_tool0,i from forward kinematics of the joint states (:func:`grasp_core.robot.forward_kinematics`),
* B_i = T_camera_board,i from the image (:func:`detect_board`: ChArUco corners + PnP),

and the two unknown constant transforms X = T_base_camera (what the stack needs: the camera
optical frame in ``base_link``) and Y = T_tool0_board (where the board sits on the flange) close
the loop for every i::

    A_i · Y = X · B_i        (T_base_board computed along the robot and along the camera)

Method (why not ``cv2.calibrateHandEye``): the eye-to-hand case can be fed to the classic AX = XB
hand-eye solvers by inverting the robot poses, but that solves only for X and throws away the
fact that Y is shared by all samples. The equation above is the robot-world / hand-eye form
AX = YB that ``cv2.calibrateRobotWorldHandEye`` (Shah's method) addresses, and it gives the
board-in-flange transform Y as a by-product, a useful sanity check of the mount. OpenCV 5.0's
Python bindings export the ``CALIB_HAND_EYE_*`` / ``CALIB_ROBOT_WORLD_HAND_EYE_*`` constants but
not the functions, so :func:`solve_eye_to_hand` implements the same formulation in numpy:

1. rotations: R_Ai R_Y = R_X R_Bi is linear in (vec R_Y, vec R_X) (Kronecker products); the
   null vector of the stacked 9N × 18 system (SVD) gives both up to a common scale, each then
   projected onto SO(3) (closed form, after Shah, "Solving the robot-world/hand-eye
   calibration problem using the Kronecker product", J. Mech. Robot. 2013);
2. translations: R_Ai t_Y − t_X = R_X t_Bi − t_Ai, linear least squares (3N × 6);
3. a Levenberg–Marquardt refinement (``scipy.optimize.least_squares``) of all 12 parameters
   on the loop residuals (rotation angle scaled by ``rotation_weight`` m/rad, translation m).

Residuals (:func:`loop_residuals`): per sample, the pose of the board in ``base_link`` predicted
along the robot (A_i·Y) against the one seen by the camera (X·B_i): rotation angle (deg) and
distance between the two board origins (mm).

Board frame (OpenCV's ChArUco convention): origin at the outer corner of the top-left square of
the printed chessboard, x along the squares' columns (image right), y along the rows (image
down), z = x × y into the board (away from a camera that sees the printed side). Inner chessboard
corner k (row-major, ``squares_x − 1`` per row) is at ((k mod (sx−1)) + 1, (k div (sx−1)) + 1, 0)
· square_length.

Notation as :mod:`grasp_core.robot.transforms`: T_a_b is the (4, 4) float64 pose of frame b in
frame a, metres.
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
