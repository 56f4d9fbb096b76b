"""Grasp objects: specs (unions of convex MuJoCo geoms), the procedural generator, mesh loading, geometry.

One module for what the simulated cell (:mod:`grasp_core.sim`), the synthetic dataset
(:mod:`grasp_core.synth`) and the shape experiments (:mod:`grasp_core.shapes`) share.

Every object is one free body made of convex primitive geoms (box, cylinder,
sphere) or of mesh geoms loaded from disk. Non-convex extruded prisms (L, T,
star, ring) are unions of boxes/cylinders in one body, so MuJoCo collides each
convex piece exactly.

Units: metres; sizes follow MJCF conventions (box = half extents, cylinder =
radius and half height, sphere = radius). Geom poses are in the body frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

#: Object kinds the procedural generator draws from, with their sampling weights.
KINDS = {
    "box": 1.0, "flat_box": 1.5, "long_box": 1.0, "cylinder_standing": 0.7,
    "cylinder_lying": 0.8, "sphere": 0.5, "L": 0.8, "T": 0.8, "star": 0.6, "ring": 0.6,
}


@dataclass
class GeomSpec:
    """One convex geom of an object.

    Attributes:
        type: MJCF geom type: "box", "cylinder", "sphere" or "mesh".
        size: MJCF size tuple (m); empty for meshes.
        pos: (3,) position in the body frame (m).
        euler: (3,) XYZ intrinsic Euler angles in the body frame (rad).
        mesh: name of a mesh asset (type "mesh" only).
    """

    type: str
    size: tuple = ()
    pos: tuple = (0.0, 0.0, 0.0)
    euler: tuple = (0.0, 0.0, 0.0)
    mesh: str = ""


@dataclass
class ObjectSpec:
    """A rigid object: a union of geoms in one body.

    Attributes:
        name: object name (unique in a scene after :func:`scene` renames it).
        kind: the generator kind (see :data:`KINDS`) or "mesh".
        geoms: the convex pieces.
        half_height: resting half height above its base when dropped upright (m),
            used for the initial drop height.
        radius: bounding radius in the table plane (m), used for placement.
        mesh_files: {asset name: absolute file path} of mesh assets used.
        random_yaw_only: drop with a random yaw only (True) or a random 3-D orientation.
    """

    name: str
    kind: str
    geoms: list[GeomSpec]
    half_height: float
    radius: float
    mesh_files: dict = field(default_factory=dict)
    random_yaw_only: bool = True


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def make_object(kind: str, rng: np.random.Generator, name: str = "obj") -> ObjectSpec:
    """Sample one procedural object of the given kind.

    Args:
        kind: one of :data:`KINDS`.
        rng: numpy Generator (the only source of randomness).
        name: body name.

    Raises:
        ValueError: unknown kind.
    """
    g: list[GeomSpec] = []
    if kind == "box":
        hx, hy, hz = _u(rng, 0.015, 0.05), _u(rng, 0.012, 0.035), _u(rng, 0.012, 0.05)
        g.append(GeomSpec("box", (hx, hy, hz)))
        return ObjectSpec(name, kind, g, hz, math.hypot(hx, hy))
    if kind == "flat_box":  # TV remote, phone, book-like: 1-3 cm tall
        hx, hy, hz = _u(rng, 0.05, 0.11), _u(rng, 0.015, 0.035), _u(rng, 0.005, 0.015)
        g.append(GeomSpec("box", (hx, hy, hz)))
        return ObjectSpec(name, kind, g, hz, math.hypot(hx, hy))
    if kind == "long_box":  # pens, sticks, handles
        hx, hy, hz = _u(rng, 0.06, 0.13), _u(rng, 0.006, 0.018), _u(rng, 0.006, 0.018)
        g.append(GeomSpec("box", (hx, hy, hz)))
        return ObjectSpec(name, kind, g, hz, math.hypot(hx, hy))
    if kind == "cylinder_standing":
        r, h = _u(rng, 0.015, 0.04), _u(rng, 0.02, 0.07)
        g.append(GeomSpec("cylinder", (r, h)))
        return ObjectSpec(name, kind, g, h, r)
    if kind == "cylinder_lying":
        r, h = _u(rng, 0.01, 0.035), _u(rng, 0.04, 0.11)
        g.append(GeomSpec("cylinder", (r, h), euler=(math.pi / 2, 0.0, 0.0)))
        return ObjectSpec(name, kind, g, r, h)
    if kind == "sphere":
        r = _u(rng, 0.015, 0.04)
        g.append(GeomSpec("sphere", (r,)))
        return ObjectSpec(name, kind, g, r, r)
    hz = _u(rng, 0.008, 0.035)  # extrusion half height of the prisms
    if kind in ("L", "T"):
        a, b = _u(rng, 0.035, 0.09), _u(rng, 0.03, 0.08)  # arm half lengths
        t1, t2 = _u(rng, 0.008, 0.022), _u(rng, 0.008, 0.022)  # arm half thicknesses
        g.append(GeomSpec("box", (a, t1, hz)))
        if kind == "L":
            g.append(GeomSpec("box", (t2, b, hz), pos=(a - t2, b - t1, 0.0)))
        else:
            g.append(GeomSpec("box", (t2, b, hz), pos=(0.0, b - t1, 0.0)))
        return ObjectSpec(name, kind, g, hz, math.hypot(a, 2 * b))
    if kind == "star":
        n = int(rng.integers(3, 7))
        arm, t = _u(rng, 0.035, 0.08), _u(rng, 0.007, 0.018)
        phase = _u(rng, 0, math.pi)
        for k in range(n):
            th = phase + 2 * math.pi * k / n
            g.append(GeomSpec("box", (arm / 2, t, hz),
                              pos=(math.cos(th) * arm / 2, math.sin(th) * arm / 2, 0.0),
                              euler=(0.0, 0.0, th)))
        g.append(GeomSpec("cylinder", (t * 1.6, hz)))
        return ObjectSpec(name, kind, g, hz, arm)
    if kind == "ring":
        n = int(rng.integers(10, 17))
        rr, t = _u(rng, 0.03, 0.06), _u(rng, 0.006, 0.014)
        half_len = rr * math.tan(math.pi / n) + t * 0.6
        for k in range(n):
            th = 2 * math.pi * k / n
            g.append(GeomSpec("box", (t, half_len, hz), pos=(rr * math.cos(th), rr * math.sin(th), 0.0),
                              euler=(0.0, 0.0, th)))
        return ObjectSpec(name, kind, g, hz, rr + t)
    raise ValueError(f"unknown object kind {kind!r}; expected one of {sorted(KINDS)}")


def random_object(rng: np.random.Generator, name: str = "obj") -> ObjectSpec:
    """Sample a kind with :data:`KINDS` weights, then an object of that kind."""
    kinds = list(KINDS)
    w = np.array([KINDS[k] for k in kinds])
    kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
    return make_object(kind, rng, name)


def find_mesh_files(folder: str | Path) -> list[Path]:
    """Sorted ``*.obj`` / ``*.stl`` files in ``folder`` or one level below.

    Raises:
        FileNotFoundError: the folder does not exist or holds no mesh file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"mesh folder {folder} does not exist")
    files = sorted(p for pat in ("*.obj", "*.stl", "*/*.obj", "*/*.stl", "*.OBJ", "*.STL")
                   for p in folder.glob(pat))
    if not files:
        raise FileNotFoundError(f"no *.obj or *.stl file in {folder} or one level below")
    return files


_MESH_CACHE: dict[tuple[str, float], tuple[np.ndarray, float]] = {}


def mesh_points_and_volume(path: str | Path, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """(vertices (N, 3) in the mesh file's frame, m; volume m³) as MuJoCo compiles the mesh.

    Raises:
        ValueError: MuJoCo cannot load the mesh (bad file, degenerate/zero volume).
    """
    import mujoco

    key = (str(Path(path).resolve()), float(scale))
    if key not in _MESH_CACHE:
        xml = (f'<mujoco><asset><mesh name="m" file="{key[0]}" scale="{scale} {scale} {scale}"/></asset>'
               '<worldbody><body><freejoint/><geom type="mesh" mesh="m" density="1000"/></body></worldbody></mujoco>')
        try:
            m = mujoco.MjModel.from_xml_string(xml)
        except ValueError as exc:
            raise ValueError(f"cannot load mesh {path}: {exc}") from exc
        adr, n = int(m.mesh_vertadr[0]), int(m.mesh_vertnum[0])
        v = m.mesh_vert[adr:adr + n].astype(np.float64)
        v = Rotation.from_quat(m.geom_quat[0], scalar_first=True).apply(v) + m.geom_pos[0]
        _MESH_CACHE[key] = (v, float(m.body_mass[1]) / 1000.0)
    v, vol = _MESH_CACHE[key]
    return v.copy(), vol


def mesh_object(path: str | Path, name: str = "obj", scale: float = 1.0) -> ObjectSpec:
    """An object from one mesh file (metres). MuJoCo collides with its convex hull.

    The visual (rendered) shape is the mesh as-is; collision uses MuJoCo's
    convex hull of it (MuJoCo's default for mesh geoms).

    Args:
        path: ``.obj`` or ``.stl`` file in metres (or in other units with ``scale``).
        name: body name.
        scale: uniform scale applied to the mesh (0.001 for a CAD file in millimetres).

    Raises:
        ValueError: MuJoCo cannot load the mesh.
    """
    path = Path(path).resolve()
    asset = f"mesh_{name}"
    verts, _ = mesh_points_and_volume(path, scale)
    ext = verts.max(0) - verts.min(0)
    half_h, radius = float(ext.max()) / 2, float(np.hypot(ext[0], ext[1])) / 2
    geom = GeomSpec("mesh", (), mesh=asset)
    spec = ObjectSpec(name, "mesh", [geom], half_h, radius, {asset: (str(path), scale)},
                      random_yaw_only=False)
    return spec


# --------------------------------------------------------------------------------------------
# Geometry of a spec (body frame)
# --------------------------------------------------------------------------------------------

def _unit_sphere(n: int = 64) -> np.ndarray:
    k = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * k / n)
    th = math.pi * (1 + 5**0.5) * k
    return np.stack([np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)], axis=1)


def _geom_points(g: GeomSpec, mesh_files: dict) -> np.ndarray:
    """Points on the surface/hull of one geom, in the object's body frame."""
    if g.type == "box":
        hx, hy, hz = g.size
        pts = np.array([[sx * hx, sy * hy, sz * hz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    elif g.type == "cylinder":
        r, h = g.size[0], g.size[1]
        a = np.linspace(0, 2 * math.pi, 32, endpoint=False)
        ring = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
        pts = np.vstack([np.column_stack([ring, np.full(32, -h)]), np.column_stack([ring, np.full(32, h)])])
    elif g.type == "sphere":
        pts = g.size[0] * _unit_sphere()
    elif g.type == "mesh":
        fpath, scale = mesh_files[g.mesh]
        pts, _ = mesh_points_and_volume(fpath, scale)
    else:
        raise ValueError(f"unsupported geom type {g.type!r}")
    rot = Rotation.from_euler("XYZ", g.euler)  # MJCF default eulerseq "xyz": intrinsic (rotating axes)
    return rot.apply(pts) + np.asarray(g.pos, dtype=np.float64)


def object_points(spec: ObjectSpec) -> np.ndarray:
    """(N, 3) points spanning the convex hull of an object, in its body frame, m."""
    return np.vstack([_geom_points(g, spec.mesh_files) for g in spec.geoms])


def object_volume(spec: ObjectSpec) -> float:
    """Volume of an object, m³ (sum of its geoms; overlaps of the pieces counted twice)."""
    vol = 0.0
    for g in spec.geoms:
        if g.type == "box":
            vol += 8 * g.size[0] * g.size[1] * g.size[2]
        elif g.type == "cylinder":
            vol += math.pi * g.size[0] ** 2 * 2 * g.size[1]
        elif g.type == "sphere":
            vol += 4 / 3 * math.pi * g.size[0] ** 3
        elif g.type == "mesh":
            fpath, scale = spec.mesh_files[g.mesh]
            vol += mesh_points_and_volume(fpath, scale)[1]
    return vol


def min_horizontal_width(points: np.ndarray, n_dirs: int = 180) -> float:
    """Smallest extent of points (N, ≥2) over horizontal directions, m (the narrowest jaw opening)."""
    a = np.linspace(0, math.pi, n_dirs, endpoint=False)
    proj = points[:, :2] @ np.stack([np.cos(a), np.sin(a)])
    return float(np.min(proj.max(0) - proj.min(0)))


def fits_gripper(spec: ObjectSpec, max_width: float = 0.08) -> bool:
    """Whether an object resting upright is at most ``max_width`` wide in some horizontal direction."""
    return min_horizontal_width(object_points(spec)) <= max_width


def graspable_random_object(rng: np.random.Generator, name: str, max_width: float = 0.08,
                            max_tries: int = 100) -> ObjectSpec:
    """:func:`random_object` resampled until it fits a parallel gripper of ``max_width`` (see :func:`fits_gripper`)."""
    for _ in range(max_tries):
        spec = random_object(rng, name)
        if fits_gripper(spec, max_width):
            return spec
    raise RuntimeError(f"no procedural object narrower than {max_width} m in {max_tries} draws")
