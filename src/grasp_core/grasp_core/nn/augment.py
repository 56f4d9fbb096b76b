"""Network samples from dataset images: crop, augmentation and targets, as one geometric transform.

:func:`make_multitask_sample` draws one transform per call — rotation about the crop centre, crop
zoom and shift, horizontal flip (plus range/ramp depth distortions) — and applies it to the input
channels, the grasp rectangles and the auxiliary target alike; without a random generator it is
the detector's own centre crop (:meth:`grasp_core.inference.GraspDetector.preprocess`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..depth import CropTransform, inpaint_depth, normalise_depth, normalise_rgb
from ..grasp import Grasp
from ..targets import WIDTH_SCALE_PX, grasp_target_maps, rotate_grasps

_RANGE_CACHE: dict = {}


def _range_factor(h: int, w: int, f: float) -> np.ndarray:
    """(H, W) float32 ratio range / z-depth of a centred pinhole camera of focal ``f`` px."""
    key = (h, w, round(f))
    if key not in _RANGE_CACHE:
        u = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / key[2]
        v = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / key[2]
        _RANGE_CACHE[key] = np.sqrt(1 + u[None, :] ** 2 + v[:, None] ** 2).astype(np.float32)
    return _RANGE_CACHE[key]


def make_sample(depth: np.ndarray, grasps: list[Grasp], size: int, crop_size: int = 300,
                rng: np.random.Generator | None = None, zoom_range=(0.8, 1.2), shift_px: int = 30,
                clip: float = 1.0, range_prob: float = 0.3, ramp_prob: float = 0.3, order: str = "inference"):
    """One depth network input and its targets (:func:`make_multitask_sample` with depth only).

    Returns:
        (x (size, size) float32 normalised depth, targets (4, size, size) float32,
        grasps in network px).
    """
    s = make_multitask_sample(depth, grasps, size, crop_size, rng, zoom_range, shift_px, clip, range_prob,
                              ramp_prob, order)
    return s.x[0], s.targets, s.grasps


@dataclass
class Sample:
    """One training/evaluation sample in network pixels (S = input side).

    Attributes:
        x: (C, S, S) float32 input, channels [depth][, R, G, B].
        targets: (4, S, S) float32 pos, cos 2Φ, sin 2Φ, width/150.
        aux: (1, S, S) float32 auxiliary target, (S, S) int64 class indices (``aux_kind="classes"``), or None.
        grasps: the labels in network px.
    """

    x: np.ndarray
    targets: np.ndarray
    aux: np.ndarray | None
    grasps: list[Grasp]


def _crop_depth(depth: np.ndarray, tf: CropTransform, order: str, clip: float) -> np.ndarray:
    if order == "inference":
        crop = inpaint_depth(tf.apply(depth, cv2.INTER_NEAREST))
    elif order == "inpaint_first":
        crop = tf.apply(depth)
    else:
        raise ValueError(f"unknown preprocessing order {order!r}")
    return normalise_depth(crop, "mean_clip", clip)


def make_multitask_sample(depth: np.ndarray | None, grasps: list[Grasp], size: int, crop_size: int = 300,
                          rng: np.random.Generator | None = None, zoom_range=(0.8, 1.2), shift_px: int = 30,
                          clip: float = 1.0, range_prob: float = 0.3, ramp_prob: float = 0.3,
                          order: str = "inference", rgb: np.ndarray | None = None,
                          aux: np.ndarray | None = None, aux_kind: str = "none") -> Sample:
    """One network input (depth, RGB or RGB-D), its grasp targets and its auxiliary target.

    One geometric transform — rotation about the crop centre, crop zoom and
    shift, horizontal flip — is drawn per call and applied to every image and
    to the grasp rectangles, so inputs, labels and auxiliary target stay aligned.

    Args:
        depth: (H, W) float32 depth, metres: raw with NaN holes for ``order="inference"``
            (crop with INTER_NEAREST, then inpaint: the detector's order), already
            inpainted for ``order="inpaint_first"`` (crop with INTER_AREA). None for RGB-only input.
        grasps: rectangles in source px.
        size: network input side (px).
        crop_size: inference crop side (px).
        rng: None → the inference centre crop; else random rotation (uniform
            over 360°), zoom (crop side × U(zoom_range)), shift (± shift_px) and
            horizontal flip; with depth input, with probability ``range_prob`` the
            z-depth is turned into range (distance along the ray, ``z·sqrt(1 + x̄² + ȳ²)``),
            as some datasets store it (Cornell's point-cloud-derived depth looks like
            range), and with probability ``ramp_prob`` a random planar ramp (≤ 1 mm/px) is added.
        rgb: (H, W, 3) uint8 RGB (appended after depth; ``mean_unit``-normalised), or None.
        aux: (H, W) auxiliary source image: perfect depth in metres (``aux_kind="depth"``),
            an object mask, > 0 on objects (``aux_kind="saliency"``), or per-pixel class indices
            (``aux_kind="classes"``: :mod:`grasp_core.datasets.semantic`, returned (size, size) int64,
            nearest-neighbour); None for none.
        aux_kind: ``none``, ``depth``, ``saliency`` or ``classes``.

    Returns:
        :class:`Sample`.

    Raises:
        ValueError: no input image, unknown ``order`` or ``aux_kind``.
    """
    if depth is None and rgb is None:
        raise ValueError("need a depth or an RGB image")
    if aux_kind not in ("none", "depth", "saliency", "classes"):
        raise ValueError(f"unknown auxiliary target {aux_kind!r}")
    h, w = (depth if depth is not None else rgb).shape[:2]
    if depth is not None and rng is not None and rng.uniform() < range_prob:
        depth = depth * _range_factor(h, w, float(rng.uniform(480, 570)))
    if depth is not None and rng is not None and rng.uniform() < ramp_prob:  # extra planar tilt, ±1 mm/px
        gx, gy = rng.uniform(-1e-3, 1e-3, 2)
        depth = depth + (gx * (np.arange(w, dtype=np.float32) - w / 2)[None, :]
                         + gy * (np.arange(h, dtype=np.float32) - h / 2)[:, None]).astype(np.float32)
    if rng is None:
        tf = CropTransform.centre((h, w), crop_size, size)
        g = grasps
    else:
        ang = float(rng.uniform(-math.pi, math.pi))
        s = int(round(crop_size * rng.uniform(*zoom_range)))
        s = min(s, h)
        cx = (w - 1) / 2 + rng.uniform(-shift_px, shift_px)
        cy = (h - 1) / 2 + rng.uniform(-shift_px, shift_px)
        m = cv2.getRotationMatrix2D((cx, cy), math.degrees(ang), 1.0)

        def warp(img, interp):
            return cv2.warpAffine(img, m, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)

        if depth is not None:
            depth = warp(depth, cv2.INTER_NEAREST if order == "inference" else cv2.INTER_LINEAR)
        if rgb is not None:
            rgb = warp(np.ascontiguousarray(rgb), cv2.INTER_LINEAR)
        if aux is not None and aux_kind != "none":
            aux = warp(np.ascontiguousarray(aux), cv2.INTER_NEAREST)
        g = rotate_grasps(grasps, m, ang)
        tf = CropTransform(int(round(cx - s / 2 + 0.5)), int(round(cy - s / 2 + 0.5)), s, size)
    chans = []
    if depth is not None:
        chans.append(_crop_depth(depth, tf, order, clip))
    elif order not in ("inference", "inpaint_first"):
        raise ValueError(f"unknown preprocessing order {order!r}")
    if rgb is not None:
        chans.extend(np.transpose(normalise_rgb(tf.apply(np.ascontiguousarray(rgb), cv2.INTER_AREA)), (2, 0, 1)))
    x = np.stack(chans).astype(np.float32)
    a = None
    if aux is not None and aux_kind == "depth":
        crop = tf.apply(np.asarray(aux, np.float32), cv2.INTER_NEAREST)
        if not np.isfinite(crop).all():
            crop = inpaint_depth(crop)
        a = normalise_depth(crop, "mean_clip", clip)[None]
    elif aux is not None and aux_kind == "saliency":
        a = (tf.apply(np.asarray(aux), cv2.INTER_NEAREST) > 0).astype(np.float32)[None]
    elif aux is not None and aux_kind == "classes":
        a = tf.apply(np.asarray(aux, np.uint8), cv2.INTER_NEAREST).astype(np.int64)
    gn = []
    for q in g:
        u, v = tf.from_source(q.u, q.v)
        gn.append(Grasp(float(u), float(v), q.angle, q.width_px / tf.scale, q.length_px / tf.scale))
    if rng is not None and rng.uniform() < 0.5:  # horizontal flip: u → size-1-u, Φ → −Φ
        x = np.ascontiguousarray(x[:, :, ::-1])
        a = None if a is None else np.ascontiguousarray(a[..., ::-1])
        gn = [Grasp(size - 1 - q.u, q.v, -q.angle if q.angle < math.pi / 2 else q.angle,
                    q.width_px, q.length_px) for q in gn]
    gn = [q for q in gn if -q.width_px < q.u < size + q.width_px and -q.width_px < q.v < size + q.width_px]
    t = np.stack(grasp_target_maps(gn, (size, size), WIDTH_SCALE_PX))
    return Sample(x, t, a, gn)
