"""Spatial-transformer building blocks (grasp_core.nn.stn): known warps, parameterisations, mappings."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasp_core.nn import stn  # noqa: E402


def _blob(h=64, w=64, u=40.0, v=20.0, sigma=3.0):
    """A Gaussian blob centred on pixel (u, v) of an H × W image, (1, 1, H, W)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.exp(-((xx - u) ** 2 + (yy - v) ** 2) / (2 * sigma ** 2))
    return torch.from_numpy(img)[None, None]


def _peak(img):
    a = img[0, 0].numpy()
    v, u = np.unravel_index(np.argmax(a), a.shape)
    # sub-pixel centroid around the peak
    yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    m = a > 0.5 * a.max()
    return float((xx * a * m).sum() / (a * m).sum()), float((yy * a * m).sum() / (a * m).sum())


def test_identity_warp_reproduces_the_image():
    img = _blob()
    out = stn.warp(img, stn.translation(0.0, 0.0))
    assert torch.allclose(out, img, atol=1e-5)


def test_translation_brings_an_offset_point_to_the_centre():
    # blob at pixel (40, 20) of 64 × 64: normalised x = (2·40+1)/64 − 1, y = (2·20+1)/64 − 1
    img = _blob(u=40.0, v=20.0)
    x, y = (2 * 40 + 1) / 64 - 1, (2 * 20 + 1) / 64 - 1
    out = stn.warp(img, stn.translation(x, y))
    u, v = _peak(out)
    assert abs(u - 31.5) < 0.1 and abs(v - 31.5) < 0.1  # the image centre (pixel 31.5)


def test_rotation_turns_a_grasp_axis_horizontal():
    # a bar through the centre along direction θ (y-down image); Λ_rot(θ) makes it horizontal
    h = w = 65
    theta = math.radians(30)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) - 32.0
    dist = np.abs(-np.sin(theta) * xx + np.cos(theta) * yy)
    bar = torch.from_numpy(np.exp(-dist ** 2 / 2.0) * (np.hypot(xx, yy) < 25))[None, None].float()
    out = stn.warp(bar, stn.rotation(theta))[0, 0].numpy()
    rows = out.sum(1)
    assert int(np.argmax(rows)) == 32  # all the bar's mass on the centre row
    assert rows[32] > 5 * rows[26]


def test_scale_zooms_in_on_the_centre():
    img = _blob(u=31.5 + 8, v=31.5, sigma=2.0)
    out = stn.warp(img, stn.scale(0.5))
    u, v = _peak(out)
    assert abs(u - (31.5 + 16)) < 0.2 and abs(v - 31.5) < 0.2  # 8 px right of centre → 16 px at 2× zoom


def test_scale_to_a_small_output_keeps_the_covered_extent():
    img = _blob(h=224, w=224, u=111.5 + 20, v=111.5, sigma=4.0)
    s = 64 / 224  # a 32 × 32 output covering 64 input px: 2 input px per output px
    out = stn.warp(img, stn.scale(s), size=(32, 32))
    u, _ = _peak(out)
    assert abs(u - (15.5 + 10)) < 0.3


@pytest.mark.parametrize("signed,thetas", [(True, [-1.5, -0.7, 0.0, 0.3, 1.2, 1.57]), (False, [0.05, 0.4, 0.75])])
def test_rotation_parameterisation_inverts(signed, thetas):
    t = torch.tensor(thetas)
    w = stn.gqstn_rotation_inverse(t, signed=signed)
    assert torch.allclose(stn.gqstn_rotation(w, signed=signed), t, atol=1e-5)


def test_printed_rotation_parameterisation_covers_a_quarter_of_the_angles():
    w = torch.randn(10000, 2) * 10
    t = stn.gqstn_rotation(w, signed=False)
    assert float(t.min()) >= 0.0 and float(t.max()) <= math.pi / 4 + 1e-6
    with pytest.raises(ValueError):
        stn.gqstn_rotation_inverse(torch.tensor([1.0]), signed=False)


def test_translation_and_scale_parameterisations_invert():
    x, y = torch.tensor([-0.4, 0.0, 0.3]), torch.tensor([0.2, -0.1, 0.49])
    w = stn.gqstn_translation_inverse(x, y)
    x2, y2 = stn.gqstn_translation(w)
    assert torch.allclose(x2, x, atol=1e-5) and torch.allclose(y2, y, atol=1e-5)
    with pytest.raises(ValueError):
        stn.gqstn_translation_inverse(torch.tensor([0.6]), torch.tensor([0.0]))
    s, z = torch.tensor([0.1, 0.3]), torch.tensor([0.7, -0.2])
    s2, z2 = stn.gqstn_scale(stn.gqstn_scale_inverse(s, z, gamma=0.2), gamma=0.2)
    assert torch.allclose(s2, s) and torch.allclose(z2, z)
    with pytest.raises(ValueError):
        stn.gqstn_scale_inverse(torch.tensor([0.0]), torch.tensor([0.0]), gamma=0.2)


def test_a_cascade_point_maps_back_to_the_full_image_exactly():
    # translation → rotation → anisotropic crop; a blob at the crop's centre is where compose() says
    torch.manual_seed(0)
    lam1 = stn.translation(0.2, -0.1)
    lam2 = stn.rotation(0.6)
    lam3 = stn.scale_xy(0.3, 0.15, 0.05, -0.02)
    total = stn.compose(lam1, lam2, lam3)
    src = stn.normalised_to_pixels(stn.to_source(total, torch.zeros(1, 1, 2)), 200, 200)[0, 0]
    img = _blob(h=200, w=200, u=float(src[0]), v=float(src[1]), sigma=3.0)
    out = stn.warp(stn.warp(stn.warp(img, lam1), lam2), lam3, size=(48, 48))
    u, v = _peak(out)
    assert abs(u - 23.5) < 0.5 and abs(v - 23.5) < 0.5
    # and the inverse maps the full-image point back to the crop's centre
    back = stn.to_source(stn.invert(total), stn.pixels_to_normalised(src.view(1, 1, 2), 200, 200))
    assert torch.allclose(back, torch.zeros(1, 1, 2), atol=1e-5)


def test_pixel_normalised_round_trip():
    uv = torch.tensor([[0.0, 0.0], [223.0, 100.5]])
    assert torch.allclose(stn.normalised_to_pixels(stn.pixels_to_normalised(uv, 224, 224), 224, 224), uv, atol=1e-4)
    assert torch.allclose(stn.pixels_to_normalised(torch.tensor([[111.5, 111.5]]), 224, 224), torch.zeros(1, 2))


def test_localisation_network_starts_at_its_bias_and_exports():
    net = stn.ResNetLocalisation(1, 2, blocks=(1, 1, 1, 1), width=8, bias=torch.tensor([0.0, 0.0]))
    net.eval()
    x = torch.randn(2, 1, 224, 224)
    assert torch.allclose(net(x), torch.zeros(2, 2))
    assert sum(p.numel() for p in stn.ResNetLocalisation(1, 2, blocks=stn.RESNET_LAYOUTS["resnet34"], width=64)
               .parameters()) > 21e6  # ResNet-34's ~21.3 M parameters (without its ImageNet head)
