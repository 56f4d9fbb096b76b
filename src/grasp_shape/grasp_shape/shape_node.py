"""``grasp_shape_classifier`` node: labels grasp candidates with the grasped object's shape (few-shot).

Method: :mod:`grasp_core.shapes` — by default (``variant: object_shape``) the object under each
candidate is segmented from the depth image (heights above the table) and its rotation-invariant
silhouette descriptor (:func:`grasp_core.shapes.roi.object_silhouettes`) is classified by PCA +
RBF-SVM fitted on the support set (Yokota et al.'s few-shot classifier; docs/shapes.md: the
variant that meets the accuracy targets). The paper's features (``variant: refined_roi``): each
candidate is attached to the SSD grasp detector's best default box near its centre; that
detection's grasp score is back-propagated with guided backpropagation to the SSD's 10 base layers
(Eq. 1-2); the refined activations of the layer chosen on the support set, in a window turned to the
grasp's axis (:mod:`grasp_core.shapes.roi`), are classified. The saved state records the variant,
and a state of another variant is ignored at start.

Run-time needs: PyTorch (the guided backward pass needs gradients; the SSD
weights come from the model's ``.npz``, no pickle) and scikit-learn. Without
PyTorch the node exits at start with one line
``grasp_shape_classifier: error: ... needs PyTorch ...``. The rest of the stack
(``./run.sh``) does not use this node and does not need PyTorch.

Parameters (config/grasp.yaml, section ``grasp_shape_classifier``):
    image_topic (str, "depth/image"): depth image (32FC1 m or 16UC1 mm) the candidates were detected on.
    candidates_topic (str, "/grasp_candidates"): input candidates (any detector's).
    output_topic (str, "/grasp_candidates_labelled"): the same candidates with shape_label, shape_confidence.
    model (str, "ssd_shapes"): SSD model card name or path.
    state_file (str): classifier state path without suffix (``.npz`` + ``.json``), loaded at start when
        present and written after every successful support-set load; ``~`` is expanded.
    support_folder (str, ""): a support folder to load at start when no state file exists.
    pca_dims (int, 20): PCA components per layer (the experiments' Exp. 2-5 setting).
    variant (str, "object_shape"): the features — ``object_shape`` (the depth-segmented object's
        rotation-invariant silhouette descriptor; the most accurate, docs/shapes.md), ``object_depth`` (its
        height crop turned to its major axis) or ``refined_roi`` (the paper's refined SSD activations).
    match_radius_px (float, 12.0): candidate ↔ SSD detection distance limit, network px.
    queue_size (int, 5): stamp pairing depth.
    threads (int, 1): PyTorch threads.

Subscribes: ``image_topic`` (sensor_msgs/Image, sensor-data QoS), ``candidates_topic``
(grasp_interfaces/GraspCandidateArray, reliable); paired by exact stamp.
Publishes: ``output_topic`` (GraspCandidateArray, reliable): every input message, once, with the
labels filled ("" and 0 when no support set is loaded or no SSD detection is near a candidate).
Service: ``~/load_support_set`` (grasp_interfaces/srv/LoadSupportSet): retrain from a folder
(``<folder>/<label>/<depth image>``) in seconds, without a restart.

Unusable input (bad encoding, all-NaN depth, no support set yet) is logged once per cause
at WARN, repeats at DEBUG; the node keeps serving.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from grasp_bridge.image import image_to_numpy
from grasp_bridge.log import OncePerCause
from grasp_bridge.params import declare_config
from grasp_bridge.qos import result_qos, sensor_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.sync import StampSynchronizer
from grasp_core.config import ShapeClassifierConfig
from grasp_core.depth import DEPTH_ENCODINGS, DepthError, depth_to_metres
from rclpy.node import Node
from sensor_msgs.msg import Image

from grasp_interfaces.msg import GraspCandidateArray
from grasp_interfaces.srv import LoadSupportSet

DEFAULT_STATE = ShapeClassifierConfig().state_file


class ShapeClassifierNode(Node):
    """See the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_shape_classifier", **kwargs)
        cfg = declare_config(self, ShapeClassifierConfig)
        image_topic, cand_topic, out_topic, model = cfg.image_topic, cfg.candidates_topic, cfg.output_topic, cfg.model
        self.state_file = Path(cfg.state_file).expanduser()
        support, pca_dims, self.radius = cfg.support_folder, cfg.pca_dims, cfg.match_radius_px
        queue, threads = cfg.queue_size, cfg.threads
        if pca_dims < 1 or self.radius <= 0 or queue < 1 or threads < 1:
            raise ValueError("pca_dims, queue_size and threads must be >= 1 and match_radius_px > 0")
        try:
            import sklearn  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise ValueError(f"the shape classifier needs PyTorch (guided backpropagation) and scikit-learn; "
                             f"{exc.name} is missing (pip install torch==2.13.0 scikit-learn)") from exc
        from grasp_core.shapes.fewshot import FewShotError
        from grasp_core.shapes.support import ShapeClassifier

        self._FewShotError = FewShotError
        self.classifier = ShapeClassifier(model, pca_dims=pca_dims, threads=threads, variant=cfg.variant)
        self._log_once = OncePerCause(self.get_logger())
        self.processed = 0
        if self.state_file.with_suffix(".json").is_file():
            try:
                meta = self.classifier.load(self.state_file)
                self.get_logger().info(f"loaded classifier state {self.state_file} (labels {meta['classes']}, "
                                       f"layer {meta['selected_layer']})")
            except FewShotError as exc:
                self.get_logger().warning(f"ignoring classifier state: {exc}")
        if not self.classifier.ready and support:
            self._load(support)
        self.pub = self.create_publisher(GraspCandidateArray, out_topic, result_qos())
        self.sync = StampSynchronizer(2, self.on_pair, queue_size=queue)
        self.create_subscription(Image, image_topic, lambda m: self.sync.add(0, m), sensor_qos(queue))
        self.create_subscription(GraspCandidateArray, cand_topic, lambda m: self.sync.add(1, m), result_qos())
        self.create_service(LoadSupportSet, "~/load_support_set", self.on_load_support_set)
        self.get_logger().info(f"shape classifier on {cand_topic} + {image_topic} → {out_topic}, model "
                               f"{self.classifier.model_name}, "
                               f"{'ready' if self.classifier.ready else 'no support set yet'}")

    def warn_once(self, cause: str, message: str) -> None:
        self._log_once(cause, f"{cause}: {message}")

    def _load(self, folder: str):
        """Fit on a support folder and save the state. Returns (report or None, message)."""
        try:
            rep = self.classifier.fit_folder(folder)
        except self._FewShotError as exc:
            self.get_logger().error(f"support set {folder}: {exc}")
            return None, str(exc)
        self.classifier.save(self.state_file, folder)
        msg = (f"support set {folder}: {rep.n_images} images ({rep.skipped} without a detection), labels "
               f"{rep.labels}, layer {rep.selected_layer} (support accuracy {rep.support_accuracy:.3f}), "
               f"{rep.seconds:.1f} s; state saved to {self.state_file}")
        self.get_logger().info(msg)
        return rep, msg

    def on_load_support_set(self, request, response):
        rep, msg = self._load(request.folder)
        response.success = rep is not None
        response.message = msg
        if rep is not None:
            response.n_images = rep.n_images
            response.labels = list(rep.labels)
            response.selected_layer = rep.selected_layer
            response.support_accuracy = float(rep.support_accuracy)
        return response

    def on_pair(self, img: Image, cands: GraspCandidateArray) -> None:
        t0 = time.perf_counter()
        for c in cands.candidates:
            c.shape_label, c.shape_confidence = "", 0.0
        labelled = self._label(img, cands)
        self.pub.publish(cands)
        self.processed += 1
        self.get_logger().debug(f"{len(cands.candidates)} candidate(s), {labelled} labelled, "
                                f"{1e3 * (time.perf_counter() - t0):.0f} ms")

    def _label(self, img: Image, cands: GraspCandidateArray) -> int:
        """Fill the labels in place; returns how many were labelled."""
        if not cands.candidates:
            return 0
        if not self.classifier.ready:
            self.warn_once("no_support_set", "no support set loaded: candidates are republished unlabelled "
                                             "(call ~/load_support_set)")
            return 0
        if img.encoding not in DEPTH_ENCODINGS:
            self.warn_once("encoding", f"{img.encoding!r} is not a depth encoding {DEPTH_ENCODINGS}")
            return 0
        try:
            depth = depth_to_metres(image_to_numpy(img), img.encoding)
            pts = np.array([[c.center_u, c.center_v] for c in cands.candidates], np.float64)
            labels, conf = self.classifier.classify(depth, pts, self.radius)
        except (ValueError, DepthError) as exc:  # FewShotError is a ValueError
            self.warn_once("classify", str(exc))
            return 0
        n = 0
        for c, lab, p in zip(cands.candidates, labels, conf, strict=True):
            c.shape_label, c.shape_confidence = lab, float(p)
            n += bool(lab)
        if n < len(labels):
            self.warn_once("no_detection", "some candidates have no SSD grasp detection within "
                                           f"{self.radius} px: left unlabelled")
        return n


def main(args: list[str] | None = None) -> int:
    return spin_node(ShapeClassifierNode, "grasp_shape_classifier", args)


if __name__ == "__main__":
    sys.exit(main())
