"""``grasp_camera`` node: a depth camera source → metres → ``depth/image_unfilled``; inpainted → ``depth/image``.

Parameters (all in config/grasp.yaml under ``grasp_camera``):
    source (str, "replay"): camera source plugin (entry-point group ``grasp_camera.sources``).
    frame_id (str, "camera_depth_optical_frame"): optical frame stamped on the outputs when the
        source does not give one (replay); a driver's own frame is kept.
    inpaint (bool, true): fill holes of ``depth/image`` by OpenCV Navier–Stokes inpainting (GG-CNN
        preprocessing).
    publish_unfilled (bool, true): also publish ``depth/image_unfilled``, before inpainting.
    publish_timings (bool, false): debug; publish each frame's stage instants on ``~/timings``.
    <source>.*: the source's own parameters, see :mod:`grasp_camera.sources`.

Publishes (sensor-data QoS, best effort; all three depth topics carry the same stamp):
    depth/image_unfilled (sensor_msgs/Image): depth along the optical axis with its holes, as the
        source gave it when that is 16UC1 millimetres (0 = hole; a driver's image, a replayed 16-bit
        PNG: half the bytes of metres and no conversion), else 32FC1 metres with NaN holes (REP 118);
        published before the inpainting starts: the detector's input (it inpaints
        its network's crop only, as GG-CNN's own node does), so the full-frame inpainting
        (≈ 3–7 ms for 640×480) is not on the path to ``/grasp_candidates``. Only built while it
        has a subscriber.
    depth/image (sensor_msgs/Image): the same depth, hole-free (inpainted with ``inpaint``), for
        the executor's collision check and the shape classifier. While ``depth/image_unfilled``
        has a subscriber and this topic none, it is neither inpainted nor published (lazy, as
        image_pipeline's nodes).
    depth/camera_info (sensor_msgs/CameraInfo): its intrinsics.
    color/image_raw (sensor_msgs/Image): rgb8 colour registered to the depth image, when the
        source has one (replay folders with colour beside depth).
    ~/timings (grasp_interfaces/StageTimes, reliable; only with ``publish_timings``): per frame,
        with the depth image's header, the instants ``read`` (frame in memory), ``converted``
        (metres, checked), ``info_published`` (camera_info handed to DDS), then, when
        ``depth/image_unfilled`` is published, ``unfilled_serialised``
        and ``unfilled_published``, then ``inpainted``, ``serialised`` (Image message built) and
        ``published`` (depth image handed to DDS; these three absent when it was skipped), system
        clock ns (:mod:`grasp_bridge.timings`).

Unusable frames (wrong encoding, bytes that disagree with the encoding, size that disagrees
with camera_info, bad camera_info, empty message, no valid pixel, an unreadable replay file)
are dropped; each cause is logged once at WARN (an unreadable file: once per file, with the
reason), later repeats at DEBUG; the node keeps serving.

The source plugin's lifecycle (:mod:`grasp_bridge.plugins`): configure and activate while
the node is built, deactivate and cleanup in :meth:`CameraNode.destroy_node`.
"""
from __future__ import annotations

import sys
import time

import numpy as np
from grasp_bridge.camera_info import intrinsics_to_camera_info
from grasp_bridge.image import numpy_to_image
from grasp_bridge.log import OncePerCause
from grasp_bridge.params import declare_config
from grasp_bridge.plugins import activate_plugin, configure_plugin, shutdown_plugin
from grasp_bridge.qos import sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.timings import StageClock
from grasp_core.camera import CameraInfoError, check_intrinsics
from grasp_core.config import CameraConfig
from grasp_core.depth import DEPTH_ENCODINGS, DepthError, depth_to_metres, inpaint_depth
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from grasp_interfaces.msg import StageTimes

from .sources import RawFrame, load_source

#: the hole-free depth (executor, shape classifier) and the depth before inpainting (detector)
DEPTH_TOPIC, UNFILLED_TOPIC = "depth/image", "depth/image_unfilled"


class CameraNode(Node):
    """Publishes hole-free metric depth from a pluggable camera source (see module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_camera", **kwargs)
        cfg = declare_config(self, CameraConfig, plugin_sections=False)  # the source declares its own
        self.source_name, self.frame_id, self.inpaint = cfg.source, cfg.frame_id, cfg.inpaint
        self.depth_topic = DEPTH_TOPIC
        self.depth_pub = self.create_publisher(Image, DEPTH_TOPIC, sensor_qos())
        self.unfilled_pub = (self.create_publisher(Image, UNFILLED_TOPIC, sensor_qos())
                             if cfg.publish_unfilled else None)
        self.info_pub = self.create_publisher(CameraInfo, "depth/camera_info", sensor_qos())
        self.colour_pub = self.create_publisher(Image, "color/image_raw", sensor_qos())
        self.publish_timings = cfg.publish_timings
        self.timings_pub = self.create_publisher(StageTimes, "~/timings", 10) if self.publish_timings else None
        self.published = 0
        self.dropped = 0
        self._log_once = OncePerCause(self.get_logger())
        self.source = None
        source = load_source(self.source_name)
        configure_plugin(source, self, self.source_name, self.on_frame)
        self.source = source
        activate_plugin(self.source)
        self.get_logger().info(f"camera source '{self.source_name}' active; publishing {self.depth_topic}"
                               + (f" and {UNFILLED_TOPIC}" if self.unfilled_pub is not None else ""))

    def has_subscribers(self) -> bool:
        """Whether either depth topic has a subscriber (the replay holds its first frame until one has)."""
        return bool(self.depth_pub.get_subscription_count()
                    or (self.unfilled_pub is not None and self.unfilled_pub.get_subscription_count()))

    def drop(self, cause: str, message: str) -> None:
        """Drop a frame: WARN the first time a cause is seen, DEBUG afterwards."""
        self.dropped += 1
        self._log_once(cause, f"dropping frame ({cause}): {message}")

    def on_frame(self, frame: RawFrame) -> None:
        """Check, convert to metres, inpaint and publish one frame from the source (never raises)."""
        try:
            self._on_frame(frame)
        except Exception as exc:  # noqa: BLE001 - last resort: a frame must never take the node down
            self.drop(f"internal {type(exc).__name__}", f"unexpected {type(exc).__name__}: {exc}")

    def _on_frame(self, frame: RawFrame) -> None:
        if frame.error is not None:
            self.drop(*frame.error)
            return
        if frame.encoding not in DEPTH_ENCODINGS:
            self.drop("encoding", f"{frame.encoding!r} is not a depth encoding {DEPTH_ENCODINGS}")
            return
        intr = frame.intrinsics
        h, w = frame.depth.shape[:2]
        if intr is None:
            self.drop("camera_info", "no intrinsics for the frame")
            return
        if (intr.width, intr.height) != (w, h):
            self.drop("size", f"image is {w}x{h} but camera_info says {intr.width}x{intr.height}")
            return
        try:
            check_intrinsics(intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy)
        except CameraInfoError as exc:
            self.drop("camera_info", str(exc))
            return
        clock = StageClock(self.publish_timings, frame.received_ns or time.time_ns(), "read")
        try:
            depth = depth_to_metres(frame.depth, frame.encoding)
            if not np.isfinite(depth).any():
                raise DepthError("no valid depth pixel (all NaN/0)")
        except DepthError as exc:
            self.drop("all_nan" if "valid" in str(exc) else "depth", str(exc))
            return
        clock.mark("converted")
        header = Header()
        header.stamp = frame.stamp if frame.stamp is not None else self.get_clock().now().to_msg()
        header.frame_id = frame.frame_id or self.frame_id
        self.info_pub.publish(intrinsics_to_camera_info(intr, header))
        clock.mark("info_published")
        unfilled = self.unfilled_pub is not None and self.unfilled_pub.get_subscription_count() > 0
        if unfilled:  # first, so the detector starts while this node inpaints
            if frame.encoding in ("16UC1", "mono16"):  # the source's millimetres as they came: half the bytes
                image = numpy_to_image(np.asarray(frame.depth, np.uint16), "16UC1", header)
            else:
                image = numpy_to_image(depth, "32FC1", header)
            clock.mark("unfilled_serialised")
            self.unfilled_pub.publish(image)
            clock.mark("unfilled_published")
        if not unfilled or self.depth_pub.get_subscription_count() > 0:
            if self.inpaint:
                depth = inpaint_depth(depth)  # cannot fail: a valid pixel was checked above
            clock.mark("inpainted")
            image = numpy_to_image(depth, "32FC1", header)  # depth is float32 already: one copy, into the message
            clock.mark("serialised")
            self.depth_pub.publish(image)
            clock.mark("published")
        if frame.rgb is not None:
            self.colour_pub.publish(numpy_to_image(frame.rgb, "rgb8", header))
        self.published += 1
        if self.timings_pub is not None:
            self.timings_pub.publish(clock.to_msg(header))

    def destroy_node(self) -> None:
        shutdown_plugin(self.source)  # deactivate, then cleanup
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return spin_node(CameraNode, "grasp_camera", args)


if __name__ == "__main__":
    sys.exit(main())
