"""ONNX export of a trained GG-CNN / GG-CNN2 / MTG-CNN and its model card.

ONNX: opset 17, one input named after the modality (``depth`` N×1×S×S, ``rgb``
N×3×S×S, ``rgbd`` N×4×S×S [depth, R, G, B]; float32, dynamic batch), outputs
``pos``, ``cos``, ``sin``, ``width`` each N×1×S×S. MTG-CNN is exported through
:class:`grasp_core.nn.mtgcnn.GraspBranch`: its auxiliary branch (depth
reconstruction or saliency) is left out, so the detector's ``onnx_generative``
plugin runs it like any GG-CNN. The card follows :mod:`grasp_core.model_card`
(input modality and normalisation drive the detector's preprocessing) and is
written by :func:`grasp_core.model_card.write_card`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..model_card import write_card
from .ggcnn import OUTPUT_NAMES
from .mtgcnn import ARCH_NAMES, MODALITY_CHANNELS, GraspBranch, build_model


def export_onnx(net: torch.nn.Module, path: str | Path, input_size: int, opset: int = 17,
                modality: str = "depth") -> Path:
    """Export ``net`` (eval mode; only its first four outputs) to ONNX at ``path``; returns the path.

    The spatial size is fixed to ``input_size`` (the card's ``input.size``); the batch axis is
    dynamic; the input is named ``modality`` and has ``MODALITY_CHANNELS[modality]`` channels.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = GraspBranch(net).eval()
    x = torch.zeros(1, MODALITY_CHANNELS[modality], input_size, input_size)
    axes = {modality: {0: "batch"}, **{k: {0: "batch"} for k in OUTPUT_NAMES}}
    kwargs = dict(input_names=[modality], output_names=list(OUTPUT_NAMES), opset_version=opset,
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
               metrics: dict | None = None, description: str = "", modality: str = "depth",
               aux: str = "none", loss: str = "l") -> dict:
    """The card dict (without format/file/sha256, which ``write_card`` fills).

    ``modality`` sets the input name/normalisation keys the detector reads; ``aux``
    and ``loss`` are recorded under ``training`` (the exported graph has no aux output).
    """
    inp = {"name": modality, "modality": modality, "size": int(input_size),
           "crop": {"mode": "centre", "size_px": int(crop_size)}}
    if modality in ("depth", "rgbd"):
        inp.update({"inpaint": "navier_stokes", "depth_normalisation": "mean_clip", "depth_clip": 1.0})
    if modality in ("rgb", "rgbd"):
        inp["rgb_normalisation"] = "mean_unit"
    return {
        "name": name,
        "architecture": ARCH_NAMES[arch],
        "input": inp,
        "training": {"auxiliary_task": aux, "auxiliary_exported": False,
                     "loss": {"l": "L (Prew et al. 2020 Eq. 2: sum of per-map MSE)",
                              "lp": "L_p (Prew et al. 2020 Eq. 3: angle/width errors weighted by Q)"}[loss]},
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
                      card: dict, modality: str = "depth", aux: str = "none") -> Path:
    """Load a state dict, export ONNX (grasp outputs only) and write the card beside it. Returns the card path."""
    net = build_model(arch, modality, aux)
    net.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    export_onnx(net, onnx_path, input_size, modality=modality)
    return write_card(onnx_path, card)
