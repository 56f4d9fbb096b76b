"""Ainetter & Fraundorfer (ICRA 2021) Tables II–IV on the project's data: the three configurations
(Detection, Det_Seg, Det_Seg_Refine) on one held-out split, with the paper's figures beside them.

Every model runs through the detector's own code path (:class:`grasp_core.nn.detseg_onnx.DetSegDetector`:
the card's centre crop, ``mean_unit`` normalisation, decoding with the refinement when the card has it) on
every labelled image of ``--data``; the top-1 grasp in source pixels is scored by the rectangle metric
and its strict variants (:func:`grasp_core.evaluate.metric_variants`: |ΔΦ| < 30…5° at IoU > 25 %, IoU >
25…35 % at 30°); segmentation: mean IoU over the classes present and object-vs-background IoU inside the
network's crop (``<id>_classes.png``); object class of the top grasp against the true class under its
centre. Speed: ONNX Runtime CPU, the network alone (``session.run``, p50 of ``--runs`` after 3 warm-up
runs, ``--threads`` intra-op threads) and the whole ``detect`` call (p50 over the images), as FPS.

Run from the checkout with the venv active::

    python bench/detseg_tables.py --data /work/data/h20/heldout --out bench/out/detseg \
        --model Detection=runs/detection/detseg_detection.json --model Det_Seg=runs/det_seg/detseg_det_seg.json

The shipped ``models/detseg_synth`` is the Det_Seg_Refine row; the other two configurations are not
committed (32 MB each): ``--model CONFIGURATION=CARD`` names their cards (rows without a card are skipped).

Writes ``tables.md`` and ``tables.json`` into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: (configuration, model card, the paper's Jacquard figures: detection %, seg IoU %, FPS on an RTX 2080 Ti,
#:  strict-angle detection % at 30/25/20/15/10/5°).
ROWS = [
    ("Detection", "models/detseg_baselines/detseg_detection.json", 92.69, None, 53,
     (92.69, 92.34, 92.08, 91.40, 88.12, 56.23)),
    ("Det_Seg", "models/detseg_baselines/detseg_det_seg.json", 92.59, 95.12, 48, None),
    ("Det_Seg_Refine", "models/detseg_synth.json", 92.95, 94.86, 31, (92.95, 92.88, 92.42, 91.52, 88.92, 72.79)),
]
ANGLES = (30, 25, 20, 15, 10, 5)


def run(data: Path, rows, runs: int, threads: int, max_images: int) -> list[dict]:
    from grasp_core.datasets import list_jacquard, read_jacquard
    from grasp_core.datasets.semantic import read_class_labels
    from grasp_core.evaluate import metric_variants
    from grasp_core.grasp import Grasp
    from grasp_core.nn.detseg_onnx import DetSegDetector, class_image, class_iou_counts

    ids = list_jacquard(data)[: max_images or None]
    if not ids:
        raise SystemExit(f"detseg_tables: error: no labelled images in {data}")
    frames = []
    for i in ids:
        depth, rgb, gts = read_jacquard(data, i, rgb=True)
        classes, _ = read_class_labels(data, i, gts)
        frames.append((depth, rgb, gts, classes))
    out = []
    for conf, card, *_ in rows:
        path = ROOT / card
        if not path.is_file():
            print(f"detseg_tables: {card} missing, row skipped", file=sys.stderr)
            continue
        det = DetSegDetector(path, threads=threads)
        preds, gt_all, walls, inter, union, fg_i, fg_u, ok, n_cls = [], [], [], 0, 0, 0, 0, 0, 0
        nc = len(det.class_names)
        for depth, rgb, gts, classes in frames:
            t0 = time.perf_counter()
            d = det.detect(np.nan_to_num(depth, nan=0.0), rgb, top_k=1, min_distance_px=0.0, quality_threshold=0.0)
            walls.append(time.perf_counter() - t0)
            preds.append(d.grasps[0] if d.grasps else Grasp(-1e3, -1e3, 0.0, 1.0, 1.0, 0.0))
            gt_all.append(gts)
            if d.class_map is not None:
                tf = d.transform
                pred = class_image(d.class_map, tf, classes.shape)
                ys, xs = slice(max(0, tf.y0), tf.y0 + tf.crop_size), slice(max(0, tf.x0), tf.x0 + tf.crop_size)
                p, c = pred[ys, xs].ravel(), classes[ys, xs].ravel()
                a, b = class_iou_counts(p, c, nc)
                inter, union = inter + a, union + b
                fg_i += int(((p > 0) & (c > 0)).sum())
                fg_u += int(((p > 0) | (c > 0)).sum())
                if d.grasps:
                    g = d.grasps[0]
                    u = int(np.clip(round(g.u), 0, classes.shape[1] - 1))
                    v = int(np.clip(round(g.v), 0, classes.shape[0] - 1))
                    if classes[v, u] > 0:
                        ok += int(d.classes[0][0] == det.class_names[classes[v, u]])
                        n_cls += 1
        m = metric_variants(preds, gt_all)
        x, _ = det.preprocess(np.nan_to_num(frames[0][0], nan=0.0), frames[0][1])
        for _ in range(3):
            det.run(x)
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            det.run(x)
            ts.append(time.perf_counter() - t0)
        rec = {"configuration": conf, "model": det.name, "n": len(frames),
               **{k: float(v) for k, v in m.items()},
               "net_ms_p50": 1000 * float(np.median(ts)), "detect_ms_p50": 1000 * float(np.median(walls))}
        if det.segments:
            present = union > 0
            rec.update({"seg_miou": float(np.mean(inter[present] / union[present])), "seg_fg_iou": fg_i / max(1, fg_u),
                        "class_acc": ok / max(1, n_cls), "class_n": n_cls})
        out.append(rec)
    return out


def tables(recs: list[dict], rows, data: Path, threads: int) -> str:
    paper = {r[0]: r[2:] for r in rows}
    lines = [f"Held-out: `{data}` ({recs[0]['n'] if recs else 0} images); ONNX Runtime CPU, {threads} thread(s).", "",
             "| configuration | detection (ours) | paper (Jacquard) | seg mIoU / object IoU (ours) | paper seg IoU "
             "| class of top grasp (ours) | FPS network / detect (ours) | paper FPS (RTX 2080 Ti) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in recs:
        det_p, seg_p, fps_p, _ = paper[r["configuration"]]
        seg = f"{100 * r['seg_miou']:.1f} / {100 * r['seg_fg_iou']:.1f} %" if "seg_miou" in r else "—"
        cls = f"{100 * r['class_acc']:.1f} % (n {r['class_n']})" if "class_acc" in r else "—"
        lines.append(f"| {r['configuration']} | {100 * r['angle<30']:.1f} % | {det_p:.2f} % | {seg} | "
                     f"{f'{seg_p:.2f} %' if seg_p else '—'} | {cls} | {1000 / r['net_ms_p50']:.1f} / "
                     f"{1000 / r['detect_ms_p50']:.1f} | {fps_p} |")
    lines += ["", "| configuration | " + " | ".join(f"{a}°" for a in ANGLES) + " | IoU 30 % | IoU 35 % |",
              "|---|" + "---|" * (len(ANGLES) + 2)]
    for r in recs:
        strict = paper[r["configuration"]][3]
        lines.append(f"| {r['configuration']} (ours) | " + " | ".join(f"{100 * r[f'angle<{a}']:.1f}" for a in ANGLES)
                     + f" | {100 * r['iou>30']:.1f} | {100 * r['iou>35']:.1f} |")
        if strict:
            lines.append(f"| {r['configuration']} (paper) | " + " | ".join(f"{v:.2f}" for v in strict) + " | | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "detseg")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-images", type=int, default=0)
    p.add_argument("--model", action="append", default=[], metavar="CONFIGURATION=CARD",
                   help="the card of a configuration's row (default: models/detseg_baselines/...)")
    args = p.parse_args(argv)
    rows = list(ROWS)
    for spec in args.model:
        conf, _, card = spec.partition("=")
        if conf not in [r[0] for r in rows] or not card:
            print(f"detseg_tables: error: --model {spec!r}: need CONFIGURATION=CARD, CONFIGURATION one of "
                  f"{[r[0] for r in rows]}", file=sys.stderr)
            return 2
        rows = [(r[0], str(Path(card).resolve()), *r[2:]) if r[0] == conf else r for r in rows]
    if not args.data.is_dir():
        print(f"detseg_tables: error: {args.data} is not a folder", file=sys.stderr)
        return 2
    recs = run(args.data, rows, args.runs, args.threads, args.max_images)
    md = tables(recs, rows, args.data, args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tables.md").write_text(md + "\n")
    (args.out / "tables.json").write_text(json.dumps(recs, indent=1) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
