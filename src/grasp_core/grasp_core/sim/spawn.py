"""Spawning objects in the simulated cell: which objects (procedural, object libraries or mesh files) and where.

Objects are dropped :data:`DROP_HEIGHT` above the table in the layout's pick area at random
positions and yaws from the reset's ``numpy.random.default_rng(seed)``, without initial overlaps
(reject sampling of their convex footprints, :data:`SPAWN_MARGIN` apart), with a density clipped so
that every object's mass lies in :data:`MASS_RANGE`.

Units: metres, kilograms; frame ``base_link`` (z up).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from ..objects import (
    HOUSEHOLD_KINDS,
    KINDS,
    LIBRARY_SOURCES,
    GeomSpec,
    ObjectSourceError,
    ObjectSpec,
    find_mesh_files,
    graspable_random_object,
    library_meshes,
    make_household_object,
    make_object,
    mesh_object,
    object_points,
    object_volume,
    random_household_object,
)
from .model import PlacedObject

#: Clearance between object footprints at spawn, m; drop height of the lowest point, m.
SPAWN_MARGIN, DROP_HEIGHT = 0.005, 0.02
#: Object mass range, kg, and the nominal density, kg/m³.
MASS_RANGE, DENSITY = (0.02, 0.30), 500.0


def safe_name(s: str) -> str:
    """``s`` with every character outside [A-Za-z0-9_] replaced by ``_`` (an MJCF-safe body name)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


#: What ``objects`` may name (besides a folder of meshes), for messages.
SOURCES_HELP = ("'procedural', 'procedural:household', 'procedural:<family>[,<family>…]', "
                "'pybullet:random_urdfs[:train|:test]', 'robosuite:household' or a folder of *.obj / *.stl meshes")


def check_source(source: str) -> str:
    """``source`` as :func:`make_specs` will read it (a folder made absolute); raises ``ValueError`` with one line.

    Sources:

    * ``procedural``: :func:`grasp_core.objects.graspable_random_object` (the original shapes);
    * ``procedural:household``: :data:`grasp_core.objects.HOUSEHOLD_KINDS` (tall standing objects,
      handled tools, thin flat objects, objects wider than the stroke);
      ``procedural:<family>``: one family of :data:`~grasp_core.objects.HOUSEHOLD_KINDS` or
      :data:`~grasp_core.objects.KINDS`; ``procedural:<family>,<family>,…``: object k of the family
      k mod (number of families), in the order given (a known mix, e.g. ``procedural:star,box`` for a
      class-targeted pick);
    * ``pybullet:random_urdfs``, ``…:train``, ``…:test``, ``robosuite:household``:
      :func:`grasp_core.objects.library_meshes` (development-profile packages);
    * anything else: a folder of ``*.obj`` / ``*.stl`` files (:func:`grasp_core.objects.find_mesh_files`).

    Raises:
        ValueError (:class:`grasp_core.objects.ObjectSourceError` for libraries): unknown family, a
        library that is not installed, a folder that is missing or has no mesh.
    """
    if source == "procedural" or source == "procedural:household":
        return source
    if source.startswith("procedural:"):
        for fam in source.split(":", 1)[1].split(","):
            if fam not in HOUSEHOLD_KINDS and fam not in KINDS:
                raise ObjectSourceError(f"unknown procedural family {fam!r}; expected one of "
                                        f"{', '.join(sorted({*HOUSEHOLD_KINDS, *KINDS}))}")
        return source
    if source in LIBRARY_SOURCES or source.split(":", 1)[0] in ("pybullet", "robosuite"):
        library_meshes(source)
        return source
    folder = Path(source).expanduser()
    try:
        find_mesh_files(folder)
    except FileNotFoundError as exc:
        raise ValueError(f"objects must be {SOURCES_HELP}: {exc}") from exc
    return str(folder.resolve())


def source_families(source: str) -> tuple[str, ...]:
    """The object families ``source`` spawns, as class names (:data:`grasp_core.datasets.semantic.CLASS_NAMES`):
    the listed ones of ``procedural:<family>,…`` (in order, once each), the household families for
    ``procedural:household``, every procedural family (:data:`grasp_core.objects.KINDS`) otherwise."""
    if source.startswith("procedural:") and source != "procedural:household":
        return tuple(dict.fromkeys(source.split(":", 1)[1].split(",")))
    return tuple(HOUSEHOLD_KINDS if source == "procedural:household" else KINDS)


def make_specs(n: int, source: str, rng: np.random.Generator, max_width: float = 0.08,
               mesh_scale: float = 1.0) -> list[ObjectSpec]:
    """``n`` object specs from ``source`` (see :func:`check_source`).

    ``procedural``: :func:`grasp_core.objects.graspable_random_object` (at most ``max_width`` wide in
    some horizontal direction). ``procedural:household`` / ``procedural:<family>``: the household
    families, not filtered by width (``wide_*`` objects are wider than the stroke on purpose).
    Mesh sources (a library or a folder) are drawn without repetition while they last, a folder's
    meshes each scaled by ``mesh_scale`` (a library's by its own scale times ``mesh_scale``), centred
    on their bounding box.

    Raises:
        ValueError: an unknown source or family, a library that is not installed, a missing folder or
        one without meshes, or a mesh MuJoCo cannot load.
    """
    if source == "procedural":
        return [graspable_random_object(rng, f"obj_{k}", max_width) for k in range(n)]
    if source == "procedural:household":
        return [random_household_object(rng, f"obj_{k}") for k in range(n)]
    source = check_source(source)
    if source.startswith("procedural:"):
        fams = source.split(":", 1)[1].split(",")
        return [(make_household_object if fams[k % len(fams)] in HOUSEHOLD_KINDS else make_object)(
            fams[k % len(fams)], rng, f"obj_{k}") for k in range(n)]
    if source.split(":", 1)[0] in ("pybullet", "robosuite"):
        meshes = library_meshes(source)
        entries = [(m.object_id, m.path, tuple(float(v) * mesh_scale for v in m.scale), True) for m in meshes]
    else:
        entries = [(f.stem, f, mesh_scale, False) for f in find_mesh_files(Path(source))]
    if n <= len(entries):
        pick = rng.choice(len(entries), size=n, replace=False)
    else:
        pick = np.concatenate([rng.permutation(len(entries)) for _ in range(-(-n // len(entries)))])[:n]
    specs = []
    for k, i in enumerate(pick):
        oid, path, scale, split = entries[int(i)]
        spec = mesh_object(path, f"{safe_name(oid)}_{k}", scale, split_parts=split)
        # centre the mesh on the body origin (the centre of its bounding box)
        pts = object_points(spec)
        centre = (pts.max(0) + pts.min(0)) / 2
        spec.geoms = [GeomSpec(g.type, g.size, tuple(np.asarray(g.pos) - centre), g.euler, g.mesh)
                      for g in spec.geoms]
        specs.append(spec)
    return specs


def _hull2d(pts: np.ndarray) -> np.ndarray:
    try:
        return pts[ConvexHull(pts).vertices]
    except Exception:  # degenerate (collinear) footprint: use the points themselves
        return pts


def _polygons_overlap(a: np.ndarray, b: np.ndarray, margin: float) -> bool:
    """Separating-axis test of two convex polygons (vertices in order), grown by ``margin``."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
        norms = np.linalg.norm(normals, axis=1)
        for nrm in normals[norms > 1e-12] / norms[norms > 1e-12, None]:
            pa, pb = a @ nrm, b @ nrm
            if pa.max() + margin < pb.min() or pb.max() + margin < pa.min():
                return False
    return True


def place_objects(specs: list[ObjectSpec], rng: np.random.Generator, pick_centre, pick_half,
                  margin: float = SPAWN_MARGIN, drop_height: float = DROP_HEIGHT,
                  mass_range: tuple[float, float] = MASS_RANGE, density: float = DENSITY,
                  table_z: float = 0.0) -> list[PlacedObject]:
    """Drop poses, colours and densities of ``specs`` over the pick area (module docstring).

    Args:
        specs: the objects; ``random_yaw_only`` ones get a random yaw, the others a random 3-D orientation.
        rng: the reset's generator.
        pick_centre, pick_half: (x, y) centre and half extents of the area, m.
        margin, drop_height, mass_range, density: as the module constants.
        table_z: height of the table top, m.

    Returns:
        one :class:`grasp_core.sim.model.PlacedObject` per spec, in order. An object that finds no free
        spot in 300 draws is dropped above everything placed before it.
    """
    cx, cy = pick_centre
    hx, hy = pick_half
    placed: list[PlacedObject] = []
    hulls: list[tuple[np.ndarray, float]] = []  # (footprint hull, top z)
    for spec in specs:
        pts = object_points(spec)
        if spec.random_yaw_only:
            rot = Rotation.from_euler("z", rng.uniform(0, 2 * math.pi))
        else:
            rot = Rotation.from_quat(rng.normal(size=4))
        p = rot.apply(pts)
        foot = _hull2d(p[:, :2])
        z0 = table_z + (-p[:, 2].min() + drop_height)
        xy = None
        for _ in range(300):
            cand = np.array([rng.uniform(cx - hx, cx + hx), rng.uniform(cy - hy, cy + hy)])
            if not any(_polygons_overlap(foot + cand, h, margin) for h, _ in hulls):
                xy = cand
                break
        if xy is None:  # no free spot: drop it above everything placed so far
            xy = np.array([rng.uniform(cx - hx, cx + hx), rng.uniform(cy - hy, cy + hy)])
            z0 = max(top for _, top in hulls) + 0.01 - p[:, 2].min()
        vol = object_volume(spec)
        lo, hi = mass_range
        dens = float(np.clip(density, lo / vol, hi / vol)) if vol > 0 else density
        rgba = np.array([*rng.uniform(0.1, 0.95, 3), 1.0])
        placed.append(PlacedObject(spec, np.array([xy[0], xy[1], z0]), rot.as_quat(scalar_first=True), rgba, dens))
        hulls.append((foot + xy, z0 + p[:, 2].max()))
    return placed


__all__ = ["DENSITY", "DROP_HEIGHT", "MASS_RANGE", "SOURCES_HELP", "SPAWN_MARGIN", "check_source", "make_specs",
           "place_objects", "safe_name"]
