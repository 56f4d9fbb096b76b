"""Eye-to-hand calibration with a ChArUco board (ROS-free, numpy in / numpy out).

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
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from ..camera import CameraIntrinsics
from ..robot.transforms import invert_transform, make_transform
from ..robot.ur5 import UR5_JOINT_LIMITS, IKError, JointLimits, forward_kinematics, nearest_solution

#: At least this many samples (robot poses with a detected board) for a solve.
MIN_SAMPLES = 3
#: Relative rotations smaller than this (deg) carry no information on the rotation axes.
_MIN_RELATIVE_ANGLE_DEG = 2.0
#: Second-largest spread of the relative rotation axes (sin² of the angle between them) below
#: which the rotations are "all about one axis".
_MIN_AXIS_SPREAD = math.sin(math.radians(5.0)) ** 2


# --------------------------------------------------------------------------------------------
# Board
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoardSpec:
    """A printed ChArUco board.

    Attributes:
        squares_x, squares_y: chessboard squares along x (columns) and y (rows), ≥ 2 each.
        square_length: side of a chessboard square, m.
        marker_length: side of an ArUco marker inside a white square, m (< square_length).
        dictionary: name of an OpenCV predefined dictionary, e.g. ``"DICT_4X4_50"``; it must
            hold at least one marker per white square.
        margin: white border printed around the chessboard, m (the plate is larger than the
            board by this on every side; it gives the outer markers a quiet zone).

    Raises:
        ValueError: non-positive sizes, marker not smaller than the square, unknown dictionary,
            too few markers in the dictionary.
    """

    squares_x: int = 5
    squares_y: int = 4
    square_length: float = 0.040
    marker_length: float = 0.030
    dictionary: str = "DICT_4X4_50"
    margin: float = 0.010

    def __post_init__(self) -> None:
        import cv2

        if int(self.squares_x) < 2 or int(self.squares_y) < 2:
            raise ValueError(f"a ChArUco board needs at least 2 x 2 squares, got {self.squares_x} x {self.squares_y}")
        if not (self.square_length > 0 and 0 < self.marker_length < self.square_length):
            raise ValueError(f"need 0 < marker_length < square_length (m), got marker {self.marker_length}, "
                             f"square {self.square_length}")
        if not (self.margin >= 0 and math.isfinite(self.margin)):
            raise ValueError(f"margin must be a non-negative number of metres, got {self.margin}")
        if not (isinstance(self.dictionary, str) and self.dictionary.startswith("DICT_")
                and hasattr(cv2.aruco, self.dictionary)):
            raise ValueError(f"unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_4X4_50, DICT_5X5_100)")
        n_markers = (int(self.squares_x) * int(self.squares_y)) // 2
        size = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary)).bytesList.shape[0]
        if size < n_markers:
            raise ValueError(f"{self.dictionary} has {size} markers, the board needs {n_markers}")

    @property
    def board_size(self) -> tuple[float, float]:
        """(width, height) of the chessboard, m (without the margin)."""
        return self.squares_x * self.square_length, self.squares_y * self.square_length

    @property
    def plate_size(self) -> tuple[float, float]:
        """(width, height) of the printed plate including the margin, m."""
        w, h = self.board_size
        return w + 2 * self.margin, h + 2 * self.margin

    @property
    def centre(self) -> np.ndarray:
        """(3,) centre of the chessboard in the board frame, m."""
        w, h = self.board_size
        return np.array([w / 2, h / 2, 0.0])

    def cv_board(self):
        """The ``cv2.aruco.CharucoBoard``."""
        import cv2

        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((int(self.squares_x), int(self.squares_y)), float(self.square_length),
                                      float(self.marker_length), d)

    def corner_points(self) -> np.ndarray:
        """(K, 3) float64 inner chessboard corners in the board frame, m; row k is ChArUco id k."""
        nx, ny = self.squares_x - 1, self.squares_y - 1
        k = np.arange(nx * ny)
        return np.stack([(k % nx + 1) * self.square_length, (k // nx + 1) * self.square_length,
                         np.zeros(k.size)], axis=1)

    def outline(self, with_margin: bool = True) -> np.ndarray:
        """(4, 3) corners of the plate (or of the chessboard) in the board frame, m."""
        m = self.margin if with_margin else 0.0
        w, h = self.board_size
        return np.array([[-m, -m, 0.0], [w + m, -m, 0.0], [w + m, h + m, 0.0], [-m, h + m, 0.0]])

    def image(self, px_per_square: int = 100) -> np.ndarray:
        """The printable plate: (H, W) uint8 grey image, chessboard plus white margin.

        ``px_per_square`` px per square; the margin is rounded to whole pixels. Row 0 is the
        board's y = −margin edge, column 0 its x = −margin edge (the board frame, seen from the
        printed side).
        """
        import cv2

        if int(px_per_square) < 20:
            raise ValueError(f"px_per_square must be >= 20, got {px_per_square}")
        s = int(px_per_square)
        img = self.cv_board().generateImage((self.squares_x * s, self.squares_y * s), marginSize=0, borderBits=1)
        m = int(round(self.margin / self.square_length * s))
        return cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_CONSTANT, value=255)

    def to_dict(self) -> dict:
        """Plain-Python form (the ``board:`` section of a samples ``poses.yaml``)."""
        return {"squares_x": int(self.squares_x), "squares_y": int(self.squares_y),
                "square_length": float(self.square_length), "marker_length": float(self.marker_length),
                "dictionary": self.dictionary, "margin": float(self.margin)}

    @classmethod
    def from_dict(cls, data: dict) -> BoardSpec:
        """Inverse of :meth:`to_dict` (missing keys take the defaults). Raises ValueError on bad values."""
        if not isinstance(data, dict):
            raise ValueError(f"board must be a mapping of {sorted(cls().to_dict())}, got {data!r}")
        unknown = set(data) - set(cls().to_dict())
        if unknown:
            raise ValueError(f"unknown board key(s) {sorted(unknown)}; known: {sorted(cls().to_dict())}")
        try:
            kw = {k: (str(v) if k == "dictionary" else int(v) if k.startswith("squares") else float(v))
                  for k, v in data.items()}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad board value: {exc}") from exc
        return cls(**kw)


def default_board_mount(board: BoardSpec | None = None, offset: float = 0.05, standoff: float = 0.004) -> np.ndarray:
    """The simulated cell's board mount: (4, 4) T_tool0_board.

    A flat plate bolted beside the flange: its printed side faces −z of ``tool0`` (up, to an
    overhead camera, when the tool points down), the plate starts ``offset`` m from the tool
    axis along +x of tool0 (clear of the 2F-85's 75 mm coupling and the wrist), its surface
    ``standoff`` m below the flange face, board axes parallel to tool0's (board z = tool0 z,
    i.e. into the plate, away from the camera).
    """
    board = board or BoardSpec()
    w, h = board.board_size
    x0 = offset + board.margin  # board origin = chessboard corner, inside the margin
    return make_transform(np.eye(3), [x0, -h / 2, standoff])


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoardObservation:
    """The board seen in one image.

    Attributes:
        t_camera_board: (4, 4) float64 pose of the board frame in the camera optical frame, m.
        ids: (K,) int ChArUco corner ids. image_points: (K, 2) float64 px (subpixel).
        object_points: (K, 3) float64 the same corners in the board frame, m.
        reprojection_rms: RMS reprojection error of the PnP pose, px.
    """

    t_camera_board: np.ndarray
    ids: np.ndarray
    image_points: np.ndarray
    object_points: np.ndarray
    reprojection_rms: float

    @property
    def n_corners(self) -> int:
        return int(self.ids.size)


def _to_grey(image: np.ndarray) -> np.ndarray:
    import cv2

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] in (3, 4):
        img = cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"image must be (H, W) grey or (H, W, 3) RGB, got shape {np.shape(image)}")
    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):
            if not np.all(np.isfinite(img)):
                raise ValueError("float image contains NaN or inf")
            scale = 255.0 if img.max() <= 1.0 else 1.0
            img = np.clip(img * scale, 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"unsupported image dtype {img.dtype} (uint8, uint16 or float)")
    return np.ascontiguousarray(img)


def _refine_corners(grey: np.ndarray, pts: np.ndarray, ids: np.ndarray, board: BoardSpec) -> np.ndarray:
    """Subpixel chessboard corners with a window of ~10 % of the imaged square: the detector's own
    refinement was measured 0.2-0.5 px off on near fronto-parallel boards, this one < 0.05 px."""
    import cv2

    nx = board.squares_x - 1
    by_id = {int(i): p for i, p in zip(ids, pts, strict=True)}
    steps = [np.linalg.norm(by_id[i + 1] - by_id[i]) for i in by_id if i % nx != nx - 1 and i + 1 in by_id]
    steps += [np.linalg.norm(by_id[i + nx] - by_id[i]) for i in by_id if i + nx in by_id]
    if not steps:
        return pts
    half = int(np.clip(0.1 * float(np.median(steps)), 2, 10))
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4)
    out = cv2.cornerSubPix(grey, pts.astype(np.float32).reshape(-1, 1, 2), (half, half), (-1, -1), crit)
    return out.reshape(-1, 2).astype(np.float64)


def detect_board(image: np.ndarray, intrinsics: CameraIntrinsics, board: BoardSpec,
                 dist_coeffs=None, min_corners: int = 6) -> BoardObservation | None:
    """Find the ChArUco board in an image and estimate its pose (``cv2.aruco.CharucoDetector`` + PnP).

    Args:
        image: (H, W) grey or (H, W, 3) RGB, uint8 (uint16 / float accepted). Its size must be
            the intrinsics' size.
        intrinsics: pinhole intrinsics of this image (px).
        board: the board printed on the plate.
        dist_coeffs: optional OpenCV distortion coefficients (plumb_bob k1 k2 p1 p2 k3); None: rectified.
        min_corners: fewest ChArUco corners accepted (≥ 4; 6 default for a stable pose).

    Returns:
        :class:`BoardObservation`, or None when fewer than ``min_corners`` corners were found,
        they are collinear, or PnP fails (board not in view / occluded).

    Raises:
        ValueError: bad image (shape, dtype, size different from the intrinsics), min_corners < 4.
    """
    import cv2

    if int(min_corners) < 4:
        raise ValueError(f"min_corners must be >= 4, got {min_corners}")
    grey = _to_grey(image)
    if grey.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"image is {grey.shape[1]}x{grey.shape[0]} px, the intrinsics are "
                         f"{intrinsics.width}x{intrinsics.height}")
    cvb = board.cv_board()
    corners, ids, _, _ = cv2.aruco.CharucoDetector(cvb).detectBoard(grey)
    if ids is None or len(ids) < int(min_corners):
        return None
    ids = np.asarray(ids, dtype=int).reshape(-1)
    img_pts = _refine_corners(grey, np.asarray(corners, dtype=np.float64).reshape(-1, 2), ids, board)
    obj_pts = board.corner_points()[ids]
    # collinear corners (one row of the board) give no pose
    centred = obj_pts[:, :2] - obj_pts[:, :2].mean(0)
    if np.linalg.svd(centred, compute_uv=False)[-1] < 0.5 * board.square_length:
        return None
    k = intrinsics.K
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64).reshape(-1)
    ok, rvec, tvec = cv2.solvePnP(obj_pts, img_pts, k, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        return None
    rvec, tvec = cv2.solvePnPRefineLM(obj_pts, img_pts, k, dist, rvec, tvec)
    proj, _ = cv2.projectPoints(obj_pts, rvec, tvec, k, dist)
    rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img_pts) ** 2, axis=1))))
    t = make_transform(cv2.Rodrigues(rvec)[0], tvec.reshape(3))
    if t[2, 3] <= 0:
        return None
    return BoardObservation(t, ids, img_pts, obj_pts, rms)


def project_board(t_camera_board, intrinsics: CameraIntrinsics, points_board) -> np.ndarray:
    """(N, 3) board-frame points → (N, 2) pixels (pinhole, no distortion)."""
    p = np.asarray(points_board, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(t_camera_board, dtype=np.float64)
    pc = p @ t[:3, :3].T + t[:3, 3]
    return np.stack([intrinsics.fx * pc[:, 0] / pc[:, 2] + intrinsics.cx,
                     intrinsics.fy * pc[:, 1] / pc[:, 2] + intrinsics.cy], axis=1)


# --------------------------------------------------------------------------------------------
# Solver
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Robot poses for a calibration run
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CalibrationPose:
    """A proposed robot pose: joints (6,) rad, T_base_tool0 (4, 4), expected T_camera_board (4, 4)."""

    q: np.ndarray
    t_base_tool0: np.ndarray
    t_camera_board: np.ndarray


def _rot_about(axis: np.ndarray, angle: float) -> np.ndarray:
    return Rotation.from_rotvec(np.asarray(axis, dtype=np.float64) * angle).as_matrix()


def propose_poses(t_base_camera, intrinsics: CameraIntrinsics, board: BoardSpec, t_tool0_board, n: int,
                  q_start, seed: int = 0, distance: tuple[float, float] = (0.30, 0.42),
                  max_tilt_deg: float = 25.0, yaw_range_deg: float = 30.0, image_margin_px: float = 15.0,
                  min_tool0_height: float = 0.20, limits: JointLimits | None = UR5_JOINT_LIMITS,
                  max_joint_step: float = 2.0, n_candidates: int | None = None) -> list[CalibrationPose]:
    """Well-spread robot poses that show the whole board to the camera (geometry only).

    Board poses are sampled in the camera frame: centre on a ray through the central 60 % of
    the image at ``distance`` m, facing the camera, turned about the optical axis by up to
    ±``yaw_range_deg`` from the yaw that puts the plate on the far side of the tool from the
    robot base (out of the arm's shadow), tilted by up to ``max_tilt_deg`` about a random axis in
    the board plane. Kept when the whole plate projects inside the image (``image_margin_px``),
    tool0 is at least ``min_tool0_height`` m above the table and the UR5 reaches the pose
    (:func:`grasp_core.robot.nearest_solution`). From the kept candidates ``n`` are chosen
    greedily for the largest mutual orientation (deg) + position (cm) distance, then ordered as a
    nearest-neighbour path in joint space from ``q_start``; each IK solution is the one nearest
    the previous pose's joints, and poses needing a joint step above ``max_joint_step`` rad are
    dropped. Occlusion by the arm is not checked (detection tells).

    Args:
        t_base_camera: (4, 4) the camera's pose in ``base_link`` (nominal; a rough value is enough).
        intrinsics: the camera's intrinsics. board: the board. t_tool0_board: (4, 4) the mount (nominal).
        n: poses wanted (≥ 3). q_start: (6,) the arm's current joints, rad. seed: random seed.

    Returns:
        Up to ``n`` :class:`CalibrationPose` (fewer when not enough candidates are reachable).

    Raises:
        ValueError: n < 3, bad ranges or transforms.
    """
    if int(n) < MIN_SAMPLES:
        raise ValueError(f"n must be >= {MIN_SAMPLES}, got {n}")
    lo_d, hi_d = (float(v) for v in distance)
    if not (0 < lo_d <= hi_d):
        raise ValueError(f"distance must be (min, max) with 0 < min <= max m, got {distance}")
    if not (0 <= max_tilt_deg < 80 and 0 <= yaw_range_deg <= 180):
        raise ValueError(f"max_tilt_deg must be in [0, 80) and yaw_range_deg in [0, 180], got "
                         f"{max_tilt_deg}, {yaw_range_deg}")
    tbc = _as_poses([t_base_camera], "t_base_camera")[0]
    ttb = _as_poses([t_tool0_board], "t_tool0_board")[0]
    q_prev = np.asarray(q_start, dtype=np.float64).reshape(-1)
    if q_prev.shape != (6,) or not np.all(np.isfinite(q_prev)):
        raise ValueError(f"q_start must be 6 finite joint positions, got {q_start!r}")
    rng = np.random.default_rng(seed)
    t_board_tool0 = invert_transform(ttb)
    c_b = board.centre
    v_b = c_b - t_board_tool0[:3, 3]  # tool0 → board centre, board frame
    outline = board.outline(with_margin=True)

    def camera_rot(yaw: float, tilt_axis_angle: float, tilt: float) -> np.ndarray:
        axis = np.array([math.cos(tilt_axis_angle), math.sin(tilt_axis_angle), 0.0])
        return _rot_about([0, 0, 1], yaw) @ _rot_about(axis, tilt)

    # the yaw (about the optical axis) that points tool0 → board centre away from the robot base
    centre_ray = np.linalg.solve(intrinsics.K, [intrinsics.cx, intrinsics.cy, 1.0])
    p_view = tbc[:3, :3] @ (centre_ray * (lo_d + hi_d) / 2) + tbc[:3, 3]
    outward = p_view[:2] / max(np.linalg.norm(p_view[:2]), 1e-9)
    yaws = np.linspace(-math.pi, math.pi, 360, endpoint=False)
    score = [float((tbc[:3, :3] @ camera_rot(yw, 0, 0) @ v_b)[:2] @ outward) for yw in yaws]
    yaw0 = float(yaws[int(np.argmax(score))])

    n_cand = int(n_candidates) if n_candidates else 40 * int(n)
    cands: list[tuple[np.ndarray, np.ndarray]] = []  # (T_base_tool0, T_camera_board)
    for k in range(n_cand * 5):
        if len(cands) >= n_cand:
            break
        u = rng.uniform(0.2, 0.8) * intrinsics.width
        v = rng.uniform(0.2, 0.8) * intrinsics.height
        d = rng.uniform(lo_d, hi_d)
        p_c = np.linalg.solve(intrinsics.K, [u, v, 1.0]) * d
        tilt = 0.0 if k == 0 else math.radians(max_tilt_deg) * math.sqrt(rng.uniform(0.1, 1.0))
        r_cb = camera_rot(yaw0 + math.radians(rng.uniform(-yaw_range_deg, yaw_range_deg)),
                          rng.uniform(0, 2 * math.pi), tilt)
        t_cb = make_transform(r_cb, p_c - r_cb @ c_b)
        px = project_board(t_cb, intrinsics, outline)
        z = (outline @ r_cb.T + t_cb[:3, 3])[:, 2]
        m = image_margin_px
        if np.any(z <= 0.05) or np.any(px < m) or np.any(px[:, 0] > intrinsics.width - 1 - m) \
                or np.any(px[:, 1] > intrinsics.height - 1 - m):
            continue
        t_bt = tbc @ t_cb @ t_board_tool0
        if t_bt[2, 3] < min_tool0_height:
            continue
        try:
            nearest_solution(t_bt, q_prev, limits)
        except IKError:
            continue
        cands.append((t_bt, t_cb))
    if len(cands) < MIN_SAMPLES:
        return []

    # greedy farthest-point choice: orientation (deg) + position (cm)
    rots = Rotation.from_matrix(np.array([c[0][:3, :3] for c in cands]))
    pos = np.array([c[0][:3, 3] for c in cands])

    def dist_to(i: int) -> np.ndarray:
        ang = np.degrees((rots[i].inv() * rots).magnitude())
        return ang + 100.0 * np.linalg.norm(pos - pos[i], axis=1)

    chosen = [0]
    dmin = dist_to(0)
    while len(chosen) < min(int(n), len(cands)):
        i = int(np.argmax(dmin))
        if dmin[i] <= 0:
            break
        chosen.append(i)
        dmin = np.minimum(dmin, dist_to(i))

    # nearest-neighbour path in joint space
    out: list[CalibrationPose] = []
    left = list(chosen)
    while left:
        best = None
        for i in left:
            try:
                q = nearest_solution(cands[i][0], q_prev, limits)
            except IKError:
                continue
            step = float(np.max(np.abs(q - q_prev)))
            if best is None or step < best[0]:
                best = (step, i, q)
        if best is None:
            break
        if out and best[0] > max_joint_step:  # the first move (from q_start) may be long
            left.remove(best[1])
            continue
        _, i, q = best
        left.remove(i)
        out.append(CalibrationPose(q, forward_kinematics(q), cands[i][1]))
        q_prev = q
    return out


__all__ = ["BoardObservation", "BoardSpec", "CalibrationPose", "HandEyeResult", "MIN_SAMPLES", "ResidualStats",
           "check_rotation_diversity", "default_board_mount", "detect_board", "loop_residuals", "pose_error",
           "project_board", "propose_poses", "solve_eye_to_hand"]
