"""Antipodal parallel-jaw grasp labels from object silhouettes.

For each object, the visible silhouette (its pixels in the label image) is
the 2-D cross-section a top-down parallel-jaw gripper closes on. Candidate
grasps are pairs of contour points (p1, p2) such that

* the closing line p1→p2 lies inside the silhouette (it is the chord from p1
  along a direction within the friction cone of the inward normal at p1 up to
  where it leaves the silhouette);
* both contact normals lie within the friction cone of the closing line:
  angle(−n1, d) ≤ atan μ and angle(n2, d) ≤ atan μ (Nguyen, "Constructing
  force-closure grasps", IJRR 1988: two-finger force closure ⇔ the contact line
  lies in both friction cones); μ = 0.4 → 21.8°;
* the opening (contact distance + margin) fits the Robotiq 2F-85 stroke
  (85 mm), converted to pixels at the object's depth: ``px = m · fx / z``;
* jaw clearance: along the closing line, the pixels just outside both
  contacts (finger thickness + margin), over the jaw's length, hold no object
  (neither another object nor another part of this one).

Normals are the normalised negative gradient of the Gaussian-blurred mask.
The candidates are non-maximum suppressed and subsampled to a diverse set.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..grasp import Grasp, angle_difference, wrap_angle
from ..robot.gripper import STROKE

STROKE_M = STROKE         # Robotiq 2F-85 stroke (grasp_core.robot.STROKE)
FINGER_THICKNESS_M = 0.010
JAW_LENGTH_M = 0.020
OPEN_MARGIN_M = 0.008     # opening = contact distance + margin


def _normal_at(gx: np.ndarray, gy: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    """Outward unit normal (−∇ of the blurred mask) at the strongest-gradient pixel of p's 3×3 neighbourhood."""
    mh, mw = gx.shape
    xi, yi = int(round(p[0])), int(round(p[1]))
    best = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            xx, yy = xi + dx, yi + dy
            if 0 <= xx < mw and 0 <= yy < mh:
                g = np.array([-gx[yy, xx], -gy[yy, xx]])
                nrm = float(np.hypot(*g))
                if best is None or nrm > best[0]:
                    best = (nrm, g)
    if best is None or best[0] < 1e-3:
        return None
    return best[1] / best[0]


def _free_beyond(anyobj: np.ndarray, p: np.ndarray, d: np.ndarray, finger_px: float, jaw_px: float,
                 offset: tuple[int, int], image_shape: tuple[int, int]) -> bool:
    """True when the pixels beyond contact p along d (finger thickness + margin), over the jaw
    length, hold no object. ``anyobj`` is the object mask of a crop at ``offset`` (x0, y0) of the image."""
    mh, mw = anyobj.shape
    x0, y0 = offset
    h, w = image_shape
    perp = np.array([-d[1], d[0]])
    for s in np.arange(1.5, finger_px + 2.5, 1.0):
        for t in (-jaw_px / 2, 0.0, jaw_px / 2):
            q = p + d * s + perp * t
            xi, yi = int(round(q[0])), int(round(q[1]))
            if not (0 <= xi < mw and 0 <= yi < mh):
                if not (0 <= xi + x0 < w and 0 <= yi + y0 < h):
                    return False  # off the image: unknown
                continue  # outside the padded crop: farther than the pad from this object
            if anyobj[yi, xi]:  # another object, or another part of this one
                return False
    return True


def antipodal_grasps(
    labels: np.ndarray,
    depth: np.ndarray,
    fx: float,
    rng: np.random.Generator,
    mu: float = 0.4,
    max_per_object: int = 40,
    min_area_px: int = 40,
    n_contour: int = 160,
) -> list[list[Grasp]]:
    """Sample antipodal grasps on each object of a label image.

    Args:
        labels: (H, W) uint8, 0 = background, k + 1 = object k.
        depth: (H, W) float32 perfect z-depth in metres (no holes).
        fx: focal length in px (fx = fy assumed).
        rng: numpy Generator (subsampling).
        mu: Coulomb friction coefficient; the cone half angle is atan(mu).
        max_per_object: maximum labels kept per object after NMS.
        min_area_px: objects with fewer visible pixels get no label.
        n_contour: number of contour points tried per object.

    Returns:
        list with one list[Grasp] per object label 1..max(labels) (empty if none),
        in source-image pixels, quality 1.0.
    """
    h, w = labels.shape
    n_obj = int(labels.max())
    out: list[list[Grasp]] = [[] for _ in range(n_obj)]
    cone = math.atan(mu)
    cos_cone = math.cos(cone)
    for k in range(1, n_obj + 1):
        mask = labels == k
        area = int(mask.sum())
        if area < min_area_px:
            continue
        ys, xs = np.nonzero(mask)
        z_obj = float(np.median(depth[ys, xs]))
        px_per_m = fx / z_obj
        max_open_px = STROKE_M * px_per_m
        finger_px = max(2.0, FINGER_THICKNESS_M * px_per_m)
        jaw_px = max(3.0, JAW_LENGTH_M * px_per_m)
        margin_px = OPEN_MARGIN_M * px_per_m
        # crop around the object (plus room for finger checks)
        pad = int(finger_px + jaw_px + 6)
        x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
        y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
        m = mask[y0:y1, x0:x1]
        anyobj = labels[y0:y1, x0:x1] > 0
        mh, mw = m.shape
        blur = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.5)
        gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
        contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        pts = np.concatenate([c.reshape(-1, 2) for c in contours], 0).astype(np.float64)
        if len(pts) > n_contour:
            pts = pts[rng.choice(len(pts), n_contour, replace=False)]

        cands = []
        steps = np.arange(0.5, max_open_px + 2, 0.5)
        for p in pts:
            n1 = _normal_at(gx, gy, p)
            if n1 is None:
                continue
            for delta in (-0.6 * cone, 0.0, 0.6 * cone):
                c, s = math.cos(delta), math.sin(delta)
                d = np.array([-(c * n1[0] - s * n1[1]), -(s * n1[0] + c * n1[1])])
                # march from p through the silhouette
                q = p[None, :] + steps[:, None] * d[None, :]
                xi = np.round(q[:, 0]).astype(int)
                yi = np.round(q[:, 1]).astype(int)
                ok = (xi >= 0) & (xi < mw) & (yi >= 0) & (yi < mh)
                ins = np.zeros(len(q), bool)
                ins[ok] = m[yi[ok], xi[ok]]
                if not ins[: 4].any():
                    continue
                first_in = int(np.argmax(ins))
                outs = np.nonzero(~ins[first_in:])[0]
                if len(outs) == 0:
                    continue  # longer than the stroke
                exit_i = first_in + int(outs[0])
                p2 = q[exit_i - 1]
                dist = float(np.hypot(*(p2 - p)))
                if dist < 2.0 or dist + margin_px > max_open_px:
                    continue
                n2 = _normal_at(gx, gy, p2)
                if n2 is None or float(n2 @ d) < cos_cone or float(-n1 @ d) < cos_cone:
                    continue
                if not (_free_beyond(anyobj, p2, d, finger_px, jaw_px, (x0, y0), (h, w))
                        and _free_beyond(anyobj, p, -d, finger_px, jaw_px, (x0, y0), (h, w))):
                    continue
                centre = (p + p2) / 2
                if not m[int(round(centre[1])), int(round(centre[0]))]:
                    continue
                angle = wrap_angle(math.atan2(-d[1], d[0]))
                score = float(n2 @ d) + float(-n1 @ d)
                cands.append((score, centre[0] + x0, centre[1] + y0, angle, dist + margin_px))
        if not cands:
            continue
        order = rng.permutation(len(cands))
        cands = [cands[i] for i in order]
        cands.sort(key=lambda c: -round(c[0], 2))
        kept: list[Grasp] = []
        min_sep = max(2.0, 0.1 * jaw_px * 3)
        for _, u, v, a, wd in cands:
            dup = False
            for g in kept:
                if math.hypot(g.u - u, g.v - v) < min_sep and angle_difference(g.angle, a) < math.radians(15):
                    dup = True
                    break
            if not dup:
                kept.append(Grasp(float(u), float(v), float(a), float(wd), float(jaw_px), 1.0))
            if len(kept) >= max_per_object:
                break
        out[k - 1] = kept
    return out
