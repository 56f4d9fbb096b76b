"""Held-out evaluation of a grasp network during training: loss and rectangle-metric accuracy."""
from __future__ import annotations

import numpy as np
import torch

from ..evaluate import rectangle_accuracy, top_grasp
from .frames import Frames, batch_loss, sample_of
from .train_config import TrainConfig


def predict_maps(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Run ``net`` on (N, S, S) or (N, C, S, S) float32 inputs → (N, 4, S, S) float32 grasp maps."""
    x = x[:, None] if x.ndim == 3 else x
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(x)).to(next(net.parameters()).device))
    return torch.cat(out[:4], 1).cpu().numpy()


def evaluate_heldout(net, frames: Frames, idx, cfg: TrainConfig, batch: int = 32, limit: int | None = None,
                     return_predictions: bool = False):
    """Held-out loss and rectangle-metric accuracy (centre crop, images with labels only).

    Args:
        limit: at most this many images (default ``cfg.max_val_images``; 0 = all).
        return_predictions: also return (top grasps, ground truths), in network px.

    Returns:
        (mean loss, accuracy, images) [+ (predictions, ground truths)].
    """
    limit = cfg.max_val_images if limit is None else limit
    idx = [i for i in idx if frames.grasps[i]]
    idx = idx[:limit] if limit else idx
    preds, gts, losses = [], [], []
    net.eval()
    with torch.no_grad():
        for b in range(0, len(idx), batch):
            ss = [sample_of(frames, i, cfg) for i in idx[b:b + batch]]
            loss, _, out = batch_loss(net, ss, cfg)
            losses.append(float(loss) * len(ss))
            y = torch.cat(out[:4], 1).cpu().numpy()
            for m, s in zip(y, ss, strict=True):
                preds.append(top_grasp(*m))
                gts.append(s.grasps)
    net.train()
    keep = [k for k, g in enumerate(gts) if g]
    acc = rectangle_accuracy([preds[k] for k in keep], [gts[k] for k in keep]) if keep else float("nan")
    res = (sum(losses) / max(len(idx), 1), acc, len(keep))
    if return_predictions:
        return (*res, ([preds[k] for k in keep], [gts[k] for k in keep]))
    return res
