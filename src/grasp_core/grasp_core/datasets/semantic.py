"""Per-pixel object-class labels of the synthetic dataset (Ainetter & Fraundorfer, ICRA 2021, issue 20).

The class of a pixel is the *category* of the object it shows, not the object's index:

* ``0`` ``background``: table top and floor;
* the procedural shape kinds (:data:`grasp_core.objects.KINDS`: ``box`` … ``ring``);
* the household families (:data:`grasp_core.objects.HOUSEHOLD_KINDS`: ``bottle_standing`` … ``wide_plate``);
* ``mesh``: any object loaded from a mesh file or library (one category: the libraries carry no class names).

Files per image ``<id>`` in a Jacquard-layout folder written by ``grasp-dataset`` (beside the five
Jacquard files):

* ``<id>_classes.png``: (H, W) uint8 class index of every pixel (:data:`CLASS_NAMES`);
* ``<id>_grasp_classes.txt``: one class name per line, line k = the object class of the k-th
  rectangle of ``<id>_grasps.txt`` (the class of the pixel at the rectangle's centre; the projected
  physics grasps have their centre on their object).

Older folders (e.g. ``/work/data/heldout_procedural``) have neither file: :func:`read_class_labels`
derives both from ``<id>_mask.png`` (object indices) and ``.meta/scene_<k>.json`` (object kinds).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..grasp import Grasp
from ..objects import HOUSEHOLD_KINDS, KINDS
from .files import DatasetError, read_mask

#: Class names, index = the value in ``<id>_classes.png``.
CLASS_NAMES: tuple[str, ...] = ("background", *KINDS, *HOUSEHOLD_KINDS, "mesh")
CLASS_INDEX = {n: i for i, n in enumerate(CLASS_NAMES)}


def class_of_kind(kind: str) -> int:
    """Class index of an object kind (``ObjectSpec.kind``); any kind not in :data:`CLASS_NAMES` → ``mesh``."""
    return CLASS_INDEX.get(kind, CLASS_INDEX["mesh"])


def class_map(mask: np.ndarray, kinds: list[str]) -> np.ndarray:
    """(H, W) uint8 class image from an object-index mask.

    Args:
        mask: (H, W) uint8, 0 background, k + 1 object k (the generator's ``<id>_mask.png``).
        kinds: kind of object k at index k.

    Raises:
        ValueError: the mask names an object index ≥ len(kinds) + 1.
    """
    mask = np.asarray(mask)
    lut = np.array([0] + [class_of_kind(k) for k in kinds], np.uint8)
    if mask.size and int(mask.max()) >= len(lut):
        raise ValueError(f"mask has object index {int(mask.max())} but only {len(kinds)} kinds")
    return lut[mask]


def grasp_classes(grasps: list[Grasp], classes: np.ndarray) -> np.ndarray:
    """(N,) int64 class of each rectangle: the class image at its (rounded, clipped) centre pixel."""
    h, w = classes.shape
    if not grasps:
        return np.zeros(0, np.int64)
    u = np.clip(np.round([g.u for g in grasps]).astype(int), 0, w - 1)
    v = np.clip(np.round([g.v for g in grasps]).astype(int), 0, h - 1)
    return classes[v, u].astype(np.int64)


def write_class_labels(folder: str | Path, image_id: str, classes: np.ndarray, rect_classes) -> None:
    """Write ``<id>_classes.png`` and ``<id>_grasp_classes.txt`` (atomically, the text file last)."""
    import cv2

    base = Path(folder) / image_id
    cv2.imwrite(str(base) + "_classes.png", np.asarray(classes, np.uint8))
    tmp = str(base) + "_grasp_classes.txt.tmp"
    with open(tmp, "w") as f:
        f.write("".join(CLASS_NAMES[int(c)] + "\n" for c in rect_classes))
    os.replace(tmp, str(base) + "_grasp_classes.txt")


def _scene_kinds(folder: Path, image_id: str) -> list[str]:
    scene = int(Path(image_id).name.split("_")[0])
    meta = folder / ".meta" / f"scene_{scene:06d}.json"
    if not meta.is_file():
        raise DatasetError(f"{meta}: no scene metadata (needed for the object kinds of {image_id})")
    return list(json.loads(meta.read_text())["kinds"])


def read_class_labels(folder: str | Path, image_id: str, grasps: list[Grasp] | None = None):
    """(class image (H, W) uint8, (N,) int64 class per rectangle) of one generated image.

    Reads ``<id>_classes.png`` / ``<id>_grasp_classes.txt`` when present, else derives them from the
    object mask and the scene's kinds (module docstring). ``grasps``: the image's rectangles (needed
    only when deriving).

    Raises:
        DatasetError: missing files, an unknown class name, or a class count that differs from the grasps'.
    """
    folder = Path(folder)
    base = folder / image_id
    cpath, tpath = Path(str(base) + "_classes.png"), Path(str(base) + "_grasp_classes.txt")
    if cpath.is_file() and tpath.is_file():
        classes = read_mask(cpath)
        names = [s.strip() for s in tpath.read_text().splitlines() if s.strip()]
        try:
            rc = np.array([CLASS_INDEX[n] for n in names], np.int64)
        except KeyError as exc:
            raise DatasetError(f"{tpath}: unknown class {exc}") from exc
        if grasps is not None and len(rc) != len(grasps):
            raise DatasetError(f"{tpath}: {len(rc)} classes for {len(grasps)} rectangles")
        return classes, rc
    mask = read_mask(Path(str(base) + "_mask.png"))
    try:
        classes = class_map(mask, _scene_kinds(folder, image_id))
    except ValueError as exc:
        raise DatasetError(f"{image_id}: {exc}") from exc
    return classes, grasp_classes(grasps or [], classes)


__all__ = ["CLASS_INDEX", "CLASS_NAMES", "class_map", "class_of_kind", "grasp_classes", "read_class_labels",
           "write_class_labels"]
