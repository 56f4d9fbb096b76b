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


class OnnxGenerativeDetector(DetectorPlugin):
    """A GG-CNN-family network run by ONNX Runtime (:class:`grasp_core.inference.GraspDetector`).

    Own parameters: ``<name>.threads`` (int, 0 = ONNX Runtime's default),
    ``<name>.verify`` (bool, check the model file's sha256 against its card).
    """

    def configure(self, node, name: str, model: str) -> None:
        super().configure(node, name, model)
        c = declare_config(node, OnnxDetectorConfig, prefix=f"{name}.")
        threads, verify = c.threads, c.verify
        self.detector = GraspDetector(model or None, verify=verify, threads=threads)
        self._model_id = self.detector.name

    def cleanup(self) -> None:
        self.detector = None  # releases the ONNX Runtime session

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def needs_rgb(self) -> bool:
        return self.detector.needs_rgb

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        return self.detector.detect(depth, rgb=rgb, intrinsics=intrinsics, top_k=top_k,
                                    min_distance_px=min_distance_px, quality_threshold=quality_threshold)


def load_detector(name: str) -> DetectorPlugin:
    """Instantiate detector plugin ``name`` (entry point, or ``module:Class``). Raises ValueError."""
    return load_plugin(ENTRY_POINT_GROUP, name, {"onnx_generative": OnnxGenerativeDetector})()


class OnnxSSDDetector(DetectorPlugin):
    """The SSD grasp detector of the few-shot shape classifier (:class:`grasp_core.shapes.detector.SSDGraspDetector`).

    Class-agnostic: quality = the SSD's grasp probability; depth only, ONNX Runtime only.
    Use with ``detector: onnx_ssd`` and ``model: ssd_shapes``.

    Own parameters: ``<name>.threads`` (int, 0 = ONNX Runtime's default),
    ``<name>.verify`` (bool, check the model file's sha256 against its card).
    """

    def configure(self, node, name: str, model: str) -> None:
        from grasp_core.shapes.detector import SSDGraspDetector

        super().configure(node, name, model)
        c = declare_config(node, OnnxDetectorConfig, prefix=f"{name}.")
        threads, verify = c.threads, c.verify
        self.detector = SSDGraspDetector(model or "ssd_shapes", verify=verify, threads=threads)
        self._model_id = self.detector.name

    def cleanup(self) -> None:
        self.detector = None  # releases the ONNX Runtime session

    @property
    def model_id(self) -> str:
        return self._model_id

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        return self.detector.detect(depth, intrinsics=intrinsics, top_k=top_k, min_distance_px=min_distance_px,
                                    quality_threshold=quality_threshold)


class PropGQCNNDetector(DetectorPlugin):
    """Prop+GQ-CNN (Dex-Net 2.0's policy; Gariépy et al.'s sampling baseline): antipodal edge pairs on
    the depth image ranked by the GQ-CNN robustness classifier, refined by the cross-entropy method
    (:class:`grasp_core.prop_gqcnn.PropGQCNN`); quality = P(robust). Depth only, ONNX Runtime only.
    Use with ``detector: prop_gqcnn`` and ``model: gqcnn_synth`` (a ``grasp_robustness_card/1`` card).

    Own parameters: ``<name>.threads`` (int, 0 = ONNX Runtime's default),
    ``<name>.verify`` (bool, check the model file's sha256 against its card).
    """

    def configure(self, node, name: str, model: str) -> None:
        from grasp_core.prop_gqcnn import PropGQCNN
        from grasp_core.robust_metric import RobustnessClassifier

        super().configure(node, name, model)
        c = declare_config(node, OnnxDetectorConfig, prefix=f"{name}.")
        self.policy = PropGQCNN(RobustnessClassifier(model or "gqcnn_synth", threads=c.threads, verify=c.verify))
        self._model_id = self.policy.name

    def cleanup(self) -> None:
        self.policy = None  # releases the ONNX Runtime session

    @property
    def model_id(self) -> str:
        return self._model_id

    def detect(self, depth, rgb, intrinsics, top_k, min_distance_px, quality_threshold) -> Detection:
        if intrinsics is None:
            raise ValueError("prop_gqcnn needs the camera intrinsics (focal length)")
        return self.policy.detect(depth, intrinsics=intrinsics, top_k=top_k, min_distance_px=min_distance_px,
                                  quality_threshold=quality_threshold)
