"""SSD-style grasp detector: VGG-style base, default boxes, (x, y, w, h, θ) per default box.

Architecture (Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016, with
the VGG-16 base of Simonyan & Zisserman 2015), as used for grasps by Yokota et al.:

* base: conv1_1, conv1_2, pool, conv2_1, conv2_2, pool, conv3_1, conv3_2, conv3_3,
  pool (ceil), conv4_1, conv4_2, conv4_3 — 3x3 convolutions + ReLU. These 10 layers
  ("1-1" … "4-3") are the candidate feature layers of the few-shot classifier.
  Widths are shrunk (default 8-8-16-16-24-24-24-32-32-32 instead of 64 … 512) to
  train on a CPU; the layer structure is VGG-16's.
* extras: pool4 → conv5 (3x3) → conv6 (3x3, stride 2) → conv7 (3x3, stride 2), giving
  source maps of 38x38 (conv4_3), 19x19 (conv5), 10x10 (conv6), 5x5 (conv7) for a
  300x300 input. SSD's 3x3 and 1x1 maps are left out: no grasp rectangle here is
  larger than ~80 px.
* heads: per source map a 3x3 conv giving, per default box, 2 class logits
  (background, grasp) and 6 box values.

Default boxes: one square box per cell of each source map, centred on the cell,
side ``s_k`` = 16, 32, 64, 128 px for the 38, 19, 10, 5 maps.

Box encoding (SSD Eq. 2 for the centre and size, θ as a doubled-angle vector so
that θ and θ + π are the same grasp)::

    t = ((u − u_d)/s_d/σ_c, (v − v_d)/s_d/σ_c, log(w/s_d)/σ_s, log(h/s_d)/σ_s, cos 2θ, sin 2θ)

with σ_c = 0.1, σ_s = 0.2 (SSD's variances); decoding inverts it,
θ = ½·atan2(sin 2θ, cos 2θ).

Matching (training): a ground-truth rectangle is assigned to the source map whose
``s_k`` is nearest to max(w, h) in log scale, and to every default box of that map
whose centre is within 0.75 cell of its centre (at least the nearest one); a box
claimed by several rectangles takes the nearest. Centre-distance matching is used
instead of SSD's Jaccard overlap because rotated grasp rectangles are thin.

Loss (SSD Eq. 1): softmax cross-entropy with hard negative mining (3 negatives per
positive) + smooth-L1 on the box values of positives, divided by the positive count.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .detector import nms  # noqa: F401  (re-exported: NMS lives in the torch-free runtime)

#: Names of the 10 candidate feature layers, in order.
LAYER_NAMES = ("1-1", "1-2", "2-1", "2-2", "3-1", "3-2", "3-3", "4-1", "4-2", "4-3")
DEFAULT_WIDTHS = (8, 8, 16, 16, 24, 24, 24, 32, 32, 32)
SOURCE_SIZES = (38, 19, 10, 5)
SOURCE_SCALES = (16.0, 32.0, 64.0, 128.0)
VAR_CENTRE, VAR_SIZE = 0.1, 0.2
INPUT_SIZE = 300


def default_boxes(input_size: int = INPUT_SIZE) -> np.ndarray:
    """(D, 4) float32 default boxes (u, v, s, map index) in network px, D = Σ n_k², map-major, row-major.

    Cell (i, j) of an n×n map is centred at ((j + 0.5)·S/n − 0.5, (i + 0.5)·S/n − 0.5) (pixel centres).
    """
    out = []
    for k, (n, s) in enumerate(zip(SOURCE_SIZES, SOURCE_SCALES, strict=True)):
        c = (np.arange(n) + 0.5) * input_size / n - 0.5
        vv, uu = np.meshgrid(c, c, indexing="ij")
        out.append(np.stack([uu.ravel(), vv.ravel(), np.full(n * n, s), np.full(n * n, k)], 1))
    return np.concatenate(out).astype(np.float32)


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution + batch normalisation (the ReLU is applied by the caller: it may be the guided one)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm2d(c_out))


class SSDGrasp(nn.Module):
    """The SSD grasp detector (see module docstring).

    Input: (N, 1, 300, 300) float32 normalised depth (:func:`grasp_core.shapes.data.normalise_depth_image`).
    Output of :meth:`forward`: (conf (N, D, 2) logits [background, grasp], loc (N, D, 6) encoded boxes).
    """

    def __init__(self, widths: tuple[int, ...] = DEFAULT_WIDTHS, in_channels: int = 1) -> None:
        super().__init__()
        if len(widths) != 10:
            raise ValueError(f"need 10 base widths (layers 1-1 … 4-3), got {len(widths)}")
        self.widths = tuple(int(w) for w in widths)
        self.in_channels = int(in_channels)
        convs, c = [], in_channels
        for w in self.widths:
            convs.append(_conv_bn(c, w))
            c = w
        self.base = nn.ModuleList(convs)
        w4 = self.widths[-1]
        self.conv5 = _conv_bn(w4, w4)
        self.conv6 = _conv_bn(w4, w4, stride=2)
        self.conv7 = _conv_bn(w4, w4, stride=2)
        self.heads = nn.ModuleList(nn.Conv2d(w4, 8, 3, padding=1) for _ in SOURCE_SIZES)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.register_buffer("priors", torch.from_numpy(default_boxes()), persistent=False)
        self.relu = torch.relu  # replaced by the guided ReLU during refinement

    #: after which base layer (index) a 2x2 max pool follows (the last one with ceil mode: 75 → 38)
    _POOL_AFTER = {1: False, 3: False, 6: True}

    def features(self, x: torch.Tensor, keep: bool = False) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Run the network up to the source maps.

        Returns:
            (sources: the 4 source maps, base: the 10 base-layer activations f (after ReLU) when ``keep``).
        """
        relu = self.relu
        base = []
        for i, conv in enumerate(self.base):
            x = relu(conv(x))
            if keep:
                base.append(x)
            if i in self._POOL_AFTER:
                x = nn.functional.max_pool2d(x, 2, 2, ceil_mode=self._POOL_AFTER[i])
        s1 = x
        x = nn.functional.max_pool2d(x, 2, 2, ceil_mode=True)  # 38 → 19
        s2 = relu(self.conv5(x))
        s3 = relu(self.conv6(s2))
        s4 = relu(self.conv7(s3))
        return [s1, s2, s3, s4], base

    def heads_out(self, sources: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        confs, locs = [], []
        for s, head in zip(sources, self.heads, strict=True):
            o = head(s).permute(0, 2, 3, 1).reshape(s.shape[0], -1, 8)
            confs.append(o[..., :2])
            locs.append(o[..., 2:])
        return torch.cat(confs, 1), torch.cat(locs, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"input must be N x C x {INPUT_SIZE} x {INPUT_SIZE}, got {tuple(x.shape)}")
        sources, _ = self.features(x)
        return self.heads_out(sources)


class SSDExport(nn.Module):
    """Wrapper for ONNX: input ``depth`` → ``scores`` (N, D) grasp probability, ``boxes`` (N, D, 5) (u, v, w, h, θ)."""

    def __init__(self, net: SSDGrasp) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        conf, loc = self.net(x)
        return torch.softmax(conf, -1)[..., 1], decode_torch(loc, self.net.priors)


def decode_torch(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """(N, D, 6) encoded → (N, D, 5) (u, v, w, h, θ) network px / rad (inverse of :func:`encode`)."""
    s = priors[:, 2]
    u = priors[:, 0] + loc[..., 0] * VAR_CENTRE * s
    v = priors[:, 1] + loc[..., 1] * VAR_CENTRE * s
    w = s * torch.exp(torch.clamp(loc[..., 2] * VAR_SIZE, max=4.0))
    h = s * torch.exp(torch.clamp(loc[..., 3] * VAR_SIZE, max=4.0))
    th = 0.5 * torch.atan2(loc[..., 5], loc[..., 4])
    return torch.stack([u, v, w, h, th], -1)


def encode(boxes: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """(M, 5) boxes (u, v, w, h, θ) matched to (M, 4) priors → (M, 6) regression targets (module docstring)."""
    s = priors[:, 2]
    return np.stack([(boxes[:, 0] - priors[:, 0]) / s / VAR_CENTRE, (boxes[:, 1] - priors[:, 1]) / s / VAR_CENTRE,
                     np.log(boxes[:, 2] / s) / VAR_SIZE, np.log(boxes[:, 3] / s) / VAR_SIZE,
                     np.cos(2 * boxes[:, 4]), np.sin(2 * boxes[:, 4])], 1).astype(np.float32)


def match(boxes: np.ndarray, priors: np.ndarray, input_size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Assign ground-truth rectangles to default boxes (module docstring).

    Args:
        boxes: (M, 5) float (u, v, w, h, θ) network px.
        priors: (D, 4) from :func:`default_boxes`.

    Returns:
        (labels (D,) int64: 1 = grasp, 0 = background; loc targets (D, 6) float32, zero for background).
    """
    d = priors.shape[0]
    labels = np.zeros(d, np.int64)
    targets = np.zeros((d, 6), np.float32)
    if len(boxes) == 0:
        return labels, targets
    scales = np.asarray(SOURCE_SCALES)
    best_dist = np.full(d, np.inf)
    owner = np.full(d, -1)
    for m, b in enumerate(boxes):
        k = int(np.argmin(np.abs(np.log(max(b[2], b[3]) / scales))))
        sel = np.nonzero(priors[:, 3] == k)[0]
        cell = input_size / SOURCE_SIZES[k]
        dist = np.hypot(priors[sel, 0] - b[0], priors[sel, 1] - b[1])
        near = sel[dist < 0.75 * cell]
        if near.size == 0:
            near = sel[[int(np.argmin(dist))]]
        dn = np.hypot(priors[near, 0] - b[0], priors[near, 1] - b[1])
        better = dn < best_dist[near]
        best_dist[near[better]] = dn[better]
        owner[near[better]] = m
    pos = owner >= 0
    labels[pos] = 1
    targets[pos] = encode(boxes[owner[pos]], priors[pos])
    return labels, targets


def multibox_loss(conf: torch.Tensor, loc: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor,
                  neg_ratio: int = 3) -> tuple[torch.Tensor, dict]:
    """SSD loss (Liu et al. 2016, Eq. 1) with hard negative mining; see module docstring.

    Args:
        conf: (N, D, 2) logits; loc: (N, D, 6); labels: (N, D) int64; targets: (N, D, 6).
    """
    ce = nn.functional.cross_entropy(conf.reshape(-1, 2), labels.reshape(-1), reduction="none").reshape(labels.shape)
    pos = labels > 0
    n_pos = pos.sum(1, keepdim=True)
    neg_ce = ce.detach().clone()
    neg_ce[pos] = 0
    rank = neg_ce.argsort(1, descending=True).argsort(1)
    neg = rank < torch.clamp(neg_ratio * n_pos, min=10)
    total = torch.clamp(n_pos.sum(), min=1).float()
    l_conf = (ce * (pos | neg)).sum() / total
    l_loc = nn.functional.smooth_l1_loss(loc[pos], targets[pos], reduction="sum") / total
    return l_conf + l_loc, {"conf": float(l_conf.detach()), "loc": float(l_loc.detach())}


def state_to_arrays(net: SSDGrasp) -> dict[str, np.ndarray]:
    """The network's parameters and buffers as plain arrays (for ``numpy.savez``; no pickle)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def load_npz(path, widths: tuple[int, ...] | None = None) -> SSDGrasp:
    """An :class:`SSDGrasp` (eval mode) from a ``.npz`` of :func:`state_to_arrays` (``allow_pickle=False``).

    The widths are read from the arrays (``base.<i>.weight`` shapes) unless given, the input
    channels (1 depth, 3 colour) always.

    Raises:
        FileNotFoundError, ValueError: missing file or arrays that do not fit.
    """
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if widths is None:
        widths = tuple(int(arrays[f"base.{i}.0.weight"].shape[0]) for i in range(10))
    net = SSDGrasp(widths, in_channels=int(arrays["base.0.0.weight"].shape[1]))
    missing = set(net.state_dict()) - set(arrays)
    if missing:
        raise ValueError(f"{path}: missing arrays {sorted(missing)[:5]}")
    net.load_state_dict({k: torch.from_numpy(arrays[k]) for k in net.state_dict()})
    return net.eval()
