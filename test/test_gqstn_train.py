"""GQ-STN training (grasp_core.nn.gqstn_train, grasp-gqstn-train) on a tiny generated set: the ξ = 1 phase with
teacher forcing lowers L_loc; the CLI runs the whole schedule with both baselines and exports ONNX graphs that
match PyTorch, each intermediate image included."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = ROOT / "models" / "gqcnn_synth.onnx"


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """Four physics-validated scenes, two views each (grasp-dataset, seed 61000)."""
    out = tmp_path_factory.mktemp("gqstn") / "tiny"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    subprocess.run([sys.executable, "-m", "grasp_core.cli.dataset", "--output", str(out), "--scenes", "4",
                    "--views-per-scene", "2", "--seed", "61000", "--workers", "1", "--samples", "1"],
                   check=True, env=env, capture_output=True, timeout=300)
    return out


def test_teacher_forced_localisation_phase_lowers_l_loc(tiny_set, tmp_path):
    from grasp_core.nn.gqstn import GQSTNConfig, gqcnn_from_onnx
    from grasp_core.nn.gqstn_train import GQSTNTrainConfig, load_data, train_gqstn

    torch.set_num_threads(1)
    clf = gqcnn_from_onnx(CLASSIFIER)
    cfg = GQSTNTrainConfig(data=[str(tiny_set)], out_dir=str(tmp_path / "run"), steps=40, batch_size=8,
                           eval_every=0, heldout_mod=3, schedule=((1.0, 1.0, 3e-3, True),),
                           net=GQSTNConfig(rotation="signed", pose_mean=float(clf.pose_mean),
                                           pose_std=float(clf.pose_std)))
    data = load_data(cfg)
    tr, he, info = data
    assert info["train_targets"] > 20 and tr.x.shape[1:] == (1, 224, 224)
    # targets: centres within STN_trans's reach, scales near the training mean, metric depth input
    xy = np.array([[g.x, g.y] for t in tr.targets for g in t])
    assert np.abs(xy).max() < 0.5 and 0.3 < float(tr.x.mean()) < 1.5
    cfg.net.gamma = info["mean_scale"]
    _, summary = train_gqstn(cfg, data, clf)
    h = summary["history"]
    before, after = h[0]["train_loc_fixed"], h[-1]["train_loc_fixed"]
    assert after < 0.7 * before, (before, after)
    assert (Path(cfg.out_dir) / "gqstn.pt").is_file() and (Path(cfg.out_dir) / "gqstn_curves.png").is_file()


def test_cli_trains_the_schedule_and_baselines_and_exports_matching_onnx(tiny_set, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "cli"
    env = {**os.environ}
    # run from outside the checkout with the default --classifier (a card name, found on the model path)
    r = subprocess.run([sys.executable, "-m", "grasp_core.cli.gqstn", "--data", str(tiny_set), "--out", str(out),
                        "--steps", "12", "--baseline-steps", "6", "--eval-every", "0",
                        "--batch-size", "4", "--rotation", "signed", "--loc-pool", "4", "--export", str(out / "g.onnx"),
                        "--baselines", str(out / "base"), "--figures", str(out / "fig")],
                       env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    card = json.loads((out / "g.json").read_text())
    assert card["classifier"] == "gqcnn_synth"
    assert json.loads((out / "base" / "gqstn_direct.json").read_text())["classifier"] == "gqcnn_synth"
    assert card["decoding"]["type"] == "gqstn" and card["opset"] >= 16
    assert set(card["outputs"]) == {"trans_xy", "theta", "scale_z", "p_robust", "image_trans", "image_rot",
                                    "image_scale"}
    assert [s["xi"] for s in card["training_data"]["schedule"]] == [1.0, 0.5, 0.2, 0.0, 0.0]
    for f in ("g_training_curves.png", "g_direct_training_curves.png", "g_multigrasp_training_curves.png"):
        assert (out / "fig" / f).is_file()
    # ONNX Runtime ↔ PyTorch on the tiny set's own inputs, every output
    from grasp_core.model_card import sha256_file
    from grasp_core.nn.gqstn import GQSTN, OUTPUT_NAMES, GQSTNConfig, gqcnn_from_onnx
    from grasp_core.nn.gqstn_train import GQSTNTrainConfig, load_data

    assert sha256_file(out / "g.onnx") == card["sha256"]
    cfgn = GQSTNConfig.from_dict(card["gqstn"])
    net = GQSTN(cfgn, gqcnn_from_onnx(CLASSIFIER))
    net.load_state_dict(torch.load(out / "gqstn.pt"))
    net.eval()
    tr, _, _ = load_data(GQSTNTrainConfig(data=[str(tiny_set)], net=cfgn))
    x = tr.x[:3].numpy()
    sess = ort.InferenceSession(str(out / "g.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(list(OUTPUT_NAMES), {"depth": x})
    with torch.no_grad():
        want = [t.numpy() for t in net(torch.from_numpy(x))]
    for name, a, b in zip(OUTPUT_NAMES, got, want, strict=True):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, atol=1e-3, err_msg=name)  # m or rad: sub-mm
    for kind, out_name in (("direct", "grasp"), ("multigrasp", "grid")):
        c = json.loads((out / "base" / f"gqstn_{kind}.json").read_text())
        assert c["decoding"]["type"] == f"gqstn_{kind}" and out_name in c["outputs"]


def test_cli_refuses_an_unknown_classifier_in_one_line(tiny_set, tmp_path):
    r = subprocess.run([sys.executable, "-m", "grasp_core.cli.gqstn", "--data", str(tiny_set), "--out",
                        str(tmp_path / "o"), "--classifier", "no_such_classifier", "--steps", "2"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no robustness classifier card for 'no_such_classifier'" in lines[0], r.stderr
