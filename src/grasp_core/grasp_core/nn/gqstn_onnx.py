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
import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..camera import CameraIntrinsics
from ..depth import CropTransform, DepthError, inpaint_depth
from ..grasp import Grasp, wrap_angle
from ..inference import Detection, check_intrinsics_size, grasp_poses
from ..model_card import ModelCard, load_card

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


# --- the runtime detector ----------------------------------------------------------------------------

#: decoding.type of the cards this module runs.
KINDS = ("gqstn", "gqstn_direct", "gqstn_multigrasp")
#: GQ-STN's intermediate images, by stage (the exported graph's outputs).
IMAGE_OUTPUTS = {"trans": "image_trans", "rot": "image_rot", "scale": "image_scale"}


@dataclass
class GQSTNDetection(Detection):
    """A :class:`grasp_core.inference.Detection` (``maps`` None) of GQ-STN or a baseline, plus:

    ``p_robust``: the one grasp's P(robust) (also its quality); ``gripper_depth``: the fingertips' depth
    below the surface at the centre (m, from z); ``images``: stage → (h, w) float32 m intermediate image
    (``trans`` and ``rot`` S × S, ``scale`` 32 × 32; GQ-STN only); ``stages``: stage → [the region the
    stage's image covers, as a :class:`Grasp` in source px] (``trans``: the S-px view centred on the
    grasp, axis-aligned; ``rot``: the same turned by Φ; ``scale``: the 32-px crop, side s·crop_px).
    """

    p_robust: float = 0.0
    gripper_depth: float = float("nan")
    images: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)


class GQSTNDetector:
    """GQ-STN (or DirectGrasp / MultiGrasp) behind its model card, run by ONNX Runtime without torch.

    Has :class:`grasp_core.inference.GraspDetector`'s interface (``detect``, ``name``, ``needs_rgb``,
    ``session``). A baseline's P(robust) is the robustness classifier's on its grasp
    (:class:`grasp_core.robust_metric.RobustnessClassifier`, the card's ``classifier``, default
    ``gqcnn_synth``), GQ-STN's the graph's own ``p_robust``.

    Raises:
        ModelCardError: no usable card or model file, ``decoding.type`` not in :data:`KINDS`, no ``gqstn``
            section, or outputs the network lacks.
    """

    def __init__(self, model: str | os.PathLike | ModelCard | None = None, verify: bool = True,
                 threads: int = 0, providers: list[str] | None = None) -> None:
        self.card = model if isinstance(model, ModelCard) else load_card(model or "gqstn_synth")
        if verify:
            self.card.verify()
        self.kind, self.cfg = self.card.decoding_section(KINDS, "gqstn", "the network's configuration")
        self.session = self.card.session(threads, providers)
        self.outputs = self.card.named_outputs(self.session)
        self.crop_size, self.size = int(self.cfg["crop_size"]), int(self.cfg["input_size"])
        self._clf = None
        self._threads, self._providers = threads, providers

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def needs_rgb(self) -> bool:
        return False

    def classifier(self):
        if self._clf is None:
            from ..robust_metric import RobustnessClassifier

            self._clf = RobustnessClassifier(self.card.data.get("classifier", "gqcnn_synth"), threads=self._threads,
                                             providers=self._providers)
        return self._clf

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The raw outputs (batch of 1 removed) on a (1, 1, S, S) input in metres, by the card's output keys."""
        keys = list(self.outputs)
        vals = self.session.run([self.outputs[k] for k in keys], {"depth": x})
        return {k: v[0] for k, v in zip(keys, vals, strict=True)}

    def detect(self, depth: np.ndarray, rgb: np.ndarray | None = None, intrinsics: CameraIntrinsics | None = None,
               top_k: int = 1, min_distance_px: float = 20.0, quality_threshold: float = 0.0) -> GQSTNDetection:
        """The network's one grasp on (H, W) float32 depth (m, NaN holes); quality = P(robust).

        ``top_k`` and ``min_distance_px`` are accepted for the common interface (one-shot: one grasp);
        a grasp below ``quality_threshold`` is not returned (its P(robust) and images still are).

        Raises:
            DepthError: not 2-D or no valid pixel. ValueError: intrinsics of another image size.
        """
        t0 = time.perf_counter()
        check_intrinsics_size(depth, intrinsics)
        x, tf = preprocess(depth, self.crop_size, self.size)
        t1 = time.perf_counter()
        out = self.run(x)
        t2 = time.perf_counter()
        images = {}
        if self.kind == "gqstn":
            xy, th, sz, p = out["trans_xy"], float(out["theta"]), out["scale_z"], float(out["p_robust"])
            images = {k: out[v][0] for k, v in IMAGE_OUTPUTS.items() if v in out}
        else:
            if self.kind == "gqstn_direct":
                xy, th, sz = decode_regression(out["grasp"], self.cfg)
            else:
                xy, th, sz, _ = decode_multigrasp(out["grid"], self.cfg)
            p = float("nan")
        g, dz = decode_grasp(xy, th, sz, 0.0 if not np.isfinite(p) else p, self.cfg, tf)
        if not np.isfinite(p):
            fx = float(intrinsics.fx) if intrinsics is not None else float(self.card.data.get("fx_default", 525.0))
            p = float(self.classifier().score_grasps(depth, [g], fx)[0])
            g = Grasp(g.u, g.v, g.angle, g.width_px, g.length_px, p)
        view = self.size * tf.scale
        stages = {"trans": [Grasp(g.u, g.v, 0.0, view, view, p)], "rot": [Grasp(g.u, g.v, g.angle, view, view, p)],
                  "scale": [Grasp(g.u, g.v, g.angle, float(sz[0]) * view, float(sz[0]) * view, p)]}
        grasps = [g] if p >= quality_threshold and top_k >= 1 else []
        depths, poses = grasp_poses(depth, grasps, intrinsics)
        t3 = time.perf_counter()
        return GQSTNDetection(grasps, depths, poses, None, tf,
                              {"preprocess": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2},
                              p_robust=p, gripper_depth=dz, images=images, stages=stages)
