"""The detector's ONNX Runtime execution provider (issue 21, GPU path) and its fallback to the CPU.

Specification (:func:`grasp_core.model_card.execution_providers`, the ONNX detector plugins'
``<name>.execution_provider`` parameter, ``config/grasp.yaml``): ``cpu`` | ``cuda`` | ``tensorrt``
map to ONNX Runtime's providers with the CPU last; a provider this ONNX Runtime lacks is dropped
with one warning line, and the detector still runs (on the CPU here, where onnxruntime has no CUDA);
an unknown choice is a ValueError (the node: exit 2 with one line). Nothing here needs a GPU.
"""
from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from grasp_core.camera import CameraIntrinsics  # noqa: E402
from grasp_core.model_card import execution_providers, load_card, provider_fallback  # noqa: E402

GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def _frame():
    from grasp_bringup.synthetic import table_scene

    intr = CameraIntrinsics.default_for(640, 480)
    return table_scene(intr, seed=3), intr


def test_choices_map_to_providers_with_the_cpu_last():
    assert execution_providers("cpu") == (["CPUExecutionProvider"], "")
    assert execution_providers("cuda", GPU) == (GPU[1:], "")
    assert execution_providers("TensorRT", GPU) == (GPU, "")
    providers, warning = execution_providers("tensorrt", GPU[1:])  # a CUDA build without TensorRT
    assert providers == GPU[1:]
    assert "TensorrtExecutionProvider is not available" in warning
    assert "falling back to CUDAExecutionProvider" in warning
    assert "\n" not in warning
    with pytest.raises(ValueError, match="cpu, cuda, tensorrt"):
        execution_providers("rocm")


@pytest.mark.skipif(HAS_CUDA, reason="this ONNX Runtime has CUDA: there is nothing to fall back from")
def test_cuda_here_falls_back_to_the_cpu_with_one_warning_and_still_detects():
    from grasp_core.inference import GraspDetector

    providers, warning = execution_providers("cuda")
    assert providers == ["CPUExecutionProvider"]
    assert warning.startswith("execution_provider cuda: CUDAExecutionProvider is not available in this ONNX Runtime")
    assert "falling back to CPUExecutionProvider" in warning and "\n" not in warning
    det = GraspDetector("ggcnn2_synth", providers=providers)
    assert det.session.get_providers() == ["CPUExecutionProvider"] and provider_fallback(det.session, providers) == ""
    depth, intr = _frame()
    ref = GraspDetector("ggcnn2_synth").detect(depth, intrinsics=intr, top_k=3)
    d = det.detect(depth, intrinsics=intr, top_k=3)
    assert d.grasps and [(g.u, g.v) for g in d.grasps] == [(g.u, g.v) for g in ref.grasps]


@pytest.mark.skipif(HAS_CUDA, reason="this ONNX Runtime has CUDA")
def test_a_session_that_did_not_start_the_wanted_provider_is_reported():
    """ONNX Runtime itself drops a provider it cannot start (here: one it lacks) and runs on the next."""
    card = load_card("ggcnn2_synth")
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    with pytest.warns(UserWarning, match="CUDAExecutionProvider"):
        session = ort.InferenceSession(str(card.model_file), opts, providers=GPU[1:])
    assert session.get_providers() == ["CPUExecutionProvider"]
    msg = provider_fallback(session, GPU[1:])
    assert msg.startswith("ONNX Runtime could not start CUDAExecutionProvider") and "CPUExecutionProvider" in msg


@pytest.mark.skipif(HAS_CUDA, reason="this ONNX Runtime has CUDA")
def test_detector_node_with_execution_provider_cuda_warns_once_and_detects(capfd):
    rclpy = pytest.importorskip("rclpy")
    pytest.importorskip("grasp_interfaces.msg")
    from grasp_detector.detector_node import DetectorNode
    from rclpy.parameter import Parameter

    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=98)
    try:
        node = DetectorNode(context=ctx, parameter_overrides=[
            Parameter("onnx_generative.execution_provider", value="cuda")])
        try:
            plugin = node.detector
            assert plugin.providers == ["CPUExecutionProvider"]
            depth, intr = _frame()
            d = plugin.detect(depth, None, intr, 3, 20.0, 0.1)
            assert len(d.grasps) >= 1 and np.isfinite(d.grasps[0].quality)
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if "execution_provider cuda" in ln]
    assert len(lines) == 1 and "falling back to CPUExecutionProvider" in lines[0], err[-2000:]


def test_detector_node_refuses_an_unknown_provider():
    rclpy = pytest.importorskip("rclpy")
    pytest.importorskip("grasp_interfaces.msg")
    from grasp_detector.detector_node import DetectorNode
    from rclpy.parameter import Parameter

    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=98)
    try:
        with pytest.raises(ValueError, match="execution_provider must be one of cpu, cuda, tensorrt"):
            DetectorNode(context=ctx, parameter_overrides=[Parameter("onnx_generative.execution_provider",
                                                                     value="rocm")])
    finally:
        rclpy.try_shutdown(context=ctx)
