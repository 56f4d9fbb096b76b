"""The optional ChArUco calibration plate on the simulated flange: its printed texture and mount.

The texture is the board image :meth:`grasp_core.calibration.BoardSpec.image` renders with
``cv2.aruco`` (120 px per square), passed to MuJoCo as an in-memory PNG asset; the plate's outline
includes the board's white margin. Frames: the board frame in ``tool0`` is ``T_tool0_board``
(:func:`grasp_core.calibration.default_board_mount` unless given).
"""
from __future__ import annotations

import numpy as np

from .model import BoardMount, mat_quat

#: Asset name of the plate's texture.
TEXTURE = "calib_board.png"


def board_mount(board, t_tool0_board: np.ndarray, px_per_square: int = 120) -> tuple[BoardMount, dict[str, bytes]]:
    """(MJCF mount of the plate, ``{TEXTURE: PNG bytes}`` assets) of a board fixed at ``t_tool0_board``.

    Args:
        board: a :class:`grasp_core.calibration.BoardSpec`.
        t_tool0_board: (4, 4) pose of the board frame in ``tool0``, m.
        px_per_square: texture resolution.

    Raises:
        ValueError: the texture cannot be encoded as PNG.
    """
    import cv2

    img = board.image(px_per_square=px_per_square)
    ok, png = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    if not ok:
        raise ValueError("cannot encode the calibration board texture")
    t = np.asarray(t_tool0_board, dtype=np.float64)
    x0, y0, _ = board.outline(with_margin=True)[0]
    x1, y1, _ = board.outline(with_margin=True)[2]
    mount = BoardMount(TEXTURE, (float(x0), float(y0), float(x1), float(y1)), t[:3, 3].copy(), mat_quat(t[:3, :3]))
    return mount, {TEXTURE: png.tobytes()}


__all__ = ["TEXTURE", "board_mount"]
