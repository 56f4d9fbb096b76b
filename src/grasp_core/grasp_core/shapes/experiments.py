"""The paper's experiments (Yokota et al.) on simulated data, with and without refinement.

Image sets (seeds disjoint from the detector's training data; image k of a set
from ``numpy.random.default_rng([seed, set id, k])``):

* support pool: ``n_support_max`` single-object images per shape (cylinder, L, star, T, ring);
* single: ``n_single`` single-object images per training shape (queries of Exp. 1-2);
* same4: ``n_multi`` images of four objects of one shape (Exp. 3);
* diff4: ``n_multi`` images of the four training shapes, one each (Exp. 4);
* ring4: ``n_multi`` images of a ring and three different training shapes (Exp. 5;
  the detector never saw a ring; the support set then has five classes).

Detections: the SSD's boxes after NMS (score ≥ 0.2, ≤ 12 per image). A detection's
true shape is the object under its centre (instance mask, else the majority label
in a 7x7 window); detections on the table are left out. A support image gives its
best detection on the object (images where there is none are skipped); a query
image gives all its detections on objects.

Experiments:

1. accuracy for support images per class × PCA dims (3/5/10/20/30/40 each), the layer
   chosen automatically, averaged over ``trials`` random support draws;
2. per layer: support (cross-validated) accuracy, test accuracy and rank, the selected layer;
3. four objects of one shape per image; 4. four different shapes; 5. the unseen ring among them
   (3-5 at ``n_shot`` support images per class and ``pca_dims`` dims).

Each with the feature variants of :data:`grasp_core.shapes.refine.VARIANTS` (the SSD's
activations: refined (Eq. 1-2) or raw, pooled around the detection, over the image, or kept
spatial in the grasp-aligned window: ``refined_roi`` / ``raw_roi``) and the image baselines of
:data:`IMAGE_VARIANTS` that tell the features from the data: PCA + SVM on the grasp-aligned
32 x 32 crop (128 px window, :func:`grasp_core.shapes.roi.image_crops`) of the normalised depth
(``depth_crop``), of the colour render (``rgb_crop``, turned by the depth crop's moment) and of
the ground-truth mask of the detection's object (``mask_crop``: the silhouette alone, an upper
bound of what the images allow with this classifier; it needs the simulator's labels) — and
``object_depth``: the object-level crop of the depth-segmented object under the detection
(:func:`grasp_core.shapes.roi.object_crops`: centred on the object, turned to its major axis) and
``object_shape``: that object's rotation-invariant silhouette descriptor
(:func:`grasp_core.shapes.roi.object_silhouettes`).
A query image gives at most ``per_object`` = 2 detections per object (the best-scoring ones).
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import ALL_SHAPES, TRAIN_SHAPES, network_input, normalise_depth_image, normalise_rgb_image, render_shapes
from .fewshot import FewShotClassifier
from .refine import VARIANTS as NET_VARIANTS
from .refine import ShapeFeatureExtractor
from .roi import image_crops, object_crops, object_silhouettes
from .ssd import LAYER_NAMES, nms

#: Image baselines (one "layer" each, ``crop``): PCA + SVM on image crops (module docstring).
IMAGE_VARIANTS = ("depth_crop", "rgb_crop", "mask_crop", "object_depth", "object_shape")
#: All feature variants of the experiments.
VARIANTS = NET_VARIANTS + IMAGE_VARIANTS
#: Exp. 1 (the support size x PCA dims grid) for these; Exp. 2-5 all of VARIANTS.
EXP1_VARIANTS = ("refined", "raw_global", "refined_roi", "refined_aligned", "mask_crop")
#: Crop raster of the image baselines, px (of a 128 px window).
CROP_GRID = 32
#: Bumped when the features change (the cache in <out>/features/ is then recomputed).
FEATURE_VERSION = "roi-crops-aligned-3"
SUPPORT_SIZES = (3, 5, 10, 20, 30, 40)
PCA_DIMS = (3, 5, 10, 20, 30, 40)
#: The paper's reported accuracies (as listed in the issue), for the comparison table.
PAPER = {"exp1_best": 0.973, "exp3": 0.961, "exp4": 0.985, "exp5": 0.983,
         "exp3_unrefined": 0.234, "exp4_unrefined": 0.197}


@dataclass
class ExperimentConfig:
    out_dir: str = "out/shapes_experiments"
    weights: str = ""
    seed: int = 1000
    n_support_max: int = 40
    n_single: int = 20
    n_multi: int = 30
    trials: int = 3
    n_shot: int = 30
    pca_dims: int = 20
    score_threshold: float = 0.2
    support_sizes: tuple = SUPPORT_SIZES
    pca_dims_grid: tuple = PCA_DIMS


@dataclass
class FeatureSet:
    """Features of the detections of an image set: {variant: {layer: (N, d)}}, labels (N,), image (N,)."""

    feats: dict[str, dict[str, np.ndarray]]
    labels: np.ndarray
    image: np.ndarray


def object_at(mask: np.ndarray, u: float, v: float, r: int = 3) -> int:
    """Instance label (k + 1) under pixel (u, v), else the majority non-zero label in a (2r+1)² window; 0 = table."""
    h, w = mask.shape
    c, rr = int(round(u)), int(round(v))
    if not (0 <= c < w and 0 <= rr < h):
        return 0
    if mask[rr, c]:
        return int(mask[rr, c])
    win = mask[max(rr - r, 0):rr + r + 1, max(c - r, 0):c + r + 1].ravel()
    win = win[win > 0]
    return int(np.bincount(win).argmax()) if win.size else 0


def image_set(kind: str, n: int, seed: int, set_id: int, shape: str | None = None) -> list:
    """Render ``n`` images of a set (module docstring); ``shape`` for single-shape sets."""
    out = []
    for k in range(n):
        rng = np.random.default_rng([seed, set_id, k])
        if kind == "single":
            shapes = [shape]
        elif kind == "same4":
            shapes = [TRAIN_SHAPES[k % 4]] * 4
        elif kind == "diff4":
            shapes = list(rng.permutation(TRAIN_SHAPES))
        elif kind == "ring4":
            shapes = ["ring"] + list(rng.permutation(TRAIN_SHAPES)[:3])
        else:
            raise ValueError(f"unknown image set kind {kind!r}")
        out.append(render_shapes(shapes, rng))
    return out


def layers_of(variant: str) -> tuple[str, ...]:
    """Candidate layers of a variant: the SSD's 10 base layers, or ``("crop",)`` for an image baseline."""
    return ("crop",) if variant in IMAGE_VARIANTS else LAYER_NAMES


def crop_features(im, boxes: np.ndarray, objects: list[int]) -> dict[str, np.ndarray]:
    """Image-baseline vectors of detections ``boxes`` (K, 5) on objects ``objects`` (mask labels): {variant: (K, d)}."""
    c, a = boxes[:, :2], boxes[:, 4]
    depth = normalise_depth_image(im.depth)
    height = np.clip(depth, 0, None)  # object heights: the mass that fixes the 180° turn
    out = {"depth_crop": image_crops(depth, c, a, grid=CROP_GRID),
           "rgb_crop": image_crops(np.moveaxis(normalise_rgb_image(im.rgb), 0, -1), c, a, grid=CROP_GRID,
                                   mass=height),
           "mask_crop": np.concatenate([image_crops((im.mask == o).astype(np.float32), c[i:i + 1], a[i:i + 1],
                                                    grid=CROP_GRID, padding_mode="zeros")
                                        for i, o in enumerate(objects)]),
           "object_depth": object_crops(depth, c, grid=CROP_GRID),
           "object_shape": object_silhouettes(depth, c)}
    return out


def extract(fx: ShapeFeatureExtractor, images: list, best_only: bool, score_threshold: float,
            desc: str, per_object: int = 2) -> FeatureSet:
    """Detect, attach shapes, and compute every variant's features of every image's detections."""
    from tqdm import tqdm

    feats = {v: {n: [] for n in layers_of(v)} for v in VARIANTS}
    labels, owner = [], []
    for i, im in enumerate(tqdm(images, desc=desc, unit="img", mininterval=5)):
        x = torch.from_numpy(network_input(im, fx.modality))[None]
        scores, boxes = fx.detect(x)
        keep = nms(boxes, scores, score_threshold=score_threshold, top_k=12)
        sel, lab, objs, per_obj = [], [], [], {}
        for j in keep:
            obj = object_at(im.mask, boxes[j, 0], boxes[j, 1])
            if obj and per_obj.get(obj, 0) < (1 if best_only else per_object):
                per_obj[obj] = per_obj.get(obj, 0) + 1
                sel.append(j)
                lab.append(im.shapes[obj - 1])
                objs.append(obj)
                if best_only:
                    break
        if not sel:
            continue
        f = fx.features_multi(x, np.asarray(sel), boxes[sel, :2], boxes[sel, 4], NET_VARIANTS)
        f.update({v: {"crop": c} for v, c in crop_features(im, boxes[sel], objs).items()})
        for variant in VARIANTS:
            for n in layers_of(variant):
                feats[variant][n].append(f[variant][n])
        labels += lab
        owner += [i] * len(sel)
    return FeatureSet({v: {n: (np.concatenate(a) if a else np.zeros((0, 1), np.float32)) for n, a in d.items()}
                       for v, d in feats.items()}, np.asarray(labels), np.asarray(owner))


def cached_extract(path: Path, key: str, make) -> FeatureSet:
    """Load a FeatureSet from ``path`` (npz, plain arrays) when its key matches, else ``make()`` and save it."""
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) == key:
                feats = {v: {n: z[f"{v}/{n}"] for n in layers_of(v)} for v in VARIANTS}
                return FeatureSet(feats, z["labels"], z["image"])
    fs = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, key=np.array(key), labels=fs.labels.astype(str), image=fs.image,
             **{f"{v}/{n}": a for v, d in fs.feats.items() for n, a in d.items()})
    return fs


def subset(fs: FeatureSet, idx: np.ndarray) -> FeatureSet:
    return FeatureSet({v: {n: a[idx] for n, a in d.items()} for v, d in fs.feats.items()}, fs.labels[idx],
                      fs.image[idx])


def draw_support(support: FeatureSet, shapes: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` random support vectors per shape (all when fewer)."""
    idx = []
    for s in shapes:
        cand = np.nonzero(support.labels == s)[0]
        idx += list(rng.choice(cand, min(n, cand.size), replace=False))
    return np.asarray(sorted(idx))


def evaluate(support: FeatureSet, query: FeatureSet, variant: str, pca_dims: int) -> tuple[float, FewShotClassifier]:
    """Fit on the support (PCA with the queries), classify the queries with the selected layer; accuracy."""
    clf = FewShotClassifier(pca_dims).fit(support.feats[variant], support.labels, query.feats[variant],
                                          list(layers_of(variant)))
    pred, _ = clf.predict(query.feats[variant])
    return float(np.mean(np.asarray(pred) == query.labels)), clf


def run_experiments(cfg: ExperimentConfig) -> dict:
    """Run experiments 1-5; write tables (Markdown, CSV), figures (PNG) and results.json to ``cfg.out_dir``."""
    t0 = time.time()
    torch.set_num_threads(1)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fx = ShapeFeatureExtractor(cfg.weights)
    s = cfg.seed
    from ..model_card import sha256_file

    key = (f"{FEATURE_VERSION}:{sha256_file(cfg.weights)}:{s}:{cfg.n_support_max}:{cfg.n_single}:{cfg.n_multi}:"
           f"{cfg.score_threshold}")
    cache = out / "features"
    support = cached_extract(cache / "support.npz", key, lambda: extract(
        fx, [im for k, sh in enumerate(ALL_SHAPES) for im in image_set("single", cfg.n_support_max, s, 10 + k, sh)],
        True, cfg.score_threshold, "support"))
    single = cached_extract(cache / "single.npz", key, lambda: extract(
        fx, [im for k, sh in enumerate(TRAIN_SHAPES) for im in image_set("single", cfg.n_single, s, 20 + k, sh)],
        False, cfg.score_threshold, "exp1-2 queries"))
    same4, diff4, ring4 = (cached_extract(cache / f"{kind}.npz", key, lambda kind=kind, sid=sid: extract(
        fx, image_set(kind, cfg.n_multi, s, sid), False, cfg.score_threshold, f"{kind} queries"))
        for kind, sid in (("same4", 30), ("diff4", 40), ("ring4", 50)))
    t_feat = time.time() - t0
    train_support = subset(support, np.nonzero(np.isin(support.labels, TRAIN_SHAPES))[0])
    rng = np.random.default_rng([s, 99])
    res: dict = {"counts": {"support": {sh: int((support.labels == sh).sum()) for sh in ALL_SHAPES},
                            "exp1_queries": len(single.labels), "exp3_queries": len(same4.labels),
                            "exp4_queries": len(diff4.labels), "exp5_queries": len(ring4.labels)}}
    # Exp. 1
    exp1 = {}
    for variant in EXP1_VARIANTS:
        grid = np.zeros((len(cfg.support_sizes), len(cfg.pca_dims_grid)))
        for a, n in enumerate(cfg.support_sizes):
            draws = [draw_support(train_support, TRAIN_SHAPES, n, rng) for _ in range(cfg.trials)]
            for b, d in enumerate(cfg.pca_dims_grid):
                grid[a, b] = np.mean([evaluate(subset(train_support, ix), single, variant, d)[0] for ix in draws])
        exp1[variant] = grid
    res["exp1"] = {v: g.tolist() for v, g in exp1.items()}
    # Exp. 2
    ix = draw_support(train_support, TRAIN_SHAPES, cfg.n_shot, np.random.default_rng([s, 2]))
    exp2 = {}
    for variant in VARIANTS:
        sup = subset(train_support, ix)
        acc, clf = evaluate(sup, single, variant, cfg.pca_dims)
        rows = []
        for n in layers_of(variant):
            pred, _ = clf.predict(single.feats[variant], layer=n)
            rows.append({"layer": n, "support_acc": clf.results[n].support_accuracy,
                         "train_acc": clf.results[n].train_accuracy, "C": clf.results[n].C,
                         "test_acc": float(np.mean(np.asarray(pred) == single.labels))})
        order = sorted(range(len(rows)), key=lambda i: -rows[i]["test_acc"])
        for r_, i in enumerate(order):
            rows[i]["test_rank"] = r_ + 1
        exp2[variant] = {"rows": rows, "selected": clf.selected, "accuracy": acc}
    res["exp2"] = exp2
    # Exp. 3-5
    ring_ix = draw_support(support, ALL_SHAPES, cfg.n_shot, np.random.default_rng([s, 5]))
    for name, query, sup in (("exp3", same4, subset(train_support, ix)), ("exp4", diff4, subset(train_support, ix)),
                             ("exp5", ring4, subset(support, ring_ix))):
        res[name] = {}
        for variant in VARIANTS:
            acc, clf = evaluate(sup, query, variant, cfg.pca_dims)
            res[name][variant] = {"accuracy": acc, "selected": clf.selected}
    res["minutes"] = {"features": t_feat / 60, "total": (time.time() - t0) / 60}
    res["config"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}
    write_tables(res, cfg, out)
    (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def _md_table(header: list[str], rows: list[list]) -> str:
    fmt = [" | ".join(str(c) for c in header), " | ".join("---" for _ in header)]
    fmt += [" | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in r) for r in rows]
    return "\n".join(f"| {r} |" for r in fmt) + "\n"


#: Plain-language names of the variants, for the tables.
VARIANT_NAMES = {"refined": "(c) refined, pooled in rings", "raw_local": "raw, pooled in rings",
                 "raw_global": "raw, pooled over the image (paper's unrefined)",
                 "refined_roi": "(d) refined, grasp-aligned ROI, not pooled",
                 "raw_roi": "(d) raw, grasp-aligned ROI, not pooled",
                 "refined_aligned": "refined, network run on the input turned to the grasp, ROI",
                 "raw_aligned": "raw, network run on the input turned to the grasp, ROI",
                 "depth_crop": "(a) depth crop, grasp-aligned", "rgb_crop": "(a) colour crop, grasp-aligned",
                 "mask_crop": "(b) object-mask crop (upper bound)",
                 "object_depth": "object-level depth crop (depth-segmented object, its own axis)",
                 "object_shape": "object-level silhouette, rotation-invariant (polar Fourier magnitudes)"}


def write_tables(res: dict, cfg: ExperimentConfig, out: Path) -> None:
    """results → ``tables.md``, ``exp*.csv``, ``summary.csv``, ``exp1.png``, ``exp2.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    md = ["# Few-shot shape classification on simulated data (grasp-shapes-experiments)\n",
          f"Seed {cfg.seed}. Support images: {res['counts']['support']}; query detections: Exp. 1-2 "
          f"{res['counts']['exp1_queries']}, Exp. 3 {res['counts']['exp3_queries']}, "
          f"Exp. 4 {res['counts']['exp4_queries']}, Exp. 5 {res['counts']['exp5_queries']}.\n"]
    summary = []
    for v in VARIANTS:
        best = float(np.max(res["exp1"][v])) if v in res["exp1"] else "–"
        summary.append([VARIANT_NAMES[v], v, best, *(res[k][v]["accuracy"] for k in ("exp2", "exp3", "exp4", "exp5")),
                        " / ".join(res[k][v]["selected"] for k in ("exp2", "exp3", "exp4", "exp5"))])
    summary.append(["paper, refined", "–", PAPER["exp1_best"], "–", PAPER["exp3"], PAPER["exp4"], PAPER["exp5"], "–"])
    summary.append(["paper, unrefined", "–", "–", "–", PAPER["exp3_unrefined"], PAPER["exp4_unrefined"], "–", "–"])
    md.append(f"\n## Summary: accuracy per feature variant (Exp. 2-5: {cfg.n_shot} support images per class, "
              f"{cfg.pca_dims} PCA dims; Exp. 1 best: the best cell of its grid)\n\n")
    header = ["features", "variant", "Exp. 1 best", "Exp. 2 single", "Exp. 3 four same", "Exp. 4 four different",
              "Exp. 5 + unseen ring", "layers (Exp. 2/3/4/5)"]
    md.append(_md_table(header, summary))
    with open(out / "summary.csv", "w", newline="") as f:
        csv.writer(f).writerows([header, *summary])
    rows_csv = []
    for variant in EXP1_VARIANTS:
        g = np.asarray(res["exp1"][variant])
        md.append(f"\n## Exp. 1 ({variant}): accuracy, support images per class (rows) × PCA dims (columns), "
                  f"mean of {cfg.trials} draws\n\n")
        md.append(_md_table(["support \\ dims", *cfg.pca_dims_grid],
                            [[n, *map(float, g[a])] for a, n in enumerate(cfg.support_sizes)]))
        for a, n in enumerate(cfg.support_sizes):
            for b, d in enumerate(cfg.pca_dims_grid):
                rows_csv.append([variant, n, d, f"{g[a, b]:.4f}"])
    with open(out / "exp1.csv", "w", newline="") as f:
        csv.writer(f).writerows([["variant", "support_per_class", "pca_dims", "accuracy"], *rows_csv])
    rows2 = []
    for variant in NET_VARIANTS:
        e = res["exp2"][variant]
        md.append(f"\n## Exp. 2 ({variant}): per layer, {cfg.n_shot} support images per class, {cfg.pca_dims} PCA "
                  f"dims; selected layer **{e['selected']}** (test accuracy {e['accuracy']:.3f})\n\n")
        md.append(_md_table(["layer", "support acc. (CV)", "train acc.", "C", "test acc.", "test rank"],
                            [[r["layer"] + (" ←" if r["layer"] == e["selected"] else ""), r["support_acc"],
                              r["train_acc"], r["C"], r["test_acc"], r["test_rank"]] for r in e["rows"]]))
        rows2 += [[variant, r["layer"], r["support_acc"], r["test_acc"], r["test_rank"], r["layer"] == e["selected"]]
                  for r in e["rows"]]
    with open(out / "exp2.csv", "w", newline="") as f:
        csv.writer(f).writerows([["variant", "layer", "support_acc", "test_acc", "test_rank", "selected"], *rows2])
    (out / "tables.md").write_text("".join(md))
    fig, ax = plt.subplots(1, len(EXP1_VARIANTS), figsize=(4.2 * len(EXP1_VARIANTS), 4))
    for a, variant in zip(ax, EXP1_VARIANTS, strict=True):
        im = a.imshow(np.asarray(res["exp1"][variant]), vmin=0, vmax=1, cmap="viridis")
        a.set_xticks(range(len(cfg.pca_dims_grid)), cfg.pca_dims_grid)
        a.set_yticks(range(len(cfg.support_sizes)), cfg.support_sizes)
        a.set_xlabel("PCA dims")
        a.set_ylabel("support images per class")
        a.set_title(f"Exp. 1 accuracy ({variant})")
        for (i, j), v in np.ndenumerate(np.asarray(res["exp1"][variant])):
            a.text(j, i, f"{v:.2f}", ha="center", va="center", color="w", fontsize=7)
    fig.colorbar(im, ax=ax)
    fig.savefig(out / "exp1.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    xs = np.arange(len(LAYER_NAMES))
    bw = 0.8 / len(NET_VARIANTS)
    for k, variant in enumerate(NET_VARIANTS):
        off = -0.4 + bw * (k + 0.5)
        rows = res["exp2"][variant]["rows"]
        ax.bar(xs + off - bw / 4, [r["support_acc"] for r in rows], bw / 2, label=f"support ({variant})")
        ax.bar(xs + off + bw / 4, [r["test_acc"] for r in rows], bw / 2, label=f"test ({variant})")
    ax.set_xticks(xs, LAYER_NAMES)
    ax.set_xlabel("candidate layer")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=6, ncol=5)
    ax.set_title(f"Exp. 2: support vs test accuracy per layer ({cfg.n_shot} support images, {cfg.pca_dims} dims)")
    fig.tight_layout()
    fig.savefig(out / "exp2.png", dpi=100)
    plt.close(fig)
