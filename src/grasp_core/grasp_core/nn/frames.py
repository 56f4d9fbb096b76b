"""The images of one training run (:class:`Frames`) and the sample / loss of one batch of them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..datasets import list_jacquard, parse_jacquard_grasps
from ..grasp import Grasp
from .augment import Sample, make_multitask_sample
from .cache import load_stack
from .losses import total_loss
from .train_config import TrainConfig


@dataclass
class Frames:
    """The images a run reads, indexed like ``ids`` (arrays may be memory-mapped).

    depth: (N, H, W) float32 noisy depth (m) or None; rgb: (N, H, W, 3) uint8 or None;
    aux: (N, H, W) perfect depth (m) or 0/1 mask, or None; grasps: labels in source px.
    """

    ids: list[str]
    grasps: list[list[Grasp]]
    depth: np.ndarray | None
    rgb: np.ndarray | None
    aux: np.ndarray | None


def load_frames(cfg: TrainConfig) -> Frames:
    """Read the images ``cfg`` needs (modality, auxiliary task) from ``cfg.data``.

    Raises:
        FileNotFoundError: no images.
    """
    folder = Path(cfg.data)
    ids = list_jacquard(folder)
    if not ids:
        raise FileNotFoundError(f"no *_grasps.txt in {folder}")
    if cfg.max_images:
        ids = ids[: cfg.max_images]
    grasps = [parse_jacquard_grasps((folder / (i + "_grasps.txt")).read_text()) for i in ids]
    depth = load_stack(folder, ids, "inpainted" if cfg.order == "inpaint_first" else "raw") \
        if cfg.modality in ("depth", "rgbd") else None
    rgb = load_stack(folder, ids, "rgb") if cfg.modality in ("rgb", "rgbd") else None
    aux = {"none": None, "depth": "perfect", "saliency": "mask"}[cfg.aux]
    return Frames(ids, grasps, depth, rgb, load_stack(folder, ids, aux) if aux else None)


def sample_of(fr: Frames, i: int, cfg: TrainConfig, rng=None) -> Sample:
    """Image ``i`` of ``fr`` as a network sample (:func:`make_multitask_sample` with ``cfg``'s settings);
    ``rng`` None (or ``cfg.augment`` false) → the inference centre crop, else one random augmentation."""
    return make_multitask_sample(
        None if fr.depth is None else np.asarray(fr.depth[i]), fr.grasps[i], cfg.input_size, cfg.crop_size,
        rng if cfg.augment else None, cfg.zoom_range, cfg.shift_px, cfg.depth_clip, order=cfg.order,
        rgb=None if fr.rgb is None else np.asarray(fr.rgb[i]),
        aux=None if fr.aux is None else np.asarray(fr.aux[i]), aux_kind=cfg.aux)


def batch_loss(net, samples: list[Sample], cfg: TrainConfig):
    """(loss tensor, parts dict, network outputs) of ``net`` on ``samples`` (:func:`grasp_core.nn.losses.total_loss`
    with ``cfg.loss``, the auxiliary target when ``cfg.aux`` is not ``none``), on the device of ``net``'s
    parameters (the CPU but for a DDP replica on CUDA, :mod:`grasp_core.nn.distributed`)."""
    dev = next(net.parameters()).device
    x = torch.from_numpy(np.stack([s.x for s in samples])).to(dev)
    t = torch.from_numpy(np.stack([s.targets for s in samples])).to(dev)
    out = net(x)
    aux_t = torch.from_numpy(np.stack([s.aux for s in samples])).to(dev) if cfg.aux != "none" else None
    loss, parts = total_loss(out[:4], [t[:, k:k + 1] for k in range(4)], cfg.loss,
                             out[4] if aux_t is not None else None, aux_t, cfg.aux_weight)
    return loss, parts, out
