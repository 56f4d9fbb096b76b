"""ONNX export of the multi-stage STN and its baselines, with model cards (:mod:`grasp_core.model_card`).

The multi-stage graph: input ``depth`` (B, 1, S, S) float32 (the detector's centre crop, ``mean_clip``
normalised), one output per stage — ``crop_xy`` (B, K, 2) STN_crop's centres (normalised),
``rotation`` (B, K) STN_rotation's θ (rad), ``scale_crop`` (B, K, 4) STN_scale,crop's (s_x, s_y, δx, δy),
``score`` (B, K) the classifier's logits. Opset 20: ``affine_grid`` exports as AffineGrid from opset 20
(GridSample since 16). The card's ``decoding.type`` is ``msstn`` and its ``msstn`` section holds the
sizes :func:`grasp_core.nn.msstn.decode_candidates` needs; :mod:`grasp_core.nn.msstn_onnx` runs it
without torch. Baselines: ``msstn_direct`` (output ``grasp`` (B, 6) raw), ``msstn_single`` (``grasp``,
``score``), ``msstn_sliding`` (``score`` (N,) over the card's ``sliding`` grid).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from ..model_card import write_card
from .msstn import OUTPUT_NAMES, MultiStageSTN
from .msstn_baselines import SlidingWindow
from .msstn_onnx import SLIDING_OPENINGS_PX, window_grid

OPSET = 20


def _export(module: nn.Module, path: Path, size: int, outputs: list[str], channels: int = 1,
            dynamic: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, channels, size, size)
    axes = {"depth": {0: "batch"}, **{k: {0: "batch"} for k in outputs}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), str(path), dynamo=False, input_names=["depth"], output_names=outputs,
                          opset_version=OPSET, dynamic_axes=axes, do_constant_folding=True)
    return path


def _input(cfg) -> dict:
    return {"name": "depth", "modality": "depth", "size": int(cfg.net.input_size),
            "crop": {"mode": "centre", "size_px": int(cfg.crop_size)}, "inpaint": "navier_stokes",
            "depth_normalisation": "mean_clip", "depth_clip": 1.0}


def msstn_card(name: str, cfg, training: dict, metrics: dict) -> dict:
    """The multi-stage STN's card (without format/file/sha256, which ``write_card`` fills)."""
    return {
        "name": name,
        "architecture": (f"multi-stage STN (Park & Chun 2018): STN_crop (K={cfg.net.k}), STN_rotation, "
                         "STN_scale,crop, grasp classifier, max-pooling; ResNet localisation nets "
                         f"(width {cfg.net.width})"
                         + (f"; STN_crop pooled to a {cfg.net.crop_pool} x {cfg.net.crop_pool} grid"
                            if cfg.net.crop_pool > 1 else "")),
        "input": _input(cfg),
        "outputs": {"crop": OUTPUT_NAMES[0], "rotation": OUTPUT_NAMES[1], "scale_crop": OUTPUT_NAMES[2],
                    "score": OUTPUT_NAMES[3]},
        "stages": {
            "crop": "crop_xy (B, K, 2): candidate centres, normalised input coordinates (x = (2u+1)/S - 1); "
                    "window side crop_scale * S px",
            "rotation": "rotation (B, K): theta rad, grasp angle phi = -theta (counter-clockwise on screen)",
            "scale_crop": "scale_crop (B, K, 4): (s_x, s_y, dx, dy); opening = s_x*crop_scale*S px, jaw = "
                          "s_y*crop_scale*S px, centre = crop_xy + crop_scale*R(theta)*(dx, dy)",
            "score": "score (B, K): graspability logits; quality = sigmoid; best = argmax (max-pooling)"},
        "decoding": {"type": "msstn", "quality": "sigmoid"},
        "msstn": cfg.net.to_dict(),
        "training_data": training,
        "metrics": metrics,
        "opset": OPSET,
        "license": "Apache-2.0",
        "description": "Classification-based grasp detector with a cascade of spatial transformers (Park & Chun, "
                       "2018), trained on procedurally generated MuJoCo scenes (grasp_core.synth); every stage's "
                       "candidates are outputs (grasp_core.nn.msstn_onnx decodes them).",
    }


class _Stages(nn.Module):
    def __init__(self, net: MultiStageSTN):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def export_msstn(net: MultiStageSTN, path: str | Path, card: dict) -> Path:
    """Export ``net`` (eval) to ``path`` and write ``card`` beside it. Returns the card path."""
    _export(_Stages(net).eval(), Path(path), net.cfg.input_size, list(OUTPUT_NAMES), net.cfg.in_channels)
    return write_card(path, card)


def sliding_grid(cfg) -> dict:
    """The sliding window's grid for a training configuration: a centre every 10 px, 6 angles and the
    openings :data:`grasp_core.nn.msstn_onnx.SLIDING_OPENINGS_PX` at 160 network px per 300 source px,
    stride and openings scaled by (input_size / crop_size) / (160 / 300) otherwise, so that every input
    size searches the same rectangles of the scene."""
    scale = (cfg.net.input_size / cfg.crop_size) / (160 / 300)
    return {"stride_px": max(1, round(10 * scale)), "angles": 6,
            "openings_px": [round(w * scale, 1) for w in SLIDING_OPENINGS_PX]}


def export_baselines(models: dict, net: MultiStageSTN, cfg, folder: Path, training: dict,
                     grid: dict | None = None) -> list[Path]:
    """Export the direct-regression CNN, the single-stage STN and the sliding window (the multi-stage
    classifier on :func:`grasp_core.nn.msstn_onnx.window_grid`, grid :func:`sliding_grid` unless given)
    into ``folder`` with cards."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    base = {"input": _input(cfg), "msstn": cfg.net.to_dict(), "training_data": training, "opset": OPSET,
            "license": "Apache-2.0"}
    specs = [
        ("msstn_direct", models["direct"], ["grasp"], {"grasp": "grasp"},
         "direct-regression CNN (ResNet, Table I baseline): grasp (B, 6) = x, y, sin 2θ, cos 2θ, w_sx, w_sy"),
        ("msstn_single", models["single"], ["grasp", "score"], {"grasp": "grasp", "score": "score"},
         "single-stage STN (Table I baseline): one localisation net for the whole grasp, classifier score"),
    ]
    grid = {**sliding_grid(cfg), **(grid or {})}
    g = window_grid(cfg.net, grid["stride_px"], grid["angles"], tuple(grid["openings_px"]))
    sw = SlidingWindow(net.classifier, cfg.net, g)
    specs.append(("msstn_sliding", sw, ["score"], {"score": "score"},
                  f"sliding-window classification (Table I baseline): the multi-stage classifier on {len(g)} "
                  "rectangles (card 'sliding': the grid, grasp_core.nn.msstn_onnx.window_grid)"))
    for name, m, outs, card_outs, desc in specs:
        p = folder / f"{name}.onnx"
        _export(m.eval(), p, cfg.net.input_size, outs, cfg.net.in_channels, dynamic=name != "msstn_sliding")
        card = {"name": name, "architecture": desc, **base, "outputs": card_outs,
                "decoding": {"type": name}, "description": desc}
        if name == "msstn_sliding":
            card["sliding"] = grid
        out.append(write_card(p, card))
    return out
