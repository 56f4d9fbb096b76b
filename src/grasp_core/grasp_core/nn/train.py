"""Training of GG-CNN / GG-CNN2 / MTG-CNN on a Jacquard-layout dataset (e.g. from ``grasp-dataset``).

Modalities (``TrainConfig.modality``): ``depth`` (1 channel), ``rgb`` (3,
``normalise_rgb("mean_unit")`` as the detector), ``rgbd`` (4, [depth, R, G, B]).
Auxiliary targets for MTG-CNN (``TrainConfig.aux``): ``depth`` = the perfect
depth of the crop, ``mean_clip``-normalised; ``saliency`` = the object mask
(``<id>_mask.png`` > 0, or, where a folder has no masks, the pixels more than
5 mm above a plane fitted to the perfect depth). Every augmentation (rotation,
zoom, shift, flip) is one geometric transform applied to the input channels,
the grasp rectangles and the auxiliary target alike
(:func:`make_multitask_sample`). Losses: :mod:`grasp_core.nn.losses` (L, L_p,
auxiliary MSE). A checkpoint with the optimiser state is written every epoch
(``ckpt/epoch_NNN.pt`` and ``state.pt``); ``TrainConfig.resume`` continues from
``state.pt``. ``TrainConfig.folds``/``fold`` select a k-fold split by scene
(:func:`kfold_split`) instead of the fixed held-out tenth.

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
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..datasets import list_jacquard, parse_jacquard_grasps, read_depth, read_mask, read_rgb
from ..depth import CropTransform, inpaint_depth, normalise_depth, normalise_rgb
from ..evaluate import rectangle_accuracy, scene_of, top_grasp
from ..grasp import Grasp
from ..targets import WIDTH_SCALE_PX, grasp_target_maps, rotate_grasps
from .losses import total_loss
from .mtgcnn import build_model


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


def _read_depth(path: str) -> np.ndarray:
    """(H, W) float32 metres, NaN holes (:func:`grasp_core.datasets.read_depth`; DatasetError when unreadable)."""
    return read_depth(path)


def _inpaint_one(path: str) -> np.ndarray:
    return inpaint_depth(_read_depth(path))


def load_depths(folder: Path, ids: list[str], inpainted: bool, workers: int = 2) -> np.ndarray:
    """(N, H, W) float32 noisy depths in metres, cached in ``folder/.cache`` (memory-mapped).

    Args:
        inpainted: False → raw, NaN holes (``order="inference"``); True → the full
            frame inpainted (``order="inpaint_first"``).

    The cache is keyed by the number of images; delete ``.cache`` after changing the data.
    """
    kind = "inpainted" if inpainted else "raw"
    paths = [str(folder / (i + "_stereo_depth.tiff")) for i in ids]
    return _cached_stack(folder / ".cache" / f"{kind}_{len(ids)}.npy", paths,
                         _inpaint_one if inpainted else _read_depth, np.float32, f"load {kind} depth", workers)


def _cached_stack(cache: Path, paths: list[str], fn, dtype, desc: str, workers: int) -> np.ndarray:
    """``fn(path)`` of every path stacked into the memory-mapped ``cache`` (.npy), built once with a
    process pool and a progress bar; later calls only map it."""
    from tqdm import tqdm

    if cache.is_file():
        return np.load(cache, mmap_mode="r")
    cache.parent.mkdir(exist_ok=True)
    first = fn(paths[0])
    tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")  # one writer per process; the rename is atomic
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(paths), *first.shape))
    with mp.get_context("spawn").Pool(workers) as pool:
        for k, d in enumerate(tqdm(pool.imap(fn, paths, chunksize=8), total=len(paths), desc=desc, unit="img")):
            arr[k] = d
    arr.flush()
    del arr
    tmp.replace(cache)
    return np.load(cache, mmap_mode="r")


def table_plane_mask(perfect_depth: np.ndarray, above_m: float = 0.005, inlier_m: float = 0.003,
                     iterations: int = 200, seed: int = 0) -> np.ndarray:
    """(H, W) uint8 object mask from a perfect depth image: pixels > ``above_m`` metres in front of the table.

    The table is the dominant plane d = a·u + b·v + c of the image (depth in metres
    as a function of pixel column u and row v; a perspective view of a plane is not
    exactly linear in d, so the inlier band is kept small and the fit is local to the
    table), fitted on every 4th pixel by scikit-learn's ``RANSACRegressor`` (Fischler and
    Bolles, CACM 1981): at most ``iterations`` random pixel triples (seeded), inliers within
    ``inlier_m``, then a least-squares refit on the best inlier set. Objects are
    closer to the camera than the table (negative residual); the floor beyond the
    table edge is farther (positive) and stays background. Used for the saliency
    target where a folder has no ``<id>_mask.png``.
    """
    from sklearn.linear_model import LinearRegression, RANSACRegressor

    h, w = perfect_depth.shape
    vv, uu = np.mgrid[0:h:4, 0:w:4]
    d = perfect_depth[::4, ::4]
    ok = np.isfinite(d)
    uv = np.stack([uu[ok], vv[ok]], 1).astype(np.float64)
    ransac = RANSACRegressor(LinearRegression(), min_samples=3, residual_threshold=inlier_m, max_trials=iterations,
                             loss="absolute_error", random_state=seed)
    ransac.fit(uv, d[ok].astype(np.float64))
    (a, b), c = ransac.estimator_.coef_, ransac.estimator_.intercept_
    vf, uf = np.mgrid[0:h, 0:w]
    res = perfect_depth - (a * uf + b * vf + c)
    return (np.nan_to_num(res, nan=0.0) < -above_m).astype(np.uint8)


def _read_perfect(path: str) -> np.ndarray:
    return _read_depth(path)


def _read_rgb(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB (:func:`grasp_core.datasets.read_rgb`)."""
    return read_rgb(path)


def _read_mask(base: str) -> np.ndarray:
    """0/1 object mask of image ``base`` (folder/id): its ``_mask.png`` > 0, else from the perfect depth."""
    if Path(base + "_mask.png").is_file():
        return (read_mask(base + "_mask.png") > 0).astype(np.uint8)
    return table_plane_mask(_read_depth(base + "_perfect_depth.tiff"))


_STACKS = {  # kind → (reader, path suffix, dtype)
    "perfect": (_read_perfect, "_perfect_depth.tiff", np.float32),
    "rgb": (_read_rgb, "_RGB.png", np.uint8),
    "mask": (_read_mask, "", np.uint8),
}


def load_stack(folder: Path, ids: list[str], kind: str, workers: int = 2) -> np.ndarray:
    """(N, H, W[, 3]) images of one kind, cached in ``folder/.cache/<kind>_<N>.npy`` (memory-mapped).

    Args:
        kind: ``raw`` / ``inpainted`` (noisy depth, see :func:`load_depths`), ``perfect``
            (float32 metres, NaN where invalid), ``rgb`` (uint8) or ``mask`` (uint8 0/1:
            ``<id>_mask.png`` > 0, else :func:`table_plane_mask` of the perfect depth).

    The cache is keyed by the number of images (ids are taken in sorted order);
    delete ``.cache`` after changing the data.
    """
    if kind in ("raw", "inpainted"):
        return load_depths(folder, ids, inpainted=kind == "inpainted", workers=workers)
    fn, suffix, dtype = _STACKS[kind]
    paths = [str(folder / (i + suffix)) for i in ids]
    return _cached_stack(folder / ".cache" / f"{kind}_{len(ids)}.npy", paths, fn, dtype, f"load {kind}", workers)


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
    """One depth network input and its targets (:func:`make_multitask_sample` with depth only).

    Returns:
        (x (size, size) float32 normalised depth, targets (4, size, size) float32,
        grasps in network px).
    """
    s = make_multitask_sample(depth, grasps, size, crop_size, rng, zoom_range, shift_px, clip, range_prob,
                              ramp_prob, order)
    return s.x[0], s.targets, s.grasps


@dataclass
class Sample:
    """One training/evaluation sample in network pixels (S = input side).

    Attributes:
        x: (C, S, S) float32 input, channels [depth][, R, G, B].
        targets: (4, S, S) float32 pos, cos 2Φ, sin 2Φ, width/150.
        aux: (1, S, S) float32 auxiliary target, or None.
        grasps: the labels in network px.
    """

    x: np.ndarray
    targets: np.ndarray
    aux: np.ndarray | None
    grasps: list[Grasp]


def _crop_depth(depth: np.ndarray, tf: CropTransform, order: str, clip: float) -> np.ndarray:
    if order == "inference":
        crop = inpaint_depth(tf.apply(depth, cv2.INTER_NEAREST))
    elif order == "inpaint_first":
        crop = tf.apply(depth)
    else:
        raise ValueError(f"unknown preprocessing order {order!r}")
    return normalise_depth(crop, "mean_clip", clip)


def make_multitask_sample(depth: np.ndarray | None, grasps: list[Grasp], size: int, crop_size: int = 300,
                          rng: np.random.Generator | None = None, zoom_range=(0.8, 1.2), shift_px: int = 30,
                          clip: float = 1.0, range_prob: float = 0.3, ramp_prob: float = 0.3,
                          order: str = "inference", rgb: np.ndarray | None = None,
                          aux: np.ndarray | None = None, aux_kind: str = "none") -> Sample:
    """One network input (depth, RGB or RGB-D), its grasp targets and its auxiliary target.

    One geometric transform — rotation about the crop centre, crop zoom and
    shift, horizontal flip — is drawn per call and applied to every image and
    to the grasp rectangles, so inputs, labels and auxiliary target stay aligned.

    Args:
        depth: (H, W) float32 depth, metres: raw with NaN holes for ``order="inference"``
            (crop with INTER_NEAREST, then inpaint: the detector's order), already
            inpainted for ``order="inpaint_first"`` (crop with INTER_AREA). None for RGB-only input.
        grasps: rectangles in source px.
        size: network input side (px).
        crop_size: inference crop side (px).
        rng: None → the inference centre crop; else random rotation (uniform
            over 360°), zoom (crop side × U(zoom_range)), shift (± shift_px) and
            horizontal flip; with depth input, with probability ``range_prob`` the
            z-depth is turned into range (distance along the ray, ``z·sqrt(1 + x̄² + ȳ²)``),
            as some datasets store it (Cornell's point-cloud-derived depth looks like
            range), and with probability ``ramp_prob`` a random planar ramp (≤ 1 mm/px) is added.
        rgb: (H, W, 3) uint8 RGB (appended after depth; ``mean_unit``-normalised), or None.
        aux: (H, W) auxiliary source image: perfect depth in metres (``aux_kind="depth"``)
            or an object mask, > 0 on objects (``aux_kind="saliency"``); None for none.
        aux_kind: ``none``, ``depth`` or ``saliency``.

    Returns:
        :class:`Sample`.

    Raises:
        ValueError: no input image, unknown ``order`` or ``aux_kind``.
    """
    if depth is None and rgb is None:
        raise ValueError("need a depth or an RGB image")
    if aux_kind not in ("none", "depth", "saliency"):
        raise ValueError(f"unknown auxiliary target {aux_kind!r}")
    h, w = (depth if depth is not None else rgb).shape[:2]
    if depth is not None and rng is not None and rng.uniform() < range_prob:
        depth = depth * _range_factor(h, w, float(rng.uniform(480, 570)))
    if depth is not None and rng is not None and rng.uniform() < ramp_prob:  # extra planar tilt, ±1 mm/px
        gx, gy = rng.uniform(-1e-3, 1e-3, 2)
        depth = depth + (gx * (np.arange(w, dtype=np.float32) - w / 2)[None, :]
                         + gy * (np.arange(h, dtype=np.float32) - h / 2)[:, None]).astype(np.float32)
    if rng is None:
        tf = CropTransform.centre((h, w), crop_size, size)
        g = grasps
    else:
        ang = float(rng.uniform(-math.pi, math.pi))
        s = int(round(crop_size * rng.uniform(*zoom_range)))
        s = min(s, h)
        cx = (w - 1) / 2 + rng.uniform(-shift_px, shift_px)
        cy = (h - 1) / 2 + rng.uniform(-shift_px, shift_px)
        m = cv2.getRotationMatrix2D((cx, cy), math.degrees(ang), 1.0)

        def warp(img, interp):
            return cv2.warpAffine(img, m, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)

        if depth is not None:
            depth = warp(depth, cv2.INTER_NEAREST if order == "inference" else cv2.INTER_LINEAR)
        if rgb is not None:
            rgb = warp(np.ascontiguousarray(rgb), cv2.INTER_LINEAR)
        if aux is not None and aux_kind != "none":
            aux = warp(np.ascontiguousarray(aux), cv2.INTER_NEAREST)
        g = rotate_grasps(grasps, m, ang)
        tf = CropTransform(int(round(cx - s / 2 + 0.5)), int(round(cy - s / 2 + 0.5)), s, size)
    chans = []
    if depth is not None:
        chans.append(_crop_depth(depth, tf, order, clip))
    elif order not in ("inference", "inpaint_first"):
        raise ValueError(f"unknown preprocessing order {order!r}")
    if rgb is not None:
        chans.extend(np.transpose(normalise_rgb(tf.apply(np.ascontiguousarray(rgb), cv2.INTER_AREA)), (2, 0, 1)))
    x = np.stack(chans).astype(np.float32)
    a = None
    if aux is not None and aux_kind == "depth":
        crop = tf.apply(np.asarray(aux, np.float32), cv2.INTER_NEAREST)
        if not np.isfinite(crop).all():
            crop = inpaint_depth(crop)
        a = normalise_depth(crop, "mean_clip", clip)[None]
    elif aux is not None and aux_kind == "saliency":
        a = (tf.apply(np.asarray(aux), cv2.INTER_NEAREST) > 0).astype(np.float32)[None]
    gn = []
    for q in g:
        u, v = tf.from_source(q.u, q.v)
        gn.append(Grasp(float(u), float(v), q.angle, q.width_px / tf.scale, q.length_px / tf.scale))
    if rng is not None and rng.uniform() < 0.5:  # horizontal flip: u → size-1-u, Φ → −Φ
        x = np.ascontiguousarray(x[:, :, ::-1])
        a = None if a is None else np.ascontiguousarray(a[:, :, ::-1])
        gn = [Grasp(size - 1 - q.u, q.v, -q.angle if q.angle < math.pi / 2 else q.angle,
                    q.width_px, q.length_px) for q in gn]
    gn = [q for q in gn if -q.width_px < q.u < size + q.width_px and -q.width_px < q.v < size + q.width_px]
    t = np.stack(grasp_target_maps(gn, (size, size), WIDTH_SCALE_PX))
    return Sample(x, t, a, gn)


def split_ids(ids: list[str], heldout_mod: int = 9) -> tuple[list[int], list[int]]:
    """Indices of train and held-out images by scene number (``SSSSSS_V``): scene % 10 == heldout_mod held out."""
    train, held = [], []
    for k, i in enumerate(ids):
        (held if scene_of(i) % 10 == heldout_mod else train).append(k)
    return train, held


def kfold_split(ids: list[str], folds: int, fold: int) -> tuple[list[int], list[int]]:
    """k-fold cross-validation by scene: fold ``fold`` tests the scenes with scene % folds == fold.

    Every view of a scene is in the same fold, so no test scene is ever trained on;
    over the ``folds`` folds every image is tested exactly once.

    Raises:
        ValueError: folds < 2 or fold not in [0, folds).
    """
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(f"need folds >= 2 and 0 <= fold < folds, got folds={folds}, fold={fold}")
    train, test = [], []
    for k, i in enumerate(ids):
        (test if scene_of(i) % folds == fold else train).append(k)
    return train, test


def predict_maps(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Run ``net`` on (N, S, S) or (N, C, S, S) float32 inputs → (N, 4, S, S) float32 grasp maps."""
    x = x[:, None] if x.ndim == 3 else x
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(x)))
    return torch.cat(out[:4], 1).numpy()


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


def _sample(fr: Frames, i: int, cfg: TrainConfig, rng=None) -> Sample:
    return make_multitask_sample(
        None if fr.depth is None else np.asarray(fr.depth[i]), fr.grasps[i], cfg.input_size, cfg.crop_size,
        rng if cfg.augment else None, cfg.zoom_range, cfg.shift_px, cfg.depth_clip, order=cfg.order,
        rgb=None if fr.rgb is None else np.asarray(fr.rgb[i]),
        aux=None if fr.aux is None else np.asarray(fr.aux[i]), aux_kind=cfg.aux)


def _batch_loss(net, samples: list[Sample], cfg: TrainConfig):
    x = torch.from_numpy(np.stack([s.x for s in samples]))
    t = torch.from_numpy(np.stack([s.targets for s in samples]))
    out = net(x)
    aux_t = torch.from_numpy(np.stack([s.aux for s in samples])) if cfg.aux != "none" else None
    loss, parts = total_loss(out[:4], [t[:, k:k + 1] for k in range(4)], cfg.loss,
                             out[4] if aux_t is not None else None, aux_t, cfg.aux_weight)
    return loss, parts, out


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
            ss = [_sample(frames, i, cfg) for i in idx[b:b + batch]]
            loss, _, out = _batch_loss(net, ss, cfg)
            losses.append(float(loss) * len(ss))
            y = torch.cat(out[:4], 1).numpy()
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


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(8, 3), dpi=80)
    ep = [h["epoch"] for h in history]
    ax[0].plot(ep, [h["train_loss"] for h in history], label="train")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="held-out")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("loss")
    ax[0].legend()
    ax[1].plot(ep, [h["val_acc"] for h in history], "g.-")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("held-out rectangle acc.")
    ax[1].set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_name(cfg: TrainConfig) -> str:
    """Short description of a configuration, e.g. ``mtgcnn rgb aux=depth L_p``."""
    return (f"{cfg.arch} {cfg.modality}" + (f" aux={cfg.aux}" if cfg.aux != "none" else "")
            + (" L_p" if cfg.loss == "lp" else ""))


def train(cfg: TrainConfig, frames: Frames | None = None) -> dict:
    """Train, keeping the best held-out-accuracy checkpoint.

    Writes ``out_dir/{last,best}.pt`` (state dicts), ``state.pt`` (model, optimiser,
    scheduler, RNG, history: what ``cfg.resume`` continues from),
    ``ckpt/epoch_NNN.pt`` (when ``keep_epoch_checkpoints``), ``history.json``,
    ``curves.png``, ``summary.json``.

    Args:
        frames: preloaded images (:func:`load_frames`), to share them between folds.

    Returns:
        summary dict (best accuracy, epochs, minutes, image counts, config).

    Raises:
        FileNotFoundError: no images in ``cfg.data``.
        ValueError: bad architecture/modality/aux/loss/fold.
    """
    from tqdm import tqdm

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = build_model(cfg.arch, cfg.modality, cfg.aux)
    if cfg.loss not in ("l", "lp"):
        raise ValueError(f"unknown loss {cfg.loss!r}")
    fr = frames or load_frames(cfg)
    ids, grasps = fr.ids, fr.grasps
    tr, held = kfold_split(ids, cfg.folds, cfg.fold) if cfg.folds else split_ids(ids, cfg.heldout_mod)
    tr = [i for i in tr if grasps[i]] + [i for i in tr if not grasps[i]][: len(tr) // 20]
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.init:
        net.load_state_dict(torch.load(cfg.init, map_location="cpu"))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    steps_per_epoch = max(1, len(tr) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs * steps_per_epoch),
                                                       eta_min=cfg.lr * 0.05)
    history, best, best_acc, start = [], -math.inf, float("nan"), 1
    minutes_before = 0.0
    if cfg.resume and (out / "state.pt").is_file():
        st = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
        net.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        history, best, best_acc, start = st["history"], st["best"], st["best_acc"], st["epoch"] + 1
        minutes_before = history[-1]["minutes"] if history else 0.0
        print(f"resuming {out} at epoch {start}", flush=True)
    t0 = time.time() - minutes_before * 60
    deadline = time.time() + cfg.max_minutes * 60
    stop = False
    title = run_name(cfg) + (f" fold {cfg.fold + 1}/{cfg.folds}" if cfg.folds else "")
    for epoch in range(start, cfg.epochs + 1):
        perm = rng.permutation(tr)
        run, b = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"{title} epoch {epoch}/{cfg.epochs}", unit="batch",
                   mininterval=5)
        for b in bar:
            ss = [_sample(fr, i, cfg, rng) for i in perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]]
            loss, parts, _ = _batch_loss(net, ss, cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run += loss.item()
            if b % 20 == 0:
                bar.set_postfix(loss=f"{run / (b + 1):.4f}")
            if time.time() > deadline:
                stop = True
                break
        vl, va, nv = evaluate_heldout(net, fr, held, cfg)
        history.append({"epoch": epoch, "train_loss": run / max(b + 1, 1), "val_loss": vl, "val_acc": va,
                        "minutes": (time.time() - t0) / 60})
        print(f"epoch {epoch}: train {run / max(b + 1, 1):.4f} held-out loss {vl:.4f} acc {va:.3f} "
              f"({nv} images) {(time.time() - t0) / 60:.1f} min", flush=True)
        torch.save(net.state_dict(), out / "last.pt")
        score = va if va == va else -vl  # no labelled held-out image: use the loss
        if score > best:
            best, best_acc = score, va
            torch.save(net.state_dict(), out / "best.pt")
        if cfg.keep_epoch_checkpoints:
            (out / "ckpt").mkdir(exist_ok=True)
            torch.save(net.state_dict(), out / "ckpt" / f"epoch_{epoch:03d}.pt")
        torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "history": history,
                    "best": best, "best_acc": best_acc, "epoch": epoch, "config": asdict(cfg)},
                   out / "state.pt")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        plot_curves(history, out / "curves.png", f"{title} on {Path(cfg.data).name}")
        if stop:
            break
    summary = {
        "best_val_acc": best_acc, "epochs": len(history), "minutes": (time.time() - t0) / 60,
        "train_images": len(tr), "heldout_images": len(held), "images": len(ids),
        "config": asdict(cfg),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
