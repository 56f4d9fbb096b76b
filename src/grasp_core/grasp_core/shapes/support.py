"""Support sets on disk and the complete shape classifier (SSD features + few-shot SVMs).

Support folder layout: ``<folder>/<label>/<image>`` — one subfolder per shape label,
each with depth images of that shape (:func:`grasp_core.frames.load_depth` formats:
``.npy`` float metres, ``.tif``/``.tiff`` float32 metres or uint16 mm, 16-bit ``.png`` mm).
A support image contributes its best SSD detection (highest grasp score); with an object-level
variant (:data:`OBJECT_VARIANTS`), the object nearest the image centre
(:func:`grasp_core.shapes.roi.central_object_point`; a support image shows the part alone).

Requires PyTorch (the SSD, guided backpropagation) and scikit-learn.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..depth import DepthError, inpaint_depth
from ..frames import FrameError, is_depth_file, load_depth
from ..model_card import load_card, sha256_file
from . import roi
from .data import normalise_depth_image
from .fewshot import FewShotClassifier, FewShotError
from .refine import ShapeFeatureExtractor, box_for_point
from .roi import central_object_point, object_crops, object_silhouettes
from .ssd import LAYER_NAMES, nms

#: The object-level feature variants of :class:`ShapeClassifier` (beside the SSD's
#: :data:`~grasp_core.shapes.refine.VARIANTS`): the segmented object's height crop turned to its major
#: axis (:func:`~grasp_core.shapes.roi.object_crops`) and its rotation-invariant silhouette descriptor
#: (:func:`~grasp_core.shapes.roi.object_silhouettes`). Both work on the whole depth image, without the SSD.
OBJECT_VARIANTS = {"object_depth": object_crops, "object_shape": object_silhouettes}


def feature_definition(variant: str) -> str:
    """What a saved state's vectors were computed with, beyond the variant's name and the SSD's weights: the
    object variants' segmentation and descriptor settings (:meth:`ShapeClassifier.load` refuses a state of
    another definition; the node then fits its ``support_folder`` again). "" for the SSD's variants (the
    weights' sha256 covers them)."""
    seg = f"threshold {roi.OBJECT_THRESHOLD}, step {roi.OBJECT_STEP}"
    if variant == "object_shape":
        return (f"generic Fourier descriptor, {roi.SILHOUETTE_RINGS}x{roi.SILHOUETTE_ANGLES} polar, "
                f"{roi.SILHOUETTE_RADIAL}x{roi.SILHOUETTE_ANGULAR} coefficients, ±radial averaged; {seg}")
    if variant == "object_depth":
        return f"object height crop 32x32, window 2.2 x extent; {seg}"
    return ""


def list_support_folder(folder: str | Path) -> list[tuple[str, Path]]:
    """(label, file) of every depth image in ``folder/<label>/``, sorted.

    Raises:
        FewShotError: no such folder, fewer than two labels with images.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FewShotError(f"support folder {folder} does not exist")
    items = [(d.name, f) for d in sorted(folder.iterdir()) if d.is_dir()
             for f in sorted(d.iterdir()) if f.is_file() and is_depth_file(f)]
    labels = sorted({lab for lab, _ in items})
    if len(labels) < 2:
        raise FewShotError(f"support folder {folder} needs subfolders of depth images for at least 2 labels "
                           f"(found {labels or 'none'})")
    return items


def write_support_folder(folder: str | Path, shapes: tuple[str, ...], n_per_shape: int, seed: int = 0) -> Path:
    """Render a support set of simulated single-object 300x300 depth images (``.npy`` metres) into ``folder``."""
    from .data import render_shapes

    folder = Path(folder)
    for k, s in enumerate(shapes):
        (folder / s).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_shape):
            im = render_shapes([s], np.random.default_rng([seed, k, i]))
            np.save(folder / s / f"{s}_{i:03d}.npy", im.depth)
    return folder


def write_cell_support_folder(folder: str | Path, families: tuple[str, ...], n_per_family: int, seed: int = 500
                              ) -> Path:
    """Teach parts as a user would in the simulated pick cell: ``n_per_family`` depth images of one object of
    each procedural family (``grasp_core.sim.spawn``, e.g. ``T``) alone on the table, each at a new pose
    (scene seed ``seed + i``), from the cell's camera, saved as ``<folder>/<family>/<family>_<i>.npy``
    (float32 metres, (H, W) of the camera; NaN where the camera has no return).

    Raises:
        ValueError: an unknown family (:func:`grasp_core.sim.spawn.check_source`).
    """
    from ..depth import depth_to_metres
    from ..sim.cell import SimCell
    from ..sim.spawn import check_source

    for fam in families:
        check_source(f"procedural:{fam}")
    folder = Path(folder)
    with SimCell() as cell:
        for fam in families:
            (folder / fam).mkdir(parents=True, exist_ok=True)
            for i in range(n_per_family):
                cell.reset(1, f"procedural:{fam}", seed + i)
                raw, _ = cell.render()
                np.save(folder / fam / f"{fam}_{i:03d}.npy", depth_to_metres(raw, "32FC1"))
    return folder


def cell_support_for(root: str | Path, families: tuple[str, ...], n_per_family: int = 10) -> Path:
    """``root/<families>``: :func:`write_cell_support_folder` of ``families``, written only when it does not
    hold ``n_per_family`` images of each yet (kept for the next run). Raises ValueError: unknown family."""
    key = "+".join(families) if len(families) <= 6 else f"{len(families)}_families"
    sub = Path(root) / key
    if not all(len(list((sub / f).glob("*.npy"))) >= n_per_family for f in families):
        write_cell_support_folder(sub, families, n_per_family)
    return sub


@dataclass
class FitReport:
    """Outcome of :meth:`ShapeClassifier.fit_folder`."""

    n_images: int
    skipped: int
    labels: list[str]
    selected_layer: str
    support_accuracy: float
    seconds: float


class ShapeClassifier:
    """SSD grasp detector features + :class:`FewShotClassifier`, for the ``grasp_shape`` node.

    Args:
        model: SSD model card name or path (its ``weights_npz`` is loaded).
        pca_dims: PCA components per layer.
        threads: torch threads.
        score_threshold: minimum SSD grasp score of a support image's detection.
        variant: feature variant: default ``object_shape``, the depth-segmented object's rotation-invariant
            silhouette descriptor (:func:`grasp_core.shapes.roi.object_silhouettes`; one "layer", ``crop``;
            no SSD pass; the variant that meets the targets of docs/shapes.md), ``object_depth`` (that
            object's height crop turned to its major axis, :func:`grasp_core.shapes.roi.object_crops`), or
            one of the SSD's :data:`grasp_core.shapes.refine.VARIANTS`, e.g. ``refined_roi`` (the paper's
            guided-backprop refined activations in the grasp-aligned window, not pooled: the best of the
            SSD's features). Recorded in the saved state.

    Raises:
        ModelCardError, FileNotFoundError, ValueError: no usable model or unknown variant.
    """

    def __init__(self, model: str = "ssd_shapes", pca_dims: int = 10, threads: int = 1,
                 score_threshold: float = 0.2, variant: str = "object_shape") -> None:
        from .refine import VARIANTS

        if variant not in (*VARIANTS, *OBJECT_VARIANTS):
            raise ValueError(f"unknown feature variant {variant!r}; expected one of {(*VARIANTS, *OBJECT_VARIANTS)}")
        self.variant = variant
        self.layers = ("crop",) if variant in OBJECT_VARIANTS else LAYER_NAMES
        card = load_card(model)
        weights = card.path.parent / card.data.get("weights_npz", "")
        if not weights.is_file():
            raise FileNotFoundError(f"weights {weights} of model {card.name} not found")
        if card.data.get("input", {}).get("modality", "depth") != "depth":
            raise ValueError(f"model {card.name} does not take depth images")
        self.model_name = card.name
        self.weights_sha256 = sha256_file(weights)
        self.extractor = ShapeFeatureExtractor(weights, card.crop_size, threads)
        self.pca_dims = int(pca_dims)
        self.score_threshold = float(score_threshold)
        self.clf: FewShotClassifier | None = None

    @property
    def ready(self) -> bool:
        return self.clf is not None

    @staticmethod
    def _heights(depth: np.ndarray) -> np.ndarray:
        """Object heights of a whole (H, W) depth image (m, NaN holes): inpainted, normalised as the SSD's input."""
        return normalise_depth_image(inpaint_depth(np.asarray(depth, np.float32)))

    def support_vector(self, depth: np.ndarray) -> dict[str, np.ndarray] | None:
        """Features (:attr:`variant`) of the best detection of one support image (object variants: of its
        central object), or None when there is none."""
        if self.variant in OBJECT_VARIANTS:
            h = self._heights(depth)
            p = central_object_point(h)
            return None if p is None else {"crop": OBJECT_VARIANTS[self.variant](h, p[None])}
        x, _ = self.extractor.preprocess(depth)
        scores, boxes = self.extractor.detect(x)
        keep = nms(boxes, scores, score_threshold=self.score_threshold, top_k=1)
        if keep.size == 0:
            return None
        return self.extractor.features(x, keep, boxes[keep, :2], self.variant, boxes[keep, 4])

    def fit_folder(self, folder: str | Path) -> FitReport:
        """Fit on a support folder (module docstring); the previous state stays on failure.

        Raises:
            FewShotError: unusable folder, images, or fewer than 2 labels with a detection.
        """
        t0 = time.perf_counter()
        items = list_support_folder(folder)
        feats = {n: [] for n in self.layers}
        labels, skipped = [], 0
        for lab, path in items:
            try:
                f = self.support_vector(load_depth(path))
            except (FrameError, DepthError) as exc:
                raise FewShotError(f"support image {path}: {exc}") from exc
            if f is None:
                skipped += 1
                continue
            for n in self.layers:
                feats[n].append(f[n])
            labels.append(lab)
        if len(set(labels)) < 2:
            raise FewShotError(f"the grasp detector found grasps in support images of {sorted(set(labels))} only; "
                               "need at least 2 labels")
        clf = FewShotClassifier(self.pca_dims).fit({n: np.concatenate(v) for n, v in feats.items()}, labels,
                                                   None, list(self.layers))
        self.clf = clf
        return FitReport(len(labels), skipped, clf.classes, clf.selected,
                         float(clf.results[clf.selected].support_accuracy), time.perf_counter() - t0)

    def classify(self, depth: np.ndarray, points: np.ndarray, radius_px: float = 12.0
                 ) -> tuple[list[str], np.ndarray]:
        """Shape label and confidence of grasp candidates on one depth image.

        Each candidate (u, v) (source-image px) is attached to the highest-scoring SSD default box
        whose decoded centre is within ``radius_px`` network px (:func:`box_for_point`); that
        detection's features (:attr:`variant`, the window at the SSD box's decoded centre and angle)
        are classified with the selected layer (PCA on support ∪ this image's candidates). All
        candidates of the image share one batched guided backward pass. With :data:`OBJECT_VARIANTS` the
        object under each candidate's centre in the whole image is classified instead (no SSD detection
        needed; "" where no object is under it).

        Args:
            depth: (H, W) float32 metres, NaN holes.
            points: (N, 2) candidate centres (u, v), source px.

        Returns:
            (N labels, "" where no SSD detection is near; (N,) float32 confidences, 0 there).

        Raises:
            FewShotError: no support set loaded; DepthError: unusable depth.
        """
        if self.clf is None:
            raise FewShotError("no support set loaded")
        points = np.asarray(points, np.float64).reshape(-1, 2)
        labels, conf = [""] * len(points), np.zeros(len(points), np.float32)
        if len(points) == 0:
            return labels, conf
        if self.variant in OBJECT_VARIANTS:  # the object under each candidate, no SSD detection needed
            f = OBJECT_VARIANTS[self.variant](self._heights(depth), points)
            ok = np.nonzero(f.any(axis=1))[0]
            if ok.size:
                pred, c = self.clf.predict({"crop": f[ok]})
                for j, p, cc in zip(ok, pred, c, strict=True):
                    labels[j], conf[j] = p, float(cc)
            return labels, conf
        x, tf = self.extractor.preprocess(depth)
        un, vn = tf.from_source(points[:, 0], points[:, 1])
        scores, boxes = self.extractor.detect(x)
        idx = np.array([box_for_point(scores, boxes, float(u), float(v), radius_px) for u, v in zip(un, vn,
                                                                                                   strict=True)])
        ok = np.nonzero(idx >= 0)[0]
        if ok.size:
            f = self.extractor.features(x, idx[ok], boxes[idx[ok], :2], self.variant, boxes[idx[ok], 4])
            pred, c = self.clf.predict(f)
            for j, p, cc in zip(ok, pred, c, strict=True):
                labels[j], conf[j] = p, float(cc)
        return labels, conf

    def save(self, path: str | Path, folder: str | Path | None = None) -> None:
        """Save the classifier state (``<path>.npz`` + ``<path>.json``, no pickle)."""
        if self.clf is None:
            raise FewShotError("no support set loaded")
        self.clf.save(path, {"model": self.model_name, "weights_sha256": self.weights_sha256,
                             "variant": self.variant, "features": feature_definition(self.variant),
                             "support_folder": str(folder or "")})

    def load(self, path: str | Path) -> dict:
        """Load a saved state; returns its JSON. Raises FewShotError (missing, malformed, other model, variant or
        feature definition, :func:`feature_definition`)."""
        clf, meta = FewShotClassifier.load(path)
        if meta.get("weights_sha256") not in (None, self.weights_sha256):
            raise FewShotError(f"state {path} was made with other SSD weights than {self.model_name}'s")
        if meta.get("variant", "refined") != self.variant:  # states before the variant was recorded: pooled
            raise FewShotError(f"state {path} holds {meta.get('variant', 'refined')!r} features, the classifier "
                               f"uses {self.variant!r} (load the support folder again)")
        if meta.get("features", "") != feature_definition(self.variant):
            raise FewShotError(f"state {path} holds {self.variant!r} features of another definition "
                               f"({meta.get('features') or 'before definitions were recorded'}; now: "
                               f"{feature_definition(self.variant)}): load the support folder again")
        self.clf = clf
        return meta


class ShapeLabelledDetector:
    """A grasp detector whose detections carry the shape classifier's labels: ``detect`` runs ``detector``,
    then :meth:`ShapeClassifier.classify` at the grasps' centres, and returns the detection with
    ``classes`` = [(label, confidence)] per grasp (``("", 0.0)`` where no object is under it) — in one
    process what the ``grasp_shape_classifier`` node does between the detector node and the executor.

    Args:
        detector: any detector with the ``detect(depth, …)`` interface of
            :class:`grasp_core.inference.GraspDetector`.
        classifier: a fitted :class:`ShapeClassifier`.

    Raises:
        FewShotError: the classifier has no support set.
    """

    segments = True  # its detections are labelled (grasp-sim-bench --target-class)

    def __init__(self, detector, classifier: ShapeClassifier) -> None:
        if not classifier.ready:
            raise FewShotError("no support set loaded")
        self.detector, self.classifier = detector, classifier
        self.name = f"{getattr(detector, 'name', 'detector')}+shapes"
        self.class_names = list(classifier.clf.classes)

    def __getattr__(self, name: str):  # the wrapped detector's other attributes (name, card, input size …)
        if name in ("detector", "classifier"):
            raise AttributeError(name)
        return getattr(self.detector, name)

    def detect(self, depth: np.ndarray, *args, **kwargs):
        """``detector.detect(depth, …)`` with ``classes`` filled and ``timings["shape_labels"]`` (s) added."""
        from dataclasses import replace

        det = self.detector.detect(depth, *args, **kwargs)
        t0 = time.perf_counter()
        pts = np.array([[g.u, g.v] for g in det.grasps], np.float64).reshape(-1, 2)
        labels, conf = self.classifier.classify(depth, pts)
        return replace(det, classes=[(lab, float(c)) for lab, c in zip(labels, conf, strict=True)],
                       timings={**det.timings, "shape_labels": time.perf_counter() - t0})
