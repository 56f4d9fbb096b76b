"""Run an exported grasp network (ONNX Runtime) on a depth image: preprocess → model → decode → postprocess.

Everything the pipeline needs is read from the network's model card
(:mod:`grasp_core.model_card`), so a new network is a model file plus its card.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .camera import CameraIntrinsics, GraspPose, grasp_to_pose
from .depth import CropTransform, DepthError, hole_mask, inpaint_depth, normalise_depth, normalise_rgb
from .grasp import Grasp, wrap_angle
from .model_card import ModelCard, ModelCardError, load_card
from .postprocess import GraspMaps, decode_maps, grasps_from_maps


@dataclass
class Detection:
    """Result of :meth:`GraspDetector.detect` on one image.

    Attributes:
        grasps: ranked grasps in full source-image pixels, best first.
        depths: (N,) float64 measured depth at each grasp centre, m (NaN if unknown).
        poses: per grasp a :class:`GraspPose` in the camera optical frame, or None
            when no intrinsics were given or the depth is unknown.
        maps: the decoded maps in network-input pixels.
        transform: the crop mapping between network and source pixels.
        timings: seconds spent in ``preprocess`` (crop, resize, inpainting, normalisation),
            ``inference`` (the network alone, ``session.run``) and ``postprocess`` (decoding and
            smoothing of the maps, peak finding, source pixels, measured depth and poses).
        classes: per grasp (object class name, confidence in [0, 1]) from a labelling detector (a
            segmenting network, :class:`grasp_core.shapes.support.ShapeLabelledDetector`); empty when the
            detector labels nothing, and ``("", 0.0)`` for a grasp it left unlabelled. The executor's
            ``target_class`` selects on it (``shape_label`` / ``shape_confidence`` of the candidates).
    """

    grasps: list[Grasp]
    depths: np.ndarray
    poses: list[GraspPose | None]
    maps: GraspMaps
    transform: CropTransform
    timings: dict[str, float] = field(default_factory=dict)
    classes: list[tuple[str, float]] = field(default_factory=list)


def measured_depth(depth: np.ndarray, u: float, v: float, radius: int = 2, max_radius: int = 16) -> float:
    """Median of the valid depth values (m) in a (2r+1)² window around pixel (u, v), r = ``radius``;
    when that window is all holes (NaN / ≤ 0), the window doubles up to ``max_radius`` px (the depth
    around a hole, as inpainting would fill it: detectors read the camera's unfilled image, and a
    sampled grasp centred on a hole had no pose). NaN outside the image or with no valid pixel within
    ``max_radius``."""
    h, w = depth.shape
    c, r = int(round(u)), int(round(v))
    if not (0 <= c < w and 0 <= r < h):
        return float("nan")
    while True:
        win = depth[max(r - radius, 0): r + radius + 1, max(c - radius, 0): c + radius + 1]
        vals = win[~hole_mask(win)]
        if vals.size:
            return float(np.median(vals))
        if radius >= max_radius:
            return float("nan")
        radius = min(2 * radius, max_radius)


def source_grasp(g: Grasp, tf: CropTransform) -> Grasp:
    """Grasp ``g`` of the network input in source-image pixels through the crop ``tf`` (angle wrapped)."""
    u, v = tf.to_source(g.u, g.v)
    return Grasp(float(u), float(v), float(wrap_angle(g.angle)), g.width_px * tf.scale, g.length_px * tf.scale,
                 g.quality)


def check_intrinsics_size(depth: np.ndarray, intrinsics: CameraIntrinsics | None) -> None:
    """Raise ValueError when ``intrinsics`` (if given) are not of the (H, W) ``depth`` image's size."""
    if intrinsics is not None and (intrinsics.width, intrinsics.height) != (depth.shape[1], depth.shape[0]):
        raise ValueError(f"depth is {depth.shape[1]}x{depth.shape[0]} but intrinsics are "
                         f"{intrinsics.width}x{intrinsics.height}")


def rank_source_grasps(grasps: list[Grasp], tf: CropTransform, top_k: int, min_distance_px: float,
                       quality_threshold: float) -> list[tuple[int, Grasp]]:
    """The network-px candidates a cascade detector publishes: by quality (stable), in source px, quality ≥
    ``quality_threshold``, at most ``top_k``, each at least ``min_distance_px`` (source px) from those before.

    Returns (index into ``grasps``, source-px grasp) pairs, best first.
    """
    kept: list[tuple[int, Grasp]] = []
    for k in sorted(range(len(grasps)), key=lambda k: -grasps[k].quality):
        g = source_grasp(grasps[k], tf)
        if g.quality < quality_threshold or len(kept) >= top_k:
            continue
        if any((g.u - h.u) ** 2 + (g.v - h.v) ** 2 < min_distance_px ** 2 for _, h in kept):
            continue
        kept.append((k, g))
    return kept


def grasp_poses(depth: np.ndarray, grasps, intrinsics: CameraIntrinsics | None) -> tuple[np.ndarray, list]:
    """Measured depth and 3-D pose of each source-pixel grasp.

    Returns:
        ((N,) float64 depths, m, NaN where no valid pixel (:func:`measured_depth`); N poses in
        ``intrinsics.frame_id`` (:func:`grasp_core.camera.grasp_to_pose`), None where the depth is NaN or
        no intrinsics are given).
    """
    depths = np.array([measured_depth(depth, g.u, g.v) for g in grasps], dtype=np.float64)
    poses = [grasp_to_pose(intrinsics, g, z) if intrinsics is not None and np.isfinite(z) else None
             for g, z in zip(grasps, depths, strict=True)]
    return depths, poses


class GraspDetector:
    """A generative grasp network (GG-CNN family) behind its model card.

    Args:
        model: a model name, a card/ONNX path, or a loaded :class:`ModelCard`
            (None → the project's default model).
        verify: check the model file's sha256 against the card.
        threads: ONNX Runtime intra-op threads (0 = its default).

    Raises:
        ModelCardError (a ValueError): no usable card or model file, a model file ONNX
            Runtime cannot load (truncated, not ONNX), or a card that disagrees with its
            network (outputs not ``quality``/``cos``/``sin``/``width``, input or output
            names the network lacks, input size or channels other than the network's).
            Always one line.
    """

    def __init__(self, model: str | os.PathLike | ModelCard | None = None, verify: bool = True,
                 threads: int = 0, providers: list[str] | None = None) -> None:
        self.card = model if isinstance(model, ModelCard) else load_card(model)
        if verify:
            self.card.verify()
        out = self.card.data["outputs"]
        missing = [k for k in ("quality", "cos", "sin", "width") if k not in out]
        if missing:
            raise ModelCardError(f"{self.card.path}: outputs lacks {', '.join(missing)} "
                                 f"(a generative grasp network has quality, cos, sin, width)")
        quality = self.card.data["decoding"].get("quality", "clip")
        if quality not in ("clip", "sigmoid"):
            raise ModelCardError(f"{self.card.path}: decoding.quality must be clip or sigmoid, got {quality!r}")
        self.session = self.card.session(threads, providers)
        inp = self.card.input
        self.input_name = inp.get("name", self.session.get_inputs()[0].name)
        self.modality = self.card.modality
        self.size = self.card.input_size
        self.crop_size = self.card.crop_size
        self.output_names = [out["quality"], out["cos"], out["sin"], out["width"]]
        self.decoding = self.card.data["decoding"]
        self.post = self.card.data.get("postprocess", {})
        self._check_session()

    def _check_session(self) -> None:
        """The card's input/output names and input shape against the ONNX graph (ModelCardError)."""
        where = f"{self.card.path.name} vs {self.card.model_file.name}"
        inputs = {i.name: i for i in self.session.get_inputs()}
        if self.input_name not in inputs:
            raise ModelCardError(f"{where}: the network has no input {self.input_name!r} "
                                 f"(it has {', '.join(inputs)})")
        outputs = {o.name for o in self.session.get_outputs()}
        absent = [n for n in self.output_names if n not in outputs]
        if absent:
            raise ModelCardError(f"{where}: the network has no output {', '.join(map(repr, absent))} "
                                 f"(it has {', '.join(sorted(outputs))})")
        shape = inputs[self.input_name].shape  # e.g. [1, 1, 300, 300]; symbolic dims are strings/None
        channels = {"depth": 1, "rgb": 3, "rgbd": 4}[self.modality]
        want = [None, channels, self.size, self.size]
        if len(shape) != 4 or any(isinstance(g, int) and w is not None and g != w
                                  for g, w in zip(shape, want, strict=True)):
            raise ModelCardError(f"{where}: the network's input {self.input_name!r} is {shape}, but the card "
                                 f"says {self.modality} ({channels} channel(s)) at size {self.size}")

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def needs_rgb(self) -> bool:
        return self.modality in ("rgb", "rgbd")

    def preprocess(self, depth: np.ndarray, rgb: np.ndarray | None = None) -> tuple[np.ndarray, CropTransform]:
        """Build the network input from a full depth image.

        Args:
            depth: (H, W) float32 metres, holes NaN (see :func:`grasp_core.depth.depth_to_metres`).
            rgb: (H, W, 3) uint8 RGB, same size, needed for rgb/rgbd cards.

        Returns:
            ((1, C, S, S) float32 input, the crop transform).

        Raises:
            DepthError: not 2-D, or no valid pixel in the crop.
            ValueError: RGB missing or of another size for an RGB model.
        """
        if depth.ndim != 2:
            raise DepthError(f"depth must be HxW, got {depth.shape}")
        tf = CropTransform.centre(depth.shape, self.crop_size, self.size)
        inp = self.card.input
        chans = []
        if self.modality in ("depth", "rgbd"):
            crop = tf.apply(np.asarray(depth, dtype=np.float32), cv2.INTER_NEAREST)  # no copy of the frame
            if inp.get("inpaint", "navier_stokes") == "navier_stokes":
                crop = inpaint_depth(crop)
            elif hole_mask(crop).all():
                raise DepthError("depth crop has no valid pixel")
            else:
                crop = np.nan_to_num(crop, nan=float(np.nanmean(crop)))
            chans.append(normalise_depth(crop, inp.get("depth_normalisation", "mean_clip"),
                                         float(inp.get("depth_clip", 1.0)))[None])
        if self.needs_rgb:
            if rgb is None:
                raise ValueError(f"model {self.name} needs an RGB image ({self.modality})")
            if rgb.shape[:2] != depth.shape or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"RGB {rgb.shape} does not match depth {depth.shape}")
            c = normalise_rgb(tf.apply(rgb, cv2.INTER_AREA), inp.get("rgb_normalisation", "mean_unit"))
            chans.append(np.transpose(c, (2, 0, 1)))
        x = np.concatenate(chans, axis=0)[None].astype(np.float32)
        return x, tf

    def infer(self, x: np.ndarray) -> GraspMaps:
        """Run the network on a (1, C, S, S) input and decode its maps (:meth:`run_network`, :meth:`decode`)."""
        return self.decode(self.run_network(x))

    def run_network(self, x: np.ndarray) -> list[np.ndarray]:
        """The network alone (``session.run``) on a (1, C, S, S) float32 input.

        Returns:
            [quality, cos 2θ, sin 2θ, width] raw outputs, each (1, 1, S, S) float32.
        """
        return self.session.run(self.output_names, {self.input_name: x})

    def decode(self, raw: list[np.ndarray]) -> GraspMaps:
        """The card's decoding and smoothing of :meth:`run_network`'s outputs (:func:`decode_maps`)."""
        pos, cos2, sin2, width = raw
        return decode_maps(pos[0, 0], cos2[0, 0], sin2[0, 0], width[0, 0],
                           quality=self.decoding.get("quality", "clip"),
                           width_scale_px=float(self.decoding.get("width_scale_px", 150.0)),
                           quality_sigma=float(self.post.get("quality_sigma", 2.0)),
                           angle_sigma=float(self.post.get("angle_sigma", 2.0)),
                           width_sigma=float(self.post.get("width_sigma", 1.0)))

    def detect(self, depth: np.ndarray, rgb: np.ndarray | None = None,
               intrinsics: CameraIntrinsics | None = None, top_k: int = 5,
               min_distance_px: float = 20.0, quality_threshold: float = 0.1) -> Detection:
        """Detect grasps on one depth image.

        Args:
            depth: (H, W) float32 metres, holes NaN.
            rgb: (H, W, 3) uint8 RGB for rgb/rgbd models.
            intrinsics: pinhole intrinsics of ``depth``; when given, each grasp
                gets a 3-D pose in ``intrinsics.frame_id``.
            top_k: maximum number of grasps.
            min_distance_px: minimum distance between grasp centres, source px.
            quality_threshold: minimum Q.

        Returns:
            :class:`Detection` with grasps in source-image pixels.

        Raises:
            DepthError, ValueError: unusable input (see :meth:`preprocess`).
        """
        t0 = time.perf_counter()
        check_intrinsics_size(depth, intrinsics)
        x, tf = self.preprocess(depth, rgb)
        t1 = time.perf_counter()
        raw = self.run_network(x)
        t2 = time.perf_counter()
        maps = self.decode(raw)
        net_grasps = grasps_from_maps(maps, top_k=top_k,
                                      min_distance=max(1, int(round(min_distance_px / tf.scale))),
                                      threshold=quality_threshold,
                                      jaw_length_ratio=float(self.post.get("jaw_length_ratio", 0.5)))
        grasps = [source_grasp(g, tf) for g in net_grasps]
        depths, poses = grasp_poses(depth, grasps, intrinsics)
        t3 = time.perf_counter()
        return Detection(grasps, depths, poses, maps, tf,
                         {"preprocess": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2})


class FallbackChain:
    """A fast detector first and a second one when its grasp is not robust enough: GQ-STN's fallback
    chain (Gariépy et al., IROS 2019, §V-D: run the one-shot GQ-STN, and the sampling method Prop+GQ-CNN
    when GQ-STN's grasp has P(robust) below a threshold). Same ``detect`` keywords as
    :meth:`GraspDetector.detect`.

    Args:
        primary: a detector whose detection has ``p_robust`` (GQ-STN), else whose top grasp's quality is
            P(robust); asked for one grasp.
        fallback: any detector (``detect(depth, rgb=, intrinsics=, top_k=, min_distance_px=,
            quality_threshold=)``), run when the primary has no grasp or its P(robust) < ``threshold``;
            None: the primary alone (its one grasp, dropped below ``quality_threshold``).
        threshold: P(robust), ≥ 0 (0: never fall back; above 1: always).
        max_opening_m: the fallback also runs when the primary's grasp needs a wider opening than this
            (metres at the grasp's depth, :attr:`GraspPose.opening`): a grasp the gripper cannot open for
            is not executed however robust it is called (inf: P(robust) alone decides, as in the paper).

    Attributes:
        fallback_calls: how many frames the fallback planned. last_primary: the primary's last detection.

    Raises:
        ValueError: a negative or NaN threshold with a fallback.
    """

    def __init__(self, primary, fallback=None, threshold: float = 0.5, max_opening_m: float = math.inf) -> None:
        if fallback is not None and not float(threshold) >= 0.0:
            raise ValueError(f"fallback threshold must be >= 0, got {threshold}")
        if not float(max_opening_m) > 0.0:
            raise ValueError(f"fallback max_opening_m must be > 0, got {max_opening_m}")
        self.primary, self.fallback, self.threshold = primary, fallback, float(threshold)
        self.max_opening_m = float(max_opening_m)
        self.fallback_calls = 0
        self.last_primary: Detection | None = None

    @property
    def name(self) -> str:
        return self.primary.name if self.fallback is None else f"{self.primary.name}+{self.fallback.name}"

    @property
    def needs_rgb(self) -> bool:
        return bool(self.primary.needs_rgb or (self.fallback is not None and self.fallback.needs_rgb))

    def detect(self, depth: np.ndarray, rgb: np.ndarray | None = None, intrinsics: CameraIntrinsics | None = None,
               top_k: int = 5, min_distance_px: float = 20.0, quality_threshold: float = 0.1) -> Detection:
        """The primary's one grasp when its P(robust) ≥ ``threshold`` and its opening ≤ ``max_opening_m``
        (dropped when its quality is below ``quality_threshold``), else the fallback's detection."""
        d = self.primary.detect(depth, rgb=rgb, intrinsics=intrinsics, top_k=1, min_distance_px=min_distance_px,
                                quality_threshold=0.0)
        self.last_primary = d
        p_robust = getattr(d, "p_robust", d.grasps[0].quality if d.grasps else 0.0)
        too_wide = bool(d.poses) and d.poses[0] is not None and d.poses[0].opening > self.max_opening_m
        if self.fallback is not None and (not d.grasps or p_robust < self.threshold or too_wide):
            self.fallback_calls += 1
            return self.fallback.detect(depth, rgb=rgb, intrinsics=intrinsics, top_k=top_k,
                                        min_distance_px=min_distance_px, quality_threshold=quality_threshold)
        if d.grasps and d.grasps[0].quality < quality_threshold:
            d.grasps, d.poses, d.depths = [], [], d.depths[:0]
        return d


class SectionDetector(GraspDetector):
    """A network whose card has a decoding section of its own (``decoding.type`` one of :attr:`KINDS`, the
    sizes in the card's :attr:`SECTION`) and named outputs, with :class:`GraspDetector`'s card-driven
    preprocessing (centre crop, inpainting, normalisation): the multi-stage STN
    (:class:`grasp_core.nn.msstn_onnx.MSSTNDetector`) and the detection–segmentation network
    (:class:`grasp_core.nn.detseg_onnx.DetSegDetector`). Subclasses decode :meth:`run`'s outputs.

    Args: as :class:`GraspDetector`.

    Raises:
        ModelCardError: no usable card or model file, a card whose ``decoding.type`` is not one of
            :attr:`KINDS`, without the section, or whose ``outputs`` name outputs the network lacks.
    """

    KINDS: tuple[str, ...] = ()
    SECTION = ""
    SECTION_HOLDS = ""

    def __init__(self, model: str | os.PathLike | ModelCard | None = None, verify: bool = True,
                 threads: int = 0, providers: list[str] | None = None) -> None:
        # GraspDetector.__init__ checks for generative outputs; only its preprocessing is reused here
        self.card = model if isinstance(model, ModelCard) else load_card(model)
        if verify:
            self.card.verify()
        self.kind, self.net = self.card.decoding_section(self.KINDS, self.SECTION, self.SECTION_HOLDS)
        self.session = self.card.session(threads, providers)
        self.input_name = self.card.input.get("name", self.session.get_inputs()[0].name)
        self.modality = self.card.modality
        self.size = self.card.input_size
        self.crop_size = self.card.crop_size
        self.outputs = self.card.named_outputs(self.session)

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The raw outputs on a (1, C, S, S) input, by the card's output keys."""
        keys = list(self.outputs)
        vals = self.session.run([self.outputs[k] for k in keys], {self.input_name: x})
        return dict(zip(keys, vals, strict=True))
