"""Training losses of the GG-CNN family and of MTG-CNN (PyTorch).

Source: Prew, Breckon, Bordewich, Beierholm, "Improving Robotic Grasping on
Monocular Images Via Multi-Task Learning and Positional Loss", ICPR 2020
(arXiv:2011.02888), §III-C, Eqs. 2 and 3, quoted here as printed (N = pixels per
image, the sums over the pixels of each image, θ the network's output, GT the
ground truth, A the auxiliary map):

    (2)  L   = 1/N Σ (Q_θ − Q_GT)² + 1/N Σ (Φ^cos_θ − Φ^cos_GT)² + 1/N Σ (Φ^sin_θ − Φ^sin_GT)²
               + 1/N Σ (W_θ − W_GT)² + 1/N Σ (A_θ − A_GT)²

    (3)  L_p = 1/N Σ (Q_θ − Q_GT)² + 1/N Σ (Q_GT (Φ^cos_θ − Φ^cos_GT))² + 1/N Σ (Q_GT (Φ^sin_θ − Φ^sin_GT))²
               + 1/N Σ (Q_GT (W_θ − W_GT))² + 1/N Σ (A_θ − A_GT)²

"The positional loss function L_p scales the angle and width errors by ground
truth for the quality of the grasp (Q_GT) at each position in the scene." For
GG-CNN both lose the last (auxiliary) term; L without it is GG-CNN's own loss
(Morrison et al., RSS 2018). Q_GT is inside the square and the normalisation
stays 1/N, so for Q_GT ∈ [0, 1] every term of L_p is ≤ the same term of L: L_p
drops (for fractional Q_GT, damps) the angle and width errors off the grasp
positions and never enlarges a term.

Here: Q, C, S, W are the ground-truth maps (quality in [0, 1], cos 2Φ, sin 2Φ,
width = opening px / 150), Q̂, Ĉ, Ŝ, Ŵ the network's, all B×1×H×W float32; the
mean over the batch of the per-image 1/N sums is the mean over all B·N pixels.
The auxiliary term is :func:`auxiliary_loss`, added with weight λ (1 in the
paper) by :func:`total_loss`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .ggcnn import OUTPUT_NAMES

#: Loss names: ``"l"`` (Eq. 2), ``"lp"`` (Eq. 3).
LOSSES = ("l", "lp")


def grasp_loss(pred: Sequence[torch.Tensor], target: Sequence[torch.Tensor]):
    """L (Prew et al. 2020, Eq. 2 without the auxiliary term = GG-CNN's loss): Σ over the maps of their MSE.

    L = 1/N Σ (Q̂ − Q)² + 1/N Σ (Ĉ − C)² + 1/N Σ (Ŝ − S)² + 1/N Σ (Ŵ − W)².

    Args:
        pred, target: (pos, cos, sin, width), each B×1×H×W float32.

    Returns:
        (scalar loss tensor, {"pos": float, "cos": ..., "sin": ..., "width": ...}).
    """
    parts = {k: F.mse_loss(p, t) for k, p, t in zip(OUTPUT_NAMES, pred, target, strict=True)}
    return sum(parts.values()), {k: float(v.detach()) for k, v in parts.items()}


def positional_loss(pred: Sequence[torch.Tensor], target: Sequence[torch.Tensor]):
    """L_p (Prew et al. 2020, Eq. 3): the angle and width errors scaled by Q_GT inside the square, 1/N.

    L_p = 1/N Σ (Q̂ − Q)² + 1/N Σ (Q (Ĉ − C))² + 1/N Σ (Q (Ŝ − S))² + 1/N Σ (Q (Ŵ − W))²
    (the grasp part; the module docstring quotes the equation).

    Args:
        pred, target: (pos, cos, sin, width), each B×1×H×W float32; target pos (Q_GT, in [0, 1]) scales the others.

    Returns:
        (scalar loss tensor, {"pos": float, "cos": ..., "sin": ..., "width": ...}).
    """
    q = target[0]
    parts = {"pos": F.mse_loss(pred[0], q)}
    for k, p, t in zip(OUTPUT_NAMES[1:], pred[1:], target[1:], strict=True):
        parts[k] = (q * (p - t)).pow(2).mean()
    return sum(parts.values()), {k: float(v.detach()) for k, v in parts.items()}


def auxiliary_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MTG-CNN auxiliary term (Prew et al. 2020, last term of Eqs. 2 and 3): MSE of the B×1×H×W auxiliary map."""
    return F.mse_loss(pred, target)


def total_loss(pred: Sequence[torch.Tensor], target: Sequence[torch.Tensor], loss: str = "l",
               aux_pred: torch.Tensor | None = None, aux_target: torch.Tensor | None = None,
               aux_weight: float = 1.0):
    """L or L_p, plus λ·L_aux when an auxiliary prediction is given.

    Args:
        pred, target: the four grasp maps (see :func:`grasp_loss`).
        loss: ``"l"`` (Eq. 2) or ``"lp"`` (Eq. 3).
        aux_pred, aux_target: B×1×H×W auxiliary map and its target, or None.
        aux_weight: λ.

    Returns:
        (scalar loss tensor, dict of float terms, with ``"aux"`` when used).

    Raises:
        ValueError: unknown ``loss``.
    """
    if loss == "l":
        total, parts = grasp_loss(pred, target)
    elif loss == "lp":
        total, parts = positional_loss(pred, target)
    else:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    if aux_pred is not None:
        la = auxiliary_loss(aux_pred, aux_target)
        total = total + aux_weight * la
        parts["aux"] = float(la.detach())
    return total, parts
