"""GQ-STN's fallback chain and Prop+GQ-CNN as detectors of the ROS-free core (grasp-sim-bench, grasp-eval).

Specification (``grasp_core.detectors.open_detector``, ``grasp_core.inference.FallbackChain``): a
robustness card opens Prop+GQ-CNN's sampling policy; ``A+B@t`` opens A, and B for the frames where A's
P(robust) is below t — exactly those: at a threshold just below the frame's P(robust) the chain returns
GQ-STN's grasp, just above it Prop+GQ-CNN's grasps (the same as Prop+GQ-CNN alone on that frame); a
malformed chain or threshold is one ValueError line.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from grasp_core.depth import depth_to_metres, inpaint_depth
from grasp_core.detectors import open_detector
from grasp_core.inference import FallbackChain
from grasp_core.prop_gqcnn import PropGQCNN

GQSTN = Path(__file__).resolve().parents[1] / "models" / "gqstn_synth.json"
if not GQSTN.is_file():
    pytest.skip("models/gqstn_synth.json not shipped", allow_module_level=True)


@pytest.fixture(scope="module")
def frame():
    pytest.importorskip("mujoco")
    from grasp_core.sim.cell import SimCell

    cell = SimCell()
    cell.reset(1, "procedural", 70000)
    raw, _ = cell.render()
    return inpaint_depth(depth_to_metres(raw, "32FC1")), cell.intrinsics


def test_a_robustness_card_opens_prop_gqcnn():
    det = open_detector("gqcnn_synth", threads=1)
    assert isinstance(det, PropGQCNN) and not det.needs_rgb and det.name == "prop_gqcnn_synth"


def test_the_chain_falls_back_exactly_below_its_threshold(frame):
    depth, intr = frame
    gqstn = open_detector(str(GQSTN), threads=1)
    p = gqstn.detect(depth, intrinsics=intr, top_k=1, quality_threshold=0.0).p_robust
    assert np.isfinite(p) and 0.0 <= p <= 1.0
    prop = open_detector("gqcnn_synth", threads=1).detect(depth, intrinsics=intr, top_k=3, quality_threshold=0.0)
    below = open_detector(f"{GQSTN}+gqcnn_synth@{max(p - 1e-3, 0.0)}", threads=1)
    above = open_detector(f"{GQSTN}+gqcnn_synth@{p + 1e-3}", threads=1)
    assert isinstance(below, FallbackChain) and below.name == "gqstn_synth+prop_gqcnn_synth"
    d = below.detect(depth, intrinsics=intr, top_k=3, quality_threshold=0.0)
    assert below.fallback_calls == 0 and d is below.last_primary and len(d.grasps) == 1
    assert abs(d.grasps[0].quality - p) < 1e-6
    d = above.detect(depth, intrinsics=intr, top_k=3, quality_threshold=0.0)
    assert above.fallback_calls == 1 and d is not above.last_primary and d.grasps
    assert [(g.u, g.v, g.angle) for g in d.grasps] == [(g.u, g.v, g.angle) for g in prop.grasps]
    # the primary's own grasp below quality_threshold is dropped, as a detector drops weak grasps
    d = below.detect(depth, intrinsics=intr, top_k=3, quality_threshold=min(1.0, p + 1e-3))
    assert below.fallback_calls == 0 and not d.grasps
    # no fallback (onnx_gqstn.fallback ''): GQ-STN alone, whatever its P(robust)
    alone = FallbackChain(gqstn, None, threshold=p + 1e-3)
    assert alone.name == "gqstn_synth" and not alone.needs_rgb
    d = alone.detect(depth, intrinsics=intr, top_k=3, quality_threshold=0.0)
    assert alone.fallback_calls == 0 and len(d.grasps) == 1 and abs(d.grasps[0].quality - p) < 1e-6
    assert not alone.detect(depth, intrinsics=intr, top_k=3, quality_threshold=min(1.0, p + 1e-3)).grasps


def test_a_robust_grasp_wider_than_the_gripper_opens_falls_back(frame):
    """max_opening_m: the primary's grasp, above the P(robust) threshold, goes to the fallback when its opening
    exceeds the limit, and is kept when it does not; a limit <= 0 is refused."""
    depth, intr = frame
    gqstn = open_detector(str(GQSTN), threads=1)
    first = gqstn.detect(depth, intrinsics=intr, top_k=1, quality_threshold=0.0)
    opening = first.poses[0].opening
    assert np.isfinite(opening) and opening > 0
    prop = open_detector("gqcnn_synth", threads=1)
    narrow = FallbackChain(gqstn, prop, threshold=0.0, max_opening_m=opening - 1e-4)
    d = narrow.detect(depth, intrinsics=intr, top_k=3, quality_threshold=0.0)
    assert narrow.fallback_calls == 1 and d is not narrow.last_primary
    wide = FallbackChain(gqstn, prop, threshold=0.0, max_opening_m=opening + 1e-4)
    d = wide.detect(depth, intrinsics=intr, top_k=3, quality_threshold=0.0)
    assert wide.fallback_calls == 0 and d is wide.last_primary
    with pytest.raises(ValueError, match="max_opening_m must be > 0"):
        FallbackChain(gqstn, prop, max_opening_m=0.0)


@pytest.mark.parametrize("spec, words", [("gqstn_synth+", "expected PRIMARY+FALLBACK"),
                                         ("gqstn_synth+gqcnn_synth@high", "is not a number"),
                                         ("gqstn_synth+gqcnn_synth@-0.5", "must be >= 0")])
def test_malformed_chains_are_one_line_errors(spec, words):
    with pytest.raises(ValueError, match=re.escape(words)) as e:
        open_detector(spec)
    assert "\n" not in str(e.value)
