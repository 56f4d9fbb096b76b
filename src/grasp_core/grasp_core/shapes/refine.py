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

Without pooling (``refined_roi``, ``raw_roi``): F_l (or f_l) sampled in a window of
128 x 128 input px centred at the detection and turned to its grasp axis, on an 8 x 8 raster,
flattened (C_l·64 values; :func:`grasp_core.shapes.roi.roi_vectors`): keeps where around
the grasp the shape is, not only how far.

Requires PyTorch (gradients); the runtime detector plugin does not.
"""
from __future__ import annotations

import numpy as np
import torch

from ..depth import CropTransform, inpaint_depth
from .data import normalise_depth_image
from .roi import GRID, roi_vectors
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
#: ("raw_local"), raw activations pooled over the whole image ("raw_global", the paper's baseline);
#: refined / raw activations in the grasp-aligned window, flattened without pooling
#: ("refined_roi" / "raw_roi", :func:`grasp_core.shapes.roi.roi_vectors`).
#: "refined_aligned" / "raw_aligned": the same ROI vectors of the network run on the input image turned
#: about the detection's centre so that its grasp is horizontal (:func:`align_inputs`): the
#: network then sees every grasp in one orientation (its convolutions are not rotation equivariant).
VARIANTS = ("refined", "raw_local", "raw_global", "refined_roi", "raw_roi", "refined_aligned", "raw_aligned")


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


def align_inputs(net: SSDGrasp, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray, angles: np.ndarray
                 ) -> tuple[torch.Tensor, np.ndarray]:
    """Copies of the input turned about each detection's centre so that its grasp is horizontal.

    Copy k samples the input at c_k + R(−θ_k)(p − c_k) (:func:`grasp_core.nn.stn.warp`, bilinear,
    border padding: outside the view is the table), so the detection's closing line (angle θ_k)
    becomes +u through the unchanged centre c_k. The detection's default box in copy k is the
    one of the same source map whose prior centre is nearest to where the content of the
    original box's prior centre went.

    Args:
        x: (1, C, S, S) input; boxes (K,) default-box indices; centres (K, 2) px; angles (K,) rad.

    Returns:
        ((K, C, S, S) turned inputs, (K,) int64 default-box indices in them).
    """
    from ..nn.stn import compose, pixels_to_normalised, rotation, translation
    from ..nn.stn import warp as stn_warp

    k, size = len(boxes), x.shape[-1]
    c = torch.as_tensor(np.asarray(centres, np.float32).reshape(-1, 2))
    xy = pixels_to_normalised(c, size, size)
    phi = -torch.as_tensor(np.asarray(angles, np.float32).reshape(-1))
    lam = compose(translation(xy[:, 0], xy[:, 1]), rotation(phi), translation(-xy[:, 0], -xy[:, 1]))
    xa = stn_warp(x.expand(k, -1, -1, -1), lam, padding_mode="border")
    pri = net.priors.numpy()
    out = np.zeros(k, np.int64)
    for i, b in enumerate(np.asarray(boxes, np.int64)):
        d = pri[b, :2] - centres[i]
        ca, sa = float(np.cos(phi[i])), float(np.sin(phi[i]))
        q = centres[i] + np.array([ca * d[0] + sa * d[1], -sa * d[0] + ca * d[1]])  # c + Rᵀ (p_d − c)
        same = np.nonzero(pri[:, 3] == pri[b, 3])[0]
        out[i] = same[np.argmin(np.hypot(pri[same, 0] - q[0], pri[same, 1] - q[1]))]
    return xa, out


def _guided_maps(net: SSDGrasp, xb: torch.Tensor, idx: torch.Tensor) -> list[torch.Tensor]:
    """Refined activations F (Eq. 1-2) of copy i's detection idx[i] at every base layer: 10 × (K, C_l, H_l, W_l)."""
    old = net.relu
    net.relu = GuidedReLU.apply
    try:
        sources, base = net.features(xb, keep=True)
        for f in base:
            f.retain_grad()
        conf, _ = net.heads_out(sources)
        score = conf[torch.arange(idx.numel()), idx, 1].sum()
        net.zero_grad(set_to_none=True)
        score.backward()
        return [f.detach() * guided_relevance(f.detach(), f.grad) for f in base]  # Eq. 1 at the layer's ReLU, Eq. 2
    finally:
        net.relu = old


def layer_features_multi(net: SSDGrasp, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray | None = None,
                         angles: np.ndarray | None = None, variants: tuple[str, ...] = ("refined",),
                         chunk: int = 12) -> dict[str, dict[str, np.ndarray]]:
    """Features of detections at every candidate layer, for several variants at once.

    The raw activations come from one forward pass; the refined ones (Eq. 1-2) from one guided
    backward pass per chunk of detections (a batch of copies of the image, each back-propagating
    its own detection's grasp score), shared by ``refined`` and ``refined_roi``; the ``*_aligned``
    variants run the network (and the guided backward pass) once more on copies turned to each
    detection's grasp (:func:`align_inputs`) and take the window at angle 0 there.

    Args:
        net: the SSD (eval mode).
        x: (1, C, 300, 300) float32 network input.
        boxes: (K,) int default-box indices of the detections.
        centres: (K, 2) detection centres (u, v), network px (radial pooling, ROI windows); default:
            the default boxes' centres.
        angles: (K,) detection angles θ, rad (ROI windows, :mod:`grasp_core.shapes.roi`); default 0.
        variants: names of :data:`VARIANTS`.
        chunk: detections back-propagated together.

    Returns:
        {variant: {layer name: (K, d_l) float32}} for the 10 names of :data:`LAYER_NAMES`.

    Raises:
        ValueError: unknown variant.
    """
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"unknown feature variant(s) {bad}; expected some of {VARIANTS}")
    boxes = np.asarray(boxes, np.int64).reshape(-1)
    if centres is None:
        centres = net.priors.numpy()[boxes, :2]
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    angles = np.zeros(boxes.size) if angles is None else np.asarray(angles, np.float64).reshape(-1)
    out: dict[str, dict[str, list[np.ndarray]]] = {v: {n: [] for n in LAYER_NAMES} for v in variants}
    if boxes.size == 0:
        dims = {"raw_global": lambda w: 2 * w, "refined": lambda w: 8 * w, "raw_local": lambda w: 8 * w}
        return {v: {n: np.zeros((0, dims.get(v, lambda w: w * GRID ** 2)(w)), np.float32)
                    for n, w in zip(LAYER_NAMES, net.widths, strict=True)} for v in variants}
    raw = [v for v in variants if v in ("raw_local", "raw_global", "raw_roi")]
    if raw:
        with torch.no_grad():
            _, base = net.features(x, keep=True)
        for n, f in zip(LAYER_NAMES, base, strict=True):
            fn = f.numpy()
            for v in raw:
                if v == "raw_global":
                    out[v][n] = [pool(fn, None).repeat(boxes.size, 0)]
                elif v == "raw_local":
                    out[v][n] = [pool(np.repeat(fn, boxes.size, 0), centres)]
                else:
                    out[v][n] = [roi_vectors(f, centres, angles, INPUT_SIZE)]
    zero = np.zeros(boxes.size)
    for s in range(0, boxes.size, chunk):
        sl = slice(s, s + chunk)
        if "refined" in variants or "refined_roi" in variants:
            maps = _guided_maps(net, x.expand(len(boxes[sl]), -1, -1, -1).clone(), torch.from_numpy(boxes[sl]))
            for n, m in zip(LAYER_NAMES, maps, strict=True):
                if "refined" in variants:
                    out["refined"][n].append(pool(m.numpy(), centres[sl]))
                if "refined_roi" in variants:
                    out["refined_roi"][n].append(roi_vectors(m, centres[sl], angles[sl], INPUT_SIZE))
        if "refined_aligned" in variants or "raw_aligned" in variants:
            xa, ia = align_inputs(net, x, boxes[sl], centres[sl], angles[sl])
            if "raw_aligned" in variants:
                with torch.no_grad():
                    _, base = net.features(xa, keep=True)
                for n, f in zip(LAYER_NAMES, base, strict=True):
                    out["raw_aligned"][n].append(roi_vectors(f, centres[sl], zero[sl], INPUT_SIZE))
            if "refined_aligned" in variants:
                maps = _guided_maps(net, xa, torch.from_numpy(ia))
                for n, m in zip(LAYER_NAMES, maps, strict=True):
                    out["refined_aligned"][n].append(roi_vectors(m, centres[sl], zero[sl], INPUT_SIZE))
    return {v: {n: np.concatenate(a) for n, a in d.items()} for v, d in out.items()}


def layer_features(net: SSDGrasp, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray | None = None,
                   variant: str = "refined", chunk: int = 12, angles: np.ndarray | None = None
                   ) -> dict[str, np.ndarray]:
    """One variant of :func:`layer_features_multi`: {layer name: (K, d_l) float32}. Raises ValueError."""
    return layer_features_multi(net, x, boxes, centres, angles, (variant,), chunk)[variant]


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

    @property
    def modality(self) -> str:
        """The network's input: ``depth`` (1 channel) or ``rgb`` (3)."""
        return "rgb" if self.net.in_channels == 3 else "depth"

    def features(self, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray | None = None,
                 variant: str = "refined", angles: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """:func:`layer_features` of default boxes ``boxes`` (centred at ``centres``, angles ``angles``,
        network px / rad) on input ``x``."""
        return layer_features(self.net, x, boxes, centres, variant, angles=angles)

    def features_multi(self, x: torch.Tensor, boxes: np.ndarray, centres: np.ndarray | None = None,
                       angles: np.ndarray | None = None, variants: tuple[str, ...] = VARIANTS
                       ) -> dict[str, dict[str, np.ndarray]]:
        """:func:`layer_features_multi` on input ``x``."""
        return layer_features_multi(self.net, x, boxes, centres, angles, variants)


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


__all__ = ["GuidedReLU", "guided_relevance", "pool", "layer_features", "layer_features_multi", "align_inputs",
           "ShapeFeatureExtractor", "box_for_point",
           "decode_torch"]
