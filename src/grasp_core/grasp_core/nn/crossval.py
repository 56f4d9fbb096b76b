"""k-fold cross-validation by scene and the Table-I report (Prew et al., ICPR 2020, Table I).

A configuration (:class:`grasp_core.nn.train.TrainConfig`: architecture,
modality, auxiliary task, loss) is trained once per fold; fold k tests the
scenes with ``scene % folds == k`` (:func:`grasp_core.nn.splits.kfold_split`) and
trains on the others. After training, the best checkpoint of the fold is
evaluated on every labelled image of the fold's test scenes with the standard
rectangle metric and its stricter variants
(:func:`grasp_core.evaluate.metric_variants`), written to
``<out>/fold_<k>/result.json``. :func:`aggregate` turns the fold results into
mean ± standard deviation (sample std, ddof = 1) per configuration, written as
Markdown, CSV and a bar chart PNG by :func:`write_report`.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..evaluate import metric_variants
from .evaluation import evaluate_heldout
from .frames import Frames, load_frames
from .mtgcnn import build_model
from .splits import kfold_split
from .train import train
from .train_config import TrainConfig, run_name

#: The six rows of the report: label → TrainConfig overrides.
TABLE1 = {
    "GG-CNN (RGB)": dict(arch="ggcnn", modality="rgb", aux="none", loss="l"),
    "GG-CNN_p (RGB)": dict(arch="ggcnn", modality="rgb", aux="none", loss="lp"),
    "MTG-CNN, depth aux (RGB)": dict(arch="mtgcnn", modality="rgb", aux="depth", loss="l"),
    "MTG-CNN, saliency aux (RGB)": dict(arch="mtgcnn", modality="rgb", aux="saliency", loss="l"),
    "MTG-CNN_p, depth aux (RGB)": dict(arch="mtgcnn", modality="rgb", aux="depth", loss="lp"),
    "GG-CNN2 (depth)": dict(arch="ggcnn2", modality="depth", aux="none", loss="l"),
}

#: Prew et al. 2020, Table I (Jacquard, RGB input, mean over 5 folds), for the rows they report.
PAPER_TABLE1 = {"GG-CNN (RGB)": 0.7204, "MTG-CNN, depth aux (RGB)": 0.7814, "GG-CNN_p (RGB)": 0.7892,
                "MTG-CNN_p, depth aux (RGB)": 0.7912}


def run_fold(cfg: TrainConfig, folds: int, fold: int, out_root: str | Path, frames: Frames | None = None) -> dict:
    """Train ``cfg`` on fold ``fold`` of ``folds`` and evaluate its best checkpoint on the fold's test scenes.

    Writes ``<out_root>/fold_<fold>/`` (training outputs and ``result.json``).

    In fold mode the per-epoch evaluation of :func:`grasp_core.nn.train.train` runs on the fold's
    test scenes (all their labelled images), and ``best.pt`` is the epoch with the best accuracy
    there: ``accuracy`` is that epoch's (the protocol's figure, selected on the test fold, so
    optimistic), ``last_epoch_accuracy`` the last epoch's (no selection), ``val_acc_per_epoch``
    every epoch's (Prew et al.'s Fig. 6).

    Returns:
        {"name", "fold", "folds", "accuracy", "last_epoch_accuracy", "val_acc_per_epoch", "variants",
        "test_images", "epochs", "minutes", "train_images"}.
    """
    fcfg = replace(cfg, folds=folds, fold=fold, out_dir=str(Path(out_root) / f"fold_{fold}"))
    frames = frames or load_frames(fcfg)
    summary = train(fcfg, frames)
    net = build_model(fcfg.arch, fcfg.modality, fcfg.aux)
    net.load_state_dict(torch.load(Path(fcfg.out_dir) / "best.pt", map_location="cpu"))
    _, test = kfold_split(frames.ids, folds, fold)
    _, acc, n, (preds, gts) = evaluate_heldout(net, frames, test, fcfg, limit=0, return_predictions=True)
    history = json.loads((Path(fcfg.out_dir) / "history.json").read_text())
    result = {"name": run_name(fcfg), "fold": fold, "folds": folds, "accuracy": acc,
              "last_epoch_accuracy": history[-1]["val_acc"] if history else math.nan,
              "val_acc_per_epoch": [h["val_acc"] for h in history],
              "variants": metric_variants(preds, gts) if preds else {}, "test_images": n,
              "epochs": summary["epochs"], "minutes": summary["minutes"], "train_images": summary["train_images"]}
    (Path(fcfg.out_dir) / "result.json").write_text(json.dumps(result, indent=1))
    return result


def aggregate(results: dict[str, list[dict]]) -> list[dict]:
    """Mean ± std over folds per configuration.

    Args:
        results: label → list of :func:`run_fold` results.

    Returns:
        one row per label: {"label", "folds", "mean", "std", "last_mean", "last_std", "images",
        "minutes", "variants": {key: mean}, "per_epoch": [(mean, std) per epoch over the folds
        that reached it], "paper": Prew et al.'s figure or None}; std is the sample standard
        deviation (ddof 1; NaN with one fold); ``last_*`` over the folds' last-epoch accuracies.
    """
    rows = []
    for label, rs in results.items():
        accs = np.array([r["accuracy"] for r in rs], float)
        last = np.array([r.get("last_epoch_accuracy", math.nan) for r in rs], float)
        keys = rs[0]["variants"].keys() if rs and rs[0]["variants"] else []
        curves = [r.get("val_acc_per_epoch", []) for r in rs]
        per_epoch = []
        for e in range(max((len(c) for c in curves), default=0)):
            v = np.array([c[e] for c in curves if len(c) > e], float)
            per_epoch.append((float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan))
        rows.append({
            "label": label, "folds": len(rs), "mean": float(accs.mean()) if len(accs) else math.nan,
            "std": float(accs.std(ddof=1)) if len(accs) > 1 else math.nan,
            "last_mean": float(last.mean()) if len(last) else math.nan,
            "last_std": float(last.std(ddof=1)) if len(last) > 1 else math.nan,
            "per_epoch": per_epoch,
            "images": int(sum(r["test_images"] for r in rs)), "minutes": float(sum(r["minutes"] for r in rs)),
            "variants": {k: float(np.mean([r["variants"][k] for r in rs])) for k in keys},
            "paper": PAPER_TABLE1.get(label),
        })
    return rows


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}"


def write_report(rows: list[dict], out: str | Path, title: str = "Table I") -> dict[str, Path]:
    """Write ``table1.md``, ``table1.csv`` and ``table1.png`` (bar chart, mean ± std) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vkeys = list(rows[0]["variants"]) if rows and rows[0]["variants"] else []
    md = [f"# {title}", "",
          "| configuration | folds | accuracy % (mean ± std) | last epoch % | Prew et al. % | test images | "
          + " | ".join(vkeys) + (" |" if vkeys else "|"),
          "|---|---|---|---|---|---|" + "---|" * len(vkeys)]
    for r in rows:
        md.append(f"| {r['label']} | {r['folds']} | {_pct(r['mean'])} ± {_pct(r['std'])} | "
                  f"{_pct(r.get('last_mean'))} ± {_pct(r.get('last_std'))} | {_pct(r['paper'])} | "
                  f"{r['images']} | " + " | ".join(_pct(r["variants"][k]) for k in vkeys) + (" |" if vkeys else "|"))
    paths = {"md": out / "table1.md", "csv": out / "table1.csv", "png": out / "table1.png",
             "epochs_png": out / "table1_epochs.png"}
    paths["md"].write_text("\n".join(md) + "\n")
    with open(paths["csv"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["configuration", "folds", "mean", "std", "last_epoch_mean", "last_epoch_std", "paper",
                    "test_images", "train_minutes", *vkeys])
        for r in rows:
            w.writerow([r["label"], r["folds"], f"{r['mean']:.4f}", f"{r['std']:.4f}",
                        f"{r.get('last_mean', math.nan):.4f}", f"{r.get('last_std', math.nan):.4f}",
                        "" if r["paper"] is None else r["paper"], r["images"], f"{r['minutes']:.1f}",
                        *(f"{r['variants'][k]:.4f}" for k in vkeys)])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5), dpi=80)
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["mean"] for r in rows], 0.4, yerr=[0 if r["std"] != r["std"] else r["std"] for r in rows],
           capsize=3, label="this run (mean ± std over folds)")
    ax.bar(x + 0.2, [r["paper"] or 0 for r in rows], 0.4, label="Prew et al. 2020 (Jacquard)", alpha=0.6)
    ax.set_xticks(x, [r["label"].replace(", ", "\n") for r in rows], fontsize=7)
    ax.set_ylabel("rectangle-metric accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(paths["png"])
    plt.close(fig)
    plot_epoch_curves(rows, paths["epochs_png"], title)
    return paths


#: Fig. 6 panels: (title, row with L, row with L_p).
EPOCH_PAIRS = (("GG-CNN (RGB)", "GG-CNN (RGB)", "GG-CNN_p (RGB)"),
               ("MTG-CNN, depth aux (RGB)", "MTG-CNN, depth aux (RGB)", "MTG-CNN_p, depth aux (RGB)"))


def plot_epoch_curves(rows: list[dict], path: str | Path, title: str = "Table I") -> Path | None:
    """Prew et al.'s Fig. 6: test-fold rectangle accuracy after each epoch, L vs L_p, mean ± std over folds.

    One panel per :data:`EPOCH_PAIRS` entry with at least one of its rows in ``rows``
    (:func:`aggregate` output, ``per_epoch``). Returns the PNG path, or None when no panel has data.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_label = {r["label"]: r for r in rows if r.get("per_epoch")}
    panels = [p for p in EPOCH_PAIRS if p[1] in by_label or p[2] in by_label]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 4.5 * len(panels)), 3.8), dpi=80, squeeze=False)
    for ax, (name, l_label, lp_label) in zip(axes[0], panels, strict=True):
        for label, style, loss in ((l_label, "o-", "L (Eq. 2)"), (lp_label, "s--", "L_p (Eq. 3)")):
            r = by_label.get(label)
            if r is None:
                continue
            ep = np.arange(1, len(r["per_epoch"]) + 1)
            m = np.array([v[0] for v in r["per_epoch"]])
            sd = np.nan_to_num(np.array([v[1] for v in r["per_epoch"]]))
            ax.plot(ep, m, style, label=f"{loss}, {r['folds']} folds")
            ax.fill_between(ep, m - sd, m + sd, alpha=0.15)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("test-fold rectangle accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}\naccuracy after each epoch, mean ± std over folds (Prew et al. Fig. 6)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


#: Architecture families of the Table-I rows: the best of each is exported (:func:`export_best`).
FAMILIES = {"ggcnn": ("GG-CNN (RGB)", "GG-CNN_p (RGB)"),
            "mtgcnn": ("MTG-CNN, depth aux (RGB)", "MTG-CNN, saliency aux (RGB)", "MTG-CNN_p, depth aux (RGB)"),
            "ggcnn2": ("GG-CNN2 (depth)",)}


def pick_best(results: dict[str, list[dict]], labels: tuple[str, ...]) -> tuple[str, dict] | None:
    """The family's representative: the configuration with the best mean fold accuracy, and its best fold.

    Args:
        results: label → list of :func:`run_fold` results.
        labels: the family's row labels (those without results are skipped).

    Returns:
        (label, fold result) or None when no label of the family has results.
    """
    scored = [(float(np.mean([r["accuracy"] for r in results[lb]])), lb) for lb in labels if results.get(lb)]
    if not scored:
        return None
    _, label = max(scored)
    return label, max(results[label], key=lambda r: r["accuracy"])


def export_best(results: dict[str, list[dict]], rows: list[dict], base: TrainConfig, out_root: str | Path,
                models_dir: str | Path, suffix: str) -> list[Path]:
    """Export the best checkpoint of each family (:data:`FAMILIES`, :func:`pick_best`) as ONNX + model card.

    The card's ``metrics`` carry the chosen fold's rectangle accuracy and stricter variants and the
    configuration's Table-I row (mean ± std and every fold), so the cross-validated figure travels
    with the file. Names: ``<arch>_<modality>_<suffix>`` (e.g. ``mtgcnn_rgb_synth_v2``).

    Args:
        results: label → fold results (:func:`run_fold`), as from the Table-I run.
        rows: :func:`aggregate` of ``results``.
        base: the shared training configuration (data, input size, epochs …) of the run.
        out_root: the run's output folder (``<out_root>/<slug(label)>/fold_<k>/best.pt``).
        models_dir: where ``<name>.onnx`` and ``<name>.json`` are written.
        suffix: name suffix, usually the dataset folder's name.

    Returns:
        the written card paths.
    """
    import re

    from .export import export_checkpoint, model_card

    out_root, models_dir = Path(out_root), Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    by_label = {r["label"]: r for r in rows}
    manifest = {}
    mpath = Path(base.data) / "manifest.json"
    if mpath.is_file():
        manifest = json.loads(mpath.read_text())
    written = []
    for family, labels in FAMILIES.items():
        best = pick_best(results, labels)
        if best is None:
            continue
        label, res = best
        cfg = replace(base, **TABLE1[label])
        slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        ckpt = out_root / slug / f"fold_{res['fold']}" / "best.pt"
        name = f"{family}_{cfg.modality}_{suffix}"
        row = by_label[label]
        card = model_card(
            name, cfg.arch, cfg.input_size, cfg.crop_size,
            training_data={
                "generator": manifest.get("generator", "grasp_core.synth"), "dataset": Path(base.data).name,
                "physics_validated": bool(manifest.get("physics", False)), "scenes": manifest.get("scenes"),
                "images_used": res["train_images"] + res["test_images"],
                "split": f"fold {res['fold']} of {res['folds']} by scene (scene % {res['folds']} == {res['fold']} "
                         f"tested, {res['test_images']} images); trained on {res['train_images']} images",
                "epochs": res["epochs"], "training_minutes": round(res["minutes"], 1),
                "augmentation": "rotation 360°, zoom 0.8-1.2, shift ±30 px, horizontal flip"
                                + (", z-depth→range (p=0.3), planar ramp ≤1 mm/px (p=0.3)" if cfg.modality != "rgb"
                                   else ""),
                "input_size": cfg.input_size, "batch_size": cfg.batch_size, "lr": cfg.lr,
                "hardware": "CPU, 1 thread per training process",
            },
            metrics={
                "fold_rectangle_accuracy": round(res["accuracy"], 4), "fold": res["fold"], "folds": res["folds"],
                "fold_variants": {k: round(v, 4) for k, v in res["variants"].items()},
                "table1": {"configuration": label, "mean": round(row["mean"], 4),
                           "std": None if row["std"] != row["std"] else round(row["std"], 4),
                           "per_fold": [round(r["accuracy"], 4) for r in results[label]],
                           "paper_jacquard": row["paper"]},
                "family_selection": f"best mean over folds among {list(labels)}; its best fold exported "
                                    "(so the fold figure is optimistic; the mean is the estimate)",
                "metric": "top-1 grasp, IoU > 0.25 and |ΔΦ| < 30° vs any ground-truth rectangle, centre crop",
            },
            description=f"{run_name(cfg)} ({label} row of the Table-I protocol, Prew et al. 2020), trained on "
                        f"{Path(base.data).name}" + (", auxiliary branch not exported" if cfg.aux != "none" else "")
                        + ".",
            modality=cfg.modality, aux=cfg.aux, loss=cfg.loss)
        written.append(export_checkpoint(ckpt, cfg.arch, models_dir / f"{name}.onnx", cfg.input_size, card,
                                         cfg.modality, cfg.aux))
    return written
