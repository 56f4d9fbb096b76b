"""Grasp detector plugins of :class:`grasp_detector.detector_node.DetectorNode`.

A detector is found by name in the entry-point group ``grasp_detector.detectors``
and implements :class:`DetectorPlugin` (a :class:`grasp_bridge.plugins.Plugin`:
configure → activate → deactivate → cleanup, as Nav2's plugins); the node knows
only this interface.
"""
from __future__ import annotations

from abc import abstractmethod

import numpy as np
from grasp_bridge.params import declare_config
from grasp_bridge.plugins import Plugin, load_plugin
from grasp_core.camera import CameraIntrinsics
from grasp_core.config import OnnxDetectorConfig
from grasp_core.inference import Detection, GraspDetector
from grasp_core.model_card import execution_providers, provider_fallback

ENTRY_POINT_GROUP = "grasp_detector.detectors"


class DetectorPlugin(Plugin):
    """Interface of a detector plugin: :class:`grasp_bridge.plugins.Plugin`'s lifecycle (Nav2's).

    The node calls :meth:`configure` while it is built, :meth:`activate` before it
    subscribes to images, :meth:`detect` per frame while active, :meth:`deactivate`
    and :meth:`cleanup` when it is destroyed.
    """

    @abstractmethod
    def configure(self, node, name: str, model: str) -> None:
        """Load the model; declare the plugin's own parameters under ``<name>.`` on ``node``.

        Raises:
            ValueError (e.g. ``ModelCardError``): no usable model (one-line reason: missing or
                truncated model file, card without a required field, ...).
        """
        super().configure(node, name)

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Identifier written to each candidate's ``model_id``."""

    @property
    def needs_rgb(self) -> bool:
        """Whether :meth:`detect` needs a colour image."""
        return False

    @abstractmethod
    def detect(self, depth: np.ndarray, rgb: np.ndarray | None, intrinsics: CameraIntrinsics,
               top_k: int, min_distance_px: float, quality_threshold: float) -> Detection:
        """Detect grasps on (H, W) float32 depth in metres (NaN holes), rgb (H, W, 3) uint8 or None.

        Raises:
            grasp_core.depth.DepthError, ValueError: unusable input.
        """

    def publish_debug(self, detection: Detection, header, image_width: int, image_height: int) -> None:
        """Publish the plugin's own debug output of one published detection (default: nothing)."""

    def annotate(self, image_bgr: np.ndarray, detection: Detection) -> np.ndarray:
        """Draw the plugin's own overlay on the annotated (H, W, 3) uint8 BGR image (default: unchanged)."""
        return image_bgr


class OnnxModelDetector(DetectorPlugin):
    """A plugin around one ONNX Runtime model wrapper of grasp_core (its ``detect`` and ``name``).

    Subclasses name the wrapper in :meth:`open`; the plugin declares the shared parameters, opens the
    model, uses its name as ``model_id``, passes frames through and releases the session at cleanup.

    Own parameters: ``<name>.threads`` (int, 0 = ONNX Runtime's default),
    ``<name>.verify`` (bool, check the model file's sha256 against its card),
    ``<name>.execution_provider`` (``cpu`` | ``cuda`` | ``tensorrt``; one warning and the next
    provider, the CPU last, where this ONNX Runtime lacks it or cannot start it:
    :func:`grasp_core.model_card.execution_providers`).
    """

    @abstractmethod
    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        """The grasp_core wrapper of ``model`` ('' = the plugin's default model) on ``providers``."""

    def configure(self, node, name: str, model: str) -> None:
        super().configure(node, name, model)
        c = declare_config(node, OnnxDetectorConfig, prefix=f"{name}.")
        providers, warning = execution_providers(c.execution_provider)
        if warning:
            node.get_logger().warning(warning)
        self.detector = self.open(model, c.threads, c.verify, providers)
        session = getattr(self.detector, "session", None) or self.detector.clf.session  # PropGQCNN: its classifier's
        fallback = provider_fallback(session, providers)
        if fallback:
            node.get_logger().warning(fallback)
        self.providers = session.get_providers()
        self._model_id = self.detector.name

    def cleanup(self) -> None:
        self.detector = None  # releases the ONNX Runtime session

    @property
    def model_id(self) -> str:
        return self._model_id

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        return self.detector.detect(depth, intrinsics=intrinsics, top_k=top_k, min_distance_px=min_distance_px,
                                    quality_threshold=quality_threshold)


class OnnxGenerativeDetector(OnnxModelDetector):
    """A GG-CNN-family network run by ONNX Runtime (:class:`grasp_core.inference.GraspDetector`).

    Own parameters: ``<name>.threads``, ``<name>.verify``, ``<name>.execution_provider`` (:class:`OnnxModelDetector`).
    """

    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        return GraspDetector(model or None, verify=verify, threads=threads, providers=providers)

    @property
    def needs_rgb(self) -> bool:
        return self.detector.needs_rgb

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        return self.detector.detect(depth, rgb=rgb, intrinsics=intrinsics, top_k=top_k,
                                    min_distance_px=min_distance_px, quality_threshold=quality_threshold)


def load_detector(name: str) -> DetectorPlugin:
    """Instantiate detector plugin ``name`` (entry point, or ``module:Class``). Raises ValueError."""
    return load_plugin(ENTRY_POINT_GROUP, name, {"onnx_generative": OnnxGenerativeDetector,
                                                 "onnx_ssd": OnnxSSDDetector, "onnx_msstn": OnnxMSSTNDetector,
                                                 "prop_gqcnn": PropGQCNNDetector,
                                                 "onnx_gqstn": OnnxGQSTNDetector,
                                                 "onnx_detseg": OnnxDetSegDetector})()


def stages_to_msg(stages: dict, transform, header, image_width: int, image_height: int, model_id: str):
    """One ``~/stages`` message (grasp_interfaces/GraspCandidateArray) of a cascade's intermediate candidates,
    stage by stage, each with ``model_id`` ``<model_id>/<stage>``; None without stages.

    Args:
        stages: {stage: (grasps (list of Grasp, network px), depths (N,) float, m)}, in stage order.
        transform: the detection's network → source pixel map. header: the frame's header.
    """
    from grasp_bridge.candidates import detection_to_msg

    out = None
    for stage, (grasps, depths) in stages.items():
        det = Detection(grasps, depths, [None] * len(grasps), None, transform)
        msg = detection_to_msg(det, header, image_width, image_height, f"{model_id}/{stage}")
        if out is None:
            out = msg
        else:
            out.candidates.extend(msg.candidates)
    return out


class OnnxSSDDetector(OnnxModelDetector):
    """The SSD grasp detector of the few-shot shape classifier (:class:`grasp_core.shapes.detector.SSDGraspDetector`).

    Class-agnostic: quality = the SSD's grasp probability; depth only, ONNX Runtime only.
    Use with ``detector: onnx_ssd`` and ``model: ssd_shapes``.

    Own parameters: ``<name>.threads``, ``<name>.verify``, ``<name>.execution_provider`` (:class:`OnnxModelDetector`).
    """

    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        from grasp_core.shapes.detector import SSDGraspDetector

        return SSDGraspDetector(model or "ssd_shapes", verify=verify, threads=threads, providers=providers)


class PropGQCNNDetector(OnnxModelDetector):
    """Prop+GQ-CNN (Dex-Net 2.0's policy; Gariépy et al.'s sampling baseline): antipodal edge pairs on
    the depth image ranked by the GQ-CNN robustness classifier, refined by the cross-entropy method
    (:class:`grasp_core.prop_gqcnn.PropGQCNN`); quality = P(robust). Depth only, ONNX Runtime only.
    Use with ``detector: prop_gqcnn`` and ``model: gqcnn_synth`` (a ``grasp_robustness_card/1`` card).

    Own parameters: ``<name>.threads``, ``<name>.verify``, ``<name>.execution_provider`` (:class:`OnnxModelDetector`);
    the sampling budget ``<name>.n_edges``, ``<name>.n_candidates``, ``<name>.cem_iterations``,
    ``<name>.cem_samples``, ``<name>.seed`` (:class:`grasp_core.config.PropSamplingConfig`).
    """

    def configure(self, node, name: str, model: str) -> None:
        import dataclasses

        from grasp_core.config import PropSamplingConfig

        super().configure(node, name, model)
        budget = declare_config(node, PropSamplingConfig, prefix=f"{name}.")
        if min(budget.n_edges, budget.n_candidates, budget.cem_samples) < 1 or budget.cem_iterations < 0:
            raise ValueError(f"{name}: n_edges, n_candidates and cem_samples must be >= 1 and cem_iterations >= 0, "
                             f"got {budget}")
        self.detector.cfg = dataclasses.replace(self.detector.cfg, **dataclasses.asdict(budget))

    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        from grasp_core.prop_gqcnn import PropGQCNN
        from grasp_core.robust_metric import RobustnessClassifier

        return PropGQCNN(RobustnessClassifier(model or "gqcnn_synth", threads=threads, verify=verify,
                                              providers=providers))

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        if intrinsics is None:
            raise ValueError("prop_gqcnn needs the camera intrinsics (focal length)")
        return super().detect(depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold)


#: Colours (BGR) of the multi-stage STN's stages in the annotated image.
STAGE_COLOURS = {"crop": (0, 255, 255), "rotation": (255, 255, 0), "scale_crop": (255, 0, 255)}


class OnnxMSSTNDetector(OnnxModelDetector):
    """The multi-stage spatial-transformer detector (Park & Chun 2018; :class:`grasp_core.nn.msstn_onnx.MSSTNDetector`).

    Publishes on ``/grasp_candidates`` (through the node) the best candidate and the others ranked by
    classifier score (max-pooling first), and every stage's intermediate candidates on
    ``~/stages`` (grasp_interfaces/GraspCandidateArray, reliable): per stage, the K candidates in
    candidate order with ``model_id`` ``<model>/<stage>`` (``crop``: STN_crop's window, axis-aligned,
    width = length = window side; ``rotation``: the window turned to STN_rotation's angle;
    ``scale_crop``: the final rectangle), ``quality`` = the candidate's classifier probability,
    ``pose_valid`` false. They are drawn in the annotated image too (crop yellow, rotation cyan,
    final magenta). Use with ``detector: onnx_msstn`` and ``model: msstn_synth``.

    Own parameters: ``<name>.threads``, ``<name>.verify``, ``<name>.execution_provider`` (:class:`OnnxModelDetector`).
    """

    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        from grasp_core.nn.msstn_onnx import MSSTNDetector

        return MSSTNDetector(model or "msstn_synth", verify=verify, threads=threads, providers=providers)

    def configure(self, node, name: str, model: str) -> None:
        from grasp_bridge.qos import result_qos

        from grasp_interfaces.msg import GraspCandidateArray

        super().configure(node, name, model)
        self.stages_pub = node.create_publisher(GraspCandidateArray, "~/stages", result_qos())

    def cleanup(self) -> None:
        super().cleanup()
        if getattr(self, "stages_pub", None) is not None:
            self.node.destroy_publisher(self.stages_pub)
            self.stages_pub = None

    def stages_message(self, detection, header, image_width: int, image_height: int):
        """The ``~/stages`` message of one detection (every stage's candidates, stage by stage)."""
        stages = {k: (g, np.full(len(g), np.nan)) for k, g in getattr(detection, "stages", {}).items()}
        return stages_to_msg(stages, detection.transform, header, image_width, image_height, self._model_id)

    def publish_debug(self, detection, header, image_width: int, image_height: int) -> None:
        msg = self.stages_message(detection, header, image_width, image_height)
        if msg is not None and self.stages_pub is not None:
            self.stages_pub.publish(msg)

    def annotate(self, image_bgr: np.ndarray, detection) -> np.ndarray:
        import cv2

        img = image_bgr
        for stage, grasps in getattr(detection, "stages", {}).items():
            for g in grasps:
                p = np.round(g.polygon()).astype(np.int32)
                cv2.polylines(img, [p], True, STAGE_COLOURS.get(stage, (255, 255, 255)), 1, cv2.LINE_AA)
                if stage == "crop":
                    cv2.putText(img, f"{g.quality:.2f}", (int(p[:, 0].min()), int(p[:, 1].min()) - 2),
                                cv2.FONT_HERSHEY_SIMPLEX, 0.35, STAGE_COLOURS["crop"], 1, cv2.LINE_AA)
        return img


#: Colours (BGR) of GQ-STN's stage regions in the annotated image.
GQSTN_COLOURS = {"trans": (0, 255, 255), "rot": (255, 255, 0), "scale": (255, 0, 255)}


class OnnxGQSTNDetector(OnnxModelDetector):
    """GQ-STN (Gariépy et al., IROS 2019; :class:`grasp_core.nn.gqstn_onnx.GQSTNDetector`) with its fallback chain.

    Per frame GQ-STN's one grasp, quality = its P(robust), with the gripper depth z (``GraspCandidate.depth``
    stays the measured surface depth; z is in the ``~/stages`` message's ``scale`` candidate ``depth`` field as
    surface + z). When P(robust) < ``<name>.fallback_threshold`` and ``<name>.fallback`` names a detector plugin
    (default ``prop_gqcnn``: Prop+GQ-CNN's sampling, model ``<name>.fallback_model``), that plugin's grasps are
    published instead (the paper's suggestion, §V-D); :attr:`fallback_calls` counts its runs.

    Debug output: ``~/stages`` (grasp_interfaces/GraspCandidateArray): the regions of the three intermediate
    images in source px (``<model>/trans``, ``/rot``, ``/scale``, quality = P(robust)); ``~/stage_images/trans``,
    ``~/stage_images/rot`` (S × S) and ``~/stage_images/scale`` (32 × 32) (sensor_msgs/Image 32FC1, metres, the
    frame's header). Use with ``detector: onnx_gqstn`` and ``model: gqstn_synth``.

    Own parameters (:class:`grasp_core.config.OnnxDetectorConfig`, :class:`grasp_core.config.GQSTNFallbackConfig`):
    ``<name>.threads``, ``<name>.verify``,
    ``<name>.execution_provider``, ``<name>.fallback``, ``<name>.fallback_model``, ``<name>.fallback_threshold``,
    ``<name>.fallback_max_opening_m`` (the fallback also runs for a grasp wider than the gripper opens);
    the fallback plugin's own under ``<name>_fallback.``.
    """

    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        from grasp_core.nn.gqstn_onnx import GQSTNDetector

        return GQSTNDetector(model or "gqstn_synth", verify=verify, threads=threads, providers=providers)

    def configure(self, node, name: str, model: str) -> None:
        from grasp_bridge.plugins import configure_plugin
        from grasp_bridge.qos import result_qos
        from grasp_core.config import GQSTNFallbackConfig
        from grasp_core.inference import FallbackChain
        from sensor_msgs.msg import Image

        from grasp_interfaces.msg import GraspCandidateArray

        super().configure(node, name, model)
        c = declare_config(node, GQSTNFallbackConfig, prefix=f"{name}.")
        self.threshold = float(c.fallback_threshold)
        self.fallback = None
        self.fallback_calls = 0
        if c.fallback:
            self.fallback = load_detector(c.fallback)
            configure_plugin(self.fallback, node, f"{name}_fallback", c.fallback_model)
        # grasp_core.inference.FallbackChain's rule over the fallback plugin's detect (None: GQ-STN alone)
        self.chain = FallbackChain(self.detector, self.fallback, self.threshold, c.fallback_max_opening_m)
        self.stages_pub = node.create_publisher(GraspCandidateArray, "~/stages", result_qos())
        self.image_pubs = {k: node.create_publisher(Image, f"~/stage_images/{k}", result_qos())
                           for k in ("trans", "rot", "scale")}

    def activate(self) -> None:
        from grasp_bridge.plugins import activate_plugin

        if self.fallback is not None:
            activate_plugin(self.fallback)

    def deactivate(self) -> None:
        if self.fallback is not None and self.fallback.state == "active":
            self.fallback.deactivate()
            self.fallback.state = "inactive"

    def cleanup(self) -> None:
        from grasp_bridge.plugins import shutdown_plugin

        super().cleanup()
        shutdown_plugin(self.fallback)
        self.fallback = self.chain = None
        for pub in [getattr(self, "stages_pub", None), *getattr(self, "image_pubs", {}).values()]:
            if pub is not None:
                self.node.destroy_publisher(pub)
        self.stages_pub, self.image_pubs = None, {}

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        d = self.chain.detect(depth, rgb=rgb, intrinsics=intrinsics, top_k=top_k, min_distance_px=min_distance_px,
                              quality_threshold=quality_threshold)
        self.last_gqstn, self.fallback_calls = self.chain.last_primary, self.chain.fallback_calls
        return d

    def stages_message(self, detection, header, image_width: int, image_height: int):
        """The ``~/stages`` message of the frame's GQ-STN detection (the regions of its three images)."""
        d = getattr(self, "last_gqstn", None)
        if d is None:
            return None
        surface = d.depths[0] if len(d.depths) else np.nan
        stages = {k: (g, np.full(len(g), surface + d.gripper_depth if k == "scale" else surface))
                  for k, g in d.stages.items()}
        return stages_to_msg(stages, d.transform, header, image_width, image_height, self._model_id)

    def publish_debug(self, detection, header, image_width: int, image_height: int) -> None:
        from grasp_bridge.image import numpy_to_image

        msg = self.stages_message(detection, header, image_width, image_height)
        if msg is not None and self.stages_pub is not None:
            self.stages_pub.publish(msg)
        d = getattr(self, "last_gqstn", None)
        for k, img in (d.images.items() if d is not None else ()):
            if k in self.image_pubs:
                self.image_pubs[k].publish(numpy_to_image(np.ascontiguousarray(img, np.float32), "32FC1", header))

    def annotate(self, image_bgr: np.ndarray, detection) -> np.ndarray:
        import cv2

        d = getattr(self, "last_gqstn", None)
        for stage, grasps in (d.stages.items() if d is not None else ()):
            for g in grasps:
                p = np.round(g.polygon()).astype(np.int32)
                cv2.polylines(image_bgr, [p], True, GQSTN_COLOURS.get(stage, (255, 255, 255)), 1, cv2.LINE_AA)
        return image_bgr


class OnnxDetSegDetector(OnnxModelDetector):
    """The RGB grasp detector with semantic segmentation and refinement (Ainetter & Fraundorfer, ICRA 2021;
    :class:`grasp_core.nn.detseg_onnx.DetSegDetector`).

    Each candidate on ``/grasp_candidates`` carries its object class from the segmentation in
    ``shape_label`` (a name of the card's ``detseg.class_names``, e.g. ``star``, ``bottle_standing``) and
    the class probability in ``shape_confidence`` — the same fields the shape classifier fills, so the
    executor's ``target_class`` picks by either. The class map is published on ``~/class_map``
    (sensor_msgs/Image mono8, source pixels, the frame's header; pixel value = class index into
    ``class_names``, 0 background and outside the network's crop) and the class names are drawn in the
    annotated image. Needs ``color/image_raw``. Use with ``detector: onnx_detseg`` and ``model: detseg_synth``.

    Own parameters: ``<name>.threads``, ``<name>.verify``, ``<name>.execution_provider`` (:class:`OnnxModelDetector`).
    """

    def open(self, model: str, threads: int, verify: bool, providers: list[str]):
        from grasp_core.nn.detseg_onnx import DetSegDetector

        return DetSegDetector(model or "detseg_synth", verify=verify, threads=threads, providers=providers)

    def configure(self, node, name: str, model: str) -> None:
        from grasp_bridge.qos import result_qos
        from sensor_msgs.msg import Image

        super().configure(node, name, model)
        self.class_pub = node.create_publisher(Image, "~/class_map", result_qos())
        node.get_logger().info(f"{self._model_id}: classes {', '.join(self.detector.class_names)}")

    def cleanup(self) -> None:
        super().cleanup()
        if getattr(self, "class_pub", None) is not None:
            self.node.destroy_publisher(self.class_pub)
            self.class_pub = None

    @property
    def needs_rgb(self) -> bool:
        return True

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        return self.detector.detect(depth, rgb=rgb, intrinsics=intrinsics, top_k=top_k,
                                    min_distance_px=min_distance_px, quality_threshold=quality_threshold)

    def publish_debug(self, detection, header, image_width: int, image_height: int) -> None:
        from grasp_bridge.image import numpy_to_image
        from grasp_core.nn.detseg_onnx import class_image

        cm = getattr(detection, "class_map", None)
        if cm is not None and self.class_pub is not None:
            img = class_image(cm, detection.transform, (image_height, image_width))
            self.class_pub.publish(numpy_to_image(img, "mono8", header))

    def annotate(self, image_bgr: np.ndarray, detection) -> np.ndarray:
        import cv2

        for g, (name, conf) in zip(detection.grasps, getattr(detection, "classes", []), strict=False):
            if name:
                cv2.putText(image_bgr, f"{name} {conf:.2f}", (int(g.u) + 6, int(g.v) - 6), cv2.FONT_HERSHEY_SIMPLEX,
                            0.4, (255, 255, 255), 1, cv2.LINE_AA)
        return image_bgr
