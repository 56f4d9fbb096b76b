"""GG-CNN and GG-CNN2 generative grasping networks, written from the papers.

Both map a normalised depth image N×1×H×W (float32, metres after
``normalise_depth(mean_clip)``) to four maps N×1×H×W at the input size:

* ``pos``: grasp quality Q (regressed, no activation);
* ``cos``, ``sin``: cos 2Φ, sin 2Φ of the grasp angle Φ;
* ``width``: gripper opening in input px divided by 150.

Sources:
* GG-CNN: Morrison, Corke, Leitner, "Closing the Loop for Robotic Grasping: A
  Real-time, Generative Grasp Synthesis Approach", RSS 2018, §IV-C, Fig. 2:
  conv 9×9/32 stride 3, 5×5/16 stride 2, 3×3/8 stride 2, then transposed
  convolutions 3×3/8 s2, 5×5/16 s2, 9×9/32 s3, and one output layer per map.
* GG-CNN2: Morrison, Corke, Leitner, "Learning robust, real-time, reactive
  robotic grasping", IJRR 2020, §5, Fig. 5: conv 11×11/16, 5×5/16, max-pool,
  5×5/32 ×2, max-pool, dilated 5×5/32 (dilation 2, 4), bilinear upsample +
  3×3/16 ×2, 1×1 output convolutions.

Any input side works: when strides do not divide it, the decoder output is
resized to the input size (exact sizes: GG-CNN multiples of 12, GG-CNN2 of 4).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

OUTPUT_NAMES = ("pos", "cos", "sin", "width")


def _he_init(net: nn.Module) -> None:
    """He initialisation (He et al., ICCV 2015, Eq. 10: std = sqrt(2 / fan_in)) of the convolutions, zero biases.

    Keeps the activations' variance through the ReLU stack. With PyTorch's default init GG-CNN2's
    outputs start near 0 and training stayed on the "predict nothing" plateau (Table I on synth_v1:
    0 % after 6 epochs in all 5 folds; with He init 69 % after 4 epochs, synth_v2 fold 0); GG-CNN on
    RGB left it sooner as well. Only affects training from scratch (the shipped weights are loaded over it).

    GG-CNN calls it before its 1×1 output heads exist (they keep PyTorch's default), GG-CNN2 after
    (the two configurations measured).
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


class _Heads(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.pos = nn.Conv2d(channels, 1, 1)
        self.cos = nn.Conv2d(channels, 1, 1)
        self.sin = nn.Conv2d(channels, 1, 1)
        self.width = nn.Conv2d(channels, 1, 1)

    def forward(self, x):
        return self.pos(x), self.cos(x), self.sin(x), self.width(x)


class GGCNN(nn.Module):
    """GG-CNN (RSS 2018). Input N×C×H×W float32 (C = ``in_channels``, 1 for depth);
    returns (pos, cos, sin, width), each N×1×H×W."""

    def __init__(self, in_channels: int = 1):
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(in_channels, 32, 9, stride=3, padding=3), nn.ReLU(inplace=True),
            nn.Conv2d(32, 16, 5, stride=2, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(16, 8, 3, stride=2, padding=1), nn.ReLU(inplace=True),
        )
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(8, 16, 5, stride=2, padding=2, output_padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(16, 32, 9, stride=3, padding=3), nn.ReLU(inplace=True),
        )
        _he_init(self)
        self.heads = _Heads(32)

    def forward(self, x):
        h, w = x.shape[-2:]
        y = self.dec(self.enc(x))
        if y.shape[-2:] != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return self.heads(y)


class GGCNN2(nn.Module):
    """GG-CNN2 (IJRR 2020). Input N×C×H×W float32 (C = ``in_channels``, 1 for depth);
    returns (pos, cos, sin, width), each N×1×H×W."""

    def __init__(self, f: tuple = (16, 16, 32, 16), in_channels: int = 1):
        super().__init__()
        f1, f2, f3, f4 = f
        r = nn.ReLU
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, f1, 11, padding=5), r(inplace=True),
            nn.Conv2d(f1, f1, 5, padding=2), r(inplace=True),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(f1, f2, 5, padding=2), r(inplace=True),
            nn.Conv2d(f2, f2, 5, padding=2), r(inplace=True),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(f2, f3, 5, dilation=2, padding=4), r(inplace=True),
            nn.Conv2d(f3, f3, 5, dilation=4, padding=8), r(inplace=True),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(f3, f4, 3, padding=1), r(inplace=True),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(f4, f4, 3, padding=1), r(inplace=True),
        )
        self.heads = _Heads(f4)
        _he_init(self)

    def forward(self, x):
        h, w = x.shape[-2:]
        y = self.features(x)
        if y.shape[-2:] != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return self.heads(y)


ARCHITECTURES = {
    "ggcnn": (GGCNN, "GG-CNN (Morrison et al., RSS 2018)"),
    "ggcnn2": (GGCNN2, "GG-CNN2 (Morrison et al., IJRR 2020)"),
}


def build(name: str) -> nn.Module:
    """Build a network by name (``ggcnn`` or ``ggcnn2``). Raises ValueError otherwise."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; expected one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name][0]()


def ggcnn_loss(pred, target):
    """GG-CNN loss: sum of the mean squared errors of the four maps (Morrison et al. 2018, Eq. 3).

    Args:
        pred, target: sequences (pos, cos, sin, width) of N×1×H×W tensors.

    Returns:
        (total loss tensor, dict of the four float losses).
    """
    parts = {k: F.mse_loss(p, t) for k, p, t in zip(OUTPUT_NAMES, pred, target, strict=True)}
    return sum(parts.values()), {k: float(v.detach()) for k, v in parts.items()}
