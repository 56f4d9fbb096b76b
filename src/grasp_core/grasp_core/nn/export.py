"""ONNX export of a trained GG-CNN / GG-CNN2 and its model card.

ONNX: opset 17, input ``depth`` N×1×S×S float32 (dynamic batch), outputs
``pos``, ``cos``, ``sin``, ``width`` each N×1×S×S. The card follows
:mod:`grasp_core.model_card` and is written by :func:`grasp_core.model_card.write_card`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..model_card import write_card
from .ggcnn import ARCHITECTURES, OUTPUT_NAMES, build


def export_onnx(net: torch.nn.Module, path: str | Path, input_size: int, opset: int = 17) -> Path:
    """Export ``net`` (eval mode) to ONNX at ``path``; returns the path.

    The spatial size is fixed to ``input_size`` (the card's ``input.size``); the batch axis is dynamic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval()
    x = torch.zeros(1, 1, input_size, input_size)
    axes = {"depth": {0: "batch"}, **{k: {0: "batch"} for k in OUTPUT_NAMES}}
    kwargs = dict(input_names=["depth"], output_names=list(OUTPUT_NAMES), opset_version=opset,
                  dynamic_axes=axes, do_constant_folding=True)
    with warnings.catch_warnings():
        # the size check in forward() is traced as a constant: the graph is for input_size only
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        try:
            torch.onnx.export(net, (x,), str(path), dynamo=False, **kwargs)
        except TypeError:  # older torch without the dynamo switch
            torch.onnx.export(net, (x,), str(path), **kwargs)
    return path


def model_card(name: str, arch: str, input_size: int, crop_size: int = 300, training_data: dict | None = None,
               metrics: dict | None = None, description: str = "") -> dict:
    """The card dict (without format/file/sha256, which ``write_card`` fills)."""
    return {
        "name": name,
        "architecture": ARCHITECTURES[arch][1],
        "input": {
            "name": "depth", "modality": "depth", "size": int(input_size),
            "crop": {"mode": "centre", "size_px": int(crop_size)},
            "inpaint": "navier_stokes", "depth_normalisation": "mean_clip", "depth_clip": 1.0,
        },
        "outputs": {"quality": "pos", "cos": "cos", "sin": "sin", "width": "width"},
        "decoding": {"quality": "clip", "angle": "half_atan2", "width_scale_px": 150.0},
        "postprocess": {"quality_sigma": 2.0, "angle_sigma": 2.0, "width_sigma": 1.0,
                        "jaw_length_ratio": 0.5},
        "training_data": training_data or {},
        "metrics": metrics or {},
        "license": "Apache-2.0",
        "description": description,
    }


def export_checkpoint(checkpoint: str | Path, arch: str, onnx_path: str | Path, input_size: int,
                      card: dict) -> Path:
    """Load a state dict, export ONNX and write the card beside it. Returns the card path."""
    net = build(arch)
    net.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    export_onnx(net, onnx_path, input_size)
    return write_card(onnx_path, card)
