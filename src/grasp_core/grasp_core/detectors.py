"""Open any of the project's detectors by card name or path: the one factory behind ``grasp-eval``,
``grasp-sim-bench`` and the benchmarks (the ROS detector node picks its plugin by parameter instead).

Every detector it returns has :meth:`grasp_core.inference.GraspDetector.detect`'s keywords
(``depth, rgb=, intrinsics=, top_k=, min_distance_px=, quality_threshold=``) and ``name`` /
``needs_rgb``.
"""
from __future__ import annotations

import os

from .model_card import ModelCardError, load_card


def open_detector(model: str | os.PathLike | None = None, threads: int = 0, verify: bool = True):
    """The detector for a card: :class:`grasp_core.nn.msstn_onnx.MSSTNDetector` when its ``decoding.type``
    is one of that module's ``KINDS``, :class:`grasp_core.nn.gqstn_onnx.GQSTNDetector` for GQ-STN's kinds,
    :class:`grasp_core.nn.detseg_onnx.DetSegDetector` for ``detseg``,
    :class:`grasp_core.prop_gqcnn.PropGQCNN` (Prop+GQ-CNN's sampling) for a robustness classifier's
    ``grasp_robustness_card/1`` card (e.g. ``gqcnn_synth``), else :class:`grasp_core.inference.GraspDetector`.
    ``"A+B"`` or ``"A+B@t"`` (not an existing path): :class:`grasp_core.inference.FallbackChain` of A's
    detector, then B's below P(robust) t (default 0.5), e.g. ``gqstn_synth+gqcnn_synth`` (GQ-STN's chain).

    Raises:
        ModelCardError or ClassifierError (ValueErrors): no usable card, a malformed chain or threshold.
    """
    import json

    from .inference import FallbackChain, GraspDetector
    from .nn.detseg_onnx import KINDS as DETSEG_KINDS
    from .nn.detseg_onnx import DetSegDetector
    from .nn.gqstn_onnx import KINDS as GQSTN_KINDS
    from .nn.gqstn_onnx import GQSTNDetector
    from .nn.msstn_onnx import KINDS, MSSTNDetector
    from .robust_metric import CARD_FORMAT as ROBUST_FORMAT
    from .robust_metric import ClassifierError, RobustnessClassifier, find_card

    spec = str(model) if model is not None else ""
    if "+" in spec and not os.path.exists(spec):
        first, _, rest = spec.partition("+")
        second, _, thr = rest.partition("@")
        if not first or not second:
            raise ModelCardError(f"fallback chain {spec!r}: expected PRIMARY+FALLBACK[@THRESHOLD]")
        try:
            threshold = float(thr) if thr else 0.5
        except ValueError as exc:
            raise ModelCardError(f"fallback chain {spec!r}: threshold {thr!r} is not a number") from exc
        return FallbackChain(open_detector(first, threads, verify), open_detector(second, threads, verify), threshold)
    try:
        robust = json.loads(find_card(model or None).read_text()).get("format") == ROBUST_FORMAT if model else False
    except (ClassifierError, OSError, ValueError):
        robust = False
    if robust:
        from .prop_gqcnn import PropGQCNN

        return PropGQCNN(RobustnessClassifier(model, threads=threads or 1, verify=verify))
    card = load_card(model)
    kind = card.data.get("decoding", {}).get("type")
    if kind in DETSEG_KINDS:
        return DetSegDetector(card, verify=verify, threads=threads)
    if kind in KINDS:
        return MSSTNDetector(card, verify=verify, threads=threads)
    if kind in GQSTN_KINDS:
        return GQSTNDetector(card, verify=verify, threads=threads)
    return GraspDetector(card, verify=verify, threads=threads)


__all__ = ["open_detector"]
