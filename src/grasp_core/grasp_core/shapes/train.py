"""Training data, training loop and ONNX export of the SSD grasp detector (:mod:`.ssd`).

Data: ``n_images`` images of :func:`grasp_core.shapes.data.render_shapes` with 1-4 of
the four training shapes (cylinder, L, star, T) at random positions, image ``k``
from ``numpy.random.default_rng([seed, k])``; cached as ``data.npz`` (plain arrays).
Input modality (``ShapeTrainConfig.modality``): ``depth`` (1 channel,
:func:`~grasp_core.shapes.data.normalise_depth_image`) or ``rgb`` (3 channels, the colour
render of the same scene, :func:`~grasp_core.shapes.data.normalise_rgb_image`; the paper's input).
Augmentation: the 8 flips/transposes of the square image (boxes follow).
Writes ``out_dir/{weights.npz (best so far, after every epoch), history.json, curves.png, summary.json}``; the CLI
exports the ONNX network and its model card.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..grasp import Grasp, rectangle_metric, wrap_angle
from .data import IMAGE_SIZE, TRAIN_SHAPES, normalise_depth_image, normalise_rgb_image, random_shape_list, render_shapes
from .ssd import SSDExport, SSDGrasp, default_boxes, match, multibox_loss, nms, state_to_arrays


@dataclass
class ShapeTrainConfig:
    """Settings of :func:`train_ssd` (sizes in images, times in minutes)."""

    out_dir: str = "out/shapes_train"
    n_images: int = 2000
    n_heldout: int = 100
    seed: int = 0
    epochs: int = 6
    batch_size: int = 8
    lr: float = 2e-3
    max_minutes: float = 60.0
    threads: int = 1
    widths: tuple = (16, 16, 32, 32, 48, 48, 48, 64, 64, 64)
    modality: str = "depth"


def make_dataset(n: int, seed: int, desc: str = "render", modality: str = "depth"
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Render ``n`` training images.

    Returns:
        (x: (n, 300, 300) float16 normalised depth, or (n, 300, 300, 3) uint8 colour for ``rgb``;
        list of (M, 5) float32 boxes (u, v, w, h, θ)).
    """
    from tqdm import tqdm

    if modality not in ("depth", "rgb"):
        raise ValueError(f"unknown modality {modality!r}")
    xs = (np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), np.float16) if modality == "depth"
          else np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8))
    boxes = []
    for k in tqdm(range(n), desc=desc, unit="img", mininterval=5):
        rng = np.random.default_rng([seed, k])
        im = render_shapes(random_shape_list(rng, TRAIN_SHAPES, (1, 4)), rng)
        xs[k] = normalise_depth_image(im.depth) if modality == "depth" else im.rgb
        boxes.append(im.boxes)
    return xs, boxes


def to_input(x: np.ndarray) -> np.ndarray:
    """A cached image → (C, S, S) float32 network input ((S, S) depth → C = 1; (S, S, 3) uint8 colour → C = 3)."""
    return x.astype(np.float32)[None] if x.ndim == 2 else normalise_rgb_image(x)


def augment(x: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random flip/transpose of a square (S, S) or (S, S, C) image and its (M, 5) boxes.

    Horizontal flip: u' = S − 1 − u, θ' = −θ; vertical: v' = S − 1 − v, θ' = −θ;
    transpose: (u', v') = (v, u), θ' = −π/2 − θ (wrapped to (−π/2, π/2]).
    """
    s = x.shape[0]
    b = boxes.copy()
    if rng.uniform() < 0.5:
        x = x[:, ::-1]
        b[:, 0] = s - 1 - b[:, 0]
        b[:, 4] = -b[:, 4]
    if rng.uniform() < 0.5:
        x = x[::-1, :]
        b[:, 1] = s - 1 - b[:, 1]
        b[:, 4] = -b[:, 4]
    if rng.uniform() < 0.5:
        x = x.swapaxes(0, 1)
        b[:, [0, 1]] = b[:, [1, 0]]
        b[:, 4] = -math.pi / 2 - b[:, 4]
    b[:, 4] = wrap_angle(b[:, 4])
    return np.ascontiguousarray(x), b


@torch.no_grad()
def heldout_accuracy(net: SSDGrasp, xs: np.ndarray, boxes: list[np.ndarray]) -> float:
    """Fraction of images whose best detection is a correct grasp (rectangle metric: IoU > 0.25, |Δθ| < 30°)."""
    net.eval()
    exp = SSDExport(net)
    ok = 0
    for i in range(0, len(xs), 16):
        scores, dec = exp(torch.from_numpy(np.stack([to_input(x) for x in xs[i:i + 16]])))
        for j in range(scores.shape[0]):
            keep = nms(dec[j].numpy(), scores[j].numpy(), score_threshold=0.0, top_k=1)
            if keep.size == 0:
                continue
            b = dec[j, keep[0]].numpy()
            gt = [Grasp(float(g[0]), float(g[1]), float(g[4]), float(g[2]), float(g[3])) for g in boxes[i + j]]
            ok += rectangle_metric(Grasp(float(b[0]), float(b[1]), float(b[4]), float(b[2]), float(b[3])), gt)
    net.train()
    return ok / max(len(xs), 1)


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ep = [h["epoch"] for h in history]
    ax[0].plot(ep, [h["train_loss"] for h in history], "b.-", label="train")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("multibox loss")
    ax[0].legend()
    ax[1].plot(ep, [h["heldout_acc"] for h in history], "g.-")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("held-out top-1 grasp acc.")
    ax[1].set_ylim(0, 1)
    fig.suptitle("SSD grasp detector on simulated shapes")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def train_ssd(cfg: ShapeTrainConfig) -> tuple[SSDGrasp, dict]:
    """Render the data (or load the cache), train, keep the best held-out network.

    Returns:
        (the best network in eval mode, summary dict).
    """
    from tqdm import tqdm

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "data.npz"
    t_data = time.time()
    xs = None
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            xs, flat, counts, seed = z["x"], z["boxes"], z["counts"], int(z["seed"]) if "seed" in z else cfg.seed
        boxes = np.split(flat, np.cumsum(counts)[:-1])
        if len(xs) != cfg.n_images + cfg.n_heldout or seed != cfg.seed or (xs.ndim == 4) != (cfg.modality == "rgb"):
            xs = None  # another data set: render again
    if xs is None:
        xs, boxes = make_dataset(cfg.n_images + cfg.n_heldout, cfg.seed, modality=cfg.modality)
        np.savez(cache, x=xs, boxes=np.concatenate(boxes), counts=np.array([len(b) for b in boxes]),
                 seed=np.array(cfg.seed))
    t_data = time.time() - t_data
    tr, ho = np.arange(cfg.n_images), np.arange(cfg.n_images, cfg.n_images + cfg.n_heldout)
    priors = default_boxes()
    net = SSDGrasp(tuple(cfg.widths), in_channels=3 if cfg.modality == "rgb" else 1)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    steps = len(tr) // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(steps * cfg.epochs, 1), pct_start=0.1)
    rng = np.random.default_rng([cfg.seed, 99])
    t0 = time.time()
    deadline = t0 + cfg.max_minutes * 60
    history, best, best_state = [], -1.0, state_to_arrays(net)
    stop = False
    for epoch in range(1, cfg.epochs + 1):
        perm = rng.permutation(tr)
        run = 0.0
        bar = tqdm(range(steps), desc=f"ssd epoch {epoch}/{cfg.epochs}", unit="batch", mininterval=10)
        for b in bar:
            xb, lb, tb = [], [], []
            for i in perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]:
                x, bx = augment(xs[i], boxes[i], rng)
                lab, tgt = match(bx, priors)
                xb.append(x)
                lb.append(lab)
                tb.append(tgt)
            conf, loc = net(torch.from_numpy(np.stack([to_input(x) for x in xb])))
            loss, parts = multibox_loss(conf, loc, torch.from_numpy(np.stack(lb)), torch.from_numpy(np.stack(tb)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run += float(loss)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{run / (b + 1):.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
            if time.time() > deadline:
                stop = True
                break
        acc = heldout_accuracy(net, xs[ho], [boxes[i] for i in ho])
        history.append({"epoch": epoch, "train_loss": run / (b + 1), "heldout_acc": acc,
                        "minutes": (time.time() - t0) / 60})
        print(f"epoch {epoch}: loss {run / (b + 1):.3f} held-out top-1 grasp acc {acc:.3f} "
              f"{(time.time() - t0) / 60:.1f} min", flush=True)
        if acc >= best:
            best, best_state = acc, state_to_arrays(net)
            np.savez(out / "weights.npz", **best_state)
        (out / "history.json").write_text(json.dumps(history, indent=1))
        plot_curves(history, out / "curves.png")
        if stop:
            break
    np.savez(out / "weights.npz", **best_state)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in best_state.items()})
    summary = {"heldout_top1_grasp_accuracy": best, "epochs": len(history),
               "train_minutes": (time.time() - t0) / 60, "data_minutes": t_data / 60,
               "train_images": len(tr), "heldout_images": len(ho), "config": asdict(cfg)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return net.eval(), summary
