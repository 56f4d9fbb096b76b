"""``grasp-gqstn-train``: train GQ-STN (Gariépy et al. 2019) and its DirectGrasp / MultiGrasp baselines, export.

Example::

    grasp-gqstn-train --data /work/data/h14/gqstn_train --out runs/gqstn --steps 1000 --baseline-steps 400 \\
        --rotation signed --export models/gqstn_synth.onnx --baselines models/gqstn_baselines \\
        --figures models/figures

Schedule (:mod:`grasp_core.nn.gqstn_train`): the paper's phases as fractions of ``--steps`` — ξ = 1, 0.5,
0.2 with teacher forcing, then ξ = 0 (L_rob only, all STNs jointly), the best held-out robust precision
kept; learning rates the paper's times ``--lr-scale``. The robustness classifier is frozen and loaded
from ``--classifier`` (a robustness card's name, found from any folder, or its path).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

PROG = "grasp-gqstn-train"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, nargs="+", help="Jacquard-layout dataset folder(s) (grasp-dataset)")
    p.add_argument("--out", default="runs/gqstn", help="run folder (checkpoints, history, curves)")
    p.add_argument("--classifier", default="gqcnn_synth",
                   help="the frozen GQ-CNN: a robustness card's name (searched on the model path, from any "
                        "folder) or its .json / .onnx path")
    p.add_argument("--input-size", type=int, default=224, help="network input, px (paper: 224)")
    p.add_argument("--crop-size", type=int, default=300, help="centre crop of the source image, px")
    p.add_argument("--width", type=int, default=8, help="channels of the ResNets' first stage (ResNet-34: 64)")
    p.add_argument("--blocks", default="1,1,1,1", help="basic blocks per ResNet stage (ResNet-34: 3,4,6,3)")
    p.add_argument("--loc-pool", type=int, default=1,
                   help="localisation nets' final pooling grid (1: global average, as ResNet-34)")
    p.add_argument("--rotation", choices=("printed", "signed"), default="printed",
                   help="STN_rot's parameterisation: printed sigmoids (theta in (0, pi/4) only) or signed")
    p.add_argument("--steps", type=int, default=600, help="GQ-STN optimiser steps, all phases")
    p.add_argument("--baseline-steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr-scale", type=float, default=1.0, help="multiplies the paper's learning rates")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--max-images", type=int, default=0, help="first N images of each folder (0: all)")
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop GQ-STN's training after this long (0: no limit)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export", default=None, help="write GQ-STN to this .onnx (+ .json card)")
    p.add_argument("--baselines", default=None, help="train and export DirectGrasp and MultiGrasp into this folder")
    p.add_argument("--figures", default=None, help="copy the training-curve PNGs into this folder")
    p.add_argument("--scale-anchor", type=float, default=0.0,
                   help="weight of L_loc's scale term kept in the xi = 0 phases (0: pure L_rob, the paper)")
    p.add_argument("--init", default="", help="GQ-STN state dict (.pt) to start from")
    p.add_argument("--start-phase", type=int, default=0, help="skip the schedule's first phases (with --init)")
    p.add_argument("--export-only", action="store_true",
                   help="do not train: export the checkpoints and summary.json of a finished run in --out")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for d in args.data:
        if not Path(d).is_dir():
            print(f"{PROG}: error: dataset folder {d} does not exist", file=sys.stderr)
            return 2
    if args.input_size < 64 or args.width < 1 or args.steps < 0 or args.batch_size < 1:
        print(f"{PROG}: error: need --input-size >= 64, --width >= 1, --steps >= 0, --batch-size >= 1", file=sys.stderr)
        return 2
    import torch

    from grasp_core.nn.gqstn import GQSTNConfig, gqcnn_from_onnx
    from grasp_core.nn.gqstn_train import PAPER_SCHEDULE, GQSTNTrainConfig, load_data, train_baseline, train_gqstn

    torch.set_num_threads(args.threads)
    try:
        from grasp_core.robust_metric import load_classifier_card

        card_path, card, model_file = load_classifier_card(args.classifier)  # found, sha256 checked
        clf_name = str(card.get("name") or card_path.stem)
        args.classifier = str(model_file)
        clf = gqcnn_from_onnx(args.classifier)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: error: classifier {args.classifier}: {exc}", file=sys.stderr)
        return 2
    net_cfg = GQSTNConfig(input_size=args.input_size, crop_size=args.crop_size, width=args.width,
                          blocks=tuple(int(b) for b in args.blocks.split(",")), rotation=args.rotation,
                          loc_pool=args.loc_pool,
                          pose_mean=float(clf.pose_mean), pose_std=float(clf.pose_std))
    cfg = GQSTNTrainConfig(data=list(args.data), out_dir=args.out, net=net_cfg, classifier=args.classifier,
                           steps=args.steps, baseline_steps=args.baseline_steps, batch_size=args.batch_size,
                           lr_scale=args.lr_scale, eval_every=args.eval_every, max_images=args.max_images,
                           max_minutes=args.max_minutes, threads=args.threads, seed=args.seed,
                           scale_anchor=args.scale_anchor, init=args.init, start_phase=args.start_phase)
    try:
        loaded = load_data(cfg)
    except (FileNotFoundError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    net_cfg.gamma = round(loaded[2]["mean_scale"], 5)  # γ: the training set's mean scale (§IV-B)
    manifests = [json.loads((Path(d) / "manifest.json").read_text()) if (Path(d) / "manifest.json").is_file() else {}
                 for d in args.data]
    training = {"generator": "grasp_core.synth (grasp-dataset, physics-validated positives)",
                "datasets": [{"folder": d, "scenes": m.get("scenes"), "seed": m.get("seed"), "images": m.get("images"),
                              "grasps": m.get("grasps")} for d, m in zip(args.data, manifests, strict=True)],
                **loaded[2],
                "split": f"by scene: scene % 10 == {cfg.heldout_mod} held out",
                "schedule": [{"steps": int(round(f * cfg.steps)), "xi": xi, "lr": lr * cfg.lr_scale, "teacher": t}
                             for f, xi, lr, t in PAPER_SCHEDULE],
                "batch_size": cfg.batch_size, "optimizer": "Adam, L2 1e-7", "classifier": args.classifier,
                "torch": torch.__version__, "seed": cfg.seed}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base_nets = {}
    if args.export_only:
        from grasp_core.nn.gqstn import GQSTN, DirectGrasp, MultiGrasp

        result = json.loads((out / "summary.json").read_text())
        net = GQSTN(net_cfg, clf)
        net.load_state_dict(torch.load(out / "gqstn.pt"))
        summary = result["gqstn"]
        for kind, cls in (("direct", DirectGrasp), ("multigrasp", MultiGrasp)):
            if args.baselines and kind in result:
                base_nets[kind] = cls(net_cfg)
                base_nets[kind].load_state_dict(torch.load(out / f"{kind}.pt"))
        net.eval()
    else:
        net, summary = train_gqstn(cfg, loaded, clf)
        result = {"gqstn": {k: v for k, v in summary.items() if k != "history"}}
        if args.baselines:
            for kind in ("direct", "multigrasp"):
                base_nets[kind], s = train_baseline(kind, cfg, loaded, clf)
                result[kind] = {k: v for k, v in s.items() if k != "history"}
        (out / "summary.json").write_text(json.dumps(result, indent=1, default=str))
    training["training_minutes"] = round(summary["minutes"], 1)
    training["steps_run"] = summary["steps_run"]
    print(json.dumps(result, default=str))
    if args.figures:
        fig = Path(args.figures)
        fig.mkdir(parents=True, exist_ok=True)
        stem = Path(args.export).stem if args.export else "gqstn"
        shutil.copy(out / "gqstn_curves.png", fig / f"{stem}_training_curves.png")
        for kind in base_nets:
            shutil.copy(out / f"{kind}_curves.png", fig / f"{stem}_{kind}_training_curves.png")
    if args.export or args.baselines:
        from grasp_core.nn.gqstn_export import export_baseline, export_gqstn, gqstn_card

        dev = (f"localisation nets ResNet blocks {args.blocks} width {args.width} instead of ResNet-34 (CPU, "
               f"40-minute budget), final pooling {args.loc_pool}x{args.loc_pool}; rotation '{args.rotation}'; "
               f"classifier {clf_name} (our physics trials, 0.128 m crops) instead of Dex-Net 2.0's GQ-CNN, "
               "so s is the crop's metric scale; "
               f"{summary['steps_run']} steps instead of 40 epochs")
        held = {"heldout_rectangle_metric": round(summary["heldout"]["rect"], 4),
                "heldout_robust_precision": round(summary["heldout"]["robust"], 4),
                "heldout_mean_p_robust": round(summary["heldout"]["mean_p"], 4),
                "heldout_images": loaded[2]["heldout_images"],
                "metric": "top-1 grasp in source px, IoU > 0.25 and |dPhi| < 30 deg vs any label; robust = "
                          f"P(robust) >= 0.5 of {clf_name} on the net's own image_scale"}
        if args.export:
            cpath = export_gqstn(net, Path(args.export), gqstn_card(Path(args.export).stem, net, training, held, dev,
                                                                         clf_name))
            print(f"{PROG}: wrote {args.export} and {cpath}")
        for kind, m in base_nets.items():
            h = result[kind]["heldout"]
            p = Path(args.baselines) / f"gqstn_{kind}.onnx"
            export_baseline(kind, m, p, net_cfg, training,
                            {"heldout_rectangle_metric": round(h["rect"], 4),
                             "heldout_robust_precision": round(h["robust"], 4),
                             "heldout_mean_p_robust": round(h["mean_p"], 4),
                             "minutes": round(result[kind]["minutes"], 1)}, clf_name)
            print(f"{PROG}: wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
