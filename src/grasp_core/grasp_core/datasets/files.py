"""The one reader of depth, colour and mask image files (datasets, frame folders, training caches).

* :func:`read_depth`: ``.npy`` (float metres), ``.tif``/``.tiff``/``.png`` (float32/float64 metres,
  or uint16 millimetres); a multi-channel image keeps its first channel. Returns (H, W) float32
  metres with NaN holes: 0, negative, non-finite and out-of-range values.
* :func:`read_rgb`: any colour image OpenCV reads → (H, W, 3) uint8 RGB.
* :func:`read_mask`: a mask image (Jacquard ``*_mask.png``) → (H, W) uint8 (first channel).

Every reader raises :class:`DatasetError` (a ValueError) naming the file and the reason when the
file is missing, unreadable, corrupt or of the wrong kind.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

#: File types :func:`read_depth` reads.
DEPTH_SUFFIXES = (".npy", ".tif", ".tiff", ".png")


class DatasetError(ValueError):
    """A dataset file that is missing, unreadable or malformed (the message names the file)."""


def _imread(path: Path, flags: int, what: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: no such {what} file")
    try:
        img = cv2.imread(str(path), flags)
    except cv2.error as exc:  # some corrupt files make OpenCV raise instead of returning None
        raise DatasetError(f"{path}: cannot decode the {what} image ({exc})") from exc
    if img is None:
        raise DatasetError(f"{path}: cannot decode the {what} image (corrupt or not an image)")
    return img


def read_depth(path: str | Path, min_depth: float = 0.0, max_depth: float = math.inf) -> np.ndarray:
    """A depth image file as (H, W) float32 metres, NaN where there is no valid measurement.

    Args:
        path: ``.npy`` float metres (H×W or H×W×1); ``.tif``/``.tiff``/``.png`` float metres or
            uint16 millimetres.
        min_depth, max_depth: valid range, m; values outside it (and 0, negative, NaN, inf) are holes.

    Raises:
        DatasetError: missing, unreadable or corrupt file, unsupported type, or an image that is not
            depth (an 8-bit PNG, an integer ``.npy``, no 2-D image).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if not path.is_file():
            raise DatasetError(f"{path}: no such depth file")
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise DatasetError(f"{path}: cannot read the .npy array ({exc})") from exc
        if not np.issubdtype(arr.dtype, np.floating):
            raise DatasetError(f"{path}: .npy depth must be float metres, got {arr.dtype}")
    elif suffix in (".tif", ".tiff", ".png"):
        arr = _imread(path, cv2.IMREAD_UNCHANGED, "depth")
    else:
        raise DatasetError(f"{path}: unsupported depth file type {suffix!r} (expected one of {DEPTH_SUFFIXES})")
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise DatasetError(f"{path}: depth must be a 2-D image, got shape {arr.shape}")
    if arr.dtype == np.uint16:
        d = arr.astype(np.float32) * np.float32(0.001)
    elif np.issubdtype(arr.dtype, np.floating):
        d = arr.astype(np.float32)
    else:
        raise DatasetError(f"{path}: {arr.dtype} image is not depth (need uint16 mm or float32 m)")
    with np.errstate(invalid="ignore"):
        d[~np.isfinite(d) | (d <= 0) | (d < min_depth) | (d > max_depth)] = np.nan
    return d


def read_rgb(path: str | Path) -> np.ndarray:
    """A colour image file as (H, W, 3) uint8 RGB.

    Raises:
        DatasetError: missing, unreadable or corrupt file.
    """
    return cv2.cvtColor(_imread(Path(path), cv2.IMREAD_COLOR, "colour"), cv2.COLOR_BGR2RGB)


def read_mask(path: str | Path) -> np.ndarray:
    """A mask image file as (H, W) uint8 (the first channel of a colour file).

    Raises:
        DatasetError: missing, unreadable or corrupt file.
    """
    m = _imread(Path(path), cv2.IMREAD_UNCHANGED, "mask")
    if m.ndim == 3:
        m = m[..., 0]
    return m.astype(np.uint8)


def focal_lengths(folder: str | Path) -> dict[str, float]:
    """{image id: fx (px)} from a ``grasp-dataset`` folder's ``manifest.json`` (its ``per_image`` cameras);
    {} when the folder has no manifest, an unreadable one, or one without cameras."""
    import json

    m = Path(folder) / "manifest.json"
    try:
        per = json.loads(m.read_text()).get("per_image", {}) if m.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}
    return {i: float(v["camera"]["fx"]) for i, v in per.items() if "fx" in v.get("camera", {})}


__all__ = ["DEPTH_SUFFIXES", "DatasetError", "focal_lengths", "read_depth", "read_mask", "read_rgb"]
