"""Rectangle metric and robust precision of every grasp network in ``models/`` on one dataset.

Each model is one ``grasp-eval --metric robust`` run (the detector's code path; its top-1 grasp
scored by the rectangle metric and by the GQ-CNN robustness classifier ``gqcnn_synth`` through
ONNX Runtime); the same as, per model::

    grasp-eval --model M --dataset /work/data/heldout_procedural --metric robust --json out/M.json

Run from the checkout with the venv active::

    python bench/robust_table.py --dataset /work/data/heldout_procedural [--out bench/out/robust]

Prints a Markdown table (model, n, rectangle IoU>25 % <30°, robust precision, mean P(robust)) and
writes ``<out>/summary.json``. Grasp networks = cards of format ``grasp_model_card/1`` whose
decoding is generative (the SSD of the shape classifier is not a ``grasp-eval`` model).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def grasp_models() -> list[str]:
    out = []
    for p in sorted((ROOT / "models").glob("*.json")):
        c = json.loads(p.read_text())
        if c.get("format") == "grasp_model_card/1" and c.get("decoding", {}).get("type", "generative") != "ssd_grasp":
            out.append(p.stem)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "robust"))
    ap.add_argument("--classifier", default=None)
    ap.add_argument("--models", nargs="*", default=None, help="default: every grasp network in models/")
    ap.add_argument("--max-images", type=int, default=0)
    args = ap.parse_args(argv)
    from grasp_core.cli.eval import main as grasp_eval

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for m in args.models or grasp_models():
        j = out / f"{m}.json"
        cmd = ["--model", m, "--dataset", args.dataset, "--metric", "robust", "--json", str(j)]
        if args.classifier:
            cmd += ["--classifier", args.classifier]
        if args.max_images:
            cmd += ["--max-images", str(args.max_images)]
        if grasp_eval(cmd) != 0:
            print(f"[robust_table] {m}: grasp-eval failed", file=sys.stderr)
            continue
        r = json.loads(j.read_text())
        rows.append({"model": m, "n": r["n"], "rectangle": r["variants"]["angle<30"],
                     "robust_precision": r["robust"]["robust_precision"], "mean_p_robust": r["robust"]["mean_p_robust"],
                     "classifier": r["robust"]["classifier"], "threshold": r["robust"]["threshold"]})
    (out / "summary.json").write_text(json.dumps({"dataset": args.dataset, "rows": rows}, indent=1))
    print("| model | n | rectangle (IoU>25 %, <30°) | robust precision | mean P(robust) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r['model']}` | {r['n']} | {r['rectangle']:.3f} | {r['robust_precision']:.3f} | "
              f"{r['mean_p_robust']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
