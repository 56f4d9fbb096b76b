"""Drawing grasps on images for people to look at."""
from __future__ import annotations

import cv2
import numpy as np

from .depth import inpaint_depth
from .grasp import Grasp


def depth_to_bgr(depth: np.ndarray) -> np.ndarray:
    """(H, W) metres (NaN holes) → (H, W, 3) uint8 BGR relief image, holes black.

    Shows the height of things above their surroundings, so that objects stand out
    whatever the table's tilt: the background is a grey-scale morphological closing
    of the depth with a disc wider than a graspable object (objects are local minima
    of depth), and brightness is background − depth.
    """
    valid = np.isfinite(depth)
    out = np.zeros(depth.shape, dtype=np.uint8)
    if valid.any():
        h, w = depth.shape
        d = inpaint_depth(depth)
        # the closing on a 4x smaller image (it only needs the coarse shape), then back up
        small = cv2.resize(d, (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
        k = max(5, (min(small.shape) // 5) | 1)
        background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        background = np.maximum(cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR), d)
        relief = background - d  # m above the surroundings, >= 0
        top = max(float(np.percentile(relief[valid], 99.5)), 0.01)
        out[valid] = (40 + 215 * np.clip(relief[valid] / top, 0, 1)).astype(np.uint8)
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
