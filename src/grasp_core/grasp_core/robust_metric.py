"""The robust metric: P(robust) of a planar grasp from the GQ-CNN robustness classifier (ONNX Runtime, no torch).

Gariépy et al., "GQ-STN: Optimizing One-Shot Grasp Detection based on Robustness Classifier",
IROS 2019, §V: a predicted grasp is *robust* when the robustness classifier (Dex-Net 2.0's GQ-CNN,
Mahler et al., RSS 2017) gives it P(robust) above its threshold; "robust precision" is the share of
images whose top-1 grasp is robust. The classifier is ``models/gqcnn_synth.onnx`` (trained by
``grasp-gqcnn-train`` on the physics-trial labels of ``grasp-dataset --robustness-trials``), its
card ``gqcnn_synth.json`` (``"format": "grasp_robustness_card/1"``).

Scoring a grasp of an image (:func:`grasp_inputs`): holes inpainted
(:func:`grasp_core.depth.inpaint_depth`); centre depth d = median of the valid depth in the 5 × 5
window at the centre (:func:`grasp_core.inference.measured_depth`); the aligned crop at
fx / d px per metre (:func:`grasp_core.datasets.robustness.aligned_crop`); the gripper depth z as
the dataset generator grasps: 35 mm below the surface, but at least 4 mm above the table, the
table's depth estimated as the 95th percentile of the crop when that lies more than 10 mm beyond d.
The classifier was trained on crops of a camera straight above the object; on tilted views the
crop is the tilted view's (not re-projected), an approximation.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets.robustness import aligned_crop, network_inputs
from .depth import hole_mask, inpaint_depth
from .grasp import Grasp

CARD_FORMAT = "grasp_robustness_card/1"
DEFAULT_CLASSIFIER = "gqcnn_synth"
#: The generator's fingertip depth below the surface (GripperParams.grasp_depth) and table clearance, m.
GRASP_DEPTH_M, TABLE_CLEARANCE_M = 0.035, 0.004


class ClassifierError(ValueError):
    """A robustness card is missing, malformed, or its model file does not match its sha256."""


def find_card(name_or_path: str | os.PathLike | None = None) -> Path:
    """The card path of a classifier name (searched on :func:`grasp_core.model_card.model_search_path`)
    or of a ``.json``/``.onnx`` path. Raises ClassifierError when not found."""
    from .model_card import model_search_path

    name = str(name_or_path or DEFAULT_CLASSIFIER)
    p = Path(name).expanduser()
    if p.suffix in (".json", ".onnx") or os.sep in name:
        cands = [p.with_suffix(".json")]
    else:
        cands = [d / f"{name}.json" for d in model_search_path()]
    for c in cands:
        if c.is_file():
            return c
    raise ClassifierError(f"no robustness classifier card for {name!r} (looked at {[str(c) for c in cands]})")


def load_classifier_card(name_or_path: str | os.PathLike | None = None,
                         verify: bool = True) -> tuple[Path, dict, Path]:
    """(card path, card dict, model file) of a classifier (:func:`find_card`), its format checked and, with
    ``verify``, its model file's sha256. Raises ClassifierError: not found, unreadable, another format,
    model file missing or sha256 mismatch."""
    from .model_card import sha256_file

    card_path = find_card(name_or_path)
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ClassifierError(f"{card_path}: cannot read ({exc})") from exc
    if card.get("format") != CARD_FORMAT:
        raise ClassifierError(f"{card_path}: format {card.get('format')!r} is not {CARD_FORMAT}")
    model_file = card_path.parent / card["file"]
    if not model_file.is_file():
        raise ClassifierError(f"{card_path}: model file {model_file} missing")
    if verify and sha256_file(model_file) != card.get("sha256"):
        raise ClassifierError(f"{model_file}: sha256 does not match its card")
    return card_path, card, model_file


@dataclass
class GraspInputs:
    """A grasp's classifier inputs: crop (32, 32) f4 m, z (m), centre_depth (m)."""

    crop: np.ndarray
    z: float
    centre_depth: float


def grasp_inputs(depth_filled: np.ndarray, depth_raw: np.ndarray, g: Grasp, fx: float) -> GraspInputs | None:
    """The classifier inputs of grasp ``g`` in an image (module docstring).

    Args:
        depth_filled: (H, W) f4 metres, holes inpainted. depth_raw: the same before inpainting (NaN holes).
        g: the grasp, source pixels. fx: focal length, px.

    Returns:
        the inputs, or None when the centre is off the image.
    """
    from .inference import measured_depth

    h, w = depth_filled.shape
    if not (0 <= g.u <= w - 1 and 0 <= g.v <= h - 1):
        return None
    d = measured_depth(depth_raw, g.u, g.v)
    if not np.isfinite(d) or d <= 0:
        d = float(depth_filled[int(round(g.v)), int(round(g.u))])
    crop = aligned_crop(depth_filled, g.u, g.v, g.angle, fx / d)
    z = d + GRASP_DEPTH_M
    table = float(np.percentile(crop, 95))
    if table > d + 0.010:
        z = min(z, table - TABLE_CLEARANCE_M)
    return GraspInputs(crop, float(z), float(d))


class RobustnessClassifier:
    """The ONNX robustness classifier of a ``grasp_robustness_card/1`` card.

    Args:
        card: classifier name (default ``gqcnn_synth``) or card / ONNX path.
        threads: ONNX Runtime intra-op threads (0: its default).
        verify: check the model file's sha256 against the card.
        providers: ONNX Runtime execution providers (default CPU; :func:`grasp_core.model_card.execution_providers`).

    Raises:
        ClassifierError: card not found or malformed, or sha256 mismatch.
    """

    def __init__(self, card: str | os.PathLike | None = None, threads: int = 1, verify: bool = True,
                 providers: list[str] | None = None):
        import onnxruntime as ort

        self.card_path, self.card, self.model_file = load_classifier_card(card, verify)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.model_file), so, providers=providers or ["CPUExecutionProvider"])
        self.threshold = float(self.card.get("threshold", 0.5))
        self.name = self.card.get("name", self.card_path.stem)

    def predict(self, crops: np.ndarray, z: np.ndarray, centre_depth: np.ndarray) -> np.ndarray:
        """(n,) float32 P(robust) of n grasps: crops (n, 32, 32) m, z (n,) m, centre_depth (n,) m."""
        crops = np.asarray(crops, np.float32).reshape(-1, 32, 32)
        if len(crops) == 0:
            return np.zeros(0, np.float32)
        im, pose = network_inputs(crops, z, centre_depth)
        out = []
        for i in range(0, len(im), 256):
            out.append(self.session.run(["p_robust"], {"crop": im[i:i + 256], "pose": pose[i:i + 256]})[0][:, 1])
        return np.concatenate(out).astype(np.float32)

    def score_grasps(self, depth: np.ndarray, grasps: list[Grasp], fx: float) -> np.ndarray:
        """(len(grasps),) P(robust) of grasps in one depth image (m, NaN holes); 0 for a centre off the image.

        Raises:
            grasp_core.depth.DepthError: the image has no valid pixel.
        """
        raw = np.asarray(depth, np.float32)
        filled = inpaint_depth(raw) if hole_mask(raw).any() else raw
        ins = [grasp_inputs(filled, raw, g, fx) for g in grasps]
        ok = [i for i, x in enumerate(ins) if x is not None]
        p = np.zeros(len(grasps), np.float32)
        if ok:
            p[ok] = self.predict(np.stack([ins[i].crop for i in ok]), np.array([ins[i].z for i in ok]),
                                 np.array([ins[i].centre_depth for i in ok]))
        return p
