"""GQ-STN's input preprocessing and output decoding without torch (numpy; shared by training and the runtime).

Source: Gariépy et al., GQ-STN, IROS 2019, §IV-B and §V-B; the geometry of :mod:`grasp_core.nn.gqstn`.

* :func:`preprocess`: the card's centre crop of ``crop_size`` source px (nearest neighbour), resized to
  S = ``input_size`` px, holes inpainted (Navier–Stokes, :func:`grasp_core.depth.inpaint_depth`); the
  values stay metres (the cascade carries metric depth into the robustness classifier).
* :func:`decode_grasp`: GQ-STN's (x, y), θ, (s, z) → a :class:`grasp_core.grasp.Grasp` in source pixels:
  centre u = ((x + 1)·S − 1)/2 (network px, then the crop transform), Φ = −θ, opening = s·crop_px/3
  (the paper's w = s/3, §V-B), jaw size = the 2F-85's pad (22 mm) at the scale the 32-px crop implies
  (s·crop_px px over 0.128 m); the gripper depth below the surface = pose_mean + pose_std·z (m).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..depth import CropTransform, DepthError, inpaint_depth
from ..grasp import Grasp, wrap_angle

#: The classifier crop's side (m) and the 2F-85 pad length along the jaw (m, 2 × PAD_HALF[0]).
CROP_SIDE_M, PAD_LENGTH_M = 0.128, 0.022


def preprocess(depth: np.ndarray, crop_size: int, input_size: int) -> tuple[np.ndarray, CropTransform]:
    """(1, 1, S, S) float32 metres and the crop transform of a full (H, W) depth image (m, NaN/0 holes).

    Raises:
        DepthError: not 2-D, or no valid pixel in the crop.
    """
    depth = np.asarray(depth, np.float32)
    if depth.ndim != 2:
        raise DepthError(f"depth must be HxW, got {depth.shape}")
    tf = CropTransform.centre(depth.shape, crop_size, input_size)
    crop = tf.apply(np.where(depth > 0, depth, np.nan).astype(np.float32), cv2.INTER_NEAREST)
    crop = inpaint_depth(crop)
    return crop[None, None].astype(np.float32), tf


def decode_grasp(xy, theta: float, sz, p_robust: float, cfg: dict, tf: CropTransform | None = None
                 ) -> tuple[Grasp, float]:
    """(grasp, gripper depth below the surface m) of one image's outputs (module docstring).

    Args:
        xy: (x, y) normalised. theta: rad. sz: (s, z). p_robust: the grasp's quality.
        cfg: the card's ``gqstn`` section (input_size, crop_size, pose_mean, pose_std).
        tf: the crop transform (source px); None → network px.
    """
    size = int(cfg["input_size"])
    x, y = float(xy[0]), float(xy[1])
    u, v = ((x + 1) * size - 1) / 2, ((y + 1) * size - 1) / 2
    s, z = float(sz[0]), float(sz[1])
    scale = 1.0 if tf is None else tf.scale  # source px per network px
    if tf is not None:
        u, v = (float(a) for a in tf.to_source(u, v))
    extent = s * size * scale  # source px the 32-px crop spans (0.128 m when s is right)
    opening = extent / 3.0
    jaw = PAD_LENGTH_M * extent / CROP_SIDE_M
    phi = float(wrap_angle(-float(theta)))
    dz = float(cfg["pose_mean"]) + float(cfg["pose_std"]) * z
    return Grasp(float(u), float(v), phi, float(opening), float(jaw), float(p_robust)), dz


def decode_regression(r, cfg: dict) -> tuple[np.ndarray, float, np.ndarray]:
    """((x, y), θ, (s, z)) of a baseline's (6,) regression (x, y, sin 2θ, cos 2θ, log(s/γ), z)."""
    r = np.asarray(r, np.float64)
    return r[:2], 0.5 * math.atan2(r[2], r[3]), np.array([float(cfg["gamma"]) * math.exp(r[4]), r[5]])


def decode_multigrasp(out, cfg: dict) -> tuple[np.ndarray, float, np.ndarray, float]:
    """((x, y), θ, (s, z), cell probability) of MultiGrasp's (7, G, G) output: the most probable cell
    (Redmon & Angelova 2015; :class:`grasp_core.nn.gqstn.MultiGrasp`)."""
    out = np.asarray(out, np.float64)
    g = out.shape[-1]
    flat = out.reshape(7, g * g)
    logit = flat[0]
    prob = np.exp(logit - logit.max())
    prob /= prob.sum()
    best = int(np.argmax(prob))
    i, j = best % g, best // g
    off = 1 / (1 + np.exp(-flat[1:3, best]))
    xy = (np.array([i, j]) + off) / g * 2 - 1
    _, th, sz = decode_regression(np.concatenate([xy, flat[3:, best]]), cfg)
    return xy, th, sz, float(prob[best])
