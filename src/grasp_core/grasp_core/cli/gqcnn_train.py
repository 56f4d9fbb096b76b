"""``grasp-gqcnn-train``: train the GQ-CNN robustness classifier and export it to ONNX with its card.

Example::

    grasp-dataset --output /work/data/robust --scenes 200 --views-per-scene 1 --robustness-trials 4
    grasp-gqcnn-train --data /work/data/robust --fc-width 256 --pool2 --epochs 40 --max-minutes 20 \\
        --out runs/gqcnn --export models/gqcnn_synth.onnx --figures models/figures

Data: the robustness shards of one or more ``grasp-dataset --robustness-trials`` folders
(:mod:`grasp_core.datasets.robustness`; ``--robust-fraction`` relabels from the trial counts), or a
Dex-Net 2.0 tensor folder (``--dexnet``, :mod:`grasp_core.datasets.dexnet`, ``--dexnet-threshold``).
Split by scene: scene % ``--heldout-mod`` == ``--heldout-rem`` is held out (every object of a scene
on the same side; our procedural objects are drawn anew per scene, so this is a split by object;
Dex-Net with object labels: by object). Network: :class:`grasp_core.nn.gqcnn.GQCNN` (Dex-Net 2.0's
configuration; ``--fc-width``/``--pool2`` shrink it). Loss: class-balanced cross-entropy; Adam;
label-preserving augmentation of a symmetric parallel-jaw gripper seen from above: mirror across
the closing line, swap the jaws (both flips), and the noise-free crop instead of the noisy one
with p = 0.25. The epoch of lowest held-out loss is kept; its held-out precision, recall, accuracy
and ROC AUC at the card's threshold (0.5) go on the card, with the ONNX ↔ PyTorch difference.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

PROG = "grasp-gqcnn-train"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="*", default=[], help="grasp-dataset folders with robustness/ shards")
    p.add_argument("--dexnet", default=None, help="a Dex-Net 2.0 tensor folder instead")
    p.add_argument("--dexnet-threshold", type=float, default=0.002, help="robust ⇔ metric > this (Dex-Net)")
    p.add_argument("--robust-fraction", type=float, default=None,
                   help="relabel: robust ⇔ held >= fraction × trials (default: the shards' label)")
    p.add_argument("--heldout-mod", type=int, default=5)
    p.add_argument("--heldout-rem", type=int, default=4)
    p.add_argument("--fc-width", type=int, default=1024, help="fc3/fc4 width (Dex-Net 2.0: 1024)")
    p.add_argument("--pool2", action="store_true", help="2x2 max-pool after conv2_2 (not in Dex-Net 2.0)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=5e-4, help="Adam L2 (Dex-Net's l2 regulariser 5e-4)")
    p.add_argument("--max-minutes", type=float, default=25.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.5, help="operating threshold on P(robust)")
    p.add_argument("--out", default="runs/gqcnn", help="run folder (best.pt, history.json, curves.png)")
    p.add_argument("--export", default=None, help="write the best network to this .onnx (+ .json card)")
    p.add_argument("--name", default=None, help="name on the card (default: the .onnx stem)")
    p.add_argument("--figures", default=None, help="copy curves.png into this folder")
    return p


def load_data(args) -> tuple[dict, dict]:
    """(arrays: crops, crops_perfect, z, centre_depth, robust, scene; data description for the card)."""
    if args.dexnet:
        from grasp_core.datasets.dexnet import read_dexnet

        d = read_dexnet(args.dexnet, threshold=args.dexnet_threshold)
        d["crops_perfect"] = d["crops"]
        return d, {"source": "Dex-Net 2.0 tensors", "folder": str(args.dexnet),
                   "label": f"robust_ferrari_canny > {args.dexnet_threshold}"}
    from grasp_core.datasets.robustness import read_robustness

    parts, descs = [], []
    for i, folder in enumerate(args.data):
        d, man = read_robustness(folder)
        if args.robust_fraction is not None:
            d["robust"] = d["held"] >= args.robust_fraction * d["trials"] - 1e-9
        d["scene"] = d["scene"].astype(np.int64) + 1_000_000 * i
        parts.append(d)
        descs.append({"folder": str(folder), "seed": man.get("seed"), "scenes": man.get("scenes"),
                      "n": man["n"], "trials": man.get("trials"), "perturbation": man.get("perturbation"),
                      "grasp_depth_range_m": man.get("grasp_depth_range_m"),
                      "robust_fraction": args.robust_fraction if args.robust_fraction is not None
                      else man.get("robust_fraction")})
    keys = ("crops", "crops_perfect", "z", "centre_depth", "robust", "scene")
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}, {"source": "grasp-dataset --robustness-trials",
                                                                       "datasets": descs}


def metrics_at(p: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    """Precision, recall, accuracy at ``threshold``, and ROC AUC, of P(robust) ``p`` against labels ``y``."""
    from sklearn.metrics import roc_auc_score

    pred = p >= threshold
    tp = int((pred & y).sum())
    prec = tp / max(int(pred.sum()), 1)
    rec = tp / max(int(y.sum()), 1)
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    return {"precision": round(prec, 4), "recall": round(rec, 4), "accuracy": round(float((pred == y).mean()), 4),
            "roc_auc": round(auc, 4), "n": int(len(y)), "positives": int(y.sum()),
            "predicted_positive": int(pred.sum())}


def main(argv: list[str] | None = None) -> int:  # noqa: C901
    args = _parser().parse_args(argv)
    if not args.data and not args.dexnet:
        print(f"{PROG}: error: give --data FOLDER... or --dexnet FOLDER", file=sys.stderr)
        return 2
    try:
        data, desc = load_data(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    held = (data["scene"] % args.heldout_mod) == args.heldout_rem
    if held.all() or not held.any():
        print(f"{PROG}: error: the split leaves an empty side ({int(held.sum())} of {len(held)} held out)",
              file=sys.stderr)
        return 2
    import torch
    from tqdm import tqdm

    from grasp_core.datasets.robustness import IMAGE_SCALE_M, network_inputs
    from grasp_core.nn.gqcnn import GQCNN, export_gqcnn, n_parameters

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    im, pose = network_inputs(data["crops"], data["z"], data["centre_depth"])
    im_p, _ = network_inputs(data["crops_perfect"], data["z"], data["centre_depth"])
    y = data["robust"].astype(bool)
    tr, te = np.nonzero(~held)[0], np.nonzero(held)[0]
    pm, ps = float(pose[tr].mean()), float(pose[tr].std() + 1e-6)
    net = GQCNN(args.fc_width, 16, args.pool2, pm, ps)
    pos_rate = float(y[tr].mean())
    w = torch.tensor([0.5 / max(1 - pos_rate, 1e-3), 0.5 / max(pos_rate, 1e-3)], dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=w)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    T = {k: torch.from_numpy(v) for k, v in (("im", im), ("im_p", im_p), ("pose", pose))}
    Y = torch.from_numpy(y.astype(np.int64))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def evaluate(idx):
        net.eval()
        with torch.no_grad():
            lo = net.logits(T["im"][idx], T["pose"][idx])
            loss = float(loss_fn(lo, Y[idx]))
            p = torch.softmax(lo, 1)[:, 1].numpy()
        return loss, p

    history, best, t0 = [], (float("inf"), -1), time.time()
    for ep in range(args.epochs):
        net.train()
        order = rng.permutation(tr)
        tot, nb = 0.0, 0
        for b in tqdm(range(0, len(order), args.batch_size), desc=f"{PROG} epoch {ep + 1}/{args.epochs}",
                      unit="batch", leave=False, mininterval=2):
            idx = torch.from_numpy(order[b:b + args.batch_size])
            x = torch.where(torch.from_numpy(rng.random(len(idx)) < 0.25)[:, None, None, None],
                            T["im_p"][idx], T["im"][idx])
            fr = torch.from_numpy(rng.random(len(idx)) < 0.5)[:, None, None, None]
            x = torch.where(fr, torch.flip(x, [2]), x)  # mirror across the closing line
            fc = torch.from_numpy(rng.random(len(idx)) < 0.5)[:, None, None, None]
            x = torch.where(fc, torch.flip(x, [2, 3]), x)  # swap the jaws (rotate 180°)
            loss = loss_fn(net.logits(x, T["pose"][idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item()
            nb += 1
        vloss, p = evaluate(torch.from_numpy(te))
        m = metrics_at(p, y[te], args.threshold)
        history.append({"epoch": ep + 1, "train_loss": tot / max(nb, 1), "val_loss": vloss, **m})
        print(f"{PROG}: epoch {ep + 1} train {tot / max(nb, 1):.4f} held-out {vloss:.4f} "
              f"P {m['precision']:.3f} R {m['recall']:.3f} AUC {m['roc_auc']:.3f}", flush=True)
        if vloss < best[0]:
            best = (vloss, ep + 1)
            torch.save({"state": net.state_dict(), "config": net.config, "pose_mean": pm, "pose_std": ps},
                       out / "best.pt")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        if (time.time() - t0) / 60 > args.max_minutes:
            print(f"{PROG}: stopping after {args.max_minutes} min", flush=True)
            break
    minutes = (time.time() - t0) / 60
    _plot(history, out / "curves.png", f"GQ-CNN (fc {args.fc_width}{', pool2' if args.pool2 else ''}), "
                                       f"{len(tr)} train / {len(te)} held-out grasps")
    ck = torch.load(out / "best.pt", weights_only=True)
    net.load_state_dict(ck["state"])
    _, p_best = evaluate(torch.from_numpy(te))
    m_best = metrics_at(p_best, y[te], args.threshold)
    summary = {"best_epoch": best[1], "heldout_loss": round(best[0], 5), "heldout": m_best,
               "train_grasps": int(len(tr)), "heldout_grasps": int(len(te)), "train_positive_rate": round(pos_rate, 4),
               "minutes": round(minutes, 1), "parameters": n_parameters(net)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    if args.figures:
        Path(args.figures).mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "curves.png", Path(args.figures) / f"{Path(args.export or out).stem}_training_curves.png")
    if args.export:
        import onnxruntime as ort

        from grasp_core.model_card import write_card
        from grasp_core.robust_metric import CARD_FORMAT

        onnx_path = Path(args.export)
        onnx_path.parent.mkdir(parents=True, exist_ok=True)
        export_gqcnn(net, onnx_path)
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        p_onnx = sess.run(["p_robust"], {"crop": im[te], "pose": pose[te]})[0][:, 1]
        parity = float(np.abs(p_onnx - p_best).max())
        card = {
            "name": args.name or onnx_path.stem,
            "architecture": "GQ-CNN (Mahler et al., Dex-Net 2.0, RSS 2017): conv 7x7/64 -> 5x5/64 -> pool 2 -> LRN "
                            "-> 3x3/64 -> 3x3/64 -> LRN" + (" -> pool 2" if args.pool2 else "")
                            + f" -> fc {args.fc_width}; pose stream fc 16; merged fc {args.fc_width} -> fc 2 softmax",
            "deviation_from_paper": (None if args.fc_width == 1024 and not args.pool2 else
                                     f"fc3/fc4 {args.fc_width} wide instead of 1024"
                                     + (" and a 2x2 pool after conv2_2" if args.pool2 else "")
                                     + f": {n_parameters(net) / 1e6:.2f} M parameters instead of 18 M, "
                                       "to fit the repository and the small training set"),
            "parameters": n_parameters(net),
            "inputs": {
                "crop": {"shape": ["n", 1, 32, 32], "dtype": "float32",
                         "value": f"(aligned depth crop - centre depth) / {IMAGE_SCALE_M} m",
                         "crop": "32x32 px over 0.128 m at the grasp centre's depth, centred on the grasp, closing "
                                 "axis along +u (grasp_core.datasets.robustness.aligned_crop), holes inpainted"},
                "pose": {"shape": ["n", 1], "dtype": "float32",
                         "value": "gripper (fingertip) depth z - centre depth, m (normalised inside the network)"},
            },
            "normalisation": {"image_scale_m": IMAGE_SCALE_M, "pose_mean_m": round(pm, 6), "pose_std_m": round(ps, 6)},
            "outputs": {"p_robust": {"shape": ["n", 2], "dtype": "float32", "value": "softmax; column 1 = P(robust)"}},
            "threshold": args.threshold,
            "metrics": {"heldout": m_best, "heldout_split": f"scene % {args.heldout_mod} == {args.heldout_rem} "
                                                            "(objects of held-out scenes never seen in training)",
                        "onnx_vs_torch_max_abs_diff": parity},
            "training_data": {**desc, "train_grasps": int(len(tr)), "heldout_grasps": int(len(te)),
                              "train_positive_rate": round(pos_rate, 4)},
            "training": {"epochs_run": len(history), "best_epoch": best[1], "minutes": round(minutes, 1),
                         "batch_size": args.batch_size, "lr": args.lr, "weight_decay": args.weight_decay,
                         "loss": "class-balanced cross-entropy", "optimizer": "Adam",
                         "augmentation": "mirror across the closing line, jaw swap, noise-free crop p=0.25",
                         "seed": args.seed, "torch": torch.__version__},
            "runtime": "ONNX Runtime (grasp_core.robust_metric.RobustnessClassifier); no torch at run time",
        }
        cpath = write_card(onnx_path, card)
        text = json.loads(cpath.read_text())
        text["format"] = CARD_FORMAT
        cpath.write_text(json.dumps(text, indent=2) + "\n")
        print(f"{PROG}: wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) and {cpath}; "
              f"ONNX vs torch max |dP| {parity:.2e}")
    return 0


def _plot(history: list[dict], path: Path, title: str) -> None:
    """Training curves: losses; held-out precision / recall / accuracy; held-out ROC AUC (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 3, figsize=(11, 3), dpi=80)
    ax[0].plot(ep, [h["train_loss"] for h in history], label="train")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="held-out")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("balanced cross-entropy")
    ax[0].legend()
    for k in ("precision", "recall", "accuracy"):
        ax[1].plot(ep, [h[k] for h in history], label=k)
    ax[1].set_ylim(0, 1)
    ax[1].set_xlabel("epoch")
    ax[1].legend()
    ax[2].plot(ep, [h["roc_auc"] for h in history], "g.-")
    ax[2].set_ylim(0.4, 1)
    ax[2].set_xlabel("epoch")
    ax[2].set_ylabel("held-out ROC AUC")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
