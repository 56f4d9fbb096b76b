"""Robustness labels by perturbed physics trials, and the aligned crops of the tried grasps.

Dex-Net 2.0 (Mahler et al., RSS 2017, §IV) labels a grasp robust when its quality stays high under
pose uncertainty: their metric, robust Ferrari-Canny, is the expectation of a wrench-space quality
over sampled perturbations of the object and gripper poses. We measure it with the dataset
generator's own trial (:class:`grasp_core.synth.physics.GraspTrials`: descend, close, lift 0.15 m,
shake): every top-down antipodal candidate of a scene (positives and negatives from the same
sampler, :func:`grasp_core.synth.physics.world_candidates_view`) gets a random grasp depth, as
Dex-Net 2.0's sampler varies the gripper depth z along the approach: fingertips
U(``DEPTH_RANGE``) = U(3, 45) mm below the object's top at the centre (≥ 4 mm above the table;
the Jacquard labels keep the fixed 35 mm). At that depth it is tried ``trials`` times, each time
with the gripper's pose perturbed (independent, Gaussian, truncated at ±2σ, :class:`Perturbation`):

* grasp centre in the table plane: σ = 4 mm along world x and y;
* yaw about the approach axis: σ = 6°;
* fingertip height: σ = 4 mm (kept ≥ 4 mm above the table).

A grasp is robust when it held in at least ``robust_fraction`` (default 0.75: 3 of 4) of the
perturbed trials. The counts are stored, so any other threshold can be applied later.

Crops: the top-down candidate camera's depth (the same render the candidates came from) is given
Kinect-like noise (:func:`grasp_core.depth_noise.kinect_noise`, level U(0.5, 1.5)), inpainted
(:func:`grasp_core.depth.inpaint_depth`) and cropped around each candidate
(:func:`grasp_core.datasets.robustness.aligned_crop`); the noise-free crop is stored too. Random
streams: candidates ``default_rng([seed, 2])`` (the default dataset's), crop noise
``default_rng([seed, 3])``, perturbations ``default_rng([seed, 4])``, grasp depths
``default_rng([seed, 5])``, so a dataset with robustness
labels has the same images and Jacquard labels as one without.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass

import numpy as np

from ..datasets.robustness import aligned_crop, empty_arrays
from ..depth import inpaint_depth
from ..depth_noise import kinect_noise
from .physics import MIN_FINGERTIP_Z, WorldGrasp

#: Default share of held perturbed trials for "robust".
ROBUST_FRACTION = 0.75
#: Range of the fingertips' depth below the object's top at the grasp centre, m.
DEPTH_RANGE = (0.003, 0.045)


@dataclass(frozen=True)
class Perturbation:
    """Standard deviations of the gripper-pose perturbation (Gaussian, truncated at ``clip_sigma``·σ).

    Attributes:
        sigma_xy: grasp centre, per world axis in the table plane, m.
        sigma_yaw_deg: rotation about the approach axis, degrees.
        sigma_z: fingertip height, m.
        clip_sigma: truncation, in σ.
    """

    sigma_xy: float = 0.004
    sigma_yaw_deg: float = 6.0
    sigma_z: float = 0.004
    clip_sigma: float = 2.0

    def as_dict(self) -> dict:
        return asdict(self)

    def apply(self, g: WorldGrasp, rng: np.random.Generator) -> WorldGrasp:
        """A perturbed copy of ``g`` (4 draws from ``rng``: dx, dy, dyaw, dz)."""
        e = np.clip(rng.standard_normal(4), -self.clip_sigma, self.clip_sigma)
        x, y, zt = g.centre
        return WorldGrasp(g.obj, (x + self.sigma_xy * e[0], y + self.sigma_xy * e[1], zt),
                          g.yaw + math.radians(self.sigma_yaw_deg) * e[2], g.opening,
                          max(MIN_FINGERTIP_Z, g.fingertip_z + self.sigma_z * e[3]))


def robustness_arrays(seed: int, scene, runner, cands: list[WorldGrasp], nominal: list[bool], view, cam,
                      image_grasps, trials: int, robust_fraction: float = ROBUST_FRACTION,
                      perturbation: Perturbation | None = None) -> dict[str, np.ndarray]:
    """One scene's shard arrays (:mod:`grasp_core.datasets.robustness` layout).

    Args:
        seed: the scene seed (random streams: module docstring).
        scene: the settled scene. runner: its :class:`grasp_core.synth.physics.GraspTrials` (None if no candidate).
        cands: the candidates; nominal: each one's unperturbed verdict at the
            dataset's fixed grasp depth (stored as nominal_kept).
        view, cam, image_grasps: the top view, its camera and each candidate's image grasp
            (:func:`grasp_core.synth.physics.world_candidates_view`).
        trials: perturbed trials per candidate (≥ 1).
        robust_fraction: robust ⇔ held ≥ robust_fraction · trials.
        perturbation: the pose perturbation (default :class:`Perturbation`).

    Returns:
        dict of arrays, n = len(cands).

    Raises:
        ValueError: trials < 1 or the lists disagree in length.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if not (len(cands) == len(nominal) == len(image_grasps)):
        raise ValueError("cands, nominal and image_grasps must have the same length")
    if not cands:
        return empty_arrays()
    pert = perturbation or Perturbation()
    rng_noise = np.random.default_rng([seed, 3])
    rng_pert = np.random.default_rng([seed, 4])
    rng_depth = np.random.default_rng([seed, 5])
    noisy = kinect_noise(view.depth, rng_noise, level=float(rng_noise.uniform(0.5, 1.5)))
    noisy = inpaint_depth(noisy)
    rows: dict[str, list] = {k: [] for k in empty_arrays()}
    h, w = view.depth.shape
    for g0, ig, kept in zip(cands, image_grasps, nominal, strict=True):
        g = dataclasses.replace(g0, fingertip_z=max(MIN_FINGERTIP_Z, g0.centre[2] - rng_depth.uniform(*DEPTH_RANGE)))
        held = sum(bool(runner.run(pert.apply(g, rng_pert)).kept) for _ in range(trials))
        ui, vi = min(max(int(round(ig.u)), 0), w - 1), min(max(int(round(ig.v)), 0), h - 1)
        cd = float(view.depth[vi, ui])
        ppm = cam.fx / cd
        rows["crops"].append(aligned_crop(noisy, ig.u, ig.v, ig.angle, ppm))
        rows["crops_perfect"].append(aligned_crop(view.depth, ig.u, ig.v, ig.angle, ppm))
        rows["z"].append(float(cam.pos[2]) - g.fingertip_z)
        rows["centre_depth"].append(cd)
        rows["held"].append(held)
        rows["trials"].append(trials)
        rows["robust"].append(held >= robust_fraction * trials - 1e-9)
        rows["nominal_kept"].append(bool(kept))
        rows["scene"].append(-1)  # set by the caller (the scene index, not the seed)
        rows["obj"].append(g.obj)
        rows["kind"].append(scene.objects[g.obj].kind[:32])
        rows["image_grasp"].append([ig.u, ig.v, ig.angle, ig.width_px, ig.length_px])
        rows["world_grasp"].append([*g.centre, g.yaw, g.opening, g.fingertip_z])
        rows["px_per_m"].append(ppm)
    return {k: np.asarray(v) for k, v in rows.items()}
