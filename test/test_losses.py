"""Losses of Prew et al. (ICPR 2020), MTG-CNN, aligned augmentation, k-fold splits, RGB export through the detector."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasp_core.grasp import Grasp  # noqa: E402
from grasp_core.nn.losses import grasp_loss, positional_loss, total_loss  # noqa: E402


def _maps():
    """One 2×2 image with fractional ground-truth quality Q_GT = [[1, 0.5], [0, 0.25]]."""
    t = lambda a: torch.tensor(a, dtype=torch.float32).reshape(1, 1, 2, 2)  # noqa: E731
    target = [t([[1, 0.5], [0, 0.25]]), t([[1, 0], [0, -1]]), t([[0, 1], [0, 0]]), t([[0.2, 0.4], [0, 0.4]])]
    pred = [t([[0.5, 0.5], [0, 0.75]]), t([[0, 1], [0.5, -1]]), t([[0, 0], [1, 1]]), t([[0.4, 0.4], [0.2, 0]])]
    return pred, target


def test_loss_l_eq2_by_hand():
    pred, target = _maps()
    loss, parts = grasp_loss(pred, target)
    # errors per pixel (row-major): Q 0.5 0 0 0.5; cos 1 1 0.5 0; sin 0 1 1 1; W 0.2 0 0.2 0.4; N = 4
    # pos (0.25 + 0.25)/4; cos (1 + 1 + 0.25)/4; sin 3/4; width (0.04 + 0.04 + 0.16)/4
    assert parts == pytest.approx({"pos": 0.125, "cos": 0.5625, "sin": 0.75, "width": 0.06})
    assert float(loss) == pytest.approx(1.4975)


def test_positional_loss_eq3_by_hand():
    pred, target = _maps()
    loss, parts = positional_loss(pred, target)
    # Eq. 3: 1/N Σ (Q_GT·error)², Q_GT = 1, 0.5, 0, 0.25: the quality term as in L;
    # cos ((1·1)² + (0.5·1)² + (0·0.5)² + 0)/4; sin (0 + 0.5² + 0 + 0.25²)/4; width ((1·0.2)² + 0 + 0 + (0.25·0.4)²)/4
    assert parts == pytest.approx({"pos": 0.125, "cos": 0.3125, "sin": 0.078125, "width": 0.0125})
    assert float(loss) == pytest.approx(0.528125)


def test_positional_loss_never_exceeds_l_term_by_term():
    rng = np.random.default_rng(0)
    for trial in range(200):
        shape = (int(rng.integers(1, 4)), 1, int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        q = rng.uniform(0, 1, shape)
        if trial % 4 == 0:
            q = (q > 0.7).astype(float)  # binary quality, as grasp_target_maps writes it
        elif trial % 4 == 1:
            q[...] = 1.0  # everywhere a grasp: L_p == L
        target = [torch.tensor(q, dtype=torch.float32)] + [
            torch.tensor(rng.uniform(-1, 1, shape), dtype=torch.float32) for _ in range(3)]
        pred = [torch.tensor(rng.uniform(-1.5, 1.5, shape), dtype=torch.float32) for _ in range(4)]
        l_total, l_parts = grasp_loss(pred, target)
        p_total, p_parts = positional_loss(pred, target)
        assert p_parts["pos"] == pytest.approx(l_parts["pos"])
        for k in ("cos", "sin", "width"):
            assert p_parts[k] <= l_parts[k] + 1e-7, (trial, k)
            if trial % 4 == 1:
                assert p_parts[k] == pytest.approx(l_parts[k], rel=1e-6)
        assert float(p_total) <= float(l_total) + 1e-6


def test_positional_loss_without_grasps_and_its_gradient():
    z = torch.zeros(1, 1, 3, 3)
    pred = [torch.full((1, 1, 3, 3), 0.5, requires_grad=True) for _ in range(4)]
    loss, parts = positional_loss(pred, [z, z, z, z])
    assert loss.item() == pytest.approx(0.25) and parts["cos"] == 0.0  # only the quality term is left
    pred, target = _maps()
    cos = pred[1].clone().requires_grad_(True)
    positional_loss([pred[0], cos, pred[2], pred[3]], target)[0].backward()
    g = cos.grad[0, 0]
    assert g[1, 0] == 0  # Q_GT = 0: no angle gradient
    # d/dĈ of (Q (Ĉ − C))² / N = 2 Q² (Ĉ − C) / N
    assert float(g[0, 0]) == pytest.approx(2 * 1.0 * (0 - 1) / 4)
    assert float(g[0, 1]) == pytest.approx(2 * 0.25 * (1 - 0) / 4)


def test_total_loss_adds_weighted_auxiliary_mse():
    pred, target = _maps()
    aux_p, aux_t = torch.zeros(1, 1, 2, 2), torch.tensor([[1.0, 1.0], [0.0, 0.0]]).reshape(1, 1, 2, 2)
    loss, parts = total_loss(pred, target, "l", aux_p, aux_t, aux_weight=0.5)
    assert parts["aux"] == pytest.approx(0.5) and float(loss) == pytest.approx(1.4975 + 0.25)
    loss, parts = total_loss(pred, target, "lp", aux_p, aux_t)
    assert float(loss) == pytest.approx(0.528125 + 0.5)  # Eq. 3 with its auxiliary term, λ = 1
    with pytest.raises(ValueError):
        total_loss(pred, target, "l2")


@pytest.mark.parametrize("modality,size", [("rgb", 96), ("rgbd", 100), ("depth", 96)])
def test_mtgcnn_shapes_and_shared_encoder(modality, size):
    from grasp_core.nn.mtgcnn import MODALITY_CHANNELS, GraspBranch, build_model

    torch.manual_seed(0)
    net = build_model("mtgcnn", modality, "depth")
    x = torch.randn(2, MODALITY_CHANNELS[modality], size, size)
    out = net(x)
    assert len(out) == 5 and all(tuple(o.shape) == (2, 1, size, size) for o in out)
    assert len(GraspBranch(net)(x)) == 4
    # the auxiliary loss trains the shared encoder and its own decoder, never the grasp branch
    out[4].pow(2).mean().backward()
    assert net.enc[0].weight.grad.abs().sum() > 0 and net.aux_dec[0].weight.grad.abs().sum() > 0
    assert net.grasp_dec[0].weight.grad is None and net.heads.pos.weight.grad is None


def test_build_model_rejects_bad_combinations():
    from grasp_core.nn.mtgcnn import build_model

    assert build_model("ggcnn", "rgb").enc[0].in_channels == 3
    assert build_model("ggcnn2", "rgbd").features[0].in_channels == 4
    for args in [("mtgcnn", "rgb", "none"), ("ggcnn", "rgb", "depth"), ("ggcnn", "ir"), ("unet", "rgb"),
                 ("mtgcnn", "rgb", "normals")]:
        with pytest.raises(ValueError):
            build_model(*args)


def _scene():
    """480×640 scene: a red 60×160 px box (its long side along u) on a grey table, 0.05 m above it."""
    depth = np.full((480, 640), 1.0, np.float32)
    rgb = np.full((480, 640, 3), 120, np.uint8)
    mask = np.zeros((480, 640), np.uint8)
    sl = (slice(210, 270), slice(240, 400))
    depth[sl], rgb[sl], mask[sl] = 0.95, (220, 30, 30), 1
    grasp = Grasp(320.0, 240.0, math.pi / 2, 80.0, 30.0)  # closing line along v, across the box
    return depth, rgb, mask, grasp


def test_augmentation_keeps_input_labels_and_aux_aligned():
    from grasp_core.nn.train import make_multitask_sample

    depth, rgb, mask, g = _scene()
    for seed in range(6):
        s = make_multitask_sample(depth, [g], 96, rng=np.random.default_rng(seed), rgb=rgb, aux=mask,
                                  aux_kind="saliency", range_prob=0, ramp_prob=0)
        assert s.x.shape == (4, 96, 96) and s.aux.shape == (1, 96, 96) and s.targets.shape == (4, 96, 96)
        obj = s.aux[0] > 0.5
        red = s.x[1] > s.x[2] + 0.3  # R − G, mean_unit-normalised
        near = s.x[0] < -0.01  # depth channel: the box is closer than the mean
        assert (red == obj).mean() > 0.97 and (near == obj).mean() > 0.97
        on = s.targets[0] > 0
        assert on.sum() > 10 and obj[on].mean() > 0.95  # grasp pixels lie on the object
        # the closing line stays across the box: perpendicular to the box's long axis in the sample
        ys, xs = np.nonzero(obj)
        evals, evecs = np.linalg.eigh(np.cov(np.stack([xs, -ys.astype(float)])))
        long_axis = math.atan2(evecs[1, np.argmax(evals)], evecs[0, np.argmax(evals)])
        phi = 0.5 * math.atan2(float(s.targets[2][on].mean()), float(s.targets[1][on].mean()))
        d = abs((phi - long_axis + math.pi / 2) % math.pi - math.pi / 2)
        assert abs(d - math.pi / 2) < math.radians(8)
    # depth auxiliary target: the normalised perfect depth of the same crop
    s = make_multitask_sample(None, [g], 96, rgb=rgb, aux=depth, aux_kind="depth")
    assert s.x.shape == (3, 96, 96) and s.aux[0].min() < -0.01 and s.aux[0, 0, 0] > 0


def test_table_plane_mask_finds_the_box_on_a_tilted_table():
    from grasp_core.nn.train import table_plane_mask

    depth, _, mask, _ = _scene()
    v, u = np.mgrid[0:480, 0:640]
    tilted = depth + (0.0004 * u + 0.0002 * v).astype(np.float32)
    assert (table_plane_mask(tilted) == mask).mean() > 0.999


def test_kfold_split_by_scene():
    from grasp_core.nn.train import kfold_split

    ids = [f"{s:06d}_{v}" for s in range(23) for v in range(3)]
    tests = []
    for k in range(5):
        tr, te = kfold_split(ids, 5, k)
        assert sorted(tr + te) == list(range(len(ids)))
        assert not {ids[i][:6] for i in tr} & {ids[i][:6] for i in te}  # no scene on both sides
        tests += te
    assert sorted(tests) == list(range(len(ids)))  # every image tested exactly once
    assert [ids[i] for i in kfold_split(ids, 5, 2)[1]][:3] == ["000002_0", "000002_1", "000002_2"]
    with pytest.raises(ValueError):
        kfold_split(ids, 5, 5)


def test_rgb_mtgcnn_export_runs_in_the_detector(tmp_path):
    pytest.importorskip("onnxruntime")
    import cv2
    from grasp_core.depth import CropTransform, normalise_rgb
    from grasp_core.inference import GraspDetector
    from grasp_core.model_card import write_card
    from grasp_core.nn.export import export_onnx, model_card
    from grasp_core.nn.mtgcnn import build_model

    torch.manual_seed(0)
    net = build_model("mtgcnn", "rgb", "saliency").eval()
    path = export_onnx(net, tmp_path / "mtg.onnx", 96, modality="rgb")
    card = model_card("mtg", "mtgcnn", 96, modality="rgb", aux="saliency", loss="lp")
    assert "depth_normalisation" not in card["input"] and card["training"]["auxiliary_task"] == "saliency"
    det = GraspDetector(str(write_card(path, card)))
    assert det.needs_rgb and [o.name for o in det.session.get_outputs()] == ["pos", "cos", "sin", "width"]
    depth, rgb, _, _ = _scene()
    x, tf = det.preprocess(depth, rgb)
    want = normalise_rgb(CropTransform.centre(depth.shape, 300, 96).apply(rgb, cv2.INTER_AREA))
    np.testing.assert_allclose(x[0], np.transpose(want, (2, 0, 1)), atol=1e-6)
    with torch.no_grad():
        ref = net(torch.from_numpy(x))[0].numpy()
    got = det.session.run(["pos"], {"rgb": x})[0]
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert len(det.detect(depth, rgb, top_k=3, quality_threshold=-1.0).grasps) >= 1
    with pytest.raises(ValueError):
        det.detect(depth, None)


def test_best_of_each_family_is_exported_with_its_fold_metrics(tmp_path):
    """pick_best chooses the family's best mean row and that row's best fold; export_best writes a card
    carrying the fold figure and the Table-I row, and the ONNX reproduces the fold's checkpoint."""
    pytest.importorskip("onnxruntime")
    from dataclasses import replace

    from grasp_core.inference import GraspDetector
    from grasp_core.nn.crossval import TABLE1, aggregate, export_best, pick_best
    from grasp_core.nn.mtgcnn import build_model
    from grasp_core.nn.train import TrainConfig

    def res(fold, acc):
        return {"fold": fold, "folds": 2, "accuracy": acc, "variants": {"angle<30": acc, "iou>35": acc / 2},
                "test_images": 10, "train_images": 30, "epochs": 1, "minutes": 0.1, "name": "x"}

    results = {"GG-CNN (RGB)": [res(0, 0.5), res(1, 0.7)],        # mean 0.60
               "GG-CNN_p (RGB)": [res(0, 0.65), res(1, 0.62)],    # mean 0.635: the family's best row
               "GG-CNN2 (depth)": [res(0, 0.3), res(1, 0.4)]}
    assert pick_best(results, ("GG-CNN (RGB)", "GG-CNN_p (RGB)")) == ("GG-CNN_p (RGB)", results["GG-CNN_p (RGB)"][0])
    assert pick_best(results, ("MTG-CNN, depth aux (RGB)",)) is None
    base = TrainConfig(data=str(tmp_path / "synth_x"), input_size=48)
    torch.manual_seed(0)
    nets = {}
    for label, fold in (("GG-CNN_p (RGB)", 0), ("GG-CNN2 (depth)", 1)):
        cfg = replace(base, **TABLE1[label])
        nets[label] = build_model(cfg.arch, cfg.modality, cfg.aux).eval()
        d = tmp_path / "run" / label.lower().replace("-", "_").replace(" (", "_").rstrip(")") / f"fold_{fold}"
        d.mkdir(parents=True)
        torch.save(nets[label].state_dict(), d / "best.pt")
    cards = export_best(results, aggregate(results), base, tmp_path / "run", tmp_path / "models", "synth_x")
    assert [c.name for c in cards] == ["ggcnn_rgb_synth_x.json", "ggcnn2_depth_synth_x.json"]
    import json

    card = json.loads(cards[0].read_text())
    assert card["metrics"]["fold_rectangle_accuracy"] == 0.65 and card["metrics"]["fold"] == 0
    assert card["metrics"]["table1"]["per_fold"] == [0.65, 0.62] and card["metrics"]["table1"]["mean"] == 0.635
    assert card["metrics"]["table1"]["paper_jacquard"] == 0.7892 and card["input"]["modality"] == "rgb"
    det = GraspDetector(str(cards[1]))
    x = np.random.default_rng(0).standard_normal((1, 1, 48, 48)).astype(np.float32)
    with torch.no_grad():
        ref = nets["GG-CNN2 (depth)"](torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(det.session.run(["pos"], {"depth": x})[0], ref, atol=1e-4)


def test_he_initialisation_keeps_gg_cnn2_outputs_alive():
    """With PyTorch's default init GG-CNN2's outputs started near 0 (the plateau Table I stayed on);
    He init must give outputs of the order of the targets (Q ∈ [0, 1], width/150 ~ 0.1-0.5)."""
    from grasp_core.nn.ggcnn import GGCNN2

    torch.manual_seed(0)
    x = torch.randn(4, 1, 96, 96)
    with torch.no_grad():
        outs = GGCNN2()(x)
    assert all(o.shape == (4, 1, 96, 96) for o in outs)
    assert all(float(o.std()) > 0.05 for o in outs)  # PyTorch default init: ~5e-4


def test_table1_report_has_last_epoch_and_per_epoch_curves(tmp_path):
    """aggregate: last-epoch mean and per-epoch mean ± std over the folds that reached the epoch;
    write_report writes the Fig. 6 PNG beside the table."""
    from grasp_core.nn.crossval import aggregate, write_report

    def res(fold, curve):
        return {"fold": fold, "folds": 2, "accuracy": max(curve), "last_epoch_accuracy": curve[-1],
                "val_acc_per_epoch": curve, "variants": {"angle<30": 0.5}, "test_images": 10,
                "train_images": 30, "epochs": len(curve), "minutes": 0.1, "name": "x"}

    rows = aggregate({"GG-CNN (RGB)": [res(0, [0.2, 0.6, 0.5]), res(1, [0.4, 0.4])],
                      "GG-CNN_p (RGB)": [res(0, [0.3, 0.7]), res(1, [0.5, 0.5])]})
    r = rows[0]
    assert r["mean"] == pytest.approx(0.5) and r["last_mean"] == pytest.approx(0.45)
    assert [m for m, _ in r["per_epoch"]] == pytest.approx([0.3, 0.5, 0.5])
    assert r["per_epoch"][0][1] == pytest.approx(np.std([0.2, 0.4], ddof=1)) and math.isnan(r["per_epoch"][2][1])
    paths = write_report(rows, tmp_path, "t")
    assert paths["epochs_png"].stat().st_size > 1000
    assert "| GG-CNN (RGB) | 2 | 50.0 ± 14.1 | 45.0 ± 7.1 |" in paths["md"].read_text()
