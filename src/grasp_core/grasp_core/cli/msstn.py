"""``grasp-msstn-train``: train the multi-stage STN (Park & Chun 2018) and its Table I baselines, export ONNX + cards.

Example::

    grasp-msstn-train --data /work/data/h20/train --out runs/msstn --input-size 160 --width 8 --crop-pool 4 \\
        --steps 800 --export models/msstn_synth.onnx --baselines models/msstn_baselines --figures models/figures

Schedule (:mod:`grasp_core.nn.msstn_train`): each block on its own (STN_crop, STN_rotation,
STN_scale,crop, classifier), then end-to-end fine-tuning from the end backwards (classifier,
STN_scale,crop with the classifier fixed, STN_rotation, STN_crop). ``--steps`` sets every stage-wise
phase, ``--ft-steps`` every fine-tuning phase. ``--baselines DIR`` also trains the direct-regression
CNN and the single-stage STN and exports them with the sliding-window classifier (the multi-stage
net's classifier on a fixed grid of rectangles) into DIR, for ``bench/msstn_table1.py``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

PROG = "grasp-msstn-train"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Jacquard-layout dataset folder (grasp-dataset)")
    p.add_argument("--out", default="runs/msstn", help="run folder (checkpoints, history, curves)")
    p.add_argument("--input-size", type=int, default=160)
    p.add_argument("--crop-size", type=int, default=300, help="centre crop of the source image, px")
    p.add_argument("--k", type=int, default=4, help="STN_crop candidates (paper: 4)")
    p.add_argument("--width", type=int, default=16, help="channels of the ResNets' first stage")
    p.add_argument("--crop-scale", type=float, default=0.4,
                   help="s0: a candidate window covers s0 * input-size px")
    p.add_argument("--patch", type=int, default=48, help="side of the windows STN_rotation and STN_scale,crop see, px")
    p.add_argument("--crop-pool", type=int, default=1,
                   help="STN_crop's pooling: 1 global average, n an n x n grid (keeps where the features are)")
    p.add_argument("--cls-patch", type=int, default=32, help="side of the final patch the classifier sees, px")
    p.add_argument("--steps", type=int, default=400, help="optimiser steps of each stage-wise phase")
    p.add_argument("--ft-steps", type=int, default=150, help="optimiser steps of each fine-tuning phase")
    p.add_argument("--baseline-steps", type=int, default=400)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--augment-copies", type=int, default=0,
                   help="extra augmented copies per training image (0: none, as the paper)")
    p.add_argument("--max-images", type=int, default=0, help="use the first N images only (0: all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export", default=None, help="write the multi-stage STN to this .onnx (+ .json card)")
    p.add_argument("--baselines", default=None, help="train and export the baselines into this folder")
    p.add_argument("--figures", default=None, help="copy the training-curve PNG into this folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f"{PROG}: error: dataset folder {data} does not exist", file=sys.stderr)
        return 2
    if (args.input_size < 32 or args.k < 1 or args.width < 1 or args.steps < 0 or args.ft_steps < 0
            or args.batch_size < 1 or not 0 < args.crop_scale <= 1 or args.patch < 8 or args.cls_patch < 8
            or args.crop_pool < 1):
        print(f"{PROG}: error: need --input-size >= 32, --k >= 1, --steps/--ft-steps >= 0, --batch-size >= 1, "
              "0 < --crop-scale <= 1, --patch/--cls-patch >= 8, --crop-pool >= 1",
              file=sys.stderr)
        return 2
    import torch

    from grasp_core.nn.msstn import MSSTNConfig
    from grasp_core.nn.msstn_export import export_baselines, export_msstn, msstn_card
    from grasp_core.nn.msstn_train import FINETUNE, STAGES, MSSTNTrainConfig, load_data, train_baselines, train_msstn

    steps = {**{p: args.steps for p in STAGES}, **{p: args.ft_steps for p in FINETUNE}}
    net_cfg = MSSTNConfig(input_size=args.input_size, k=args.k, width=args.width, crop_scale=args.crop_scale,
                          patch=args.patch, cls_patch=args.cls_patch, crop_pool=args.crop_pool)
    cfg = MSSTNTrainConfig(data=str(data), out_dir=args.out, net=net_cfg,
                           crop_size=args.crop_size, batch_size=args.batch_size, lr=args.lr, stage_steps=steps,
                           baseline_steps=args.baseline_steps, augment_copies=args.augment_copies,
                           max_images=args.max_images, threads=args.threads, seed=args.seed)
    torch.set_num_threads(args.threads)
    try:
        loaded = load_data(cfg)
    except (FileNotFoundError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    net, summary = train_msstn(cfg, loaded)
    manifest = json.loads((data / "manifest.json").read_text()) if (data / "manifest.json").is_file() else {}
    training = {"generator": manifest.get("generator", "grasp_core.synth"), "dataset": data.name,
                "scenes": manifest.get("scenes"), "seed": manifest.get("seed"), "images": summary["images"],
                "split": f"by scene: scene % 10 == {cfg.heldout_mod} held out ({summary['heldout_images']} images), "
                         f"train {summary['train_images']} images ({summary['train_samples']} samples)",
                "augmentation": (f"{cfg.augment_copies} augmented copies per image" if cfg.augment_copies
                                 else "none (as the paper)"),
                "schedule": {p: cfg.steps(p) for p in steps}, "batch_size": cfg.batch_size, "lr": cfg.lr,
                "training_minutes": round(summary["minutes"], 1)}
    if args.baselines:
        models, acc = train_baselines(cfg, loaded, net.classifier.state_dict())
        summary["baselines_val_acc"] = acc
        paths = export_baselines(models, net, cfg, Path(args.baselines), training)
        print(f"{PROG}: wrote {', '.join(str(p) for p in paths)}")
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("config", "net")}, default=str))
    if args.figures:
        Path(args.figures).mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(args.out) / "curves.png", Path(args.figures) / "msstn_synth_training_curves.png")
    if args.export:
        card = msstn_card(Path(args.export).stem, cfg, training,
                          {"heldout_rectangle_accuracy": round(summary["val_acc"], 4),
                           "heldout_any_of_k": round(summary["val_any"], 4),
                           "metric": "top-1 (max-pooled) grasp, IoU > 0.25 and |ΔΦ| < 30° vs any label, "
                                     "centre crop, network px"})
        cpath = export_msstn(net, Path(args.export), card)
        print(f"{PROG}: wrote {args.export} and {cpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
