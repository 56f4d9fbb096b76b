"""Targets of the grasp-detection / segmentation / refinement network (Ainetter & Fraundorfer, ICRA 2021),
numpy, shared by training (:mod:`grasp_core.nn.detseg`) and the torch-free decoder
(:mod:`grasp_core.nn.detseg_onnx`).

Conventions (network px, :mod:`grasp_core.grasp`): a rectangle is (x, y, w, h, Φ) with (x, y) its
centre (column, row), w the opening (along the closing line), h the jaw size, Φ counter-clockwise on
screen in (−π/2, π/2].

* **Boxes of the grasp branch** are the rectangle *unrotated*: (x − w/2, y − h/2, x + w/2, y + h/2)
  (:func:`grasp_boxes`); the orientation is a class (:func:`orientation_class`), as in the paper
  (§III-A: θ discretised into N equal intervals plus an "invalid" class ∅). Box corrections are
  torchvision's ``BoxCoder`` with weights (1, 1, 1, 1): exactly Eq. 5–7,
  t*_x = (x* − x̂)/ŵ, t*_y = (y* − ŷ)/ĥ, t*_w = log(w*/ŵ), t*_h = log(h*/ĥ).
* **Refinement targets** (Eq. 9–10, :func:`refine_targets`, inverse :func:`apply_refinement`): the
  centre offset is expressed along the candidate's own axes, the closing line (cos θ, sin θ) and the
  jaws (−sin θ, cos θ) in the image's (x right, y down) frame, so θ = −Φ:
  t̃_x = ((x* − x)cos θ + (y* − y)sin θ)/w, t̃_y = ((y* − y)cos θ − (x* − x)sin θ)/h,
  t̃_w = log(w*/w), t̃_h = log(h*/h), t̃_θ = ((Φ* − Φ) mod π)/π.
  As printed, t̃_θ lies in [0, 1): a correction of −1° is 0.994, of +1° 0.006, so the small
  corrections the head learns sit at both ends of the range. ``signed=True`` (the default for
  training, recorded on the model card) takes the representative in [−½, ½) instead — the same angle
  modulo π, hence the same rectangle after :func:`apply_refinement`.
"""
from __future__ import annotations

import math

import numpy as np

#: θ classes of the paper (18 equal intervals of π); class 0 is ∅ ("invalid"), classes 1…18 the angles.
ORIENTATIONS = 18


def orientation_class(phi, n: int = ORIENTATIONS) -> np.ndarray:
    """Class 1…n of grasp angle(s) Φ (rad, any value; taken modulo π into (−π/2, π/2]).

    Interval k (1-based) covers [−π/2 + (k−1)·π/n, −π/2 + k·π/n). Returns int64 of Φ's shape.
    """
    a = np.mod(np.asarray(phi, np.float64) + math.pi / 2, math.pi)
    return (np.minimum((a * n / math.pi).astype(np.int64), n - 1) + 1).astype(np.int64)


def orientation_angle(cls, n: int = ORIENTATIONS) -> np.ndarray:
    """Angle Φ (rad) at the centre of class(es) 1…n: −π/2 + (k − ½)·π/n.

    Raises:
        ValueError: a class outside 1…n (0 is ∅, which has no angle).
    """
    c = np.asarray(cls)
    if c.size and (int(c.min()) < 1 or int(c.max()) > n):
        raise ValueError(f"orientation classes are 1..{n}, got {int(c.min())}..{int(c.max())}")
    return -math.pi / 2 + (c.astype(np.float64) - 0.5) * math.pi / n


def grasp_boxes(rects: np.ndarray) -> np.ndarray:
    """(N, 4) float32 boxes (x1, y1, x2, y2) of (N, 5) rectangles (x, y, w, h, Φ): the rectangle unrotated."""
    r = np.asarray(rects, np.float64).reshape(-1, 5)
    return np.column_stack([r[:, 0] - r[:, 2] / 2, r[:, 1] - r[:, 3] / 2,
                            r[:, 0] + r[:, 2] / 2, r[:, 1] + r[:, 3] / 2]).astype(np.float32)


def boxes_to_rects(boxes: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(N, 5) rectangles (x, y, w, h, Φ) of (N, 4) unrotated boxes and their angles (inverse of :func:`grasp_boxes`)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0],
                            b[:, 3] - b[:, 1], np.asarray(phi, np.float64).reshape(-1)])


def _wrap_half_turn(a: np.ndarray) -> np.ndarray:
    """Angle(s) wrapped to (−π/2, π/2]."""
    out = np.mod(np.asarray(a, np.float64) + math.pi / 2, math.pi) - math.pi / 2
    return np.where(out <= -math.pi / 2 + 1e-12, out + math.pi, out)


def refine_targets(cand: np.ndarray, gt: np.ndarray, signed: bool = True) -> np.ndarray:
    """(N, 5) refinement targets (t̃_x, t̃_y, t̃_w, t̃_h, t̃_θ) of candidates towards ground truth (Eq. 9–10).

    Args:
        cand, gt: (N, 5) rectangles (x, y, w, h, Φ), network px and rad, w, h > 0; row i of ``gt`` is
            the target of row i of ``cand``.
        signed: t̃_θ in [−½, ½) (default) instead of the printed [0, 1) (module docstring).

    Raises:
        ValueError: shapes differ or a width/height is not > 0.
    """
    c, g = np.asarray(cand, np.float64).reshape(-1, 5), np.asarray(gt, np.float64).reshape(-1, 5)
    if c.shape != g.shape:
        raise ValueError(f"{len(c)} candidates but {len(g)} targets")
    if (c[:, 2:4] <= 0).any() or (g[:, 2:4] <= 0).any():
        raise ValueError("rectangle widths and heights must be > 0")
    th = -c[:, 4]
    dx, dy = g[:, 0] - c[:, 0], g[:, 1] - c[:, 1]
    tx = (dx * np.cos(th) + dy * np.sin(th)) / c[:, 2]
    ty = (dy * np.cos(th) - dx * np.sin(th)) / c[:, 3]
    tt = np.mod(g[:, 4] - c[:, 4], math.pi) / math.pi
    if signed:
        tt = np.where(tt >= 0.5, tt - 1.0, tt)
    return np.column_stack([tx, ty, np.log(g[:, 2] / c[:, 2]), np.log(g[:, 3] / c[:, 3]), tt])


def apply_refinement(cand: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(N, 5) refined rectangles (x, y, w, h, Φ ∈ (−π/2, π/2]) of candidates and corrections (inverse of
    :func:`refine_targets`, either form of t̃_θ)."""
    c, t = np.asarray(cand, np.float64).reshape(-1, 5), np.asarray(t, np.float64).reshape(-1, 5)
    th = -c[:, 4]
    lx, ly = t[:, 0] * c[:, 2], t[:, 1] * c[:, 3]
    x = c[:, 0] + lx * np.cos(th) - ly * np.sin(th)
    y = c[:, 1] + lx * np.sin(th) + ly * np.cos(th)
    return np.column_stack([x, y, c[:, 2] * np.exp(t[:, 2]), c[:, 3] * np.exp(t[:, 3]),
                            _wrap_half_turn(c[:, 4] + math.pi * t[:, 4])])


def hard_negative_weights(neg_log_p: np.ndarray, fraction: float = 0.25) -> np.ndarray:
    """Per-pixel weights of L_sem (Eq. 8): 1/(fraction·W·H) on the ⌈fraction·W·H⌉ pixels of lowest
    probability of their true class (highest −log P), 0 elsewhere; per image.

    Args:
        neg_log_p: (…, H, W) −log P_jk(Y_jk) per pixel.
        fraction: share of pixels kept (paper: 25 %, weight 4/(WH)).
    """
    x = np.asarray(neg_log_p, np.float64)
    flat = x.reshape(-1, x.shape[-2] * x.shape[-1])
    k = int(math.ceil(fraction * flat.shape[1]))
    w = np.zeros_like(flat)
    idx = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    np.put_along_axis(w, idx, 1.0 / (fraction * flat.shape[1]), axis=1)
    return w.reshape(x.shape)


__all__ = ["ORIENTATIONS", "apply_refinement", "boxes_to_rects", "grasp_boxes", "hard_negative_weights",
           "orientation_angle", "orientation_class", "refine_targets"]
