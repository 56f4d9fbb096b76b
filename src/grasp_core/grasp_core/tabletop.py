"""What is on the table: regions of the depth image standing above the table plane in the pick area.

The loop's "table clear" is judged from the scene, not from the absence of grasp candidates
(issue 13, item 7): every valid pixel of the depth image is back-projected (pinhole model,
:func:`grasp_core.camera.deproject_pixel`, vectorised) into ``base_link`` with the camera
extrinsics; pixels that lie over the layout's pick area (grown by ``margin``) and more than
``min_height`` above the table top (``CellLayout.table_z``) form a mask, which a 3 × 3 morphological
opening cleans of single-pixel noise and a 5 × 5 closing joins where a thin part split an object;
its 8-connected components (OpenCV
``connectedComponentsWithStats``) with at least ``min_area`` of seen surface are the object regions.

The same regions let the executor decline a grasp on an object wider than the 2F-85's stroke
(:func:`width_across`): the width of the object under the jaws, measured on the sensed surface along
the closing direction, in a band as wide as the finger pads.

Units: metres, m²; frame ``base_link`` (z up); pixels (u right, v down) of the depth image.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from .camera import CameraIntrinsics
from .layout import CELL_LAYOUT, CellLayout
from .objects import min_horizontal_width
from .robot.gripper import PAD_HALF, STROKE

#: Default height above the table top that counts as "something there", m (≈ 3σ of the Kinect
#: noise at 1 m, Nguyen et al. 2012; below the 6 mm of the thinnest procedural object).
MIN_HEIGHT = 0.004
#: Default smallest region, m² of seen surface (a 3 cm × 0.5 cm sliver still counts).
MIN_AREA = 1.5e-4
#: Clearance the open jaws need on each side of an object, m (used by :func:`too_wide`).
JAW_CLEARANCE = 0.002


@dataclass(frozen=True)
class ObjectRegion:
    """One connected region standing above the table.

    Attributes:
        label: its label in :attr:`TableScene.labels` (≥ 1).
        n_pixels: pixels in it.
        area_m2: seen surface, m² (each pixel's footprint z²/(fx·fy) at its depth, perpendicular to its ray).
        height_m: its top above the fitted table (:func:`table_offset`), m: the 95th percentile of its
            pixels' heights (the maximum would be the noise's).
        centroid: (3,) mean of its points in ``base_link``, m.
        bbox_px: (u0, v0, width, height) of it in the image, px.
        min_width_m: narrowest horizontal extent of its points (:func:`grasp_core.objects.min_horizontal_width`), m.
        points: (M, 3) float64 its points in ``base_link``, m.
    """

    label: int
    n_pixels: int
    area_m2: float
    height_m: float
    centroid: np.ndarray
    bbox_px: tuple
    min_width_m: float
    points: np.ndarray


@dataclass(frozen=True)
class TableScene:
    """The regions of one depth image (:func:`table_regions`).

    Attributes:
        labels: (H, W) int32, 0 = table / outside the pick area / hole, k = ``regions[i].label``.
        regions: the regions kept, largest first.
    """

    labels: np.ndarray
    regions: list

    def __len__(self) -> int:
        return len(self.regions)

    def region_near(self, xy, radius: float = 0.01) -> ObjectRegion | None:
        """The region with a point within ``radius`` (m, horizontally) of ``xy`` = (x, y) in ``base_link`` (nearest)."""
        best, best_d = None, radius
        p = np.asarray(xy, dtype=np.float64)[:2]
        for r in self.regions:
            d = float(np.min(np.linalg.norm(r.points[:, :2] - p, axis=1)))
            if d <= best_d:
                best, best_d = r, d
        return best


def base_points(depth: np.ndarray, intrinsics: CameraIntrinsics, t_base_camera: np.ndarray) -> np.ndarray:
    """(H, W, 3) float64 every pixel back-projected into ``base_link``, m (NaN where the depth is not > 0).

    Raises:
        ValueError: the image shape does not match the intrinsics, or a non-finite (4, 4) transform.
    """
    d = np.asarray(depth, dtype=np.float64)
    if d.ndim != 2 or d.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth image shape {d.shape} does not match the intrinsics "
                         f"({intrinsics.height}, {intrinsics.width})")
    t = np.asarray(t_base_camera, dtype=np.float64)
    if t.shape != (4, 4) or not np.all(np.isfinite(t)):
        raise ValueError("t_base_camera must be a finite (4, 4) transform")
    d = np.where(np.isfinite(d) & (d > 0), d, np.nan)
    v, u = np.mgrid[0:d.shape[0], 0:d.shape[1]]
    cam = np.stack([(u - intrinsics.cx) * d / intrinsics.fx, (v - intrinsics.cy) * d / intrinsics.fy, d], axis=-1)
    return cam @ t[:3, :3].T + t[:3, 3]


def table_offset(height: np.ndarray, area: np.ndarray, cell: int = 64, band: float = 0.008,
                 iterations: int = 2) -> np.ndarray:
    """(H, W) the table's apparent height in the image, m: a smooth surface fitted to the table pixels.

    A depth sensor's low-frequency offsets (a few mm over tens of cm; :mod:`grasp_core.depth_noise`)
    and a slightly wrong calibration lift parts of the table by about as much as the thinnest object
    is tall. So the table is fitted: pixels of ``area`` with ``|height| < band`` start as table; the
    median height of the table pixels in each ``cell`` × ``cell`` pixel block, cells without any
    taking their nearest cell's value (SciPy's Euclidean distance transform), is upsampled by bicubic
    interpolation (OpenCV); then ``iterations`` times the table pixels are those within
    max(3σ, 3 mm) of that surface, and it is computed again (objects, standing above it, drop out).
    Zero everywhere when no pixel is table.

    Args:
        height: (H, W) height above ``table_z``, m (NaN = hole).
        area: (H, W) bool, the pixels to fit (the pick area).
        cell: block size, px. band: first table band, m. iterations: refits.
    """
    from scipy.ndimage import distance_transform_edt

    h, w = height.shape
    gh, gw = -(-h // cell), -(-w // cell)
    z = np.full((gh * cell, gw * cell), np.nan)
    z[:h, :w] = height
    inside = np.zeros(z.shape, bool)
    inside[:h, :w] = area
    with np.errstate(invalid="ignore"):
        ok = inside & np.isfinite(z) & (np.abs(z) < band)
    surface = np.zeros((h, w))
    for _ in range(iterations + 1):
        if not ok.any():
            return surface
        blocks = np.where(ok, z, np.nan).reshape(gh, cell, gw, cell).transpose(0, 2, 1, 3).reshape(gh, gw, -1)
        with warnings.catch_warnings():  # all-NaN blocks are expected (filled below)
            warnings.simplefilter("ignore", RuntimeWarning)
            grid = np.nanmedian(blocks, axis=2)
        empty = ~np.isfinite(grid)
        if empty.any():
            idx = distance_transform_edt(empty, return_distances=False, return_indices=True)
            grid = grid[tuple(idx)]
        # cell centres → pixels: resize maps the grid's cell centres onto the padded image's
        full = cv2.resize(grid.astype(np.float32), (gw * cell, gh * cell), interpolation=cv2.INTER_CUBIC)
        surface = full[:h, :w].astype(np.float64)
        res = z - full
        sd = float(np.nanstd(res[ok]))
        with np.errstate(invalid="ignore"):
            ok = inside & np.isfinite(z) & (np.abs(res) < max(3.0 * sd, 0.003))
    return surface


def table_regions(depth: np.ndarray, intrinsics: CameraIntrinsics, t_base_camera: np.ndarray,
                  layout: CellLayout = CELL_LAYOUT, min_height: float = MIN_HEIGHT, min_area: float = MIN_AREA,
                  margin: float = 0.08) -> TableScene:
    """The object regions of a depth image (module docstring).

    Args:
        depth: (H, W) float32/float64 depth, m; NaN or ≤ 0 are holes.
        intrinsics: pinhole intrinsics of that image.
        t_base_camera: (4, 4) pose of the camera optical frame in ``base_link`` (extrinsics).
        layout: the cell (table top z and pick area).
        min_height: a pixel counts when it is more than this above the table top, m.
        min_area: smallest region kept, m² of seen surface.
        margin: the pick area grown by this on every side, m (an object a failed grasp pushed out of
            it still counts; the default keeps the area inside the executor's default workspace).

    Returns:
        :class:`TableScene`.

    Raises:
        ValueError: as :func:`base_points`.
    """
    p = base_points(depth, intrinsics, t_base_camera)
    (cx, cy), (hx, hy) = layout.pick_centre, layout.pick_half
    with np.errstate(invalid="ignore"):
        area = (np.abs(p[..., 0] - cx) <= hx + margin) & (np.abs(p[..., 1] - cy) <= hy + margin)
        height = p[..., 2] - layout.table_z
        height = height - table_offset(height, area)
        above = area & (height > min_height)
    valid_area = area.astype(np.uint8)
    mask = above.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # join the pieces of one object that a thin part or a noisy edge split (a closing, 5 × 5)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) & valid_area
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    d = np.asarray(depth, dtype=np.float64)
    footprint = d * d / (intrinsics.fx * intrinsics.fy)
    out_labels = np.zeros(labels.shape, dtype=np.int32)
    regions = []
    for k in range(1, n):
        sel = labels == k
        seen = float(np.nansum(footprint[sel]))
        if seen < min_area:
            continue
        pts = p[sel & above]  # the closing's filled pixels are table, not object
        if len(pts) == 0:
            continue
        out_labels[sel] = k
        regions.append(ObjectRegion(
            label=k, n_pixels=int(sel.sum()), area_m2=seen, height_m=float(np.nanpercentile(height[sel & above], 95)),
            centroid=pts.mean(0), bbox_px=tuple(int(x) for x in stats[k, :4]),
            min_width_m=min_horizontal_width(pts), points=pts))
    regions.sort(key=lambda r: -r.area_m2)
    return TableScene(out_labels, regions)


def width_across(region: ObjectRegion, centre_xy, closing_xy, band: float = PAD_HALF[0],
                 gap: float = 0.008) -> float:
    """Width of the sensed object under the jaws along the closing direction, m (NaN when none is under them).

    The region's points within ``band`` (m, default the pad half width) of the line through
    ``centre_xy`` along ``closing_xy`` are projected on that line; of the runs of projections with no
    gap larger than ``gap`` (m), the one nearest the centre is the part the jaws close on (another arm
    of an L, the far wall of a ring are not), and its length is the width.

    Args:
        region: an :class:`ObjectRegion`.
        centre_xy: (2,) grasp centre (x, y) in ``base_link``, m.
        closing_xy: (2,) jaw closing direction in the table plane (any non-zero length).
        band, gap: m.

    Raises:
        ValueError: ``closing_xy`` is (nearly) zero.
    """
    y = np.asarray(closing_xy, dtype=np.float64)[:2]
    ny = float(np.linalg.norm(y))
    if ny < 1e-9:
        raise ValueError("closing direction has no horizontal component")
    y /= ny
    x = np.array([-y[1], y[0]])
    rel = region.points[:, :2] - np.asarray(centre_xy, dtype=np.float64)[:2]
    s = np.sort((rel @ y)[np.abs(rel @ x) <= band])
    if len(s) == 0:
        return math.nan
    splits = np.flatnonzero(np.diff(s) > gap) + 1
    runs = np.split(s, splits)
    dist = [0.0 if r[0] <= 0.0 <= r[-1] else min(abs(r[0]), abs(r[-1])) for r in runs]
    run = runs[int(np.argmin(dist))]
    if min(dist) > gap:  # the jaws' centre is not over this region
        return math.nan
    return float(run[-1] - run[0])


def too_wide(width: float, stroke: float = STROKE, clearance: float = JAW_CLEARANCE) -> bool:
    """Whether an object ``width`` m across the jaws is too wide for the open gripper (width + 2·clearance > stroke)."""
    return math.isfinite(width) and width + 2 * clearance > stroke


def draw_regions(image_bgr: np.ndarray, scene: TableScene, unresolved: list | None = None) -> np.ndarray:
    """Outline the regions on a copy of an (H, W, 3) uint8 BGR image of the same size.

    Regions in ``unresolved`` (labels; default all) are drawn in magenta with ``"no safe grasp"``,
    the others in grey.
    """
    img = image_bgr.copy()
    bad = {r.label for r in scene.regions} if unresolved is None else set(unresolved)
    for r in scene.regions:
        m = (scene.labels == r.label).astype(np.uint8)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        colour = (255, 0, 255) if r.label in bad else (160, 160, 160)
        cv2.drawContours(img, contours, -1, colour, 2, cv2.LINE_AA)
        if r.label in bad:
            u0, v0 = r.bbox_px[0], max(r.bbox_px[1] - 4, 10)
            cv2.putText(img, "no safe grasp", (u0, v0), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return img
