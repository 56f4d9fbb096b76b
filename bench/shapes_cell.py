"""Teaching parts in the simulated pick cell (docs/shapes.md, "A user's new part"): how well the shape
classifier labels the grasp detector's candidates after learning from a few support images of each part.

* Support: ``--shots`` images per family of one procedural object alone on the table at a new pose each
  (:func:`grasp_core.shapes.support.write_cell_support_folder`, scene seeds 500 …), the cell's camera
  (640 × 480, 0.70 m above the table), as a user would take them.
* Queries: ``--scenes`` cell scenes with one object of each family (``procedural:<f1>,<f2>,…``, seeds
  S … S+N−1), rendered and inpainted as the pick loop does; the top-10 candidates of ``ggcnn2_synth``
  labelled by :meth:`grasp_core.shapes.support.ShapeClassifier.classify` (PCA(20) + RBF-SVM, the node's
  settings) for each feature variant.
* Ground truth: the object whose projected convex hull holds the candidate's centre (within 5 px); candidates
  on no object are counted apart ("on the table") and left out of the accuracy.
* "Targeted pick right": for each scene and family, the highest-quality candidate labelled with that family —
  what the executor's class-targeted pick takes — lies on that family's object (scenes × families trials;
  "none" when no candidate carries the label).

Run from the checkout with the venv active (``MUJOCO_GL=egl``)::

    python bench/shapes_cell.py --scenes 25 --out bench/out/shapes_cell
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def ground_truth(cell, points: np.ndarray, families: tuple[str, ...], tol_px: float = 5.0) -> list[str]:
    """The family of the object under each (u, v) candidate centre ('' for none): projected convex hulls."""
    import cv2

    hulls = {nm: cv2.convexHull(cell.project(cell.object_points(nm))[:, :2].astype(np.float32))
             for nm in cell.object_names}
    out = []
    for u, v in points:
        dist = {nm: -cv2.pointPolygonTest(h, (float(u), float(v)), True) for nm, h in hulls.items()}
        nm = min(dist, key=dist.get)
        out.append(families[int(nm.split("_")[1]) % len(families)] if dist[nm] <= tol_px else "")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", default="star,box,T")
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--scenes", type=int, default=25)
    ap.add_argument("--seed", type=int, default=900)
    ap.add_argument("--variants", default="object_shape,object_depth,refined_roi")
    ap.add_argument("--out", type=Path, default=Path("bench/out/shapes_cell"))
    args = ap.parse_args(argv)
    from grasp_core.depth import depth_to_metres, inpaint_depth
    from grasp_core.inference import GraspDetector
    from grasp_core.shapes.support import ShapeClassifier, write_cell_support_folder
    from grasp_core.sim.cell import SimCell
    from tqdm import tqdm

    fams = tuple(args.families.split(","))
    variants = args.variants.split(",")
    support = write_cell_support_folder(Path(tempfile.mkdtemp()) / "support", fams, args.shots)
    clfs = {}
    for v in variants:
        clfs[v] = ShapeClassifier("ssd_shapes", pca_dims=20, variant=v)
        rep = clfs[v].fit_folder(support)
        print(f"{v}: fitted on {rep.n_images} support images ({rep.skipped} skipped), support accuracy "
              f"{rep.support_accuracy:.2f}, layer {rep.selected_layer}", flush=True)
    det = GraspDetector("ggcnn2_synth")
    stats = {v: {"right": 0, "n": 0, "per": {f: [0, 0] for f in fams}, "target": [0, 0, 0], "t": []}
             for v in variants}
    on_table = 0
    with SimCell() as cell:
        for k in tqdm(range(args.scenes), desc="scenes", unit="scene"):
            cell.reset(len(fams), "procedural:" + ",".join(fams), args.seed + k)
            raw, _ = cell.render()
            depth = inpaint_depth(depth_to_metres(raw, "32FC1"))
            grasps = det.detect(depth, intrinsics=cell.intrinsics, top_k=10).grasps
            pts = np.array([[g.u, g.v] for g in grasps]).reshape(-1, 2)
            truth = ground_truth(cell, pts, fams)
            on_table += sum(t == "" for t in truth)
            for v in variants:
                s = stats[v]
                t0 = time.perf_counter()
                labels, _ = clfs[v].classify(depth, pts)
                s["t"].append(time.perf_counter() - t0)
                for lab, tr in zip(labels, truth, strict=True):
                    if tr:
                        s["n"] += 1
                        s["right"] += lab == tr
                        s["per"][tr][0] += lab == tr
                        s["per"][tr][1] += 1
                for f in fams:  # candidates come ranked by quality: the first labelled f is the pick
                    j = next((i for i, lab in enumerate(labels) if lab == f), None)
                    s["target"][0 if j is None else (1 if truth[j] == f else 2)] += 1
    rows, res = [], {}
    for v in variants:
        s = stats[v]
        res[v] = {"accuracy": s["right"] / max(s["n"], 1), "n": s["n"],
                  "per_family": {f: a / max(n, 1) for f, (a, n) in s["per"].items()},
                  "targeted": {"none": s["target"][0], "right": s["target"][1], "wrong": s["target"][2]},
                  "classify_s_p50": float(np.median(s["t"]))}
        per = " / ".join(f"{res[v]['per_family'][f]:.2f}" for f in fams)
        tg = res[v]["targeted"]
        rows.append(f"| `{v}` | {res[v]['accuracy']:.3f} ({s['right']}/{s['n']}) | {per} | {tg['right']} / "
                    f"{tg['wrong']} / {tg['none']} | {1e3 * res[v]['classify_s_p50']:.0f} ms |")
    md = [f"{args.shots} support images per family ({', '.join(fams)}), {args.scenes} three-object scenes "
          f"(seeds {args.seed}…{args.seed + args.scenes - 1}), ggcnn2_synth top-10 candidates; {on_table} "
          "candidates on no object left out.", "",
          f"| features | labels right | per family ({' / '.join(fams)}) | targeted pick right / wrong / none "
          f"(of {args.scenes * len(fams)}) | classify p50 |", "| --- | --- | --- | --- | --- |", *rows]
    print("\n".join(md))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text("\n".join(md) + "\n")
    (args.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                       "on_table": on_table, "variants": res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
