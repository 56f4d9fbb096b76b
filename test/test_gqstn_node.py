"""The ``onnx_gqstn`` plugin (GQ-STN, models/gqstn_synth): the fallback chain runs Prop+GQ-CNN only when GQ-STN's
P(robust) is below the threshold; in the detector node run as a separate process it publishes GQ-STN's grasp
(quality = P(robust)), the three stage regions on ~/stages and the three intermediate images."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")

from conftest import FrameFeeder, ProbeNode, wait_for  # noqa: E402
from grasp_bridge.image import image_to_numpy  # noqa: E402
from grasp_bridge.qos import result_qos  # noqa: E402
from grasp_bridge.sync import stamp_key  # noqa: E402
from grasp_bringup.synthetic import table_scene  # noqa: E402
from grasp_core.camera import CameraIntrinsics  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from grasp_interfaces.msg import GraspCandidateArray  # noqa: E402

pytestmark = pytest.mark.ros
W, H = 640, 480
MODEL = Path(__file__).resolve().parents[1] / "models" / "gqstn_synth.json"
if not MODEL.is_file():
    pytest.skip("models/gqstn_synth.json not shipped", allow_module_level=True)


#: P(robust) alone decides (the paper's rule): no opening limit on GQ-STN's grasp
WIDE = Parameter("onnx_gqstn.fallback_max_opening_m", value=10.0)


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=98)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def _frame(seed=2):
    intr = CameraIntrinsics.default_for(W, H)
    return intr, table_scene(intr, seed=seed, n_objects=2, hole_fraction=0.0)


def test_fallback_runs_prop_gqcnn_only_below_the_threshold(context):
    from grasp_detector.detector_node import DetectorNode

    intr, depth = _frame()
    ps = []
    for thr in (0.0, 1.01):
        node = DetectorNode(context=context, parameter_overrides=[
            Parameter("detector", value="onnx_gqstn"), Parameter("model", value=str(MODEL)),
            Parameter("onnx_gqstn.fallback_threshold", value=thr), WIDE])
        try:
            plug = node.detector
            assert plug.fallback is not None and plug.fallback.state == "active"
            d = plug.detect(depth, None, intr, 5, 20.0, 0.0)
            p = plug.last_gqstn.p_robust
            ps.append(p)
            assert 0.0 <= p <= 1.0
            if thr == 0.0:  # P(robust) >= 0 always: GQ-STN's own grasp, no sampling
                assert plug.fallback_calls == 0 and d is plug.last_gqstn and len(d.grasps) == 1
                assert abs(d.grasps[0].quality - p) < 1e-6
            else:  # P < 1.01 always: Prop+GQ-CNN's sampled grasps instead
                assert plug.fallback_calls == 1 and d is not plug.last_gqstn and d.grasps
        finally:
            node.destroy_node()
    # and at thresholds just either side of this frame's P(robust)
    p = ps[0]
    for thr, calls in ((max(p - 1e-3, 0.0), 0), (p + 1e-3, 1)):
        node = DetectorNode(context=context, parameter_overrides=[
            Parameter("detector", value="onnx_gqstn"), Parameter("model", value=str(MODEL)),
            Parameter("onnx_gqstn.fallback_threshold", value=float(thr)), WIDE])
        try:
            node.detector.detect(depth, None, intr, 5, 20.0, 0.0)
            assert node.detector.fallback_calls == calls, (p, thr)
        finally:
            node.destroy_node()


class Probe(ProbeNode):
    def __init__(self, domain_id: int) -> None:
        super().__init__(domain_id, "probe")
        self.candidates: list[GraspCandidateArray] = []
        self.stages: list[GraspCandidateArray] = []
        self.images: dict[str, list[Image]] = {"trans": [], "rot": [], "scale": []}
        n = self.node
        n.create_subscription(GraspCandidateArray, "/grasp_candidates", self.candidates.append, result_qos())
        n.create_subscription(GraspCandidateArray, "/grasp_detector/stages", self.stages.append, result_qos())
        for k, lst in self.images.items():
            n.create_subscription(Image, f"/grasp_detector/stage_images/{k}", lst.append, result_qos())


def test_gqstn_plugin_in_the_detector_process_publishes_grasp_stages_and_images(repo_root, spawn_node, domain_id):
    probe = Probe(domain_id)
    try:
        detector = spawn_node("grasp_detector.detector_node", [
            "--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "detector:=onnx_gqstn",
            "-p", f"model:={MODEL}", "-p", "quality_threshold:=0.0", "-p", "onnx_gqstn.fallback_threshold:=0.0",
            "-p", "onnx_gqstn.fallback_max_opening_m:=10.0",
            "-p", "publish_annotated:=true"])
        intr, depth = _frame()
        feed = FrameFeeder(probe, intr, depth)
        assert wait_for(lambda: feed.depth_pub.get_subscription_count() and probe.node.count_publishers(
            "/grasp_detector/stage_images/scale"), 40.0, spin=probe.spin), detector.stderr()
        assert feed.until(lambda: feed.answered(probe.stages) and all(probe.images.values())
                          and feed.answered(probe.candidates), 60.0), \
            f"no stages/candidates/images\n{detector.stderr()}"
        cand = feed.answered(probe.candidates)[0]
        assert len(cand.candidates) == 1 and cand.candidates[0].model_id == "gqstn_synth"
        c = cand.candidates[0]
        assert 0.0 <= c.quality <= 1.0 and c.pose_valid and 0 <= c.center_u < W and 0 <= c.center_v < H
        st = next(m for m in probe.stages if stamp_key(m.header.stamp) == stamp_key(cand.header.stamp))
        assert [s.model_id for s in st.candidates] == ["gqstn_synth/trans", "gqstn_synth/rot", "gqstn_synth/scale"]
        # every stage region is centred on the published grasp; the scale crop is the smallest
        assert all(abs(s.center_u - c.center_u) < 1e-3 and abs(s.quality - c.quality) < 1e-6 for s in st.candidates)
        assert st.candidates[2].width_px < st.candidates[0].width_px
        shapes = {k: image_to_numpy(v[-1]).shape for k, v in probe.images.items()}
        assert shapes == {"trans": (224, 224), "rot": (224, 224), "scale": (32, 32)}
        scale = image_to_numpy(probe.images["scale"][-1])
        assert probe.images["scale"][-1].encoding == "32FC1" and 0.2 < float(np.median(scale)) < 3.0  # metres
        assert detector.alive() and "Traceback" not in detector.stderr()
    finally:
        probe.close()
