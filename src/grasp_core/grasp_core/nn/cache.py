"""The image stacks a training run reads, cached as memory-mapped ``.npy`` files beside the data.

``folder/.cache/<kind>_<N>.npy`` holds every image of one kind (noisy depth raw or inpainted, perfect
depth, RGB, object mask), built once with a process pool and a progress bar; later runs only map it.
Files are read by :mod:`grasp_core.datasets` (one depth/RGB/mask reader). Where a folder has no
masks, the object mask comes from the table plane of the perfect depth (:func:`table_plane_mask`).
"""
from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import numpy as np

from ..datasets import read_depth, read_mask, read_rgb
from ..depth import inpaint_depth


def _inpaint_one(path: str) -> np.ndarray:
    return inpaint_depth(read_depth(path))


def load_depths(folder: Path, ids: list[str], inpainted: bool, workers: int = 2) -> np.ndarray:
    """(N, H, W) float32 noisy depths in metres, cached in ``folder/.cache`` (memory-mapped).

    Args:
        inpainted: False → raw, NaN holes (``order="inference"``); True → the full
            frame inpainted (``order="inpaint_first"``).

    The cache is keyed by the number of images; delete ``.cache`` after changing the data.
    """
    kind = "inpainted" if inpainted else "raw"
    paths = [str(folder / (i + "_stereo_depth.tiff")) for i in ids]
    return _cached_stack(folder / ".cache" / f"{kind}_{len(ids)}.npy", paths,
                         _inpaint_one if inpainted else read_depth, np.float32, f"load {kind} depth", workers)


def _cached_stack(cache: Path, paths: list[str], fn, dtype, desc: str, workers: int) -> np.ndarray:
    """``fn(path)`` of every path stacked into the memory-mapped ``cache`` (.npy), built once with a
    process pool and a progress bar; later calls only map it."""
    from tqdm import tqdm

    if cache.is_file():
        return np.load(cache, mmap_mode="r")
    cache.parent.mkdir(exist_ok=True)
    first = fn(paths[0])
    tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")  # one writer per process; the rename is atomic
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(paths), *first.shape))
    with mp.get_context("spawn").Pool(workers) as pool:
        for k, d in enumerate(tqdm(pool.imap(fn, paths, chunksize=8), total=len(paths), desc=desc, unit="img")):
            arr[k] = d
    arr.flush()
    del arr
    tmp.replace(cache)
    return np.load(cache, mmap_mode="r")


def table_plane_mask(perfect_depth: np.ndarray, above_m: float = 0.005, inlier_m: float = 0.003,
                     iterations: int = 200, seed: int = 0) -> np.ndarray:
    """(H, W) uint8 object mask from a perfect depth image: pixels > ``above_m`` metres in front of the table.

    The table is the dominant plane d = a·u + b·v + c of the image (depth in metres
    as a function of pixel column u and row v; a perspective view of a plane is not
    exactly linear in d, so the inlier band is kept small and the fit is local to the
    table), fitted on every 4th pixel by scikit-learn's ``RANSACRegressor`` (Fischler and
    Bolles, CACM 1981): at most ``iterations`` random pixel triples (seeded), inliers within
    ``inlier_m``, then a least-squares refit on the best inlier set. Objects are
    closer to the camera than the table (negative residual); the floor beyond the
    table edge is farther (positive) and stays background. Used for the saliency
    target where a folder has no ``<id>_mask.png``.
    """
    from sklearn.linear_model import LinearRegression, RANSACRegressor

    h, w = perfect_depth.shape
    vv, uu = np.mgrid[0:h:4, 0:w:4]
    d = perfect_depth[::4, ::4]
    ok = np.isfinite(d)
    uv = np.stack([uu[ok], vv[ok]], 1).astype(np.float64)
    ransac = RANSACRegressor(LinearRegression(), min_samples=3, residual_threshold=inlier_m, max_trials=iterations,
                             loss="absolute_error", random_state=seed)
    ransac.fit(uv, d[ok].astype(np.float64))
    (a, b), c = ransac.estimator_.coef_, ransac.estimator_.intercept_
    vf, uf = np.mgrid[0:h, 0:w]
    res = perfect_depth - (a * uf + b * vf + c)
    return (np.nan_to_num(res, nan=0.0) < -above_m).astype(np.uint8)


def _read_mask(base: str) -> np.ndarray:
    """0/1 object mask of image ``base`` (folder/id): its ``_mask.png`` > 0, else from the perfect depth."""
    if Path(base + "_mask.png").is_file():
        return (read_mask(base + "_mask.png") > 0).astype(np.uint8)
    return table_plane_mask(read_depth(base + "_perfect_depth.tiff"))


_STACKS = {  # kind → (reader, path suffix, dtype)
    "perfect": (read_depth, "_perfect_depth.tiff", np.float32),
    "rgb": (read_rgb, "_RGB.png", np.uint8),
    "mask": (_read_mask, "", np.uint8),
}


def load_stack(folder: Path, ids: list[str], kind: str, workers: int = 2) -> np.ndarray:
    """(N, H, W[, 3]) images of one kind, cached in ``folder/.cache/<kind>_<N>.npy`` (memory-mapped).

    Args:
        kind: ``raw`` / ``inpainted`` (noisy depth, see :func:`load_depths`), ``perfect``
            (float32 metres, NaN where invalid), ``rgb`` (uint8) or ``mask`` (uint8 0/1:
            ``<id>_mask.png`` > 0, else :func:`table_plane_mask` of the perfect depth).

    The cache is keyed by the number of images (ids are taken in sorted order);
    delete ``.cache`` after changing the data.
    """
    if kind in ("raw", "inpainted"):
        return load_depths(folder, ids, inpainted=kind == "inpainted", workers=workers)
    fn, suffix, dtype = _STACKS[kind]
    paths = [str(folder / (i + suffix)) for i in ids]
    return _cached_stack(folder / ".cache" / f"{kind}_{len(ids)}.npy", paths, fn, dtype, f"load {kind}", workers)
