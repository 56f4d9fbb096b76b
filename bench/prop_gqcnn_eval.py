"""Prop+GQ-CNN's top-1 grasp on the first N images of a grasp-dataset folder: rectangle metric, robust
precision (the same classifier scoring as ``grasp-eval --metric robust``) and p50 time.

    python bench/prop_gqcnn_eval.py /work/data/heldout_procedural 60
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from grasp_core.datasets import read_jacquard
from grasp_core.grasp import rectangle_metric
from grasp_core.prop_gqcnn import PropGQCNN
from grasp_core.robust_metric import RobustnessClassifier


def main(root: str, n: int) -> dict:
    man = json.load(open(f"{root}/manifest.json"))
    clf = RobustnessClassifier()
    pg = PropGQCNN(clf)
    rect, rob, ts = [], [], []
    for i in sorted(man["per_image"])[:n]:
        depth, _, gt = read_jacquard(root, i)
        if not gt:
            continue
        fx = man["per_image"][i]["camera"]["fx"]
        t = time.perf_counter()
        det = pg.detect(depth, fx=fx, top_k=1)
        ts.append(time.perf_counter() - t)
        g = det.grasps[0] if det.grasps else None
        rect.append(bool(g) and rectangle_metric(g, gt, 0.25, np.deg2rad(30)))
        rob.append(float(clf.score_grasps(depth, [g], fx)[0]) if g else 0.0)
    return {"n": len(rect), "rectangle": float(np.mean(rect)),
            "robust_precision": float(np.mean(np.array(rob) >= clf.threshold)), "mean_p": float(np.mean(rob)),
            "p50_s": float(np.median(ts))}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60)))
