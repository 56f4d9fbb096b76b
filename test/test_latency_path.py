"""The detector's latency path: ONNX Runtime sessions that do not spin between runs, and the split of
``GraspDetector.detect`` into network and post-processing that gives the same grasps.

Specification:
* ``ModelCard.session`` turns off ONNX Runtime's spin-waiting of its thread pools (intra- and
  inter-op): between frames a spinning pool keeps a core busy that the composed cell needs;
* ``detect`` = preprocess → ``run_network`` (``session.run`` alone, timed as ``inference``) →
  ``decode`` (timed in ``postprocess``): the grasps equal those of ``infer`` (network and decoding
  together), on a real Cornell frame when ``../shared`` has one, else on a generated frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import build_tiny_model
from grasp_core.inference import GraspDetector
from grasp_core.model_card import load_card
from grasp_core.postprocess import grasps_from_maps

CORNELL = Path(__file__).resolve().parents[2] / "shared" / "data" / "cornell_samples_unlabeled" / "01"


def test_sessions_do_not_spin(tmp_path):
    sess = load_card(str(build_tiny_model(tmp_path))).session()
    opts = sess.get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def _frame() -> np.ndarray:
    frames = sorted(CORNELL.glob("pcd*d.tiff")) if CORNELL.is_dir() else []
    if frames:
        from grasp_core.frames import load_depth

        return load_depth(frames[0])
    from grasp_bringup.synthetic import table_scene
    from grasp_core.camera import CameraIntrinsics

    return table_scene(CameraIntrinsics.default_for(640, 480), seed=3)


def test_detect_split_gives_the_grasps_of_infer(tmp_path):
    try:
        det = GraspDetector("ggcnn2_synth")
    except ValueError:
        det = GraspDetector(str(build_tiny_model(tmp_path)))
    depth = _frame()
    d = det.detect(depth, top_k=5, min_distance_px=20.0, quality_threshold=0.0)
    assert set(d.timings) == {"preprocess", "inference", "postprocess"}
    assert all(v >= 0 for v in d.timings.values())
    x, tf = det.preprocess(depth)
    maps = det.infer(x)
    np.testing.assert_array_equal(d.maps.quality, maps.quality)
    np.testing.assert_array_equal(d.maps.angle, maps.angle)
    ref = grasps_from_maps(maps, top_k=5, min_distance=max(1, int(round(20.0 / tf.scale))), threshold=0.0,
                           jaw_length_ratio=float(det.post.get("jaw_length_ratio", 0.5)))
    assert len(d.grasps) == len(ref) >= 1
    for g, r in zip(d.grasps, ref, strict=True):
        u, v = tf.to_source(r.u, r.v)
        assert (g.u, g.v, g.quality) == pytest.approx((float(u), float(v), r.quality))
