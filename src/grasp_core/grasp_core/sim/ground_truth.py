"""Ground truth of the simulated cell for scoring (tests and benchmarks only; the executor never sees it).

Where an object is, judged by its body origin (the centre of its bounding box for meshes) in
``base_link`` against the cell's :class:`grasp_core.layout.CellLayout`.
"""
from __future__ import annotations

import numpy as np

from ..layout import CellLayout

#: How far above the bin's wall top an object's centre may lie and still count as in the bin, m: a
#: pile of earlier picks (a box lying on two others, a bottle standing on one) stays above the walls.
PILE_ABOVE_WALLS = 0.15


def objects_in_bin(poses: dict[str, np.ndarray], layout: CellLayout) -> list[str]:
    """Names whose (4, 4) pose puts the centre inside the bin: within the inner footprint, between
    1 cm below the table top and :data:`PILE_ABOVE_WALLS` above the wall top (objects piled on
    earlier ones). Judge after the gripper has let go: an object still held over the bin counts too."""
    bx, by = layout.bin_centre
    hx, hy = layout.bin_inner[0] / 2, layout.bin_inner[1] / 2
    z0 = layout.table_z
    out = []
    for name, t in poses.items():
        x, y, z = t[:3, 3]
        if abs(x - bx) <= hx and abs(y - by) <= hy and z0 - 0.01 < z < z0 + layout.bin_height + PILE_ABOVE_WALLS:
            out.append(name)
    return out


def objects_on_table(poses: dict[str, np.ndarray], layout: CellLayout) -> list[str]:
    """Names whose centre lies over the table top, below 0.2 m above it, and not in the bin."""
    in_bin = set(objects_in_bin(poses, layout))
    (x0, x1), (y0, y1), z0 = layout.table_x, layout.table_y, layout.table_z
    out = []
    for name, t in poses.items():
        x, y, z = t[:3, 3]
        if x0 <= x <= x1 and y0 <= y <= y1 and z0 - 0.01 < z < z0 + 0.2 and name not in in_bin:
            out.append(name)
    return out


__all__ = ["objects_in_bin", "objects_on_table"]
