"""Reading depth (and matching colour) frames from files.

Supported depth files: ``.npy`` (float metres, H×W or H×W×1), ``.tif``/``.tiff``
(float32 metres, or uint16 millimetres), 16-bit ``.png`` (uint16 millimetres).
0, NaN and out-of-range values are holes (NaN in the result).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .datasets.files import DEPTH_SUFFIXES, DatasetError, read_depth, read_rgb


class FrameError(DatasetError):
    """A frame file that cannot be read as depth (a ValueError)."""


def load_depth(path: str | Path) -> np.ndarray:
    """Load a depth frame as (H, W) float32 metres with NaN holes (valid range 0.05-10 m, as
    :func:`grasp_core.depth.depth_to_metres`); the file is read by :func:`grasp_core.datasets.read_depth`.

    Raises:
        FrameError: unreadable file, unsupported type, or an 8-bit PNG (not depth).
    """
    try:
        return read_depth(path, min_depth=0.05, max_depth=10.0)
    except DatasetError as exc:
        raise FrameError(str(exc)) from exc


def load_depth_native(path: str | Path) -> tuple[np.ndarray, str]:
    """A depth frame as a driver publishes it: (array, ``sensor_msgs/Image`` encoding).

    A 16-bit PNG (millimetres, as RealSense and Kinect recordings are saved) comes as its
    (H, W) uint16 values, encoding ``16UC1`` (0 = no return), unconverted; any other frame as
    :func:`load_depth`'s (H, W) float32 metres with NaN holes, ``32FC1``.

    Raises:
        FrameError: as :func:`load_depth`.
    """
    path = Path(path)
    if path.suffix.lower() == ".png":
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is not None and img.dtype == np.uint16 and img.ndim == 2:
            return img, "16UC1"
    return load_depth(path), "32FC1"


def is_depth_file(path: Path) -> bool:
    """Whether a file in a frames folder is a depth frame (not a colour image or mask).

    ``.npy``/``.tif``/``.tiff`` always are; a ``.png`` is when it is 16-bit.
    Cornell (``pcdXXXXr.png``) and Jacquard (``*_RGB.png``, ``*_mask.png``)
    colour/mask files are 8-bit and are skipped.
    """
    s = path.suffix.lower()
    if s in (".npy", ".tif", ".tiff"):
        return True
    if s == ".png":
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return img is not None and img.dtype == np.uint16
    return False


def list_depth_frames(folder: str | Path) -> list[Path]:
    """Depth frames in ``folder`` (not recursive), sorted by name.

    Raises:
        FrameError: not a folder, or no depth frame in it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FrameError(f"{folder}: not a folder")
    frames = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DEPTH_SUFFIXES
                    and is_depth_file(p))
    if not frames:
        raise FrameError(f"{folder}: no depth frames (.npy, .tiff, 16-bit .png)")
    return frames


def find_colour(depth_path: str | Path) -> Path | None:
    """The colour image that belongs to a depth frame, by the Cornell, Jacquard and project conventions.

    ``pcd0100d.tiff`` → ``pcd0100r.png``; ``X_perfect_depth.tiff``/``X_stereo_depth.tiff`` →
    ``X_RGB.png``; ``X_depth.*`` → ``X_rgb.png``/``X_color.png``. None if there is none.
    """
    p = Path(depth_path)
    stem = p.stem
    names = []
    if stem.endswith("d"):
        names.append(stem[:-1] + "r.png")
    for tag in ("_perfect_depth", "_stereo_depth", "_depth"):
        if stem.endswith(tag):
            base = stem[: -len(tag)]
            names += [base + "_RGB.png", base + "_rgb.png", base + "_color.png"]
    for n in names:
        c = p.with_name(n)
        if c.is_file():
            return c
    return None


def load_rgb(path: str | Path) -> np.ndarray:
    """Load a colour image as (H, W, 3) uint8 RGB (:func:`grasp_core.datasets.read_rgb`). Raises FrameError."""
    try:
        return read_rgb(path)
    except DatasetError as exc:
        raise FrameError(str(exc)) from exc
