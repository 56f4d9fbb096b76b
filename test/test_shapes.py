"""Few-shot shape classification (grasp_core.shapes), without ROS.

Specification:
* guided backpropagation (Yokota et al. Eq. 1-2) on a tiny two-layer ReLU network equals
  the hand computation, and differs from the plain gradient where the rule says it must;
* on the SSD, refined features differ between detections of one image, raw ones do not;
* the layer with the best (cross-validated) support accuracy is selected; ties go as documented;
* a support set fitted from a folder, saved (npz + JSON, no pickle) and reloaded classifies the same;
* SSD box encoding round-trips, and the ONNX runtime needs no PyTorch;
* the committed model finds grasps on objects in scenes it was not trained on.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from grasp_core.shapes.fewshot import FewShotClassifier, FewShotError, LayerResult, select_layer  # noqa: E402
from grasp_core.shapes.refine import GuidedReLU, guided_relevance, layer_features, pool  # noqa: E402
from grasp_core.shapes.ssd import LAYER_NAMES, SSDGrasp, decode_torch, default_boxes, encode, match  # noqa: E402


def test_guided_backprop_matches_hand_computation():
    # x (2,) → f1 = relu(W1 x) (3,) → f2 = relu(W2 f1) (2,) → y = w3 · f2
    x = torch.tensor([1.0, 2.0])
    W1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]], requires_grad=True)  # W1 x = [1, 2, -1] → f1 = [1, 2, 0]
    W2 = torch.tensor([[1.0, -1.0, 1.0], [-1.0, 2.0, 0.0]])     # W2 f1 = [-1, 3] → f2 = [0, 3]
    w3 = torch.tensor([5.0, -2.0])                              # y = -6
    f1 = GuidedReLU.apply(W1 @ x)
    f1.retain_grad()
    f2 = GuidedReLU.apply(W2 @ f1)
    f2.retain_grad()
    (w3 @ f2).backward()
    # by hand: the signal arriving at f2 is R2+ = w3 = [5, -2]
    assert f2.grad.tolist() == [5.0, -2.0]
    # Eq. 1 at f2: (f2 > 0)(R2+ > 0) R2+ = [0·1·5, 1·0·(-2)] = [0, 0] → nothing reaches f1
    assert guided_relevance(f2.detach(), f2.grad).tolist() == [0.0, 0.0]
    assert f1.grad.tolist() == [0.0, 0.0, 0.0]
    # the plain gradient would be W2ᵀ (w3 · (f2 > 0)) = W2ᵀ [0, -2] = [2, -4, 0]
    plain = W2.T @ (w3 * (W2 @ (W1.detach() @ x).clamp(min=0) > 0))
    assert plain.tolist() == [2.0, -4.0, 0.0]


def test_guided_backprop_positive_path_and_eq2():
    x = torch.tensor([1.0, 2.0])
    W1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]], requires_grad=True)  # f1 = [1, 2, 0]
    W2 = torch.tensor([[1.0, -1.0, 1.0], [-1.0, 2.0, 0.0]])     # f2 = [0, 3]
    w3 = torch.tensor([5.0, 4.0])                               # y = 12
    f1 = GuidedReLU.apply(W1 @ x)
    f1.retain_grad()
    f2 = GuidedReLU.apply(W2 @ f1)
    (w3 @ f2).backward()
    # at f2: R2 = (f2>0)(w3>0) w3 = [0, 4]; arriving at f1: R1+ = W2ᵀ R2 = [-4, 8, 0]
    assert f1.grad.tolist() == [-4.0, 8.0, 0.0]
    r1 = guided_relevance(f1.detach(), f1.grad)                 # Eq. 1: [0, 8, 0]
    assert r1.tolist() == [0.0, 8.0, 0.0]
    assert (f1.detach() * r1).tolist() == [0.0, 16.0, 0.0]      # Eq. 2: F = f · R


def test_pool_sum_max_sqrt_normalised():
    f = np.zeros((1, 2, 2, 2), np.float32)
    f[0, 0] = [[1, 2], [0, 0]]                                  # sum 3, max 2; channel 1 all zero
    v = pool(f)
    assert v.shape == (1, 4)
    np.testing.assert_allclose(v[0], np.sqrt([3, 0, 2, 0]) / np.sqrt(5), rtol=1e-6)
    # rings around a centre: on a 2x2 map of a 300 px input the cells are 150 px apart
    r = pool(f, np.array([[74.5, 74.5]]))                       # centre on cell (0, 0)
    assert r.shape == (1, 2 * 2 * 4)
    ring0 = r[0, :4] * np.linalg.norm(np.sqrt([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0]))
    np.testing.assert_allclose(ring0, [1, 0, 1, 0], rtol=1e-6)  # [Σ, max] of cell (0, 0) only


def test_refined_features_are_per_detection():
    torch.manual_seed(0)
    net = SSDGrasp().eval()
    x = torch.zeros(1, 1, 300, 300)
    x[..., 40:80, 40:60] = 1.0
    x[..., 200:220, 150:260] = 0.5
    pri = default_boxes()
    near = [int(np.argmin(np.hypot(pri[:, 0] - u, pri[:, 1] - v) + 1e3 * pri[:, 3])) for u, v in ((50, 60), (205, 210))]
    ref = layer_features(net, x, np.array(near), variant="refined")
    loc = layer_features(net, x, np.array(near), variant="raw_local")
    glo = layer_features(net, x, np.array(near), variant="raw_global")
    assert list(ref) == list(LAYER_NAMES)
    for n, w in zip(LAYER_NAMES, net.widths, strict=True):
        assert ref[n].shape == loc[n].shape == (2, 2 * w * 4) and glo[n].shape == (2, 2 * w)
        assert np.isfinite(ref[n]).all()
        np.testing.assert_array_equal(glo[n][0], glo[n][1])
    assert not np.allclose(ref["4-3"][0], ref["4-3"][1])
    assert not np.allclose(ref["4-3"], loc["4-3"])
    assert net.relu is torch.relu  # the guided ReLU is only used during refinement


def test_layer_selection_constructed_case():
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b", "c"], 6)
    onehot = np.eye(3)[np.repeat([0, 1, 2], 6)]
    support = {"noise1": rng.normal(size=(18, 6)), "good": onehot.repeat(2, 1) + rng.normal(0, 0.05, (18, 6)),
               "noise2": rng.normal(size=(18, 6))}
    qy = np.array([0, 1, 2] * 4)
    query = {"noise1": rng.normal(size=(12, 6)), "good": np.eye(3)[qy].repeat(2, 1) + rng.normal(0, 0.05, (12, 6)),
             "noise2": rng.normal(size=(12, 6))}
    clf = FewShotClassifier(pca_dims=3).fit(support, y, query)
    assert clf.selected == "good"
    assert clf.results["good"].support_accuracy == 1.0
    assert clf.results["noise1"].support_accuracy < 0.8
    pred, conf = clf.predict(query)
    assert pred == [["a", "b", "c"][i] for i in qy]
    assert ((conf > 1 / 3) & (conf <= 1)).all()
    # ties: higher training accuracy, then the deeper layer
    r = {"1": LayerResult(1.0, 0.9, 1.0), "2": LayerResult(1.0, 0.9, 0.95), "3": LayerResult(1.0, 0.9, 1.0)}
    assert select_layer(r, ["1", "2", "3"]) == "3"
    with pytest.raises(FewShotError, match="at least 2 classes"):
        FewShotClassifier().fit({"good": support["good"]}, ["a"] * 18)


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    """An untrained SSD exported like the real one (ONNX + npz + card)."""
    from grasp_core.shapes.export import export_ssd

    torch.manual_seed(1)
    d = tmp_path_factory.mktemp("ssd")
    return export_ssd(SSDGrasp(), d, "ssd_random", {"config": {}})


def test_support_set_fit_save_reload(tmp_path, random_model):
    from grasp_core.shapes.data import render_shapes
    from grasp_core.shapes.support import ShapeClassifier, write_support_folder

    folder = write_support_folder(tmp_path / "support", ("L", "star"), 4, seed=3)
    a = ShapeClassifier(str(random_model), pca_dims=5, score_threshold=0.0, variant="refined_roi")
    rep = a.fit_folder(folder)
    assert rep.n_images == 8 and rep.labels == ["L", "star"] and rep.selected_layer in LAYER_NAMES
    a.save(tmp_path / "state" / "clf", folder)
    meta = json.loads((tmp_path / "state" / "clf.json").read_text())
    assert meta["selected_layer"] == rep.selected_layer and meta["support_folder"] == str(folder)
    with np.load(tmp_path / "state" / "clf.npz", allow_pickle=False) as z:  # plain arrays only
        assert z["labels"].tolist() == [0] * 4 + [1] * 4
    b = ShapeClassifier(str(random_model), pca_dims=5, variant="refined_roi")
    b.load(tmp_path / "state" / "clf")
    im = render_shapes(["L", "star"], np.random.default_rng(9))
    pts = im.boxes[:, :2]
    la, ca = a.classify(im.depth, pts, radius_px=30)
    lb, cb = b.classify(im.depth, pts, radius_px=30)
    assert la == lb and all(x in ("L", "star") for x in la)
    np.testing.assert_allclose(ca, cb)
    (folder / "star").rename(tmp_path / "away")
    with pytest.raises(FewShotError, match="at least 2 labels"):
        b.fit_folder(folder)


def test_encode_decode_round_trip_and_matching():
    pri = default_boxes()
    assert pri.shape == (38 * 38 + 19 * 19 + 10 * 10 + 5 * 5, 4)
    boxes = np.array([[100.0, 120.0, 25.0, 12.0, 0.4], [30.5, 250.0, 70.0, 15.0, -1.2]], np.float32)
    labels, t = match(boxes, pri)
    pos = np.nonzero(labels)[0]
    assert pos.size >= 2
    dec = decode_torch(torch.from_numpy(t[pos])[None], torch.from_numpy(pri[pos]))[0].numpy()
    for d in dec:
        b = boxes[np.argmin(np.hypot(boxes[:, 0] - d[0], boxes[:, 1] - d[1]))]
        np.testing.assert_allclose(d, b, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(encode(boxes[:1], pri[pos[:1]])[0, 4:], [np.cos(0.8), np.sin(0.8)], rtol=1e-6)


def test_onnx_runtime_needs_no_torch(random_model):
    code = ("import sys, numpy as np; from grasp_core.shapes.detector import SSDGraspDetector; "
            f"d = SSDGraspDetector({str(random_model)!r}); "
            "det = d.detect(np.full((480, 640), 0.7, np.float32), quality_threshold=0.0, top_k=3); "
            "assert len(det.grasps) == 3 and 'torch' not in sys.modules, sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_errors_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "grasp_core.cli.shapes", "--model", str(tmp_path / "none.json")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("grasp-shapes-experiments: error:") and r.stderr.count("\n") == 1


def test_trained_model_detects_grasps_on_unseen_scenes():
    from grasp_core.model_card import ModelCardError
    from grasp_core.shapes.data import render_shapes
    from grasp_core.shapes.detector import SSDGraspDetector

    try:
        det = SSDGraspDetector("ssd_shapes")
    except ModelCardError as exc:
        pytest.skip(f"no trained ssd_shapes model: {exc}")
    on_object = total = 0
    for k in range(6):
        im = render_shapes(["cylinder", "L", "star", "T"], np.random.default_rng([4242, k]))
        d = det.detect(im.depth, top_k=4, min_distance_px=10, quality_threshold=0.3)
        for g in d.grasps:
            total += 1
            on_object += bool(im.mask[int(round(g.v)), int(round(g.u))])
    assert total >= 12 and on_object / total > 0.8


def test_shapes_train_cli_rejects_bad_widths(capsys):
    from grasp_core.cli.shapes import train_main

    assert train_main(["--widths", "8,8,16"]) == 2
    assert "--widths needs 10 positive integers" in capsys.readouterr().err
    assert train_main(["--widths", "8,8,16,16,24,24,24,32,32,x"]) == 2


def _plate(size=300):
    """A height map (normalised units) with an L-shaped object and a separate block."""
    h = np.zeros((size, size), np.float32)
    h[100:180, 110:130] = 1.0      # the L's stem
    h[160:180, 130:170] = 1.0      # its foot
    h[40:60, 220:260] = 0.6        # another object
    return h


def test_object_crops_follow_the_object_not_the_point_or_the_turn():
    from grasp_core.shapes.roi import object_crops, object_region

    h = _plate()
    m = object_region(h, 120, 140)
    assert m is not None and m[170, 150] and not m[50, 240]  # the whole L, not the block
    assert object_region(h, 20, 20) is None
    assert object_region(h, 120, -60) is None and object_region(h, 400, 140) is None  # off the image
    a, b = object_crops(h, np.array([[120.0, 140.0], [150.0, 170.0]]))  # two points on the L: one vector
    np.testing.assert_allclose(a, b, atol=1e-5)
    alone = h.copy()
    alone[40:60, 220:260] = 0
    np.testing.assert_allclose(object_crops(alone, np.array([[120.0, 140.0]]))[0], a, atol=1e-5)
    # the image turned by 90 deg: the same object, the same vector (up to resampling)
    turned = np.rot90(h).copy()      # (r, c) -> (size - 1 - c, r)
    t = object_crops(turned, np.array([[140.0, 299 - 120.0]]))[0]
    assert np.corrcoef(a, t)[0, 1] > 0.95
    assert not object_crops(h, np.array([[20.0, 20.0]])).any()  # nothing under the point: zeros
    np.testing.assert_allclose(object_crops(h[:240], np.array([[120.0, 140.0]]))[0], a, atol=1e-5)  # not square


def test_touching_objects_of_different_heights_are_two_regions():
    from grasp_core.shapes.roi import object_region

    h = _plate()
    h[100:158, 130:150] = 0.5  # a lower block pressed against the L's stem and foot
    m = object_region(h, 120, 120)
    assert m[120, 115] and not m[120, 140] and m[170, 150]  # the L alone, its foot included
    b = object_region(h, 140, 120)
    assert b[120, 140] and not b[120, 115] and not b[170, 150]
    assert abs(int(m.sum()) - 80 * 20 - 20 * 40) <= 40  # the L's full silhouette, edge pixels included


def test_object_silhouettes_invariant_to_turn_shift_and_mirror_of_the_image():
    import cv2
    from grasp_core.shapes.roi import object_silhouettes

    h = _plate()
    a = object_silhouettes(h, np.array([[120.0, 140.0], [150.0, 170.0]]))
    np.testing.assert_allclose(a[0], a[1], atol=1e-6)  # one vector per object, whichever point of it
    assert np.linalg.norm(a[0]) == pytest.approx(1.0, abs=1e-5)
    rot = cv2.getRotationMatrix2D((149.5, 149.5), 37.0, 1.0)  # turned by 37 deg about the centre ...
    rot[:, 2] += (25.0, -15.0)                                  # ... and shifted
    moved = cv2.warpAffine(h, rot, (300, 300), flags=cv2.INTER_NEAREST)
    p = rot @ np.array([120.0, 140.0, 1.0])
    t = object_silhouettes(moved, p[None])[0]
    assert float(a[0] @ t) > 0.995  # cosine similarity (both L2-normalised)
    mirrored = object_silhouettes(h[:, ::-1].copy(), np.array([[299 - 120.0, 140.0]]))[0]
    assert float(a[0] @ mirrored) > 0.995
    block = object_silhouettes(h, np.array([[240.0, 50.0]]))[0]  # another shape: another vector
    assert float(a[0] @ block) < float(a[0] @ t) - 0.01
    assert not object_silhouettes(h, np.array([[20.0, 20.0]])).any()  # nothing under the point: zeros


@pytest.mark.parametrize("variant", ["object_depth", "object_shape"])
def test_object_variants_learn_shapes_from_a_support_folder(tmp_path, variant):
    from grasp_core.layout import repository_file
    from grasp_core.shapes.data import render_shapes
    from grasp_core.shapes.support import ShapeClassifier, write_support_folder

    if not repository_file("models/ssd_shapes.json").is_file():
        pytest.skip("models/ssd_shapes not shipped")
    folder = write_support_folder(tmp_path / "support", ("L", "star", "cylinder"), 10, seed=3)
    clf = ShapeClassifier("ssd_shapes", pca_dims=10, variant=variant)
    rep = clf.fit_folder(folder)
    assert sorted(rep.labels) == ["L", "cylinder", "star"]
    assert rep.selected_layer == "crop" and rep.n_images >= 27
    right = n = 0
    for k in range(12):  # new scenes, one object each, classified at its labelled grasp centres
        shape = ("L", "star", "cylinder")[k % 3]
        im = render_shapes([shape], np.random.default_rng([77, k]))
        labels, conf = clf.classify(im.depth, im.boxes[:3, :2])
        right += sum(lab == shape for lab in labels)
        n += len(labels)
        assert all(0.0 <= c <= 1.0 for c in conf)
    assert right / n >= 0.8, (right, n)  # object_depth 30 / 32, object_shape 32 / 32 here; chance 1/3
    clf.save(tmp_path / "state")
    other = ShapeClassifier("ssd_shapes", pca_dims=10, variant="refined_roi")  # refuses the other variant's state
    with pytest.raises(FewShotError, match=variant):
        other.load(tmp_path / "state")
    meta = json.loads((tmp_path / "state.json").read_text())
    assert meta["features"]  # what the vectors were computed with, beyond the variant's name
    clf.load(tmp_path / "state")
    meta["features"] = "an older descriptor"
    (tmp_path / "state.json").write_text(json.dumps(meta))
    with pytest.raises(FewShotError, match="another definition"):  # e.g. after an upgrade: fit again
        clf.load(tmp_path / "state")
