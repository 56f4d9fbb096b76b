"""Eye-to-hand calibration solver: AX = YB from robot poses and board observations (ROS-free).

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

Board frame: :mod:`.board`.

Notation as :mod:`grasp_core.robot.transforms`: T_a_b is the (4, 4) float64 pose of frame b in
frame a, metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from ..robot.transforms import make_transform

#: At least this many samples (robot poses with a detected board) for a solve.
MIN_SAMPLES = 3
#: Relative rotations smaller than this (deg) carry no information on the rotation axes.
_MIN_RELATIVE_ANGLE_DEG = 2.0
#: Second-largest spread of the relative rotation axes (sin² of the angle between them) below
#: which the rotations are "all about one axis".
_MIN_AXIS_SPREAD = math.sin(math.radians(5.0)) ** 2




@dataclass(frozen=True)
class ResidualStats:
    """Loop residuals of a calibration (module docstring), one entry per sample.

    Attributes:
        rotation_deg: (N,) angle between the board orientations along robot and camera, deg.
        translation_mm: (N,) distance between the two board origins, mm.
    """

    rotation_deg: np.ndarray
    translation_mm: np.ndarray

    @property
    def rms_rotation_deg(self) -> float:
        return float(np.sqrt(np.mean(self.rotation_deg ** 2)))

    @property
    def rms_translation_mm(self) -> float:
        return float(np.sqrt(np.mean(self.translation_mm ** 2)))

    @property
    def max_rotation_deg(self) -> float:
        return float(np.max(self.rotation_deg))

    @property
    def max_translation_mm(self) -> float:
        return float(np.max(self.translation_mm))

    def summary(self) -> str:
        return (f"residuals rms {self.rms_translation_mm:.2f} mm / {self.rms_rotation_deg:.3f} deg, "
                f"max {self.max_translation_mm:.2f} mm / {self.max_rotation_deg:.3f} deg")


@dataclass(frozen=True)
class HandEyeResult:
    """Eye-to-hand solution.

    Attributes:
        t_base_camera: (4, 4) X = T_base_camera (camera optical frame in ``base_link``).
        t_tool0_board: (4, 4) Y = T_tool0_board (board on the flange).
        residuals: :class:`ResidualStats` of the refined solution.
        n_samples: samples used.
        closed_form_t_base_camera: (4, 4) X before the nonlinear refinement.
    """

    t_base_camera: np.ndarray
    t_tool0_board: np.ndarray
    residuals: ResidualStats
    n_samples: int
    closed_form_t_base_camera: np.ndarray = field(repr=False)


def pose_error(t_a, t_b) -> tuple[float, float]:
    """(rotation angle deg, translation distance mm) between two (4, 4) poses."""
    t_a, t_b = np.asarray(t_a, dtype=np.float64), np.asarray(t_b, dtype=np.float64)
    ang = math.degrees(float(Rotation.from_matrix(t_a[:3, :3].T @ t_b[:3, :3]).magnitude()))
    return ang, float(np.linalg.norm(t_a[:3, 3] - t_b[:3, 3]) * 1000.0)


def _as_poses(poses, name: str) -> np.ndarray:
    try:
        arr = np.asarray(poses, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be (N, 4, 4) transforms: {exc}") from exc
    if arr.ndim != 3 or arr.shape[1:] != (4, 4):
        raise ValueError(f"{name} must be (N, 4, 4) transforms, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    r = arr[:, :3, :3]
    err = np.abs(np.einsum("nji,njk->nik", r, r) - np.eye(3)).max(axis=(1, 2))
    bad = np.flatnonzero((err > 1e-5) | (np.linalg.det(r) < 0) | (np.abs(arr[:, 3] - [0, 0, 0, 1]).max(1) > 1e-9))
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] is not a rigid transform (rotation not orthonormal or "
                         f"last row not [0, 0, 0, 1])")
    return arr


def _project_so3(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def check_rotation_diversity(t_base_tool0) -> None:
    """Raise ValueError when the tool orientations cannot determine a hand-eye rotation.

    The rotation part of A·Y = X·B is determined only if the relative rotations between the
    robot poses have (at least) two non-parallel axes. Checked over all pairs: relative angles
    below 2° are ignored; the remaining axes must spread more than 5° from a single line.
    """
    a = _as_poses(t_base_tool0, "t_base_tool0")
    r = a[:, :3, :3]
    rel = np.einsum("iab,jcb->ijac", r, r)  # R_i R_jᵀ for every pair
    iu = np.triu_indices(len(a), 1)
    rv = Rotation.from_matrix(rel[iu]).as_rotvec() if iu[0].size else np.zeros((0, 3))
    ang = np.linalg.norm(rv, axis=1)
    keep = ang > math.radians(_MIN_RELATIVE_ANGLE_DEG)
    if not np.any(keep):
        raise ValueError(f"degenerate poses: the tool orientation changes by less than {_MIN_RELATIVE_ANGLE_DEG}° "
                         "between all samples (pure translations cannot determine the rotation); tilt the board")
    axes = rv[keep] / ang[keep, None]
    spread = np.linalg.eigvalsh(axes.T @ axes / len(axes))  # ascending; axis sign does not matter
    if spread[1] < _MIN_AXIS_SPREAD:
        raise ValueError("degenerate poses: all relative tool rotations are about one axis "
                         f"({np.round(np.linalg.eigh(axes.T @ axes)[1][:, 2], 3).tolist()} in base_link); "
                         "rotate about at least two non-parallel axes (tilt the board both ways)")


def loop_residuals(t_base_camera, t_tool0_board, t_base_tool0, t_camera_board) -> ResidualStats:
    """Per-sample disagreement of A_i·Y (robot) and X·B_i (camera), module docstring.

    Args:
        t_base_camera: (4, 4) X. t_tool0_board: (4, 4) Y.
        t_base_tool0: (N, 4, 4) A_i. t_camera_board: (N, 4, 4) B_i.
    """
    a = _as_poses(t_base_tool0, "t_base_tool0")
    b = _as_poses(t_camera_board, "t_camera_board")
    if len(a) != len(b):
        raise ValueError(f"{len(a)} robot poses but {len(b)} board poses")
    x, y = np.asarray(t_base_camera, dtype=np.float64), np.asarray(t_tool0_board, dtype=np.float64)
    robot = a @ y
    cam = x @ b
    rot = np.array([pose_error(p, q)[0] for p, q in zip(robot, cam, strict=True)])
    trans = np.linalg.norm(robot[:, :3, 3] - cam[:, :3, 3], axis=1) * 1000.0
    return ResidualStats(rot, trans)


def _closed_form(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(a)
    eye3 = np.eye(3)
    rows = np.zeros((9 * n, 18))
    for i in range(n):
        # column-major vec: vec(R_A R_Y) = (I ⊗ R_A) vec(R_Y); vec(R_X R_B) = (R_Bᵀ ⊗ I) vec(R_X)
        rows[9 * i:9 * i + 9, :9] = np.kron(eye3, a[i, :3, :3])
        rows[9 * i:9 * i + 9, 9:] = -np.kron(b[i, :3, :3].T, eye3)
    _, s, vt = np.linalg.svd(rows)
    v = vt[-1]
    ry = v[:9].reshape(3, 3, order="F")
    rx = v[9:].reshape(3, 3, order="F")
    if np.linalg.det(rx) < 0:
        rx, ry = -rx, -ry
    rx, ry = _project_so3(rx), _project_so3(ry)
    # translations: R_Ai t_Y − t_X = R_X t_Bi − t_Ai
    m = np.zeros((3 * n, 6))
    rhs = np.zeros(3 * n)
    for i in range(n):
        m[3 * i:3 * i + 3, :3] = a[i, :3, :3]
        m[3 * i:3 * i + 3, 3:] = -eye3
        rhs[3 * i:3 * i + 3] = rx @ b[i, :3, 3] - a[i, :3, 3]
    sol, *_ = np.linalg.lstsq(m, rhs, rcond=None)
    return make_transform(rx, sol[3:]), make_transform(ry, sol[:3]), s


def solve_eye_to_hand(t_base_tool0, t_camera_board, refine: bool = True,
                      rotation_weight: float = 0.3) -> HandEyeResult:
    """Eye-to-hand calibration from N ≥ 3 pose pairs (module docstring for the method).

    Args:
        t_base_tool0: (N, 4, 4) A_i, tool0 in ``base_link`` (forward kinematics of the joint
            states at the moment the image was taken), m.
        t_camera_board: (N, 4, 4) B_i, board in the camera optical frame (:func:`detect_board`), m.
        refine: run the nonlinear refinement after the closed form (default True).
        rotation_weight: m per rad, weight of rotation residuals against translation residuals
            in the refinement (0.3: 0.1° ≈ 0.5 mm, about the noise of a PnP board pose at 0.4 m).

    Returns:
        :class:`HandEyeResult` with X = T_base_camera and Y = T_tool0_board.

    Raises:
        ValueError: shapes, non-rigid inputs, fewer than 3 samples, different counts,
            degenerate motion (:func:`check_rotation_diversity`, or a rank-deficient system).
    """
    a = _as_poses(t_base_tool0, "t_base_tool0")
    b = _as_poses(t_camera_board, "t_camera_board")
    if len(a) != len(b):
        raise ValueError(f"{len(a)} robot poses but {len(b)} board poses: need one board pose per robot pose")
    if len(a) < MIN_SAMPLES:
        raise ValueError(f"eye-to-hand calibration needs at least {MIN_SAMPLES} poses with the board detected, "
                         f"got {len(a)} (10-20 well-spread poses are recommended)")
    if not (rotation_weight > 0 and math.isfinite(rotation_weight)):
        raise ValueError(f"rotation_weight must be positive, got {rotation_weight}")
    check_rotation_diversity(a)
    x0, y0, s = _closed_form(a, b)
    if s[-2] < 1e-6 * s[0]:
        raise ValueError("degenerate poses: the rotation equations have no unique solution "
                         f"(singular values {s[-2]:.2e} / {s[0]:.2e}); rotate about two non-parallel axes")
    x, y = x0, y0
    if refine:
        def unpack(p):
            dx = make_transform(Rotation.from_rotvec(p[0:3]).as_matrix(), p[3:6])
            dy = make_transform(Rotation.from_rotvec(p[6:9]).as_matrix(), p[9:12])
            return x0 @ dx, y0 @ dy

        def fun(p):
            xx, yy = unpack(p)
            robot = a @ yy
            cam = xx @ b
            r_err = np.einsum("nji,njk->nik", cam[:, :3, :3], robot[:, :3, :3])
            rv = Rotation.from_matrix(r_err).as_rotvec() * rotation_weight
            return np.concatenate([rv, robot[:, :3, 3] - cam[:, :3, 3]], axis=1).ravel()

        sol = least_squares(fun, np.zeros(12), method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14)
        x, y = unpack(sol.x)
        x[:3, :3] = _project_so3(x[:3, :3])
        y[:3, :3] = _project_so3(y[:3, :3])
    return HandEyeResult(x, y, loop_residuals(x, y, a, b), len(a), x0)
