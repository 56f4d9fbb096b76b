"""Training and held-out evaluation of :class:`grasp_core.nn.detseg.GraspDetSeg` (Ainetter & Fraundorfer 2021, §IV).

Data: a Jacquard-layout folder of ``grasp-dataset`` with class labels (``<id>_RGB.png``,
``<id>_grasps.txt``, ``<id>_classes.png``: :mod:`grasp_core.datasets.semantic`), read once into memory
(:func:`load_images`). Each step draws a batch and one geometric transform per image
(:func:`grasp_core.nn.augment.make_multitask_sample`: the paper's augmentation, rotation 0–360° and
translation up to 50 px, plus a horizontal flip), applied to the RGB image, the rectangles and the
class image alike; the centre crop of the detector (``crop_size`` → ``input_size``) without augmentation.

Optimiser as the paper: SGD, Nesterov momentum 0.9, weight decay 1e-4; learning rate with a linear
warm-up and a cosine decay (the paper's schedule is not printed beyond lr and batch). Det_Seg_Refine
starts from a trained Det_Seg (``init``) with backbone + FPN frozen (paper: lr 0.008, batch 4).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..datasets import list_jacquard, read_jacquard
from ..datasets.semantic import read_class_labels
from ..grasp import Grasp
from .augment import make_multitask_sample
from .detseg import DetSegConfig, GraspDetSeg, detections_to_rects
from .detseg_onnx import class_iou_counts, object_classes
from .detseg_targets import apply_refinement


@dataclass
class DetSegTrainConfig:
    """Settings of one training run (the network's own sizes are :class:`DetSegConfig`)."""

    steps: int = 2000
    batch_size: int = 4
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: int = 100
    crop_size: int = 320
    shift_px: int = 50
    grad_clip: float = 10.0
    freeze_backbone: bool = False
    eval_every: int = 500
    seed: int = 0
    threads: int = 2


@dataclass
class Image:
    """One dataset image in memory: RGB (H, W, 3) uint8, classes (H, W) uint8, rectangles in source px."""

    image_id: str
    rgb: np.ndarray
    classes: np.ndarray
    grasps: list[Grasp]


def load_images(folder: str | Path, max_images: int = 0) -> list[Image]:
    """Every labelled image of a Jacquard-layout folder (with class labels), sorted by id.

    Raises:
        DatasetError: a missing or malformed file; ValueError: no image in ``folder``.
    """
    ids = list_jacquard(folder)
    if max_images:
        ids = ids[:max_images]
    if not ids:
        raise ValueError(f"{folder}: no *_grasps.txt images")
    out = []
    for i in ids:
        _, rgb, grasps = read_jacquard(folder, i, rgb=True)
        classes, _ = read_class_labels(folder, i, grasps)
        out.append(Image(i, rgb, classes, grasps))
    return out


def rects_of(grasps: list[Grasp]) -> np.ndarray:
    """(N, 5) float64 rectangles (x, y, w, h, Φ) of grasps (network px), positive sides only."""
    r = np.array([[g.u, g.v, g.width_px, g.length_px, g.angle] for g in grasps], np.float64).reshape(-1, 5)
    return r[(r[:, 2] > 1) & (r[:, 3] > 1)]


def make_batch(images: list[Image], idx, cfg: DetSegConfig, tcfg: DetSegTrainConfig,
               rng: np.random.Generator | None):
    """(x (B, 3, S, S), rects list of (N_i, 5), classes (B, S, S) int64, grasps list) of the images at ``idx``;
    ``rng`` None: the detector's centre crop (evaluation)."""
    xs, rects, cls, gs = [], [], [], []
    for i in idx:
        im = images[i]
        s = make_multitask_sample(None, im.grasps, cfg.input_size, tcfg.crop_size, rng, zoom_range=(1.0, 1.0),
                                  shift_px=tcfg.shift_px, rgb=im.rgb, aux=im.classes, aux_kind="classes")
        xs.append(s.x)
        rects.append(rects_of(s.grasps))
        cls.append(s.aux)
        gs.append(s.grasps)
    return torch.from_numpy(np.stack(xs)), rects, torch.from_numpy(np.stack(cls)), gs


def lr_at(step: int, tcfg: DetSegTrainConfig) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 1 % at ``steps``."""
    if step < tcfg.warmup:
        return tcfg.lr * (step + 1) / tcfg.warmup
    p = (step - tcfg.warmup) / max(1, tcfg.steps - tcfg.warmup)
    return tcfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def decode(out, cfg: DetSegConfig, refine: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rectangles (N, 5) network px, scores (N,), class probability map (S_c, S/4, S/4)) of one
    image's outputs (:data:`grasp_core.nn.detseg.OUTPUT_NAMES` order, torch or numpy), best score first."""
    boxes, scores, labels, ref, prob = (np.asarray(o.detach().numpy() if hasattr(o, "detach") else o) for o in out)
    rects = detections_to_rects(boxes, labels, cfg.orientations)
    if refine and cfg.refinement and len(rects):
        rects = apply_refinement(rects, ref)
    order = np.argsort(-scores, kind="stable")
    return rects[order], scores[order], prob[0]


def segmentation_iou(prob: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (intersection, union) pixel counts of argmax(prob) upsampled to ``classes``' size."""
    import cv2

    pred = np.argmax(prob, 0).astype(np.uint8)
    pred = cv2.resize(pred, classes.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return class_iou_counts(pred, classes, prob.shape[0])


def evaluate(net: GraspDetSeg, images: list[Image], tcfg: DetSegTrainConfig, limit: int = 0) -> dict:
    """Held-out figures in network px on the detector's centre crop: the rectangle metric and its strict
    variants of the top-1 grasp (:func:`grasp_core.evaluate.metric_variants`), mean segmentation IoU over
    the classes present (``seg_miou``) and object-vs-background IoU (``seg_fg_iou``), and the share of
    top-1 grasps on an object whose predicted object class (:func:`grasp_core.nn.detseg_onnx.object_classes`,
    as the detector labels them) equals the true class under the grasp centre (``class_acc``)."""
    from ..evaluate import metric_variants

    cfg = net.cfg
    net.eval()
    preds, gts, inter, union, fg_i, fg_u, cls_ok, cls_n = [], [], 0, 0, 0, 0, 0, 0
    n = len(images) if not limit else min(limit, len(images))
    with torch.no_grad():
        for i in range(n):
            x, _, classes, gs = make_batch(images, [i], cfg, tcfg, None)
            rects, scores, prob = decode(net(x), cfg)
            if len(rects):
                r = rects[0]
                preds.append(Grasp(float(r[0]), float(r[1]), float(r[4]), float(r[2]), float(r[3]), float(scores[0])))
            else:
                preds.append(Grasp(-1e3, -1e3, 0.0, 1.0, 1.0, 0.0))
            gts.append(gs[0])
            c = classes[0].numpy()
            if cfg.segmentation:
                a, b = segmentation_iou(prob, c)
                inter, union = inter + a, union + b
                pred_fg = np.argmax(prob, 0) > 0
                import cv2

                pred_fg = cv2.resize(pred_fg.astype(np.uint8), c.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
                fg_i += int((pred_fg & (c > 0)).sum())
                fg_u += int((pred_fg | (c > 0)).sum())
                if len(rects):
                    u = int(np.clip(round(rects[0, 0]), 0, c.shape[1] - 1))
                    v = int(np.clip(round(rects[0, 1]), 0, c.shape[0] - 1))
                    if c[v, u] > 0:
                        k, _ = object_classes(prob, rects[:1, :2])
                        cls_ok += int(k[0] == c[v, u])
                        cls_n += 1
    out = metric_variants(preds, gts)
    if cfg.segmentation:
        present = union > 0
        out["seg_miou"] = float(np.mean(inter[present] / union[present]))
        out["seg_fg_iou"] = fg_i / max(1, fg_u)
        out["class_acc"] = cls_ok / max(1, cls_n)
    out["n"] = n
    net.train()
    return out


def train(images: list[Image], heldout: list[Image] | None, cfg: DetSegConfig, tcfg: DetSegTrainConfig,
          out_dir: str | Path, init: str | Path | None = None, progress: bool = True) -> tuple[GraspDetSeg, list[dict]]:
    """Train one configuration; writes ``out_dir``/``checkpoint.pt`` (each evaluation and at the end),
    ``history.json`` and ``curves.png``. Returns (network, history).

    ``init``: a checkpoint to start from (e.g. a Det_Seg for Det_Seg_Refine); weights of heads it lacks
    stay initialised.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tcfg.seed)
    torch.set_num_threads(max(1, tcfg.threads))
    rng = np.random.default_rng(tcfg.seed)
    net = GraspDetSeg(cfg)
    if init is not None:
        state = torch.load(init, map_location="cpu", weights_only=False)["model"]
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"{init}: weights of another network ({unexpected[:3]} ...)")
    params = [p for n, p in net.named_parameters() if not (tcfg.freeze_backbone and n.startswith("backbone."))]
    if tcfg.freeze_backbone:
        for p in net.backbone.parameters():
            p.requires_grad_(False)
        net.backbone.eval()
    opt = torch.optim.SGD(params, lr=tcfg.lr, momentum=tcfg.momentum, nesterov=True, weight_decay=tcfg.weight_decay)
    history: list[dict] = []
    net.train()
    if tcfg.freeze_backbone:
        net.backbone.eval()
    run = {k: 0.0 for k in ("total", "rpn_objectness", "rpn_box", "box", "rot", "sem", "refine")}
    t0 = time.time()
    bar = tqdm(range(tcfg.steps), desc=f"{cfg.configuration}", unit="step", disable=not progress)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tcfg)
        idx = rng.integers(0, len(images), tcfg.batch_size)
        x, rects, classes, _ = make_batch(images, idx, cfg, tcfg, rng)
        losses = net.losses(x, rects, classes if cfg.segmentation else None, freeze_backbone=tcfg.freeze_backbone)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(params, tcfg.grad_clip)
        opt.step()
        for k in run:
            run[k] += float(losses[k].detach())
        bar.set_postfix(loss=f"{float(losses['total'].detach()):.3f}")
        last = step + 1 == tcfg.steps
        if (step + 1) % tcfg.eval_every == 0 or last:
            k = (step + 1) % tcfg.eval_every or tcfg.eval_every
            rec = {"step": step + 1, "minutes": (time.time() - t0) / 60,
                   **{f"train_{n}": v / k for n, v in run.items()}}
            run = dict.fromkeys(run, 0.0)
            if heldout:
                rec.update({f"val_{n}": v for n, v in evaluate(net, heldout, tcfg, limit=0 if last else 60).items()})
                if tcfg.freeze_backbone:
                    net.backbone.eval()
            history.append(rec)
            torch.save({"model": net.state_dict(), "config": cfg.to_dict(), "train": asdict(tcfg), "history": history},
                       out_dir / "checkpoint.pt")
            (out_dir / "history.json").write_text(json.dumps(history, indent=1))
            plot_history(history, out_dir / "curves.png", cfg.configuration)
    return net, history


def plot_history(history: list[dict], path: Path, title: str) -> None:
    """Write ``path`` (PNG): the training losses and the held-out rectangle metric / segmentation IoU."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80)
    st = [h["step"] for h in history]
    for k in ("total", "rot", "box", "rpn_objectness", "sem", "refine"):
        v = [h[f"train_{k}"] for h in history]
        if any(v):
            ax[0].plot(st, v, label=k)
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("training loss")
    ax[0].legend(fontsize=7)
    for k, lab in (("val_angle<30", "rectangle metric"), ("val_angle<5", "… |ΔΦ| < 5°"), ("val_seg_miou", "seg mIoU")):
        if any(k in h for h in history):
            ax[1].plot([h["step"] for h in history if k in h], [h[k] for h in history if k in h], ".-", label=lab)
    ax[1].set_ylim(0, 1)
    ax[1].set_xlabel("step")
    ax[1].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def load_checkpoint(path: str | Path) -> GraspDetSeg:
    """The network of a checkpoint written by :func:`train`, in eval mode."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    net = GraspDetSeg(DetSegConfig.from_dict(ck["config"]))
    net.load_state_dict(ck["model"])
    return net.eval()


__all__ = ["DetSegTrainConfig", "Image", "decode", "evaluate", "load_checkpoint", "load_images", "lr_at",
           "make_batch", "plot_history", "rects_of", "segmentation_iou", "train"]
