"""Cornell grasp dataset layout (Jiang, Moseson, Saxena, "Efficient grasping from RGBD images:
Learning using a new rectangle representation", ICRA 2011): reader and ``cpos`` writer.

Per image ``pcdXXXX``: ``pcdXXXXd.tiff`` (depth, metres, float32), ``pcdXXXXr.png`` (RGB),
``pcdXXXXcpos.txt`` (4 lines ``x y`` per rectangle; the first edge is a jaw, see
:meth:`grasp_core.grasp.Grasp.from_polygon`). Image files are read by :mod:`.files`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..grasp import Grasp
from .files import DatasetError, read_depth, read_rgb


def list_cornell(folder: str | Path) -> list[str]:
    """Sorted image stems ``pcdXXXX`` of the ``pcd*cpos.txt`` files in ``folder``."""
    return sorted(p.name[: -len("cpos.txt")] for p in Path(folder).glob("pcd*cpos.txt"))


def parse_cornell_cpos(text: str) -> list[Grasp]:
    """Cornell ``cpos.txt``: 4 lines ``x y`` per rectangle → grasps.

    Rectangles containing NaN are skipped (some Cornell files have them).

    Raises:
        DatasetError: the number of points is not a multiple of 4.
    """
    pts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pts.append((float(parts[0]), float(parts[1])))
    if len(pts) % 4:
        raise DatasetError(f"cpos has {len(pts)} points, not a multiple of 4")
    out = []
    for i in range(0, len(pts), 4):
        p = np.array(pts[i:i + 4])
        if np.isfinite(p).all():
            out.append(Grasp.from_polygon(p))
    return out


def write_cornell_cpos(path: str | Path, grasps: list[Grasp]) -> None:
    """Write grasps as a Cornell ``cpos.txt`` (corners in polygon order, first edge a jaw)."""
    lines = []
    for g in grasps:
        for x, y in g.polygon():
            lines.append(f"{x:.3f} {y:.3f}\n")
    Path(path).write_text("".join(lines))


def read_cornell(folder: str | Path, number: int | str, rgb: bool = False):
    """Read Cornell image ``pcdXXXX`` from ``folder``.

    Returns:
        (depth (H, W) float32 metres, NaN holes; rgb or None; list[Grasp] — empty
        when there is no cpos file).

    Raises:
        DatasetError: the depth image is missing.
    """
    stem = Path(folder) / (f"pcd{int(number):04d}" if str(number).isdigit() else str(number))
    d = read_depth(Path(str(stem) + "d.tiff"))
    img = None
    if rgb and Path(str(stem) + "r.png").is_file():
        img = read_rgb(str(stem) + "r.png")
    cpos = Path(str(stem) + "cpos.txt")
    grasps = parse_cornell_cpos(cpos.read_text()) if cpos.is_file() else []
    return d, img, grasps


__all__ = ["list_cornell", "parse_cornell_cpos", "read_cornell", "write_cornell_cpos"]
