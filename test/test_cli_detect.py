"""grasp-detect: the offline CLI on generated and real depth frames."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from grasp_core.camera import CameraIntrinsics
from grasp_core.model_card import DEFAULT_MODEL as _DEFAULT
from grasp_core.model_card import ModelCardError, load_card

DEFAULT_MODEL = os.environ.get("GRASP_TEST_MODEL", _DEFAULT)
ROOT = Path(__file__).resolve().parents[1]
CORNELL = ROOT.parent / "shared" / "data" / "cornell_samples_unlabeled" / "01"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "grasp_core.cli.detect", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())


def default_model_or_skip():
    try:
        load_card(DEFAULT_MODEL)
    except ModelCardError as exc:
        pytest.skip(f"default model not available: {exc}")


def box_scene(h=480, w=640, table=0.70, box=((300, 220), (60, 140), 0.05)):
    """A flat table at `table` m with a box (centre (u, v), size (w, h) px, height m)."""
    d = np.full((h, w), table, np.float32)
    (u, v), (bw, bh), height = box
    d[v - bh // 2: v + bh // 2, u - bw // 2: u + bw // 2] = table - height
    return d


def test_cli_on_generated_frames_writes_consistent_candidates(tmp_path):
    default_model_or_skip()
    frames = tmp_path / "frames"
    frames.mkdir()
    np.save(frames / "a.npy", box_scene())
    mm = (box_scene(box=((350, 260), (140, 50), 0.04)) * 1000).astype(np.uint16)
    mm[:20, :20] = 0  # a hole
    import cv2
    cv2.imwrite(str(frames / "b.png"), mm)
    cv2.imwrite(str(frames / "colour.png"), np.zeros((480, 640, 3), np.uint8))  # 8-bit: not depth, skipped
    intr = CameraIntrinsics.default_for(640, 480)
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(intr.to_yaml_dict()))
    out = tmp_path / "out"
    r = run_cli("--model", DEFAULT_MODEL, "--input", frames, "--output", out,
                "--intrinsics", tmp_path / "cam.yaml", "--top-k", 3)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert {r["frame"] for r in recs} == {"a.npy", "b.png"}
    assert (out / "a_grasps.png").is_file() and (out / "b_grasps.png").is_file()
    for rec in recs:
        assert 0 <= rec["u"] < 640 and 0 <= rec["v"] < 480
        assert 0.0 <= rec["quality"] <= 1.0
        assert -np.pi / 2 <= rec["angle"] <= np.pi / 2
        assert rec["depth"] == pytest.approx(rec["position"][2], abs=1e-3)
        assert rec["opening"] == pytest.approx(rec["width_px"] * rec["depth"] / intr.fx, rel=0.05)
    # the best grasp of each frame is on the box, not on the table
    best = {r["frame"]: r for r in recs if r["rank"] == 0}
    assert abs(best["a.npy"]["u"] - 300) < 35 and abs(best["a.npy"]["v"] - 220) < 75
    assert abs(best["b.png"]["u"] - 350) < 75 and abs(best["b.png"]["v"] - 260) < 30


def test_cli_bad_input_exits_non_zero_with_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_cli("--input", tmp_path / "empty", "--output", tmp_path / "out", "--model", DEFAULT_MODEL)
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "no depth frames" in r.stderr
    (tmp_path / "frames").mkdir()
    np.save(tmp_path / "frames" / "a.npy", box_scene())
    r = run_cli("--input", tmp_path / "frames", "--output", tmp_path / "out", "--model", "no_such_model")
    assert r.returncode != 0 and "no_such_model" in r.stderr
    np.save(tmp_path / "frames" / "a.npy", np.full((480, 640), np.nan, np.float32))  # all holes
    r = run_cli("--input", tmp_path / "frames", "--output", tmp_path / "out", "--model", DEFAULT_MODEL)
    assert r.returncode != 0 and "no valid pixel" in r.stderr


@pytest.mark.skipif(not CORNELL.is_dir(), reason="../shared/data/cornell_samples_unlabeled absent")
def test_top_grasp_lands_on_the_remote_in_real_cornell_frames(tmp_path):
    """Real Kinect-era frames: a TV remote on a white board (vertical in pcd0100, horizontal in pcd0101)."""
    default_model_or_skip()
    r = run_cli("--model", DEFAULT_MODEL, "--input", CORNELL, "--output", tmp_path, "--top-k", 1)
    assert r.returncode == 0, r.stderr
    best = {json.loads(line)["frame"]: json.loads(line) for line in (tmp_path / "candidates.jsonl").open()}
    # remote bounding boxes read off the colour images (px): (u0, u1, v0, v1)
    remote = {"pcd0100d.tiff": (262, 306, 250, 360), "pcd0101d.tiff": (212, 342, 268, 320)}
    for frame, (u0, u1, v0, v1) in remote.items():
        g = best[frame]
        assert u0 <= g["u"] <= u1 and v0 <= g["v"] <= v1, (frame, g)
