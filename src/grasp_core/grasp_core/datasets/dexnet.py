"""Reader of the Dex-Net 2.0 tensor layout into the robustness arrays of :mod:`.robustness`.

Dex-Net 2.0 (Mahler et al., RSS 2017; the ``gqcnn`` package's training data) stores its grasp
dataset as numbered, compressed tensors in one folder (often ``tensors/``), each file holding one
array ``arr_0`` of up to 1000 rows:

=================================  ===================  ==========================================
file                               arr_0                used here
=================================  ===================  ==========================================
``depth_ims_tf_table_NNNNN.npz``   (n, 32, 32, 1) f4    the grasp-aligned depth crop, m → crops
``hand_poses_NNNNN.npz``           (n, 7) f4            column 2: gripper depth z, m → z
                                                        (0, 1: centre row, column in the crop; 3:
                                                        angle; 4, 5: centre in the source image;
                                                        6: opening, px)
``<metric>_NNNNN.npz``             (n,) f4              robust = metric > threshold (default
                                                        ``robust_ferrari_canny``, 0.002 as gqcnn)
``object_labels_NNNNN.npz``        (n,) int (optional)  object id → scene (split by object)
=================================  ===================  ==========================================

Crops are already centred on the grasp with the grasp axis along the rows (Dex-Net 2.0, §V-A), as
:func:`grasp_core.datasets.robustness.aligned_crop` writes ours; ``centre_depth`` is taken as the
mean of the crop's 2 × 2 centre pixels. Without object labels, ``scene`` is the file number.
Arrays are read with ``allow_pickle=False``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

IMAGE_PREFIX = "depth_ims_tf_table_"
POSE_PREFIX = "hand_poses_"
OBJECT_PREFIX = "object_labels_"
#: gqcnn's default label threshold on robust_ferrari_canny.
DEFAULT_THRESHOLD = 0.002
#: Column of the gripper depth in hand_poses.
Z_COLUMN = 2


def _arr(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as f:
        return f["arr_0"] if "arr_0" in f.files else f[f.files[0]]


def list_dexnet(folder: str | Path) -> list[str]:
    """The file numbers (``NNNNN``) of ``depth_ims_tf_table_NNNNN.npz`` in ``folder``, sorted."""
    pat = re.compile(re.escape(IMAGE_PREFIX) + r"(\d+)\.npz$")
    return sorted(m.group(1) for p in Path(folder).glob(IMAGE_PREFIX + "*.npz") if (m := pat.match(p.name)))


def read_dexnet(folder: str | Path, metric: str = "robust_ferrari_canny", threshold: float = DEFAULT_THRESHOLD,
                max_files: int = 0) -> dict[str, np.ndarray]:
    """Read a Dex-Net 2.0 tensor folder into robustness arrays.

    Args:
        folder: the folder of ``depth_ims_tf_table_*.npz`` etc. (or its parent holding ``tensors/``).
        metric: the metric file prefix (without ``_NNNNN.npz``).
        threshold: robust ⇔ metric > threshold.
        max_files: read only the first N numbered files (0: all).

    Returns:
        {"crops" (n, 32, 32) f4 m, "z" (n,) f4 m, "centre_depth" (n,) f4 m, "robust" (n,) bool,
        "metric" (n,) f4, "scene" (n,) i4 (object label, else file number)}.

    Raises:
        FileNotFoundError: no image tensor, or a number's pose or metric file is missing.
        ValueError: the files of one number disagree in length, or a crop is not (32, 32[, 1]).
    """
    folder = Path(folder)
    if not list_dexnet(folder) and (folder / "tensors").is_dir():
        folder = folder / "tensors"
    nums = list_dexnet(folder)
    if not nums:
        raise FileNotFoundError(f"no {IMAGE_PREFIX}*.npz in {folder}")
    if max_files:
        nums = nums[:max_files]
    parts: dict[str, list] = {k: [] for k in ("crops", "z", "centre_depth", "robust", "metric", "scene")}
    for num in nums:
        paths = {k: folder / f"{pre}{num}.npz" for k, pre in
                 (("im", IMAGE_PREFIX), ("pose", POSE_PREFIX), ("metric", metric + "_"))}
        for p in paths.values():
            if not p.is_file():
                raise FileNotFoundError(f"missing {p}")
        im = _arr(paths["im"]).astype(np.float32)
        if im.ndim == 4 and im.shape[-1] == 1:
            im = im[..., 0]
        if im.ndim != 3 or im.shape[1:] != (32, 32):
            raise ValueError(f"{paths['im']}: crops of shape {im.shape[1:]}, want (32, 32[, 1])")
        pose = _arr(paths["pose"]).astype(np.float32)
        met = _arr(paths["metric"]).astype(np.float32).reshape(-1)
        if not (len(im) == len(pose) == len(met)):
            raise ValueError(f"file {num}: {len(im)} crops, {len(pose)} poses, {len(met)} metric values")
        obj = folder / f"{OBJECT_PREFIX}{num}.npz"
        scene = _arr(obj).astype(np.int32).reshape(-1) if obj.is_file() else np.full(len(im), int(num), np.int32)
        parts["crops"].append(im)
        parts["z"].append(pose[:, Z_COLUMN])
        parts["centre_depth"].append(im[:, 15:17, 15:17].mean(axis=(1, 2)))
        parts["robust"].append(met > threshold)
        parts["metric"].append(met)
        parts["scene"].append(scene)
    return {k: np.concatenate(v, 0) for k, v in parts.items()}
