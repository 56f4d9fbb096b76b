"""Multi-stage STN (Park & Chun 2018): each stage's targets from known rectangles, and the exact map
from every stage's output back to full-image pixels."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasp_core.grasp import Grasp, angle_difference, rectangle_metric  # noqa: E402
from grasp_core.nn import stn  # noqa: E402
from grasp_core.nn.msstn import (  # noqa: E402
    MSSTNConfig,
    MultiStageSTN,
    crop_targets,
    decode_candidates,
    rotation_target,
    scale_crop_target,
    scale_from_raw,
    stage_affines,
)
from grasp_core.nn.msstn_baselines import decode_regression, regression_target  # noqa: E402

CFG = MSSTNConfig(input_size=64, k=4, crop_scale=0.5, patch=32, cls_patch=16, width=8)


def test_crop_targets_take_the_first_rectangles_from_the_top_right_and_zero_the_rest():
    gts = [Grasp(10, 50, 0.0, 10, 5), Grasp(60, 2, 0.3, 10, 5), Grasp(40, 30, 1.0, 10, 5),
           Grasp(61, 3, 0.2, 10, 5)]  # the last is 1.4 px from the second: skipped as a duplicate
    xy, mask, chosen = crop_targets(gts, 4, 64, min_separation_px=4.0)
    assert [(g.u, g.v) for g in chosen] == [(60, 2), (40, 30), (10, 50)]
    np.testing.assert_allclose(xy[0], [(2 * 60 + 1) / 64 - 1, (2 * 2 + 1) / 64 - 1], atol=1e-6)
    np.testing.assert_array_equal(mask, [1, 1, 1, 0])
    np.testing.assert_array_equal(xy[3], [0, 0])
    xy, mask, chosen = crop_targets([], 4, 64)
    assert not chosen and not mask.any() and not xy.any()


def test_rotation_target_turns_the_grasp_horizontal():
    g = Grasp(32, 32, math.radians(40), 20, 8)
    t = rotation_target(g)
    theta = 0.5 * math.atan2(t[0], t[1])
    assert theta == pytest.approx(-math.radians(40), abs=1e-6)
    # the rotated window's x axis is the grasp's closing direction in the image (u right, v down)
    _, lcr, _ = stage_affines(torch.zeros(1, 2), torch.tensor([theta]), None, 0.5)
    axis = lcr[0, :, 0].numpy() / 0.5
    np.testing.assert_allclose(axis, [math.cos(g.angle), -math.sin(g.angle)], atol=1e-6)


@pytest.mark.parametrize("phi", [0.0, 0.7, -1.2, math.pi / 2])
def test_a_candidate_maps_back_exactly_to_full_image_pixels_through_crop_rotation_and_scale(phi):
    """Targets built from a known rectangle, pushed through the three stages' Λ and decoded, give the
    rectangle back: centre, angle, opening and jaw size in full-image pixels."""
    g = Grasp(41.3, 20.7, phi, 18.0, 7.0)
    centre = np.array([0.1, -0.3], np.float32)  # the window is not centred on the grasp
    theta = -phi + 0.0
    raw = scale_crop_target(g, centre, theta, CFG)
    sc = scale_from_raw(torch.from_numpy(raw)[None], CFG.scale_ref)
    out = decode_candidates(centre[None], np.array([theta]), sc.numpy(), np.array([2.0]), CFG)
    d = out["grasps"][0]
    assert (d.u, d.v) == pytest.approx((g.u, g.v), abs=1e-4)
    assert angle_difference(d.angle, g.angle) < 1e-6
    assert (d.width_px, d.length_px) == pytest.approx((g.width_px, g.length_px), rel=1e-5)
    assert d.quality == pytest.approx(1 / (1 + math.exp(-2)))
    # the final patch's corners, through the composed Λ, are the rectangle's corners
    _, _, lf = stage_affines(torch.from_numpy(centre)[None], torch.tensor([theta]), sc, CFG.crop_scale)
    corners = torch.tensor([[[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]]])
    px = stn.normalised_to_pixels(stn.to_source(lf, corners), 64, 64)[0].numpy()
    # patch corner normalised ±1 lies half a pixel outside the corner pixel centres: the patch edge
    poly = g.polygon()
    for p in px:
        assert np.min(np.linalg.norm(poly - p, axis=1)) < 1e-3


def test_the_warped_final_patch_shows_the_rectangle():
    """A bright bar drawn where the rectangle is comes out filling the final patch."""
    size = 64
    img = np.zeros((1, 1, size, size), np.float32)
    g = Grasp(30.0, 34.0, math.radians(30), 24.0, 8.0)
    vv, uu = np.mgrid[0:size, 0:size]
    c, s = math.cos(g.angle), math.sin(g.angle)
    along = (uu - g.u) * c - (vv - g.v) * s
    across = (uu - g.u) * s + (vv - g.v) * c
    img[0, 0] = ((np.abs(along) < g.width_px / 2) & (np.abs(across) < g.length_px / 2)).astype(np.float32)
    centre = np.array([-0.2, 0.2], np.float32)
    theta = -g.angle
    sc = scale_from_raw(torch.from_numpy(scale_crop_target(g, centre, theta, CFG))[None], CFG.scale_ref)
    _, _, lf = stage_affines(torch.from_numpy(centre)[None], torch.tensor([theta]), sc, CFG.crop_scale)
    p = stn.warp(torch.from_numpy(img), lf, (16, 16), padding_mode="zeros")[0, 0].numpy()
    assert p[2:-2, 2:-2].min() > 0.9  # inside the rectangle
    big = stn.compose(lf, stn.scale(torch.tensor([2.0])))  # twice the extent: the outside is dark
    q = stn.warp(torch.from_numpy(img), big, (16, 16), padding_mode="zeros")[0, 0].numpy()
    assert q[0].max() < 0.1 and q[-1].max() < 0.1 and q[:, 0].max() < 0.1


def test_network_output_shapes_and_patches():
    net = MultiStageSTN(CFG).eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        o = net.forward_patches(x)
        xy, th, sc, score = net(x)
    assert xy.shape == (2, 4, 2) and th.shape == (2, 4) and sc.shape == (2, 4, 4) and score.shape == (2, 4)
    assert o["p_crop"].shape == (8, 1, 32, 32) and o["p_final"].shape == (8, 1, 16, 16)
    assert len({tuple(np.round(v, 3)) for v in xy[0].numpy()}) == 4  # the K candidates start apart
    dec = decode_candidates(xy[0].numpy(), th[0].numpy(), sc[0].numpy(), score[0].numpy(), CFG)
    assert dec["crop"].shape == (4, 3) and len(dec["grasps"]) == 4
    assert list(dec["order"]) == list(np.argsort(-score[0].numpy(), kind="stable"))


def test_regression_target_round_trip():
    g = Grasp(12.0, 50.0, -0.4, 20.0, 9.0)
    d = decode_regression(regression_target(g, CFG), CFG)
    assert rectangle_metric(d, [g]) and (d.u, d.v) == pytest.approx((g.u, g.v), abs=1e-4)
    assert (d.width_px, d.length_px) == pytest.approx((20.0, 9.0), rel=1e-4)
