"""``grasp-train``: train GG-CNN / GG-CNN2 / MTG-CNN on a Jacquard-layout dataset and export ONNX + model card.

Examples::

    grasp-train --data data/synth_v1 --arch ggcnn2 --input-size 160 --epochs 30 \\
        --max-minutes 45 --out runs/ggcnn2 --export models/ggcnn2_synth.onnx
    grasp-train --data data/synth_v1 --arch mtgcnn --modality rgb --aux depth --loss lp \\
        --folds 5 --fold 0 --input-size 96 --epochs 6 --out runs/mtgcnn_p_f0

``--folds K --fold k`` trains on the scenes with scene % K != k and tests on the
others (k-fold cross-validation by scene; :mod:`grasp_core.nn.crossval` and
``bench/table1.py`` run all folds and write the Table-I report).

Several processes or nodes (PyTorch DDP, :mod:`grasp_core.nn.distributed`)::

    torchrun --nproc_per_node 2 -m grasp_core.cli.train --data data/synth_v1 --out runs/ggcnn2_ddp ...

``--batch-size`` is then per process; only rank 0 prints, writes the run folder and exports.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grasp-train", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Jacquard-layout dataset folder")
    p.add_argument("--arch", default="ggcnn2", choices=["ggcnn", "ggcnn2", "mtgcnn"])
    p.add_argument("--modality", default=None, choices=["depth", "rgb", "rgbd"],
                   help="network input (default: depth; rgb for mtgcnn)")
    p.add_argument("--aux", default=None, choices=["depth", "saliency", "none"],
                   help="MTG-CNN auxiliary task (default: depth for mtgcnn, none otherwise)")
    p.add_argument("--loss", default="l", choices=["l", "lp"],
                   help="l: sum of per-map MSE (Prew et al. Eq. 2); lp: positional loss (Eq. 3: angle and width "
                        "errors scaled by the ground-truth quality, 1/N)")
    p.add_argument("--aux-weight", type=float, default=1.0, help="weight of the auxiliary MSE")
    p.add_argument("--folds", type=int, default=0, help="k-fold cross-validation by scene (0: held-out tenth)")
    p.add_argument("--fold", type=int, default=0, help="which fold is tested, 0..folds-1")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random rotation, zoom (crop size), shift and flip (default on)")
    p.add_argument("--max-images", type=int, default=0, help="use the first N images only (0: all)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/state.pt")
    p.add_argument("--input-size", type=int, default=160)
    p.add_argument("--crop-size", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-minutes", type=float, default=45.0, help="wall-clock training budget")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--order", default="inference", choices=["inference", "inpaint_first"],
                   help="preprocessing order: the detector's (crop, then inpaint) or inpaint the full frame first")
    p.add_argument("--init", default="", help="start from this state-dict checkpoint (.pt) or exported network "
                                              "(.onnx, e.g. models/ggcnn2_synth.onnx), to fine-tune")
    p.add_argument("--out", default=None, help="run folder (checkpoints, curves); default runs/<arch>")
    p.add_argument("--export", default=None, help="write the best checkpoint to this .onnx (+ .json card)")
    p.add_argument("--name", default=None, help="model name in the card (default: the .onnx stem)")
    p.add_argument("--figures", default=None, help="copy the training-curve PNG into this folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f"grasp-train: error: dataset folder {data} does not exist", file=sys.stderr)
        return 2
    if args.input_size < 32 or args.epochs < 1 or args.batch_size < 1:
        print("grasp-train: error: --input-size >= 32, --epochs >= 1 and --batch-size >= 1 required",
              file=sys.stderr)
        return 2
    modality = args.modality or ("rgb" if args.arch == "mtgcnn" else "depth")
    aux = args.aux or ("depth" if args.arch == "mtgcnn" else "none")
    if (args.arch == "mtgcnn") != (aux != "none"):
        print(f"grasp-train: error: --aux {aux} does not fit --arch {args.arch} "
              "(only mtgcnn has an auxiliary branch, and it needs depth or saliency)", file=sys.stderr)
        return 2
    if args.folds and not (args.folds >= 2 and 0 <= args.fold < args.folds):
        print(f"grasp-train: error: need --folds >= 2 and 0 <= --fold < --folds (got {args.folds}, {args.fold})",
              file=sys.stderr)
        return 2
    from grasp_core.nn import distributed
    from grasp_core.nn.export import export_checkpoint, model_card
    from grasp_core.nn.train import TrainConfig, train

    cfg = TrainConfig(data=str(data), arch=args.arch, input_size=args.input_size, crop_size=args.crop_size,
                      batch_size=args.batch_size, lr=args.lr, epochs=args.epochs,
                      max_minutes=args.max_minutes, threads=args.threads, seed=args.seed, order=args.order,
                      init=args.init, modality=modality, aux=aux, loss=args.loss, aux_weight=args.aux_weight,
                      folds=args.folds, fold=args.fold, augment=args.augment, max_images=args.max_images,
                      resume=args.resume, out_dir=args.out or f"runs/{args.arch}")
    ctx = distributed.setup()
    try:
        summary = train(cfg, ctx=ctx)
    except (FileNotFoundError, ValueError) as exc:
        if ctx.main:
            print(f"grasp-train: error: {exc}", file=sys.stderr)
        return 2
    finally:
        distributed.teardown()
    if not ctx.main:  # rank 0 reports and exports
        return 0
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}))
    run = Path(cfg.out_dir)
    if args.figures:
        Path(args.figures).mkdir(parents=True, exist_ok=True)
        shutil.copy(run / "curves.png", Path(args.figures) / f"{Path(cfg.out_dir).name}_training_curves.png")
    if args.export:
        manifest = {}
        mpath = data / "manifest.json"
        if mpath.is_file():
            manifest = json.loads(mpath.read_text())
        onnx_path = Path(args.export)
        card = model_card(
            args.name or onnx_path.stem, args.arch, args.input_size, args.crop_size,
            training_data={
                "generator": manifest.get("generator", "grasp_core.synth"),
                "dataset": data.name, "scenes": manifest.get("scenes"), "images": summary["images"],
                "seed": manifest.get("seed"),
                "split": (f"fold {cfg.fold} of {cfg.folds} by scene: scene % {cfg.folds} == {cfg.fold} held out "
                          if cfg.folds else f"by scene: scene % 10 == {cfg.heldout_mod} held out ")
                         + f"({summary['heldout_images']} images), train {summary['train_images']} images",
                "epochs": summary["epochs"], "training_minutes": round(summary["minutes"], 1),
                "augmentation": ("rotation 360°, zoom 0.8-1.2, shift ±30 px, horizontal flip"
                                 + (", z-depth→range (p=0.3), planar ramp ≤1 mm/px (p=0.3)"
                                    if modality != "rgb" else "")) if args.augment else "none",
                "preprocessing_order": cfg.order, "input_size": cfg.input_size,
                "batch_size": cfg.batch_size, "lr": cfg.lr,
            },
            modality=modality, aux=aux, loss=args.loss,
            metrics={"heldout_rectangle_accuracy": round(summary["best_val_acc"], 4),
                     **({"fold": cfg.fold, "folds": cfg.folds} if cfg.folds else {}),
                     "metric": "top-1 grasp, IoU > 0.25 and |ΔΦ| < 30° vs any ground-truth rectangle, "
                               "centre crop, Q smoothed σ=2"},
            description=f"{args.arch} ({modality} input"
                        + (f", auxiliary {aux} branch not exported" if aux != "none" else "")
                        + ") trained on procedurally generated MuJoCo scenes (grasp_core.synth).")
        cpath = export_checkpoint(run / "best.pt", args.arch, onnx_path, args.input_size, card, modality, aux)
        print(f"grasp-train: wrote {onnx_path} and {cpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
