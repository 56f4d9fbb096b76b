"""Reader of the OCID_grasp layout (Ainetter & Fraundorfer, ICRA 2021: OCID + grasp rectangles + classes).

Layout under a root folder::

    <root>/<seq>/rgb/<img>.png                       colour frame
    <root>/<seq>/seg_mask_labeled_combi/<img>.png    (H, W) per-pixel object-class index (0 background)
    <root>/<seq>/Annotations/<img>.txt               4 lines "x y" per rectangle (Cornell order)
    <root>/data_split/<split>.txt                    one "<seq>,<img>.png" per line

``<seq>`` is a relative path (``ARID20/table/top/seq08``). The class of a rectangle is the class of
the segmentation pixel at its centre, as in the authors' loader. Grasps come out as
:class:`grasp_core.grasp.Grasp` in source pixels, the project's angle convention (Cornell corner
order is parsed by :func:`grasp_core.datasets.cornell.parse_cornell_cpos`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .cornell import parse_cornell_cpos
from .files import DatasetError, read_mask, read_rgb
from .semantic import grasp_classes


def list_ocid_splits(root: str | Path) -> list[str]:
    """Split names (``data_split/<name>.txt`` stems), sorted."""
    return sorted(p.stem for p in (Path(root) / "data_split").glob("*.txt"))


def list_ocid(root: str | Path, split: str | None = None) -> list[tuple[str, str]]:
    """(seq, image file name) pairs of a split file, in file order; ``split`` None: every annotated image.

    Raises:
        DatasetError: the split file is missing or has a line without ``<seq>,<img>``.
    """
    root = Path(root)
    if split is None:
        return sorted((str(p.parent.parent.relative_to(root)), p.stem + ".png")
                      for p in root.glob("**/Annotations/*.txt"))
    path = root / "data_split" / f"{split}.txt"
    if not path.is_file():
        raise DatasetError(f"{path}: no such split file (have: {', '.join(list_ocid_splits(root)) or 'none'})")
    out = []
    for n, line in enumerate(path.read_text().splitlines()):
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise DatasetError(f"{path}:{n + 1}: expected '<seq>,<img>.png', got {line!r}")
        out.append((parts[0].strip(), parts[1].strip()))
    return out


def read_ocid(root: str | Path, seq: str, image: str):
    """One OCID_grasp frame.

    Args:
        root: dataset root.
        seq: sequence path relative to the root.
        image: image file name (``<img>.png``).

    Returns:
        (rgb (H, W, 3) uint8, classes (H, W) uint8 class index, grasps list[Grasp] in source px,
        rect_classes (N,) int64 class at each rectangle's centre).

    Raises:
        DatasetError: a missing file or a malformed annotation (point count not a multiple of 4).
    """
    base = Path(root) / seq
    stem = Path(image).stem
    rgb = read_rgb(base / "rgb" / image)
    classes = read_mask(base / "seg_mask_labeled_combi" / image)
    ann = base / "Annotations" / f"{stem}.txt"
    if not ann.is_file():
        raise DatasetError(f"{ann}: no such annotation file")
    try:
        grasps = parse_cornell_cpos(ann.read_text())
    except (DatasetError, ValueError) as exc:
        raise DatasetError(f"{ann}: {exc}") from exc
    if classes.shape != rgb.shape[:2]:
        raise DatasetError(f"{base}: segmentation {classes.shape} and colour {rgb.shape[:2]} differ in size")
    return rgb, classes, grasps, grasp_classes(grasps, classes)


def rect_lines(grasps) -> str:
    """OCID/Cornell annotation text (4 lines ``x y`` per rectangle) of grasps (for writing test folders)."""
    return "".join(f"{x:.2f} {y:.2f}\n" for g in grasps for x, y in np.asarray(g.polygon()))


__all__ = ["list_ocid", "list_ocid_splits", "read_ocid", "rect_lines"]
