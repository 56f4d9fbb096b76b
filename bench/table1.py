"""The Table-I protocol of Prew et al. (ICPR 2020) on a Jacquard-layout folder: 6 configurations × k folds.

Rows (:data:`grasp_core.nn.crossval.TABLE1`): GG-CNN, GG-CNN_p, MTG-CNN (depth aux),
MTG-CNN (saliency aux), MTG-CNN_p (depth aux) on RGB input, GG-CNN2 on depth.
Every (configuration, fold) run is one :func:`grasp_core.nn.crossval.run_fold`
(training with its progress bar, curves PNG, checkpoints, then the fold's test
scenes scored with the rectangle metric and its stricter variants); ``--jobs``
runs go in parallel, each on one thread. Finished folds (``result.json``) are
not rerun, so an interrupted protocol resumes.

Output in ``--out``: ``<config>/fold_<k>/`` per run, ``table1.md``, ``table1.csv``,
``table1.png`` (mean ± std over folds beside the paper's Jacquard figures) and
``table1_epochs.png`` (the paper's Fig. 6: test-fold accuracy after each epoch, L vs L_p,
for GG-CNN and MTG-CNN with depth aux). ``--configs`` picks rows (in that order, so the
most wanted run first); ``--report-only`` writes the report from the finished folds
without training (rows with no finished fold left out).

Run from the checkout with the venv active::

    python bench/table1.py --data data/synth_v2 --out bench/out/table1_v2 --export-best models   # full protocol
    python bench/table1.py --data data/synth_v2 --out bench/out/table1_quick --quick

Full protocol defaults (≈ 85 min on 2 shared CPU cores): the first 1,500 images (500 scenes),
5 folds, 96 px input from the 300 px centre crop, 8 epochs, batch 8, lr 2e-3, 2 jobs
(batch 8 and lr 2e-3 as the shipped models). ``--export-best models`` then writes the best
fold of each family's best row (GG-CNN, MTG-CNN, GG-CNN2) with its card.
``--quick``: 2 of the 5 folds, the first 900 images, 3 epochs, 96 px, batch 16 — a pipeline
check, not a result.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import re
import sys
import time
from dataclasses import replace
from pathlib import Path


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _task(args):
    import torch

    torch.set_num_threads(1)
    from grasp_core.nn.crossval import run_fold

    cfg, folds, fold, out = args
    res_path = Path(out) / f"fold_{fold}" / "result.json"
    if res_path.is_file():
        return json.loads(res_path.read_text())
    return run_fold(cfg, folds, fold, out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="table1", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Jacquard-layout folder (RGB, depth, masks or perfect depth)")
    p.add_argument("--out", default="bench/out/table1")
    p.add_argument("--quick", action="store_true", help="2 of the folds, 900 images, 3 epochs, 96 px, batch 16")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--run-folds", type=int, default=None, help="run only the first N folds (default: all)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--input-size", type=int, default=96)
    p.add_argument("--max-images", type=int, default=1500, help="first N images (0 = all)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=12.0, help="training budget per run")
    p.add_argument("--configs", nargs="*", default=None, help="subset of row labels (default: all six)")
    p.add_argument("--report-only", action="store_true",
                   help="no training: report the folds that have finished (result.json)")
    p.add_argument("--export-best", metavar="MODELS_DIR", default=None,
                   help="export the best checkpoint of each family (GG-CNN, MTG-CNN, GG-CNN2) with its card here")
    p.add_argument("--export-families", nargs="*", default=None, choices=["ggcnn", "mtgcnn", "ggcnn2"],
                   help="with --export-best: only these families (default: all three)")
    a = p.parse_args(argv)
    if not Path(a.data).is_dir():
        print(f"table1: error: dataset folder {a.data} does not exist", file=sys.stderr)
        return 2
    if a.quick:
        a.run_folds, a.max_images, a.epochs, a.input_size, a.batch_size = 2, 900, 3, 96, 16
    from grasp_core.nn.crossval import TABLE1, aggregate, export_best, write_report
    from grasp_core.nn.train import TrainConfig, load_frames

    labels = a.configs or list(TABLE1)
    unknown = [lb for lb in labels if lb not in TABLE1]
    if unknown:
        print(f"table1: error: unknown configuration {unknown[0]!r}; choose from {list(TABLE1)}", file=sys.stderr)
        return 2
    base = TrainConfig(data=a.data, input_size=a.input_size, batch_size=a.batch_size, lr=a.lr, epochs=a.epochs,
                       max_minutes=a.max_minutes, threads=1, max_images=a.max_images, max_val_images=0,
                       keep_epoch_checkpoints=False)
    out = Path(a.out)
    tasks = []
    for lb in labels:
        cfg = replace(base, **TABLE1[lb])
        load_frames(cfg)  # build the image caches once, before the workers read them
        for k in range(a.run_folds or a.folds):
            tasks.append((lb, (cfg, a.folds, k, str(out / _slug(lb)))))
    t0 = time.time()
    results: dict[str, list[dict]] = {lb: [] for lb in labels}
    if a.report_only:
        for lb, (_, _, k, o) in tasks:
            f = Path(o) / f"fold_{k}" / "result.json"
            if f.is_file():
                results[lb].append(json.loads(f.read_text()))
        results = {lb: rs for lb, rs in results.items() if rs}
        if not results:
            print(f"table1: error: no finished fold in {out}", file=sys.stderr)
            return 2
    else:
        with mp.get_context("spawn").Pool(a.jobs) as pool:
            for (lb, _), r in zip(tasks, pool.imap(_task, [t for _, t in tasks]), strict=True):
                results[lb].append(r)
                print(f"table1: {lb} fold {r['fold']}: accuracy {r['accuracy']:.3f} on {r['test_images']} images "
                      f"({r['minutes']:.1f} min training)", flush=True)
    rows = aggregate(results)
    title = (f"Table I protocol on {Path(a.data).name}: {a.run_folds or a.folds} of {a.folds} folds, "
             f"{a.max_images or 'all'} images, {a.input_size} px, {a.epochs} epochs" + (" (quick)" if a.quick else ""))
    paths = write_report(rows, out, title)
    (out / "results.json").write_text(json.dumps({"args": vars(a), "results": results, "rows": rows,
                                                  "wall_minutes": (time.time() - t0) / 60}, indent=1))
    print(paths["md"].read_text())
    print(f"table1: wrote {paths['md']}, {paths['csv']}, {paths['png']}, {paths['epochs_png']} "
          f"in {(time.time() - t0) / 60:.1f} min")
    if a.export_best:
        from grasp_core.nn.crossval import FAMILIES

        keep = {lb for f in (a.export_families or FAMILIES) for lb in FAMILIES[f]}
        chosen = {lb: rs for lb, rs in results.items() if lb in keep}
        for card in export_best(chosen, rows, base, out, a.export_best, _slug(Path(a.data).name)):
            print(f"table1: exported {card.with_suffix('.onnx')} and {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
