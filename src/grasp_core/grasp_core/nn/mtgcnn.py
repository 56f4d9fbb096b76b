"""MTG-CNN: the multi-task GG-CNN of Prew et al. (ICPR 2020), and the builder of every trainable network.

Source: Prew, Breckon, Bordewich, Beierholm, "Improving Robotic Grasping on
Monocular Images Via Multi-Task Learning and Positional Loss", ICPR 2020
(arXiv:2011.02888), §III-B. MTG-CNN is GG-CNN (Morrison et al., RSS 2018)
with its first half shared and its second half duplicated:

* shared encoder (GG-CNN's first half): conv 9×9/32 stride 3, 5×5/16 stride 2,
  3×3/8 stride 2, ReLU;
* grasp branch (GG-CNN's second half): transposed conv 3×3/8 s2, 5×5/16 s2,
  9×9/32 s3, ReLU, and the four 1×1 output layers ``pos``, ``cos``, ``sin``,
  ``width``;
* auxiliary branch: the same decoder with one 1×1 output layer ``aux``:
  reconstructed depth (``aux="depth"``, target: the normalised perfect depth of
  the crop, ``mean_clip`` as the detector's depth input) or saliency
  (``aux="saliency"``, target: the object mask, 1 on objects, 0 elsewhere).

Input N×C×H×W float32, C = 3 (RGB, ``mean_unit``), 4 (RGB-D, channel order
[depth, R, G, B]) or 1 (depth). ``forward`` returns (pos, cos, sin, width,
aux), each N×1×H×W; :class:`GraspBranch` wraps a trained model so it returns
the four grasp maps only (what is exported: the auxiliary branch is a training
signal, the detector never needs it).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .ggcnn import GGCNN, GGCNN2

MODALITY_CHANNELS = {"depth": 1, "rgb": 3, "rgbd": 4}
AUX_TASKS = ("none", "depth", "saliency")


class MTGCNN(nn.Module):
    """MTG-CNN (Prew et al. 2020, §III-B): shared GG-CNN encoder, grasp decoder, auxiliary decoder.

    Args:
        in_channels: C of the N×C×H×W input (3 for RGB, as in the paper).

    ``forward(x)`` returns (pos, cos, sin, width, aux), each N×1×H×W float32.
    """

    def __init__(self, in_channels: int = 3):
        super().__init__()
        grasp, aux = GGCNN(in_channels), GGCNN(in_channels)  # the layers are GG-CNN's own
        self.enc = grasp.enc
        self.grasp_dec = grasp.dec
        self.heads = grasp.heads
        self.aux_dec = aux.dec
        self.aux = nn.Conv2d(32, 1, 1)

    @staticmethod
    def _fit(y, h, w):
        return y if y.shape[-2:] == (h, w) else F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)

    def forward(self, x):
        h, w = x.shape[-2:]
        z = self.enc(x)
        pos, cos, sin, width = self.heads(self._fit(self.grasp_dec(z), h, w))
        aux = self.aux(self._fit(self.aux_dec(z), h, w))
        return pos, cos, sin, width, aux


class GraspBranch(nn.Module):
    """A model whose forward returns (pos, cos, sin, width[, ...]) reduced to the four grasp maps."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return tuple(self.net(x)[:4])


ARCH_NAMES = {
    "ggcnn": "GG-CNN (Morrison et al., RSS 2018)",
    "ggcnn2": "GG-CNN2 (Morrison et al., IJRR 2020)",
    "mtgcnn": "MTG-CNN (Prew et al., ICPR 2020)",
}


def build_model(arch: str, modality: str = "depth", aux: str = "none") -> nn.Module:
    """Build ``ggcnn``, ``ggcnn2`` or ``mtgcnn`` for an input modality.

    Args:
        arch: network name.
        modality: ``depth`` (1 channel), ``rgb`` (3) or ``rgbd`` (4).
        aux: ``none``, ``depth`` or ``saliency``; MTG-CNN needs one, the others take none.

    Raises:
        ValueError: unknown name/modality/aux, or an aux task on a single-task network
        (or none on MTG-CNN).
    """
    if modality not in MODALITY_CHANNELS:
        raise ValueError(f"unknown modality {modality!r}; expected one of {sorted(MODALITY_CHANNELS)}")
    if aux not in AUX_TASKS:
        raise ValueError(f"unknown auxiliary task {aux!r}; expected one of {AUX_TASKS}")
    c = MODALITY_CHANNELS[modality]
    if arch == "mtgcnn":
        if aux == "none":
            raise ValueError("mtgcnn needs an auxiliary task (depth or saliency)")
        return MTGCNN(c)
    if aux != "none":
        raise ValueError(f"{arch} has no auxiliary branch; use --arch mtgcnn for aux={aux}")
    if arch == "ggcnn":
        return GGCNN(c)
    if arch == "ggcnn2":
        return GGCNN2(in_channels=c)
    raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCH_NAMES)}")
