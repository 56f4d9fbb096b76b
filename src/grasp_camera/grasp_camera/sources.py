"""Camera sources: plugins of :class:`grasp_camera.camera_node.CameraNode`.

A source is found by name in the entry-point group ``grasp_camera.sources``
(the Python analogue of pluginlib), implements :class:`CameraSource` (a
:class:`grasp_bridge.plugins.Plugin`: configure → activate → deactivate → cleanup,
as Nav2's plugins), reads its own parameters under ``<name>.`` and hands raw
frames to the node through the ``emit`` callback given to
:meth:`CameraSource.configure`. The node does the conversion to metres,
inpainting, checks and publishing.

``topic`` — a camera driver's depth stream. Defaults are realsense2_camera's
names; remap them for other drivers (``--ros-args -r``), e.g.

* realsense2_camera (default): ``/camera/camera/depth/image_rect_raw`` and
  ``/camera/camera/depth/camera_info`` (16UC1 mm, ``camera_depth_optical_frame``);
  aligned to colour: ``-r /camera/camera/depth/image_rect_raw:=/camera/camera/aligned_depth_to_color/image_raw``
  ``-r /camera/camera/depth/camera_info:=/camera/camera/aligned_depth_to_color/camera_info``.
* Azure_Kinect_ROS_Driver: ``-r /camera/camera/depth/image_rect_raw:=/depth/image_raw``
  ``-r /camera/camera/depth/camera_info:=/depth/camera_info`` (16UC1 mm, or 32FC1 m with
  ``depth_unit``; frame ``depth_camera_link``).
* kinect_ros2 (Kinect v1): ``-r /camera/camera/depth/image_rect_raw:=/depth/image_raw``
  ``-r /camera/camera/depth/camera_info:=/depth/camera_info`` (16UC1 mm, frame ``kinect_camera_optical``).

The topic names are also the parameters ``topic.depth_topic`` and
``topic.info_topic`` (config/grasp.yaml) for setups without remapping. ``topic.color_topic`` (empty by
default) adds the driver's colour image registered to depth (realsense2_camera with ``align_depth``:
``/camera/camera/color/image_raw``), paired with the depth image of the same stamp and published on
``color/image_raw`` beside it, for RGB models; colour that is not rgb8/bgr8 or not of the depth
image's size drops the frame with one line.

``replay`` — depth frames from a folder (``.npy`` m, ``.tiff`` m or mm, 16-bit
``.png`` mm; see :func:`grasp_core.frames.list_depth_frames`), with the colour
image beside each frame when there is one (:func:`grasp_core.frames.find_colour`); a 16-bit
PNG frame comes out as a driver's 16UC1 millimetres (:func:`grasp_core.frames.load_depth_native`).
Parameters: ``replay.folder``; ``replay.intrinsics`` (camera_info YAML; empty →
:meth:`grasp_core.camera.CameraIntrinsics.default_for`, the Kinect v1 defaults
fx = fy = 525·W/640 px, centred principal point, documented as the Cornell
default since the Cornell dataset ships no intrinsics); ``replay.rate_hz``;
``replay.loop``; ``replay.wait_for_subscribers`` (hold the first frame until
``depth/image`` or ``depth/image_unfilled`` has a subscriber, so no frame is lost to discovery). Each frame is
stamped (node clock) the moment its file starts being read, as a driver stamps the
capture: the stamp precedes the conversion and inpainting. A frame file
that cannot be read (corrupt or truncated ``.npy``, unreadable image, colour
image beside it unreadable) is skipped: the node logs one WARN line naming the
file and the reason (as ``grasp-detect`` does) and the replay goes on.
"""
from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from grasp_bridge.camera_info import camera_info_to_intrinsics
from grasp_bridge.image import image_to_numpy
from grasp_bridge.params import declare_config
from grasp_bridge.plugins import Plugin, load_plugin
from grasp_bridge.qos import sensor_qos
from grasp_core.camera import CameraInfoError, CameraIntrinsics, load_camera_info_yaml
from grasp_core.config import ReplaySourceConfig, TopicSourceConfig
from grasp_core.frames import find_colour, list_depth_frames, load_depth_native, load_rgb
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

ENTRY_POINT_GROUP = "grasp_camera.sources"


@dataclass
class RawFrame:
    """One frame as a source delivers it.

    Attributes:
        depth: (H, W) raw depth array in ``encoding`` (uint16 mm for 16UC1/mono16,
            float32 m for 32FC1), or None when the source could not decode it.
        encoding: sensor_msgs/Image encoding of ``depth``.
        intrinsics: intrinsics of the image (None: not known yet).
        stamp: ``builtin_interfaces/Time`` of the capture, or None (the node stamps it now). A
            driver's stamp is kept (``topic``); ``replay`` stamps the moment it starts reading the
            file, so latency counted from the stamp includes reading, conversion and inpainting.
        frame_id: optical frame of the image ('' → the node's ``frame_id`` parameter).
        rgb: (H, W, 3) uint8 RGB registered to the depth image, or None.
        error: why the frame is unusable, as a short cause key and message, or None.
        received_ns: system clock (``time.time_ns()``) when the frame was in memory (read from
            the file, or the driver's message handed over), for the node's ``~/timings``; None: unknown.
    """

    depth: np.ndarray | None
    encoding: str
    intrinsics: CameraIntrinsics | None
    stamp: object | None = None
    frame_id: str = ""
    rgb: np.ndarray | None = None
    error: tuple[str, str] | None = None
    received_ns: int | None = None


class CameraSource(Plugin):
    """Interface of a camera source plugin: :class:`grasp_bridge.plugins.Plugin`'s lifecycle (Nav2's).

    The node calls :meth:`configure` while it is built, :meth:`activate` when it
    starts publishing, :meth:`deactivate` and :meth:`cleanup` when it is destroyed.
    """

    @abstractmethod
    def configure(self, node: Node, name: str, emit: Callable[[RawFrame], None]) -> None:
        """Declare parameters under ``<name>.`` on ``node`` and remember ``emit``.

        Raises:
            ValueError: unusable parameters (one-line reason).
        """
        super().configure(node, name)

    def activate(self) -> None:
        """Start delivering frames."""

    def deactivate(self) -> None:
        """Stop delivering frames."""

    @property
    def finished(self) -> bool:
        """True when a finite source has delivered all its frames."""
        return False


class TopicSource(CameraSource):
    """A driver's depth image + camera_info (best-effort sensor QoS; the latest camera_info is used), and with
    ``topic.color_topic`` its registered colour image, paired with the depth image of the same stamp
    (:class:`grasp_bridge.sync.StampSynchronizer`; a depth image waits for its colour, at most the 10 latest).
    ``topic.queue_size``: the keep-last depth of the image subscriptions (the reader hands the oldest kept
    frame first, so a node that falls behind works through up to that many old frames; 1 = the newest)."""

    def configure(self, node: Node, name: str, emit: Callable[[RawFrame], None]) -> None:
        super().configure(node, name, emit)
        self._node, self._emit = node, emit
        c = declare_config(node, TopicSourceConfig, prefix=f"{name}.")
        depth_topic, info_topic = c.depth_topic, c.info_topic
        if c.queue_size < 1:
            raise ValueError(f"{name}.queue_size must be >= 1, got {c.queue_size}")
        self._info: CameraIntrinsics | None = None
        self._info_error: str | None = None
        self._active = False
        self._sync = None
        depth_cb = self._on_image
        if c.color_topic:
            from grasp_bridge.sync import StampSynchronizer

            self._sync = StampSynchronizer(2, self._on_pair, queue_size=10)
            depth_cb = lambda m: self._sync.add(0, m)  # noqa: E731
        self._subs = [
            node.create_subscription(CameraInfo, info_topic, self._on_info, sensor_qos()),
            node.create_subscription(Image, depth_topic, depth_cb, sensor_qos(c.queue_size)),
        ]
        if c.color_topic:
            self._subs.append(node.create_subscription(Image, c.color_topic, lambda m: self._sync.add(1, m),
                                                       sensor_qos(c.queue_size)))
        self._info_topic = self._subs[0].topic_name

    def activate(self) -> None:
        self._active = True

    def deactivate(self) -> None:
        self._active = False

    def cleanup(self) -> None:
        for sub in self._subs:
            self._node.destroy_subscription(sub)
        self._subs = []

    def _on_info(self, msg: CameraInfo) -> None:
        try:
            self._info, self._info_error = camera_info_to_intrinsics(msg, self._info_topic), None
        except CameraInfoError as exc:
            self._info, self._info_error = None, str(exc)

    def _on_pair(self, msg: Image, colour: Image) -> None:
        try:
            if colour.encoding not in ("rgb8", "bgr8"):
                raise ValueError(f"colour encoding {colour.encoding!r} is not rgb8/bgr8")
            rgb = image_to_numpy(colour)
            if colour.encoding == "bgr8":
                rgb = np.ascontiguousarray(rgb[:, :, ::-1])
            if rgb.shape[:2] != (msg.height, msg.width):
                raise ValueError(f"colour {rgb.shape[1]}x{rgb.shape[0]} is not registered to depth "
                                 f"{msg.width}x{msg.height}")
        except ValueError as exc:
            self._emit(RawFrame(None, msg.encoding, self._info, msg.header.stamp, msg.header.frame_id,
                                error=("colour", str(exc))))
            return
        self._on_image(msg, rgb)

    def _on_image(self, msg: Image, rgb: np.ndarray | None = None) -> None:
        if not self._active:
            return
        received = time.time_ns()
        stamp, frame = msg.header.stamp, msg.header.frame_id
        if self._info is None:
            why = self._info_error or f"no camera_info received yet on {self._info_topic}"
            self._emit(RawFrame(None, msg.encoding, None, stamp, frame, error=("camera_info", why)))
            return
        try:
            arr = image_to_numpy(msg, copy=False)  # a view: the node's conversion to metres copies
        except ValueError as exc:
            cause = "encoding" if "encoding" in str(exc) else "empty" if "empty" in str(exc) else "layout"
            self._emit(RawFrame(None, msg.encoding, self._info, stamp, frame, error=(cause, str(exc))))
            return
        self._emit(RawFrame(arr, msg.encoding, self._info, stamp, frame, rgb=rgb, received_ns=received))


class ReplaySource(CameraSource):
    """Depth frames (and colour beside them) from a folder, published at ``replay.rate_hz``."""

    def configure(self, node: Node, name: str, emit: Callable[[RawFrame], None]) -> None:
        super().configure(node, name, emit)
        self._node, self._emit = node, emit
        c = declare_config(node, ReplaySourceConfig, prefix=f"{name}.")
        folder, self._intr_path, rate = c.folder, c.intrinsics, c.rate_hz
        self._loop, self._wait = c.loop, c.wait_for_subscribers
        if not folder:
            raise ValueError(f"parameter {name}.folder is empty: set the folder of depth frames to replay")
        if rate <= 0:
            raise ValueError(f"parameter {name}.rate_hz must be > 0, got {rate}")
        self.frames: list[Path] = list_depth_frames(folder)  # FrameError (a ValueError) when none
        self._intr: CameraIntrinsics | None = load_camera_info_yaml(self._intr_path) if self._intr_path else None
        self._next, self._done = 0, False
        self._period = 1.0 / rate
        self._timer = None

    def activate(self) -> None:
        self._timer = self._node.create_timer(self._period, self._tick)

    def deactivate(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def cleanup(self) -> None:
        if self._timer is not None:
            self._node.destroy_timer(self._timer)
            self._timer = None

    @property
    def finished(self) -> bool:
        return self._done

    def _tick(self) -> None:
        if self._done:
            return
        if self._wait and not self._node.has_subscribers():
            return
        path = self.frames[self._next]
        self._next += 1
        if self._next == len(self.frames):
            if self._loop:
                self._next = 0
            else:
                self._done = True
                self.deactivate()
        stamp = self._node.get_clock().now().to_msg()  # the capture: before the file is read
        try:
            depth, encoding = load_depth_native(path)  # a 16-bit PNG stays millimetres, as a driver sends it
            colour = find_colour(path)
            rgb = load_rgb(colour) if colour is not None else None
            received = time.time_ns()
        except (ValueError, OSError) as exc:  # FrameError, and what a corrupt file raises in the readers
            why = str(exc) if path.name in str(exc) else f"{path.name}: {exc}"
            self._emit(RawFrame(None, "32FC1", None, error=(f"file {path.name}", f"{why} (in {path.parent})")))
        else:
            h, w = depth.shape
            intr = self._intr or CameraIntrinsics.default_for(w, h)
            if rgb is not None and rgb.shape[:2] != depth.shape:
                rgb = None
            self._emit(RawFrame(depth, encoding, intr, stamp, "", rgb, received_ns=received))
        if self._done:
            self._node.get_logger().info(f"replay finished: {len(self.frames)} frame(s) from {path.parent}")


def load_source(name: str) -> CameraSource:
    """Instantiate the camera source plugin ``name`` from the ``grasp_camera.sources`` entry points.

    ``name`` may also be ``module:Class``. Raises ValueError when it is unknown.
    """
    return load_plugin(ENTRY_POINT_GROUP, name, {"topic": TopicSource, "replay": ReplaySource})()

