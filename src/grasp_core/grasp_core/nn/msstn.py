"""Multi-stage spatial-transformer grasp detector (Park & Chun, "Classification based Grasp Detection
using Spatial Transformer Network", 2018, §III, Fig. 5) and each stage's training targets.

Pipeline on one (B, C, S, S) network input (square, S = ``input_size``):

1. **STN_crop** (:class:`MultiStageSTN.crop`): a ResNet localisation network on the whole image
   outputs K candidate grasp centres (x_k, y_k) in the input's normalised coordinates (2K outputs;
   K = 4 in the paper, an output of size 8). Each candidate gets a fixed-size window
   Λ_c = [[s₀, 0, x_k], [0, s₀, y_k]] (s₀ = ``crop_scale``: the window covers s₀·S px).
2. **STN_rotation**: a ResNet on the window outputs (sin 2θ, cos 2θ); θ = ½·atan2. Λ_r = rotation(θ).
   Through Λ_c·Λ_r the window's x axis is the image direction (cos θ, sin θ) (y down), so a grasp of
   angle Φ (counter-clockwise on screen, :mod:`grasp_core.grasp`) comes out horizontal for θ = −Φ.
3. **STN_scale,crop**: a ResNet on the rotated window outputs (w_sx, w_sy, δx, δy);
   s_x = r·exp(w_sx), s_y = r·exp(w_sy) (r = ``scale_ref``), Λ_s = [[s_x, 0, δx], [0, s_y, δy]]:
   the gripper opening (along x), the jaw size (along y) and a fine correction of the centre.
4. **Grasp classifier**: a ResNet on the final patch warp(I, Λ_c·Λ_r·Λ_s) outputs a graspability
   logit; **max-pooling** over the K candidates picks the best.

Every stage samples the full input through the composed affine map (:func:`grasp_core.nn.stn.compose`),
so nothing is resampled twice and a point of any stage's output maps back to input pixels exactly
(:func:`decode_candidates`). The grasp a candidate stands for, in network px:
centre = (x_k, y_k) + s₀·R(θ)·(δx, δy) (normalised, then :func:`grasp_core.nn.stn.normalised_to_pixels`),
Φ = −θ, opening = s_x·s₀·S, jaw length = s_y·s₀·S.

Targets (the paper's §IV-B; :func:`crop_targets`, :func:`rotation_target`, :func:`scale_crop_target`):
STN_crop's K outputs are the first K ground-truth centres, ordered from the top-right corner ("we put
the top right ground truth label as the first output"), each at least ``min_separation_px`` from the
ones before (labels here are dense: many rectangles per object), zero and masked where fewer;
STN_rotation's is (sin 2θ, cos 2θ) of the assigned rectangle; STN_scale,crop's the raw parameters that
reproduce its opening, jaw size and centre. The classifier's: 1 for ground-truth rectangles, 0 for
background patches and wrong rectangles (:mod:`grasp_core.nn.msstn_train`).

Localisation networks are :class:`grasp_core.nn.stn.ResNetLocalisation` (residual blocks, as the paper).
Tensors float32; images normalised depth (:func:`grasp_core.depth.normalise_depth`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..grasp import Grasp
from . import stn
from .msstn_onnx import decode_candidates, norm_to_pixels, pixels_to_norm  # noqa: F401 (re-exported)

#: Names of the exported model's outputs, one per stage (``grasp_core.nn.msstn_onnx``).
OUTPUT_NAMES = ("crop_xy", "rotation", "scale_crop", "score")


@dataclass
class MSSTNConfig:
    """Sizes of the multi-stage STN (px unless said otherwise).

    Attributes:
        input_size: S, side of the square network input.
        in_channels: 1 (depth) or 4 (RGB-D).
        k: candidates of STN_crop (paper: 4).
        crop_scale: s₀, the candidate window's half-extent in normalised units (covers s₀·S px).
        patch: side of the windows the rotation and scale,crop localisation nets see.
        cls_patch: side of the final patch the classifier sees.
        scale_ref: r, s_x = r·exp(w) (start value of the opening relative to the window).
        width: channels of the localisation nets' first stage.
        crop_pool: STN_crop's pooling before its linear layer: 1 global average (He et al.), n an n × n
            grid that keeps where the features are (:class:`grasp_core.nn.stn.ResNetLocalisation`).
    """

    input_size: int = 160
    in_channels: int = 1
    k: int = 4
    crop_scale: float = 0.4
    patch: int = 48
    cls_patch: int = 32
    scale_ref: float = 0.4
    width: int = 16
    crop_pool: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def _candidate_bias(k: int) -> torch.Tensor:
    """Start STN_crop's K centres spread on a circle of radius 0.3 (not all at the image centre)."""
    a = torch.arange(k, dtype=torch.float32) * (2 * math.pi / max(k, 1)) + math.pi / 4
    return torch.stack([0.3 * torch.cos(a), 0.3 * torch.sin(a)], -1).reshape(-1)


def angle_from_sincos(w: torch.Tensor) -> torch.Tensor:
    """θ = ½·atan2(w₀, w₁) of raw (…, 2) outputs read as (sin 2θ, cos 2θ) (Redmon & Angelova 2015). Rad."""
    return 0.5 * torch.atan2(w[..., 0], w[..., 1])


def window(xy: torch.Tensor, s0: float) -> torch.Tensor:
    """Λ_c (N, 2, 3) = [[s₀, 0, x], [0, s₀, y]] of centres xy (N, 2), normalised."""
    s = torch.full_like(xy[:, 0], s0)
    return stn.compose(stn.translation(xy[:, 0], xy[:, 1]), stn.scale(s))


def stage_affines(xy: torch.Tensor, theta: torch.Tensor, sc: torch.Tensor | None, s0: float):
    """The composed maps of the three stages: (Λ_c, Λ_c·Λ_r, Λ_c·Λ_r·Λ_s), each (N, 2, 3).

    Args: xy (N, 2) centres, theta (N,) rad, sc (N, 4) = (s_x, s_y, δx, δy) or None (then the third is None).
    """
    lc = window(xy, s0)
    lcr = stn.compose(lc, stn.rotation(theta))
    if sc is None:
        return lc, lcr, None
    return lc, lcr, stn.compose(lcr, stn.scale_xy(sc[:, 0], sc[:, 1], sc[:, 2], sc[:, 3]))


def grasp_affine(xy: torch.Tensor, theta: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """Λ (N, 2, 3) of a grasp patch in one map: centre xy (N, 2), angle θ, half-extents sx, sy (normalised)."""
    return stn.compose(stn.translation(xy[:, 0], xy[:, 1]), stn.rotation(theta), stn.scale_xy(sx, sy))


class MultiStageSTN(nn.Module):
    """Park & Chun's multi-stage STN (module docstring): image (B, C, S, S) → per-stage outputs.

    ``forward`` returns ``(crop_xy (B, K, 2), rotation (B, K) θ rad, scale_crop (B, K, 4) = (s_x, s_y,
    δx, δy), score (B, K) classifier logits)``; ``forward_patches`` also the patches of each stage.
    """

    def __init__(self, cfg: MSSTNConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or MSSTNConfig()
        c, w = cfg.in_channels, cfg.width
        self.crop = stn.ResNetLocalisation(c, 2 * cfg.k, blocks=(1, 1, 1, 1), width=w, bias=_candidate_bias(cfg.k),
                                           pool=cfg.crop_pool)
        self.rotation = stn.ResNetLocalisation(c, 2, blocks=(1, 1, 1), width=w, bias=torch.tensor([0.0, 1.0]))
        self.scale_crop = stn.ResNetLocalisation(c, 4, blocks=(1, 1, 1), width=w)
        self.classifier = stn.ResNetLocalisation(c, 1, blocks=(1, 1, 1), width=w)

    # --- the stages, each usable on its own (stage-wise training) -----------------------------------
    def crop_centres(self, x: torch.Tensor) -> torch.Tensor:
        """STN_crop: (B, C, S, S) → (B, K, 2) normalised centres."""
        return self.crop(x).reshape(x.shape[0], self.cfg.k, 2)

    def rotation_angle(self, patch: torch.Tensor) -> torch.Tensor:
        """STN_rotation: windows (N, C, P, P) → θ (N,) rad (and the raw (N, 2) via :meth:`rotation`)."""
        return angle_from_sincos(self.rotation(patch))

    def scale_params(self, patch: torch.Tensor) -> torch.Tensor:
        """STN_scale,crop: rotated windows (N, C, P, P) → (N, 4) = (s_x, s_y, δx, δy)."""
        return scale_from_raw(self.scale_crop(patch), self.cfg.scale_ref)

    def score(self, patch: torch.Tensor) -> torch.Tensor:
        """Grasp classifier: final patches (N, C, Pc, Pc) → (N,) logits."""
        return self.classifier(patch)[:, 0]

    def forward_patches(self, x: torch.Tensor, detach_upto: int = 0):
        """The whole cascade with its intermediate patches.

        Args:
            detach_upto: stop gradients after this many stages (0 none; 1: STN_crop's output is a
                constant for the later stages, …) — the fine-tuning schedule trains one block at a time.

        Returns:
            dict of crop_xy, theta, scale_crop, score (shapes as :meth:`forward`), and patches
            ``p_crop``, ``p_rot`` (B·K, C, P, P), ``p_final`` (B·K, C, Pc, Pc).
        """
        cfg = self.cfg
        b, k = x.shape[0], cfg.k
        xy = self.crop_centres(x).reshape(b * k, 2)
        if detach_upto >= 1:
            xy = xy.detach()
        img = x.unsqueeze(1).expand(b, k, *x.shape[1:]).reshape(b * k, *x.shape[1:])
        lc = window(xy, cfg.crop_scale)
        p_crop = stn.warp(img, lc, (cfg.patch, cfg.patch))
        theta = self.rotation_angle(p_crop)
        if detach_upto >= 2:
            theta = theta.detach()
        _, lcr, _ = stage_affines(xy, theta, None, cfg.crop_scale)
        p_rot = stn.warp(img, lcr, (cfg.patch, cfg.patch))
        sc = self.scale_params(p_rot)
        if detach_upto >= 3:
            sc = sc.detach()
        lf = stn.compose(lcr, stn.scale_xy(sc[:, 0], sc[:, 1], sc[:, 2], sc[:, 3]))
        p_final = stn.warp(img, lf, (cfg.cls_patch, cfg.cls_patch))
        score = self.score(p_final)
        return {"crop_xy": xy.reshape(b, k, 2), "theta": theta.reshape(b, k), "scale_crop": sc.reshape(b, k, 4),
                "score": score.reshape(b, k), "p_crop": p_crop, "p_rot": p_rot, "p_final": p_final}

    def forward(self, x: torch.Tensor):
        o = self.forward_patches(x)
        return o["crop_xy"], o["theta"], o["scale_crop"], o["score"]


def scale_from_raw(w: torch.Tensor, ref: float) -> torch.Tensor:
    """(s_x, s_y, δx, δy) (N, 4) from raw (w_sx, w_sy, δx, δy): s = ref·exp(clamp(w, −4, 4))."""
    s = ref * torch.exp(torch.clamp(w[:, :2], -4.0, 4.0))
    return torch.cat([s, w[:, 2:]], 1)


# --- targets (numpy; network px in, the stage's parameters out) --------------------------------------------

def order_top_right(grasps: list[Grasp], size: int) -> list[Grasp]:
    """Ground-truth rectangles by distance of their centre from the top-right pixel (size−1, 0), nearest first."""
    return sorted(grasps, key=lambda g: (g.u - (size - 1)) ** 2 + g.v ** 2)


def crop_targets(grasps: list[Grasp], k: int, size: int, min_separation_px: float = 8.0):
    """STN_crop's target: the first K ground-truth centres (top-right first), zero where fewer.

    A rectangle closer than ``min_separation_px`` to one already taken is skipped (dense labels
    would otherwise give K copies of one spot); rectangles whose centre is outside the input are ignored.

    Args:
        grasps: ground truth in network px; k: candidates; size: S.

    Returns:
        (xy (K, 2) float32 normalised centres, mask (K,) float32 1 where a target exists, chosen
        grasps (list, ≤ K) in output order).
    """
    xy = np.zeros((k, 2), np.float32)
    mask = np.zeros(k, np.float32)
    chosen: list[Grasp] = []
    for g in order_top_right([g for g in grasps if 0 <= g.u <= size - 1 and 0 <= g.v <= size - 1], size):
        if len(chosen) == k:
            break
        if any((g.u - c.u) ** 2 + (g.v - c.v) ** 2 < min_separation_px ** 2 for c in chosen):
            continue
        xy[len(chosen)] = pixels_to_norm(g.u, g.v, size)
        mask[len(chosen)] = 1.0
        chosen.append(g)
    return xy, mask, chosen


def rotation_target(g: Grasp) -> np.ndarray:
    """STN_rotation's target (sin 2θ, cos 2θ) (2,) float32 for θ = −Φ of rectangle ``g``."""
    t = -g.angle
    return np.array([math.sin(2 * t), math.cos(2 * t)], np.float32)


def scale_crop_target(g: Grasp, centre_xy: np.ndarray, theta: float, cfg: MSSTNConfig) -> np.ndarray:
    """STN_scale,crop's raw target (w_sx, w_sy, δx, δy) (4,) float32 that reproduces ``g`` from a window.

    The window is centred at ``centre_xy`` (normalised) and turned by ``theta`` (rad). With
    s_x = opening/(s₀·S), s_y = jaw length/(s₀·S) and (δx, δy) = R(θ)ᵀ·(c_g − c)/s₀ the cascade's
    final patch is exactly ``g`` (up to the angle's half-turn symmetry); w = log(s/r).
    """
    s0, size = cfg.crop_scale, cfg.input_size
    sx, sy = g.width_px / (s0 * size), max(g.length_px, 1e-3) / (s0 * size)
    d = pixels_to_norm(g.u, g.v, size) - np.asarray(centre_xy, np.float64)
    c, s = math.cos(theta), math.sin(theta)
    dx, dy = (c * d[0] + s * d[1]) / s0, (-s * d[0] + c * d[1]) / s0
    return np.array([math.log(sx / cfg.scale_ref), math.log(sy / cfg.scale_ref), dx, dy], np.float32)


def nearest_grasp(grasps: list[Grasp], u: float, v: float) -> Grasp | None:
    """The rectangle whose centre is nearest to (u, v) px, or None when there is none."""
    if not grasps:
        return None
    return min(grasps, key=lambda g: (g.u - u) ** 2 + (g.v - v) ** 2)
