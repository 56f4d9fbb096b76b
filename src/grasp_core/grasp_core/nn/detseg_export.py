"""ONNX export of :class:`grasp_core.nn.detseg.GraspDetSeg` with its model card (:mod:`grasp_core.model_card`).

Graph: input ``rgb`` (1, 3, S, S) float32 (the detector's centre crop, ``mean_unit``-normalised:
:func:`grasp_core.depth.normalise_rgb`); outputs (:data:`grasp_core.nn.detseg.OUTPUT_NAMES`) ``boxes``
(N, 4) unrotated rectangles (x1, y1, x2, y2) network px, ``scores`` (N,) the orientation classifier's
probability, ``labels`` (N,) int64 θ class 1…18, ``refine`` (N, 5) the refinement head's corrections
(zeros without it), ``class_prob`` (1, S_c, S/4, S/4) the segmentation's class probabilities (uniform
without it). torchvision's RPN, RoIAlign and NMS export with the TorchScript exporter (opset 17).
The card's ``decoding.type`` is ``detseg``; its ``detseg`` section holds :class:`DetSegConfig`, which
:mod:`grasp_core.nn.detseg_onnx` needs to decode without torch.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..model_card import write_card
from .detseg import OUTPUT_NAMES, GraspDetSeg

OPSET = 17


def export_onnx(net: GraspDetSeg, path: str | Path) -> Path:
    """Write the network (eval mode) to ``path`` (.onnx). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    s = net.cfg.input_size
    x = torch.zeros(1, 3, s, s)
    axes = {k: {0: "n"} for k in OUTPUT_NAMES[:4]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (x,), str(path), dynamo=False, input_names=["rgb"],
                          output_names=list(OUTPUT_NAMES), opset_version=OPSET, dynamic_axes=axes,
                          do_constant_folding=True)
    return path


def store_weights_fp16(path: str | Path, min_elements: int = 1024) -> int:
    """Rewrite an ONNX file with its large float32 weights stored as float16, each followed by a Cast back
    to float32 (ONNX Runtime folds the casts when it loads the model, so inference stays fp32; the weights
    are rounded to fp16, ≈ 3 significant digits). Halves the file. Returns the number of tensors converted.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    g = model.graph
    keep, casts, n = [], [], 0
    for init in g.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                          name=init.name + "__cast"))
            n += 1
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(model, str(path))
    return n


def detseg_card(name: str, net: GraspDetSeg, crop_size: int, training: dict, metrics: dict) -> dict:
    """The card of an exported network (without format/file/sha256, which ``write_card`` fills)."""
    cfg = net.cfg
    return {
        "name": name,
        "architecture": (f"Ainetter & Fraundorfer (ICRA 2021), configuration {cfg.configuration}: "
                         f"{cfg.backbone} + FPN ({cfg.fpn_channels} ch, torchvision BackboneWithFPN), Faster R-CNN "
                         f"grasp branch ({cfg.orientations} theta classes + invalid, box head fc {cfg.fc_dim})"
                         + (", Mini-DeepLab segmentation branch" if cfg.segmentation else "")
                         + (", refinement head" if cfg.refinement else "")
                         + "; trained from scratch (paper: ResNet-101, ImageNet-initialised, fc 1024)"),
        "input": {"name": "rgb", "modality": "rgb", "size": int(cfg.input_size),
                  "crop": {"mode": "centre", "size_px": int(crop_size)}, "rgb_normalisation": "mean_unit"},
        "outputs": {k: k for k in OUTPUT_NAMES},
        "stages": {
            "boxes": "boxes (N, 4): the grasp rectangles unrotated, (x1, y1, x2, y2) network px",
            "scores": "scores (N,): probability of the detection's theta class",
            "labels": "labels (N,) int64: theta class k in 1..18, phi = -pi/2 + (k - 1/2) * pi/18",
            "refine": "refine (N, 5): (t_x, t_y, t_w, t_h, t_theta) of Eq. 9-10 (grasp_core.nn.detseg_targets)",
            "class_prob": "class_prob (1, S_c, S/4, S/4): per-pixel class probabilities, classes = detseg.class_names"},
        "decoding": {"type": "detseg", "quality": "score", "object_class": "argmax of the non-background "
                     "class probability at the grasp centre; confidence = that probability"},
        "detseg": cfg.to_dict(),
        "training_data": training,
        "metrics": metrics,
        "opset": OPSET,
        "license": "Apache-2.0",
        "description": "RGB grasp detector with semantic segmentation and refinement (Ainetter & Fraundorfer, "
                       "2021), trained on domain-randomised MuJoCo renders (grasp_core.synth); every grasp carries "
                       "the object class of the segmentation (grasp_core.nn.detseg_onnx).",
    }


def export_with_card(net: GraspDetSeg, path: str | Path, name: str, crop_size: int, training: dict,
                     metrics: dict, fp16_weights: bool = False) -> Path:
    """Export ONNX (``fp16_weights``: stored as float16, :func:`store_weights_fp16`) and write its card
    beside it. Returns the card's path."""
    p = export_onnx(net, path)
    card = detseg_card(name, net, crop_size, training, metrics)
    if fp16_weights:
        store_weights_fp16(p)
        card["input"]["weights"] = "float16 storage, cast to float32 at load (inference in fp32)"
    return write_card(p, card)


__all__ = ["OPSET", "detseg_card", "export_onnx", "export_with_card", "store_weights_fp16"]
