"""Unusable models give one line, not a traceback: ModelCard / GraspDetector, grasp-detect, the detector node.

Specification: a truncated or non-ONNX model file, a card without ``input.size`` or with
fields of the wrong type, a card whose names or input size disagree with its network, a card
that is not a JSON object — each is a ``ModelCardError`` (a ValueError) with a one-line
message naming the file; ``grasp-detect`` exits 2 and the detector node exits 2, each with
one ``<prog>: error: ...`` line on stderr and no traceback.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import build_tiny_model, wait_for
from grasp_core.inference import GraspDetector
from grasp_core.model_card import ModelCardError, load_card, write_card

pytest.importorskip("onnx")


def _card(tmp_path, edit=None, truncate: bool = False):
    card = build_tiny_model(tmp_path / "m")
    onnx_path = card.with_suffix(".onnx")
    if truncate:
        raw = onnx_path.read_bytes()
        onnx_path.write_bytes(raw[: len(raw) // 3])
        data = json.loads(card.read_text())
        write_card(onnx_path, data)  # a card that matches the truncated file: ONNX Runtime must say it
    if edit is not None:
        data = json.loads(card.read_text())
        edit(data)
        card.write_text(json.dumps(data))
    return card


def _no_size(d):
    del d["input"]["size"]


BAD = {
    "truncated_onnx": dict(truncate=True, match="ONNX Runtime cannot load"),
    "no_input_size": dict(edit=_no_size, match="input.size"),
    "size_is_a_string": dict(edit=lambda d: d["input"].__setitem__("size", "64"), match="input.size"),
    "size_disagrees_with_network": dict(edit=lambda d: d["input"].__setitem__("size", 96), match="input"),
    "input_is_a_list": dict(edit=lambda d: d.__setitem__("input", [1, 2]), match="input must be an object"),
    "unknown_output": dict(edit=lambda d: d["outputs"].__setitem__("cos", "cosine"), match="no output 'cosine'"),
    "missing_output": dict(edit=lambda d: d["outputs"].pop("width"), match="outputs lacks width"),
    "bad_modality": dict(edit=lambda d: d["input"].__setitem__("modality", "thermal"), match="input.modality"),
    "bad_width_scale": dict(edit=lambda d: d["decoding"].__setitem__("width_scale_px", -1), match="width_scale_px"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_model_is_one_line_model_card_error(tmp_path, case):
    spec = dict(BAD[case])
    match = spec.pop("match")
    card = _card(tmp_path, **spec)
    with pytest.raises(ModelCardError, match=match) as info:
        GraspDetector(str(card), verify=False)
    assert "\n" not in str(info.value)


def test_card_that_is_not_an_object(tmp_path):
    card = _card(tmp_path)
    card.write_text("[1, 2, 3]")
    with pytest.raises(ModelCardError, match="JSON object"):
        load_card(card)


def test_valid_tiny_model_still_loads(tmp_path):
    det = GraspDetector(str(_card(tmp_path)))
    depth = np.full((120, 160), 0.7, np.float32)
    assert det.detect(depth, top_k=2, quality_threshold=0.0).maps.quality.shape == (64, 64)


@pytest.mark.parametrize("case", ["truncated_onnx", "no_input_size"])
def test_grasp_detect_exits_2_with_one_line(tmp_path, case):
    spec = dict(BAD[case])
    spec.pop("match")
    card = _card(tmp_path, **spec)
    frames = tmp_path / "frames"
    frames.mkdir()
    np.save(frames / "f_depth.npy", np.full((120, 160), 0.7, np.float32))
    out = subprocess.run([sys.executable, "-m", "grasp_core.cli.detect", "--model", str(card), "--input",
                          str(frames), "--output", str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grasp-detect: error:"), out.stderr


@pytest.mark.ros
@pytest.mark.parametrize("case", ["truncated_onnx", "no_input_size"])
def test_detector_node_exits_2_with_one_line(spawn_node, tmp_path, case):
    spec = dict(BAD[case])
    spec.pop("match")
    card = _card(tmp_path, **spec)
    node = spawn_node("grasp_detector.detector_node", ["-p", f"model:={card}", "-p", "onnx_generative.verify:=false"])
    assert wait_for(lambda: not node.alive(), 60.0), node.stderr()
    assert node.proc.returncode == 2, node.stderr()
    log = node.stderr()
    errors = [line for line in log.splitlines() if line.startswith("grasp_detector: error:")]
    assert len(errors) == 1 and "Traceback" not in log, log


@pytest.mark.ros
def test_run_sh_dir_exits_2_with_one_line_on_a_truncated_model(ros_env, domain_id, tmp_path):
    spec = dict(BAD["truncated_onnx"])
    spec.pop("match")
    card = _card(tmp_path, **spec)
    frames = tmp_path / "frames"
    frames.mkdir()
    np.save(frames / "f_depth.npy", np.full((120, 160), 0.7, np.float32))
    out = subprocess.run([sys.executable, "-m", "grasp_bringup.main", str(frames), "--model", str(card),
                          "--output", str(tmp_path / "out")], env=dict(ros_env, ROS_DOMAIN_ID=str(domain_id)),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("grasp_run: error:")]
    assert len(errors) == 1 and "ONNX Runtime cannot load" in errors[0] and "Traceback" not in out.stderr, out.stderr
