"""Run and decode the exported grasp detector with segmentation and refinement (Ainetter & Fraundorfer
2021, :mod:`grasp_core.nn.detseg`) with ONNX Runtime, without torch.

:class:`DetSegDetector` has :class:`grasp_core.inference.GraspDetector`'s interface (``detect``,
``name``, ``needs_rgb``, the card-driven centre crop and ``mean_unit`` RGB normalisation), so
``grasp-eval``, ``grasp-sim-bench`` and the detector node's ``onnx_detseg`` plugin use it as the other
networks; :func:`grasp_core.detectors.open_detector` picks it for cards of ``decoding.type`` ``detseg``.

Decoding (:func:`decode_outputs`): each detection's box unrotated → rectangle with the angle of its θ
class (:func:`grasp_core.nn.detseg_targets.orientation_angle`), refined by the refinement head's
corrections when the card's configuration has it (:func:`grasp_core.nn.detseg_targets.apply_refinement`),
quality = the θ class's probability. **Object class** of a grasp (the paper: "the segmentation also
assigns each grasp to an object class"): the argmax of the non-background class probabilities at the
grasp centre (bilinear on the ¼-resolution map); its confidence = that probability. A grasp whose
centre the segmentation calls background more likely than any object class still gets the best
object class, with that (low) confidence.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..camera import CameraIntrinsics
from ..grasp import Grasp, wrap_angle
from ..inference import Detection, SectionDetector, check_intrinsics_size, grasp_poses, rank_source_grasps
from ..model_card import ModelCard
from .detseg_targets import ORIENTATIONS, apply_refinement, orientation_angle

#: decoding.type of the cards this module runs.
KINDS = ("detseg",)


def detections_to_rects(boxes: np.ndarray, labels: np.ndarray, n: int = ORIENTATIONS) -> np.ndarray:
    """(N, 5) rectangles (x, y, w, h, Φ) of (N, 4) unrotated boxes and their θ classes 1…n (numpy twin of
    :func:`grasp_core.nn.detseg.rects_from_detections`)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    phi = orientation_angle(np.asarray(labels).reshape(-1), n) if len(b) else np.zeros(0)
    return np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0],
                            b[:, 3] - b[:, 1], phi])


def object_classes(prob: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class index (N,) int64 ≥ 1, confidence (N,)) at network pixels ``uv`` (N, 2) of a (S_c, S/4, S/4)
    class-probability map (module docstring)."""
    uv = np.asarray(uv, np.float64).reshape(-1, 2)
    if not len(uv):
        return np.zeros(0, np.int64), np.zeros(0)
    c, h, w = prob.shape
    # network px → map px (pixel centres align: the map is the input downsampled by 4)
    x = np.clip((uv[:, 0] + 0.5) / 4 - 0.5, 0, w - 1)
    y = np.clip((uv[:, 1] + 0.5) / 4 - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    p = (prob[:, y0, x0] * (1 - fx) * (1 - fy) + prob[:, y0, x1] * fx * (1 - fy)
         + prob[:, y1, x0] * (1 - fx) * fy + prob[:, y1, x1] * fx * fy)  # (S_c, N)
    k = 1 + np.argmax(p[1:], axis=0)
    return k.astype(np.int64), p[k, np.arange(len(k))]


def decode_outputs(out: dict[str, np.ndarray], net: dict) -> tuple[list[Grasp], np.ndarray, np.ndarray]:
    """(grasps in network px best first, class index (N,), class confidence (N,)) of one image's outputs.

    Args:
        out: the card's outputs by key (``boxes``, ``scores``, ``labels``, ``refine``, ``class_prob``).
        net: the card's ``detseg`` section (:class:`grasp_core.nn.detseg.DetSegConfig` as a dict).
    """
    rects = detections_to_rects(out["boxes"], out["labels"], int(net["orientations"]))
    if net.get("configuration") == "Det_Seg_Refine" and len(rects):
        rects = apply_refinement(rects, out["refine"])
    scores = np.asarray(out["scores"], np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    rects, scores = rects[order], scores[order]
    grasps = [Grasp(float(r[0]), float(r[1]), float(wrap_angle(r[4])), float(max(r[2], 1.0)), float(max(r[3], 1.0)),
                    float(s)) for r, s in zip(rects, scores, strict=True)]
    if net.get("configuration") == "Detection":
        return grasps, np.zeros(len(grasps), np.int64), np.zeros(len(grasps))
    cls, conf = object_classes(np.asarray(out["class_prob"])[0], rects[:, :2])
    return grasps, cls, conf


@dataclass
class DetSegDetection(Detection):
    """A :class:`grasp_core.inference.Detection` (``maps`` None) whose ``classes`` come from the segmentation
    (empty names for the Detection configuration), plus ``class_map``: (S_c, S/4, S/4) float32 class
    probabilities of the network crop (None without segmentation)."""

    class_map: np.ndarray | None = None


class DetSegDetector(SectionDetector):
    """The network behind its model card, run by ONNX Runtime (:class:`grasp_core.inference.SectionDetector`:
    card checks, preprocessing, ``run``; interface of :class:`GraspDetector`).

    Raises:
        ModelCardError: no usable card or model file, a card whose ``decoding.type`` is not ``detseg``,
            or whose ``outputs`` name outputs the network lacks.
    """

    KINDS, SECTION, SECTION_HOLDS = KINDS, "detseg", "the network's sizes and classes"

    def __init__(self, model: str | os.PathLike | ModelCard | None = None, verify: bool = True,
                 threads: int = 0, providers: list[str] | None = None) -> None:
        super().__init__(model, verify, threads, providers)
        self.class_names = list(self.net.get("class_names", []))

    @property
    def segments(self) -> bool:
        return self.net.get("configuration") != "Detection"

    def detect(self, depth: np.ndarray, rgb: np.ndarray | None = None,
               intrinsics: CameraIntrinsics | None = None, top_k: int = 5,
               min_distance_px: float = 20.0, quality_threshold: float = 0.1) -> DetSegDetection:
        """Detect grasps on one RGB image (depth only for the poses): the detections by score, at most
        ``top_k``, at least ``min_distance_px`` apart (source px), quality ≥ threshold, each with its
        object class.

        Args/raises: as :meth:`grasp_core.inference.GraspDetector.detect` (an RGB image is required).
        """
        t0 = time.perf_counter()
        check_intrinsics_size(depth, intrinsics)
        x, tf = self.preprocess(depth, rgb)
        t1 = time.perf_counter()
        out = self.run(x)
        t2 = time.perf_counter()
        final, cls, conf = decode_outputs(out, self.net)
        grasps, classes = [], []
        for k, g in rank_source_grasps(final, tf, top_k, min_distance_px, quality_threshold):
            grasps.append(g)
            name = self.class_names[int(cls[k])] if self.segments and int(cls[k]) < len(self.class_names) else ""
            classes.append((name, float(conf[k]) if name else 0.0))
        depths, poses = grasp_poses(depth, grasps, intrinsics)
        t3 = time.perf_counter()
        return DetSegDetection(grasps, depths, poses, None, tf,
                               {"preprocess": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2},
                               classes=classes, class_map=out["class_prob"][0] if self.segments else None)


def class_iou_counts(pred: np.ndarray, truth: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (intersection, union) pixel counts (each (n,) int64) of two class-index images of one shape."""
    pred, truth = np.asarray(pred).ravel(), np.asarray(truth).ravel()
    inter = np.bincount(truth[pred == truth], minlength=n)[:n]
    union = np.bincount(pred, minlength=n)[:n] + np.bincount(truth, minlength=n)[:n] - inter
    return inter, union


def class_image(class_map: np.ndarray, transform, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 class index image in source pixels of a detection's (S_c, S/4, S/4) probability map;
    0 (background) outside the network's crop."""
    h, w = shape
    small = np.argmax(class_map, 0).astype(np.uint8)
    crop = cv2.resize(small, (transform.crop_size, transform.crop_size), interpolation=cv2.INTER_NEAREST)
    out = np.zeros((h, w), np.uint8)
    x0, y0 = transform.x0, transform.y0
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(w, x0 + transform.crop_size), min(h, y0 + transform.crop_size)
    if xe > xs and ye > ys:
        out[ys:ye, xs:xe] = crop[ys - y0:ye - y0, xs - x0:xe - x0]
    return out


__all__ = ["DetSegDetection", "DetSegDetector", "KINDS", "class_image", "class_iou_counts", "decode_outputs",
           "detections_to_rects", "object_classes"]
