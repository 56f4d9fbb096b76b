"""Training losses of the GG-CNN family and of MTG-CNN (PyTorch).

Notation: for one batch, Q, C, S, W are the ground-truth grasp maps (quality
∈ {0, 1}, cos 2Φ, sin 2Φ, width = opening px / 150), all N×1×H×W float32, and
Q̂, Ĉ, Ŝ, Ŵ the network's; P = N·H·W is the number of pixels; the sums run
over all pixels i of the batch.

* **L** — Prew, Breckon, Bordewich, Beierholm, "Improving Robotic Grasping on
  Monocular Images Via Multi-Task Learning and Positional Loss", ICPR 2020
  (arXiv:2011.02888), Eq. 2, which is GG-CNN's loss (Morrison et al., RSS 2018,
  Eq. 3): the sum over the four maps of their mean squared errors,

      L = 1/P Σ_i [(Q̂_i − Q_i)² + (Ĉ_i − C_i)² + (Ŝ_i − S_i)² + (Ŵ_i − W_i)²].

* **L_p** — the positional loss (same paper, Eq. 3). The paper's words (abstract,
  §III-C) are that it "emphasises loss per pixel for secondary parameters
  (gripper angle and width) only on points of an object where a successful
  grasp can take place". The text of the equation itself could not be
  retrieved here, so this is the reading implemented: the quality term is
  unchanged and the angle and width errors are weighted by the ground-truth
  quality Q_i (i.e. restricted to grasp pixels) and averaged over those pixels,

      L_p = 1/P Σ_i (Q̂_i − Q_i)²
            + 1/max(Σ_i Q_i, 1) · Σ_i Q_i [(Ĉ_i − C_i)² + (Ŝ_i − S_i)² + (Ŵ_i − W_i)²].

  With ``normalise="pixels"`` the second term is divided by P instead (the
  angle/width errors off the grasp positions are then simply dropped, not
  re-weighted). The default ``"positions"`` is what "emphasises" suggests: a
  grasp pixel's angle error weighs P/ΣQ times more than in L.

* **Auxiliary loss** of MTG-CNN (same paper, §III-B): mean squared error of the
  auxiliary map (reconstructed depth, or saliency = object mask in {0, 1}),
  L_aux = 1/P Σ_i (Â_i − A_i)², added with weight λ (1 by default):
  L_total = L (or L_p) + λ·L_aux.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .ggcnn import OUTPUT_NAMES

LOSSES = ("l", "lp")


def grasp_loss(pred: Sequence[torch.Tensor], target: Sequence[torch.Tensor]):
    """L (Prew et al. 2020, Eq. 2 = GG-CNN, Morrison et al. 2018, Eq. 3): Σ over the maps of their MSE.

    Args:
        pred, target: (pos, cos, sin, width), each N×1×H×W float32.

    Returns:
        (scalar loss tensor, {"pos": float, "cos": ..., "sin": ..., "width": ...}).
    """
    parts = {k: F.mse_loss(p, t) for k, p, t in zip(OUTPUT_NAMES, pred, target, strict=True)}
    return sum(parts.values()), {k: float(v.detach()) for k, v in parts.items()}


def positional_loss(pred: Sequence[torch.Tensor], target: Sequence[torch.Tensor], normalise: str = "positions"):
    """L_p (Prew et al. 2020, Eq. 3, as read in the module docstring): angle and width errors weighted by Q.

    Args:
        pred, target: (pos, cos, sin, width), each N×1×H×W float32; target pos ∈ [0, 1] is the weight.
        normalise: ``"positions"`` (divide the weighted terms by max(ΣQ, 1)) or ``"pixels"`` (by P).

    Returns:
        (scalar loss tensor, dict of the four float terms).

    Raises:
        ValueError: unknown ``normalise``.
    """
    if normalise not in ("positions", "pixels"):
        raise ValueError(f"normalise must be 'positions' or 'pixels', got {normalise!r}")
    q = target[0]
    parts = {"pos": F.mse_loss(pred[0], q)}
    den = q.sum().clamp_min(1.0) if normalise == "positions" else float(q.numel())
    for k, p, t in zip(OUTPUT_NAMES[1:], pred[1:], target[1:], strict=True):
        parts[k] = (q * (p - t) ** 2).sum() / den
    return sum(parts.values()), {k: float(v.detach()) for k, v in parts.items()}


def auxiliary_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MTG-CNN auxiliary loss (Prew et al. 2020, §III-B): MSE of the N×1×H×W auxiliary map."""
    return F.mse_loss(pred, target)


def total_loss(pred: Sequence[torch.Tensor], target: Sequence[torch.Tensor], loss: str = "l",
               aux_pred: torch.Tensor | None = None, aux_target: torch.Tensor | None = None,
               aux_weight: float = 1.0):
    """L or L_p, plus λ·L_aux when an auxiliary prediction is given.

    Args:
        pred, target: the four grasp maps (see :func:`grasp_loss`).
        loss: ``"l"`` (Eq. 2) or ``"lp"`` (Eq. 3).
        aux_pred, aux_target: N×1×H×W auxiliary map and its target, or None.
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
