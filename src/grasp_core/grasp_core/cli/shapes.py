"""Console scripts of the few-shot shape classifier (grasp_core.shapes).

``grasp-shapes-train``: render the simulated shape images, train the SSD grasp
detector (CPU, one thread by default), export ``models/<name>.{onnx,npz,json}``.

``grasp-shapes-experiments``: the paper's experiments 1-5 (with and without
refinement) as Markdown + CSV tables and PNG figures in an output folder.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _fail(prog: str, msg: str) -> int:
    print(f"{prog}: error: {msg}", file=sys.stderr)
    return 2


def _train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grasp-shapes-train", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/shapes_train", help="run folder (data cache, weights, curves)")
    p.add_argument("--models-dir", default="models", help="where the .onnx/.npz/.json go")
    p.add_argument("--name", default="ssd_shapes", help="model name (card name and file stem)")
    p.add_argument("--images", type=int, default=2000, help="training images")
    p.add_argument("--heldout", type=int, default=100, help="held-out images")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-minutes", type=float, default=60.0, help="training time limit (data rendering excluded)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--widths", default="16,16,32,32,48,48,48,64,64,64",
                   help="channels of the 10 base layers 1-1 … 4-3, comma-separated (VGG-16: 64,64,128,…,512)")
    p.add_argument("--modality", choices=("depth", "rgb"), default="depth",
                   help="network input: depth (exported for the stack) or the colour render (rgb, the paper's "
                        "input; weights in <out>/weights.npz only, for grasp-shapes-experiments --weights)")
    p.add_argument("--export-only", action="store_true", help="export <out>/weights.npz without training")
    return p


def train_main(argv: list[str] | None = None) -> int:
    prog = "grasp-shapes-train"
    args = _train_parser().parse_args(argv)
    if args.images < 1 or args.heldout < 1 or args.epochs < 1 or args.batch_size < 1 or args.threads < 1:
        return _fail(prog, "--images, --heldout, --epochs, --batch-size and --threads must be >= 1")
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        widths = ()
    if len(widths) != 10 or min(widths) < 1:
        return _fail(prog, f"--widths needs 10 positive integers, got {args.widths!r}")
    try:
        import torch  # noqa: F401
    except ImportError:
        return _fail(prog, "PyTorch is needed for training (pip install -r requirements-dev.txt)")
    from grasp_core.shapes.export import copy_figure, export_ssd
    from grasp_core.shapes.ssd import load_npz
    from grasp_core.shapes.train import ShapeTrainConfig, train_ssd

    out = Path(args.out)
    if args.export_only:
        w = out / "weights.npz"
        if not w.is_file():
            return _fail(prog, f"--export-only needs {w} (run without --export-only first)")
        net = load_npz(w)
        s = out / "summary.json"
        summary = json.loads(s.read_text()) if s.is_file() else {}
    else:
        cfg = ShapeTrainConfig(out_dir=str(out), n_images=args.images, n_heldout=args.heldout, seed=args.seed,
                               epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               max_minutes=args.max_minutes, threads=args.threads, widths=widths,
                               modality=args.modality)
        net, summary = train_ssd(cfg)
        print(json.dumps({k: v for k, v in summary.items() if k != "config"}))
    if net.in_channels != 1:
        print(f"{prog}: {out / 'weights.npz'} takes colour input: not exported (the ONNX plugin and the node "
              "take depth); use it with grasp-shapes-experiments --weights")
        return 0
    card = export_ssd(net, args.models_dir, args.name, summary)
    copy_figure(out / "curves.png", Path(args.models_dir) / "figures", f"{args.name}_training_curves.png")
    print(f"{prog}: wrote {card.with_suffix('.onnx')}, {card.with_suffix('.npz')} and {card}")
    return 0


def _exp_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grasp-shapes-experiments",
                                description="The paper's few-shot experiments 1-5 on simulated data.")
    p.add_argument("--model", default="ssd_shapes", help="model card name or path (its weights_npz is used)")
    p.add_argument("--weights", default="", help="an SSD .npz to use instead of --model's (e.g. a colour network "
                                                   "of grasp-shapes-train --modality rgb)")
    p.add_argument("--out", default="out/shapes_experiments", help="output folder for tables and figures")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--trials", type=int, default=3, help="random support draws per Exp. 1 cell")
    p.add_argument("--quick", action="store_true", help="tiny image sets (a smoke test, not the results)")
    return p


def experiments_main(argv: list[str] | None = None) -> int:
    prog = "grasp-shapes-experiments"
    args = _exp_parser().parse_args(argv)
    if args.trials < 1:
        return _fail(prog, "--trials must be >= 1")
    try:
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        return _fail(prog, f"{exc.name} is needed (guided backpropagation needs PyTorch; the SVMs scikit-learn)")
    from grasp_core.model_card import ModelCardError, load_card
    from grasp_core.shapes.experiments import ExperimentConfig, run_experiments

    if args.weights:
        weights = Path(args.weights)
        if not weights.is_file():
            return _fail(prog, f"weights {weights} not found")
    else:
        try:
            card = load_card(args.model)
            weights = card.path.parent / card.data["weights_npz"]
        except (ModelCardError, KeyError) as exc:
            return _fail(prog, f"model {args.model!r}: {exc}")
        if not weights.is_file():
            return _fail(prog, f"weights {weights} of model {card.name} not found")
    cfg = ExperimentConfig(out_dir=args.out, weights=str(weights), seed=args.seed, trials=args.trials)
    if args.quick:
        cfg = ExperimentConfig(out_dir=args.out, weights=str(weights), seed=args.seed, trials=1, n_support_max=5,
                               n_single=3, n_multi=3, n_shot=3, pca_dims=3, support_sizes=(3, 5),
                               pca_dims_grid=(3, 5))
    t0 = time.time()
    res = run_experiments(cfg)
    print((Path(args.out) / "tables.md").read_text())
    print(f"{prog}: wrote {args.out}/tables.md, exp1.csv, exp2.csv, summary.csv, exp1.png, exp2.png, results.json "
          f"in {(time.time() - t0) / 60:.1f} min")
    return 0 if res else 1


if __name__ == "__main__":
    sys.exit(experiments_main())
