"""``grasp-detseg-train``: train the grasp detector with semantic segmentation and refinement (Ainetter &
Fraundorfer, ICRA 2021) in one of its three configurations, evaluate it, export ONNX + card.

Examples::

    grasp-detseg-train --data /data/synth_rgb --heldout /data/synth_rgb_heldout --configuration Det_Seg \\
        --steps 1500 --out runs/det_seg --export models/detseg_synth/det_seg.onnx
    grasp-detseg-train --data /data/synth_rgb --heldout /data/synth_rgb_heldout \\
        --configuration Det_Seg_Refine --init runs/det_seg/checkpoint.pt --freeze-backbone --lr 0.008 \\
        --steps 400 --out runs/det_seg_refine --export models/detseg_synth.onnx

The data folders are ``grasp-dataset`` output (with ``--domain-randomisation`` for real colour); the
run folder gets ``checkpoint.pt``, ``history.json`` and ``curves.png``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

PROG = "grasp-detseg-train"


def _parser() -> argparse.ArgumentParser:
    from ..nn.detseg import CONFIGURATIONS

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Jacquard-layout training folder with class labels (grasp-dataset)")
    p.add_argument("--heldout", default=None, help="held-out folder for the curves and the card's metrics")
    p.add_argument("--out", default="runs/detseg", help="run folder (checkpoint, history, curves)")
    p.add_argument("--configuration", choices=CONFIGURATIONS, default="Det_Seg")
    p.add_argument("--input-size", type=int, default=256)
    p.add_argument("--crop-size", type=int, default=320, help="centre crop of the source image, px")
    p.add_argument("--backbone", default="resnet18", help="torchvision ResNet (paper: resnet101)")
    p.add_argument("--fpn-channels", type=int, default=128)
    p.add_argument("--fc-dim", type=int, default=512, help="box head fc width (paper: 1024)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--init", default=None, help="checkpoint to start from (Det_Seg for Det_Seg_Refine)")
    p.add_argument("--freeze-backbone", action="store_true", help="backbone + FPN fixed (Det_Seg_Refine)")
    p.add_argument("--max-images", type=int, default=0, help="use the first N training images only (0: all)")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export", default=None, help="write the trained network to this .onnx (+ .json card)")
    p.add_argument("--fp16-weights", action="store_true",
                   help="store the exported weights as float16 (half the file; inference stays fp32)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for name in ("data", "heldout"):
        v = getattr(args, name)
        if v is not None and not Path(v).is_dir():
            print(f"{PROG}: error: {name} folder {v} does not exist", file=sys.stderr)
            return 2
    if args.init is not None and not Path(args.init).is_file():
        print(f"{PROG}: error: checkpoint {args.init} does not exist", file=sys.stderr)
        return 2
    if args.steps < 1 or args.batch_size < 1 or args.input_size % 32:
        print(f"{PROG}: error: need --steps >= 1, --batch-size >= 1, --input-size a multiple of 32", file=sys.stderr)
        return 2
    from ..datasets import DatasetError
    from ..nn.detseg import DetSegConfig
    from ..nn.detseg_train import DetSegTrainConfig, load_images, train

    try:
        cfg = DetSegConfig(input_size=args.input_size, configuration=args.configuration, backbone=args.backbone,
                           fpn_channels=args.fpn_channels, fc_dim=args.fc_dim)
        tcfg = DetSegTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, crop_size=args.crop_size,
                                 freeze_backbone=args.freeze_backbone, eval_every=args.eval_every, seed=args.seed,
                                 threads=args.threads)
        images = load_images(args.data, args.max_images)
        heldout = load_images(args.heldout) if args.heldout else None
    except (DatasetError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.time()
    net, history = train(images, heldout, cfg, tcfg, args.out, init=args.init)
    minutes = (time.time() - t0) / 60
    metrics = {k[4:]: v for k, v in history[-1].items() if k.startswith("val_")} if heldout else {}
    print(json.dumps({"configuration": cfg.configuration, "minutes": round(minutes, 1), "heldout": metrics}))
    if args.export:
        from ..nn.detseg_export import export_with_card

        training = {"generator": "grasp_core.synth (MuJoCo), grasp-dataset --domain-randomisation",
                    "dataset": Path(args.data).name, "images": len(images),
                    "heldout": Path(args.heldout).name if args.heldout else None,
                    "heldout_images": len(heldout) if heldout else 0, "init": args.init,
                    "optimiser": "SGD, Nesterov momentum 0.9, weight decay 1e-4, warm-up + cosine",
                    "augmentation": "rotation 0-360 deg, translation +-50 px, horizontal flip (paper: rotation, "
                                    "translation)", **asdict(tcfg), "minutes": round(minutes, 1),
                    "hardware": f"CPU, {args.threads} thread(s)", "history": history}
        card = export_with_card(net, args.export, Path(args.export).stem, tcfg.crop_size, training,
                                {"heldout": metrics, "metric": "top-1 grasp on the centre crop; rectangle metric "
                                 "angle<30 = IoU > 25 % and |dPhi| < 30 deg, strict variants as grasp-eval"},
                                fp16_weights=args.fp16_weights)
        print(f"{PROG}: wrote {args.export} and {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
