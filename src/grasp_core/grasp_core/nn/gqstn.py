"""GQ-STN: one-shot grasp detection through a cascade of spatial transformers into a frozen GQ-CNN, and its
one-shot baselines DirectGrasp and MultiGrasp.

Source: Gariépy, Ruel, Chaib-draa and Giguère, "GQ-STN: Optimizing One-Shot Grasp Detection based on
Robustness Classifier", IROS 2019, §IV (Fig. 3, 4; the Λ matrices of §IV-A and the output
parameterisations of §IV-B) and §V (the baselines, after Redmon & Angelova, ICRA 2015).

Cascade on one (B, 1, S, S) depth image in metres (S = ``input_size`` = 224, the paper's input):

1. **STN_trans** (:class:`STNTrans`): a ResNet localisation network on the input gives (w_x, w_y);
   x = σ(w_x) − 0.5, y = σ(w_y) − 0.5 (the grasp centre, normalised, within the middle half of the
   image); Λ_trans = [[1, 0, x], [0, 1, y]]; image I_trans = warp(I, Λ_trans), S × S.
2. **STN_rot** (:class:`STNRot`): a ResNet on I_trans gives (w_α, w_β); α = σ(w_α), β = σ(w_β),
   θ = atan2(α, β)/2, Λ_rot = rotation(θ); I_rot = warp(I, Λ_trans·Λ_rot), S × S: the grasp's
   closing line horizontal (the grasp angle Φ of :mod:`grasp_core.grasp` is −θ).
3. **STN_scale** (:class:`STNScale`): a ResNet on I_rot gives (w_s, w_z); s = γ·e^{w_s} (γ the mean
   scale of the training set), z = w_z (the gripper depth, normalised as the classifier's pose input:
   depth of the fingertips below the surface at the centre = pose_mean + pose_std·z, m);
   Λ_scale = [[s, 0, 0], [0, s, 0]]; I_scale = warp(I, Λ_trans·Λ_rot·Λ_scale), 32 × 32.
4. The frozen robustness classifier (:class:`grasp_core.nn.gqcnn.GQCNN`) on I_scale and z gives
   P(robust) (column 1 of its softmax).

Every warp samples the *input* through the composed map (:func:`grasp_core.nn.stn.compose`), so the
intermediate images are not resampled twice and a point of any of them maps back to input pixels
exactly; all three images are outputs (the paper's "fully observable" intermediate depth images).
With ``teacher`` Λs (:meth:`GQSTN.forward`, training with ξ > 0, §IV-C) STN_rot sees
warp(I, Λ_trans^gt) and STN_scale warp(I, Λ_trans^gt·Λ_rot^gt) instead.

Rotation parameterisation (``rotation``): ``"printed"`` is §IV-B exactly as printed, α = σ(w_α),
β = σ(w_β) — both in (0, 1), so θ = atan2(α, β)/2 reaches only **θ ∈ (0, π/4)** (grasp angles
Φ ∈ (−π/4, 0), a quarter of the half-turn a parallel jaw needs), although the paper calls α and β the
sine and cosine of 2θ; ``"signed"`` uses α = 2σ(w_α) − 1, β = 2σ(w_β) − 1, which reaches
θ ∈ (−π/2, π/2) (every jaw direction). :func:`grasp_core.nn.stn.gqstn_rotation` computes both.

Scale semantics here: the classifier ``gqcnn_synth`` was trained on crops of 0.128 m at the grasp's
depth (:mod:`grasp_core.datasets.robustness`), so the ground-truth s of a grasp is the scale at which
the 32-px output covers 0.128 m: s = 0.128 m · (fx / d) / crop_px (d the centre depth, crop_px the
source pixels the S-px input spans); the paper's opening w = s/3 (§V-B, Dex-Net's convention) is kept
for the rectangle metric: opening = s·crop_px/3 source px.

Localisation networks see (image − mean of the input image) / ``loc_scale`` (the mean over the whole
input, so one image's three localisation nets share the reference depth); the warps carry metres.
Classifier input (:mod:`grasp_core.datasets.robustness`): (I_scale − d_c) / 0.05 m with d_c the mean of
I_scale's four centre pixels, and pose = pose_mean + pose_std·z (m).

Baselines (§V; ResNet feature extractors as the paper, after Kumra & Kanan):

* :class:`DirectGrasp`: one regression of (x, y, sin 2θ, cos 2θ, w_s, w_z) per image.
* :class:`MultiGrasp`: Redmon & Angelova's grid: on a G × G grid of the image (G = S/32 = 7), each cell
  a logit of "this cell holds the grasp" and a rectangle (δx, δy within the cell, sin 2θ, cos 2θ, w_s,
  w_z); the cell with the highest probability is the answer.

Tensors float32; Λ (B, 2, 3); normalised coordinates of :mod:`grasp_core.nn.stn` (x right, y down,
[−1, 1] across the image, ``align_corners=False``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import stn
from .gqcnn import GQCNN

#: Metres the classifier's 32-px crop covers and its image scale (grasp_core.datasets.robustness).
CROP_SIDE_M, IMAGE_SCALE_M, CROP_PX = 0.128, 0.05, 32
#: Names of the exported model's outputs (:mod:`grasp_core.nn.gqstn_onnx`).
OUTPUT_NAMES = ("trans_xy", "theta", "scale_z", "p_robust", "image_trans", "image_rot", "image_scale")


@dataclass
class GQSTNConfig:
    """Sizes and constants of GQ-STN (module docstring).

    Attributes:
        input_size: S, side of the square depth input, px (paper: 224).
        crop_size: source pixels the input spans (the detector's centre crop, resized to S).
        blocks, width: ResNet layout of each localisation network (paper: ResNet-34 = (3, 4, 6, 3), 64).
        rotation: ``"printed"`` or ``"signed"`` (module docstring).
        gamma: γ, the training set's mean scale s.
        pose_mean, pose_std: the classifier's pose normalisation (m), z = (pose − mean)/std.
        loc_scale: depth scale of the localisation nets' input, m.
        loc_pool: the localisation nets' final pooling grid (1: global average pooling, as ResNet-34;
            4: a 4 × 4 grid, so they see where things are — our scenes hold 1–4 objects, Dex-Net's one).
    """

    input_size: int = 224
    crop_size: int = 300
    blocks: tuple = (1, 1, 1, 1)
    width: int = 8
    rotation: str = "printed"
    gamma: float = 0.3
    pose_mean: float = 0.0216
    pose_std: float = 0.0112
    loc_scale: float = 0.1
    loc_pool: int = 1

    def to_dict(self) -> dict:
        d = asdict(self)
        d["blocks"] = list(self.blocks)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GQSTNConfig:
        names = cls.__dataclass_fields__
        out = cls(**{k: v for k, v in d.items() if k in names})
        out.blocks = tuple(out.blocks)
        return out


def _loc_input(image: torch.Tensor, ref: torch.Tensor, scale: float) -> torch.Tensor:
    return (image - ref) / scale


class STNTrans(nn.Module):
    """STN_trans (GQ-STN §IV-A/B): image (B, 1, S, S) → raw (w_x, w_y), (x, y) and Λ_trans.

    x = σ(w_x) − 0.5, y = σ(w_y) − 0.5 ∈ (−0.5, 0.5) (:func:`grasp_core.nn.stn.gqstn_translation`);
    Λ_trans = [[1, 0, x], [0, 1, y]] (:func:`grasp_core.nn.stn.translation`). An untrained block
    outputs the identity (w = 0).
    """

    def __init__(self, blocks=(1, 1, 1, 1), width: int = 8, pool: int = 1):
        super().__init__()
        self.loc = stn.ResNetLocalisation(1, 2, blocks, width, pool=pool)

    @staticmethod
    def params(w: torch.Tensor) -> torch.Tensor:
        """(x, y) (B, 2) of raw outputs (B, 2)."""
        x, y = stn.gqstn_translation(w)
        return torch.stack([x, y], -1)

    @staticmethod
    def affine(xy: torch.Tensor) -> torch.Tensor:
        """Λ_trans (B, 2, 3) of (x, y) (B, 2)."""
        return stn.translation(xy[:, 0], xy[:, 1])

    def forward(self, loc_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(raw w (B, 2), (x, y) (B, 2), Λ (B, 2, 3)) of the localisation input (B, 1, S, S)."""
        w = self.loc(loc_in)
        xy = self.params(w)
        return w, xy, self.affine(xy)


class STNRot(nn.Module):
    """STN_rot (GQ-STN §IV-A/B): image → raw (w_α, w_β), θ (rad) and Λ_rot = rotation(θ).

    ``rotation="printed"``: α = σ(w_α), β = σ(w_β), θ = atan2(α, β)/2 ∈ (0, π/4) only (the formula as
    printed; module docstring); ``"signed"``: α, β = 2σ(w) − 1, θ ∈ (−π/2, π/2).
    An untrained block outputs w = 0: θ = π/8 (printed) or θ = atan2(0, 0)/2 = 0 (signed).
    """

    def __init__(self, blocks=(1, 1, 1, 1), width: int = 8, rotation: str = "printed", pool: int = 1):
        super().__init__()
        if rotation not in ("printed", "signed"):
            raise ValueError(f"rotation must be 'printed' or 'signed', got {rotation!r}")
        self.signed = rotation == "signed"
        # signed: start at (α, β) = (0, 0.46) → θ = 0 (atan2(0, 0) is not differentiable)
        bias = torch.tensor([0.0, 1.0]) if self.signed else None
        self.loc = stn.ResNetLocalisation(1, 2, blocks, width, bias=bias, pool=pool)

    def alpha_beta(self, w: torch.Tensor) -> torch.Tensor:
        """(α, β) (B, 2) of raw outputs (B, 2): σ(w), or 2σ(w) − 1 when signed."""
        a = torch.sigmoid(w)
        return 2.0 * a - 1.0 if self.signed else a

    def params(self, w: torch.Tensor) -> torch.Tensor:
        """θ (B,) rad of raw outputs (B, 2) (:func:`grasp_core.nn.stn.gqstn_rotation`)."""
        return stn.gqstn_rotation(w, signed=self.signed)

    @staticmethod
    def affine(theta: torch.Tensor) -> torch.Tensor:
        """Λ_rot (B, 2, 3) of θ (B,) rad."""
        return stn.rotation(theta)

    def forward(self, loc_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(raw w (B, 2), θ (B,), Λ (B, 2, 3))."""
        w = self.loc(loc_in)
        theta = self.params(w)
        return w, theta, self.affine(theta)


class STNScale(nn.Module):
    """STN_scale (GQ-STN §IV-A/B): image → raw (w_s, w_z), (s, z) and Λ_scale = [[s, 0, 0], [0, s, 0]].

    s = γ·e^{w_s}, z = w_z (:func:`grasp_core.nn.stn.gqstn_scale`). An untrained block outputs s = γ, z = 0.
    """

    def __init__(self, blocks=(1, 1, 1, 1), width: int = 8, gamma: float = 0.3, pool: int = 1):
        super().__init__()
        self.gamma = float(gamma)
        self.loc = stn.ResNetLocalisation(1, 2, blocks, width, pool=pool)

    def params(self, w: torch.Tensor) -> torch.Tensor:
        """(s, z) (B, 2) of raw outputs (B, 2)."""
        s, z = stn.gqstn_scale(w, self.gamma)
        return torch.stack([s, z], -1)

    @staticmethod
    def affine(sz: torch.Tensor) -> torch.Tensor:
        """Λ_scale (B, 2, 3) of (s, z) (B, 2)."""
        return stn.scale(sz[:, 0])

    def forward(self, loc_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(raw w (B, 2), (s, z) (B, 2), Λ (B, 2, 3))."""
        w = self.loc(loc_in)
        sz = self.params(w)
        return w, sz, self.affine(sz)


def classifier_inputs(image_scale: torch.Tensor, z: torch.Tensor, pose_mean: float,
                      pose_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The robustness classifier's (crop, pose) of STN_scale's output (module docstring).

    Args:
        image_scale: (B, 1, 32, 32) depth, m. z: (B,) normalised gripper depth.
    Returns:
        crop (B, 1, 32, 32) = (image − d_c)/0.05 m, d_c the mean of the four centre pixels;
        pose (B, 1) = pose_mean + pose_std·z, m below the surface.
    """
    c = CROP_PX // 2
    dc = image_scale[:, :, c - 1:c + 1, c - 1:c + 1].mean((2, 3), keepdim=True)
    return (image_scale - dc) / IMAGE_SCALE_M, (pose_mean + pose_std * z).reshape(-1, 1)


@dataclass
class GQSTNOutput:
    """One batch through GQ-STN: raw localisation outputs, parameters, Λs and every image.

    w_trans, w_rot, w_scale (B, 2) raw; xy (B, 2); theta (B,) rad; sz (B, 2) = (s, z);
    lam_trans, lam_rot, lam_scale (B, 2, 3) (the stage's own Λ, not composed);
    image_trans, image_rot (B, 1, S, S) m; image_scale (B, 1, 32, 32) m; p_robust (B,).
    """

    w_trans: torch.Tensor
    w_rot: torch.Tensor
    w_scale: torch.Tensor
    xy: torch.Tensor
    theta: torch.Tensor
    sz: torch.Tensor
    lam_trans: torch.Tensor
    lam_rot: torch.Tensor
    lam_scale: torch.Tensor
    image_trans: torch.Tensor
    image_rot: torch.Tensor
    image_scale: torch.Tensor
    p_robust: torch.Tensor
    extra: dict = field(default_factory=dict)


class GQSTN(nn.Module):
    """The GQ-STN cascade (module docstring) with a frozen robustness classifier.

    Args:
        cfg: :class:`GQSTNConfig`.
        classifier: the trained :class:`GQCNN` (frozen here: ``requires_grad`` off, kept in eval mode);
            None → an untrained one (for shape tests only).
    """

    def __init__(self, cfg: GQSTNConfig | None = None, classifier: GQCNN | None = None):
        super().__init__()
        self.cfg = cfg or GQSTNConfig()
        c = self.cfg
        self.trans = STNTrans(c.blocks, c.width, c.loc_pool)
        self.rot = STNRot(c.blocks, c.width, c.rotation, c.loc_pool)
        self.scale = STNScale(c.blocks, c.width, c.gamma, c.loc_pool)
        self.classifier = classifier if classifier is not None else GQCNN(fc_width=256, pool2=True)
        for p in self.classifier.parameters():
            p.requires_grad_(False)
        self.classifier.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.classifier.eval()
        return self

    def stns(self) -> list[nn.Module]:
        return [self.trans, self.rot, self.scale]

    def run(self, depth: torch.Tensor, teacher: tuple[torch.Tensor, torch.Tensor] | None = None) -> GQSTNOutput:
        """The cascade on depth (B, 1, S, S) float32 metres (holes filled).

        Args:
            teacher: (Λ_trans^gt, Λ_rot^gt) (B, 2, 3) each: teacher forcing (§IV-C) — STN_rot sees
                warp(I, Λ_trans^gt) and STN_scale warp(I, Λ_trans^gt·Λ_rot^gt); the returned images and
                P(robust) are then those of the ground-truth translation and rotation with the predicted
                scale. None: the network's own Λs throughout.
        Raises:
            ValueError: depth not (B, 1, S, S).
        """
        c = self.cfg
        if depth.dim() != 4 or depth.shape[1] != 1 or depth.shape[2] != c.input_size or depth.shape[3] != c.input_size:
            raise ValueError(f"depth must be (B, 1, {c.input_size}, {c.input_size}), got {tuple(depth.shape)}")
        ref = depth.mean((1, 2, 3), keepdim=True)
        w_t, xy, lam_t = self.trans(_loc_input(depth, ref, c.loc_scale))
        use_t = lam_t if teacher is None else teacher[0]
        img_t = stn.warp(depth, use_t)
        w_r, theta, lam_r = self.rot(_loc_input(img_t, ref, c.loc_scale))
        use_tr = stn.compose(use_t, lam_r if teacher is None else teacher[1])
        img_r = stn.warp(depth, use_tr)
        w_s, sz, lam_s = self.scale(_loc_input(img_r, ref, c.loc_scale))
        img_s = stn.warp(depth, stn.compose(use_tr, lam_s), (CROP_PX, CROP_PX))
        crop, pose = classifier_inputs(img_s, sz[:, 1], c.pose_mean, c.pose_std)
        p = self.classifier(crop, pose)[:, 1]
        return GQSTNOutput(w_t, w_r, w_s, xy, theta, sz, lam_t, lam_r, lam_s, img_t, img_r, img_s, p)

    def forward(self, depth: torch.Tensor):
        """The exported graph: depth (B, 1, S, S) m → ``OUTPUT_NAMES`` in order: trans_xy (B, 2),
        theta (B,) rad, scale_z (B, 2) = (s, z), p_robust (B,), image_trans (B, 1, S, S),
        image_rot (B, 1, S, S), image_scale (B, 1, 32, 32) (m)."""
        o = self.run(depth)
        return o.xy, o.theta, o.sz, o.p_robust, o.image_trans, o.image_rot, o.image_scale


# --- ground truth ------------------------------------------------------------------------------------

def target_scale(fx: float, centre_depth: float, crop_px: float) -> float:
    """Ground-truth s: the 32-px output covers 0.128 m at the centre depth: s = 0.128·(fx/d)/crop_px.

    Args: fx px, centre_depth m (> 0), crop_px source px spanned by the input. Raises ValueError for d ≤ 0.
    """
    if not centre_depth > 0:
        raise ValueError(f"centre depth must be positive, got {centre_depth}")
    return CROP_SIDE_M * fx / centre_depth / crop_px


@dataclass
class GraspTarget:
    """One ground-truth grasp as GQ-STN's targets: x, y normalised (within ±0.5), θ = −Φ rad, s, z normalised."""

    x: float
    y: float
    theta: float
    s: float
    z: float


def wrap_theta(theta: float, rotation: str) -> float:
    """θ of a jaw direction in the range the parameterisation reaches best (the jaw is symmetric: θ ≡ θ + π).

    signed: (−π/2, π/2]; printed: the equivalent nearest to the reachable (0, π/4) (θ mod π, then the
    closer of θ and θ − π to π/8).
    """
    t = (theta + math.pi / 2) % math.pi - math.pi / 2
    if t <= -math.pi / 2:
        t += math.pi
    if rotation == "printed":
        alt = t - math.pi if t > 0 else t + math.pi
        t = t if abs(t - math.pi / 8) <= abs(alt - math.pi / 8) else alt
    return t


def grasp_target(u: float, v: float, phi: float, fx: float, centre_depth: float, dz: float,
                 cfg: GQSTNConfig) -> GraspTarget:
    """GQ-STN's targets of a labelled grasp (§IV-C: "target values for Λ_trans^gt, Λ_rot^gt, Λ_scale^gt").

    Args:
        u, v: centre in network px (0 … S−1). phi: Φ rad (counter-clockwise on screen, :mod:`grasp_core.grasp`).
        fx: focal length of the source image, px. centre_depth: d, m. dz: gripper depth below the surface, m.
        cfg: the configuration (S, crop_size, rotation, pose normalisation).
    Returns:
        x, y = (2u + 1)/S − 1 … clipped to ±0.49 (the reach of x = σ(w) − 0.5); θ = −Φ wrapped by
        :func:`wrap_theta`; s = :func:`target_scale`; z = (dz − pose_mean)/pose_std.
    """
    s = cfg.input_size
    x, y = (2 * u + 1) / s - 1, (2 * v + 1) / s - 1
    return GraspTarget(float(np.clip(x, -0.49, 0.49)), float(np.clip(y, -0.49, 0.49)),
                       wrap_theta(-phi, cfg.rotation), target_scale(fx, centre_depth, cfg.crop_size),
                       (dz - cfg.pose_mean) / cfg.pose_std)


def rotation_target(theta: torch.Tensor, rotation: str) -> torch.Tensor:
    """Target (α, β) (B, 2) of θ (B,): (sin 2θ, cos 2θ), the paper's reading of α, β.

    Printed form: α, β = σ(w) ∈ (0, 1), so a target with a negative component is out of reach and the
    L2 loss pulls the output to the nearest reachable point (θ at an end of (0, π/4)).
    """
    return torch.stack([torch.sin(2 * theta), torch.cos(2 * theta)], -1)


def loc_targets(t: list[GraspTarget], rotation: str) -> dict[str, torch.Tensor]:
    """Stacked targets of a batch: xy (B, 2), theta (B,), alpha_beta (B, 2), s (B,), z (B,)."""
    xy = torch.tensor([[g.x, g.y] for g in t], dtype=torch.float32)
    th = torch.tensor([g.theta for g in t], dtype=torch.float32)
    return {"xy": xy, "theta": th, "alpha_beta": rotation_target(th, rotation),
            "s": torch.tensor([g.s for g in t], dtype=torch.float32),
            "z": torch.tensor([g.z for g in t], dtype=torch.float32)}


def teacher_affines(tg: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(Λ_trans^gt, Λ_rot^gt) (B, 2, 3) of :func:`loc_targets`' output."""
    return stn.translation(tg["xy"][:, 0], tg["xy"][:, 1]), stn.rotation(tg["theta"])


def localisation_loss(net: GQSTN, o: GQSTNOutput, tg: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """L_loc (§IV-C): the L2 loss of the three localisation outputs against the ground truth.

    Sum of the mean squared errors of (x, y), (α, β) and (log(s/γ), z) — the parameters each STN
    outputs, each in units where a good prediction is ~0.1 off. Returns (loss, parts: floats ``trans``,
    ``rot``, ``scale`` and the scale term as a tensor ``scale_t``).
    """
    lt = F.mse_loss(o.xy, tg["xy"])
    lr = F.mse_loss(net.rot.alpha_beta(o.w_rot), tg["alpha_beta"])
    ls = F.mse_loss(o.w_scale[:, 0], torch.log(tg["s"] / net.cfg.gamma)) + F.mse_loss(o.w_scale[:, 1], tg["z"])
    return lt + lr + ls, {"trans": lt.item(), "rot": lr.item(), "scale": ls.item(), "scale_t": ls}


def robustness_loss(o: GQSTNOutput) -> torch.Tensor:
    """L_rob (§IV-C): cross-entropy of the frozen classifier's P(robust) against "robust": −log P."""
    return -torch.log(o.p_robust.clamp_min(1e-6)).mean()


# --- baselines ---------------------------------------------------------------------------------------

#: Regression outputs of the baselines: (x, y, sin 2θ, cos 2θ, w_s = log(s/γ), z).
N_REG = 6


def regression_target(tg: dict[str, torch.Tensor], gamma: float) -> torch.Tensor:
    """(B, 6) regression targets (x, y, sin 2θ, cos 2θ, log(s/γ), z) of :func:`loc_targets`' output."""
    th = tg["theta"]
    return torch.stack([tg["xy"][:, 0], tg["xy"][:, 1], torch.sin(2 * th), torch.cos(2 * th),
                        torch.log(tg["s"] / gamma), tg["z"]], -1)


def decode_regression_torch(r: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(xy (B, 2), θ (B,), (s, z) (B, 2)) of (B, 6) regression outputs (inverse of :func:`regression_target`)."""
    theta = 0.5 * torch.atan2(r[:, 2], r[:, 3])
    return r[:, :2], theta, torch.stack([gamma * torch.exp(r[:, 4]), r[:, 5]], -1)


class DirectGrasp(nn.Module):
    """DirectGrasp (Redmon & Angelova 2015 "direct regression"; GQ-STN §V, ResNet extractor): depth
    (B, 1, S, S) m → (B, 6) = (x, y, sin 2θ, cos 2θ, log(s/γ), z). Trained with the MSE to one
    randomly chosen positive label per image (:func:`regression_target`)."""

    def __init__(self, cfg: GQSTNConfig | None = None):
        super().__init__()
        self.cfg = cfg or GQSTNConfig()
        self.net = stn.ResNetLocalisation(1, N_REG, self.cfg.blocks, self.cfg.width,
                                          bias=torch.tensor([0, 0, 0, 1.0, 0, 0]), pool=self.cfg.loc_pool)

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        ref = depth.mean((1, 2, 3), keepdim=True)
        return self.net(_loc_input(depth, ref, self.cfg.loc_scale))


class MultiGrasp(nn.Module):
    """MultiGrasp (Redmon & Angelova 2015, §IV-C; GQ-STN §V): a G × G grid over the image, per cell a
    logit and a rectangle.

    ``forward``: depth (B, 1, S, S) m → (B, 7, G, G): channel 0 the logit that the cell holds the grasp,
    1–2 the centre within the cell (δx, δy ∈ (0, 1) after a sigmoid, from the cell's top-left corner),
    3–4 (sin 2θ, cos 2θ), 5 log(s/γ), 6 z. G = S/32 (7 for 224, as Redmon's 7 × 7). :meth:`decode`
    picks the cell with the highest logit.
    """

    def __init__(self, cfg: GQSTNConfig | None = None):
        super().__init__()
        self.cfg = cfg or GQSTNConfig()
        self.backbone = stn.ResNetLocalisation(1, 1, self.cfg.blocks, self.cfg.width)
        cout = self.cfg.width * 2 ** (len(self.cfg.blocks) - 1)
        self.head = nn.Conv2d(cout, 7, 1)
        self.grid = self.cfg.input_size // 32

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        ref = depth.mean((1, 2, 3), keepdim=True)
        f = self.backbone.stages(self.backbone.stem(_loc_input(depth, ref, self.cfg.loc_scale)))
        return self.head(F.adaptive_avg_pool2d(f, self.grid))

    def cell_targets(self, tg: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(cell index (B,) into G·G, in-cell offset (B, 2) ∈ [0, 1), regression (B, 6)) of the chosen labels."""
        g = self.grid
        pos = (tg["xy"] + 1.0) / 2.0 * g  # grid units
        ij = pos.floor().clamp(0, g - 1)
        cell = (ij[:, 1] * g + ij[:, 0]).long()
        return cell, (pos - ij).clamp(0, 1 - 1e-4), regression_target(tg, self.cfg.gamma)

    def loss(self, out: torch.Tensor, tg: dict[str, torch.Tensor]) -> torch.Tensor:
        """Redmon's loss: cross-entropy over cells (the labelled cell is the one) + MSE of that cell's rectangle."""
        b, g = out.shape[0], self.grid
        cell, off, reg = self.cell_targets(tg)
        flat = out.reshape(b, 7, g * g)
        ce = F.cross_entropy(flat[:, 0], cell)
        sel = flat[torch.arange(b), :, cell]  # (B, 7)
        mse = F.mse_loss(torch.sigmoid(sel[:, 1:3]), off) + F.mse_loss(sel[:, 3:], reg[:, 2:])
        return ce + mse

    def decode(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(xy (B, 2) normalised, θ (B,), (s, z) (B, 2), cell probability (B,)) of the best cell."""
        b, g = out.shape[0], self.grid
        flat = out.reshape(b, 7, g * g)
        prob = torch.softmax(flat[:, 0], 1)
        best = prob.argmax(1)
        sel = flat[torch.arange(b), :, best]
        ij = torch.stack([best % g, best // g], -1).to(out.dtype)
        xy = (ij + torch.sigmoid(sel[:, 1:3])) / g * 2.0 - 1.0
        r = torch.cat([xy, sel[:, 3:]], 1)
        xy, theta, sz = decode_regression_torch(r, self.cfg.gamma)
        return xy, theta, sz, prob[torch.arange(b), best]


# --- the classifier from what the repository ships -----------------------------------------------------

def gqcnn_from_onnx(path) -> GQCNN:
    """The PyTorch :class:`GQCNN` with the weights of an exported ``gqcnn`` ONNX file (``models/gqcnn_synth.onnx``).

    The file's initializers carry the state-dict names of :func:`grasp_core.nn.gqcnn.export_gqcnn`;
    the configuration (fc width, the second pool) is read from their shapes.

    Raises:
        ValueError: an initializer is missing or of another shape than the module's.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    if "fc3.weight" not in init:
        raise ValueError(f"{path}: no fc3.weight initializer (not an exported GQ-CNN)")
    fc_width, flat = init["fc3.weight"].shape
    pose_width = init["pc1.weight"].shape[0]
    net = GQCNN(fc_width=int(fc_width), pose_width=int(pose_width), pool2=int(flat) == 64 * 8 * 8)
    sd = net.state_dict()
    missing = [k for k in sd if k not in init]
    if missing:
        raise ValueError(f"{path}: initializers lack {missing}")
    for k in sd:
        a = np.asarray(init[k], np.float32).reshape(tuple(sd[k].shape)) if init[k].size == sd[k].numel() else None
        if a is None:
            raise ValueError(f"{path}: {k} has shape {init[k].shape}, the module {tuple(sd[k].shape)}")
        sd[k] = torch.from_numpy(a.copy())
    net.load_state_dict(sd)
    return net.eval()
