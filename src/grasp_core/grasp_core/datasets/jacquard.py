"""Jacquard-layout grasp datasets: reader and writer (the synthetic dataset is written in this layout).

Jacquard layout (Depierre, Dellandréa, Chen, IROS 2018), per image ``<id>``:

* ``<id>_perfect_depth.tiff``: float32 z-depth, metres;
* ``<id>_stereo_depth.tiff``: float32 noisy depth, metres, holes = 0;
* ``<id>_RGB.png``: 8-bit colour;
* ``<id>_mask.png``: uint8 object mask. Ours stores object indices (0 =
  background, k = object k); Jacquard's own masks are 0/255, so readers treat
  any value > 0 as object;
* ``<id>_grasps.txt``: one grasp per line ``x;y;θ;w;h`` — x = column, y = row
  (px), θ in degrees, *clockwise on screen* (ggcnn's Jacquard loader negates θ
  when reading it), w = opening (px), h = jaw size (px). Hence
  ``Grasp.angle = −θ·π/180``.

Our writer adds ``manifest.json`` (camera intrinsics per image, seed, counts and,
with physics validation, the trial statistics and the gripper's parameters) and
``.meta/scene_<k>.json`` (per scene: cameras, the 3-D grasps tried and their outcome).

Image files are read by :mod:`.files` (one depth / RGB / mask reader).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import numpy as np

from ..grasp import Grasp, wrap_angle
from .files import DatasetError, read_depth, read_mask, read_rgb

SUFFIXES = ("_perfect_depth.tiff", "_stereo_depth.tiff", "_RGB.png", "_mask.png", "_grasps.txt")


def format_grasps(grasps: list[Grasp]) -> str:
    """Jacquard ``x;y;θ;w;h`` lines (θ = −Φ in degrees) for a list of grasps."""
    return "".join(f"{g.u:.2f};{g.v:.2f};{-math.degrees(g.angle):.2f};{g.width_px:.2f};{g.length_px:.2f}\n"
                   for g in grasps)


def parse_jacquard_grasps(text: str) -> list[Grasp]:
    """Parse Jacquard grasp lines into grasps (Φ = −θ in radians, wrapped).

    Raises:
        DatasetError: a line without 5 numeric fields.
    """
    out = []
    for i, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        parts = line.split(";")
        if len(parts) != 5:
            raise DatasetError(f"grasp line {i + 1}: expected x;y;θ;w;h, got {line!r}")
        try:
            x, y, th, wd, ln = (float(p) for p in parts)
        except ValueError as exc:
            raise DatasetError(f"grasp line {i + 1}: {exc}") from exc
        out.append(Grasp(x, y, float(wrap_angle(-math.radians(th))), wd, ln, 1.0))
    return out


def write_jacquard_image(folder: str | Path, image_id: str, perfect_depth: np.ndarray,
                         noisy_depth: np.ndarray, rgb: np.ndarray, mask: np.ndarray,
                         grasps: list[Grasp]) -> None:
    """Write one image in the Jacquard layout. The grasps file is written last
    (atomically), so its presence marks a complete image.

    Args:
        folder: output folder (created).
        image_id: file stem.
        perfect_depth: (H, W) float32 metres.
        noisy_depth: (H, W) float32 metres, NaN or 0 at holes (written as 0).
        rgb: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8 object indices.
        grasps: labels in source px.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / image_id
    cv2.imwrite(str(base) + "_perfect_depth.tiff", perfect_depth.astype(np.float32))
    nd = np.nan_to_num(noisy_depth.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    cv2.imwrite(str(base) + "_stereo_depth.tiff", nd)
    cv2.imwrite(str(base) + "_RGB.png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(base) + "_mask.png", mask.astype(np.uint8))
    tmp = str(base) + "_grasps.txt.tmp"
    with open(tmp, "w") as f:
        f.write(format_grasps(grasps))
    os.replace(tmp, str(base) + "_grasps.txt")


def jacquard_complete(folder: str | Path, image_id: str) -> bool:
    """True when all five files of ``image_id`` exist."""
    return all((Path(folder) / (image_id + s)).is_file() for s in SUFFIXES)


def read_jacquard(folder: str | Path, image_id: str, depth: str = "stereo", rgb: bool = False):
    """Read one Jacquard-layout image.

    Args:
        folder: dataset folder (or the object folder of the real Jacquard).
        image_id: stem, e.g. ``000012_0`` or ``1_1a2b3c``.
        depth: ``"stereo"`` (noisy) or ``"perfect"``.
        rgb: also read the RGB image.

    Returns:
        (depth (H, W) float32 metres with NaN holes, rgb (H, W, 3) uint8 or None,
        list[Grasp]).

    Raises:
        DatasetError: missing or malformed files.
    """
    base = Path(folder) / image_id
    if depth not in ("stereo", "perfect"):
        raise ValueError("depth must be 'stereo' or 'perfect'")
    d = read_depth(Path(str(base) + f"_{depth}_depth.tiff"))
    img = read_rgb(str(base) + "_RGB.png") if rgb else None
    gpath = Path(str(base) + "_grasps.txt")
    if not gpath.is_file():
        raise DatasetError(f"missing {gpath}")
    return d, img, parse_jacquard_grasps(gpath.read_text())


def read_jacquard_mask(folder: str | Path, image_id: str) -> np.ndarray:
    """Read the object mask ``<id>_mask.png`` of one Jacquard-layout image.

    Returns:
        (H, W) uint8: 0 = background; our generator stores k + 1 for object k,
        the real Jacquard 255 for its one object: use ``mask > 0`` for "object".

    Raises:
        DatasetError: the mask is missing or unreadable.
    """
    return read_mask(Path(folder) / (image_id + "_mask.png"))


def list_jacquard(folder: str | Path) -> list[str]:
    """Sorted image ids (``*_grasps.txt`` stems) in a folder or one level below (real Jacquard)."""
    folder = Path(folder)
    ids = []
    for p in sorted(list(folder.glob("*_grasps.txt")) + list(folder.glob("*/*_grasps.txt"))):
        rel = p.relative_to(folder)
        ids.append(str(rel)[: -len("_grasps.txt")])
    return ids


def write_manifest(folder: str | Path, manifest: dict) -> Path:
    """Write ``manifest.json`` (indented JSON) in ``folder``; returns its path."""
    path = Path(folder) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path
