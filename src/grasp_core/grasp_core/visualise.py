"""Drawing grasps on images for people to look at."""
from __future__ import annotations

import cv2
import numpy as np

from .grasp import Grasp


def depth_to_bgr(depth: np.ndarray) -> np.ndarray:
    """(H, W) metres (NaN holes) → (H, W, 3) uint8 BGR relief image, holes black.

    The dominant plane (a least-squares fit, robust to a tilted table) is
    subtracted so that objects stand out; nearer than the plane = brighter.
    """
    valid = np.isfinite(depth)
    out = np.zeros(depth.shape, dtype=np.uint8)
    if valid.sum() >= 3:
        rows, cols = np.nonzero(valid)
        a = np.column_stack([cols, rows, np.ones_like(cols)]).astype(np.float64)
        z = depth[valid].astype(np.float64)
        coef = np.linalg.lstsq(a, z, rcond=None)[0]
        for _ in range(2):  # refit on the points near the plane (the table)
            res = z - a @ coef
            keep = np.abs(res) < max(2.5 * np.median(np.abs(res)), 1e-4)
            if keep.sum() >= 3:
                coef = np.linalg.lstsq(a[keep], z[keep], rcond=None)[0]
        relief = (a @ coef) - z  # height above the plane, m
        lo, hi = np.percentile(relief, [1, 99.5])
        scale = max(hi - lo, 0.01)
        out[valid] = (40 + 215 * np.clip((relief - lo) / scale, 0, 1)).astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)


def draw_grasps(image_bgr: np.ndarray, grasps: list[Grasp], labels: bool = True) -> np.ndarray:
    """Draw grasp rectangles on a copy of an (H, W, 3) uint8 BGR image.

    Jaws (the rectangle's sides along the jaws) are red, the closing sides blue;
    the best grasp (first) is drawn thickest and numbered 1.
    """
    img = image_bgr.copy()
    for i, g in enumerate(reversed(grasps)):
        rank = len(grasps) - i
        p = np.round(g.polygon()).astype(np.int32)
        t = 2 if rank == 1 else 1
        cv2.line(img, tuple(p[0]), tuple(p[1]), (0, 0, 255), t + 1, cv2.LINE_AA)
        cv2.line(img, tuple(p[2]), tuple(p[3]), (0, 0, 255), t + 1, cv2.LINE_AA)
        cv2.line(img, tuple(p[1]), tuple(p[2]), (255, 128, 0), t, cv2.LINE_AA)
        cv2.line(img, tuple(p[3]), tuple(p[0]), (255, 128, 0), t, cv2.LINE_AA)
        cv2.circle(img, (int(round(g.u)), int(round(g.v))), 2 + t, (0, 255, 0), -1)
        if labels:
            cv2.putText(img, f"{rank}:{g.quality:.2f}", (int(g.u) + 6, int(g.v) - 6),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1, cv2.LINE_AA)
    return img
