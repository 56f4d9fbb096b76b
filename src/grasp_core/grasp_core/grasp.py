"""The image-space grasp rectangle, its geometry, and the rectangle metric.

Angle convention (as GG-CNN and the Cornell/Jacquard tools): ``angle`` Φ is the
direction of the jaw closing line in the image plane, in radians, measured from
the +u (column) axis towards -v (up on screen), i.e. counter-clockwise as seen
on screen, wrapped to (-π/2, π/2] because a parallel-jaw grasp is symmetric
under a half turn.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np


def wrap_angle(angle: np.ndarray | float) -> np.ndarray | float:
    """Wrap a grasp angle to (-π/2, π/2]: Φ ≡ Φ + π for a symmetric parallel-jaw grasp.

    Computed as ½·atan2(sin 2Φ, cos 2Φ) (GG-CNN, Morrison et al. 2018, §IV-B).
    """
    out = 0.5 * np.arctan2(np.sin(2 * np.asarray(angle)), np.cos(2 * np.asarray(angle)))
    out = np.where(out <= -np.pi / 2 + 1e-12, out + np.pi, out)
    return float(out) if np.ndim(out) == 0 else out


def angle_difference(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
    """Absolute difference of two grasp angles modulo π, in [0, π/2] (rad)."""
    d = np.abs(np.asarray(wrap_angle(np.asarray(a) - np.asarray(b))))
    return float(d) if np.ndim(d) == 0 else d


@dataclass(frozen=True)
class Grasp:
    """A planar grasp as an oriented rectangle in image pixels.

    Attributes:
        u, v: centre, source-image pixels (column, row).
        angle: Φ, rad, see the module docstring.
        width_px: rectangle side along the jaw closing line (gripper opening), px.
        length_px: rectangle side along the jaws (jaw size), px.
        quality: Q in [0, 1] (1.0 for ground-truth labels).
    """

    u: float
    v: float
    angle: float
    width_px: float
    length_px: float
    quality: float = 1.0

    def polygon(self) -> np.ndarray:
        """(4, 2) float64 corners (u, v) of the rectangle, in order around it."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        # unit vectors in (u, v): along the closing line and along the jaws
        a = np.array([c, -s]) * (self.width_px / 2)
        b = np.array([s, c]) * (self.length_px / 2)
        ctr = np.array([self.u, self.v])
        return np.stack([ctr + a + b, ctr + a - b, ctr - a - b, ctr - a + b])

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}

    def with_quality(self, quality: float) -> Grasp:
        return replace(self, quality=float(quality))

    @classmethod
    def from_polygon(cls, corners: np.ndarray, quality: float = 1.0) -> Grasp:
        """Build a grasp from 4 corners (u, v) in order; the first edge (p0→p1) is a jaw.

        This is the Cornell ``cpos.txt`` convention: corners 0→1 and 2→3 are the
        gripper plates, so the closing line is parallel to edge 1→2.
        """
        p = np.asarray(corners, dtype=np.float64).reshape(4, 2)
        centre = p.mean(axis=0)
        closing = p[2] - p[1]
        width = float(np.hypot(*closing))
        length = float(np.hypot(*(p[1] - p[0])))
        angle = wrap_angle(np.arctan2(-closing[1], closing[0]))
        return cls(float(centre[0]), float(centre[1]), float(angle), width, length, float(quality))


def rectangle_iou(a: Grasp, b: Grasp) -> float:
    """Intersection over union (Jaccard index) of two grasp rectangles, in [0, 1]."""
    pa = a.polygon().astype(np.float32)
    pb = b.polygon().astype(np.float32)
    area_a = abs(cv2.contourArea(pa))
    area_b = abs(cv2.contourArea(pb))
    if area_a <= 0 or area_b <= 0:
        return 0.0
    ret, pts = cv2.intersectConvexConvex(pa, pb)
    inter = float(ret) if ret > 0 else 0.0
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else 0.0


def rectangle_metric(
    predicted: Grasp,
    ground_truth: list[Grasp],
    iou_threshold: float = 0.25,
    angle_threshold: float = np.deg2rad(30.0),
) -> bool:
    """The rectangle metric (Jiang et al. 2011; Lenz et al. 2015).

    A predicted grasp is correct when, for at least one ground-truth rectangle,
    the angle differs by less than ``angle_threshold`` (rad, modulo π) and the
    Jaccard index exceeds ``iou_threshold``.
    """
    for gt in ground_truth:
        if angle_difference(predicted.angle, gt.angle) < angle_threshold and \
                rectangle_iou(predicted, gt) > iou_threshold:
            return True
    return False
