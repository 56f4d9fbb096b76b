"""A few synthetic depth frames for the default run, when ``grasp_core.synth`` is not available.

Deliberately tiny: a table plane seen from above (slightly tilted) with boxes
and cylinders on it, as 32-bit float ``.npy`` depth in metres, plus a
camera_info YAML. Not a renderer; :mod:`grasp_core.synth` (MuJoCo) is preferred.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from grasp_core.camera import CameraIntrinsics


def table_scene(intr: CameraIntrinsics, seed: int = 0, n_objects: int = 3, table_depth: float = 0.7,
                tilt: float = 0.05, noise_m: float = 0.001, hole_fraction: float = 0.01) -> np.ndarray:
    """Depth of a table with box/cylinder objects, seen by a pinhole camera.

    Args:
        intr: intrinsics; the image is (intr.height, intr.width).
        seed: RNG seed (objects' sizes, positions, yaw).
        n_objects: number of objects (0 = the bare table).
        table_depth: depth of the table at the image centre, m.
        tilt: table slope, m of depth per m of image-plane x.
        noise_m: Gaussian depth noise σ, m.
        hole_fraction: fraction of pixels set to NaN (sensor holes).

    Returns:
        (H, W) float32 depth in metres along the optical axis, NaN holes.
    """
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:intr.height, 0:intr.width].astype(np.float64)
    x_over_z = (u - intr.cx) / intr.fx
    y_over_z = (v - intr.cy) / intr.fy
    # table plane z = table_depth + tilt * x  →  z = table_depth / (1 - tilt * x/z)
    depth = table_depth / (1.0 - tilt * x_over_z)
    for _ in range(n_objects):
        height = rng.uniform(0.03, 0.10)
        cx, cy = rng.uniform(-0.12, 0.12, size=2)
        a, b = rng.uniform(0.015, 0.04), rng.uniform(0.03, 0.07)
        yaw = rng.uniform(0, np.pi)
        top = table_depth - height
        x, y = x_over_z * top - cx, y_over_z * top - cy  # point on the object's top face
        if rng.random() < 0.5:
            xr = np.cos(yaw) * x + np.sin(yaw) * y
            yr = -np.sin(yaw) * x + np.cos(yaw) * y
            inside = (np.abs(xr) <= a) & (np.abs(yr) <= b)
        else:
            inside = np.hypot(x, y) <= a
        depth = np.where(inside, np.minimum(depth, top), depth)
    depth = depth + rng.normal(0, noise_m, size=depth.shape)
    depth = depth.astype(np.float32)
    depth[rng.random(depth.shape) < hole_fraction] = np.nan
    return depth


def write_frames(folder: str | Path, n: int = 4, width: int = 640, height: int = 480, seed: int = 0) -> Path:
    """Write ``n`` synthetic frames ``synth_XXXX_depth.npy`` and ``camera_info.yaml`` to ``folder``.

    Returns the camera_info YAML path (Kinect defaults for the size).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    intr = CameraIntrinsics.default_for(width, height)
    for i in range(n):
        np.save(folder / f"synth_{i:04d}_depth.npy", table_scene(intr, seed=seed + i, n_objects=1 + i % 3))
    info = folder / "camera_info.yaml"
    info.write_text(yaml.safe_dump(intr.to_yaml_dict("synthetic"), sort_keys=False))
    return info
