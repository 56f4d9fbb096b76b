"""Grasp detection with segmentation and refinement (Ainetter & Fraundorfer 2021): the targets against
hand-computed rectangles, the hard-negative weights, orientation classes, the torchvision-built network's
losses, and the ONNX export against PyTorch and through the torch-free detector."""
from __future__ import annotations

import math

import numpy as np
import pytest
from grasp_core.grasp import Grasp, angle_difference
from grasp_core.nn.detseg_targets import (
    ORIENTATIONS,
    apply_refinement,
    boxes_to_rects,
    grasp_boxes,
    hard_negative_weights,
    orientation_angle,
    orientation_class,
    refine_targets,
)


def test_orientation_classes_round_trip_and_cover_a_half_turn():
    k = np.arange(1, ORIENTATIONS + 1)
    phi = orientation_angle(k)
    assert np.array_equal(orientation_class(phi), k)
    assert np.allclose(np.diff(phi), math.pi / ORIENTATIONS)
    assert phi[0] == pytest.approx(-math.pi / 2 + math.pi / 36) and phi[-1] == pytest.approx(math.pi / 2 - math.pi / 36)
    # a grasp and its half turn are the same class; the interval edges belong to the class above
    a = np.random.default_rng(0).uniform(-4, 4, 500)
    assert np.array_equal(orientation_class(a), orientation_class(a + math.pi))
    assert orientation_class(-math.pi / 2) == 1 and orientation_class(-math.pi / 2 + math.pi / 18) == 2
    assert orientation_class(math.pi / 2) == 1  # π/2 ≡ −π/2
    # the class centre is within half an interval of the angle
    assert np.all(angle_difference(orientation_angle(orientation_class(a)), a) <= math.pi / 36 + 1e-9)
    with pytest.raises(ValueError, match="1..18"):
        orientation_angle([0])


def test_refinement_targets_match_hand_computed_rotated_boxes():
    # candidate: centre (100, 50), opening 40, jaws 20, Φ = −90° → closing line points down the image (θ = 90°)
    cand = np.array([[100.0, 50.0, 40.0, 20.0, -math.pi / 2]])
    gt = np.array([[100.0, 60.0, 80.0, 10.0, -math.pi / 2 + 0.1]])
    t = refine_targets(cand, gt, signed=False)[0]
    # Eq. 9: the 10 px offset lies along the closing line: t_x = 10/40, t_y = 0
    assert t[0] == pytest.approx(0.25) and t[1] == pytest.approx(0.0, abs=1e-12)
    assert t[2] == pytest.approx(math.log(2)) and t[3] == pytest.approx(math.log(0.5))
    assert t[4] == pytest.approx(0.1 / math.pi)  # Eq. 10
    # a correction the other way: as printed it wraps to the top of [0, 1); signed it is negative
    gt2 = gt.copy()
    gt2[0, 4] = -math.pi / 2 - 0.1
    assert refine_targets(cand, gt2, signed=False)[0, 4] == pytest.approx(1 - 0.1 / math.pi)
    assert refine_targets(cand, gt2, signed=True)[0, 4] == pytest.approx(-0.1 / math.pi)
    # an offset across the jaws (perpendicular to the closing line) is t_y, scaled by h
    gt3 = np.array([[105.0, 50.0, 40.0, 20.0, -math.pi / 2]])
    t3 = refine_targets(cand, gt3)[0]
    assert t3[0] == pytest.approx(0.0, abs=1e-12) and abs(t3[1]) == pytest.approx(5 / 20)
    # at any angle, an offset along the rectangle's own closing line (Grasp.polygon's axis) is t_x only
    for phi in (0.3, -1.2, 1.0):
        g = Grasp(200, 120, phi, 30, 12)
        axis = (g.polygon()[0] - g.polygon()[3]) / 30  # corner + a ± b: a = closing line
        c = np.array([[g.u, g.v, 30, 12, phi]])
        moved = np.array([[g.u + 6 * axis[0], g.v + 6 * axis[1], 30, 12, phi]])
        tt = refine_targets(c, moved)[0]
        assert tt[0] == pytest.approx(6 / 30) and tt[1] == pytest.approx(0, abs=1e-12)


def test_refinement_inverse_recovers_the_target_with_either_angle_form():
    rng = np.random.default_rng(1)
    n = 200
    cand = np.column_stack([rng.uniform(0, 300, n), rng.uniform(0, 300, n), rng.uniform(5, 60, n),
                            rng.uniform(3, 30, n), rng.uniform(-math.pi / 2, math.pi / 2, n)])
    gt = cand + np.column_stack([rng.normal(0, 5, n), rng.normal(0, 5, n), np.zeros(n), np.zeros(n),
                                 rng.normal(0, 0.3, n)])
    gt[:, 2:4] = cand[:, 2:4] * np.exp(rng.normal(0, 0.3, (n, 2)))
    for signed in (False, True):
        back = apply_refinement(cand, refine_targets(cand, gt, signed))
        assert np.allclose(back[:, :4], gt[:, :4], atol=1e-9)
        assert np.all(angle_difference(back[:, 4], gt[:, 4]) < 1e-9)
    with pytest.raises(ValueError):
        refine_targets(cand[:2], gt[:3])


def test_boxes_are_the_unrotated_rectangles():
    r = np.array([[50.0, 40.0, 30.0, 10.0, 0.7]])
    assert np.allclose(grasp_boxes(r), [[35, 35, 65, 45]])
    assert np.allclose(boxes_to_rects(grasp_boxes(r), [0.7]), r)


def test_hard_negative_weights_select_exactly_a_quarter_of_the_pixels():
    rng = np.random.default_rng(2)
    nll = rng.exponential(1.0, (3, 20, 16))
    w = hard_negative_weights(nll)
    for b in range(3):
        sel = w[b] > 0
        assert sel.sum() == 20 * 16 // 4
        assert np.allclose(w[b][sel], 4 / (20 * 16))
        assert nll[b][sel].min() >= nll[b][~sel].max()  # the hardest pixels (lowest probability)


def test_semantic_loss_is_eq8_with_hard_negative_mining():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from grasp_core.nn.detseg import semantic_loss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 12, 8, generator=g)
    labels = torch.randint(0, 5, (2, 12, 8), generator=g)
    nll = torch.nn.functional.cross_entropy(logits, labels, reduction="none").numpy()
    want = (hard_negative_weights(nll) * nll).sum((1, 2)).mean()
    assert float(semantic_loss(logits, labels)) == pytest.approx(want, rel=1e-5)
    # the easy pixels do not matter: making them easier leaves the loss unchanged
    easy = torch.from_numpy(hard_negative_weights(nll) == 0)
    boosted = logits.clone()
    onehot = torch.nn.functional.one_hot(labels, 5).permute(0, 3, 1, 2).bool()
    boosted[onehot & easy[:, None]] += 5.0
    assert float(semantic_loss(boosted, labels)) == pytest.approx(float(semantic_loss(logits, labels)), rel=1e-5)


def _tiny_cfg(configuration="Det_Seg_Refine"):
    from grasp_core.nn.detseg import DetSegConfig

    return DetSegConfig(input_size=64, configuration=configuration, fpn_channels=16, fc_dim=32, seg_channels=8,
                        anchor_sizes=(8, 16, 32, 64, 128), rpn_pre_nms_test=100, rpn_post_nms_test=30,
                        score_thresh=0.0, detections=10)


def test_losses_of_every_configuration_and_gradients_reach_the_heads():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from grasp_core.nn.detseg import GraspDetSeg

    torch.manual_seed(0)
    rects = [np.array([[20.0, 30.0, 16.0, 8.0, 0.4], [40.0, 20.0, 12.0, 6.0, -1.0]])] * 2
    classes = torch.randint(0, 20, (2, 64, 64))
    x = torch.randn(2, 3, 64, 64)
    for conf in ("Detection", "Det_Seg", "Det_Seg_Refine"):
        net = GraspDetSeg(_tiny_cfg(conf)).train()
        out = net.losses(x, rects, classes)
        for k in ("rpn_objectness", "rpn_box", "box", "rot"):
            assert torch.isfinite(out[k]) and float(out[k].detach()) > 0, (conf, k)
        assert (float(out["sem"].detach()) > 0) == (conf != "Detection")
        out["total"].backward()
        assert net.roi_heads.box_predictor.cls_score.weight.grad.abs().sum() > 0
        if conf != "Detection":
            assert net.semantic.classifier.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="per-pixel classes"):
        GraspDetSeg(_tiny_cfg("Det_Seg")).train().losses(x, rects, None)
    with pytest.raises(ValueError, match="configuration"):
        _tiny_cfg("Refine")


def test_refine_loss_trains_the_refinement_head_on_matched_detections():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from grasp_core.nn.detseg import GraspDetSeg

    torch.manual_seed(0)
    net = GraspDetSeg(_tiny_cfg()).train()
    # ground truth = wherever the untrained network detects, shifted a little: every detection matches
    net.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        boxes, _, labels, _, _ = net(x)
    from grasp_core.nn.detseg import detections_to_rects

    r = detections_to_rects(boxes.numpy(), labels.numpy())[:3]
    r[:, 0] += 1.0
    net.train()
    net.backbone.eval()  # Det_Seg_Refine's schedule: backbone + FPN frozen
    loss = net.losses(x, [r], torch.zeros(1, 64, 64, dtype=torch.int64), freeze_backbone=True)["refine"]
    assert float(loss) > 0
    loss.backward()
    assert net.refine.fc2.weight.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    pytest.importorskip("onnx")
    from grasp_core.nn.detseg import GraspDetSeg
    from grasp_core.nn.detseg_export import export_with_card

    torch.manual_seed(3)
    net = GraspDetSeg(_tiny_cfg()).eval()
    torch.nn.init.normal_(net.refine.fc2.weight, std=0.05)  # non-zero corrections
    path = tmp_path_factory.mktemp("detseg") / "detseg_test.onnx"
    card = export_with_card(net, path, path.stem, 96, {}, {})
    return net, path, card


def test_onnx_export_matches_pytorch(exported):
    import onnxruntime as ort
    import torch

    net, path, _ = exported
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for seed in (0, 1):
        x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            ref = [t.numpy() for t in net(x)]
        out = sess.run(None, {"rgb": x.numpy()})
        assert len(ref[0]) > 0
        for a, b in zip(out, ref, strict=True):
            assert a.shape == b.shape
            assert np.allclose(a, b, atol=1e-3), np.abs(a - b).max()


def test_onnx_detector_decodes_grasps_with_object_classes(exported):
    from grasp_core.detectors import open_detector
    from grasp_core.nn.detseg_onnx import DetSegDetector, class_image, decode_outputs

    _, _, card = exported
    det = open_detector(card)
    assert isinstance(det, DetSegDetector) and det.needs_rgb
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    depth = np.full((120, 160), 0.7, np.float32)
    with pytest.raises(ValueError, match="RGB"):
        det.detect(depth)
    d = det.detect(depth, rgb, top_k=5, min_distance_px=0.0, quality_threshold=0.0)
    assert 1 <= len(d.grasps) <= 5 and len(d.classes) == len(d.grasps)
    assert [g.quality for g in d.grasps] == sorted((g.quality for g in d.grasps), reverse=True)
    names = det.class_names
    assert all(n in names[1:] and 0 < c <= 1 for n, c in d.classes)
    # the decoder applies the refinement: the published grasps differ from the unrefined boxes
    x, _ = det.preprocess(depth, rgb)
    out = det.run(x)
    refined, _, _ = decode_outputs(out, det.net)
    raw, _, _ = decode_outputs(out, {**det.net, "configuration": "Det_Seg"})
    assert any(abs(a.u - b.u) > 1e-4 for a, b in zip(refined, raw, strict=True))
    img = class_image(d.class_map, d.transform, depth.shape)
    assert img.shape == depth.shape and img.dtype == np.uint8 and img.max() < len(names)
    x0 = d.transform.x0
    assert (img[:, : max(0, x0)] == 0).all()  # outside the 96 px centre crop: background


def test_cli_refuses_missing_data_with_one_line(tmp_path, capsys):
    pytest.importorskip("torchvision")
    from grasp_core.cli.detseg import main

    assert main(["--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]


def test_fp16_weight_storage_halves_the_file_and_keeps_the_outputs(exported, tmp_path):
    import shutil

    import onnxruntime as ort
    import torch
    from grasp_core.nn.detseg_export import store_weights_fp16

    _, path, _ = exported
    half = tmp_path / "half.onnx"
    shutil.copy(path, half)
    assert store_weights_fp16(half) > 0
    assert half.stat().st_size < 0.6 * path.stat().st_size
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(5)).numpy()
    a = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"rgb": x})
    b = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"]).run(None, {"rgb": x})
    assert b[0].dtype == np.float32 and b[4].dtype == np.float32
    assert np.allclose(a[4], b[4], atol=1e-2)  # class probabilities
    assert a[0].shape == b[0].shape and np.allclose(a[0], b[0], atol=0.5)  # boxes, px
