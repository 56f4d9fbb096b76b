"""GG-CNN target maps and the training-sample geometry."""
import math

import numpy as np
from grasp_core.grasp import Grasp
from grasp_core.targets import grasp_target_maps, rotate_grasps


def test_target_maps_on_known_rectangle():
    # horizontal closing line, width 30 px, jaw length 10 px, centred at (50, 40)
    g = Grasp(50.0, 40.0, 0.0, 30.0, 10.0)
    pos, cos, sin, width = grasp_target_maps([g], (80, 100))
    ys, xs = np.nonzero(pos)
    # centre third along the width: u in [45, 55]; full jaw length: v in [35, 45]
    assert 44 <= xs.min() <= 46 and 54 <= xs.max() <= 56
    assert 34 <= ys.min() <= 36 and 44 <= ys.max() <= 46
    assert pos[40, 50] == 1 and pos[40, 60] == 0 and pos[30, 50] == 0
    np.testing.assert_allclose(cos[pos > 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(sin[pos > 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(width[pos > 0], 30.0 / 150.0, atol=1e-6)
    assert cos[pos == 0].max() == 0 and width[pos == 0].max() == 0
    assert all(m.dtype == np.float32 for m in (pos, cos, sin, width))


def test_target_angle_encoding_45deg():
    g = Grasp(50.0, 50.0, math.pi / 4, 90.0, 8.0)
    pos, cos, sin, width = grasp_target_maps([g], (100, 100))
    assert pos[50, 50] == 1
    np.testing.assert_allclose(cos[50, 50], 0.0, atol=1e-6)
    np.testing.assert_allclose(sin[50, 50], 1.0, atol=1e-6)
    # the marked third (30 px) is longer than the jaw (8 px): elongated along the
    # closing line (cos Φ, −sin Φ) in (u, v), i.e. up-right on screen for Φ = +45°
    ys, xs = np.nonzero(pos)
    cov = np.cov(np.stack([xs, ys]))
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, np.argmax(evals)]
    assert abs(abs(major @ np.array([math.cos(math.pi / 4), -math.sin(math.pi / 4)])) - 1) < 0.05


def test_empty_and_width_clip():
    pos, cos, sin, width = grasp_target_maps([], (20, 30))
    assert pos.shape == (20, 30) and pos.sum() == 0
    _, _, _, width = grasp_target_maps([Grasp(10, 10, 0.0, 300.0, 6.0)], (20, 30))
    assert width.max() == 1.0


def test_rotate_grasps_matches_image_rotation():
    import cv2

    g = Grasp(70.0, 50.0, 0.0, 20.0, 8.0)
    img = np.zeros((100, 140), np.float32)
    cv2.fillPoly(img, [g.polygon().astype(np.int32)], 1.0)
    m = cv2.getRotationMatrix2D((60.0, 50.0), 90.0, 1.0)
    rot = cv2.warpAffine(img, m, (140, 100))
    (r,) = rotate_grasps([g], m, math.pi / 2)
    # a 90° counter-clockwise image rotation turns a horizontal closing line vertical
    assert abs(abs(r.angle) - math.pi / 2) < 1e-9
    ys, xs = np.nonzero(rot > 0.5)
    assert abs(xs.mean() - r.u) < 1.0 and abs(ys.mean() - r.v) < 1.0
    assert np.ptp(ys) > np.ptp(xs)  # the opening (20 px) now runs along v


def test_training_sample_centre_crop_matches_inference_crop():
    import cv2
    import pytest

    pytest.importorskip("torch")  # the train module imports torch
    from grasp_core.depth import CropTransform, inpaint_depth, normalise_depth
    from grasp_core.nn.train import make_sample

    rng = np.random.default_rng(0)
    depth = (1.0 + 0.01 * rng.standard_normal((480, 640))).astype(np.float32)
    depth[rng.uniform(size=depth.shape) < 0.05] = np.nan
    g = Grasp(320.0, 240.0, 0.3, 60.0, 20.0)
    x, t, gn = make_sample(depth, [g], 160)
    tf = CropTransform.centre(depth.shape, 300, 160)
    # the detector's order (GraspDetector.preprocess): crop (nearest) → inpaint → mean_clip
    want = normalise_depth(inpaint_depth(tf.apply(depth, cv2.INTER_NEAREST)), "mean_clip", 1.0)
    np.testing.assert_array_equal(x, want)
    assert np.isfinite(x).all()
    assert abs(gn[0].width_px - 60.0 * 160 / 300) < 1e-9
    assert t.shape == (4, 160, 160) and t[0, 80, 80] == 1
    # augmented samples stay finite and keep a label near the rotated centre
    xa, ta, ga = make_sample(depth, [g], 160, rng=np.random.default_rng(1))
    assert np.isfinite(xa).all() and ta[0].sum() > 0 and len(ga) == 1
    with pytest.raises(ValueError):
        make_sample(depth, [g], 160, order="sideways")
