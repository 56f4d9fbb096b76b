"""``grasp-eval``: rectangle-metric accuracy of a grasp network on a Jacquard- or Cornell-layout folder.

Every labelled image goes through the detector's own code path
(:class:`grasp_core.inference.GraspDetector`: the card's crop, preprocessing and
decoding); its top-1 grasp, in source pixels, is correct when IoU > 0.25 and
|ΔΦ| < 30° against any labelled rectangle (Jiang et al. 2011). The stricter
variants (angle 30/25/20/15/10/5° at IoU > 25 %; IoU 25/30/35 % at 30°; Ainetter
& Fraundorfer, ICRA 2021, Tables III–IV) are printed above the last line,
``accuracy=<0..1> n=<images>``.

Layouts: Jacquard (``<id>_grasps.txt``, ``<id>_stereo_depth.tiff`` or
``_perfect_depth.tiff``, ``<id>_RGB.png``) or Cornell (``pcdXXXXcpos.txt``,
``pcdXXXXd.tiff``, ``pcdXXXXr.png``). ``--split``: ``test`` = the scenes with
scene % 10 == 9 (the held-out tenth the shipped models never trained on; Cornell:
image number % 10 == 9), ``train`` = the others, ``all`` (default).

``--metric robust`` also scores each top-1 grasp with the GQ-CNN robustness classifier
(``--classifier``, default ``gqcnn_synth``; ONNX Runtime, :mod:`grasp_core.robust_metric`) and prints
the robust precision (share of images whose top-1 grasp has P(robust) ≥ the card's threshold;
Gariépy et al., IROS 2019, §V) and the mean P(robust) beside the rectangle metric, as
``robust=<0..1> mean_p=<0..1>`` above the last line. The focal length comes from the dataset's
``manifest.json`` (``per_image`` cameras of ``grasp-dataset``), else ``--fx``.

Example::

    grasp-eval --dataset data/synth_v1 --split test
    grasp-eval --dataset /work/data/heldout_procedural --metric robust
    grasp-eval --model models/mtgcnn_rgb.onnx --dataset data/cornell --json out/eval.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

PROG = "grasp-eval"


def _fail(msg: str) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return 2


def list_dataset(folder: Path) -> tuple[str, list[str]]:
    """(layout, image ids): ``jacquard`` ids are grasp-file stems, ``cornell`` ids ``pcdXXXX`` stems."""
    from grasp_core.datasets import list_cornell, list_jacquard

    ids = list_jacquard(folder)
    if ids:
        return "jacquard", ids
    cornell = list_cornell(folder)
    return ("cornell", cornell) if cornell else ("", [])


def read_image(folder: Path, layout: str, image_id: str, rgb: bool, depth: str):
    """(depth (H, W) metres NaN holes, rgb or None, ground-truth grasps) of one image."""
    from grasp_core.datasets import read_cornell, read_jacquard

    if layout == "cornell":
        return read_cornell(folder, image_id, rgb=rgb)
    return read_jacquard(folder, image_id, depth=depth, rgb=rgb)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model name or card/ONNX path (default: the project's default)")
    p.add_argument("--dataset", required=True, help="Jacquard- or Cornell-layout folder")
    p.add_argument("--split", default="all", choices=["all", "train", "test"])
    p.add_argument("--heldout-mod", type=int, default=9, help="test split: scene %% 10 == this (default 9)")
    p.add_argument("--depth", default="stereo", choices=["stereo", "perfect"], help="Jacquard depth image")
    p.add_argument("--max-images", type=int, default=0, help="evaluate the first N images of the split (0: all)")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads")
    p.add_argument("--json", default=None, help="write every image's result and the summary here")
    p.add_argument("--metric", default="rectangle", choices=["rectangle", "robust"],
                   help="robust: also score the top-1 grasps with the robustness classifier")
    p.add_argument("--classifier", default=None, help="robustness classifier card (default gqcnn_synth)")
    p.add_argument("--fx", type=float, default=525.0,
                   help="focal length, px, for --metric robust when the dataset's manifest has no camera")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    folder = Path(args.dataset)
    if not folder.is_dir():
        return _fail(f"dataset folder {folder} does not exist")
    layout, ids = list_dataset(folder)
    if not ids:
        return _fail(f"no Jacquard (*_grasps.txt) or Cornell (pcd*cpos.txt) labels in {folder}")
    from tqdm import tqdm

    from grasp_core.datasets import DatasetError, focal_lengths
    from grasp_core.detectors import open_detector
    from grasp_core.evaluate import metric_variants, scene_of
    from grasp_core.grasp import Grasp
    from grasp_core.model_card import ModelCardError

    if args.split != "all":
        ids = [i for i in ids if (scene_of(i) % 10 == args.heldout_mod) == (args.split == "test")]
    if args.max_images:
        ids = ids[: args.max_images]
    if not ids:
        return _fail(f"no image in split {args.split!r}")
    try:
        det = open_detector(args.model, threads=args.threads)
    except (ModelCardError, ValueError, OSError) as exc:
        return _fail(str(exc))
    clf, fxs, probs = None, {}, []
    if args.metric == "robust":
        from grasp_core.robust_metric import ClassifierError, RobustnessClassifier

        try:
            clf = RobustnessClassifier(args.classifier, threads=args.threads)
        except (ClassifierError, OSError) as exc:
            return _fail(str(exc))
        fxs = focal_lengths(folder)
    preds, gts, records = [], [], []
    for i in tqdm(ids, desc=f"{PROG} {det.name}", unit="img", mininterval=2):
        try:
            depth, rgb, gt = read_image(folder, layout, i, det.needs_rgb, args.depth)
        except DatasetError as exc:
            return _fail(str(exc))
        if not gt:
            continue
        if det.needs_rgb and rgb is None:
            return _fail(f"model {det.name} needs RGB but {i} has none")
        found = det.detect(depth, rgb, top_k=1, quality_threshold=0.0).grasps
        g = found[0] if found else Grasp(-1e6, -1e6, 0.0, 1.0, 1.0, 0.0)  # nothing found: counts as wrong
        preds.append(g)
        gts.append(gt)
        records.append({"id": i, "grasp": g.as_dict(), "labels": len(gt)})
        if clf is not None:
            probs.append(float(clf.score_grasps(depth, [g], fxs.get(i, args.fx))[0]) if found else 0.0)
            records[-1]["p_robust"] = round(probs[-1], 4)
    if not preds:
        return _fail("no labelled image to evaluate")
    v = metric_variants(preds, gts)
    print(f"{PROG}: model {det.name}, {layout} layout, {folder}, split {args.split}")
    for k, acc in v.items():
        print(f"  {k:>9}: {acc:.4f}")
    robust = {}
    if clf is not None:
        p = np.asarray(probs)
        robust = {"classifier": clf.name, "threshold": clf.threshold,
                  "robust_precision": float((p >= clf.threshold).mean()), "mean_p_robust": float(p.mean())}
        print(f"robust={robust['robust_precision']:.4f} mean_p={robust['mean_p_robust']:.4f} "
              f"classifier={clf.name} threshold={clf.threshold:g}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"model": det.name, "dataset": str(folder), "layout": layout,
                                               "split": args.split, "variants": v, "n": len(preds),
                                               **({"robust": robust} if robust else {}),
                                               "images": records}, indent=1))
    print(f"accuracy={v['angle<30']:.4f} n={len(preds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
