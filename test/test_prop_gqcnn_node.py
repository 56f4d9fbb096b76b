"""The Prop+GQ-CNN detector plugin in the detector node, a separate OS process, on replayed frames."""
from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")
pytest.importorskip("onnxruntime")

from conftest import ProbeNode, wait_for  # noqa: E402
from grasp_bridge.qos import result_qos  # noqa: E402
from grasp_bringup.synthetic import write_frames  # noqa: E402

from grasp_interfaces.msg import GraspCandidateArray  # noqa: E402

pytestmark = pytest.mark.ros


def test_prop_gqcnn_plugin_publishes_ranked_robust_grasps(repo_root, spawn_node, domain_id, tmp_path):
    if not (repo_root / "models" / "gqcnn_synth.json").is_file():
        pytest.skip("models/gqcnn_synth.json not shipped")
    probe = ProbeNode(domain_id, "probe")
    got: list[GraspCandidateArray] = []
    probe.node.create_subscription(GraspCandidateArray, "/grasp_candidates", got.append, result_qos())
    try:
        info = write_frames(tmp_path / "frames", n=2, width=640, height=480, seed=3)
        camera = spawn_node("grasp_camera.camera_node", [
            "--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "source:=replay",
            "-p", f"replay.folder:={tmp_path / 'frames'}", "-p", f"replay.intrinsics:={info}",
            "-p", "replay.rate_hz:=2.0", "-p", "replay.loop:=true"])
        detector = spawn_node("grasp_detector.detector_node", [
            "--params-file", str(repo_root / "config" / "grasp.yaml"),
            "-p", "detector:=grasp_detector.detectors:PropGQCNNDetector", "-p", "model:=gqcnn_synth",
            "-p", "quality_threshold:=0.0", "-p", "publish_annotated:=false"])
        ok = wait_for(lambda: any(m.candidates for m in got), 60.0, spin=probe.spin)
        assert ok, f"no candidates\ncamera:\n{camera.stderr()}\ndetector:\n{detector.stderr()}"
        msg = next(m for m in got if m.candidates)
        q = [c.quality for c in msg.candidates]
        assert q == sorted(q, reverse=True) and all(0.0 <= x <= 1.0 for x in q)
        assert all(c.model_id == "prop_gqcnn_synth" for c in msg.candidates)
        assert all(0 <= c.center_u < 640 and 0 <= c.center_v < 480 and c.pose_valid for c in msg.candidates)
        assert 0.55 < msg.candidates[0].depth < 0.75  # on the generated table scene (table at 0.7 m)
    finally:
        probe.close()


def test_the_sampling_budget_is_read_from_parameters_and_a_bad_one_refused(repo_root):
    """``prop_gqcnn.*`` (grasp_core.config.PropSamplingConfig) sets Prop+GQ-CNN's budget; its defaults are
    PropConfig's; n_candidates 0 is refused with one line naming the plugin. In-process node, the real plugin."""
    import dataclasses

    from grasp_bridge.plugins import configure_plugin
    from grasp_core.config import PropSamplingConfig
    from grasp_core.prop_gqcnn import PropConfig
    from grasp_detector.detectors import load_detector
    from rclpy.parameter import Parameter

    if not (repo_root / "models" / "gqcnn_synth.json").is_file():
        pytest.skip("models/gqcnn_synth.json not shipped")
    for f in dataclasses.fields(PropSamplingConfig):
        assert getattr(PropSamplingConfig(), f.name) == getattr(PropConfig(), f.name), f.name
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=97)
    try:
        node = rclpy.create_node("budget", context=ctx, parameter_overrides=[
            Parameter("prop_gqcnn.n_candidates", value=7), Parameter("prop_gqcnn.cem_iterations", value=0)])
        plugin = load_detector("prop_gqcnn")
        configure_plugin(plugin, node, "prop_gqcnn", "gqcnn_synth")
        assert (plugin.detector.cfg.n_candidates, plugin.detector.cfg.cem_iterations) == (7, 0)
        assert plugin.detector.cfg.cem_samples == PropConfig().cem_samples
        bad = rclpy.create_node("bad_budget", context=ctx, parameter_overrides=[
            Parameter("prop_gqcnn.n_candidates", value=0)])
        with pytest.raises(ValueError, match="prop_gqcnn: n_edges, n_candidates"):
            configure_plugin(load_detector("prop_gqcnn"), bad, "prop_gqcnn", "gqcnn_synth")
    finally:
        rclpy.try_shutdown(context=ctx)
