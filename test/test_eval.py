"""Rectangle IoU on known polygons, the stricter metric variants, and ``grasp-eval`` on both layouts."""
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from grasp_core.evaluate import metric_variants, rectangle_accuracy
from grasp_core.grasp import Grasp, rectangle_iou

ROOT = Path(__file__).resolve().parents[1]


def test_iou_of_shifted_rectangles():
    a = Grasp(0.0, 0.0, 0.0, 4.0, 2.0)  # 4 × 2, area 8
    b = Grasp(2.0, 0.0, 0.0, 4.0, 2.0)  # shifted by half its width: overlap 2 × 2 = 4
    assert rectangle_iou(a, b) == pytest.approx(4 / (8 + 8 - 4))
    assert rectangle_iou(a, a) == pytest.approx(1.0)
    assert rectangle_iou(a, Grasp(10.0, 0.0, 0.0, 4.0, 2.0)) == 0.0


def test_iou_of_square_and_its_45_degree_rotation():
    # the intersection is a regular octagon of area 2a²(√2 − 1) for side a = 2
    a = Grasp(5.0, 5.0, 0.0, 2.0, 2.0)
    b = Grasp(5.0, 5.0, math.pi / 4, 2.0, 2.0)
    inter = 8 * (math.sqrt(2) - 1)
    assert rectangle_iou(a, b) == pytest.approx(inter / (8 - inter), rel=1e-5)  # = 1/√2


def test_iou_of_perpendicular_rectangles_is_symmetric():
    a = Grasp(0.0, 0.0, 0.0, 6.0, 2.0)
    b = Grasp(0.0, 0.0, math.pi / 2, 6.0, 2.0)  # a cross: overlap 2 × 2
    assert rectangle_iou(a, b) == pytest.approx(4 / (12 + 12 - 4))
    assert rectangle_iou(b, a) == pytest.approx(rectangle_iou(a, b))


def test_metric_variants_on_hand_built_predictions():
    gt = Grasp(50.0, 50.0, 0.0, 20.0, 20.0)
    rotated = Grasp(50.0, 50.0, math.radians(12), 20.0, 20.0)  # IoU ≈ 0.83, |ΔΦ| = 12°
    shifted = Grasp(60.3, 50.0, 0.0, 20.0, 20.0)  # IoU = 9.7/30.3 = 0.320, |ΔΦ| = 0
    assert rectangle_iou(shifted, gt) == pytest.approx(9.7 / 30.3, rel=1e-4)
    v = metric_variants([rotated, shifted], [[gt], [gt]])
    assert v == pytest.approx({"angle<30": 1.0, "angle<25": 1.0, "angle<20": 1.0, "angle<15": 1.0,
                               "angle<10": 0.5, "angle<5": 0.5, "iou>25": 1.0, "iou>30": 1.0, "iou>35": 0.5})
    assert v["angle<30"] == rectangle_accuracy([rotated, shifted], [[gt], [gt]])
    # the angle is compared modulo π: 178° from the label is 2° off
    assert metric_variants([Grasp(50.0, 50.0, math.radians(178), 20.0, 20.0)], [[gt]])["angle<5"] == 1.0
    with pytest.raises(ValueError):
        metric_variants([], [])


def _scene(k: int):
    """A 480×640 frame: a 0.05 m box on a 1 m table, its grasp across it; box position varies with k."""
    depth = np.full((480, 640), 1.0, np.float32)
    rgb = np.full((480, 640, 3), 120, np.uint8)
    cx, cy = 300 + 10 * k, 230 + 5 * k
    depth[cy - 20:cy + 20, cx - 60:cx + 60] = 0.95
    rgb[cy - 20:cy + 20, cx - 60:cx + 60] = (200, 40, 40)
    return depth, rgb, [Grasp(float(cx), float(cy), math.pi / 2, 60.0, 25.0),
                        Grasp(float(cx) - 30, float(cy), math.pi / 2 + 0.1, 60.0, 25.0)]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "grasp_core.cli.eval", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_grasp_eval_same_result_on_jacquard_and_cornell_layouts(tmp_path):
    pytest.importorskip("onnxruntime")
    if not (ROOT / "models" / "ggcnn2_synth.json").is_file():
        pytest.skip("default model not built")
    from grasp_core.datasets import write_cornell_cpos, write_jacquard_image

    jac, cor = tmp_path / "jacquard", tmp_path / "cornell"
    cor.mkdir()
    for k in range(3):
        depth, rgb, grasps = _scene(k)
        write_jacquard_image(jac, f"{k:06d}_0", depth, depth, rgb, (depth < 0.99).astype(np.uint8), grasps)
        cv2.imwrite(str(cor / f"pcd{k:04d}d.tiff"), depth)
        cv2.imwrite(str(cor / f"pcd{k:04d}r.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        write_cornell_cpos(cor / f"pcd{k:04d}cpos.txt", grasps)
    out_j, out_c = _run("--dataset", str(jac)), _run("--dataset", str(cor))
    assert out_j.returncode == 0 and out_c.returncode == 0, out_j.stderr + out_c.stderr
    last_j, last_c = out_j.stdout.strip().splitlines()[-1], out_c.stdout.strip().splitlines()[-1]
    assert last_j.startswith("accuracy=") and last_j.endswith(" n=3")
    assert last_j == last_c  # both readers give the same rectangles, angles included
    assert "cornell layout" in out_c.stdout and "angle<5" in out_c.stdout
    # --split test keeps the scenes with scene % 10 == 9 only: none here
    bad = _run("--dataset", str(jac), "--split", "test")
    assert bad.returncode == 2 and bad.stderr.strip() == "grasp-eval: error: no image in split 'test'"


def test_grasp_eval_errors_are_one_line(tmp_path):
    for args in (["--dataset", str(tmp_path / "missing")], ["--dataset", str(tmp_path)]):
        r = _run(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
        assert r.stderr.startswith("grasp-eval: error: ")
    (tmp_path / "000000_0_grasps.txt").write_text("1;2;3;4;5\n")
    r = _run("--dataset", str(tmp_path), "--model", str(tmp_path / "nope.json"))
    assert r.returncode == 2 and r.stderr.startswith("grasp-eval: error: no model card")


def test_scene_of_keeps_every_view_of_a_scene_together():
    from grasp_core.evaluate import scene_of

    assert scene_of("000123_2") == 123 and scene_of("pcd0109") == 109
    # real Jacquard: <object>/<view>_<object>: the object folder is the scene
    assert scene_of("1a2b3c/0_1a2b3c") == scene_of("1a2b3c/4_1a2b3c") != scene_of("9f8e7d/0_9f8e7d")
