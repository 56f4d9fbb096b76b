"""Training of GG-CNN / GG-CNN2 / MTG-CNN on a Jacquard-layout dataset (e.g. from ``grasp-dataset``).

Modalities (``TrainConfig.modality``): ``depth`` (1 channel), ``rgb`` (3,
``normalise_rgb("mean_unit")`` as the detector), ``rgbd`` (4, [depth, R, G, B]).
Auxiliary targets for MTG-CNN (``TrainConfig.aux``): ``depth`` = the perfect
depth of the crop, ``mean_clip``-normalised; ``saliency`` = the object mask
(``<id>_mask.png`` > 0, or, where a folder has no masks, the pixels more than
5 mm above a plane fitted to the perfect depth). Every augmentation (rotation,
zoom, shift, flip) is one geometric transform applied to the input channels,
the grasp rectangles and the auxiliary target alike
(:func:`make_multitask_sample`). Losses: :mod:`grasp_core.nn.losses` (L, L_p,
auxiliary MSE). A checkpoint with the optimiser state is written every epoch
(``ckpt/epoch_NNN.pt`` and ``state.pt``); ``TrainConfig.resume`` continues from
``state.pt``. ``TrainConfig.folds``/``fold`` select a k-fold split by scene
(:func:`kfold_split`) instead of the fixed held-out tenth.

Input pipeline (``order="inference"``, the default) is the detector's
(:meth:`grasp_core.inference.GraspDetector.preprocess`): noisy depth (metres,
NaN holes) → [augmentation: range/ramp, rotation about the crop centre, random
crop offset/zoom] → :class:`CropTransform` ``.apply(INTER_NEAREST)`` →
:func:`inpaint_depth` → :func:`normalise_depth` (``mean_clip``) → [flip].
Without augmentation the crop is exactly ``CropTransform.centre(shape, crop, size)``.
``order="inpaint_first"`` (inpaint the full frame, then crop with INTER_AREA)
is the order the v1 synthetic models were trained with; on the held-out split
both orders give the same accuracy (see the model cards).

Targets: :func:`grasp_core.targets.grasp_target_maps` of the rectangles mapped
into network pixels. Loss: :func:`grasp_core.nn.ggcnn.ggcnn_loss` (MSE of the
four maps, Morrison et al. 2018). Optimiser: Adam, cosine learning-rate decay.

The split is by scene (image id ``SSSSSS_V``): scenes with ``index % 10 ==
heldout_mod`` (default 9) are held out, so no view of a held-out scene is
trained on.

Several processes or nodes: started by ``torchrun``, :func:`train` trains one DistributedDataParallel
replica per process on its shard of every epoch (:mod:`.distributed`: ``gloo`` on the CPU, ``nccl``
with CUDA); ``--batch-size`` is per process (the global batch is world size × batch size), each
process draws its augmentations from ``default_rng([seed, rank, epoch])``, and only rank 0 evaluates
the held-out split and writes files. Without torchrun nothing of this applies.

Modules: :mod:`.train_config` (:class:`TrainConfig`), :mod:`.cache` (memory-mapped image stacks),
:mod:`.augment` (samples and augmentation), :mod:`.splits` (by scene), :mod:`.frames` (a run's
images, batch loss), :mod:`.evaluation` (held-out accuracy), :mod:`.plots` (curves); this module
is the loop and re-exports their public names.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .augment import Sample, make_multitask_sample, make_sample
from .cache import load_depths, load_stack, table_plane_mask
from .distributed import DistContext, setup
from .evaluation import evaluate_heldout, predict_maps
from .frames import Frames, batch_loss, load_frames, sample_of
from .mtgcnn import build_model
from .plots import plot_curves
from .splits import kfold_split, split_ids
from .train_config import TrainConfig, run_name

__all__ = ["Frames", "Sample", "TrainConfig", "evaluate_heldout", "kfold_split", "load_depths", "load_frames",
           "load_stack", "make_multitask_sample", "make_sample", "plot_curves", "predict_maps", "run_name",
           "split_ids", "table_plane_mask", "train"]


def load_init(path: str) -> dict:
    """A state dict to start from: a PyTorch checkpoint (``.pt``) or an exported network (``.onnx``).

    From ONNX: the initializers by name — the exporter keeps the module's parameter names (e.g.
    ``features.0.weight``; :func:`grasp_core.nn.export.export_onnx`'s wrapper adds ``net.``, stripped
    here); a parameter the exporter merged with an identical one (e.g. two all-zero biases) is an
    ``Identity`` of the kept initializer and is read through it.
    """
    if not str(path).endswith(".onnx"):
        return torch.load(path, map_location="cpu")
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    arrays = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:  # merged duplicates: name = Identity(kept initializer)
        if node.op_type == "Identity" and node.input[0] in arrays:
            arrays.setdefault(node.output[0], arrays[node.input[0]])

    def key(name: str) -> str:
        return name[4:] if name.startswith("net.") else name

    return {key(n): torch.from_numpy(a.copy()) for n, a in arrays.items() if "." in n and not n.startswith("onnx::")}


def train(cfg: TrainConfig, frames: Frames | None = None, ctx: DistContext | None = None) -> dict:
    """Train, keeping the best held-out-accuracy checkpoint.

    Writes ``out_dir/{last,best}.pt`` (state dicts), ``state.pt`` (model, optimiser,
    scheduler, RNG, history: what ``cfg.resume`` continues from),
    ``ckpt/epoch_NNN.pt`` (when ``keep_epoch_checkpoints``), ``history.json``,
    ``curves.png``, ``summary.json`` (in a DDP group: rank 0 only).

    Args:
        frames: preloaded images (:func:`load_frames`), to share them between folds.
        ctx: the process group (:func:`grasp_core.nn.distributed.setup`, the default: the group
            torchrun describes, or this process alone).

    Returns:
        summary dict (best accuracy, epochs, minutes, image counts, world size, config); in a group
        the held-out figures are rank 0's (NaN on the others), the training loss the mean of all.

    Raises:
        FileNotFoundError: no images in ``cfg.data``.
        ValueError: bad architecture/modality/aux/loss/fold.
    """
    from tqdm import tqdm

    ctx = ctx or setup()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = build_model(cfg.arch, cfg.modality, cfg.aux)
    if cfg.loss not in ("l", "lp"):
        raise ValueError(f"unknown loss {cfg.loss!r}")
    if frames is None and not ctx.main:
        ctx.barrier()  # rank 0 builds the image cache first (below), the others then map it
    fr = frames or load_frames(cfg)
    if frames is None and ctx.main:
        ctx.barrier()
    ids, grasps = fr.ids, fr.grasps
    tr, held = kfold_split(ids, cfg.folds, cfg.fold) if cfg.folds else split_ids(ids, cfg.heldout_mod)
    tr = [i for i in tr if grasps[i]] + [i for i in tr if not grasps[i]][: len(tr) // 20]
    out = Path(cfg.out_dir)
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
    if cfg.init:
        net.load_state_dict(load_init(cfg.init))
    st = None
    if cfg.resume and (out / "state.pt").is_file():
        st = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
        net.load_state_dict(st["model"])
    model = ctx.wrap(net)  # net itself, or its DDP replica (same parameters)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    per_process = math.ceil(len(tr) / ctx.world_size)  # DistributedSampler's shard length
    steps_per_epoch = max(1, per_process // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs * steps_per_epoch),
                                                       eta_min=cfg.lr * 0.05)
    history, best, best_acc, start = [], -math.inf, float("nan"), 1
    minutes_before = 0.0
    if st is not None:
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        history, best, best_acc, start = st["history"], st["best"], st["best_acc"], st["epoch"] + 1
        minutes_before = history[-1]["minutes"] if history else 0.0
        if ctx.main:
            print(f"resuming {out} at epoch {start}", flush=True)
    t0 = time.time() - minutes_before * 60
    deadline = time.time() + cfg.max_minutes * 60
    stop = False
    title = run_name(cfg) + (f" fold {cfg.fold + 1}/{cfg.folds}" if cfg.folds else "")
    for epoch in range(start, cfg.epochs + 1):
        if ctx.distributed:  # this process's shard, its own augmentations (module docstring)
            perm, erng = ctx.epoch_order(tr, epoch, cfg.seed), np.random.default_rng([cfg.seed, ctx.rank, epoch])
        else:
            perm, erng = rng.permutation(tr), rng
        run, b = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"{title} epoch {epoch}/{cfg.epochs}", unit="batch",
                   mininterval=5, disable=not ctx.main)
        for b in bar:
            ss = [sample_of(fr, i, cfg, erng) for i in perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]]
            loss, parts, _ = batch_loss(model, ss, cfg)
            opt.zero_grad()
            loss.backward()  # in a group: the gradients averaged over the processes
            opt.step()
            sched.step()
            run += loss.item()
            if b % 20 == 0:
                bar.set_postfix(loss=f"{run / (b + 1):.4f}")
            if ctx.any(time.time() > deadline):  # every process stops after the same step
                stop = True
                break
        train_loss = ctx.mean(run / max(b + 1, 1))
        if not ctx.main:  # rank 0 evaluates and writes; the others wait for it
            history.append({"epoch": epoch, "train_loss": train_loss, "minutes": (time.time() - t0) / 60})
            ctx.barrier()
            if stop:
                break
            continue
        vl, va, nv = evaluate_heldout(net, fr, held, cfg)
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": vl, "val_acc": va,
                        "minutes": (time.time() - t0) / 60})
        print(f"epoch {epoch}: train {train_loss:.4f} held-out loss {vl:.4f} acc {va:.3f} "
              f"({nv} images) {(time.time() - t0) / 60:.1f} min", flush=True)
        torch.save(net.state_dict(), out / "last.pt")
        score = va if va == va else -vl  # no labelled held-out image: use the loss
        if score > best:
            best, best_acc = score, va
            torch.save(net.state_dict(), out / "best.pt")
        if cfg.keep_epoch_checkpoints:
            (out / "ckpt").mkdir(exist_ok=True)
            torch.save(net.state_dict(), out / "ckpt" / f"epoch_{epoch:03d}.pt")
        torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "history": history,
                    "best": best, "best_acc": best_acc, "epoch": epoch, "config": asdict(cfg)},
                   out / "state.pt")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        plot_curves(history, out / "curves.png", f"{title} on {Path(cfg.data).name}")
        ctx.barrier()
        if stop:
            break
    summary = {
        "best_val_acc": best_acc, "epochs": len(history), "minutes": (time.time() - t0) / 60,
        "train_images": len(tr), "heldout_images": len(held), "images": len(ids),
        **({"processes": ctx.world_size} if ctx.distributed else {}),
        "config": asdict(cfg),
    }
    if ctx.main:
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
