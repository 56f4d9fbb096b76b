"""Prop+GQ-CNN: antipodal edge-pair sampling on depth, classifier ranking, CEM refinement."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from grasp_core.grasp import angle_difference

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "gqcnn_synth.json"
FX = 525.0


def _bar_scene(phi_deg: float = 30.0):
    """A 0.75 m table, a 40 mm tall 30 × 150 mm bar centred at (320, 240), long axis at φ (image, CCW)."""
    v, u = np.mgrid[0:480, 0:640].astype(np.float64)
    phi = math.radians(phi_deg)
    along = (u - 320) * math.cos(phi) - (v - 240) * math.sin(phi)
    across = (u - 320) * math.sin(phi) + (v - 240) * math.cos(phi)
    px = FX / 0.71
    depth = np.full((480, 640), 0.75, np.float32)
    depth[(np.abs(along) <= 0.075 * px) & (np.abs(across) <= 0.015 * px)] = 0.71
    return depth, phi


class _StubClassifier:
    """Not the thing under test here: P(robust) high for crops whose centre column (along the jaws) is on the bar."""

    name = "stub"
    threshold = 0.5

    def predict(self, crops, z, centre_depth):
        c = np.asarray(crops)
        return (c[:, 4:28, 15:17].mean(axis=(1, 2)) < 0.72).astype(np.float32) * 0.9 + 0.05


def test_sampler_finds_antipodal_pairs_across_a_bar():
    from grasp_core.prop_gqcnn import PropGQCNN

    depth, phi = _bar_scene()
    pg = PropGQCNN.__new__(PropGQCNN)
    from grasp_core.prop_gqcnn import PropConfig

    pg.cfg = PropConfig()
    cand = pg.sample(depth, FX, np.random.default_rng(0))
    assert len(cand) > 20
    # every pair closes across the bar (perpendicular to its long axis) or along it only if it fits the stroke:
    # the bar is 150 mm long > 85 mm stroke, so all pairs are across it
    across = phi + math.pi / 2
    assert all(angle_difference(a, across) < math.atan(0.6) + math.radians(6) for a in cand[:, 2])  # the cone
    px = FX / 0.71
    assert np.all(np.abs(cand[:, 3] / px - 0.030 - 0.008) < 0.012)  # opening ≈ the bar's 30 mm + margin


def test_detect_returns_the_classifiers_best_grasp_after_cem():
    from grasp_core.prop_gqcnn import PropConfig, PropGQCNN
    from grasp_core.robust_metric import RobustnessClassifier

    depth, phi = _bar_scene(-20.0)
    pg = PropGQCNN.__new__(PropGQCNN)
    pg.clf, pg.cfg, pg.name = _StubClassifier(), PropConfig(cem_iterations=2), "prop_stub"
    assert not isinstance(pg.clf, RobustnessClassifier)
    det = pg.detect(depth, fx=FX, top_k=3)
    assert det.grasps and det.grasps[0].quality > 0.9
    g = det.grasps[0]
    assert math.hypot(g.u - 320, g.v - 240) < 0.08 * FX / 0.71
    assert angle_difference(g.angle, phi + math.pi / 2) < math.radians(30)


def test_prop_gqcnn_with_the_shipped_classifier_puts_its_grasp_on_the_bar():
    pytest.importorskip("onnxruntime")
    if not SHIPPED.is_file():
        pytest.skip("models/gqcnn_synth.json not shipped")
    from grasp_core.prop_gqcnn import PropGQCNN

    depth, phi = _bar_scene(60.0)
    det = PropGQCNN("gqcnn_synth").detect(depth, fx=FX, top_k=1)
    g = det.grasps[0]
    assert 0 <= g.quality <= 1 and depth[int(round(g.v)), int(round(g.u))] < 0.72
    assert angle_difference(g.angle, phi + math.pi / 2) < math.radians(30)


def test_grasps_centred_on_a_depth_hole_still_get_a_pose():
    """Detectors read the camera's unfilled depth: a sampled grasp whose 5 x 5 centre window is all holes
    had no pose (the executor then refused it as non-finite: seen with Prop+GQ-CNN as GQ-STN's fallback
    in the simulated cell). Its depth is now the median of the valid pixels around the hole."""
    from grasp_core.camera import CameraIntrinsics
    from grasp_core.inference import grasp_poses, measured_depth
    from grasp_core.prop_gqcnn import PropConfig, PropGQCNN

    depth, _ = _bar_scene(0.0)
    depth[233:248, 313:328] = np.nan  # a 15 x 15 hole at the bar's centre
    assert math.isnan(measured_depth(depth, 320, 240, max_radius=2))  # the window alone: no valid pixel
    assert measured_depth(depth, 320, 240) == pytest.approx(0.71)
    assert math.isnan(measured_depth(np.full((48, 64), np.nan, np.float32), 30, 20))
    assert math.isnan(measured_depth(depth, 700, 240))
    intr = CameraIntrinsics(640, 480, FX, FX, 320.0, 240.0)
    pg = PropGQCNN.__new__(PropGQCNN)
    pg.clf, pg.cfg, pg.name = _StubClassifier(), PropConfig(cem_iterations=1), "prop_stub"
    det = pg.detect(depth, intrinsics=intr, top_k=5)
    assert det.grasps and all(p is not None for p in det.poses), det.depths
    from grasp_core.grasp import Grasp

    depths, poses = grasp_poses(depth, [Grasp(320.0, 240.0, 0.0, 30.0, 15.0, 1.0)], intr)
    assert depths[0] == pytest.approx(0.71) and poses[0] is not None and np.all(np.isfinite(poses[0].position))
