"""GG-CNN training targets from grasp rectangles (numpy only).

Source: Morrison, Corke, Leitner, RSS 2018, §IV-B and the GG-CNN training
set-up: for every ground-truth rectangle, the pixels of its centre third along
the closing line (the rectangle shrunk to 1/3 of its width, full jaw length)
get Q = 1, cos 2Φ, sin 2Φ and the opening; all other pixels are 0. Where
rectangles overlap, the later one wins (as GG-CNN). The width map is the
opening in network px divided by ``width_scale_px`` (150, as GG-CNN), clipped
to [0, 1].
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .grasp import Grasp

WIDTH_SCALE_PX = 150.0


def grasp_target_maps(grasps: list[Grasp], shape: tuple[int, int],
                      width_scale_px: float = WIDTH_SCALE_PX, centre_fraction: float = 1.0 / 3.0):
    """Rasterise grasp rectangles into the four GG-CNN target maps.

    Args:
        grasps: rectangles in the same pixel frame as the maps (network px).
        shape: (H, W) of the maps.
        width_scale_px: opening normalisation (opening px / scale → width map).
        centre_fraction: fraction of the rectangle's width marked (GG-CNN: 1/3).

    Returns:
        (pos, cos, sin, width): four (H, W) float32 arrays. pos ∈ {0, 1};
        cos = cos 2Φ, sin = sin 2Φ on grasp pixels (0 elsewhere); width ∈ [0, 1].
    """
    h, w = int(shape[0]), int(shape[1])
    idx = np.zeros((h, w), np.int32)
    for i, g in enumerate(grasps):
        small = Grasp(g.u, g.v, g.angle, max(g.width_px * centre_fraction, 1.0), max(g.length_px, 1.0))
        poly = np.round(small.polygon() * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        cv2.fillPoly(idx, [poly], i + 1, lineType=cv2.LINE_8, shift=4)
    pos = (idx > 0).astype(np.float32)
    if not grasps:
        z = np.zeros((h, w), np.float32)
        return pos, z, z.copy(), z.copy()
    ang = np.array([0.0] + [g.angle for g in grasps], np.float32)
    wid = np.array([0.0] + [g.width_px for g in grasps], np.float32)
    cos = np.cos(2 * ang)[idx] * pos
    sin = np.sin(2 * ang)[idx] * pos
    width = np.clip(wid[idx] / width_scale_px, 0.0, 1.0) * pos
    return pos, cos.astype(np.float32), sin.astype(np.float32), width.astype(np.float32)


def rotate_grasps(grasps: list[Grasp], matrix: np.ndarray, angle_rad: float) -> list[Grasp]:
    """Apply an image rotation (2×3 affine ``matrix`` of ``cv2.getRotationMatrix2D``) to grasps.

    ``angle_rad`` is the counter-clockwise (on screen) rotation of the image,
    i.e. the ``angle`` passed to ``getRotationMatrix2D`` in radians; Φ' = Φ + angle.
    """
    out = []
    for g in grasps:
        u, v = matrix @ np.array([g.u, g.v, 1.0])
        a = g.angle + angle_rad
        a = 0.5 * math.atan2(math.sin(2 * a), math.cos(2 * a))
        if a <= -math.pi / 2:
            a += math.pi
        out.append(Grasp(float(u), float(v), a, g.width_px, g.length_px, g.quality))
    return out
