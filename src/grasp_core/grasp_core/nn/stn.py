"""Spatial-transformer building blocks shared by GQ-STN and the multi-stage STN detector.

A spatial transformer (Jaderberg et al., "Spatial Transformer Networks", NeurIPS 2015)
has a localisation network that predicts an affine matrix Λ (2 × 3), a grid generator
(:func:`torch.nn.functional.affine_grid`) and a sampler (:func:`torch.nn.functional.grid_sample`).
This module holds what both founding STN papers need, once:

* Λ constructors (:func:`translation`, :func:`rotation`, :func:`scale`, :func:`scale_xy`),
  composition and inversion of affine maps (:func:`compose`, :func:`invert`), and the warp
  (:func:`warp`);
* the output parameterisations of GQ-STN (Gariépy et al., "GQ-STN: Optimizing One-Shot
  Grasp Detection based on Robustness Classifier", IROS 2019, §IV-B) with their inverses,
  which give the localisation targets from a ground-truth grasp;
* conversions between pixel and normalised coordinates, so a point of any stage's output
  image maps back exactly to the full image (:func:`to_source`, :func:`pixels_to_normalised`,
  :func:`normalised_to_pixels`);
* a small ResNet localisation network (:class:`ResNetLocalisation`, He et al., CVPR 2016,
  basic blocks) whose depth and width are parameters (ResNet-18/34 layouts or smaller).

Conventions (those of ``affine_grid`` with ``align_corners=False``):

* Normalised coordinates: x to the right, y down, both in [−1, 1] across the image; pixel
  centre u (0 … W−1) is at x = (2u + 1)/W − 1.
* Λ maps a point of the **output** image to the point of the **input** image it samples:
  ``p_in = Λ · [x_out, y_out, 1]ᵀ``. A translation Λ = [[1, 0, x], [0, 1, y]] therefore
  moves the view's centre to (x, y) of the input; a scale s < 1 zooms in (the output covers
  a fraction s of the input's extent); a rotation Λ_rot(θ) samples along axes turned by θ
  from the input's (in the y-down image: the output's x axis is the input's direction
  (cos θ, sin θ), i.e. θ clockwise on screen), so a grasp at angle θ comes out horizontal.
* For a cascade ``I₂ = warp(I₁, Λ₁)``, ``I₃ = warp(I₂, Λ₂)`` a point of I₃ is at
  ``compose(Λ₁, Λ₂) · p`` in I₁.

Tensors: Λ is (B, 2, 3) float32; images (B, C, H, W). Rotation and isotropic scale are
geometric (angle- and length-preserving) only on square images, as both papers use.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _batch(v, like: torch.Tensor | None = None) -> torch.Tensor:
    t = torch.as_tensor(v, dtype=torch.float32 if like is None else like.dtype,
                        device=None if like is None else like.device)
    return t.reshape(-1)


def translation(x, y) -> torch.Tensor:
    """Λ_trans = [[1, 0, x], [0, 1, y]] (GQ-STN §IV-A); x, y (B,) normalised offsets. Returns (B, 2, 3)."""
    x = _batch(x)
    y = _batch(y, x)
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    return torch.stack([torch.stack([one, zero, x], -1), torch.stack([zero, one, y], -1)], -2)


def rotation(theta) -> torch.Tensor:
    """Λ_rot = [[cos θ, −sin θ, 0], [sin θ, cos θ, 0]] (GQ-STN §IV-A); θ (B,) rad. Returns (B, 2, 3)."""
    t = _batch(theta)
    c, s, zero = torch.cos(t), torch.sin(t), torch.zeros_like(t)
    return torch.stack([torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1)], -2)


def scale(s) -> torch.Tensor:
    """Λ_scale = [[s, 0, 0], [0, s, 0]] (GQ-STN §IV-A), isotropic; s (B,) > 0. Returns (B, 2, 3)."""
    s = _batch(s)
    return scale_xy(s, s)


def scale_xy(sx, sy, tx=0.0, ty=0.0) -> torch.Tensor:
    """Anisotropic scale with a translation: [[s_x, 0, t_x], [0, s_y, t_y]] (B, 2, 3).

    The crop of Park & Chun's STN_scale,crop (width, height and a fine correction δx, δy).
    """
    sx = _batch(sx)
    sy, tx, ty = (_batch(v, sx).expand_as(sx) for v in (sy, tx, ty))
    zero = torch.zeros_like(sx)
    return torch.stack([torch.stack([sx, zero, tx], -1), torch.stack([zero, sy, ty], -1)], -2)


def _h(a: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3) → homogeneous (B, 3, 3)."""
    row = torch.zeros_like(a[:, :1, :])
    row[:, 0, 2] = 1.0
    return torch.cat([a, row], 1)


def compose(*mats: torch.Tensor) -> torch.Tensor:
    """Affine map of a cascade: ``compose(Λ₁, Λ₂, …)`` takes a point of the last output to the first input.

    Args: (B, 2, 3) each, in the order the warps are applied. Returns (B, 2, 3).
    """
    out = _h(mats[0])
    for m in mats[1:]:
        out = out @ _h(m)
    return out[:, :2, :]


def invert(a: torch.Tensor) -> torch.Tensor:
    """Inverse affine map (B, 2, 3). Raises ``torch.linalg.LinAlgError`` when singular."""
    return torch.linalg.inv(_h(a))[:, :2, :]


def warp(image: torch.Tensor, theta: torch.Tensor, size: tuple[int, int] | None = None,
         padding_mode: str = "border") -> torch.Tensor:
    """Sample ``image`` (B, C, H, W) with Λ ``theta`` (B, 2, 3) onto an (h, w) grid (default: H, W).

    Bilinear, ``align_corners=False``. ``padding_mode="border"`` repeats the edge (depth images:
    outside the view is the table, not 0 m); ``"zeros"`` for masks. Exports to ONNX with
    opset ≥ 20 (AffineGrid; GridSample since 16); ONNX Runtime 1.31 matches PyTorch to 3e-5.
    """
    b, c, h, w = image.shape
    oh, ow = size if size is not None else (h, w)
    grid = F.affine_grid(theta, [b, c, oh, ow], align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def to_source(theta: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Points (B, N, 2) in an output's normalised coordinates → the input's, through Λ (B, 2, 3)."""
    return points @ theta[:, :, :2].transpose(1, 2) + theta[:, :, 2].unsqueeze(1)


def pixels_to_normalised(uv: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Pixel centres (…, 2) as (u, v) → normalised (x, y) of an image W × H: x = (2u + 1)/W − 1."""
    size = torch.tensor([width, height], dtype=uv.dtype, device=uv.device)
    return (2.0 * uv + 1.0) / size - 1.0


def normalised_to_pixels(xy: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Inverse of :func:`pixels_to_normalised`: u = ((x + 1)·W − 1)/2."""
    size = torch.tensor([width, height], dtype=xy.dtype, device=xy.device)
    return ((xy + 1.0) * size - 1.0) / 2.0


# --- GQ-STN's output parameterisations (Gariépy et al. 2019, §IV-B) and their inverses ---------------

def gqstn_translation(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x = σ(w_x) − 0.5, y = σ(w_y) − 0.5 from raw outputs w (B, 2). Returns x, y (B,), in (−0.5, 0.5)."""
    t = torch.sigmoid(w) - 0.5
    return t[:, 0], t[:, 1]


def gqstn_translation_inverse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Raw (w_x, w_y) (B, 2) that give x, y ∈ (−0.5, 0.5): w = logit(x + 0.5). Raises ValueError outside."""
    t = torch.stack([_batch(x), _batch(y)], -1) + 0.5
    if torch.any((t <= 0) | (t >= 1)):
        raise ValueError("GQ-STN translation outside (-0.5, 0.5) cannot be represented")
    return torch.logit(t)


def gqstn_rotation(w: torch.Tensor, signed: bool = True) -> torch.Tensor:
    """θ = atan2(α, β)/2 from raw outputs w (B, 2) = (w_α, w_β). Returns θ (B,) rad.

    The paper prints α = σ(w_α), β = σ(w_β) and calls α, β "the sine and cosine of twice the
    angle" (after Redmon & Angelova 2015). Sigmoids keep both positive, which confines θ to
    (0, π/4) — a quarter of the grasp angles. ``signed=False`` is the printed form;
    ``signed=True`` (default) uses α = 2σ(w_α) − 1, β = 2σ(w_β) − 1 (= tanh(w/2)), which covers
    θ ∈ (−π/2, π/2] as sine and cosine of 2θ must.
    """
    a = torch.sigmoid(w)
    if signed:
        a = 2.0 * a - 1.0
    return torch.atan2(a[:, 0], a[:, 1]) / 2.0


def gqstn_rotation_inverse(theta: torch.Tensor, signed: bool = True, radius: float = 0.5) -> torch.Tensor:
    """Raw (w_α, w_β) (B, 2) that give θ under :func:`gqstn_rotation`.

    The parameterisation fixes only the direction of (α, β); this picks (α, β) = r·(sin 2θ, cos 2θ)
    with r = ``radius`` ∈ (0, 1). Unsigned (the printed form) it is defined for θ ∈ (0, π/4) only;
    raises ValueError outside.
    """
    t = _batch(theta)
    if signed:
        ab = radius * torch.stack([torch.sin(2 * t), torch.cos(2 * t)], -1)
        return torch.logit((ab + 1.0) / 2.0)
    if torch.any((t <= 0) | (t >= math.pi / 4)):
        raise ValueError("the printed GQ-STN rotation (sigmoid α, β) covers only θ in (0, π/4)")
    ab = radius * torch.stack([torch.sin(2 * t), torch.cos(2 * t)], -1)
    return torch.logit(ab)


def gqstn_scale(w: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """s = γ·e^{w_s}, z = w_z from raw outputs w (B, 2); γ the training set's mean scale. Returns s, z (B,)."""
    return gamma * torch.exp(w[:, 0]), w[:, 1]


def gqstn_scale_inverse(s: torch.Tensor, z: torch.Tensor, gamma: float) -> torch.Tensor:
    """Raw (w_s, w_z) (B, 2): w_s = log(s/γ), w_z = z. Raises ValueError for s ≤ 0."""
    s = _batch(s)
    if torch.any(s <= 0):
        raise ValueError("scale must be positive")
    return torch.stack([torch.log(s / gamma), _batch(z, s)], -1)


# --- localisation network -----------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """ResNet basic block (He et al., CVPR 2016, Fig. 2): two 3×3 conv + BN, identity or 1×1 projection."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


#: Blocks per stage of ResNet-18 and ResNet-34 (He et al. 2016, Table 1).
RESNET_LAYOUTS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


class ResNetLocalisation(nn.Module):
    """ResNet localisation network: image (B, C, H, W) → raw outputs w (B, n_out).

    Stem 7×7/2 conv + BN + ReLU + 3×3/2 max-pool, four stages of :class:`BasicBlock` (the first
    at stride 1, the others 2), global average pooling (``pool=1``, He et al.) or average pooling to a
    ``pool × pool`` grid, flattened (keeps where features are: a localisation net that must say *where*
    the grasp is, or what lies at the image centre among several objects, needs it), one linear layer.
    ``blocks=(3, 4, 6, 3)`` and ``width=64`` is ResNet-34 (GQ-STN's choice), ``(2, 2, 2, 2)``/64
    ResNet-18; smaller widths train on a CPU. The final layer starts at zero weight and ``bias``
    (default 0), so an untrained transformer outputs a chosen Λ (e.g. identity) — Jaderberg et al.'s
    initialisation.
    """

    def __init__(self, in_channels: int, n_out: int, blocks=(2, 2, 2, 2), width: int = 16,
                 bias: torch.Tensor | None = None, pool: int = 1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], width
        for i, n in enumerate(blocks):
            cout = width * 2 ** i
            for j in range(n):
                layers.append(BasicBlock(cin, cout, 2 if (j == 0 and i > 0) else 1))
                cin = cout
        self.stages = nn.Sequential(*layers)
        self.pool = int(pool)
        self.fc = nn.Linear(cin * self.pool ** 2, n_out)
        nn.init.zeros_(self.fc.weight)
        with torch.no_grad():
            self.fc.bias.copy_(torch.zeros(n_out) if bias is None else torch.as_tensor(bias, dtype=torch.float32))

    def forward(self, x):
        y = self.stages(self.stem(x))
        return self.fc(torch.flatten(grid_pool(y, self.pool), 1))


def grid_pool(y: torch.Tensor, n: int) -> torch.Tensor:
    """Average pooling of (B, C, H, W) to (B, C, n, n) with ``adaptive_avg_pool2d``'s windows (cell i spans
    rows ⌊iH/n⌋ … ⌈(i+1)H/n⌉ − 1), written with slices so that it exports to ONNX for any H (the
    exporter refuses adaptive pooling to a size that does not divide the input)."""
    if n == 1:
        return y.mean((2, 3), keepdim=True)
    h, w = int(y.shape[-2]), int(y.shape[-1])
    rows = [(i * h // n, -(-(i + 1) * h // n)) for i in range(n)]
    cols = [(j * w // n, -(-(j + 1) * w // n)) for j in range(n)]
    cells = [torch.stack([y[:, :, a:b, c:d].mean((2, 3)) for c, d in cols], -1) for a, b in rows]
    return torch.stack(cells, -2)
