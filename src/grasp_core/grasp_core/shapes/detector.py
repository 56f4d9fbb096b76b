"""Runtime of the exported SSD grasp detector with ONNX Runtime only (no PyTorch).

preprocess (centre crop → Navier-Stokes inpainting → :func:`grasp_core.shapes.data.normalise_depth_image`)
→ ONNX network (``scores``, decoded ``boxes``) → rotated-rectangle NMS → grasps in
source-image pixels and, with intrinsics, 3-D poses — the same
:class:`grasp_core.inference.Detection` as the GG-CNN detector.
"""
from __future__ import annotations

import math
import os
import time

import cv2
import numpy as np

from ..camera import CameraIntrinsics
from ..depth import CropTransform, DepthError, inpaint_depth
from ..grasp import Grasp, rectangle_iou
from ..inference import Detection, check_intrinsics_size, grasp_poses, source_grasp
from ..model_card import ModelCard, ModelCardError, load_card
from ..postprocess import GraspMaps
from .data import normalise_depth_image


def nms(boxes: np.ndarray, scores: np.ndarray, score_threshold: float = 0.3, iou_threshold: float = 0.2,
        min_distance: float = 6.0, top_k: int = 20, pre_nms: int = 300) -> np.ndarray:
    """Greedy non-maximum suppression of rotated grasp rectangles (numpy + OpenCV polygons).

    A box is suppressed when a higher-scoring kept box overlaps it with Jaccard index
    (:func:`grasp_core.grasp.rectangle_iou`) above ``iou_threshold`` or its centre is
    nearer than ``min_distance`` px. (torchvision has no rotated NMS, so numpy is used always.)

    Args:
        boxes: (D, 5) (u, v, w, h, θ); scores: (D,) in [0, 1].

    Returns:
        (K,) int64 indices of kept boxes, best first, K ≤ top_k.
    """
    cand = np.nonzero(scores >= score_threshold)[0]
    cand = cand[np.argsort(-scores[cand], kind="stable")][:pre_nms]
    keep: list[int] = []
    rects: list[Grasp] = []
    for i in cand:
        b = boxes[i]
        g = Grasp(float(b[0]), float(b[1]), float(b[4]), float(b[2]), float(b[3]))
        ok = True
        for j, r in zip(keep, rects, strict=True):
            if math.hypot(b[0] - boxes[j, 0], b[1] - boxes[j, 1]) < min_distance or rectangle_iou(g, r) > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(int(i))
            rects.append(g)
            if len(keep) >= top_k:
                break
    return np.asarray(keep, np.int64)



#: decoding.type of the cards this module runs.
KINDS = ("ssd_grasp",)


class SSDGraspDetector:
    """The exported SSD grasp detector behind its model card (``decoding.type == "ssd_grasp"``).

    Args:
        model: card name or path, or a loaded :class:`ModelCard` (default ``ssd_shapes``).
        verify: check the ONNX file's sha256 against the card.
        threads: ONNX Runtime intra-op threads (0 = its default).
        providers: ONNX Runtime execution providers (default CPU; :func:`grasp_core.model_card.execution_providers`).

    Raises:
        ModelCardError: no usable card, or a card of another kind of network.
    """

    def __init__(self, model: str | os.PathLike | ModelCard | None = "ssd_shapes", verify: bool = True,
                 threads: int = 0, providers: list[str] | None = None) -> None:
        self.card = model if isinstance(model, ModelCard) else load_card(model or "ssd_shapes")
        if self.card.data["decoding"].get("type") not in KINDS:
            raise ModelCardError(f"{self.card.name}: not an SSD grasp detector card (decoding.type != 'ssd_grasp')")
        if verify:
            self.card.verify()
        self.session = self.card.session(threads, providers)
        self.size = self.card.input_size
        self.crop_size = self.card.crop_size
        self.scale_per_m = float(self.card.input.get("depth_scale_per_m", 20.0))
        n = self.card.data["decoding"].get("nms", {})
        self.iou_threshold = float(n.get("iou_threshold", 0.2))

    @property
    def name(self) -> str:
        return self.card.name

    def preprocess(self, depth: np.ndarray) -> tuple[np.ndarray, CropTransform]:
        """(H, W) float32 metres, NaN holes → ((1, 1, S, S) float32, crop transform). Raises DepthError."""
        if depth.ndim != 2:
            raise DepthError(f"depth must be HxW, got {depth.shape}")
        tf = CropTransform.centre(depth.shape, self.crop_size, self.size)
        crop = inpaint_depth(tf.apply(depth.astype(np.float32), cv2.INTER_NEAREST))
        return normalise_depth_image(crop, self.scale_per_m)[None, None], tf

    def infer(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores (D,), boxes (D, 5) network px) of a (1, 1, S, S) input."""
        scores, boxes = self.session.run(["scores", "boxes"], {"depth": x})
        return scores[0], boxes[0]

    def detect(self, depth: np.ndarray, intrinsics: CameraIntrinsics | None = None, top_k: int = 5,
               min_distance_px: float = 20.0, quality_threshold: float = 0.3) -> Detection:
        """Detect grasps on one depth image (quality = the SSD's grasp probability).

        Args:
            depth: (H, W) float32 metres, NaN holes.
            intrinsics: when given, 3-D poses in ``intrinsics.frame_id``.
            top_k, min_distance_px (source px), quality_threshold: as for the GG-CNN detector.

        Raises:
            DepthError, ValueError: unusable input.
        """
        t0 = time.perf_counter()
        check_intrinsics_size(depth, intrinsics)
        x, tf = self.preprocess(depth)
        t1 = time.perf_counter()
        scores, boxes = self.infer(x)
        t2 = time.perf_counter()
        keep = nms(boxes, scores, score_threshold=quality_threshold, iou_threshold=self.iou_threshold,
                   min_distance=max(1.0, min_distance_px / tf.scale), top_k=top_k)
        grasps = [source_grasp(Grasp(*(float(x) for x in boxes[i, [0, 1, 4, 2, 3]]), float(scores[i])), tf)
                  for i in keep]
        depths, poses = grasp_poses(depth, grasps, intrinsics)
        t3 = time.perf_counter()
        return Detection(grasps, depths, poses, box_maps(scores, boxes, self.size), tf,
                         {"preprocess": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2})


def box_maps(scores: np.ndarray, boxes: np.ndarray, size: int) -> GraspMaps:
    """Per-pixel maps from default boxes: each box's score/angle/width at its decoded centre (max score wins)."""
    q = np.zeros((size, size), np.float32)
    a = np.zeros((size, size), np.float32)
    w = np.zeros((size, size), np.float32)
    order = np.argsort(scores)  # ascending: the best box is written last
    u = np.clip(np.round(boxes[order, 0]).astype(int), 0, size - 1)
    v = np.clip(np.round(boxes[order, 1]).astype(int), 0, size - 1)
    q[v, u], a[v, u], w[v, u] = scores[order], boxes[order, 4], boxes[order, 2]
    return GraspMaps(q, a, w)
