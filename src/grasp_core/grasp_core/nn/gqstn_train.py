"""Training of GQ-STN (Gariépy et al., IROS 2019, §IV-C and §V) and of its one-shot baselines.

GQ-STN (:func:`train_gqstn`): at every step each image of the batch gets one randomly chosen positive
(physics-validated) ground-truth grasp, whose Λ_trans^gt, Λ_rot^gt, Λ_scale^gt and gripper depth are the
targets (:func:`grasp_core.nn.gqstn.grasp_target`); the loss is L_tot = ξ·L_loc + (1 − ξ)·L_rob
(:func:`grasp_core.nn.gqstn.localisation_loss`, :func:`grasp_core.nn.gqstn.robustness_loss`: the frozen
classifier's cross-entropy against "robust"). ξ slides from 1 to 0 through the phases of ``schedule``;
while ξ > 0 teacher forcing is on (STN_rot and STN_scale see the images of the ground-truth Λ_trans,
Λ_rot), after it all three STNs train jointly on L_rob. The paper's schedule (§V, 40 epochs, Adam,
L2 1e-7) is :data:`PAPER_SCHEDULE`: its fractions of the run, ξ, learning rate and teacher forcing;
``steps`` sets the length. The checkpoint kept is the one with the best held-out robust precision among
the evaluations of the ξ = 0 phases (the paper's early stopping); ``eval_every`` steps and at every
phase end the held-out set is scored.

Baselines (:func:`train_baseline`): DirectGrasp (MSE to one random positive's regression targets) and
MultiGrasp (Redmon's cell cross-entropy + MSE of that cell's rectangle), the same learning-rate schedule;
the checkpoint kept is the one with the best held-out rectangle metric (the paper's choice).

Held-out scores (:func:`evaluate`): the rectangle metric of the decoded top-1 grasp against the image's
labels in source pixels (IoU > 0.25, |ΔΦ| < 30°) and the robust precision: the share of images whose
grasp the frozen classifier rates P(robust) ≥ 0.5 on the 32-px crop that the grasp's Λ cuts (GQ-STN's
own STN_scale output; for the baselines the same warp of their predicted grasp, the paper's "32 × 32
depth image around the grasp rectangle").

Data (:func:`load_data`): Jacquard-layout folders of ``grasp-dataset`` (physics-validated positives),
the detector's centre crop (:func:`grasp_core.nn.gqstn_onnx.preprocess`), split by scene
(scene % 10 == ``heldout_mod`` held out); labels whose centre lies outside the reach of STN_trans
(|x| or |y| ≥ 0.5 normalised) are not targets but stay in the rectangle metric's labels; fx from the
dataset's manifest. Every phase shows a tqdm bar; ``out_dir`` gets ``<name>.pt`` checkpoints,
``history.json`` and ``<name>_curves.png``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..grasp import Grasp, rectangle_metric
from . import stn
from .gqstn import (
    CROP_PX,
    GQSTN,
    DirectGrasp,
    GQSTNConfig,
    MultiGrasp,
    classifier_inputs,
    decode_regression_torch,
    grasp_target,
    loc_targets,
    localisation_loss,
    regression_target,
    robustness_loss,
    teacher_affines,
)
from .gqstn_onnx import decode_grasp, preprocess

#: GQ-STN §V: (fraction of the 40 epochs, ξ, learning rate, teacher forcing) — 6 epochs ξ = 1 at 1e-3,
#: 3 at ξ = 0.5 / 2e-4, 3 at ξ = 0.2 / 4e-5 (teacher forcing in these first 12), 9 at ξ = 0 / 4e-5,
#: 19 at ξ = 0 / 8e-6 (early stopping).
PAPER_SCHEDULE = ((6 / 40, 1.0, 1e-3, True), (3 / 40, 0.5, 2e-4, True), (3 / 40, 0.2, 4e-5, True),
                  (9 / 40, 0.0, 4e-5, False), (19 / 40, 0.0, 8e-6, False))


@dataclass
class GQSTNTrainConfig:
    """Settings of a run (steps are optimiser steps of ``batch_size`` images).

    ``scale_anchor``: weight of L_loc's scale term (log s/γ and z against the label's) kept in the ξ = 0
    phases (0: the paper's pure L_rob) — without it STN_scale learns to zoom out until the classifier, which
    never saw such crops, calls everything robust. ``init``: a GQ-STN state dict to start from;
    ``start_phase``: skip the schedule's first phases (fine-tuning a checkpoint of them).
    """

    data: list = field(default_factory=list)
    out_dir: str = "runs/gqstn"
    net: GQSTNConfig = field(default_factory=GQSTNConfig)
    classifier: str = "gqcnn_synth"
    steps: int = 600
    baseline_steps: int = 300
    batch_size: int = 16
    lr_scale: float = 1.0
    weight_decay: float = 1e-7
    schedule: tuple = PAPER_SCHEDULE
    eval_every: int = 50
    heldout_mod: int = 9
    max_images: int = 0
    max_val_images: int = 120
    max_minutes: float = 0.0
    scale_anchor: float = 0.0
    start_phase: int = 0
    init: str = ""
    threads: int = 1
    seed: int = 0


@dataclass
class Data:
    """x (N, 1, S, S) float32 m; targets per image (reachable positives); labels per image (source px);
    crop transforms; fx per image; image ids."""

    x: torch.Tensor
    targets: list
    labels: list
    tfs: list
    fx: list
    ids: list


def image_targets(raw: np.ndarray, labels: list[Grasp], fx: float, cfg: GQSTNConfig):
    """(network input (1, 1, S, S), crop transform, targets) of one image (m, NaN holes) and its labels (source px).

    A label's gripper depth is the generator's: 35 mm below the surface at the centre, at least 4 mm above
    the table (:func:`grasp_core.robust_metric.grasp_inputs`, on the inpainted source-resolution crop).
    """
    from ..depth import CropTransform, inpaint_depth
    from ..robust_metric import grasp_inputs

    x, tf = preprocess(raw, cfg.crop_size, cfg.input_size)
    src = CropTransform(tf.x0, tf.y0, tf.crop_size, tf.crop_size).apply(
        np.where(raw > 0, raw, np.nan).astype(np.float32))
    filled = inpaint_depth(src)
    out = []
    for g in labels:
        un, vn = (float(a) for a in tf.from_source(g.u, g.v))
        xn, yn = (2 * un + 1) / cfg.input_size - 1, (2 * vn + 1) / cfg.input_size - 1
        if abs(xn) >= 0.5 or abs(yn) >= 0.5:
            continue
        gi = grasp_inputs(filled, src, Grasp(g.u - tf.x0, g.v - tf.y0, g.angle, g.width_px, g.length_px), fx)
        if gi is None:
            continue
        out.append(grasp_target(un, vn, g.angle, fx, gi.centre_depth, gi.z - gi.centre_depth, cfg))
    return x, tf, out


def load_data(cfg: GQSTNTrainConfig) -> tuple[Data, Data, dict]:
    """(train, held-out, info) from the folders ``cfg.data``, split by scene (module docstring).

    Raises:
        FileNotFoundError: no labelled image.
    """
    from tqdm import tqdm

    from ..datasets import focal_lengths, list_jacquard, parse_jacquard_grasps
    from ..datasets.files import read_depth

    parts = {"train": ([], [], [], [], [], []), "held": ([], [], [], [], [], [])}
    n_img = 0
    for folder in map(Path, cfg.data):
        ids = list_jacquard(folder)
        if cfg.max_images:
            ids = ids[: cfg.max_images]
        fxs = focal_lengths(folder)
        for i in tqdm(ids, desc=f"gqstn inputs {folder.name}", unit="img", mininterval=5):
            labels = parse_jacquard_grasps((folder / f"{i}_grasps.txt").read_text())
            if not labels:
                continue
            fx = fxs.get(i, 525.0)
            x, tf, tg = image_targets(read_depth(str(folder / f"{i}_stereo_depth.tiff")), labels, fx, cfg.net)
            held = int(i.split("_")[0]) % 10 == cfg.heldout_mod
            if not held and not tg:
                continue
            for lst, v in zip(parts["held" if held else "train"], (x, tg, labels, tf, fx, f"{folder.name}/{i}"),
                              strict=True):
                lst.append(v)
            n_img += 1
    if not parts["train"][0]:
        raise FileNotFoundError(f"no labelled image in {cfg.data}")

    def pack(p, limit=0):
        xs, tg, lb, tf, fx, ids = (list(a[: limit or None]) for a in p)
        return Data(torch.from_numpy(np.concatenate(xs)) if xs else torch.zeros(0, 1, cfg.net.input_size,
                                                                                 cfg.net.input_size),
                    tg, lb, tf, fx, ids)

    tr, he = pack(parts["train"]), pack(parts["held"], cfg.max_val_images)
    info = {"images": n_img, "train_images": len(tr.ids), "heldout_images": len(he.ids),
            "train_targets": sum(len(t) for t in tr.targets),
            "mean_scale": float(np.mean([g.s for t in tr.targets for g in t]))}
    return tr, he, info


def _batch_targets(d: Data, idx, rng, rotation: str) -> dict:
    return loc_targets([d.targets[i][rng.integers(len(d.targets[i]))] for i in idx], rotation)


# --- evaluation --------------------------------------------------------------------------------------

def crop_p_robust(classifier, depth: torch.Tensor, xy, theta, sz, cfg: GQSTNConfig) -> torch.Tensor:
    """P(robust) (B,) of grasps (xy, θ, (s, z)) on depth (B, 1, S, S): the classifier on the 32-px crop their Λ cuts."""
    lam = stn.compose(stn.translation(xy[:, 0], xy[:, 1]), stn.rotation(theta), stn.scale(sz[:, 0]))
    crop, pose = classifier_inputs(stn.warp(depth, lam, (CROP_PX, CROP_PX)), sz[:, 1], cfg.pose_mean, cfg.pose_std)
    return classifier(crop, pose)[:, 1]


def predict(model, d: Data, cfg: GQSTNConfig, classifier, batch: int = 16):
    """Per held-out image: (xy (N, 2), θ (N,), (s, z) (N, 2), P(robust) (N,)) of ``model`` (GQ-STN or a baseline)."""
    model.eval()
    out = [[], [], [], []]
    with torch.no_grad():
        for a in range(0, len(d.ids), batch):
            x = d.x[a:a + batch]
            if isinstance(model, GQSTN):
                o = model.run(x)
                r = (o.xy, o.theta, o.sz, o.p_robust)
            elif isinstance(model, MultiGrasp):
                xy, th, sz, _ = model.decode(model(x))
                r = (xy, th, sz, crop_p_robust(classifier, x, xy, th, sz, cfg))
            else:
                xy, th, sz = decode_regression_torch(model(x), cfg.gamma)
                r = (xy, th, sz, crop_p_robust(classifier, x, xy, th, sz, cfg))
            for lst, t in zip(out, r, strict=True):
                lst.append(t)
    model.train()
    return [torch.cat(o).numpy() for o in out]


def evaluate(model, d: Data, cfg: GQSTNConfig, classifier, threshold: float = 0.5) -> dict:
    """Held-out rectangle metric and robust precision (module docstring) of ``model`` on ``d``."""
    if not d.ids:
        return {"rect": float("nan"), "robust": float("nan"), "mean_p": float("nan")}
    xy, th, sz, p = predict(model, d, cfg, classifier)
    c = cfg.to_dict()
    ok = [rectangle_metric(decode_grasp(xy[i], th[i], sz[i], p[i], c, d.tfs[i])[0], d.labels[i])
          for i in range(len(d.ids))]
    return {"rect": float(np.mean(ok)), "robust": float(np.mean(p >= threshold)), "mean_p": float(np.mean(p))}


# --- training ----------------------------------------------------------------------------------------

def _phases(schedule, steps: int) -> list[tuple[int, float, float, bool]]:
    n = [int(round(f * steps)) for f, *_ in schedule]
    return [(k, xi, lr, tf) for k, (_, xi, lr, tf) in zip(n, schedule, strict=True)]


def train_gqstn(cfg: GQSTNTrainConfig, data: tuple[Data, Data, dict], classifier) -> tuple[GQSTN, dict]:
    """Train GQ-STN with the ξ schedule (module docstring); returns (the kept network, summary with history).

    Args:
        classifier: the frozen :class:`grasp_core.nn.gqcnn.GQCNN`.
    """
    from tqdm import tqdm

    tr, he, info = data
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = GQSTN(cfg.net, classifier)
    if cfg.init:
        net.load_state_dict(torch.load(cfg.init))
    params = [p for m in net.stns() for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, weight_decay=cfg.weight_decay)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fixed = rng.choice(len(tr.ids), min(cfg.batch_size * 4, len(tr.ids)), replace=False)
    fixed_tg = _batch_targets(tr, fixed, np.random.default_rng(1), cfg.net.rotation)
    history, step, t0 = [], 0, time.perf_counter()
    best, best_state = -1.0, None

    def train_loc() -> float:
        net.eval()
        with torch.no_grad():
            v = float(localisation_loss(net, net.run(tr.x[fixed], teacher_affines(fixed_tg)), fixed_tg)[0])
        net.train()
        return v

    def record(phase, xi, extra):
        ev = evaluate(net, he, cfg.net, classifier)
        h = {"step": step, "phase": phase, "xi": xi, "train_loc_fixed": train_loc(), **extra, **ev,
             "minutes": (time.perf_counter() - t0) / 60}
        history.append(h)
        return h

    record(-1, 1.0, {})
    stopped = False
    for k, (n, xi, lr, teacher) in enumerate(_phases(cfg.schedule, cfg.steps)):
        if k < cfg.start_phase:
            continue
        for g in opt.param_groups:
            g["lr"] = lr * cfg.lr_scale
        acc = {"loss": [], "loc": [], "rob": []}
        bar = tqdm(range(n), desc=f"gqstn phase {k} xi={xi} lr={lr * cfg.lr_scale:.0e}", unit="step", mininterval=5)
        for j in bar:
            idx = rng.choice(len(tr.ids), cfg.batch_size)
            tg = _batch_targets(tr, idx, rng, cfg.net.rotation)
            o = net.run(tr.x[idx], teacher_affines(tg) if teacher else None)
            lloc, parts = localisation_loss(net, o, tg)
            lrob = robustness_loss(o)
            loss = xi * lloc + (1 - xi) * lrob
            if xi == 0 and cfg.scale_anchor:
                loss = loss + cfg.scale_anchor * parts["scale_t"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            for key, v in (("loss", loss), ("loc", lloc), ("rob", lrob)):
                acc[key].append(v.item())
            bar.set_postfix(loc=f"{np.mean(acc['loc'][-20:]):.3f}", rob=f"{np.mean(acc['rob'][-20:]):.3f}")
            last = j == n - 1
            if last or (cfg.eval_every and step % cfg.eval_every == 0):
                h = record(k, xi, {"train_loss": float(np.mean(acc["loss"][-cfg.eval_every:])),
                                   "train_l_loc": float(np.mean(acc["loc"][-cfg.eval_every:])),
                                   "train_l_rob": float(np.mean(acc["rob"][-cfg.eval_every:]))})
                if xi == 0 and not teacher and h["robust"] > best:
                    best, best_state = h["robust"], {kk: v.clone() for kk, v in net.state_dict().items()}
            if cfg.max_minutes and (time.perf_counter() - t0) / 60 > cfg.max_minutes:
                stopped = True
                break
        torch.save(net.state_dict(), out / f"gqstn_phase{k}.pt")
        if stopped:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    final = evaluate(net, he, cfg.net, classifier)
    torch.save(net.state_dict(), out / "gqstn.pt")
    summary = {"info": info, "history": history, "heldout": final, "best_robust": best, "steps_run": step,
               "stopped_by_time": stopped, "minutes": (time.perf_counter() - t0) / 60}
    (out / "history.json").write_text(json.dumps(history, indent=1))
    plot_history(history, out / "gqstn_curves.png", "GQ-STN")
    return net.eval(), summary


def train_baseline(kind: str, cfg: GQSTNTrainConfig, data: tuple[Data, Data, dict], classifier):
    """Train ``kind`` ∈ {"direct", "multigrasp"} with its own loss (module docstring); returns (net, summary)."""
    from tqdm import tqdm

    tr, he, _ = data
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    net = DirectGrasp(cfg.net) if kind == "direct" else MultiGrasp(cfg.net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=cfg.weight_decay)
    history, step, t0 = [], 0, time.perf_counter()
    best, best_state = -1.0, None
    for k, (n, _, lr, _) in enumerate(_phases(cfg.schedule, cfg.baseline_steps)):
        for g in opt.param_groups:
            g["lr"] = lr * cfg.lr_scale
        losses = []
        bar = tqdm(range(n), desc=f"{kind} phase {k} lr={lr * cfg.lr_scale:.0e}", unit="step", mininterval=5)
        for j in bar:
            idx = rng.choice(len(tr.ids), cfg.batch_size)
            tg = _batch_targets(tr, idx, rng, "signed")
            out = net(tr.x[idx])
            loss = (torch.nn.functional.mse_loss(out, regression_target(tg, cfg.net.gamma)) if kind == "direct"
                    else net.loss(out, tg))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            losses.append(float(loss))
            if j == n - 1 or (cfg.eval_every and step % cfg.eval_every == 0):
                ev = evaluate(net, he, cfg.net, classifier)
                history.append({"step": step, "phase": k, "train_loss": float(np.mean(losses[-cfg.eval_every:])),
                                **ev, "minutes": (time.perf_counter() - t0) / 60})
                if ev["rect"] > best:
                    best, best_state = ev["rect"], {kk: v.clone() for kk, v in net.state_dict().items()}
    if best_state is not None:
        net.load_state_dict(best_state)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out / f"{kind}.pt")
    (out / f"{kind}_history.json").write_text(json.dumps(history, indent=1))
    plot_history(history, out / f"{kind}_curves.png", {"direct": "DirectGrasp", "multigrasp": "MultiGrasp"}[kind])
    return net.eval(), {"history": history, "heldout": evaluate(net, he, cfg.net, classifier), "best_rect": best,
                        "minutes": (time.perf_counter() - t0) / 60}


def plot_history(history: list[dict], path: Path, title: str) -> None:
    """PNG of a run's history: training losses (L_loc, L_rob or the baseline's loss) and the held-out
    rectangle metric / robust precision against the step; ξ where the run has it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = [r for r in history if "train_loss" in r or "train_l_loc" in r]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80)
    st = [r["step"] for r in h]
    for key, lab in (("train_l_loc", "L_loc"), ("train_l_rob", "L_rob"), ("train_loss", "L_tot")):
        if h and key in h[0]:
            ax[0].plot(st, [r[key] for r in h], label=lab)
    if h and "xi" in h[0]:
        ax[0].plot(st, [r["xi"] for r in h], "k:", label="ξ")
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("training loss")
    ax[0].legend()
    sa = [r["step"] for r in history]
    ax[1].plot(sa, [r["rect"] for r in history], "g.-", label="rectangle metric")
    ax[1].plot(sa, [r["robust"] for r in history], "m.-", label="robust precision")
    ax[1].set_ylim(0, 1)
    ax[1].set_xlabel("step")
    ax[1].set_ylabel("held-out")
    ax[1].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
