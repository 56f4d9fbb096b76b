"""Depth preprocessing: encodings, holes, inpainting, crop and its exact inverse."""
import numpy as np
import pytest
from grasp_core.depth import (
    CropTransform,
    DepthError,
    depth_to_metres,
    hole_mask,
    inpaint_depth,
    normalise_depth,
)


def test_16uc1_millimetres_become_metres_and_zero_is_a_hole():
    raw = np.array([[0, 500], [1234, 65535]], dtype=np.uint16)
    d = depth_to_metres(raw, "16UC1")
    assert d.dtype == np.float32
    assert np.isnan(d[0, 0])
    assert d[0, 1] == pytest.approx(0.5)
    assert d[1, 0] == pytest.approx(1.234)
    assert np.isnan(d[1, 1])  # 65.535 m is beyond max_depth


def test_32fc1_nan_inf_zero_and_out_of_range_are_holes():
    raw = np.array([[np.nan, np.inf, 0.0, 0.01, 0.7]], dtype=np.float32)
    d = depth_to_metres(raw, "32FC1")
    assert np.isnan(d[0, :4]).all()
    assert d[0, 4] == pytest.approx(0.7)
    assert hole_mask(d).tolist() == [[True, True, True, True, False]]


@pytest.mark.parametrize("raw,enc", [
    (np.zeros((4, 4), np.float32), "16UC1"),      # dtype disagrees with encoding
    (np.zeros((4, 4), np.uint16), "32FC1"),
    (np.zeros((4, 4), np.uint8), "8UC1"),         # not a depth encoding
    (np.zeros((4, 4, 3), np.uint16), "16UC1"),    # not single channel
])
def test_bad_encodings_raise(raw, enc):
    with pytest.raises(DepthError):
        depth_to_metres(raw, enc)


def test_inpainting_fills_holes_smoothly_and_keeps_valid_pixels():
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    truth = 0.6 + 0.001 * xx + 0.0005 * yy  # a tilted table
    d = truth.copy()
    d[40:60, 50:80] = np.nan
    d[0:5, :] = np.nan  # a hole touching the border
    out = inpaint_depth(d)
    assert np.isfinite(out).all()
    valid = np.isfinite(d)
    np.testing.assert_array_equal(out[valid], d[valid])
    # Navier-Stokes inpainting propagates the surrounding surface into the holes:
    # filled values stay within the range of the hole's rim and close to the ramp
    # (the ramp spans 35 mm across the interior hole)
    hole = out[40:60, 50:80]
    rim = truth[39:61, 49:81]
    assert rim.min() - 1e-6 <= hole.min() and hole.max() <= rim.max() + 1e-6
    assert np.abs(out - truth)[40:60, 50:80].mean() < 0.01
    assert np.abs(out - truth)[0:5].max() < 0.01


def test_inpainting_an_all_hole_frame_raises():
    with pytest.raises(DepthError):
        inpaint_depth(np.full((10, 10), np.nan, np.float32))


@pytest.mark.parametrize("shape,crop,out", [((480, 640), 300, 300), ((480, 640), 300, 224),
                                            ((480, 640), 600, 200), ((100, 90), 300, 64)])
def test_crop_inverse_mapping_is_exact(shape, crop, out):
    tf = CropTransform.centre(shape, crop, out)
    assert tf.crop_size == min(crop, *shape)
    u = np.random.default_rng(0).uniform(-0.5, out - 0.5, 50)
    v = np.random.default_rng(1).uniform(-0.5, out - 0.5, 50)
    su, sv = tf.to_source(u, v)
    bu, bv = tf.from_source(su, sv)
    np.testing.assert_allclose(bu, u, atol=1e-9)
    np.testing.assert_allclose(bv, v, atol=1e-9)
    # the crop's corners map onto the crop's source corners
    su, sv = tf.to_source(-0.5, -0.5)
    assert (su, sv) == pytest.approx((tf.x0 - 0.5, tf.y0 - 0.5))


def test_crop_apply_samples_the_source_pixels_the_mapping_names():
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    tf = CropTransform.centre((h, w), 300, 150)
    img_u = tf.apply(xx)
    img_v = tf.apply(yy)
    # value at network pixel (c, r) is the source coordinate of that pixel's centre
    for r, c in [(0, 0), (75, 20), (149, 149)]:
        su, sv = tf.to_source(c, r)
        assert img_u[r, c] == pytest.approx(su, abs=1e-3)
        assert img_v[r, c] == pytest.approx(sv, abs=1e-3)


def test_mean_clip_normalisation():
    d = np.array([[0.5, 0.7], [3.0, 0.6]], np.float32)
    n = normalise_depth(d)
    assert n.max() == pytest.approx(1.0)
    assert n[0, 0] == pytest.approx(0.5 - d.mean())
