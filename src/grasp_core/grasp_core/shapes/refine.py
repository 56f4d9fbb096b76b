"""Guided-backpropagation-refined activations of the SSD grasp detector (Yokota et al., Eq. 1-2).

For one detection (default box ``d`` of the SSD), its grasp-class score y_d (the
grasp logit of that box) is back-propagated to every candidate layer l (the 10
base layers "1-1" … "4-3") with the guided-backpropagation rule at every ReLU
(Springenberg et al., "Striving for Simplicity", ICLR 2015 workshop, §3.4):

    Eq. 1:  R_l = (f_l > 0) · (R_l⁺ > 0) · R_l⁺

where f_l is the layer's activation (after its ReLU) and R_l⁺ the signal arriving
from the layer above (∂y_d/∂f_l computed with this rule at every ReLU above l);
the refined activation is

    Eq. 2:  F_l = f_l · R_l      (element-wise)

Pooling (:func:`pool`): F_l (C_l, H_l, W_l) → [Σ, max] per channel in 4 rings around
the detection's centre (0-12, 12-30, 30-60, ≥ 60 px), a 8·C_l vector, L2-normalised.
Without refinement: the raw activations f_l pooled the same way around the detection
(``raw_local``), or over the whole image (``raw_global``, the paper's baseline: every
detection of an image gets the same vector).

Requires PyTorch (gradients); the runtime detector plugin does not.
"""
from __future__ import annotations

import numpy as np
import torch

from ..depth import CropTransform, inpaint_depth
from .data import normalise_depth_image
from .ssd import INPUT_SIZE, LAYER_NAMES, SSDExport, SSDGrasp, decode_torch, load_npz


class GuidedReLU(torch.autograd.Function):
    """ReLU whose backward pass is the guided-backpropagation rule (Eq. 1)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clamp(min=0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * (out > 0) * (grad > 0)


def guided_relevance(f: torch.Tensor, r_above: torch.Tensor) -> torch.Tensor:
    """Eq. 1: R = (f > 0)·(R⁺ > 0)·R⁺ (same shapes, any)."""
    return (f > 0) * (r_above > 0) * r_above


#: Radial bin edges around the detection centre, input px (the last bin reaches the image border).
RADIAL_BINS = (0.0, 12.0, 30.0, 60.0, 1e9)
#: Feature variants: refined (Eq. 1-2), raw activations f pooled the same way around the detection
#: ("raw_local"), raw activations pooled over the whole image ("raw_global", the paper's baseline).
VARIANTS = ("refined", "raw_local", "raw_global")


def pool(feat: np.ndarray, centres: np.ndarray | None = None, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Pool (K, C, H, W) maps (≥ 0) to (K, 2·C·B) float32 vectors: square roots (power normalisation,
    Perronnin et al., ECCV 2010), each row L2-normalised (zeros stay zeros).

    With ``centres`` ((K, 2) (u, v) input px), the cells are split into B = 4 rings around the
    centre (:data:`RADIAL_BINS`, distances of the cell centres in input px) and each ring gives
    [Σ, max] per channel (rotation invariant, keeps the extent of the shape); without, one bin
    covers the whole map (B = 1).
    """
    k, c, h, w = feat.shape
    flat = feat.reshape(k, c, h * w)
    if centres is None:
        v = np.concatenate([flat.sum(-1), flat.max(-1)], 1)
    else:
        stride = input_size / h
        g = (np.arange(h) + 0.5) * stride - 0.5
        gv, gu = np.meshgrid(g, g, indexing="ij")
        parts = []
        for i in range(k):
            d = np.hypot(gu.ravel() - centres[i, 0], gv.ravel() - centres[i, 1])
            row = []
            for lo, hi in zip(RADIAL_BINS[:-1], RADIAL_BINS[1:], strict=True):
                m = (d >= lo) & (d < hi)
                if not m.any():  # a ring narrower than a cell: the nearest cell stands in
                    m = d == d.min() if lo == 0 else np.zeros_like(m)
                sel = flat[i][:, m]
                row += [sel.sum(-1), sel.max(-1)] if sel.shape[1] else [np.zeros(c), np.zeros(c)]
            parts.append(np.concatenate(row))
        v = np.stack(parts)
    v = np.sqrt(np.maximum(v, 0.0)).astype(np.float32)  # power normalisation (all inputs are ≥ 0)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def layer_features(net: SSDGrasp, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray | None = None,
                   variant: str = "refined", chunk: int = 12) -> dict[str, np.ndarray]:
    """Pooled (refined) features of detections at every candidate layer.

    Args:
        net: the SSD (eval mode).
        x: (1, 1, 300, 300) float32 network input.
        boxes: (K,) int default-box indices of the detections.
        centres: (K, 2) detection centres (u, v), network px, for the radial pooling; default:
            the default boxes' centres.
        variant: one of :data:`VARIANTS`.
        chunk: detections back-propagated together (one batch of copies of the image).

    Returns:
        {layer name: (K, d_l) float32} for the 10 names of :data:`LAYER_NAMES`.

    Raises:
        ValueError: unknown variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown feature variant {variant!r}; expected one of {VARIANTS}")
    boxes = np.asarray(boxes, np.int64).reshape(-1)
    if centres is None:
        centres = net.priors.numpy()[boxes, :2]
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    bins = 1 if variant == "raw_global" else len(RADIAL_BINS) - 1
    out: dict[str, list[np.ndarray]] = {n: [] for n in LAYER_NAMES}
    if boxes.size == 0:
        return {n: np.zeros((0, 2 * w * bins), np.float32) for n, w in zip(LAYER_NAMES, net.widths, strict=True)}
    if variant != "refined":
        with torch.no_grad():
            _, base = net.features(x, keep=True)
        for n, f in zip(LAYER_NAMES, base, strict=True):
            fk = np.repeat(f.numpy(), boxes.size, 0)
            out[n] = [pool(fk[:1], None).repeat(boxes.size, 0) if variant == "raw_global" else pool(fk, centres)]
        return {n: np.concatenate(v) for n, v in out.items()}
    old = net.relu
    net.relu = GuidedReLU.apply
    try:
        for s in range(0, boxes.size, chunk):
            idx = torch.from_numpy(boxes[s:s + chunk])
            xb = x.expand(idx.numel(), -1, -1, -1).clone()
            sources, base = net.features(xb, keep=True)
            for f in base:
                f.retain_grad()
            conf, _ = net.heads_out(sources)
            score = conf[torch.arange(idx.numel()), idx, 1].sum()
            net.zero_grad(set_to_none=True)
            score.backward()
            for n, f in zip(LAYER_NAMES, base, strict=True):
                fd = f.detach()
                r = guided_relevance(fd, f.grad)  # Eq. 1 at the layer's own ReLU
                out[n].append(pool((fd * r).numpy(), centres[s:s + chunk]))  # Eq. 2
    finally:
        net.relu = old
    return {n: np.concatenate(v) for n, v in out.items()}


class ShapeFeatureExtractor:
    """The SSD (PyTorch, weights from a ``.npz``) with preprocessing, detection and refined features.

    Args:
        weights: ``.npz`` of :func:`grasp_core.shapes.ssd.state_to_arrays` (e.g. ``models/ssd_shapes.npz``).
        crop_size: centre crop of the source image, px, resized to 300 (300 = the stack's 640x480 camera
            at 0.6-0.8 m sees the same table area as the training images).
        threads: torch threads.

    Raises:
        FileNotFoundError, ValueError: no usable weights.
    """

    def __init__(self, weights, crop_size: int = 300, threads: int = 1) -> None:
        torch.set_num_threads(threads)
        self.net = load_npz(weights)
        self.exporter = SSDExport(self.net)
        self.crop_size = int(crop_size)

    def preprocess(self, depth: np.ndarray) -> tuple[torch.Tensor, CropTransform]:
        """(H, W) float32 metres (NaN holes) → ((1, 1, 300, 300) input, crop transform). Raises DepthError."""
        tf = CropTransform.centre(depth.shape, self.crop_size, INPUT_SIZE)
        import cv2

        crop = inpaint_depth(tf.apply(depth.astype(np.float32), cv2.INTER_NEAREST))
        return torch.from_numpy(normalise_depth_image(crop))[None, None], tf

    @torch.no_grad()
    def detect(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(scores (D,) grasp probability, boxes (D, 5) (u, v, w, h, θ) network px) of one input."""
        scores, boxes = self.exporter(x)
        return scores[0].numpy(), boxes[0].numpy()

    def features(self, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray | None = None,
                 variant: str = "refined") -> dict[str, np.ndarray]:
        """:func:`layer_features` of default boxes ``boxes`` (centred at ``centres``, network px) on input ``x``."""
        return layer_features(self.net, x, boxes, centres, variant)


def box_for_point(scores: np.ndarray, boxes: np.ndarray, u: float, v: float, radius: float = 12.0) -> int:
    """The default box whose decoded centre is within ``radius`` px of (u, v) with the highest score.

    Used to attach a grasp candidate from any detector to an SSD detection (network px).

    Returns:
        the default-box index, or −1 when no decoded centre is that near.
    """
    d = np.hypot(boxes[:, 0] - u, boxes[:, 1] - v)
    near = np.nonzero(d <= radius)[0]
    if near.size == 0:
        return -1
    return int(near[np.argmax(scores[near])])


__all__ = ["GuidedReLU", "guided_relevance", "pool", "layer_features", "ShapeFeatureExtractor", "box_for_point",
           "decode_torch"]
