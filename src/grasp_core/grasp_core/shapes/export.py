"""ONNX export of the SSD grasp detector, its plain-array weights and its model card.

Files written into ``models_dir`` for name N:

* ``N.onnx`` (opset 17): input ``depth`` (B, 1, 300, 300) float32 normalised depth
  (:func:`grasp_core.shapes.data.normalise_depth_image`); outputs ``scores`` (B, D)
  grasp probability per default box and ``boxes`` (B, D, 5) decoded (u, v, w, h, θ)
  in network px / rad (:func:`grasp_core.shapes.ssd.decode_torch`), D = 1930.
  Used by the ``onnx_ssd`` detector plugin (ONNX Runtime only).
* ``N.npz``: the same weights as plain float32 arrays (``numpy.load(allow_pickle=False)``),
  for the guided backpropagation of the shape classifier (PyTorch).
* ``N.json``: the model card (:mod:`grasp_core.model_card`), with ``weights_npz`` and its sha256.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from ..model_card import sha256_file, write_card
from .data import FOCAL_PX, TRAIN_SHAPES
from .detector import KINDS
from .ssd import INPUT_SIZE, LAYER_NAMES, SOURCE_SCALES, SOURCE_SIZES, SSDExport, SSDGrasp, state_to_arrays


def export_ssd(net: SSDGrasp, models_dir: str | Path, name: str, summary: dict) -> Path:
    """Write ``name``.onnx/.npz/.json into ``models_dir``; returns the card path."""
    d = Path(models_dir)
    d.mkdir(parents=True, exist_ok=True)
    onnx_path, npz_path = d / f"{name}.onnx", d / f"{name}.npz"
    net = net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(SSDExport(net), (torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE),), str(onnx_path),
                          input_names=["depth"], output_names=["scores", "boxes"], opset_version=17,
                          dynamic_axes={"depth": {0: "batch"}, "scores": {0: "batch"}, "boxes": {0: "batch"}},
                          do_constant_folding=True, dynamo=False)
    np.savez(npz_path, **state_to_arrays(net))
    cfg = summary.get("config", {})
    card = {
        "name": name,
        "architecture": "SSD grasp detector (Liu et al. 2016; Yokota et al.): VGG-16-style base "
                        f"(layers 1-1 … 4-3, widths {list(net.widths)}), source maps {list(SOURCE_SIZES)}, "
                        "2 classes (background, grasp), (x, y, w, h, θ) per default box",
        "input": {"name": "depth", "modality": "depth", "size": INPUT_SIZE,
                  "crop": {"mode": "centre", "size_px": INPUT_SIZE}, "inpaint": "navier_stokes",
                  "depth_normalisation": "median_height", "depth_scale_per_m": 20.0,
                  "note": "x = clip((median(d) - d) * 20, -1, 2), d in metres (grasp_core.shapes.data)"},
        "outputs": {"scores": "scores", "boxes": "boxes"},
        "decoding": {"type": KINDS[0], "boxes": "u, v, w (opening), h (jaw length) in network px, theta rad",
                     "default_box_scales_px": list(SOURCE_SCALES), "variances": [0.1, 0.2],
                     "nms": {"score_threshold": 0.3, "iou_threshold": 0.2, "min_distance_px": 6.0}},
        "postprocess": {},
        "weights_npz": npz_path.name,
        "weights_npz_sha256": sha256_file(npz_path),
        "feature_layers": list(LAYER_NAMES),
        "training_data": {
            "generator": "grasp_core.shapes.data.render_shapes (MuJoCo, grasp_core.synth objects x0.55)",
            "shapes": list(TRAIN_SHAPES), "objects_per_image": "1-4", "images": summary.get("train_images"),
            "heldout_images": summary.get("heldout_images"), "seed": cfg.get("seed"),
            "camera": f"top-down, 0.62-0.78 m, f = {FOCAL_PX} px, 300x300, Gaussian depth noise 1.5 mm",
            "labels": "analytic grasp rectangles across each convex piece",
            "augmentation": "8 flips/transposes", "epochs": summary.get("epochs"),
            "training_minutes": round(float(summary.get("train_minutes", 0.0)), 1),
            "batch_size": cfg.get("batch_size"), "lr": cfg.get("lr"), "threads": cfg.get("threads"),
            **({"note": summary["stopped"]} if "stopped" in summary else {}),
        },
        "metrics": {"heldout_top1_grasp_accuracy": round(float(summary.get("heldout_top1_grasp_accuracy", 0)), 4),
                    "metric": "best detection after NMS is a correct grasp: IoU > 0.25 and |Δθ| < 30° vs any "
                              "ground-truth rectangle"},
        "license": "Apache-2.0",
        "description": "Class-agnostic SSD grasp detector for the few-shot shape classifier (grasp_shape).",
    }
    return write_card(onnx_path, card)


def copy_figure(src: Path, dst_dir: str | Path, name: str) -> None:
    if src.is_file():
        Path(dst_dir).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, Path(dst_dir) / name)
