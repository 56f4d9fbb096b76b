"""From a generative grasp network's output maps to a ranked list of grasps.

The network predicts, per pixel of its input, grasp quality Q, cos 2Φ, sin 2Φ
and gripper width W (GG-CNN, Morrison et al., RSS 2018, §IV). Post-processing:
Gaussian smoothing of the maps, Φ = ½·atan2(sin 2Φ, cos 2Φ) (§IV-B), then the
top-k local maxima of Q above a threshold with a minimum distance between them.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .grasp import Grasp


def gaussian_smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) float32 ``a`` smoothed by a Gaussian of σ = ``sigma`` px: the kernel and border of
    ``scipy.ndimage.gaussian_filter`` (radius ⌊4σ + ½⌋, mirror border ``reflect``; equal to it within
    float32 rounding), computed by OpenCV's separable filter (≈ 5× faster at 160² px)."""
    r = int(4.0 * float(sigma) + 0.5)
    return cv2.GaussianBlur(np.ascontiguousarray(a, np.float32), (2 * r + 1, 2 * r + 1), float(sigma),
                            borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class GraspMaps:
    """Decoded per-pixel grasp maps, each (H, W) float32, in network-input pixels.

    Attributes:
        quality: Q in [0, 1].
        angle: Φ in rad, (−π/2, π/2].
        width: gripper opening in network-input px.
    """

    quality: np.ndarray
    angle: np.ndarray
    width: np.ndarray


def decode_maps(pos: np.ndarray, cos2: np.ndarray, sin2: np.ndarray, width: np.ndarray,
                quality: str = "clip", width_scale_px: float = 150.0,
                quality_sigma: float = 2.0, angle_sigma: float = 2.0, width_sigma: float = 1.0) -> GraspMaps:
    """Decode and smooth raw network outputs.

    Args:
        pos, cos2, sin2, width: (H, W) float arrays, the network's raw heads.
        quality: ``"clip"`` (Q = clip(pos, 0, 1), GG-CNN) or ``"sigmoid"``.
        width_scale_px: opening in px = width_scale_px · width (GG-CNN: 150).
        quality_sigma, angle_sigma, width_sigma: Gaussian σ in px (0 disables).
            Φ is smoothed through its cos 2Φ and sin 2Φ components.

    Returns:
        :class:`GraspMaps`.

    Raises:
        ValueError: maps of different shapes or not 2-D.
    """
    shapes = {np.shape(a) for a in (pos, cos2, sin2, width)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"output maps must be 2-D and equal in shape, got {shapes}")
    if quality == "clip":
        q = np.clip(pos, 0.0, 1.0)
    elif quality == "sigmoid":
        q = 1.0 / (1.0 + np.exp(-pos))
    else:
        raise ValueError(f"unknown quality decoding {quality!r}")
    c, s = cos2.astype(np.float32), sin2.astype(np.float32)
    w = width.astype(np.float32) * np.float32(width_scale_px)
    if quality_sigma > 0:
        q = gaussian_smooth(q, quality_sigma)
    if angle_sigma > 0:
        c = gaussian_smooth(c, angle_sigma)
        s = gaussian_smooth(s, angle_sigma)
    if width_sigma > 0:
        w = gaussian_smooth(w, width_sigma)
    angle = 0.5 * np.arctan2(s, c)
    return GraspMaps(q.astype(np.float32), angle.astype(np.float32), np.maximum(w, 0).astype(np.float32))


def find_peaks(quality: np.ndarray, top_k: int = 5, min_distance: int = 10,
               threshold: float = 0.1) -> np.ndarray:
    """Top-k local maxima of Q, at least ``min_distance`` px apart, Q ≥ ``threshold``.

    Greedy non-maximum suppression over a square window: a pixel is a peak when
    it is the maximum of its (2·min_distance+1)² neighbourhood; peaks are taken
    in descending Q and any peak closer (Chebyshev distance) than min_distance
    to an accepted one is dropped (plateaus give one peak).

    Args:
        quality: (H, W) float map.
        top_k: maximum number of peaks (≥ 1).
        min_distance: px.
        threshold: minimum Q.

    Returns:
        (N, 2) int64 array of (row, col), N ≤ top_k, in descending Q.
    """
    if quality.ndim != 2:
        raise ValueError(f"quality map must be 2-D, got {quality.shape}")
    if top_k < 1:
        raise ValueError("top_k must be >= 1")
    q = np.nan_to_num(quality.astype(np.float32), nan=-np.inf)
    size = 2 * max(int(min_distance), 0) + 1
    # the window's maximum by OpenCV's dilation: equal to scipy.ndimage.maximum_filter(mode="constant",
    # cval=-inf) element for element, about 4x faster on 160 px maps (bench/bench_detector.py, post-process)
    local_max = cv2.dilate(q, np.ones((size, size), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
    cand = np.argwhere((q == local_max) & (q >= threshold))
    if cand.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    order = np.argsort(-q[cand[:, 0], cand[:, 1]], kind="stable")
    accepted: list[np.ndarray] = []
    for idx in order:
        p = cand[idx]
        if all(np.max(np.abs(p - a)) >= min_distance for a in accepted):
            accepted.append(p)
            if len(accepted) == top_k:
                break
    return np.asarray(accepted, dtype=np.int64).reshape(-1, 2)


def grasps_from_maps(maps: GraspMaps, top_k: int = 5, min_distance: int = 10,
                     threshold: float = 0.1, jaw_length_ratio: float = 0.5) -> list[Grasp]:
    """Top-k grasps in network-input pixels, best first.

    The jaw length (rectangle side along the jaws) is ``jaw_length_ratio`` × the
    opening, as in the GG-CNN evaluation code's rectangles.
    """
    peaks = find_peaks(maps.quality, top_k, min_distance, threshold)
    out = []
    for r, c in peaks:
        w = float(maps.width[r, c])
        out.append(Grasp(float(c), float(r), float(maps.angle[r, c]), w, w * jaw_length_ratio,
                         float(maps.quality[r, c])))
    return out
