"""Training settings of the grasp networks (:class:`TrainConfig`) and a run's short name."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Training settings (sizes in px, time in minutes)."""

    data: str = "data/synth_v1"
    arch: str = "ggcnn2"
    input_size: int = 160
    crop_size: int = 300
    batch_size: int = 16
    lr: float = 1e-3
    epochs: int = 30
    max_minutes: float = 45.0
    threads: int = 2
    seed: int = 0
    heldout_mod: int = 9
    zoom_range: tuple = (0.8, 1.2)
    shift_px: int = 30
    max_val_images: int = 300
    out_dir: str = "runs/ggcnn2"
    depth_clip: float = 1.0
    order: str = "inference"
    init: str = ""  # optional state-dict checkpoint to start from (fine-tuning)
    modality: str = "depth"  # depth | rgb | rgbd
    aux: str = "none"  # none | depth | saliency (MTG-CNN)
    loss: str = "l"  # l (Prew et al. Eq. 2) | lp (Eq. 3)
    aux_weight: float = 1.0
    augment: bool = True
    folds: int = 0  # 0: held-out tenth (heldout_mod); k >= 2: k-fold by scene
    fold: int = 0
    max_images: int = 0  # 0: all; else the first N ids (whole scenes first)
    resume: bool = False
    keep_epoch_checkpoints: bool = True


def run_name(cfg: TrainConfig) -> str:
    """Short description of a configuration, e.g. ``mtgcnn rgb aux=depth L_p``."""
    return (f"{cfg.arch} {cfg.modality}" + (f" aux={cfg.aux}" if cfg.aux != "none" else "")
            + (" L_p" if cfg.loss == "lp" else ""))
