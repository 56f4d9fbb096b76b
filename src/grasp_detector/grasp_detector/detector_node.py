"""``grasp_detector`` node: depth image + camera_info → ``/grasp_candidates``.

Parameters (all in config/grasp.yaml under ``grasp_detector``):
    detector (str, "onnx_generative"): detector plugin (entry-point group ``grasp_detector.detectors``).
    model (str): model card name or path (default: grasp_core's default model).
    top_k (int, 5): candidates per image.
    min_distance_px (float, 20.0): minimum distance between candidate centres, source px.
    quality_threshold (float, 0.1): minimum quality in [0, 1].
    publish_annotated (bool, true): publish ``~/annotated``.
    queue_size (int, 1): keep-last depth of the best-effort subscriptions. 1: when detection is slower
        than the camera, the next frame is the newest, not the oldest of a backlog (a reader hands out its
        oldest message first; with 5 and a 10 Hz camera every frame a slow detector starts on is 0.4 s
        old). The stamp pairing keeps max(queue_size, :data:`PAIRING_STAMPS`) stamps waiting.
    publish_timings (bool, false): debug; publish each frame's stage instants on ``~/timings``.
    <detector>.*: the plugin's own parameters (see :mod:`grasp_detector.detectors`).

Subscribes (sensor-data QoS, best effort):
    depth/image (sensor_msgs/Image): 16UC1/mono16 mm or 32FC1 m depth.
    depth/camera_info (sensor_msgs/CameraInfo): paired with the image by exact stamp.
    color/image_raw (sensor_msgs/Image, rgb8/bgr8): only when the model needs colour.

Publishes:
    /grasp_candidates (grasp_interfaces/GraspCandidateArray, reliable): header = the depth
        image's header (stamp and optical frame), image size, candidates best first.
    ~/annotated (sensor_msgs/Image, bgr8, reliable): depth relief with the grasp rectangles
        (and the plugin's own overlay, :meth:`DetectorPlugin.annotate`).
    The plugin's own debug topics (:meth:`DetectorPlugin.publish_debug`, e.g. ``onnx_msstn``'s ``~/stages``).
    ~/timings (grasp_interfaces/StageTimes, reliable; only with ``publish_timings``): per frame, with
        the depth image's header, the instants ``received`` (depth image callback), ``paired`` (with
        its camera_info), ``converted`` (message → metres), ``preprocessed``, ``inferred`` (the
        network), ``postprocessed`` (the detector's own :attr:`Detection.timings` after ``converted``;
        a detector without them gives ``detected`` instead), ``serialised`` (GraspCandidateArray
        built) and ``published`` (handed to DDS); system clock ns (:mod:`grasp_bridge.timings`).

Unusable frames (all-NaN, wrong encoding, bytes that disagree with the encoding, size
disagreeing with camera_info, empty message, camera_info with non-finite or non-positive
intrinsics) are dropped; each cause is logged once at WARN ("dropping frame (<cause>): ..."),
repeats at DEBUG; the node keeps serving. When depth images arrive but no camera_info has
arrived for :data:`INFO_TIMEOUT_S` s, or both arrive but no stamps pair up for that long, one
WARN line names the topics (again after camera_info came back and went away).
Per-frame latency (detection and stamp → publish) is logged at DEBUG.

The detector plugin's lifecycle (:mod:`grasp_bridge.plugins`): configure while the node is
built, activate before the subscriptions exist, deactivate and cleanup in
:meth:`DetectorNode.destroy_node`.
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
from grasp_bridge.params import declare_config
from grasp_bridge.plugins import activate_plugin, configure_plugin, shutdown_plugin
from grasp_bridge.qos import result_qos, sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.sync import StampSynchronizer, stamp_key
from grasp_bridge.timings import StageClock
from grasp_core.camera import CameraInfoError
from grasp_core.config import DetectorConfig
from grasp_core.depth import DEPTH_ENCODINGS, DepthError, depth_to_metres
from grasp_core.visualise import depth_to_bgr, draw_grasps
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image

from grasp_interfaces.msg import GraspCandidateArray, StageTimes

from .detectors import load_detector

#: Seconds of depth images without camera_info (or without a stamp pair) before the node warns.
INFO_TIMEOUT_S = 2.0
#: Stamps the depth/camera_info(/colour) pairing keeps waiting for their partners at least (messages of
#: one stamp may arrive in any order across topics; a completed pair drops every older stamp).
PAIRING_STAMPS = 5


class DetectorNode(Node):
    """Runs a detector plugin on every paired depth image (see module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_detector", **kwargs)
        cfg = declare_config(self, DetectorConfig, plugin_sections=False)  # the plugin declares its own
        self.detector_name, model = cfg.detector, cfg.model
        self.top_k, self.min_distance_px, self.quality_threshold = cfg.top_k, cfg.min_distance_px, cfg.quality_threshold
        self.publish_annotated = cfg.publish_annotated
        queue = cfg.queue_size
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if queue < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue}")
        self.detector = None
        detector = load_detector(self.detector_name)
        configure_plugin(detector, self, self.detector_name, model)
        self.detector = detector

        self.candidates_pub = self.create_publisher(GraspCandidateArray, "/grasp_candidates", result_qos())
        self.publish_timings = cfg.publish_timings
        self.timings_pub = self.create_publisher(StageTimes, "~/timings", 10) if self.publish_timings else None
        self._received_ns: dict[tuple[int, int], int] = {}  # stamp → arrival of the depth image
        self.annotated_pub = self.create_publisher(Image, "~/annotated", result_qos(2))
        inputs = 3 if self.detector.needs_rgb else 2
        self.sync = StampSynchronizer(inputs, self.on_frame, queue_size=max(queue, PAIRING_STAMPS))
        self.processed = 0
        self.dropped = 0
        self._log_once = OncePerCause(self.get_logger())
        now = time.monotonic()
        self._last = {"image": None, "info": None, "pair": now}  # monotonic s of the last arrival
        self._warned_info = self._warned_pair = False
        activate_plugin(self.detector)
        self.image_sub = self.create_subscription(Image, "depth/image", self._on_image, sensor_qos(queue))
        self.info_sub = self.create_subscription(CameraInfo, "depth/camera_info", self._on_info, sensor_qos(queue))
        if self.detector.needs_rgb:
            self.create_subscription(Image, "color/image_raw", lambda m: self.sync.add(2, m), sensor_qos(queue))
        self.create_timer(INFO_TIMEOUT_S / 4, self._watch_inputs)
        self.get_logger().info(f"detector '{self.detector_name}' with model '{self.detector.model_id}' ready"
                               f"{' (needs colour)' if self.detector.needs_rgb else ''}")

    def drop(self, cause: str, message: str) -> None:
        """Drop a frame: WARN the first time a cause is seen, DEBUG afterwards."""
        self.dropped += 1
        self._log_once(cause, f"dropping frame ({cause}): {message}")

    def _on_image(self, msg: Image) -> None:
        self._last["image"] = time.monotonic()
        if self.publish_timings:
            self._received_ns[stamp_key(msg.header.stamp)] = time.time_ns()
            while len(self._received_ns) > 4 * self.sync.queue_size:
                self._received_ns.pop(next(iter(self._received_ns)))
        self.sync.add(0, msg)

    def _on_info(self, msg: CameraInfo) -> None:
        self._last["info"] = time.monotonic()
        self._warned_info = False
        self.sync.add(1, msg)

    def _watch_inputs(self) -> None:
        """Warn once when depth images arrive without camera_info, or never pair with it."""
        now = time.monotonic()
        img, info, pair = self._last["image"], self._last["info"], self._last["pair"]
        if img is None or now - img > INFO_TIMEOUT_S:
            return  # no recent image: nothing to say
        if info is None or now - info > INFO_TIMEOUT_S:
            if not self._warned_info:
                self._warned_info = True
                since = "yet" if info is None else f"for {now - info:.1f} s"
                self.get_logger().warning(
                    f"depth images arrive on {self.image_sub.topic_name} but no camera_info on "
                    f"{self.info_sub.topic_name} {since} (waited {INFO_TIMEOUT_S:.0f} s): the images "
                    f"cannot be used until it comes")
        elif now - pair > INFO_TIMEOUT_S and not self._warned_pair:
            self._warned_pair = True
            self.get_logger().warning(
                f"depth images on {self.image_sub.topic_name} and camera_info on {self.info_sub.topic_name} "
                f"arrive but no stamps have matched for {now - pair:.1f} s: publish both with the same "
                f"header.stamp")

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
        try:  # a view of the message's bytes: depth_to_metres makes the one copy
            depth = depth_to_metres(image_to_numpy(img, copy=False), img.encoding)
        except (ValueError, DepthError) as exc:
            self.drop("layout", str(exc))
            return None
        if not np.isfinite(depth).any():
            self.drop("all_nan", "no valid depth pixel (all NaN/0/out of range)")
            return None
        return depth

    def on_frame(self, img: Image, info: CameraInfo, colour: Image | None = None) -> None:
        """Detect grasps on one paired frame and publish them (never raises)."""
        self._last["pair"] = time.monotonic()
        self._warned_pair = False
        try:
            self._on_frame(img, info, colour)
        except Exception as exc:  # noqa: BLE001 - last resort: a frame must never take the node down
            self.drop(f"internal {type(exc).__name__}", f"unexpected {type(exc).__name__}: {exc}")

    def _on_frame(self, img: Image, info: CameraInfo, colour: Image | None = None) -> None:
        t0 = time.perf_counter()
        clock = StageClock(self.publish_timings, self._received_ns.pop(stamp_key(img.header.stamp), None))
        clock.mark("paired")
        depth = self._decode(img, info)
        if depth is None:
            return
        try:
            intr = camera_info_to_intrinsics(info, self.info_sub.topic_name)
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
        clock.mark("converted")
        try:
            det = self.detector.detect(depth, rgb, intr, self.top_k, self.min_distance_px, self.quality_threshold)
        except (DepthError, ValueError) as exc:
            self.drop("detect", str(exc))
            return
        if clock.enabled:
            tm = det.timings
            if all(k in tm for k in ("preprocess", "inference", "postprocess")):
                # the detector's own split of detect(), laid after "converted"; "postprocessed" is the
                # real instant, so it also holds detect()'s overhead outside its three timings
                t = clock.t_ns[-1] + int(tm["preprocess"] * 1e9)
                clock.mark("preprocessed", t)
                clock.mark("inferred", t + int(tm["inference"] * 1e9))
                clock.mark("postprocessed")
            else:
                clock.mark("detected")
        msg = detection_to_msg(det, img.header, img.width, img.height, self.detector.model_id)
        clock.mark("serialised")
        self.candidates_pub.publish(msg)
        clock.mark("published")
        self.detector.publish_debug(det, img.header, img.width, img.height)
        self.processed += 1
        t1 = time.perf_counter()
        if self.timings_pub is not None:
            self.timings_pub.publish(clock.to_msg(img.header))
        age = (self.get_clock().now() - Time.from_msg(img.header.stamp)).nanoseconds * 1e-9
        self.get_logger().debug(f"frame {img.header.stamp.sec}.{img.header.stamp.nanosec:09d}: "
                                f"{len(det.grasps)} grasp(s), detect {1e3 * (t1 - t0):.1f} ms "
                                f"(net {1e3 * det.timings.get('inference', 0):.1f} ms), "
                                f"stamp→publish {1e3 * age:.1f} ms")
        if self.publish_annotated and self.annotated_pub.get_subscription_count() > 0:
            vis = self.detector.annotate(draw_grasps(depth_to_bgr(depth), det.grasps), det)
            self.annotated_pub.publish(numpy_to_image(vis, "bgr8", img.header))

    def destroy_node(self) -> None:
        shutdown_plugin(self.detector)  # deactivate, then cleanup
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return spin_node(DetectorNode, "grasp_detector", args)


if __name__ == "__main__":
    sys.exit(main())
