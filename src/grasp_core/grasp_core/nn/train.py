"""Training of GG-CNN / GG-CNN2 on a Jacquard-layout dataset (e.g. from ``grasp-dataset``).

Input pipeline (``order="inference"``, the default) is the detector's
(:meth:`grasp_core.inference.GraspDetector.preprocess`): noisy depth (metres,
NaN holes) → [augmentation: range/ramp, rotation about the crop centre, random
crop offset/zoom] → :class:`CropTransform` ``.apply(INTER_NEAREST)`` →
:func:`inpaint_depth` → :func:`normalise_depth` (``mean_clip``) → [flip].
Without augmentation the crop is exactly ``CropTransform.centre(shape, crop, size)``.
``order="inpaint_first"`` (inpaint the full frame, then crop with INTER_AREA)
is the order the v1 synthetic models were trained with; on the held-out split
both orders give the same accuracy (see the model cards).

Targets: :func:`grasp_core.targets.grasp_target_maps` of the rectangles mapped
into network pixels. Loss: :func:`grasp_core.nn.ggcnn.ggcnn_loss` (MSE of the
four maps, Morrison et al. 2018). Optimiser: Adam, cosine learning-rate decay.

The split is by scene (image id ``SSSSSS_V``): scenes with ``index % 10 ==
heldout_mod`` (default 9) are held out, so no view of a held-out scene is
trained on.
"""
from __future__ import annotations

import json
import math
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..depth import CropTransform, inpaint_depth, normalise_depth
from ..evaluate import rectangle_accuracy, top_grasp
from ..grasp import Grasp
from ..synth.jacquard import list_jacquard, parse_jacquard_grasps
from ..targets import WIDTH_SCALE_PX, grasp_target_maps, rotate_grasps
from .ggcnn import build, ggcnn_loss


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


def _read_depth(path: str) -> np.ndarray:
    d = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if d is None:
        raise FileNotFoundError(f"cannot read {path}")
    d = d.astype(np.float32)
    with np.errstate(invalid="ignore"):
        d[~np.isfinite(d) | (d <= 0)] = np.nan
    return d


def _inpaint_one(path: str) -> np.ndarray:
    return inpaint_depth(_read_depth(path))


def load_depths(folder: Path, ids: list[str], inpainted: bool, workers: int = 2) -> np.ndarray:
    """(N, H, W) float32 noisy depths in metres, cached in ``folder/.cache`` (memory-mapped).

    Args:
        inpainted: False → raw, NaN holes (``order="inference"``); True → the full
            frame inpainted (``order="inpaint_first"``).

    The cache is keyed by the number of images; delete ``.cache`` after changing the data.
    """
    from tqdm import tqdm

    kind = "inpainted" if inpainted else "raw"
    cache = folder / ".cache" / f"{kind}_{len(ids)}.npy"
    if cache.is_file():
        return np.load(cache, mmap_mode="r")
    cache.parent.mkdir(exist_ok=True)
    paths = [str(folder / (i + "_stereo_depth.tiff")) for i in ids]
    fn = _inpaint_one if inpainted else _read_depth
    first = fn(paths[0])
    tmp = cache.with_suffix(".tmp.npy")
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(ids), *first.shape))
    with mp.get_context("spawn").Pool(workers) as pool:
        for k, d in enumerate(tqdm(pool.imap(fn, paths, chunksize=8), total=len(paths),
                                   desc=f"load {kind} depth", unit="img")):
            arr[k] = d
    arr.flush()
    del arr
    tmp.replace(cache)
    return np.load(cache, mmap_mode="r")


_RANGE_CACHE: dict = {}


def _range_factor(h: int, w: int, f: float) -> np.ndarray:
    """(H, W) float32 ratio range / z-depth of a centred pinhole camera of focal ``f`` px."""
    key = (h, w, round(f))
    if key not in _RANGE_CACHE:
        u = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / key[2]
        v = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / key[2]
        _RANGE_CACHE[key] = np.sqrt(1 + u[None, :] ** 2 + v[:, None] ** 2).astype(np.float32)
    return _RANGE_CACHE[key]


def make_sample(depth: np.ndarray, grasps: list[Grasp], size: int, crop_size: int = 300,
                rng: np.random.Generator | None = None, zoom_range=(0.8, 1.2), shift_px: int = 30,
                clip: float = 1.0, range_prob: float = 0.3, ramp_prob: float = 0.3, order: str = "inference"):
    """One network input and its targets.

    Args:
        depth: (H, W) float32 depth, metres: raw with NaN holes for ``order="inference"``
            (crop with INTER_NEAREST, then inpaint: the detector's order), already
            inpainted for ``order="inpaint_first"`` (crop with INTER_AREA).
        grasps: rectangles in source px.
        size: network input side (px).
        crop_size: inference crop side (px).
        rng: None → the inference centre crop; else random rotation (uniform
            over 360°), zoom (crop side × U(zoom_range)), shift (± shift_px) and
            horizontal flip; with probability ``range_prob`` the z-depth is turned
            into range (distance along the ray, ``z·sqrt(1 + x̄² + ȳ²)``), as some
            datasets store it (Cornell's point-cloud-derived depth looks like range);
            with probability ``ramp_prob`` a random planar ramp (≤ 1 mm/px) is added.

    Returns:
        (x (size, size) float32 normalised depth, targets (4, size, size) float32,
        grasps in network px).
    """
    h, w = depth.shape
    if rng is not None and rng.uniform() < range_prob:
        depth = depth * _range_factor(h, w, float(rng.uniform(480, 570)))
    if rng is not None and rng.uniform() < ramp_prob:  # extra planar tilt, up to ±1 mm/px
        gx, gy = rng.uniform(-1e-3, 1e-3, 2)
        depth = depth + (gx * (np.arange(w, dtype=np.float32) - w / 2)[None, :]
                         + gy * (np.arange(h, dtype=np.float32) - h / 2)[:, None]).astype(np.float32)
    if rng is None:
        tf = CropTransform.centre(depth.shape, crop_size, size)
        g = grasps
    else:
        ang = float(rng.uniform(-math.pi, math.pi))
        s = int(round(crop_size * rng.uniform(*zoom_range)))
        s = min(s, h)
        cx = (w - 1) / 2 + rng.uniform(-shift_px, shift_px)
        cy = (h - 1) / 2 + rng.uniform(-shift_px, shift_px)
        m = cv2.getRotationMatrix2D((cx, cy), math.degrees(ang), 1.0)
        interp = cv2.INTER_NEAREST if order == "inference" else cv2.INTER_LINEAR
        depth = cv2.warpAffine(depth, m, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
        g = rotate_grasps(grasps, m, ang)
        tf = CropTransform(int(round(cx - s / 2 + 0.5)), int(round(cy - s / 2 + 0.5)), s, size)
    if order == "inference":
        crop = inpaint_depth(tf.apply(depth, cv2.INTER_NEAREST))
    elif order == "inpaint_first":
        crop = tf.apply(depth)
    else:
        raise ValueError(f"unknown preprocessing order {order!r}")
    x = normalise_depth(crop, "mean_clip", clip)
    gn = []
    for q in g:
        u, v = tf.from_source(q.u, q.v)
        gn.append(Grasp(float(u), float(v), q.angle, q.width_px / tf.scale, q.length_px / tf.scale))
    if rng is not None and rng.uniform() < 0.5:  # horizontal flip: u → size-1-u, Φ → −Φ
        x = np.ascontiguousarray(x[:, ::-1])
        gn = [Grasp(size - 1 - q.u, q.v, -q.angle if q.angle < math.pi / 2 else q.angle,
                    q.width_px, q.length_px) for q in gn]
    gn = [q for q in gn if -q.width_px < q.u < size + q.width_px and -q.width_px < q.v < size + q.width_px]
    t = np.stack(grasp_target_maps(gn, (size, size), WIDTH_SCALE_PX))
    return x, t, gn


def split_ids(ids: list[str], heldout_mod: int = 9) -> tuple[list[int], list[int]]:
    """Indices of train and held-out images, split by scene number (``SSSSSS_V``)."""
    train, held = [], []
    for k, i in enumerate(ids):
        scene = int(Path(i).name.split("_")[0]) if Path(i).name.split("_")[0].isdigit() else hash(i)
        (held if scene % 10 == heldout_mod else train).append(k)
    return train, held


def predict_maps(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Run ``net`` on (N, S, S) float32 inputs → (N, 4, S, S) float32 maps."""
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(x[:, None])))
    return torch.cat(out, 1).numpy()


def evaluate_heldout(net, depths, grasps, idx, cfg: TrainConfig, batch: int = 32):
    """Held-out loss and rectangle-metric accuracy (centre crop, images with labels only)."""
    idx = [i for i in idx if grasps[i]][: cfg.max_val_images]
    preds, gts, losses = [], [], []
    net.eval()
    for b in range(0, len(idx), batch):
        xs, ts, gs = [], [], []
        for i in idx[b:b + batch]:
            x, t, gn = make_sample(np.asarray(depths[i]), grasps[i], cfg.input_size, cfg.crop_size,
                                   clip=cfg.depth_clip, order=cfg.order)
            xs.append(x)
            ts.append(t)
            gs.append(gn)
        y = predict_maps(net, np.stack(xs))
        tt = torch.from_numpy(np.stack(ts))
        yy = torch.from_numpy(y)
        loss, _ = ggcnn_loss([yy[:, k:k + 1] for k in range(4)], [tt[:, k:k + 1] for k in range(4)])
        losses.append(float(loss) * len(xs))
        for m, gn in zip(y, gs, strict=True):
            preds.append(top_grasp(*m))
            gts.append(gn)
    net.train()
    keep = [k for k, g in enumerate(gts) if g]
    acc = rectangle_accuracy([preds[k] for k in keep], [gts[k] for k in keep]) if keep else float("nan")
    return sum(losses) / max(len(idx), 1), acc, len(keep)


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(8, 3), dpi=80)
    ep = [h["epoch"] for h in history]
    ax[0].plot(ep, [h["train_loss"] for h in history], label="train")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="held-out")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("loss (sum of MSE)")
    ax[0].legend()
    ax[1].plot(ep, [h["val_acc"] for h in history], "g.-")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("held-out rectangle acc.")
    ax[1].set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def train(cfg: TrainConfig) -> dict:
    """Train, keeping the best held-out-accuracy checkpoint.

    Writes ``out_dir/{last,best}.pt``, ``history.json``, ``curves.png``.

    Returns:
        summary dict (best accuracy, epochs, minutes, image counts, config).

    Raises:
        FileNotFoundError: no images in ``cfg.data``.
    """
    from tqdm import tqdm

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    folder = Path(cfg.data)
    ids = list_jacquard(folder)
    if not ids:
        raise FileNotFoundError(f"no *_grasps.txt in {folder}")
    grasps = [parse_jacquard_grasps((folder / (i + "_grasps.txt")).read_text()) for i in ids]
    depths = load_depths(folder, ids, inpainted=cfg.order == "inpaint_first")
    tr, held = split_ids(ids, cfg.heldout_mod)
    tr = [i for i in tr if grasps[i]] + [i for i in tr if not grasps[i]][: len(tr) // 20]
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = build(cfg.arch)
    if cfg.init:
        net.load_state_dict(torch.load(cfg.init, map_location="cpu"))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    t0 = time.time()
    deadline = t0 + cfg.max_minutes * 60
    history, best, best_acc = [], -math.inf, float("nan")
    steps_per_epoch = len(tr) // cfg.batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs * steps_per_epoch),
                                                       eta_min=cfg.lr * 0.05)
    stop = False
    for epoch in range(1, cfg.epochs + 1):
        perm = rng.permutation(tr)
        run = 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"{cfg.arch} epoch {epoch}/{cfg.epochs}", unit="batch",
                   mininterval=5)
        for b in bar:
            xs, ts = [], []
            for i in perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]:
                x, t, _ = make_sample(np.asarray(depths[i]), grasps[i], cfg.input_size, cfg.crop_size, rng,
                                      cfg.zoom_range, cfg.shift_px, cfg.depth_clip, order=cfg.order)
                xs.append(x)
                ts.append(t)
            x = torch.from_numpy(np.stack(xs)[:, None])
            t = torch.from_numpy(np.stack(ts))
            pred = net(x)
            loss, parts = ggcnn_loss(pred, [t[:, k:k + 1] for k in range(4)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run += float(loss)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{run / (b + 1):.4f}")
            if time.time() > deadline:
                stop = True
                break
        vl, va, nv = evaluate_heldout(net, depths, grasps, held, cfg)
        history.append({"epoch": epoch, "train_loss": run / max(b + 1, 1), "val_loss": vl, "val_acc": va,
                        "minutes": (time.time() - t0) / 60})
        print(f"epoch {epoch}: train {run / max(b + 1, 1):.4f} held-out loss {vl:.4f} acc {va:.3f} "
              f"({nv} images) {(time.time() - t0) / 60:.1f} min", flush=True)
        torch.save(net.state_dict(), out / "last.pt")
        score = va if va == va else -vl  # no labelled held-out image: use the loss
        if score > best:
            best, best_acc = score, va
            torch.save(net.state_dict(), out / "best.pt")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        plot_curves(history, out / "curves.png", f"{cfg.arch} on {folder.name}")
        if stop:
            break
    summary = {
        "best_val_acc": best_acc, "epochs": len(history), "minutes": (time.time() - t0) / 60,
        "train_images": len(tr), "heldout_images": len(held), "images": len(ids),
        "config": asdict(cfg),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
