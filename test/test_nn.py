"""GG-CNN / GG-CNN2 networks, ONNX export parity, decoding."""
import json
import math

import numpy as np
import pytest
from grasp_core.evaluate import rectangle_accuracy, top_grasp
from grasp_core.grasp import Grasp


@pytest.mark.parametrize("arch,size", [("ggcnn", 96), ("ggcnn2", 96), ("ggcnn", 100), ("ggcnn2", 102)])
def test_output_shapes(arch, size):
    torch = pytest.importorskip("torch")
    from grasp_core.nn.ggcnn import build

    net = build(arch).eval()
    with torch.no_grad():
        out = net(torch.zeros(2, 1, size, size))
    assert len(out) == 4
    assert all(tuple(o.shape) == (2, 1, size, size) for o in out)


def test_unknown_architecture():
    pytest.importorskip("torch")
    from grasp_core.nn.ggcnn import build

    with pytest.raises(ValueError):
        build("resnet")


def test_onnx_parity_and_card(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from grasp_core.model_card import load_card, write_card
    from grasp_core.nn.export import export_onnx, model_card
    from grasp_core.nn.ggcnn import GGCNN2

    torch.manual_seed(0)
    net = GGCNN2().eval()
    path = export_onnx(net, tmp_path / "g2.onnx", 96)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["depth"]
    assert [o.name for o in sess.get_outputs()] == ["pos", "cos", "sin", "width"]
    x = np.random.default_rng(0).uniform(-0.2, 0.2, (3, 1, 96, 96)).astype(np.float32)  # batch 3: dynamic
    got = sess.run(None, {"depth": x})
    with torch.no_grad():
        want = [o.numpy() for o in net(torch.from_numpy(x))]
    for g, w in zip(got, want, strict=True):
        assert g.shape == (3, 1, 96, 96)
        np.testing.assert_allclose(g, w, atol=1e-4, rtol=1e-3)
    # fine-tuning starts from the exported file itself: its initializers are the module's parameters
    from grasp_core.nn.train import load_init

    again = GGCNN2().eval()
    again.load_state_dict(load_init(str(path)))
    with torch.no_grad():
        for a, w in zip(again(torch.from_numpy(x)), want, strict=True):
            np.testing.assert_allclose(a.numpy(), w, atol=1e-6)
    card_path = write_card(path, model_card("g2", "ggcnn2", 96))
    card = load_card(card_path)
    card.verify()
    assert card.input_size == 96 and card.crop_size == 300
    assert card.data["decoding"]["width_scale_px"] == 150.0
    assert path.stat().st_size < 2_000_000


def test_top_grasp_decoding():
    pos = np.zeros((50, 60), np.float32)
    pos[20:25, 30:35] = 1.0
    ang = math.radians(30)
    cos = np.full_like(pos, math.cos(2 * ang))
    sin = np.full_like(pos, math.sin(2 * ang))
    width = np.full_like(pos, 20 / 150)
    g = top_grasp(pos, cos, sin, width)
    assert (g.u, g.v) == (32.0, 22.0)
    assert abs(g.angle - ang) < 1e-5 and abs(g.width_px - 20) < 1e-3 and abs(g.length_px - 10) < 1e-3
    gt = Grasp(32, 22, ang, 20, 10)
    assert rectangle_accuracy([g, Grasp(5, 5, 0, 10, 5)], [[gt], [gt]]) == 0.5


def test_shipped_ggcnn2_finds_the_remote_on_real_cornell_frames():
    """The shipped model's top grasp lies on the remote, across it (real Cornell pcd0100/0101).

    Run through the detector (:class:`grasp_core.inference.GraspDetector`). Remote
    extents measured in the depth frames (quadric-fit residual < −1 cm):
    pcd0100 vertical, x 267-303, y 254-323; pcd0101 horizontal, x 214-314, y 279-305.
    """
    pytest.importorskip("onnxruntime")
    from pathlib import Path

    from grasp_core.datasets import read_cornell
    from grasp_core.grasp import angle_difference

    root = Path(__file__).resolve().parents[1]
    data = root.parent / "shared" / "data" / "cornell_samples_unlabeled" / "01"
    card = root / "models" / "ggcnn2_synth.json"
    if not data.is_dir():
        pytest.skip(f"real Cornell frames absent ({data})")
    if not card.is_file():
        pytest.skip("models/ggcnn2_synth.json not built yet")
    from grasp_core.inference import GraspDetector

    det = GraspDetector(str(card))
    boxes = {100: ((262, 308, 249, 328), 0.0), 101: ((209, 319, 274, 310), math.pi / 2)}
    for n, ((x0, x1, y0, y1), across) in boxes.items():
        depth, _, _ = read_cornell(data, n)
        g = det.detect(depth, top_k=1).grasps[0]
        assert x0 <= g.u <= x1 and y0 <= g.v <= y1, f"pcd0{n}: top grasp ({g.u:.0f}, {g.v:.0f}) off the remote"
        assert angle_difference(g.angle, across) < math.radians(30), f"pcd0{n}: angle {math.degrees(g.angle):.0f}°"


def _project_model_cards():
    from pathlib import Path

    models = Path(__file__).resolve().parents[1] / "models"
    cards = {p.stem: json.loads(p.read_text()) for p in models.glob("*.json")}
    return sorted(n for n, c in cards.items()  # grasp networks only (not the robustness classifier's card)
                  if c.get("format") == "grasp_model_card/1"
                  and c.get("decoding", {}).get("type", "generative") == "generative")


@pytest.mark.parametrize("name", _project_model_cards())
def test_every_shipped_model_finds_grasps_on_objects_of_unseen_scenes(name):
    """Each generative model in models/ (depth or RGB) loads by name, passes its sha256 check and puts its top
    grasp on an object in physics-validated scenes of seeds no training set used (50000+)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("mujoco")
    from grasp_core.inference import GraspDetector
    from grasp_core.synth.generate import render_scene

    det = GraspDetector(name)
    on_object = 0
    for seed in (50000, 50001, 50002):
        (view,), _ = render_scene(seed, 1, physics=True, trials_per_object=1)
        d = det.detect(view["noisy"], view["rgb"] if det.needs_rgb else None, top_k=1)
        assert d.grasps, f"{name}: no grasp in scene {seed}"
        g = d.grasps[0]
        on_object += int(view["mask"][int(round(g.v)), int(round(g.u))] > 0)
    assert on_object >= 2, f"{name}: top grasp on an object in {on_object}/3 scenes"
