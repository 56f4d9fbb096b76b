"""``grasp_detector`` node: depth image + camera_info → ``/grasp_candidates``.

Parameters (all in config/grasp.yaml under ``grasp_detector``):
    detector (str, "onnx_generative"): detector plugin (entry-point group ``grasp_detector.detectors``).
    model (str): model card name or path (default: grasp_core's default model).
    top_k (int, 5): candidates per image.
    min_distance_px (float, 20.0): minimum distance between candidate centres, source px.
    quality_threshold (float, 0.1): minimum quality in [0, 1].
    publish_annotated (bool, true): publish ``~/annotated``.
    queue_size (int, 5): depth of the best-effort subscriptions and of the stamp pairing.
    <detector>.*: the plugin's own parameters (see :mod:`grasp_detector.detectors`).

Subscribes (sensor-data QoS, best effort):
    depth/image (sensor_msgs/Image): 16UC1/mono16 mm or 32FC1 m depth.
    depth/camera_info (sensor_msgs/CameraInfo): paired with the image by exact stamp.
    color/image_raw (sensor_msgs/Image, rgb8/bgr8): only when the model needs colour.

Publishes:
    /grasp_candidates (grasp_interfaces/GraspCandidateArray, reliable): header = the depth
        image's header (stamp and optical frame), image size, candidates best first.
    ~/annotated (sensor_msgs/Image, bgr8, reliable): depth relief with the grasp rectangles.

Unusable frames (all-NaN, wrong encoding, size disagreeing with camera_info, empty
message, bad camera_info) are dropped; each cause is logged once at WARN
("dropping frame (<cause>): ..."), repeats at DEBUG; the node keeps serving.
Per-frame latency (detection and stamp → publish) is logged at DEBUG.
"""
from __future__ import annotations

import sys
import time

import cv2
import numpy as np
from grasp_bridge.camera_info import camera_info_to_intrinsics
from grasp_bridge.candidates import detection_to_msg
from grasp_bridge.image import image_to_numpy, numpy_to_image
from grasp_bridge.log import OncePerCause
from grasp_bridge.qos import result_qos, sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.sync import StampSynchronizer
from grasp_core.camera import CameraInfoError
from grasp_core.depth import DEPTH_ENCODINGS, DepthError, depth_to_metres
from grasp_core.visualise import depth_to_bgr, draw_grasps
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image

from grasp_interfaces.msg import GraspCandidateArray

from .detectors import load_detector


class DetectorNode(Node):
    """Runs a detector plugin on every paired depth image (see module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_detector", **kwargs)
        self.detector_name = self.declare_parameter("detector", "onnx_generative").value
        model = self.declare_parameter("model", "").value
        self.top_k = int(self.declare_parameter("top_k", 5).value)
        self.min_distance_px = float(self.declare_parameter("min_distance_px", 20.0).value)
        self.quality_threshold = float(self.declare_parameter("quality_threshold", 0.1).value)
        self.publish_annotated = bool(self.declare_parameter("publish_annotated", True).value)
        queue = int(self.declare_parameter("queue_size", 5).value)
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        self.detector = load_detector(self.detector_name)
        self.detector.configure(self, self.detector_name, model)

        self.candidates_pub = self.create_publisher(GraspCandidateArray, "/grasp_candidates", result_qos())
        self.annotated_pub = self.create_publisher(Image, "~/annotated", result_qos(2))
        inputs = 3 if self.detector.needs_rgb else 2
        self.sync = StampSynchronizer(inputs, self.on_frame, queue_size=queue)
        self.create_subscription(Image, "depth/image", lambda m: self.sync.add(0, m), sensor_qos(queue))
        self.create_subscription(CameraInfo, "depth/camera_info", lambda m: self.sync.add(1, m), sensor_qos(queue))
        if self.detector.needs_rgb:
            self.create_subscription(Image, "color/image_raw", lambda m: self.sync.add(2, m), sensor_qos(queue))
        self.processed = 0
        self.dropped = 0
        self._log_once = OncePerCause(self.get_logger())
        self.get_logger().info(f"detector '{self.detector_name}' with model '{self.detector.model_id}' ready"
                               f"{' (needs colour)' if self.detector.needs_rgb else ''}")

    def drop(self, cause: str, message: str) -> None:
        """Drop a frame: WARN the first time a cause is seen, DEBUG afterwards."""
        self.dropped += 1
        self._log_once(cause, f"dropping frame ({cause}): {message}")

    def _decode(self, img: Image, info: CameraInfo) -> np.ndarray | None:
        """Checked (H, W) float32 metres of a depth message, or None after :meth:`drop`."""
        if img.width == 0 or img.height == 0 or len(img.data) == 0:
            self.drop("empty", f"image {img.width}x{img.height} with {len(img.data)} bytes")
            return None
        if img.encoding not in DEPTH_ENCODINGS:
            self.drop("encoding", f"{img.encoding!r} is not a depth encoding {DEPTH_ENCODINGS}")
            return None
        if (img.width, img.height) != (info.width, info.height):
            self.drop("size", f"image is {img.width}x{img.height} but camera_info says {info.width}x{info.height}")
            return None
        try:
            depth = depth_to_metres(image_to_numpy(img), img.encoding)
        except (ValueError, DepthError) as exc:
            self.drop("layout", str(exc))
            return None
        if not np.isfinite(depth).any():
            self.drop("all_nan", "no valid depth pixel (all NaN/0/out of range)")
            return None
        return depth

    def on_frame(self, img: Image, info: CameraInfo, colour: Image | None = None) -> None:
        """Detect grasps on one paired frame and publish them."""
        t0 = time.perf_counter()
        depth = self._decode(img, info)
        if depth is None:
            return
        try:
            intr = camera_info_to_intrinsics(info)
        except CameraInfoError as exc:
            self.drop("camera_info", str(exc))
            return
        intr = type(intr)(intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, img.header.frame_id)
        rgb = None
        if colour is not None:
            try:
                if colour.encoding not in ("rgb8", "bgr8"):
                    raise ValueError(f"colour encoding {colour.encoding!r} is not rgb8/bgr8")
                rgb = image_to_numpy(colour)
                if colour.encoding == "bgr8":
                    rgb = cv2.cvtColor(rgb, cv2.COLOR_BGR2RGB)
            except ValueError as exc:
                self.drop("colour", str(exc))
                return
        try:
            det = self.detector.detect(depth, rgb, intr, self.top_k, self.min_distance_px, self.quality_threshold)
        except (DepthError, ValueError) as exc:
            self.drop("detect", str(exc))
            return
        msg = detection_to_msg(det, img.header, img.width, img.height, self.detector.model_id)
        self.candidates_pub.publish(msg)
        self.processed += 1
        t1 = time.perf_counter()
        age = (self.get_clock().now() - Time.from_msg(img.header.stamp)).nanoseconds * 1e-9
        self.get_logger().debug(f"frame {img.header.stamp.sec}.{img.header.stamp.nanosec:09d}: "
                                f"{len(det.grasps)} grasp(s), detect {1e3 * (t1 - t0):.1f} ms "
                                f"(net {1e3 * det.timings.get('inference', 0):.1f} ms), "
                                f"stamp→publish {1e3 * age:.1f} ms")
        if self.publish_annotated and self.annotated_pub.get_subscription_count() > 0:
            vis = draw_grasps(depth_to_bgr(depth), det.grasps)
            self.annotated_pub.publish(numpy_to_image(vis, "bgr8", img.header))


def main(args: list[str] | None = None) -> int:
    return spin_node(DetectorNode, "grasp_detector", args)


if __name__ == "__main__":
    sys.exit(main())
