"""GQ-STN (grasp_core.nn.gqstn): the three blocks reproduce known warps, the θ and s parameterisations invert,
every intermediate image has its shape, the ground-truth Λs cut the classifier's own crop, and the frozen
classifier loaded from the shipped ONNX agrees with ONNX Runtime."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasp_core.nn import gqstn, stn  # noqa: E402

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
S = 224


def _pattern(seed=0):
    """(1, 1, S, S) synthetic depth, m: a table at 0.8 m with boxes of distinct heights (asymmetric)."""
    img = np.full((S, S), 0.8, np.float32)
    img[40:80, 60:150] = 0.75
    img[120:200, 30:60] = 0.70
    img[150:170, 150:210] = 0.78
    img += np.random.default_rng(seed).normal(0, 1e-3, img.shape).astype(np.float32)
    return torch.from_numpy(img)[None, None]


def _set_raw(block, w):
    """Make a localisation network output the raw vector w whatever its input (zero fc weight, bias w)."""
    with torch.no_grad():
        block.loc.fc.weight.zero_()
        block.loc.fc.bias.copy_(torch.as_tensor(w, dtype=torch.float32).reshape(-1))


@torch.no_grad()
def test_stn_trans_block_reproduces_a_pixel_shift():
    img = _pattern()
    blk = gqstn.STNTrans().eval()
    # 28 px right and 14 px down of a 224 image: x = 2·28/224 = 0.25, y = 0.125
    _set_raw(blk, stn.gqstn_translation_inverse(torch.tensor([0.25]), torch.tensor([0.125])))
    w, xy, lam = blk(img)
    assert torch.allclose(xy, torch.tensor([[0.25, 0.125]]), atol=1e-6)
    out = stn.warp(img, lam)
    # output pixel (u, v) samples input (u + 28, v + 14) exactly (bilinear at integer offsets)
    np.testing.assert_allclose(out[0, 0, :S - 14, :S - 28].numpy(), img[0, 0, 14:, 28:].numpy(), atol=1e-5)


@torch.no_grad()
def test_stn_rot_block_reproduces_a_quarter_turn_and_the_printed_angle():
    img = _pattern()
    blk = gqstn.STNRot(rotation="signed").eval()
    _set_raw(blk, stn.gqstn_rotation_inverse(torch.tensor([math.pi / 2 - 1e-4]), signed=True))
    _, theta, lam = blk(img)
    assert abs(float(theta) - math.pi / 2) < 1e-3
    out = stn.warp(img, stn.rotation(torch.tensor([math.pi / 2])))
    a = img[0, 0].numpy()
    o = out[0, 0].numpy()
    # out[v, u] = in[y_in, x_in] with (x_in, y_in) = R(π/2)(x, y) = (−y, x): in[u, S−1−v]
    np.testing.assert_allclose(o, a[np.arange(S)[None, :], (S - 1 - np.arange(S))[:, None]], atol=1e-4)
    # the block's warp equals the quoted matrix for the printed form at θ = π/8
    pr = gqstn.STNRot(rotation="printed").eval()
    _set_raw(pr, stn.gqstn_rotation_inverse(torch.tensor([math.pi / 8]), signed=False))
    _, th, lam = pr(img)
    assert abs(float(th) - math.pi / 8) < 1e-5
    c, s = math.cos(math.pi / 8), math.sin(math.pi / 8)
    assert torch.allclose(lam, torch.tensor([[[c, -s, 0.0], [s, c, 0.0]]]), atol=1e-6)


@torch.no_grad()
def test_stn_scale_block_reproduces_a_centre_crop():
    img = _pattern()
    blk = gqstn.STNScale(gamma=0.3).eval()
    # s = 32/224: the 32-px output is exactly input pixels 96 … 127 (align_corners=False)
    _set_raw(blk, stn.gqstn_scale_inverse(torch.tensor([32 / 224]), torch.tensor([0.7]), 0.3))
    _, sz, lam = blk(img)
    assert torch.allclose(sz, torch.tensor([[32 / 224, 0.7]]), atol=1e-6)
    out = stn.warp(img, lam, (32, 32))
    np.testing.assert_allclose(out[0, 0].numpy(), img[0, 0, 96:128, 96:128].numpy(), atol=1e-5)


def test_parameterisations_invert_and_the_printed_rotation_reaches_only_a_quarter():
    rng = np.random.default_rng(1)
    x, y = torch.from_numpy(rng.uniform(-0.49, 0.49, (2, 50)).astype(np.float32))
    gx, gy = stn.gqstn_translation(stn.gqstn_translation_inverse(x, y))
    assert torch.allclose(gx, x, atol=1e-5) and torch.allclose(gy, y, atol=1e-5)
    with pytest.raises(ValueError):
        stn.gqstn_translation_inverse(torch.tensor([0.6]), torch.tensor([0.0]))
    th = torch.from_numpy(rng.uniform(-math.pi / 2 + 1e-3, math.pi / 2 - 1e-3, 50).astype(np.float32))
    assert torch.allclose(stn.gqstn_rotation(stn.gqstn_rotation_inverse(th, signed=True), signed=True), th, atol=1e-4)
    thp = torch.from_numpy(rng.uniform(0.01, math.pi / 4 - 0.01, 50).astype(np.float32))
    assert torch.allclose(stn.gqstn_rotation(stn.gqstn_rotation_inverse(thp, signed=False), signed=False), thp,
                          atol=1e-4)
    with pytest.raises(ValueError):
        stn.gqstn_rotation_inverse(torch.tensor([-0.3]), signed=False)
    # any raw output of the printed form gives θ in (0, π/4); the signed form covers the half-turn
    w = torch.from_numpy(rng.normal(0, 4, (10000, 2)).astype(np.float32))
    tp = stn.gqstn_rotation(w, signed=False)
    assert float(tp.min()) > 0 and float(tp.max()) < math.pi / 4
    ts = stn.gqstn_rotation(w, signed=True)
    assert float(ts.min()) < -1.4 and float(ts.max()) > 1.4
    s = torch.from_numpy(rng.uniform(0.05, 1.0, 50).astype(np.float32))
    z = torch.from_numpy(rng.normal(0, 1, 50).astype(np.float32))
    gs, gz = stn.gqstn_scale(stn.gqstn_scale_inverse(s, z, 0.3), 0.3)
    assert torch.allclose(gs, s, atol=1e-5) and torch.allclose(gz, z)
    # wrap_theta: the printed form's targets are the jaw-equivalent angle nearest its range
    assert abs(gqstn.wrap_theta(math.pi / 8 + math.pi, "printed") - math.pi / 8) < 1e-9
    assert -math.pi / 2 < gqstn.wrap_theta(2.0, "signed") <= math.pi / 2


def test_cascade_shapes_of_every_intermediate_image_and_teacher_forcing():
    torch.manual_seed(0)
    net = gqstn.GQSTN(gqstn.GQSTNConfig(rotation="signed", loc_pool=4)).eval()
    assert net.trans.loc.fc.in_features == 64 * 16  # a 4 × 4 grid of the last stage's 64 channels
    depth = torch.cat([_pattern(0), _pattern(1)])
    with torch.no_grad():
        o = net.run(depth)
        outs = net(depth)
    assert o.image_trans.shape == (2, 1, S, S) and o.image_rot.shape == (2, 1, S, S)
    assert o.image_scale.shape == (2, 1, 32, 32)
    assert o.xy.shape == (2, 2) and o.theta.shape == (2,) and o.sz.shape == (2, 2) and o.p_robust.shape == (2,)
    assert [tuple(t.shape) for t in outs] == [(2, 2), (2,), (2, 2), (2,), (2, 1, S, S), (2, 1, S, S), (2, 1, 32, 32)]
    assert len(outs) == len(gqstn.OUTPUT_NAMES)
    # untrained: identity translation and rotation, s = γ → the images are the input and its centre
    assert torch.allclose(o.image_trans, depth, atol=1e-5) and torch.allclose(o.image_rot, depth, atol=1e-4)
    # teacher forcing: the rotation and scale stages see the ground-truth translation's image
    tt, tr = stn.translation(torch.tensor([0.2, -0.1]), torch.tensor([0.1, 0.3])), stn.rotation(torch.tensor([0.4, -1]))
    with torch.no_grad():
        t = net.run(depth, teacher=(tt, tr))
    assert torch.allclose(t.image_trans, stn.warp(depth, tt), atol=1e-6)
    assert torch.allclose(t.image_rot, stn.warp(depth, stn.compose(tt, tr)), atol=1e-6)
    assert torch.allclose(t.image_scale, stn.warp(depth, stn.compose(tt, tr, t.lam_scale), (32, 32)), atol=1e-6)
    # gradients reach every STN but not the frozen classifier
    net.train()
    loss = gqstn.robustness_loss(net.run(depth))
    loss.backward()
    for blk in net.stns():
        assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in blk.parameters())
    assert all(p.grad is None for p in net.classifier.parameters())


def test_ground_truth_affines_cut_the_classifiers_aligned_crop():
    """Λ_trans^gt·Λ_rot^gt·Λ_scale^gt of a grasp sample the same 32-px crop as grasp_core.datasets.robustness."""
    from grasp_core.datasets.robustness import aligned_crop

    cfg = gqstn.GQSTNConfig(rotation="signed", crop_size=S)
    depth = _pattern()
    fx, d = 570.0, 0.75
    # a grasp across the wide box at network px (105, 60), Φ = 30° counter-clockwise on screen
    u, v, phi = 105.0, 60.0, math.radians(30)
    g = gqstn.grasp_target(u, v, phi, fx, d, 0.02, cfg)
    lam = stn.compose(stn.translation(torch.tensor([g.x]), torch.tensor([g.y])), stn.rotation(torch.tensor([g.theta])),
                      stn.scale(torch.tensor([g.s])))
    got = stn.warp(depth, lam, (32, 32))[0, 0].numpy()
    want = aligned_crop(depth[0, 0].numpy(), u, v, phi, fx / d)
    assert np.abs(got - want)[2:-2, 2:-2].max() < 2e-3  # bilinear vs cv2 bilinear, edges aside
    assert abs(g.z * cfg.pose_std + cfg.pose_mean - 0.02) < 1e-9


def test_baselines_shapes_and_multigrasp_decodes_its_own_targets():
    cfg = gqstn.GQSTNConfig()
    depth = torch.cat([_pattern(0), _pattern(1)])
    with torch.no_grad():
        assert gqstn.DirectGrasp(cfg)(depth).shape == (2, gqstn.N_REG)
        mg = gqstn.MultiGrasp(cfg)
        out = mg(depth)
    assert out.shape == (2, 7, 7, 7)
    tg = gqstn.loc_targets([gqstn.GraspTarget(0.3, -0.2, 0.5, 0.3, 0.1), gqstn.GraspTarget(-0.45, 0.1, -1.0, 0.25, 0)],
                           "signed")
    cell, off, reg = mg.cell_targets(tg)
    fake = torch.full((2, 7, 49), -10.0)
    for b in range(2):
        fake[b, 0, cell[b]] = 10.0
        fake[b, 1:3, cell[b]] = torch.logit(off[b])
        fake[b, 3:, cell[b]] = reg[b, 2:]
    xy, theta, sz, p = mg.decode(fake.reshape(2, 7, 7, 7))
    assert torch.allclose(xy, tg["xy"], atol=1e-3) and torch.allclose(theta, tg["theta"], atol=1e-4)
    assert torch.allclose(sz[:, 0], tg["s"], atol=1e-5) and float(p.min()) > 0.99
    assert float(mg.loss(fake.reshape(2, 7, 7, 7), tg)) < 1e-3


def test_classifier_loaded_from_the_shipped_onnx_agrees_with_onnx_runtime():
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = ROOT / "models" / "gqcnn_synth.onnx"
    net = gqstn.gqcnn_from_onnx(path)
    assert net.config == {"fc_width": 256, "pose_width": 16, "pool2": True}
    # crops of the synthetic scene at several grasps, the network inputs of grasp_core.robust_metric
    from grasp_core.datasets.robustness import aligned_crop, network_inputs

    a = _pattern()[0, 0].numpy()
    crops = np.stack([aligned_crop(a, u, v, t, 570 / 0.75) for u, v, t in
                      [(105, 60, 0.0), (105, 60, 1.5), (45, 160, 0.2), (180, 160, -0.7), (10, 10, 0.0)]])
    im, pose = network_inputs(crops, np.array([0.77, 0.78, 0.73, 0.80, 0.83]), crops[:, 15, 15])
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        ["p_robust"], {"crop": im, "pose": pose})[0]
    with torch.no_grad():
        got = net(torch.from_numpy(im), torch.from_numpy(pose)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.ptp(want[:, 1]) > 0.05  # the crops are told apart: not a constant network


def test_torch_free_decoder_inverts_the_ground_truth_targets():
    """grasp_core.nn.gqstn_onnx.decode_grasp of a label's targets gives back its centre and angle in source px,
    the paper's opening w = s/3 and the gripper depth."""
    from grasp_core.depth import CropTransform
    from grasp_core.nn.gqstn_onnx import decode_grasp

    cfg = gqstn.GQSTNConfig(rotation="signed", crop_size=300)
    tf = CropTransform.centre((480, 640), 300, S)
    for u_src, v_src, phi in ((300.0, 250.0, 0.4), (380.0, 200.0, -1.2), (260.0, 300.0, 1.5)):
        un, vn = (float(a) for a in tf.from_source(u_src, v_src))
        t = gqstn.grasp_target(un, vn, phi, 500.0, 0.8, 0.03, cfg)
        g, dz = decode_grasp((t.x, t.y), t.theta, (t.s, t.z), 0.7, cfg.to_dict(), tf)
        assert abs(g.u - u_src) < 1e-6 and abs(g.v - v_src) < 1e-6 and g.quality == 0.7
        assert abs(math.remainder(g.angle - phi, math.pi)) < 1e-9
        # the crop spans 0.128 m = 0.128·500/0.8 = 80 source px; opening a third of it
        assert abs(g.width_px - 80.0 / 3) < 1e-6 and abs(dz - 0.03) < 1e-9
