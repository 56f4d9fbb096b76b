"""The baselines of Park & Chun's Table I (2018, §IV-D), on the building blocks of :mod:`.msstn`.

* :class:`DirectRegression`: a ResNet on the whole image regresses one grasp (x, y, sin 2θ, cos 2θ,
  w_sx, w_sy) — the "direct regression CNN" (after Redmon & Angelova 2015; the paper's ResNet-32).
* :class:`SingleStageSTN`: one spatial transformer whose localisation net outputs the whole grasp
  (location, rotation and scale in one Λ), its patch scored by the grasp classifier — the paper's
  "single stage STN". Same raw outputs as :class:`DirectRegression`, plus the score.
* :class:`SlidingWindow`: the grasp classifier on a fixed grid of rectangles (positions × angles ×
  openings), the best scoring one wins — classification with a sliding window (Lenz et al. 2015,
  the paper's "4-layer CNN" variant). Its grid is baked into the exported graph, so ONNX Runtime
  times the whole search.

All output grasps in the :mod:`.msstn` parameterisation: centre (x, y) normalised, θ = −Φ,
half-extents s_x·s₀, s_y·s₀ of the window scale s₀ = ``cfg.crop_scale`` (opening = s_x·s₀·S px).
Targets of the two regressors: the first ground-truth rectangle in STN_crop's order
(:func:`grasp_core.nn.msstn.crop_targets`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..grasp import Grasp
from . import stn
from .msstn import MSSTNConfig, angle_from_sincos, grasp_affine, pixels_to_norm, scale_from_raw
from .msstn_onnx import decode_regression, window_grid  # noqa: F401 (re-exported)


def regression_target(g: Grasp, cfg: MSSTNConfig) -> np.ndarray:
    """Raw target (x, y, sin 2θ, cos 2θ, w_sx, w_sy) (6,) float32 of rectangle ``g`` (network px), θ = −Φ."""
    s0, size = cfg.crop_scale, cfg.input_size
    x, y = pixels_to_norm(g.u, g.v, size)
    t = -g.angle
    return np.array([x, y, math.sin(2 * t), math.cos(2 * t), math.log(g.width_px / (s0 * size) / cfg.scale_ref),
                     math.log(max(g.length_px, 1e-3) / (s0 * size) / cfg.scale_ref)], np.float32)


class DirectRegression(nn.Module):
    """Direct-regression CNN: (B, C, S, S) → raw (B, 6) = (x, y, sin 2θ, cos 2θ, w_sx, w_sy)."""

    def __init__(self, cfg: MSSTNConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or MSSTNConfig()
        self.net = stn.ResNetLocalisation(cfg.in_channels, 6, blocks=(1, 1, 1, 1), width=cfg.width,
                                          bias=torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0, 0.0]))

    def forward(self, x):
        return self.net(x)


class SingleStageSTN(nn.Module):
    """Single-stage STN: one localisation net → Λ of the whole grasp → classifier on its patch.

    ``forward`` returns (raw (B, 6) as :class:`DirectRegression`, score (B,) logits).
    ``classifier`` is a :class:`grasp_core.nn.stn.ResNetLocalisation` like the multi-stage one's
    (it can be loaded from it).
    """

    def __init__(self, cfg: MSSTNConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or MSSTNConfig()
        self.loc = stn.ResNetLocalisation(cfg.in_channels, 6, blocks=(1, 1, 1, 1), width=cfg.width,
                                          bias=torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0, 0.0]))
        self.classifier = stn.ResNetLocalisation(cfg.in_channels, 1, blocks=(1, 1, 1), width=cfg.width)

    def affine(self, raw: torch.Tensor) -> torch.Tensor:
        """Λ (B, 2, 3) of the grasp patch of raw outputs (B, 6)."""
        s = scale_from_raw(torch.cat([raw[:, 4:6], torch.zeros_like(raw[:, :2])], 1), self.cfg.scale_ref)
        s0 = self.cfg.crop_scale
        return grasp_affine(raw[:, :2], angle_from_sincos(raw[:, 2:4]), s[:, 0] * s0, s[:, 1] * s0)

    def forward(self, x, detach_loc: bool = False):
        raw = self.loc(x)
        lam = self.affine(raw.detach() if detach_loc else raw)
        p = stn.warp(x, lam, (self.cfg.cls_patch, self.cfg.cls_patch))
        return raw, self.classifier(p)[:, 0]


class SlidingWindow(nn.Module):
    """The grasp classifier on every rectangle of ``grid`` (N, 5) (:func:`window_grid`): (1, C, S, S) →
    scores (N,) logits. The grid's Λ are a constant of the module (and of its ONNX graph)."""

    def __init__(self, classifier: nn.Module, cfg: MSSTNConfig, grid: np.ndarray):
        super().__init__()
        self.classifier, self.cfg = classifier, cfg
        size = cfg.input_size
        g = torch.as_tensor(grid, dtype=torch.float32)
        xy = stn.pixels_to_normalised(g[:, :2], size, size)
        lam = grasp_affine(xy, -g[:, 2], g[:, 3] / size, g[:, 4] / size)
        self.register_buffer("lam", lam)
        self.register_buffer("grid", g)

    def forward(self, x):
        n = self.lam.shape[0]
        img = x[:1].expand(n, *x.shape[1:])
        p = stn.warp(img, self.lam, (self.cfg.cls_patch, self.cfg.cls_patch))
        return self.classifier(p)[:, 0]
