"""Scene → grasp trials → views → labels → Jacquard files: the dataset generator's unit of work.

Scene ``k`` of a dataset with base seed ``S`` uses seed ``S + k`` for its
objects and physics, ``default_rng([S + k, 1])`` for its cameras, view labels
and noise, and ``default_rng([S + k, 2])`` for its grasp candidates, so the
output does not depend on the number of workers or on resuming, and the views
are the same with or without physics validation.

Labels per view:

* physics on (default of ``grasp-dataset``): top-down antipodal candidates are
  tried by the free-floating gripper (:mod:`grasp_core.synth.physics`); each kept
  3-D grasp is projected into every view where its centre is visible
  (:func:`project_grasp`);
* physics off: the silhouette labels of each view
  (:func:`grasp_core.synth.labels.antipodal_grasps`), unvalidated.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from .. import preload_before_gl
from ..datasets.jacquard import jacquard_complete, write_jacquard_image
from ..datasets.semantic import class_map, grasp_classes, write_class_labels
from ..depth_noise import kinect_noise
from ..grasp import Grasp, wrap_angle
from .labels import OPEN_MARGIN_M, antipodal_grasps
from .scene import NEAR_CLIP_M, Camera, Scene, SceneConfig, build_scene, render_view, sample_camera  # noqa: F401


def image_id(scene_index: int, view: int) -> str:
    return f"{scene_index:06d}_{view}"


def project_grasp(g, cam: Camera, labels: np.ndarray, pad_width: float) -> Grasp | None:
    """A world grasp (:class:`grasp_core.synth.physics.WorldGrasp`) as a Jacquard rectangle in a view.

    The centre is the projection of the grasp centre on the object's top; the angle
    and the opening follow the projected contacts (as the silhouette labeller measures
    them in the image: contact distance + margin, foreshortened by the camera's tilt);
    the jaw size is the pad width at the centre's depth.

    Args:
        g: the world grasp.
        cam: the view's camera.
        labels: (H, W) uint8 label image of the view (0 background, k + 1 object k).
        pad_width: pad size along the jaw, m.

    Returns:
        the rectangle in source pixels, or None when the centre is off the image or
        not on this object in the view (occluded).
    """
    c = np.asarray(g.centre, dtype=np.float64)
    half = (g.opening - OPEN_MARGIN_M) / 2 * g.direction
    uvz = cam.project(np.stack([c, c - half, c + half]))
    if np.any(uvz[:, 2] <= 0):
        return None
    u, v, z = uvz[0]
    ui, vi = int(round(u)), int(round(v))
    h, w = labels.shape
    if not (0 <= ui < w and 0 <= vi < h) or labels[vi, ui] != g.obj + 1:
        return None
    du, dv = uvz[2, :2] - uvz[1, :2]
    dist = float(math.hypot(du, dv))
    angle = float(wrap_angle(math.atan2(-dv, du)))
    width = dist + OPEN_MARGIN_M * cam.fx / z
    return Grasp(float(u), float(v), angle, width, pad_width * cam.fx / z, 1.0)


def camera_rgb_noise(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-like degradation of a rendered (H, W, 3) uint8 RGB image (domain randomisation, issue 20).

    Per image: white balance gains U(0.85, 1.15) per channel, gamma U(0.7, 1.4), exposure
    U(0.7, 1.3), a Gaussian blur (σ U(0, 1.2) px) with probability 0.5, then per-pixel Gaussian
    read noise σ U(1, 8) grey levels and shot noise ∝ √intensity (σ U(0, 0.6)·√I). Returns uint8.
    """
    import cv2

    x = rgb.astype(np.float32) / 255.0
    x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    x = np.clip(x, 0, 1) ** np.float32(rng.uniform(0.7, 1.4)) * np.float32(rng.uniform(0.7, 1.3))
    if rng.uniform() < 0.5:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.05, 1.2)))
    x = x * 255.0
    noise = rng.normal(0.0, 1.0, x.shape).astype(np.float32)
    x = x + noise * (np.float32(rng.uniform(1, 8)) + np.float32(rng.uniform(0, 0.6)) * np.sqrt(np.maximum(x, 0)))
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def render_scene(seed: int, views: int = 1, cfg: SceneConfig | None = None, mesh_dir: str | None = None,
                 physics: bool = False, trials_per_object: int = 8, params=None, mesh_scale: float = 1.0,
                 robustness_trials: int = 0):
    """Generate one scene and render ``views`` views with labels.

    Args:
        seed: scene seed.
        views: number of camera views.
        cfg: scene randomisation.
        mesh_dir: optional folder of meshes to mix in.
        mesh_scale: scale of the meshes' units to metres (0.001: millimetres).
        physics: validate grasps with the free-floating gripper (module docstring);
            False: silhouette labels per view.
        trials_per_object: candidates tried per object (physics only).
        params: :class:`grasp_core.synth.physics.GripperParams` (physics only; default parameters).
        robustness_trials: > 0 (physics only): also try every candidate this many times under pose
            perturbations and return its aligned crop and robustness label
            (:func:`grasp_core.synth.robustness.robustness_arrays`).

    Returns:
        (views, trials): views is a list of dicts with keys depth (H, W float32 m),
        noisy (H, W float32 m, NaN holes), rgb (H, W, 3 uint8), mask (H, W uint8
        object indices), grasps (list[Grasp]), camera (intrinsics dict + pose),
        kinds (object kinds); trials is a list of {"grasp": WorldGrasp.as_dict(),
        "kind", **TrialResult.as_dict(), "seconds"} (empty without physics).
        Without physics only the list of views is returned (the historical interface).
        With ``robustness_trials`` > 0: (views, trials, robustness arrays).

    Raises:
        ValueError: robustness_trials > 0 without physics.
    """
    if robustness_trials and not physics:
        raise ValueError("robustness labels need physics=True")
    import mujoco

    scene = build_scene(seed, cfg, mesh_dir, mesh_scale)
    cfg = cfg or SceneConfig()
    rng = np.random.default_rng([seed, 1])
    preload_before_gl()  # Triton's LLVM before Mesa's (grasp_core.preload_before_gl)
    renderer = mujoco.Renderer(scene.model, 480, 640)
    out, trials, kept = [], [], []
    try:
        if physics:
            from ..robot.gripper import PAD_HALF
            from .physics import GraspTrials, GripperParams, world_candidates_view

            params = params or GripperParams()
            pad_width = 2 * PAD_HALF[0]
            cands, top_view, top_cam, image_grasps = world_candidates_view(
                scene, np.random.default_rng([seed, 2]), trials_per_object, renderer, params)
            runner = GraspTrials(scene, params) if cands else None
            nominal = []
            for g in cands:
                t0 = time.perf_counter()
                res = runner.run(g)
                trials.append({"grasp": g.as_dict(), "kind": scene.objects[g.obj].kind, **res.as_dict(),
                               "seconds": round(time.perf_counter() - t0, 4)})
                nominal.append(res.kept)
                if res.kept:
                    kept.append(g)
            if robustness_trials:
                from .robustness import robustness_arrays

                robust = robustness_arrays(seed, scene, runner, cands, nominal, top_view, top_cam, image_grasps,
                                           robustness_trials)
        for _ in range(views):
            cam = sample_camera(rng, cfg, scene.target)
            view = render_view(scene, cam, renderer)
            per_obj = antipodal_grasps(view.labels, view.depth, cam.fx, rng)
            noisy = kinect_noise(view.depth, rng, level=float(rng.uniform(0.5, 1.5)))
            rgb = view.rgb
            if cfg.domain_randomisation:  # own stream: the depth, noise and labels stay those without it
                rgb = camera_rgb_noise(rgb, np.random.default_rng([seed, 4, len(out)]))
            if physics:
                grasps = [r for r in (project_grasp(g, cam, view.labels, pad_width) for g in kept)
                          if r is not None]
            else:
                grasps = [g for gs in per_obj for g in gs]
            out.append({
                "depth": view.depth, "noisy": noisy, "rgb": rgb, "mask": view.labels,
                "grasps": grasps,
                "camera": {**cam.intrinsics(), "position": cam.pos.tolist(),
                           "xaxis": cam.xaxis.tolist(), "yaxis": cam.yaxis.tolist()},
                "kinds": [o.kind for o in scene.objects],
            })
    finally:
        renderer.close()
    if robustness_trials:
        return out, trials, robust
    return (out, trials) if physics else out


def generate_scene_to_disk(args: tuple) -> dict:
    """Worker: render scene ``k`` to ``out_dir`` unless complete. Returns its metadata.

    A scene is complete when its metadata (``.meta/scene_<k>.json``, written last) says
    it was made with the same physics setting, trials per object, mesh scale, (with a
    mesh folder) mesh fraction and robustness trials, and all its images (and, with
    robustness trials, its shard ``robustness/scene_<k>.npz``) are on disk.

    Args:
        args: (out_dir, scene_index, base_seed, views, mesh_dir[, physics, trials_per_object, mesh_scale,
            mesh_fraction, robustness_trials, domain_randomisation]); physics defaults to False,
            trials_per_object to 8, mesh_scale to 1, mesh_fraction to 0.5 (the historical 5-tuple),
            robustness_trials to 0 (> 0: write the scene's robustness shard,
            :mod:`grasp_core.datasets.robustness`) and domain_randomisation to False
            (:attr:`grasp_core.synth.scene.SceneConfig.domain_randomisation`).

    Besides the Jacquard files every image gets its class labels (``<id>_classes.png``,
    ``<id>_grasp_classes.txt``: :mod:`grasp_core.datasets.semantic`).

    Returns:
        {"scene", "seed", "kinds", "physics", "trials_per_object", "mesh_scale", "mesh_fraction",
        "images": {id: {"camera", "grasps"}}, "trials": [...]} (trials: see :func:`render_scene`).
    """
    out_dir, k, base_seed, views, mesh_dir = args[:5]
    physics = bool(args[5]) if len(args) > 5 else False
    per_object = int(args[6]) if len(args) > 6 else 8
    mesh_scale = float(args[7]) if len(args) > 7 else 1.0
    dr = bool(args[10]) if len(args) > 10 else False
    cfg = SceneConfig(mesh_fraction=float(args[8]) if len(args) > 8 else 0.5, domain_randomisation=dr)
    rob_trials = int(args[9]) if len(args) > 9 else 0
    out_dir = Path(out_dir)
    from ..datasets.robustness import SUBDIR, write_shard

    shard_path = out_dir / SUBDIR / f"scene_{k:06d}.npz"
    meta_path = out_dir / ".meta" / f"scene_{k:06d}.json"
    ids = [image_id(k, v) for v in range(views)]
    if meta_path.is_file() and all(jacquard_complete(out_dir, i) for i in ids):
        meta = json.loads(meta_path.read_text())
        if (meta.get("physics", False) == physics
                and meta.get("domain_randomisation", False) == dr
                and (not physics or meta.get("trials_per_object") == per_object)
                and meta.get("mesh_scale", 1.0) == mesh_scale
                and (not mesh_dir or meta.get("mesh_fraction", 0.5) == cfg.mesh_fraction)
                and (not rob_trials or (meta.get("robustness_trials") == rob_trials and shard_path.is_file()))):
            return meta
    seed = base_seed + k
    if physics and rob_trials:
        res, trials, robust = render_scene(seed, views, cfg, mesh_dir=mesh_dir, physics=True,
                                           trials_per_object=per_object, mesh_scale=mesh_scale,
                                           robustness_trials=rob_trials)
        robust["scene"] = np.full(len(robust["robust"]), k, np.int32)
        write_shard(shard_path, robust)
    elif physics:
        res, trials = render_scene(seed, views, cfg, mesh_dir=mesh_dir, physics=True, trials_per_object=per_object,
                                   mesh_scale=mesh_scale)
    else:
        res, trials = render_scene(seed, views, cfg, mesh_dir=mesh_dir, mesh_scale=mesh_scale), []
    images = {}
    for i, r in zip(ids, res, strict=True):
        write_jacquard_image(out_dir, i, r["depth"], r["noisy"], r["rgb"], r["mask"], r["grasps"])
        classes = class_map(r["mask"], r["kinds"])
        write_class_labels(out_dir, i, classes, grasp_classes(r["grasps"], classes))
        images[i] = {"camera": r["camera"], "grasps": len(r["grasps"])}
    meta = {"scene": k, "seed": seed, "kinds": res[0]["kinds"] if res else [], "physics": physics,
            "trials_per_object": per_object, "mesh_scale": mesh_scale, "mesh_fraction": cfg.mesh_fraction,
            "images": images, "trials": trials}
    if dr:
        meta["domain_randomisation"] = True
    if rob_trials:
        meta["robustness_trials"] = rob_trials
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = meta_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta))
    tmp.replace(meta_path)
    return meta
