"""Prop+GQ-CNN: antipodal grasp sampling on a depth image, ranked by the robustness classifier and refined
by the cross-entropy method (Dex-Net 2.0's grasping policy), numpy + ONNX Runtime only.

Source: Mahler et al., "Dex-Net 2.0", RSS 2017, §VI-A (policy: sample antipodal grasp candidates from
the depth image's edges, rank them with the GQ-CNN, refine with the cross-entropy method — fit a
Gaussian mixture to the top ("elite") fraction, resample, re-rank, a few iterations); Gariépy et al.,
GQ-STN, IROS 2019 (the "Prop+GQ-CNN" baseline of their Tables I–II).

1. Edges: the inpainted depth, Gaussian-blurred (σ = 1 px); pixels whose depth gradient exceeds
   ``edge_threshold`` m/px; surface normals in the image = the gradient direction (towards the
   deeper side, i.e. out of the nearer object).
2. Antipodal pairs among ``n_edges`` sampled edge pixels (p_i, p_j): the line p_i → p_j lies within
   the friction cone (half angle atan μ) of the inward normal at p_i and of the outward normal at p_j
   (Nguyen, IJRR 1988), and its length in metres (at the nearer contact's depth) is within
   [``min_width_m``, stroke − 8 mm]. Up to ``n_candidates`` pairs are drawn; each gives a grasp at the
   midpoint, the angle of the line, opening = length + 8 mm, and a gripper depth z = centre depth + a
   depth drawn from ``depth_range`` (the robustness data's range).
3. Ranking: P(robust) of each candidate (:class:`grasp_core.robust_metric.RobustnessClassifier`).
4. CEM: ``cem_iterations`` times, fit a Gaussian mixture (``gmm_components``, scikit-learn) to the
   elite fraction's (u, v, cos 2Φ, sin 2Φ, depth below the surface), draw ``cem_samples`` new grasps
   from it, rank them. The result: the best grasps of every evaluated one, ``min_distance_px`` apart.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from .camera import CameraIntrinsics, grasp_to_pose
from .datasets.robustness import aligned_crop
from .depth import CropTransform, hole_mask, inpaint_depth
from .grasp import Grasp
from .inference import Detection, measured_depth
from .postprocess import GraspMaps
from .robot.gripper import PAD_HALF, STROKE
from .synth.labels import OPEN_MARGIN_M


@dataclass(frozen=True)
class PropConfig:
    """Sampling and CEM settings (module docstring). Lengths in metres, angles in degrees."""

    n_edges: int = 500
    n_candidates: int = 150
    edge_threshold: float = 0.003
    mu: float = 0.6
    min_width_m: float = 0.008
    depth_range: tuple = (0.003, 0.045)
    cem_iterations: int = 3
    cem_samples: int = 60
    elite_fraction: float = 0.25
    gmm_components: int = 3
    seed: int = 0


class PropGQCNN:
    """The sampling policy with a robustness classifier.

    Args:
        classifier: a :class:`grasp_core.robust_metric.RobustnessClassifier`, or a card name/path for one.
        config: :class:`PropConfig`.
    """

    def __init__(self, classifier=None, config: PropConfig | None = None, threads: int = 1):
        from .robust_metric import RobustnessClassifier

        self.clf = classifier if isinstance(classifier, RobustnessClassifier) else RobustnessClassifier(
            classifier, threads=threads)
        self.cfg = config or PropConfig()
        self.name = f"prop_{self.clf.name}"

    # ------------------------------------------------------------------ sampling
    def sample(self, filled: np.ndarray, fx: float, rng: np.random.Generator) -> np.ndarray:
        """(n, 5) float64 antipodal candidates (u, v, angle, width_px, depth below surface m) on a hole-free depth."""
        c = self.cfg
        sm = cv2.GaussianBlur(filled.astype(np.float32), (0, 0), 1.0)
        gy, gx = np.gradient(sm)
        mag = np.hypot(gx, gy)
        vs, us = np.nonzero(mag > c.edge_threshold)
        if len(us) < 2:
            return np.zeros((0, 5))
        pick = rng.choice(len(us), min(c.n_edges, len(us)), replace=False)
        p = np.stack([us[pick], vs[pick]], 1).astype(np.float64)
        n = np.stack([gx[vs[pick], us[pick]], gy[vs[pick], us[pick]]], 1) / mag[vs[pick], us[pick]][:, None]
        d = p[None, :, :] - p[:, None, :]  # d[i, j] = p_j - p_i
        dist = np.linalg.norm(d, axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            dirn = d / dist[..., None]
        cos_cone = math.cos(math.atan(c.mu))
        ok_i = np.einsum("ijk,ik->ij", dirn, -n) >= cos_cone  # inward normal at p_i along the line
        ok_j = np.einsum("ijk,jk->ij", dirn, n) >= cos_cone   # outward normal at p_j along the line
        z_i = sm[vs[pick], us[pick]].astype(np.float64)
        width_m = dist * z_i[:, None] / fx
        ok = ok_i & ok_j & (width_m >= c.min_width_m) & (width_m + OPEN_MARGIN_M <= STROKE)
        ii, jj = np.nonzero(ok)
        if len(ii) == 0:
            return np.zeros((0, 5))
        sel = rng.choice(len(ii), min(c.n_candidates, len(ii)), replace=False)
        ii, jj = ii[sel], jj[sel]
        mid = (p[ii] + p[jj]) / 2
        dv = p[jj] - p[ii]
        ang = np.arctan2(-dv[:, 1], dv[:, 0])
        wpx = dist[ii, jj] + OPEN_MARGIN_M * fx / z_i[ii]
        dz = rng.uniform(*c.depth_range, len(ii))
        return np.column_stack([mid, ang, wpx, dz])

    def score(self, filled: np.ndarray, raw: np.ndarray, cand: np.ndarray, fx: float) -> tuple[np.ndarray, np.ndarray]:
        """(P(robust) (n,), centre depth (n,)) of candidates (u, v, angle, width_px, depth below surface)."""
        h, w = filled.shape
        if len(cand) == 0:
            return np.zeros(0), np.zeros(0)
        crops, zs, cds = [], [], []
        for u, v, a, _, dz in cand:
            u, v = min(max(u, 0.0), w - 1.0), min(max(v, 0.0), h - 1.0)
            cd = measured_depth(raw, u, v)
            if not np.isfinite(cd) or cd <= 0:
                cd = float(filled[int(round(v)), int(round(u))])
            crops.append(aligned_crop(filled, u, v, a, fx / cd))
            zs.append(cd + dz)
            cds.append(cd)
        return self.clf.predict(np.stack(crops), np.array(zs), np.array(cds)).astype(np.float64), np.array(cds)

    def plan(self, depth: np.ndarray, fx: float) -> tuple[np.ndarray, np.ndarray]:
        """All evaluated candidates (n, 5) and their P(robust) (n,) on one depth image (m, NaN holes).

        Raises:
            grasp_core.depth.DepthError: no valid pixel.
        """
        c = self.cfg
        rng = np.random.default_rng(c.seed)
        raw = np.asarray(depth, np.float32)
        filled = inpaint_depth(raw) if hole_mask(raw).any() else raw
        h, w = filled.shape
        cand = self.sample(filled, fx, rng)
        if len(cand) == 0:
            return cand, np.zeros(0)
        p, _ = self.score(filled, raw, cand, fx)
        all_c, all_p = [cand], [p]
        for _ in range(c.cem_iterations):
            cc, pp = np.concatenate(all_c), np.concatenate(all_p)
            k = max(2, int(round(c.elite_fraction * len(cc))))
            elite = cc[np.argsort(-pp)[:k]]
            x = np.column_stack([elite[:, 0], elite[:, 1], np.cos(2 * elite[:, 2]), np.sin(2 * elite[:, 2]),
                                 elite[:, 4] * 1000.0])
            from sklearn.mixture import GaussianMixture

            gm = GaussianMixture(min(c.gmm_components, len(x)), covariance_type="full", reg_covar=1e-2,
                                 random_state=int(rng.integers(1 << 30))).fit(x)
            s, _ = gm.sample(c.cem_samples)
            ang = 0.5 * np.arctan2(s[:, 3], s[:, 2])
            # the opening of the nearest elite grasp (the classifier does not see it)
            near = np.argmin(np.hypot(elite[:, 0][None] - s[:, 0:1], elite[:, 1][None] - s[:, 1:2]), 1)
            new = np.column_stack([np.clip(s[:, 0], 0, w - 1), np.clip(s[:, 1], 0, h - 1), ang, elite[near, 3],
                                   np.clip(s[:, 4] / 1000.0, *c.depth_range)])
            all_c.append(new)
            all_p.append(self.score(filled, raw, new, fx)[0])
        return np.concatenate(all_c), np.concatenate(all_p)

    #: depth only (``rgb`` of :meth:`detect` is ignored), as :attr:`grasp_core.inference.GraspDetector.needs_rgb`
    needs_rgb = False

    def detect(self, depth: np.ndarray, intrinsics: CameraIntrinsics | None = None, fx: float | None = None,
               top_k: int = 5, min_distance_px: float = 20.0, quality_threshold: float = 0.0,
               rgb: np.ndarray | None = None) -> Detection:
        """Ranked grasps (quality = P(robust)) on one depth image (m, NaN holes).

        Args:
            depth: (H, W) float32 metres. intrinsics: for fx and the 3-D poses; else ``fx`` (px).
            top_k, min_distance_px, quality_threshold: as :meth:`grasp_core.inference.GraspDetector.detect`.
            rgb: ignored (depth only; the keyword of the other detectors, so the pick loop calls all alike).

        Returns:
            :class:`grasp_core.inference.Detection`; ``maps.quality`` holds P(robust) at the
            evaluated centres (source pixels, identity transform).

        Raises:
            ValueError: neither intrinsics nor fx. DepthError: no valid pixel.
        """
        t0 = time.perf_counter()
        if intrinsics is None and fx is None:
            raise ValueError("need intrinsics or fx")
        f = float(intrinsics.fx) if intrinsics is not None else float(fx)
        cand, p = self.plan(depth, f)
        t1 = time.perf_counter()
        h, w = depth.shape
        qmap = np.zeros((h, w), np.float32)
        grasps, depths, poses = [], [], []
        for i in np.argsort(-p):
            if len(grasps) >= top_k or p[i] < quality_threshold:
                break
            u, v, a, wpx, _ = cand[i]
            if any(math.hypot(g.u - u, g.v - v) < min_distance_px for g in grasps):
                continue
            z = measured_depth(depth, u, v)
            jaw = 2 * PAD_HALF[0] * f / z if np.isfinite(z) and z > 0 else wpx / 2
            g = Grasp(float(u), float(v), float(a), float(wpx), float(jaw), float(p[i]))
            grasps.append(g)
            depths.append(z)
            poses.append(grasp_to_pose(intrinsics, g, z) if intrinsics is not None and np.isfinite(z) else None)
        for (u, v, *_), q in zip(cand, p, strict=True):
            qmap[int(round(v)), int(round(u))] = max(qmap[int(round(v)), int(round(u))], q)
        maps = GraspMaps(qmap, np.zeros_like(qmap), np.zeros_like(qmap))
        return Detection(grasps, np.asarray(depths, np.float64), poses, maps, CropTransform(0, 0, max(h, w), max(h, w)),
                         {"preprocess": 0.0, "inference": t1 - t0, "postprocess": time.perf_counter() - t1})
