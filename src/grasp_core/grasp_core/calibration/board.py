"""The ChArUco calibration board: its definition, printed image, corners and default flange mount.

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
from dataclasses import dataclass

import numpy as np

from ..robot.transforms import make_transform


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
