"""ONNX export of GQ-STN and its baselines with model cards (:mod:`grasp_core.model_card`).

GQ-STN's graph (opset 20: ``affine_grid`` is AffineGrid from opset 20, GridSample from 16): input
``depth`` (B, 1, S, S) float32 **metres** (the detector's centre crop, holes inpainted, not normalised:
the cascade feeds metric depth to the robustness classifier), outputs in
:data:`grasp_core.nn.gqstn.OUTPUT_NAMES` order — ``trans_xy`` (B, 2) STN_trans's (x, y), ``theta`` (B,)
STN_rot's θ (rad), ``scale_z`` (B, 2) STN_scale's (s, z), ``p_robust`` (B,) the frozen classifier's
P(robust), and the intermediate images ``image_trans``, ``image_rot`` (B, 1, S, S) and ``image_scale``
(B, 1, 32, 32), metres. The card's ``decoding.type`` is ``gqstn``, its ``gqstn`` section the
configuration :func:`grasp_core.nn.gqstn_onnx.decode_grasp` needs. Baselines: ``gqstn_direct``
(output ``grasp`` (B, 6)) and ``gqstn_multigrasp`` (``grid`` (B, 7, G, G)).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from ..model_card import write_card
from .gqstn import GQSTN, OUTPUT_NAMES

OPSET = 20


def _export(module: nn.Module, path: Path, size: int, outputs: list[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.full((1, 1, size, size), 0.8)
    axes = {"depth": {0: "batch"}, **{k: {0: "batch"} for k in outputs}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), str(path), dynamo=False, input_names=["depth"], output_names=outputs,
                          opset_version=OPSET, dynamic_axes=axes, do_constant_folding=True)
    return path


def input_section(net_cfg) -> dict:
    """The card's ``input``: centre crop → S px, Navier–Stokes inpainting, depth in metres (no normalisation)."""
    return {"name": "depth", "modality": "depth", "size": int(net_cfg.input_size),
            "crop": {"mode": "centre", "size_px": int(net_cfg.crop_size)}, "inpaint": "navier_stokes",
            "depth_normalisation": "none (metres; the localisation nets subtract the image mean and divide by "
                                   f"{net_cfg.loc_scale} m inside the graph)", "units": "m"}


def gqstn_card(name: str, net: GQSTN, training: dict, metrics: dict, deviations: str,
               classifier: str = "gqcnn_synth") -> dict:
    """GQ-STN's card (without format/file/sha256, which ``write_card`` fills); ``classifier`` is the
    robustness card's name the detector loads at run time (``grasp_core.robust_metric.find_card``)."""
    c = net.cfg
    return {
        "name": name,
        "architecture": ("GQ-STN (Gariepy et al., IROS 2019): STN_trans -> STN_rot -> STN_scale -> frozen GQ-CNN "
                         f"({classifier}); ResNet localisation nets, blocks {list(c.blocks)}, width {c.width}"),
        "deviation_from_paper": deviations,
        "input": input_section(c),
        "outputs": {k: k for k in OUTPUT_NAMES},
        "stages": {
            "trans_xy": "(B, 2) STN_trans: x = sigmoid(w_x) - 0.5, y = sigmoid(w_y) - 0.5, normalised input "
                        "coordinates (x = (2u+1)/S - 1); Lambda_trans = [[1,0,x],[0,1,y]]",
            "theta": f"(B,) STN_rot: theta = atan2(alpha, beta)/2, rad, rotation parameterisation '{c.rotation}'; "
                     "grasp angle phi = -theta (counter-clockwise on screen)",
            "scale_z": "(B, 2) STN_scale: s = gamma*exp(w_s) (the 32-px crop spans s*S input px, 0.128 m when right), "
                       "z = w_z (gripper depth below the surface = pose_mean + pose_std*z, m)",
            "p_robust": "(B,) P(robust) of the frozen classifier on image_scale and z",
            "image_trans": "(B, 1, S, S) m: the input through Lambda_trans (grasp centre at the image centre)",
            "image_rot": "(B, 1, S, S) m: through Lambda_trans*Lambda_rot (closing line horizontal)",
            "image_scale": "(B, 1, 32, 32) m: through Lambda_trans*Lambda_rot*Lambda_scale, the classifier's crop",
        },
        "decoding": {"type": "gqstn", "quality": "p_robust",
                     "opening": "s*crop_px/3 source px (the paper's w = s/3)",
                     "jaw": "22 mm 2F-85 pad at the crop's scale"},
        "gqstn": c.to_dict(),
        "classifier": classifier,
        "training_data": training,
        "metrics": metrics,
        "opset": OPSET,
        "runtime": "ONNX Runtime (grasp_core.nn.gqstn_onnx); no torch at run time",
        "license": "Apache-2.0",
        "description": "One-shot grasp detector whose three spatial transformers output observable depth images, "
                       f"trained through the frozen robustness classifier {classifier} (GQ-STN), on procedurally "
                       "generated MuJoCo scenes with physics-validated labels.",
    }


class _Graph(nn.Module):
    def __init__(self, net: GQSTN):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def export_gqstn(net: GQSTN, path: str | Path, card: dict) -> Path:
    """Export ``net`` (eval) to ``path`` and write ``card`` beside it. Returns the card path."""
    _export(_Graph(net).eval(), Path(path), net.cfg.input_size, list(OUTPUT_NAMES))
    return write_card(path, card)


def export_baseline(kind: str, net: nn.Module, path: str | Path, net_cfg, training: dict, metrics: dict,
                    classifier: str = "gqcnn_synth") -> Path:
    """Export DirectGrasp (``kind="direct"``) or MultiGrasp (``"multigrasp"``) with its card (``classifier``: the
    robustness card's name its grasps are rated with); returns the card path."""
    out = "grasp" if kind == "direct" else "grid"
    _export(net.eval(), Path(path), net_cfg.input_size, [out])
    desc = {"direct": "DirectGrasp (Redmon & Angelova 2015, ResNet extractor; GQ-STN Table I baseline): grasp (B, 6) = "
                      "x, y, sin 2theta, cos 2theta, log(s/gamma), z",
            "multigrasp": "MultiGrasp (Redmon & Angelova 2015, ResNet extractor; GQ-STN Table I baseline): "
                          "grid (B, 7, G, G) = cell logit, sigmoid offsets in the cell, sin 2theta, cos 2theta, "
                          "log(s/gamma), z"}[kind]
    card = {"name": Path(path).stem, "architecture": desc, "input": input_section(net_cfg), "outputs": {out: out},
            "decoding": {"type": f"gqstn_{kind}"}, "gqstn": net_cfg.to_dict(), "classifier": classifier,
            "training_data": training,
            "metrics": metrics, "opset": OPSET, "license": "Apache-2.0", "description": desc}
    return write_card(path, card)
