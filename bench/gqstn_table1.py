"""GQ-STN's Table I on our held-out split: rectangle metric and robust precision of DirectGrasp, MultiGrasp and
GQ-STN (and the project default for reference), beside the paper's figures.

Each model and folder is one ``grasp-eval --split test --metric robust`` run (the detector's code path; the top-1
grasp scored by the rectangle metric, IoU > 25 % and |ΔΦ| < 30°, and by ``gqcnn_synth`` through ONNX Runtime at
the generator's 35 mm grasp depth, the same scoring for every model). For GQ-STN the paper's own scoring — the
classifier on the network's own 32-px output with its own z — is reported beside it (the card's ``p_robust``).
Timing: ``detect`` p50 over the images (ONNX Runtime CPU, 1 thread; the shared machine's load included).

Run from the checkout with the venv active::

    python bench/gqstn_table1.py --data /work/data/h14/gqstn_train /work/data/h14/gqstn_train2 --out bench/out/gqstn
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"DirectGrasp": "models/gqstn_baselines/gqstn_direct.json",
          "MultiGrasp": "models/gqstn_baselines/gqstn_multigrasp.json",
          "GQ-STN": "models/gqstn_synth.json", "GG-CNN2 (ggcnn2_synth)": "ggcnn2_synth"}
#: Gariépy et al. 2019, Table I, Dex-Net 2.0 test set: (rectangle %, robust %).
PAPER = {"DirectGrasp": (48.1, 25.9), "MultiGrasp": (48.4, 30.6), "GQ-STN": (46.7, 92.4)}


def own_p_robust(card: str, folder: Path, ids: list[str]) -> tuple[list[float], list[float]]:
    """GQ-STN's own P(robust) and detect seconds per test image."""
    from grasp_core.datasets.files import read_depth
    from grasp_core.nn.gqstn_onnx import GQSTNDetector

    det = GQSTNDetector(str(ROOT / card), threads=1)
    ps, ts = [], []
    for i in ids:
        depth = read_depth(folder / f"{i}_stereo_depth.tiff")
        t = time.perf_counter()
        d = det.detect(depth)
        ts.append(time.perf_counter() - t)
        ps.append(d.p_robust)
    return ps, ts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "gqstn"))
    args = ap.parse_args(argv)
    from grasp_core.cli.eval import main as grasp_eval

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, model in MODELS.items():
        ok, rob, mp, n, times, own = 0.0, 0.0, 0.0, 0, [], []
        for folder in map(Path, args.data):
            j = out / f"{Path(model).stem}_{folder.name}.json"
            m = str(ROOT / model) if model.endswith(".json") else model
            t = time.perf_counter()
            if grasp_eval(["--model", m, "--dataset", str(folder), "--split", "test", "--metric", "robust",
                           "--json", str(j)]) != 0:
                print(f"[gqstn_table1] {label} on {folder}: grasp-eval failed", file=sys.stderr)
                return 1
            r = json.loads(j.read_text())
            k = r["n"]
            times.append((time.perf_counter() - t) / max(k, 1))
            ok += r["variants"]["angle<30"] * k
            rob += r["robust"]["robust_precision"] * k
            mp += r["robust"]["mean_p_robust"] * k
            n += k
            if label == "GQ-STN":
                ids = [x["id"] for x in r["images"]] if "images" in r else []
                ps, ts = own_p_robust(model, folder, ids)
                own.append((ps, ts))
        row = {"method": label, "model": model, "n": n, "rectangle": ok / n, "robust_precision": rob / n,
               "mean_p_robust": mp / n, "eval_seconds_per_image": float(np.mean(times))}
        if own and own[0][0]:
            ps = np.concatenate([o[0] for o in own])
            ts = np.concatenate([o[1] for o in own])
            row.update({"own_robust_precision": float(np.mean(ps >= 0.5)), "own_mean_p": float(np.mean(ps)),
                        "detect_p50_s": float(np.median(ts))})
        rows.append(row)
    (out / "summary.json").write_text(json.dumps({"data": args.data, "rows": rows}, indent=1))
    print("| method | n | ours: rectangle | ours: robust precision (gqcnn_synth, 35 mm) | mean P | paper: rectangle "
          "| paper: robust |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        p = PAPER.get(r["method"], ("—", "—"))
        extra = (f" (own crop and z: {r['own_robust_precision']:.3f})" if "own_robust_precision" in r else "")
        print(f"| {r['method']} | {r['n']} | {r['rectangle']:.3f} | {r['robust_precision']:.3f}{extra} | "
              f"{r['mean_p_robust']:.3f} | {p[0]} % | {p[1]} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
