"""The ``onnx_detseg`` plugin in the detector node, run as a separate process: RGB + depth in, candidates
labelled with the segmentation's object class on /grasp_candidates, the class map on ~/class_map."""
from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")
torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from conftest import FrameFeeder, ProbeNode, wait_for  # noqa: E402
from grasp_bridge.image import image_to_numpy  # noqa: E402
from grasp_bridge.qos import result_qos  # noqa: E402
from grasp_bringup.synthetic import table_scene  # noqa: E402
from grasp_core.camera import CameraIntrinsics  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from grasp_interfaces.msg import GraspCandidateArray  # noqa: E402

pytestmark = pytest.mark.ros
W, H = 640, 480


@pytest.fixture(scope="module")
def detseg_model(tmp_path_factory):
    """A tiny exported Det_Seg_Refine network (random weights: this checks plumbing, not accuracy)."""
    from grasp_core.nn.detseg import DetSegConfig, GraspDetSeg
    from grasp_core.nn.detseg_export import export_with_card

    torch.manual_seed(0)
    net = GraspDetSeg(DetSegConfig(input_size=64, fpn_channels=16, fc_dim=32, seg_channels=8,
                                   anchor_sizes=(8, 16, 32, 64, 128), score_thresh=0.0, detections=10)).eval()
    path = tmp_path_factory.mktemp("detseg") / "detseg_node_test.onnx"
    return str(export_with_card(net, path, path.stem, 300, {}, {}))


class Probe(ProbeNode):
    def __init__(self, domain_id: int) -> None:
        super().__init__(domain_id, "probe")
        self.candidates: list[GraspCandidateArray] = []
        self.class_maps: list[Image] = []
        n = self.node
        n.create_subscription(GraspCandidateArray, "/grasp_candidates", self.candidates.append, result_qos())
        n.create_subscription(Image, "/grasp_detector/class_map", self.class_maps.append, result_qos())


def test_detseg_plugin_labels_candidates_and_publishes_the_class_map(repo_root, spawn_node, domain_id,
                                                                     detseg_model):
    from grasp_core.datasets.semantic import CLASS_NAMES

    probe = Probe(domain_id)
    try:
        detector = spawn_node("grasp_detector.detector_node", [
            "--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "detector:=onnx_detseg",
            "-p", f"model:={detseg_model}", "-p", "quality_threshold:=0.0", "-p", "min_distance_px:=0.0",
            "-p", "top_k:=5"])
        intr = CameraIntrinsics.default_for(W, H)
        depth = table_scene(intr, seed=2, n_objects=2, hole_fraction=0.0)
        rgb = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
        feed = FrameFeeder(probe, intr, depth, rgb)
        assert wait_for(lambda: feed.rgb_pub.get_subscription_count() and probe.node.count_publishers(
            "/grasp_detector/class_map"), 40.0, spin=probe.spin), detector.stderr()
        assert feed.until(lambda: feed.answered(probe.candidates) and feed.answered(probe.class_maps), 40.0), \
            f"no candidates / class map\n{detector.stderr()}"
        cand = feed.answered(probe.candidates)[0]
        assert 1 <= len(cand.candidates) <= 5
        assert all(c.model_id == "detseg_node_test" for c in cand.candidates)
        assert all(c.shape_label in CLASS_NAMES[1:] and 0 < c.shape_confidence <= 1 for c in cand.candidates)
        cm = feed.answered(probe.class_maps)[0]
        assert cm.encoding == "mono8" and (cm.width, cm.height) == (W, H)
        assert cm.header.frame_id == "camera_depth_optical_frame"
        img = image_to_numpy(cm)
        assert img.max() < len(CLASS_NAMES) and (img[:, :150] == 0).all()  # outside the 300 px crop
        assert detector.alive() and "Traceback" not in detector.stderr()
    finally:
        probe.close()
