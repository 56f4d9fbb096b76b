"""Post-processing on synthetic maps with known maxima."""
import numpy as np
import pytest
from grasp_core.grasp import wrap_angle
from grasp_core.postprocess import decode_maps, find_peaks, grasps_from_maps


def gaussian(shape, r, c, s, a):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return a * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * s * s))


def test_find_peaks_returns_known_maxima_in_order_and_respects_distance_and_threshold():
    q = gaussian((100, 120), 30, 40, 4, 0.9) + gaussian((100, 120), 70, 90, 4, 0.6) \
        + gaussian((100, 120), 33, 46, 2, 0.5) + gaussian((100, 120), 10, 100, 3, 0.05)
    peaks = find_peaks(q, top_k=5, min_distance=10, threshold=0.1)
    assert peaks.tolist() == [[30, 40], [70, 90]]  # the 0.5 bump is within 10 px, the 0.05 one below threshold
    assert find_peaks(q, top_k=1, min_distance=10).tolist() == [[30, 40]]
    assert len(find_peaks(np.zeros((20, 20)), top_k=3)) == 0


def test_find_peaks_candidates_are_scipys_window_maxima_on_random_maps_with_plateaus_and_holes():
    """The local maxima are those of ``scipy.ndimage.maximum_filter`` (the reference the cv2 dilation replaced):
    same peaks, same order, on maps with plateaus, NaN holes and any window up to the map's size."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    for trial in range(120):
        h, w = (int(v) for v in rng.integers(3, 90, 2))
        q = rng.random((h, w)).astype(np.float32)
        if trial % 3 == 0:
            q = np.round(q * 3) / 3  # plateaus
        if trial % 4 == 0:
            q[rng.random((h, w)) < 0.2] = np.nan
        d = int(rng.integers(0, 30))
        ref_q = np.nan_to_num(q, nan=-np.inf)
        local = ndimage.maximum_filter(ref_q, size=2 * d + 1, mode="constant", cval=-np.inf)
        cand = np.argwhere((ref_q == local) & (ref_q >= 0.1))
        cand = cand[np.argsort(-ref_q[cand[:, 0], cand[:, 1]], kind="stable")]
        want: list = []
        for p in cand:
            if all(np.max(np.abs(p - a)) >= d for a in want) and len(want) < 7:
                want.append(p)
        assert find_peaks(q, top_k=7, min_distance=d, threshold=0.1).tolist() == [list(p) for p in want], trial


def test_angle_is_half_atan2_and_width_is_scaled():
    h, w = 64, 64
    phi = np.deg2rad(35.0)
    pos = gaussian((h, w), 20, 30, 3, 1.0)
    maps = decode_maps(pos, np.full((h, w), np.cos(2 * phi)), np.full((h, w), np.sin(2 * phi)),
                       np.full((h, w), 0.2), width_scale_px=150.0)
    g = grasps_from_maps(maps, top_k=1)[0]
    assert (g.v, g.u) == (20, 30)
    assert g.angle == pytest.approx(phi, abs=1e-5)
    assert g.width_px == pytest.approx(30.0, rel=1e-4)
    assert g.length_px == pytest.approx(15.0, rel=1e-4)
    assert 0.0 <= g.quality <= 1.0


def test_angle_wraps_to_half_open_interval():
    assert wrap_angle(np.pi / 2) == pytest.approx(np.pi / 2)
    assert wrap_angle(-np.pi / 2) == pytest.approx(np.pi / 2)
    assert wrap_angle(np.deg2rad(100)) == pytest.approx(np.deg2rad(-80))


def test_sigmoid_decoding_and_smoothing_keep_quality_in_unit_interval():
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 3, (32, 32))
    maps = decode_maps(raw, raw, raw, raw, quality="sigmoid")
    assert 0 <= maps.quality.min() and maps.quality.max() <= 1
    with pytest.raises(ValueError):
        decode_maps(raw, raw, raw, raw[:10])


def test_smoothing_is_scipys_gaussian_filter():
    from grasp_core.postprocess import gaussian_smooth
    from scipy import ndimage

    a = np.random.default_rng(3).random((37, 53)).astype(np.float32)
    for sigma in (0.7, 1.0, 2.0, 3.5):
        np.testing.assert_allclose(gaussian_smooth(a, sigma), ndimage.gaussian_filter(a, sigma), atol=1e-6)
