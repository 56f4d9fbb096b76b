"""The ``onnx_msstn`` plugin in the detector node, run as a separate process: it publishes the ranked
candidates on /grasp_candidates, every stage's intermediate candidates on ~/stages and draws them in
the annotated image."""
from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")
torch = pytest.importorskip("torch")

from conftest import FrameFeeder, ProbeNode, wait_for  # noqa: E402
from grasp_bridge.image import image_to_numpy  # noqa: E402
from grasp_bridge.qos import result_qos  # noqa: E402
from grasp_bridge.sync import stamp_key  # noqa: E402
from grasp_bringup.synthetic import table_scene  # noqa: E402
from grasp_core.camera import CameraIntrinsics  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from grasp_interfaces.msg import GraspCandidateArray  # noqa: E402

pytestmark = pytest.mark.ros
W, H = 640, 480
K = 3


@pytest.fixture(scope="module")
def msstn_model(tmp_path_factory):
    """A tiny exported multi-stage STN (random weights: this checks plumbing, not accuracy)."""
    from grasp_core.nn.msstn import MSSTNConfig, MultiStageSTN
    from grasp_core.nn.msstn_export import export_msstn, msstn_card
    from grasp_core.nn.msstn_train import MSSTNTrainConfig

    net_cfg = MSSTNConfig(input_size=64, k=K, crop_scale=0.5, patch=24, cls_patch=16, width=8)
    net = MultiStageSTN(net_cfg).eval()
    path = tmp_path_factory.mktemp("msstn") / "msstn_node_test.onnx"
    export_msstn(net, path, msstn_card(path.stem, MSSTNTrainConfig(net=net_cfg), {}, {}))
    return str(path.with_suffix(".json"))


class Probe(ProbeNode):
    def __init__(self, domain_id: int) -> None:
        super().__init__(domain_id, "probe")
        self.candidates: list[GraspCandidateArray] = []
        self.stages: list[GraspCandidateArray] = []
        self.annotated: list[Image] = []
        n = self.node
        n.create_subscription(GraspCandidateArray, "/grasp_candidates", self.candidates.append, result_qos())
        n.create_subscription(GraspCandidateArray, "/grasp_detector/stages", self.stages.append, result_qos())
        n.create_subscription(Image, "/grasp_detector/annotated", self.annotated.append, result_qos(2))


def test_msstn_plugin_publishes_candidates_and_every_stage(repo_root, spawn_node, domain_id, msstn_model):
    probe = Probe(domain_id)
    try:
        detector = spawn_node("grasp_detector.detector_node", [
            "--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "detector:=onnx_msstn",
            "-p", f"model:={msstn_model}", "-p", "quality_threshold:=0.0", "-p", "min_distance_px:=0.0",
            "-p", f"top_k:={K}", "-p", "publish_annotated:=true"])
        intr = CameraIntrinsics.default_for(W, H)
        feed = FrameFeeder(probe, intr, table_scene(intr, seed=2, n_objects=2, hole_fraction=0.0))
        assert wait_for(lambda: feed.depth_pub.get_subscription_count() and probe.node.count_publishers(
            "/grasp_detector/stages"), 40.0, spin=probe.spin), detector.stderr()
        assert feed.until(lambda: feed.answered(probe.stages) and probe.annotated
                          and feed.answered(probe.candidates), 40.0), \
            f"no stages/candidates/annotated image\n{detector.stderr()}"
        name = "msstn_node_test"
        cand = feed.answered(probe.candidates)[0]
        assert 1 <= len(cand.candidates) <= K and all(c.model_id == name for c in cand.candidates)
        q = [c.quality for c in cand.candidates]
        assert q == sorted(q, reverse=True)
        assert all(c.pose_valid for c in cand.candidates)
        st = next(m for m in probe.stages if stamp_key(m.header.stamp) == stamp_key(cand.header.stamp))
        ids = [c.model_id for c in st.candidates]
        assert ids == [f"{name}/crop"] * K + [f"{name}/rotation"] * K + [f"{name}/scale_crop"] * K
        assert st.header.frame_id == "camera_depth_optical_frame" and (st.image_width, st.image_height) == (W, H)
        crop, final = st.candidates[:K], st.candidates[2 * K:]
        assert all(c.angle == 0.0 and c.width_px == c.length_px > 0 for c in crop)  # windows, axis-aligned
        # the best published candidate is one of the final stage's, with its classifier quality
        best = cand.candidates[0]
        assert any(abs(f.center_u - best.center_u) < 1e-3 and abs(f.center_v - best.center_v) < 1e-3
                   and abs(f.quality - best.quality) < 1e-6 for f in final)
        vis = image_to_numpy(probe.annotated[-1])
        assert vis.shape == (H, W, 3)
        yellow = (vis[:, :, 0] < 60) & (vis[:, :, 1] > 200) & (vis[:, :, 2] > 200)  # STN_crop windows
        assert yellow.sum() > 20, "the crop stage is not drawn in the annotated image"
        assert detector.alive() and "Traceback" not in detector.stderr()
    finally:
        probe.close()
