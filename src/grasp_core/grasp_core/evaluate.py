"""Decoding of GG-CNN-style output maps and the rectangle-metric evaluation (numpy only).

Decoding: :func:`grasp_core.postprocess.decode_maps` (Morrison et al., RSS
2018, §IV-B): Q clipped to [0, 1] and smoothed (σ = 2 px), Φ = ½·atan2 of the
smoothed sin 2Φ, cos 2Φ (σ = 2 px), opening = 150 · width smoothed (σ = 1 px);
the top grasp is the argmax of the smoothed Q.

Metric: the rectangle metric (Jiang et al. 2011): the top grasp is correct when
IoU > 0.25 and |ΔΦ| < 30° against any ground-truth rectangle
(:func:`grasp_core.grasp.rectangle_metric`).
"""
from __future__ import annotations

import hashlib

import numpy as np

from .grasp import Grasp, rectangle_metric
from .postprocess import decode_maps


def top_grasp(pos, cos, sin, width, width_scale_px: float = 150.0, jaw_length_ratio: float = 0.5,
              quality_sigma: float = 2.0, angle_sigma: float = 2.0, width_sigma: float = 1.0) -> Grasp:
    """The grasp at the maximum of the smoothed quality map, in the maps' pixel frame.

    Decoding and smoothing are :func:`grasp_core.postprocess.decode_maps` (the
    detector's): Q clipped and smoothed (σ = 2 px), Φ from the smoothed cos 2Φ,
    sin 2Φ (σ = 2 px), width × ``width_scale_px`` smoothed (σ = 1 px).

    Args:
        pos, cos, sin, width: (H, W) float32 network outputs (one image).
        width_scale_px: opening px per unit of the width map.
        jaw_length_ratio: rectangle length = ratio · opening.

    Returns:
        Grasp (u, v in map px; width/length in map px; quality = smoothed Q).
    """
    m = decode_maps(pos, cos, sin, width, "clip", width_scale_px, quality_sigma, angle_sigma, width_sigma)
    v, u = np.unravel_index(int(np.argmax(m.quality)), m.quality.shape)
    w = max(float(m.width[v, u]), 1.0)
    return Grasp(float(u), float(v), float(m.angle[v, u]), w, w * jaw_length_ratio, float(m.quality[v, u]))


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:4], "little")


def scene_of(image_id: str) -> int:
    """Scene number of an image id, for splits by scene.

    ``SSSSSS_V`` (our generator) → S; Cornell ``pcdNNNN`` → N; real Jacquard
    ``<object>/<k>_<object>`` → a stable hash of the object folder (all its views
    together); anything else → a stable hash of the name.
    """
    path = image_id.replace("\\", "/")
    if "/" in path:
        folder = path.rsplit("/", 1)[0]
        return _stable_hash(folder)
    name = path
    head = name.split("_")[0]
    if head.isdigit():
        return int(head)
    if name.startswith("pcd") and name[3:7].isdigit():
        return int(name[3:7])
    return _stable_hash(name)


def rectangle_accuracy(predictions: list[Grasp], ground_truths: list[list[Grasp]],
                       iou_threshold: float = 0.25, angle_threshold_deg: float = 30.0) -> float:
    """Fraction of images whose top grasp is correct under the rectangle metric.

    Images without ground truth must be excluded by the caller.

    Raises:
        ValueError: lengths differ or no image.
    """
    if len(predictions) != len(ground_truths) or not predictions:
        raise ValueError("need one prediction per image and at least one image")
    ok = [rectangle_metric(p, gt, iou_threshold, np.deg2rad(angle_threshold_deg))
          for p, gt in zip(predictions, ground_truths, strict=True)]
    return float(np.mean(ok))



#: Stricter variants of the rectangle metric (Ainetter & Fraundorfer, ICRA 2021, Tables III–IV):
#: the angle threshold tightened at IoU > 25 %, and the IoU threshold raised at |ΔΦ| < 30°.
ANGLE_VARIANTS_DEG = (30.0, 25.0, 20.0, 15.0, 10.0, 5.0)
IOU_VARIANTS = (0.25, 0.30, 0.35)


def metric_variants(predictions: list[Grasp], ground_truths: list[list[Grasp]],
                    angle_thresholds_deg=ANGLE_VARIANTS_DEG, iou_thresholds=IOU_VARIANTS) -> dict[str, float]:
    """Rectangle-metric accuracy under the standard and the stricter thresholds.

    Keys ``"angle<A"`` (IoU > 0.25, |ΔΦ| < A degrees) for every A in ``angle_thresholds_deg``
    and ``"iou>P"`` (IoU > P/100, |ΔΦ| < 30°) for every P in ``iou_thresholds`` (as %);
    ``"angle<30"`` and ``"iou>25"`` are both the standard metric.

    Raises:
        ValueError: lengths differ or no image.
    """
    out = {f"angle<{a:g}": rectangle_accuracy(predictions, ground_truths, 0.25, a) for a in angle_thresholds_deg}
    out.update({f"iou>{100 * t:g}": rectangle_accuracy(predictions, ground_truths, t, 30.0) for t in iou_thresholds})
    return out
