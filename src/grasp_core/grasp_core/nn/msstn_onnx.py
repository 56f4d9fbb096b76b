"""Run and decode the exported multi-stage STN (and its Table I baselines) with ONNX Runtime, without torch.

:class:`MSSTNDetector` has :class:`grasp_core.inference.GraspDetector`'s interface (``detect``,
``name``, ``needs_rgb``, the same card-driven preprocessing: centre crop, inpainting, ``mean_clip``),
so ``grasp-eval``, ``grasp-sim-bench`` and the detector node's ``onnx_msstn`` plugin use it as they use
the generative networks; :func:`grasp_core.detectors.open_detector` picks the right class from a card's
``decoding.type``.
Its :class:`MSSTNDetection` also carries every stage's candidates in source pixels
(``stages["crop"]``, ``["rotation"]``, ``["scale_crop"]``: the paper's "partially observable"
intermediate results), in candidate order, with each candidate's classifier quality.

Decoding (numpy, shared with training): :func:`decode_candidates` (multi-stage, see
:mod:`grasp_core.nn.msstn`), :func:`decode_regression` (direct regression / single-stage STN), and the
sliding window's grid. Geometry: Park & Chun 2018, §III; conventions of :mod:`grasp_core.nn.stn`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..camera import CameraIntrinsics
from ..grasp import Grasp, wrap_angle
from ..inference import (
    Detection,
    SectionDetector,
    check_intrinsics_size,
    grasp_poses,
    rank_source_grasps,
    source_grasp,
)

#: decoding.type of the cards this module runs.
KINDS = ("msstn", "msstn_direct", "msstn_single", "msstn_sliding")


def pixels_to_norm(u, v, size: int) -> np.ndarray:
    """(x, y) normalised of network pixel (u, v): x = (2u + 1)/S − 1 (as ``stn.pixels_to_normalised``)."""
    return np.array([(2 * u + 1) / size - 1, (2 * v + 1) / size - 1], np.float32)


def norm_to_pixels(xy: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`pixels_to_norm` on (…, 2): u = ((x + 1)·S − 1)/2."""
    return ((np.asarray(xy, np.float64) + 1) * size - 1) / 2


def decode_candidates(crop_xy: np.ndarray, theta: np.ndarray, scale_crop: np.ndarray, score: np.ndarray,
                      cfg) -> dict:
    """Every stage's candidates of one image in network px.

    Args:
        crop_xy (K, 2), theta (K,), scale_crop (K, 4), score (K,) logits: one image's outputs.
        cfg: :class:`grasp_core.nn.msstn.MSSTNConfig` or its dict (the model card's ``msstn`` section).

    Returns:
        dict with ``crop`` (K, 3) = (u, v, window side px), ``rotation`` (K, 4) = (u, v, Φ rad,
        window side px), ``grasps`` list of K :class:`Grasp` (quality = sigmoid(score)), ``order``
        (K,) candidate indices by score, best first (max-pooling is ``order[0]``).
    """
    c = cfg if isinstance(cfg, dict) else cfg.to_dict()
    s0, size = float(c["crop_scale"]), int(c["input_size"])
    crop_xy = np.asarray(crop_xy, np.float64)
    theta = np.asarray(theta, np.float64)
    sc = np.asarray(scale_crop, np.float64)
    side = s0 * size
    uv = norm_to_pixels(crop_xy, size)
    cos, sin = np.cos(theta), np.sin(theta)
    dxy = np.stack([cos * sc[:, 2] - sin * sc[:, 3], sin * sc[:, 2] + cos * sc[:, 3]], -1)
    fuv = norm_to_pixels(crop_xy + s0 * dxy, size)
    q = 1.0 / (1.0 + np.exp(-np.asarray(score, np.float64)))
    phi = np.asarray(wrap_angle(-theta), np.float64).reshape(-1)
    grasps = [Grasp(float(fuv[i, 0]), float(fuv[i, 1]), float(phi[i]), float(sc[i, 0] * side),
                    float(sc[i, 1] * side), float(q[i])) for i in range(len(theta))]
    return {"crop": np.column_stack([uv, np.full(len(uv), side)]),
            "rotation": np.column_stack([uv, phi, np.full(len(uv), side)]),
            "grasps": grasps, "order": np.argsort(-q, kind="stable")}


def decode_regression(raw: np.ndarray, cfg, score: float = 1.0) -> Grasp:
    """The grasp (network px) of one image's raw (6,) output (x, y, sin 2θ, cos 2θ, w_sx, w_sy) of the
    direct-regression CNN or single-stage STN (inverse of :func:`grasp_core.nn.msstn_baselines.regression_target`)."""
    c = cfg if isinstance(cfg, dict) else cfg.to_dict()
    s0, size, ref = float(c["crop_scale"]), int(c["input_size"]), float(c["scale_ref"])
    raw = np.asarray(raw, np.float64)
    u, v = norm_to_pixels(raw[:2], size)
    th = 0.5 * math.atan2(raw[2], raw[3])
    side = s0 * size
    sx, sy = ref * math.exp(float(np.clip(raw[4], -4, 4))), ref * math.exp(float(np.clip(raw[5], -4, 4)))
    return Grasp(float(u), float(v), float(wrap_angle(-th)), sx * side, sy * side, float(score))


#: The sliding window's openings (network px) unless its card says otherwise.
SLIDING_OPENINGS_PX = (14.0, 26.0, 40.0)


def window_grid(cfg, stride_px: int = 10, angles: int = 6,
                openings_px=SLIDING_OPENINGS_PX) -> np.ndarray:
    """The sliding window's rectangles: (N, 5) = (u, v, Φ, opening, jaw length) in network px.

    Centres every ``stride_px`` over the input, ``angles`` orientations in [0, π) and the given
    openings (jaw length = opening / 2).
    """
    size = int(cfg["input_size"] if isinstance(cfg, dict) else cfg.input_size)
    c = np.arange(stride_px / 2, size, stride_px)
    rows = [(u, v, wrap_angle(math.pi * a / angles), w, w / 2)
            for v in c for u in c for a in range(angles) for w in openings_px]
    return np.asarray(rows, np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


@dataclass
class MSSTNDetection(Detection):
    """A :class:`grasp_core.inference.Detection` (``maps`` is None: no per-pixel maps) plus ``stages``:
    stage name → list of :class:`Grasp` in source px, one per candidate (crop: the window, axis-aligned,
    side = window side; rotation: the window turned to the estimated angle; scale_crop: the final
    rectangle), quality = the candidate's classifier probability."""

    stages: dict[str, list[Grasp]] = field(default_factory=dict)


class MSSTNDetector(SectionDetector):
    """The multi-stage STN (or one of its baselines) behind its model card, run by ONNX Runtime
    (:class:`grasp_core.inference.SectionDetector`: card checks, preprocessing, ``run``).

    Args: as :class:`grasp_core.inference.GraspDetector`.

    Raises:
        ModelCardError: no usable card or model file, a card whose ``decoding.type`` is not one of
            :data:`KINDS`, or whose ``outputs`` name outputs the network lacks.
    """

    KINDS, SECTION, SECTION_HOLDS = KINDS, "msstn", "the network's sizes"

    def candidates(self, out: dict[str, np.ndarray]) -> tuple[list[Grasp], dict[str, list[Grasp]]]:
        """(final candidates, stages) in network px from :meth:`run`'s outputs, candidate order."""
        if self.kind == "msstn":
            d = decode_candidates(out["crop"][0], out["rotation"][0], out["scale_crop"][0], out["score"][0],
                                  self.net)
            q = [g.quality for g in d["grasps"]]
            crop = [Grasp(float(u), float(v), 0.0, float(s), float(s), q[k]) for k, (u, v, s) in enumerate(d["crop"])]
            rot = [Grasp(float(u), float(v), float(a), float(s), float(s), q[k])
                   for k, (u, v, a, s) in enumerate(d["rotation"])]
            return d["grasps"], {"crop": crop, "rotation": rot, "scale_crop": d["grasps"]}
        if self.kind == "msstn_direct":
            g = decode_regression(out["grasp"][0], self.net)
            return [g], {"scale_crop": [g]}
        if self.kind == "msstn_single":
            g = decode_regression(out["grasp"][0], self.net, float(_sigmoid(out["score"][0])))
            return [g], {"scale_crop": [g]}
        q = _sigmoid(out["score"])
        sw = self.card.data.get("sliding", {})
        grid = window_grid(self.net, int(sw.get("stride_px", 10)), int(sw.get("angles", 6)),
                           tuple(sw.get("openings_px", SLIDING_OPENINGS_PX)))
        gs = [Grasp(float(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(q[k]))
              for k, r in enumerate(grid)]
        return gs, {"scale_crop": gs}

    def detect(self, depth: np.ndarray, rgb: np.ndarray | None = None,
               intrinsics: CameraIntrinsics | None = None, top_k: int = 5,
               min_distance_px: float = 20.0, quality_threshold: float = 0.1) -> MSSTNDetection:
        """Detect grasps on one depth image: the candidates ranked by classifier score (max-pooling
        first), at most ``top_k``, at least ``min_distance_px`` apart (source px), quality ≥ threshold.

        Args/raises: as :meth:`grasp_core.inference.GraspDetector.detect`.
        """
        t0 = time.perf_counter()
        check_intrinsics_size(depth, intrinsics)
        x, tf = self.preprocess(depth, rgb)
        t1 = time.perf_counter()
        out = self.run(x)
        t2 = time.perf_counter()
        final, stages = self.candidates(out)
        grasps = [g for _, g in rank_source_grasps(final, tf, top_k, min_distance_px, quality_threshold)]
        depths, poses = grasp_poses(depth, grasps, intrinsics)
        src_stages = ({k: [source_grasp(g, tf) for g in v] for k, v in stages.items()}
                      if self.kind != "msstn_sliding" else {})
        t3 = time.perf_counter()
        return MSSTNDetection(grasps, depths, poses, None, tf,
                              {"preprocess": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2},
                              stages=src_stages)

