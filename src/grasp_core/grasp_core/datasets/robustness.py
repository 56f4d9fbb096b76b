"""Grasp-robustness tensors: aligned 32 × 32 depth crops, gripper depth z and physics robustness labels.

The input of a GQ-CNN-style robustness classifier (Mahler et al., "Dex-Net 2.0", RSS 2017, §V-A:
the depth image is "transformed to align the grasp center with the image center and the grasp axis
with the middle row"; the pose input is the gripper depth z). Written by ``grasp-dataset
--robustness-trials N`` (:mod:`grasp_core.synth.robustness`) beside the Jacquard files, read without
pickle (``np.load(..., allow_pickle=False)``), and by the Dex-Net 2.0 reader
(:mod:`grasp_core.datasets.dexnet`) into the same dict.

Crop (:func:`aligned_crop`): ``CROP_SIZE`` × ``CROP_SIZE`` px covering ``CROP_SIDE_M`` metres at the
grasp centre's depth (``CROP_SIDE_M / CROP_SIZE`` = 4 mm per crop pixel whatever the camera's
distance), centred on the grasp centre (between crop pixels 15 and 16) and rotated so that the
closing (jaw) axis runs along the crop's rows (horizontal, +u); bilinear sampling
(``cv2.warpAffine``), replicated border. Holes must be inpainted first.

Layout of a dataset folder ``<out>/robustness/``::

    manifest.json          {"format": "grasp_robustness/1", "crop": {...}, "perturbation": {...},
                            "trials": N, "robust_fraction": f, "n": total, "robust": count,
                            "shards": [{"file": "scene_000000.npz", "scene": 0, "n": 27, "robust": 9}, ...]}
    scene_000000.npz       one compressed shard per scene (np.savez_compressed), arrays:

    ==================  ===============  ==============================================================
    key                 shape, dtype     meaning
    ==================  ===============  ==============================================================
    crops               (n, 32, 32) f4   aligned crop of the noisy top-down depth (holes inpainted), m
    crops_perfect       (n, 32, 32) f4   the same crop of the noise-free depth, m
    z                   (n,) f4          gripper (fingertip) depth along the optical axis, m
    centre_depth        (n,) f4          depth of the object surface at the grasp centre, m
    held                (n,) i2          perturbed trials that held
    trials              (n,) i2          perturbed trials run (N)
    robust              (n,) bool        held ≥ robust_fraction · trials
    nominal_kept        (n,) bool        the unperturbed trial at the dataset's fixed 35 mm grasp depth
                                         held (the Jacquard label)
    scene               (n,) i4          scene index (split by scene/object with it)
    obj                 (n,) i2          object index in the scene
    kind                (n,) <U32        object kind
    image_grasp         (n, 5) f4        u, v (px), angle (rad, Grasp convention), width_px, jaw_px
                                         in the top-down image the crop was cut from
    world_grasp         (n, 6) f4        x, y, z_top (m), yaw (rad), opening (m), fingertip_z (m)
    px_per_m            (n,) f4          image scale at the grasp centre (fx / centre_depth)
    ==================  ===============  ==============================================================

Network input (:func:`network_inputs`): image channel ``(crop − centre_depth) / IMAGE_SCALE_M``
and pose ``z − centre_depth`` (the depth of the fingertips below the surface at the centre, m),
normalised by the card's mean/std. Dex-Net feeds the absolute depth and z; we subtract the centre
depth because our views come from cameras 0.45–1.1 m away, while Dex-Net's camera sat at a
nearly fixed height.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

#: Crop size, px, and the side it covers at the grasp centre's depth, m.
CROP_SIZE = 32
CROP_SIDE_M = 0.128
#: Depth scale of the image channel, m (network input = (crop - centre depth) / IMAGE_SCALE_M).
IMAGE_SCALE_M = 0.05
FORMAT = "grasp_robustness/1"
SUBDIR = "robustness"

#: Arrays of a shard, with their dtypes (see the module docstring).
FIELDS = {
    "crops": np.float32, "crops_perfect": np.float32, "z": np.float32, "centre_depth": np.float32,
    "held": np.int16, "trials": np.int16, "robust": np.bool_, "nominal_kept": np.bool_,
    "scene": np.int32, "obj": np.int16, "kind": "<U32", "image_grasp": np.float32,
    "world_grasp": np.float32, "px_per_m": np.float32,
}


def crop_matrix(u: float, v: float, angle: float, px_per_m: float, size: int = CROP_SIZE,
                side_m: float = CROP_SIDE_M) -> np.ndarray:
    """(2, 3) float64 affine map from source pixels (u, v) to crop pixels.

    crop = s · R · (src − c) + (size − 1)/2, with s = (size / side_m) / px_per_m and
    R = [[cos Φ, −sin Φ], [sin Φ, cos Φ]], so the closing direction (cos Φ, −sin Φ) of a grasp at
    angle Φ (:class:`grasp_core.grasp.Grasp`, counter-clockwise on screen) maps to +u.

    Args:
        u, v: grasp centre, source px. angle: Φ, rad. px_per_m: source px per metre at the centre.
        size: crop side, px. side_m: metres covered by the crop side.

    Raises:
        ValueError: px_per_m is not positive and finite.
    """
    if not (px_per_m > 0 and np.isfinite(px_per_m)):
        raise ValueError(f"px_per_m must be positive, got {px_per_m}")
    s = (size / side_m) / px_per_m
    c, sn = np.cos(angle), np.sin(angle)
    r = s * np.array([[c, -sn], [sn, c]])
    t = np.array([(size - 1) / 2, (size - 1) / 2]) - r @ np.array([u, v])
    return np.hstack([r, t[:, None]])


def aligned_crop(depth: np.ndarray, u: float, v: float, angle: float, px_per_m: float, size: int = CROP_SIZE,
                 side_m: float = CROP_SIDE_M) -> np.ndarray:
    """The grasp-aligned crop of a depth image (module docstring).

    Args:
        depth: (H, W) float32 metres without holes (inpaint first).
        u, v, angle: grasp centre (px) and Φ (rad). px_per_m: source px per metre at the centre
            (fx / centre depth).

    Returns:
        (size, size) float32 metres; row (size − 1)/2 is the closing line, +u the closing direction.
    """
    m = crop_matrix(u, v, angle, px_per_m, size, side_m)
    return cv2.warpAffine(np.asarray(depth, np.float32), m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def network_inputs(crops: np.ndarray, z: np.ndarray, centre_depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised network inputs: ((n, 1, 32, 32) f4 image channel, (n, 1) f4 pose) — module docstring."""
    crops = np.asarray(crops, np.float32)
    cd = np.asarray(centre_depth, np.float32).reshape(-1, 1, 1)
    im = ((crops - cd) / IMAGE_SCALE_M)[:, None]
    pose = (np.asarray(z, np.float32) - cd.reshape(-1)).reshape(-1, 1)
    return im.astype(np.float32), pose.astype(np.float32)


def write_shard(path: str | Path, arrays: dict) -> None:
    """Write one shard (compressed .npz) with exactly the keys of :data:`FIELDS`, cast to their dtypes.

    Raises:
        ValueError: a key is missing or extra, or the arrays disagree on n.
    """
    if set(arrays) != set(FIELDS):
        raise ValueError(f"shard keys {sorted(arrays)} != {sorted(FIELDS)}")
    out = {k: np.asarray(arrays[k], dtype=FIELDS[k]) for k in FIELDS}
    ns = {len(a) for a in out.values()}
    if len(ns) != 1:
        raise ValueError(f"shard arrays of different lengths {ns}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, **out)
    tmp.replace(path)


def read_shard(path: str | Path) -> dict[str, np.ndarray]:
    """One shard's arrays (no pickle). Raises ValueError when a key of :data:`FIELDS` is missing."""
    with np.load(path, allow_pickle=False) as f:
        out = {k: f[k] for k in f.files}
    missing = set(FIELDS) - set(out)
    if missing:
        raise ValueError(f"{path}: missing arrays {sorted(missing)}")
    return out


def empty_arrays() -> dict[str, np.ndarray]:
    """A shard's arrays with n = 0 (a scene without candidates)."""
    shapes = {"crops": (0, CROP_SIZE, CROP_SIZE), "crops_perfect": (0, CROP_SIZE, CROP_SIZE),
              "image_grasp": (0, 5), "world_grasp": (0, 6)}
    return {k: np.zeros(shapes.get(k, (0,)), dtype=t) for k, t in FIELDS.items()}


def write_manifest(folder: str | Path, info: dict) -> Path:
    """Write ``<folder>/robustness/manifest.json`` listing every ``scene_*.npz`` shard there.

    Args:
        folder: the dataset folder. info: crop / perturbation / trials / robust_fraction entries.

    Returns:
        the manifest path.
    """
    d = Path(folder) / SUBDIR
    shards = []
    for p in sorted(d.glob("scene_*.npz")):
        if p.name.endswith(".tmp.npz"):
            continue
        with np.load(p, allow_pickle=False) as f:
            robust = f["robust"]
            scene = f["scene"]
            shards.append({"file": p.name, "scene": int(p.stem.split("_")[1]), "n": int(len(robust)),
                           "robust": int(robust.sum()), "scenes_in_shard": sorted({int(s) for s in scene})})
    man = {"format": FORMAT, "crop": {"size": CROP_SIZE, "side_m": CROP_SIDE_M, "interpolation": "bilinear",
                                      "alignment": "centre at (size-1)/2, closing axis along +u"},
           **info, "n": sum(s["n"] for s in shards), "robust": sum(s["robust"] for s in shards),
           "shards": shards}
    path = d / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(man, indent=1))
    return path


def read_robustness(folder: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """All shards listed by ``<folder>/robustness/manifest.json``, concatenated (no pickle).

    Args:
        folder: a dataset folder, or its ``robustness`` subfolder.

    Returns:
        (arrays as in the module docstring, the manifest dict).

    Raises:
        FileNotFoundError: no manifest. ValueError: wrong format or a shard's size differs from the manifest.
    """
    folder = Path(folder)
    d = folder if (folder / "manifest.json").is_file() and folder.name == SUBDIR else folder / SUBDIR
    mpath = d / "manifest.json"
    if not mpath.is_file():
        raise FileNotFoundError(f"no robustness manifest at {mpath} (grasp-dataset --robustness-trials N)")
    man = json.loads(mpath.read_text())
    if man.get("format") != FORMAT:
        raise ValueError(f"{mpath}: format {man.get('format')!r} is not {FORMAT}")
    parts = []
    for s in man["shards"]:
        a = read_shard(d / s["file"])
        if len(a["robust"]) != s["n"]:
            raise ValueError(f"{d / s['file']}: {len(a['robust'])} rows, manifest says {s['n']}")
        parts.append(a)
    if not parts:
        return empty_arrays(), man
    return {k: np.concatenate([p[k] for p in parts], 0) for k in FIELDS}, man
