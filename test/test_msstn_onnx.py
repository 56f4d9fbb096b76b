"""Multi-stage STN export: ONNX Runtime (torch-free runner) ↔ PyTorch parity for every stage's output,
the decoded candidates in full-image pixels, and the Table I baselines' graphs."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from grasp_core.detectors import open_detector  # noqa: E402
from grasp_core.nn.msstn import MSSTNConfig, MultiStageSTN, decode_candidates  # noqa: E402
from grasp_core.nn.msstn_baselines import DirectRegression, SingleStageSTN  # noqa: E402
from grasp_core.nn.msstn_export import export_baselines, export_msstn, msstn_card  # noqa: E402
from grasp_core.nn.msstn_onnx import MSSTNDetector  # noqa: E402
from grasp_core.nn.msstn_train import MSSTNTrainConfig  # noqa: E402

NET = MSSTNConfig(input_size=64, k=3, crop_scale=0.5, patch=24, cls_patch=16, width=8)


def _randomised(module, seed=0):
    """Non-trivial weights (the zero-initialised heads would make every output its bias)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return module.eval()


def _depth(seed=0):
    rng = np.random.default_rng(seed)
    d = np.full((120, 160), 0.8, np.float32)
    d[40:70, 50:80] = 0.74  # a box on the table
    d[80:95, 100:140] = 0.76
    d += rng.normal(0, 1e-3, d.shape).astype(np.float32)
    d[5, 5] = np.nan
    return d


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("msstn")
    cfg = MSSTNTrainConfig(net=NET, crop_size=100)
    net = _randomised(MultiStageSTN(NET))
    card = msstn_card("msstn_test", cfg, {"dataset": "none"}, {"heldout_rectangle_accuracy": 0.0})
    cpath = export_msstn(net, tmp / "msstn_test.onnx", card)
    models = {"direct": _randomised(DirectRegression(NET), 1), "single": _randomised(SingleStageSTN(NET), 2)}
    paths = export_baselines(models, net, cfg, tmp / "base", {"dataset": "none"},
                             grid={"stride_px": 16, "angles": 3, "openings_px": [10.0, 20.0]})
    return net, models, cpath, paths


def test_every_stage_output_matches_pytorch(exported):
    net, _, cpath, _ = exported
    det = open_detector(str(cpath), threads=1)
    assert isinstance(det, MSSTNDetector) and det.kind == "msstn"
    x, _ = det.preprocess(_depth())
    ort = det.run(x)
    with torch.no_grad():
        ref = [t.numpy() for t in net(torch.from_numpy(x))]
    for key, r in zip(("crop", "rotation", "scale_crop", "score"), ref, strict=True):
        np.testing.assert_allclose(ort[key], r, atol=2e-4, rtol=1e-4, err_msg=key)
    assert ort["crop"].shape == (1, 3, 2) and ort["scale_crop"].shape == (1, 3, 4)


def test_detection_is_the_pytorch_decoding_mapped_to_source_pixels(exported):
    net, _, cpath, _ = exported
    det = open_detector(str(cpath), threads=1)
    depth = _depth(1)
    d = det.detect(depth, top_k=3, min_distance_px=0.0, quality_threshold=0.0)
    x, tf = det.preprocess(depth)
    with torch.no_grad():
        xy, th, sc, s = (t[0].numpy() for t in net(torch.from_numpy(x)))
    ref = decode_candidates(xy, th, sc, s, NET)
    best = ref["grasps"][ref["order"][0]]
    u, v = tf.to_source(best.u, best.v)
    g = d.grasps[0]
    assert (g.u, g.v) == pytest.approx((float(u), float(v)), abs=0.05)
    assert g.width_px == pytest.approx(best.width_px * tf.scale, rel=1e-3)
    assert math.isclose(g.quality, best.quality, abs_tol=1e-4)
    assert [len(d.stages[k]) for k in ("crop", "rotation", "scale_crop")] == [3, 3, 3]
    cu, cv = tf.to_source(*ref["crop"][0, :2])
    assert (d.stages["crop"][0].u, d.stages["crop"][0].v) == pytest.approx((float(cu), float(cv)), abs=0.05)
    assert [q.quality for q in d.grasps] == sorted((q.quality for q in d.grasps), reverse=True)


def test_baseline_graphs_match_pytorch(exported):
    net, models, _, paths = exported
    by = {p.stem: p for p in paths}
    depth = _depth(2)
    direct = open_detector(str(by["msstn_direct"]), threads=1)
    x, _ = direct.preprocess(depth)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        np.testing.assert_allclose(direct.run(x)["grasp"], models["direct"](xt).numpy(), atol=2e-4, rtol=1e-4)
        raw, score = models["single"](xt)
        o = open_detector(str(by["msstn_single"]), threads=1).run(x)
        np.testing.assert_allclose(o["grasp"], raw.numpy(), atol=2e-4, rtol=1e-4)
        np.testing.assert_allclose(o["score"], score.numpy(), atol=2e-4, rtol=1e-4)
    sliding = open_detector(str(by["msstn_sliding"]), threads=1)
    s = sliding.run(x)["score"]
    assert s.shape == (4 * 4 * 3 * 2,)  # 4 x 4 centres (stride 16 over 64 px) x 3 angles x 2 openings
    d = sliding.detect(depth, top_k=2, quality_threshold=0.0)
    assert len(d.grasps) == 2 and d.grasps[0].quality == pytest.approx(1 / (1 + math.exp(-float(s.max()))), abs=1e-5)


def test_a_grid_pooled_crop_stage_exports_and_matches_pytorch(tmp_path):
    """``crop_pool`` > 1 (STN_crop pools to a grid, keeping where the features are): its linear layer reads
    the 2 × 2 grid (four times the features of global pooling), and the exported graph gives PyTorch's
    candidates."""
    cfg_net = MSSTNConfig(input_size=64, k=3, crop_scale=0.5, patch=24, cls_patch=16, width=8, crop_pool=2)
    net = _randomised(MultiStageSTN(cfg_net), 3)
    assert net.crop.fc.in_features == 4 * MultiStageSTN(NET).crop.fc.in_features
    card = msstn_card("msstn_pool", MSSTNTrainConfig(net=cfg_net, crop_size=100), {"dataset": "none"}, {})
    assert card["msstn"]["crop_pool"] == 2
    det = open_detector(str(export_msstn(net, tmp_path / "msstn_pool.onnx", card)), threads=1)
    x, _ = det.preprocess(_depth(2))
    with torch.no_grad():
        ref = net(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(det.run(x)["crop"], ref, atol=2e-4, rtol=1e-4)


def test_the_sliding_grid_searches_the_same_scene_rectangles_at_every_input_size():
    from grasp_core.nn.msstn_export import sliding_grid
    from grasp_core.nn.msstn_onnx import SLIDING_OPENINGS_PX

    at = {(s, c): sliding_grid(MSSTNTrainConfig(net=MSSTNConfig(input_size=s), crop_size=c))
          for s, c in ((160, 300), (400, 400), (400, 300))}
    assert at[160, 300] == {"stride_px": 10, "angles": 6, "openings_px": list(SLIDING_OPENINGS_PX)}
    for (s, c), g in at.items():  # the same opening in source px, whatever the network's px per source px
        assert g["openings_px"][-1] * c / s == pytest.approx(SLIDING_OPENINGS_PX[-1] * 300 / 160, rel=0.01)
    assert at[400, 300]["stride_px"] == 25 and at[400, 400]["stride_px"] == 19
