"""Training of the multi-stage STN (Park & Chun 2018, §III-B, §IV-B) and of its Table I baselines.

Schedule (:func:`train_msstn`), as the paper: first every block on its own with the ground truth
turned into that block's targets (:mod:`grasp_core.nn.msstn`):

1. ``crop``: STN_crop on whole images, target the first K ground-truth centres (top-right first),
   masked MSE where an image has fewer than K;
2. ``rotation``: STN_rotation on windows at ground-truth centres (jittered ± ``jitter_px``), MSE to
   (sin 2θ, cos 2θ);
3. ``scale_crop``: STN_scale,crop on windows at jittered centres turned by the ground-truth angle
   (± ``jitter_deg``), MSE to the raw parameters that reproduce the rectangle;
4. ``classifier``: the grasp classifier on final patches: ground-truth rectangles (slightly jittered,
   still correct) against background patches (random rectangles that the rectangle metric rejects
   against every label; the paper's "background image patches") and ground-truth rectangles turned
   by ≥ 35° or moved by ≥ 0.6 × their opening; balanced binary cross-entropy;

then end-to-end fine-tuning from the end backwards, each block with the blocks after it fixed
(``requires_grad`` off, batch-norm statistics frozen) and the blocks before it detached; with
``keep_better_finetune`` a fine-tuning phase after which the held-out top-1 accuracy is lower than
before it is undone (the paper keeps fine-tuning because it "was able to improve accuracy further"):

5. ``ft_classifier``: the classifier on the cascade's own K candidates, labelled by the rectangle
   metric against the image's labels (plus a stage-4 batch so it keeps the background negatives);
6. ``ft_scale_crop``, 7. ``ft_rotation``, 8. ``ft_crop``: the block's own target loss (recomputed
   for the candidates the cascade actually produced, against the nearest label) plus
   ``score_weight`` × BCE(classifier score, 1) back-propagated through the fixed later blocks.

Baselines (:func:`train_baselines`): the direct-regression CNN and the single-stage STN regress the
first label in STN_crop's order; the single-stage STN is then fine-tuned through the (fixed)
multi-stage classifier as stage 6–8 are.

Inputs are the detector's centre crop (:func:`grasp_core.nn.frames.sample_of`, no augmentation as in
the paper unless ``augment_copies`` > 0: that many extra randomly rotated/zoomed/shifted/flipped copies
per training image, :mod:`grasp_core.nn.augment`). Split by scene (scene % 10 == 9 held out).
Every phase shows a tqdm bar; ``out_dir`` gets ``<phase>.pt`` checkpoints, ``msstn.pt``,
``history.json`` and ``curves.png``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..evaluate import rectangle_accuracy
from ..grasp import Grasp, rectangle_metric
from . import stn
from .msstn import (
    MSSTNConfig,
    MultiStageSTN,
    crop_targets,
    decode_candidates,
    grasp_affine,
    nearest_grasp,
    pixels_to_norm,
    rotation_target,
    scale_crop_target,
    stage_affines,
)
from .msstn_baselines import DirectRegression, SingleStageSTN, decode_regression, regression_target

#: The schedule's phases, in order.
STAGES = ("crop", "rotation", "scale_crop", "classifier")
FINETUNE = ("ft_classifier", "ft_scale_crop", "ft_rotation", "ft_crop")
PHASES = STAGES + FINETUNE


@dataclass
class MSSTNTrainConfig:
    """Settings of a training run (steps are optimiser steps of ``batch_size`` images)."""

    data: str = ""
    out_dir: str = "runs/msstn"
    net: MSSTNConfig = field(default_factory=MSSTNConfig)
    crop_size: int = 300
    batch_size: int = 16
    lr: float = 2e-3
    stage_steps: dict = field(default_factory=lambda: {p: 300 for p in PHASES})
    baseline_steps: int = 300
    grasps_per_image: int = 4
    jitter_px: float = 3.0
    jitter_deg: float = 10.0
    score_weight: float = 0.5
    keep_better_finetune: bool = True
    min_separation_px: float = 8.0
    augment_copies: int = 0
    heldout_mod: int = 9
    max_images: int = 0
    max_val_images: int = 150
    threads: int = 2
    seed: int = 0

    def steps(self, phase: str) -> int:
        return int(self.stage_steps.get(phase, 0))


@dataclass
class Data:
    """Network inputs and labels: x (N, C, S, S) float32, grasps (network px), crop targets per image."""

    x: torch.Tensor
    grasps: list[list[Grasp]]
    crop_xy: torch.Tensor
    crop_mask: torch.Tensor
    first: list[Grasp | None]


def _pack(xs: list[np.ndarray], gs: list[list[Grasp]], cfg: MSSTNTrainConfig) -> Data:
    k, size = cfg.net.k, cfg.net.input_size
    t = [crop_targets(g, k, size, cfg.min_separation_px) for g in gs]
    return Data(torch.from_numpy(np.stack(xs)), gs, torch.from_numpy(np.stack([a for a, _, _ in t])),
                torch.from_numpy(np.stack([m for _, m, _ in t])), [c[0] if c else None for _, _, c in t])


def load_data(cfg: MSSTNTrainConfig) -> tuple[Data, Data, dict]:
    """(train, held-out, info) from ``cfg.data`` (Jacquard layout), split by scene.

    Raises:
        FileNotFoundError: no labelled images.
    """
    from tqdm import tqdm

    from .frames import load_frames, sample_of
    from .splits import split_ids
    from .train_config import TrainConfig

    tc = TrainConfig(data=cfg.data, input_size=cfg.net.input_size, crop_size=cfg.crop_size, modality="depth",
                     aux="none", augment=True, max_images=cfg.max_images, heldout_mod=cfg.heldout_mod)
    fr = load_frames(tc)
    tr, held = split_ids(fr.ids, cfg.heldout_mod)
    rng = np.random.default_rng(cfg.seed)
    out = []
    for part, copies in ((tr, cfg.augment_copies), (held[: cfg.max_val_images or None], 0)):
        xs, gs = [], []
        for i in tqdm(part, desc="msstn inputs", unit="img", mininterval=5):
            if not fr.grasps[i]:
                continue
            for c in range(copies + 1):
                s = sample_of(fr, i, tc, rng if c else None)
                inside = [g for g in s.grasps if 0 <= g.u < cfg.net.input_size and 0 <= g.v < cfg.net.input_size]
                if inside:
                    xs.append(s.x)
                    gs.append(inside)
        if not xs:
            raise FileNotFoundError(f"no labelled image in {cfg.data}")
        out.append(_pack(xs, gs, cfg))
    return out[0], out[1], {"images": len(fr.ids), "train_images": len(tr), "heldout_images": len(held),
                            "train_samples": len(out[0].grasps), "heldout_samples": len(out[1].grasps)}


# --- patches of the stage-wise phases -------------------------------------------------------------------

def holds(g: Grasp, labels: list[Grasp]) -> bool:
    """:func:`grasp_core.grasp.rectangle_metric` of ``g`` against the labels that can overlap it (centres
    closer than the sum of the two rectangles' half-diagonals; the others have IoU 0)."""
    r = math.hypot(g.width_px, g.length_px) / 2
    near = [h for h in labels
            if (h.u - g.u) ** 2 + (h.v - g.v) ** 2 < (r + math.hypot(h.width_px, h.length_px) / 2) ** 2]
    return bool(near) and rectangle_metric(g, near)


def _sample_labels(d: Data, idx: np.ndarray, n: int, rng) -> tuple[np.ndarray, list[Grasp]]:
    """``n`` random labelled rectangles per image of ``idx``: (image index per rectangle, rectangles)."""
    im, gs = [], []
    for i in idx:
        for j in rng.integers(0, len(d.grasps[i]), n):
            im.append(i)
            gs.append(d.grasps[i][j])
    return np.asarray(im), gs


def rotation_batch(d: Data, idx, cfg: MSSTNTrainConfig, rng):
    """Windows at jittered label centres (N, C, P, P) and their (sin 2θ, cos 2θ) targets (N, 2)."""
    net, size = cfg.net, cfg.net.input_size
    im, gs = _sample_labels(d, idx, cfg.grasps_per_image, rng)
    xy = np.stack([pixels_to_norm(g.u + rng.uniform(-cfg.jitter_px, cfg.jitter_px),
                                  g.v + rng.uniform(-cfg.jitter_px, cfg.jitter_px), size) for g in gs])
    lc, _, _ = stage_affines(torch.from_numpy(xy), torch.zeros(len(gs)), None, net.crop_scale)
    p = stn.warp(d.x[im], lc, (net.patch, net.patch))
    return p, torch.from_numpy(np.stack([rotation_target(g) for g in gs]))


def scale_batch(d: Data, idx, cfg: MSSTNTrainConfig, rng):
    """Rotated windows (N, C, P, P) at jittered centres/angles and their raw scale,crop targets (N, 4)."""
    net, size = cfg.net, cfg.net.input_size
    im, gs = _sample_labels(d, idx, cfg.grasps_per_image, rng)
    xy = np.stack([pixels_to_norm(g.u + rng.uniform(-cfg.jitter_px, cfg.jitter_px),
                                  g.v + rng.uniform(-cfg.jitter_px, cfg.jitter_px), size) for g in gs])
    th = np.array([-g.angle + math.radians(rng.uniform(-cfg.jitter_deg, cfg.jitter_deg)) for g in gs], np.float32)
    t = np.stack([scale_crop_target(g, xy[k], float(th[k]), net) for k, g in enumerate(gs)])
    _, lcr, _ = stage_affines(torch.from_numpy(xy), torch.from_numpy(th), None, net.crop_scale)
    return stn.warp(d.x[im], lcr, (net.patch, net.patch)), torch.from_numpy(t)


def _rect_affine(gs: list[Grasp], size: int) -> torch.Tensor:
    a = np.array([[g.u, g.v, g.angle, g.width_px, g.length_px] for g in gs], np.float32)
    xy = torch.from_numpy(np.stack([pixels_to_norm(u, v, size) for u, v in a[:, :2]]))
    return grasp_affine(xy, torch.from_numpy(-a[:, 2]), torch.from_numpy(a[:, 3] / size),
                        torch.from_numpy(a[:, 4] / size))


def classifier_batch(d: Data, idx, cfg: MSSTNTrainConfig, rng):
    """Final patches (N, C, Pc, Pc) and labels (N,) 1/0: jittered labels, background and wrong rectangles."""
    net, size = cfg.net, cfg.net.input_size
    im, gs = _sample_labels(d, idx, cfg.grasps_per_image, rng)
    rects, labels, imgs = [], [], []
    for i, g in zip(im, gs, strict=True):
        pos = Grasp(g.u + rng.uniform(-1, 1), g.v + rng.uniform(-1, 1), g.angle + math.radians(rng.uniform(-5, 5)),
                    g.width_px * rng.uniform(0.9, 1.1), g.length_px * rng.uniform(0.9, 1.1))
        if rng.uniform() < 0.5:  # background: anywhere, any angle and size, rejected by the metric
            for _ in range(20):
                neg = Grasp(rng.uniform(0, size - 1), rng.uniform(0, size - 1), rng.uniform(-math.pi / 2, math.pi / 2),
                            rng.uniform(6, 0.35 * size), 0.0)
                neg = Grasp(neg.u, neg.v, neg.angle, neg.width_px, neg.width_px * rng.uniform(0.3, 0.7))
                if not holds(neg, d.grasps[i]):
                    break
        else:  # a label turned or moved so that it no longer holds
            if rng.uniform() < 0.5:
                neg = Grasp(g.u, g.v, g.angle + math.radians(rng.uniform(35, 90)) * rng.choice([-1, 1]),
                            g.width_px, g.length_px)
            else:
                a = rng.uniform(0, 2 * math.pi)
                r = g.width_px * rng.uniform(0.6, 1.2)
                neg = Grasp(g.u + r * math.cos(a), g.v + r * math.sin(a), g.angle, g.width_px, g.length_px)
        for r_, lab in ((pos, 1.0), (neg, 1.0 if holds(neg, d.grasps[i]) else 0.0)):
            rects.append(r_)
            labels.append(lab)
            imgs.append(i)
    p = stn.warp(d.x[np.asarray(imgs)], _rect_affine(rects, size), (net.cls_patch, net.cls_patch))
    return p, torch.tensor(labels, dtype=torch.float32)


# --- the cascade's own candidates (fine-tuning, evaluation) ---------------------------------------------

def candidate_targets(out: dict, d: Data, idx, cfg: MSSTNTrainConfig):
    """Per candidate of a cascade output: nearest label's rotation and scale,crop targets for the
    candidate's actual window, and whether its decoded rectangle is correct. Returns tensors
    (rot (B·K, 2), sc (B·K, 4), correct (B·K,))."""
    net = cfg.net
    xy = out["crop_xy"].detach().numpy()
    th = out["theta"].detach().numpy()
    sc = out["scale_crop"].detach().numpy()
    sco = out["score"].detach().numpy()
    rot_t, sc_t, ok = [], [], []
    for b, i in enumerate(idx):
        dec = decode_candidates(xy[b], th[b], sc[b], sco[b], net)
        for k in range(net.k):
            u, v = dec["crop"][k, :2]
            g = nearest_grasp(d.grasps[i], u, v)
            rot_t.append(rotation_target(g))
            sc_t.append(scale_crop_target(g, xy[b, k], float(th[b, k]), net))
            ok.append(float(holds(dec["grasps"][k], d.grasps[i])))
    return (torch.from_numpy(np.stack(rot_t)), torch.from_numpy(np.stack(sc_t)), torch.tensor(ok))


def _freeze(modules, frozen: bool) -> None:
    for m in modules:
        m.train(not frozen)
        for p in m.parameters():
            p.requires_grad_(not frozen)


def _bce_balanced(logit: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    pos = y.sum().clamp(min=1.0)
    neg = (1 - y).sum().clamp(min=1.0)
    w = torch.where(y > 0.5, 0.5 / pos, 0.5 / neg) * len(y)
    return F.binary_cross_entropy_with_logits(logit, y, weight=w)


def evaluate_msstn(net: MultiStageSTN, d: Data, batch: int = 32) -> dict:
    """Held-out rectangle-metric accuracy (network px): top-1 by classifier score (max-pooling), and
    the fraction of images where any of the K final candidates is correct (an upper bound)."""
    net.eval()
    preds, anyok = [], []
    with torch.no_grad():
        for b in range(0, len(d.grasps), batch):
            idx = list(range(b, min(b + batch, len(d.grasps))))
            xy, th, sc, s = net(d.x[idx])
            for j, i in enumerate(idx):
                dec = decode_candidates(xy[j].numpy(), th[j].numpy(), sc[j].numpy(), s[j].numpy(), net.cfg)
                preds.append(dec["grasps"][dec["order"][0]])
                anyok.append(any(holds(g, d.grasps[i]) for g in dec["grasps"]))
    net.train()
    return {"accuracy": rectangle_accuracy(preds, d.grasps), "any_candidate": float(np.mean(anyok)),
            "images": len(preds)}


def _crop_loss(xy: torch.Tensor, d: Data, idx) -> torch.Tensor:
    m = d.crop_mask[idx]
    return (((xy - d.crop_xy[idx]) ** 2).sum(-1) * m).sum() / m.sum().clamp(min=1.0)


def train_msstn(cfg: MSSTNTrainConfig, data: tuple[Data, Data, dict] | None = None,
                phases: tuple[str, ...] = PHASES) -> tuple[MultiStageSTN, dict]:
    """Run the schedule (module docstring) over ``phases`` in order; returns (network, summary).

    Writes ``<out_dir>/<phase>.pt`` after each phase, ``msstn.pt``, ``history.json``, ``curves.png``.

    Raises:
        FileNotFoundError: no labelled images; ValueError: an unknown phase.
    """
    from tqdm import tqdm

    bad = [p for p in phases if p not in PHASES]
    if bad:
        raise ValueError(f"unknown phase(s) {bad}; phases are {PHASES}")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train, held, info = data or load_data(cfg)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = MultiStageSTN(cfg.net)
    blocks = {"crop": net.crop, "rotation": net.rotation, "scale_crop": net.scale_crop,
              "classifier": net.classifier}
    order = ["crop", "rotation", "scale_crop", "classifier"]
    history: list[dict] = []
    t0 = time.time()
    n = len(train.grasps)
    for phase in phases:
        steps = cfg.steps(phase)
        if steps <= 0:
            continue
        before = ({k: v.clone() for k, v in net.state_dict().items()}, history[-1]["val_acc"]) \
            if phase.startswith("ft_") and history else None
        block = phase.replace("ft_", "")
        later = order[order.index(block) + 1:]
        _freeze(blocks.values(), True)
        _freeze([blocks[block]], False)
        opt = torch.optim.Adam(blocks[block].parameters(), lr=cfg.lr * (0.3 if phase.startswith("ft_") else 1.0))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=cfg.lr * 0.02)
        losses = []
        bar = tqdm(range(steps), desc=f"msstn {phase}", unit="step", mininterval=5)
        for step in bar:
            idx = rng.choice(n, min(cfg.batch_size, n), replace=False)
            if phase == "crop":
                loss = _crop_loss(net.crop_centres(train.x[idx]), train, idx)
            elif phase == "rotation":
                p, t = rotation_batch(train, idx, cfg, rng)
                loss = F.mse_loss(net.rotation(p), t)
            elif phase == "scale_crop":
                p, t = scale_batch(train, idx, cfg, rng)
                loss = F.mse_loss(net.scale_crop(p), t)
            elif phase == "classifier":
                p, y = classifier_batch(train, idx, cfg, rng)
                loss = _bce_balanced(net.score(p), y)
            else:
                detach = {"classifier": 3, "scale_crop": 2, "rotation": 1, "crop": 0}[block]
                o = net.forward_patches(train.x[idx], detach_upto=detach)
                rot_t, sc_t, ok = candidate_targets(o, train, idx, cfg)
                if block == "classifier":
                    p, y = classifier_batch(train, idx[: max(1, len(idx) // 2)], cfg, rng)
                    loss = _bce_balanced(o["score"].reshape(-1), ok) + _bce_balanced(net.score(p), y)
                else:
                    if block == "crop":
                        own = _crop_loss(o["crop_xy"], train, idx)
                    elif block == "rotation":
                        own = F.mse_loss(net.rotation(o["p_crop"]), rot_t)
                    else:
                        own = F.mse_loss(net.scale_crop(o["p_rot"]), sc_t)
                    score = F.binary_cross_entropy_with_logits(o["score"].reshape(-1),
                                                               torch.ones_like(o["score"].reshape(-1)))
                    loss = own + cfg.score_weight * score
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        ev = evaluate_msstn(net, held)
        reverted = bool(cfg.keep_better_finetune and before is not None and ev["accuracy"] < before[1])
        history.append({"phase": phase, "steps": steps, "losses": losses, "final_loss": float(np.mean(losses[-50:])),
                        "val_acc": ev["accuracy"], "val_any": ev["any_candidate"],
                        "minutes": (time.time() - t0) / 60, "later_fixed": later, "reverted": reverted})
        print(f"msstn {phase}: loss {history[-1]['final_loss']:.4f} held-out top-1 {ev['accuracy']:.3f} "
              f"any-of-K {ev['any_candidate']:.3f} ({ev['images']} images) {(time.time() - t0) / 60:.1f} min"
              + (" (lower than before the phase: reverted)" if reverted else ""), flush=True)
        if reverted:
            net.load_state_dict(before[0])
            ev = evaluate_msstn(net, held)
            history[-1].update(val_acc=ev["accuracy"], val_any=ev["any_candidate"])
        torch.save(net.state_dict(), out / f"{phase}.pt")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        plot_history(history, out / "curves.png")
    _freeze(blocks.values(), False)
    net.eval()
    torch.save(net.state_dict(), out / "msstn.pt")
    summary = {"phases": [h["phase"] for h in history], "val_acc": history[-1]["val_acc"] if history else None,
               "val_any": history[-1]["val_any"] if history else None, "minutes": (time.time() - t0) / 60,
               **info, "net": cfg.net.to_dict(), "config": {k: v for k, v in asdict(cfg).items() if k != "net"}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return net, summary


def plot_history(history: list[dict], path: Path) -> None:
    """PNG: each phase's smoothed loss per step (left) and held-out top-1 / any-of-K accuracy after it (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5), dpi=80)
    for h in history:
        y = np.convolve(h["losses"], np.ones(10) / 10, mode="valid") if len(h["losses"]) >= 10 else h["losses"]
        ax[0].plot(y, label=h["phase"])
    ax[0].set_yscale("log")
    ax[0].set_xlabel("step in phase")
    ax[0].set_ylabel("loss")
    ax[0].legend(fontsize=7)
    x = range(len(history))
    ax[1].plot(x, [h["val_acc"] for h in history], "g.-", label="top-1 (max-pooled)")
    ax[1].plot(x, [h["val_any"] for h in history], "b.--", label="any of K")
    ax[1].set_xticks(list(x), [h["phase"] for h in history], rotation=45, fontsize=7)
    ax[1].set_ylim(0, 1)
    ax[1].set_ylabel("held-out rectangle acc.")
    ax[1].legend(fontsize=7)
    fig.suptitle("multi-stage STN (Park & Chun 2018): stage-wise, then backward fine-tuning")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- baselines ------------------------------------------------------------------------------------------

def evaluate_regression(model, d: Data, cfg: MSSTNConfig, batch: int = 32) -> float:
    """Held-out rectangle accuracy of a :class:`DirectRegression` / :class:`SingleStageSTN` (network px)."""
    model.eval()
    preds = []
    with torch.no_grad():
        for b in range(0, len(d.grasps), batch):
            o = model(d.x[b:b + batch])
            raw = o[0] if isinstance(o, tuple) else o
            preds += [decode_regression(r, cfg) for r in raw.numpy()]
    model.train()
    return rectangle_accuracy(preds, d.grasps)


def train_baselines(cfg: MSSTNTrainConfig, data: tuple[Data, Data, dict], classifier_state: dict | None = None):
    """Train the direct-regression CNN and the single-stage STN (module docstring). Returns
    ``({"direct": model, "single": model}, {"direct": acc, "single": acc})``; writes ``direct.pt``, ``single.pt``."""
    from tqdm import tqdm

    train, held, _ = data
    rng = np.random.default_rng(cfg.seed + 1)
    have = [i for i, g in enumerate(train.first) if g is not None]
    targets = {i: torch.from_numpy(regression_target(train.first[i], cfg.net)) for i in have}
    models = {"direct": DirectRegression(cfg.net), "single": SingleStageSTN(cfg.net)}
    if classifier_state is not None:
        models["single"].classifier.load_state_dict(classifier_state)
    acc = {}
    out = Path(cfg.out_dir)
    for name, m in models.items():
        params = m.net.parameters() if name == "direct" else m.loc.parameters()
        opt = torch.optim.Adam(params, lr=cfg.lr)
        steps = cfg.baseline_steps
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=cfg.lr * 0.02)
        if name == "single":
            _freeze([m.classifier], True)
        bar = tqdm(range(steps), desc=f"baseline {name}", unit="step", mininterval=5)
        run = []
        for step in bar:
            idx = rng.choice(have, min(cfg.batch_size, len(have)), replace=False)
            t = torch.stack([targets[i] for i in idx])
            if name == "direct":
                loss = F.mse_loss(m(train.x[idx]), t)
            else:  # supervised, and in the second half through the fixed classifier (fine-tuning)
                raw, score = m(train.x[idx])
                loss = F.mse_loss(raw, t)
                if step >= steps // 2 and classifier_state is not None:
                    loss = loss + cfg.score_weight * F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run.append(float(loss.detach()))
            if step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(run[-50:]):.4f}")
        _freeze([m], False)
        m.eval()
        acc[name] = evaluate_regression(m, held, cfg.net)
        print(f"baseline {name}: held-out top-1 {acc[name]:.3f}", flush=True)
        torch.save(m.state_dict(), out / f"{name}.pt")
    return models, acc
