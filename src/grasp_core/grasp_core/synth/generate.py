"""Scene → views → labels → Jacquard files: the dataset generator's unit of work.

Scene ``k`` of a dataset with base seed ``S`` uses seed ``S + k`` for its
objects and physics and ``default_rng([S + k, 1])`` for its cameras, labels and
noise, so the output does not depend on the number of workers or on resuming.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .jacquard import jacquard_complete, write_jacquard_image
from .labels import antipodal_grasps
from .objects import find_mesh_files, mesh_object
from .scene import SceneConfig, kinect_noise, make_scene, render_view, sample_camera


def image_id(scene_index: int, view: int) -> str:
    return f"{scene_index:06d}_{view}"


def render_scene(seed: int, views: int = 1, cfg: SceneConfig | None = None, mesh_dir: str | None = None):
    """Generate one scene and render ``views`` views with labels.

    Returns:
        list of dicts with keys depth (H, W float32 m), noisy (H, W float32 m, NaN
        holes), rgb (H, W, 3 uint8), mask (H, W uint8), grasps (list[Grasp]),
        camera (intrinsics dict + pose), kinds (object kinds).
    """
    import mujoco

    cfg = cfg or SceneConfig()
    mesh_specs = None
    if mesh_dir:
        files = find_mesh_files(mesh_dir)
        mesh_specs = [lambda rng, name, f=f: mesh_object(f, name) for f in files]
    scene = make_scene(seed, cfg, mesh_specs)
    rng = np.random.default_rng([seed, 1])
    renderer = mujoco.Renderer(scene.model, 480, 640)
    out = []
    try:
        for _ in range(views):
            cam = sample_camera(rng, cfg, scene.target)
            view = render_view(scene, cam, renderer)
            per_obj = antipodal_grasps(view.labels, view.depth, cam.fx, rng)
            noisy = kinect_noise(view.depth, rng, level=float(rng.uniform(0.5, 1.5)))
            out.append({
                "depth": view.depth, "noisy": noisy, "rgb": view.rgb, "mask": view.labels,
                "grasps": [g for gs in per_obj for g in gs],
                "camera": {**cam.intrinsics(), "position": cam.pos.tolist(),
                           "xaxis": cam.xaxis.tolist(), "yaxis": cam.yaxis.tolist()},
                "kinds": [o.kind for o in scene.objects],
            })
    finally:
        renderer.close()
    return out


def generate_scene_to_disk(args: tuple) -> dict:
    """Worker: render scene ``k`` to ``out_dir`` unless complete. Returns its metadata.

    Args:
        args: (out_dir, scene_index, base_seed, views, mesh_dir).
    """
    out_dir, k, base_seed, views, mesh_dir = args
    out_dir = Path(out_dir)
    meta_path = out_dir / ".meta" / f"scene_{k:06d}.json"
    ids = [image_id(k, v) for v in range(views)]
    if meta_path.is_file() and all(jacquard_complete(out_dir, i) for i in ids):
        return json.loads(meta_path.read_text())
    seed = base_seed + k
    res = render_scene(seed, views, mesh_dir=mesh_dir)
    images = {}
    for i, r in zip(ids, res, strict=True):
        write_jacquard_image(out_dir, i, r["depth"], r["noisy"], r["rgb"], r["mask"], r["grasps"])
        images[i] = {"camera": r["camera"], "grasps": len(r["grasps"])}
    meta = {"scene": k, "seed": seed, "kinds": res[0]["kinds"] if res else [], "images": images}
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = meta_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta))
    tmp.replace(meta_path)
    return meta
