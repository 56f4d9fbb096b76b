"""Park & Chun (2018) Table I on the project's data: accuracy and time per image of the five methods.

Rows: classification with a sliding window (the multi-stage net's classifier on a fixed grid of
rectangles), direct-regression CNN, single-stage STN, multi-stage STN (``msstn_synth``), and the
project's default GG-CNN2 (``ggcnn2_synth``) beside them; the paper's figures (Cornell, 400 × 400,
GTX 1080 Ti) in the same table. Every model runs through the detector's own code path
(:func:`grasp_core.detectors.open_detector`: the card's centre crop, inpainting, normalisation and
decoding) on every labelled image of ``--data``; the top-1 grasp in source pixels is correct when
IoU > 0.25 and |ΔΦ| < 30° against any label (Jiang et al. 2011). Time: the ONNX Runtime
``session.run`` of the network alone (1 intra-op thread, CPU, p50 over ``--runs`` runs on one
preprocessed input after 3 warm-up runs), and the whole ``detect`` call (preprocessing, network,
decoding) p50 over the images. Robust precision (the GQ-STN issue's metric, ``grasp-eval --metric robust``):
the share of images whose top-1 grasp ``gqcnn_synth`` calls robust (P ≥ its threshold; the focal length
from the folder's manifest, else ``--fx``).

Run from the checkout with the venv active::

    python bench/msstn_table1.py --data /work/data/heldout_procedural --out bench/out/msstn_table1
    python bench/msstn_table1.py --data D --set 160px:runs/a/msstn.json:runs/a/baselines \\
        --set 400px:runs/b/msstn.json:runs/b/baselines     # two trained sets in one table

Writes ``table1.md``, ``table1.json`` and ``table1.png`` into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (label, model card, the paper's accuracy %, the paper's time per image).
ROWS = [
    ("sliding window (CNN classifier)", "models/msstn_baselines/msstn_sliding.json", 82.53, "13 s"),
    ("direct regression CNN", "models/msstn_baselines/msstn_direct.json", 70.67, "11.3 ms"),
    ("single-stage STN", "models/msstn_baselines/msstn_single.json", 71.30, "13.6 ms"),
    ("multi-stage STN", "models/msstn_synth.json", 89.60, "23.0 ms"),
    ("GG-CNN2 (project default)", "models/ggcnn2_synth.json", None, "-"),
]


def set_rows(spec: str) -> list[tuple]:
    """The four Park & Chun rows of one trained set, ``NAME:MSSTN_CARD:BASELINE_DIR`` (``grasp-msstn-train
    --export MSSTN_CARD's .onnx --baselines BASELINE_DIR``); each label gets `` (NAME)``.

    Raises:
        ValueError: not three ``:``-separated parts.
    """
    parts = spec.split(":")
    if len(parts) != 3:
        raise ValueError(f"--set wants NAME:MSSTN_CARD:BASELINE_DIR, got {spec!r}")
    name, card, base = parts
    files = ("msstn_sliding.json", "msstn_direct.json", "msstn_single.json", None)
    return [(f"{label} ({name})", card if f is None else str(Path(base) / f), acc, t)
            for (label, _, acc, t), f in zip(ROWS[:4], files, strict=True)]


def _p50(xs):
    import numpy as np

    return float(np.median(xs)) if xs else float("nan")


def run(data: Path, rows, runs: int, max_images: int, fx: float = 570.0) -> list[dict]:
    from grasp_core.datasets import focal_lengths, list_jacquard, read_jacquard
    from grasp_core.detectors import open_detector
    from grasp_core.evaluate import rectangle_accuracy
    from grasp_core.grasp import Grasp
    from grasp_core.robust_metric import RobustnessClassifier
    from tqdm import tqdm

    clf = RobustnessClassifier("gqcnn_synth", threads=1)
    fxs = focal_lengths(data)
    ids = list_jacquard(data)
    if max_images:
        ids = ids[:max_images]
    frames = []
    for i in tqdm(ids, desc="read", unit="img", mininterval=5):
        depth, _, gt = read_jacquard(data, i, depth="stereo", rgb=False)
        if gt:
            frames.append((depth, gt, fxs.get(i, fx)))
    out = []
    for label, card, paper_acc, paper_t in rows:
        det = open_detector(str(ROOT / card) if not Path(card).is_absolute() else card, threads=1)
        x, _ = det.preprocess(frames[0][0])
        names = [o.name for o in det.session.get_outputs()]
        for _ in range(3):
            det.session.run(names, {det.input_name: x})
        net_t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            det.session.run(names, {det.input_name: x})
            net_t.append(time.perf_counter() - t0)
        preds, gts, det_t, robust = [], [], [], 0
        for depth, gt, f in tqdm(frames, desc=label, unit="img", mininterval=5):
            t0 = time.perf_counter()
            found = det.detect(depth, top_k=1, quality_threshold=0.0).grasps
            det_t.append(time.perf_counter() - t0)
            preds.append(found[0] if found else Grasp(-1e6, -1e6, 0.0, 1.0, 1.0, 0.0))
            gts.append(gt)
            robust += int(bool(found) and clf.score_grasps(depth, found[:1], f)[0] >= clf.threshold)
        acc = rectangle_accuracy(preds, gts)
        out.append({"method": label, "model": det.name, "accuracy": acc, "robust_precision": robust / len(preds),
                    "images": len(preds),
                    "onnx_p50_ms": 1e3 * _p50(net_t), "detect_p50_ms": 1e3 * _p50(det_t),
                    "paper_accuracy": paper_acc, "paper_time": paper_t})
        print(f"{label}: accuracy {100 * acc:.1f} %, robust {100 * robust / len(preds):.1f} % "
              f"({len(preds)} images), ONNX p50 {out[-1]['onnx_p50_ms']:.2f} ms, "
              f"detect p50 {out[-1]['detect_p50_ms']:.1f} ms", flush=True)
    return out


def report(rows: list[dict], data: Path, out: Path) -> str:
    lines = [f"Park & Chun Table I on `{data}` ({rows[0]['images']} labelled images; rectangle metric, top-1; "
             "ONNX Runtime CPU, 1 thread, p50)", "",
             "| method | ours: accuracy | ours: robust precision | ours: ONNX p50 | ours: detect p50 "
             "| paper (Cornell): accuracy | paper: time |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        pa = f"{r['paper_accuracy']:.2f} %" if r["paper_accuracy"] is not None else "-"
        lines.append(f"| {r['method']} | {100 * r['accuracy']:.1f} % | {100 * r['robust_precision']:.1f} % | "
                     f"{r['onnx_p50_ms']:.2f} ms | "
                     f"{r['detect_p50_ms']:.1f} ms | {pa} | {r['paper_time']} |")
    text = "\n".join(lines) + "\n"
    (out / "table1.md").write_text(text)
    (out / "table1.json").write_text(json.dumps({"data": str(data), "rows": rows}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5), dpi=80)
    names = [r["method"] for r in rows]
    y = range(len(rows))
    ax[0].barh(list(y), [100 * r["accuracy"] for r in rows], color="tab:green", label="ours")
    ax[0].scatter([r["paper_accuracy"] or 0 for r in rows], list(y), color="k", marker="x", label="paper (Cornell)")
    ax[0].set_yticks(list(y), names, fontsize=8)
    ax[0].set_xlabel("rectangle-metric accuracy %")
    ax[0].legend(fontsize=7)
    ax[1].barh(list(y), [r["onnx_p50_ms"] for r in rows], color="tab:blue")
    ax[1].set_xscale("log")
    ax[1].set_yticks(list(y), [""] * len(rows))
    ax[1].set_xlabel("ONNX Runtime CPU p50, ms (1 thread)")
    fig.suptitle("Park & Chun Table I on the held-out procedural scenes")
    fig.tight_layout()
    fig.savefig(out / "table1.png")
    plt.close(fig)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/work/data/heldout_procedural", help="Jacquard-layout folder")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "msstn_table1"))
    p.add_argument("--runs", type=int, default=30, help="timed ONNX runs per model")
    p.add_argument("--max-images", type=int, default=0, help="the first N images (0: all)")
    p.add_argument("--fx", type=float, default=570.0, help="focal length, px, where the manifest has none")
    p.add_argument("--set", action="append", default=[], metavar="NAME:MSSTN_CARD:BASELINE_DIR",
                   help="evaluate this trained set instead of the shipped one (repeatable: one table, "
                        "the project's default model once at the end)")
    args = p.parse_args(argv)
    data, out = Path(args.data), Path(args.out)
    if not data.is_dir():
        print(f"msstn_table1: error: {data} does not exist", file=sys.stderr)
        return 2
    try:
        rows = [r for spec in args.set for r in set_rows(spec)] + ROWS[4:] if args.set else ROWS
    except ValueError as exc:
        print(f"msstn_table1: error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    rows = run(data, rows, args.runs, args.max_images, args.fx)
    print(report(rows, data, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
