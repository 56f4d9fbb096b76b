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


_MESH_CACHE: dict[tuple[str, tuple], tuple[np.ndarray, float]] = {}


def mesh_scale_attr(scale) -> str:
    """MJCF ``scale`` attribute of a mesh asset: a number (uniform) or three per-axis factors → ``"sx sy sz"``."""
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (3,))
    return " ".join(f"{float(v):g}" for v in s)


def mesh_points_and_volume(path: str | Path, scale=1.0) -> tuple[np.ndarray, float]:
    """(vertices (N, 3) in the mesh file's frame, m; volume m³) as MuJoCo compiles the mesh.

    ``scale``: a number or three per-axis factors (MJCF's mesh ``scale``).

    Raises:
        ValueError: MuJoCo cannot load the mesh (bad file, degenerate/zero volume).
    """
    import mujoco

    key = (str(Path(path).resolve()), mesh_scale_attr(scale))
    if key not in _MESH_CACHE:
        xml = (f'<mujoco><asset><mesh name="m" file="{key[0]}" scale="{key[1]}"/></asset>'
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


def mesh_object(path: str | Path, name: str = "obj", scale=1.0, split_parts: bool = False) -> ObjectSpec:
    """An object from one mesh file (metres). MuJoCo collides with its convex hull.

    The visual (rendered) shape is the mesh as-is; collision uses MuJoCo's
    convex hull of it (MuJoCo's default for mesh geoms).

    Args:
        path: ``.obj`` or ``.stl`` file in metres (or in other units with ``scale``).
        name: body name.
        scale: scale applied to the mesh (0.001 for a CAD file in millimetres), a number or three
            per-axis factors.
        split_parts: an OBJ file of several ``o`` objects (a convex decomposition) becomes one
            mesh geom per object (:func:`obj_parts`), degenerate pieces left out.

    Raises:
        ValueError: MuJoCo cannot load the mesh.
    """
    path = Path(path).resolve()
    pieces = [path]
    if split_parts:
        pieces = []
        for piece in obj_parts(path):
            try:  # a degenerate piece (flat, < 4 vertices) is left out; MuJoCo refuses it
                mesh_points_and_volume(piece, scale)
            except ValueError:
                continue
            pieces.append(piece)
        pieces = pieces or [path]
    geoms, files = [], {}
    for k, piece in enumerate(pieces):
        asset = f"mesh_{name}" if len(pieces) == 1 else f"mesh_{name}_{k}"
        geoms.append(GeomSpec("mesh", (), mesh=asset))
        files[asset] = (str(piece), scale)
    verts = np.vstack([mesh_points_and_volume(f, sc)[0] for f, sc in files.values()])
    ext = verts.max(0) - verts.min(0)
    half_h, radius = float(ext.max()) / 2, float(np.hypot(ext[0], ext[1])) / 2
    return ObjectSpec(name, "mesh", geoms, half_h, radius, files, random_yaw_only=False)


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


# --------------------------------------------------------------------------------------------
# The shapes users bring (``procedural:household``)
# --------------------------------------------------------------------------------------------

#: Families of ``procedural:household``, with their sampling weights: tall objects standing on end
#: (bottles, boxes up to 25 cm), handled tools (a body with a handle: drill- and hammer-like), thin
#: flat objects (at most 2 cm tall: scissors-like, small plates) and objects wider than the 2F-85's
#: 85 mm stroke in every horizontal direction (``wide_box``, ``wide_plate``), which the executor must
#: decline. Kept apart from :data:`KINDS` so that ``procedural`` draws stay what they were.
HOUSEHOLD_KINDS = {
    "bottle_standing": 1.0, "box_standing": 1.0, "drill": 1.0, "hammer": 1.0, "scissors": 1.0,
    "plate": 0.7, "wide_box": 0.4, "wide_plate": 0.3,
}
#: The household families an 85 mm gripper cannot close on (every horizontal width > 0.085 m).
WIDE_KINDS = ("wide_box", "wide_plate")


def make_household_object(kind: str, rng: np.random.Generator, name: str = "obj") -> ObjectSpec:
    """Sample one object of a :data:`HOUSEHOLD_KINDS` family (metres; body origin at the bounding-box centre).

    * ``bottle_standing``: a cylinder body (radius 2.5–4 cm) with a neck, 12–25 cm tall, standing;
    * ``box_standing``: a box 3–8 cm × 3–7 cm across, 15–25 cm tall, standing on end;
    * ``drill``: a cylinder body (radius 2.5–3 cm, 14–18 cm long) lying on its side, a handle
      (9–12 cm) at right angles and a battery block at the handle's end, all resting on the table;
    * ``hammer``: a handle (20–26 cm, 2–2.8 cm thick) with a head across one end;
    * ``scissors``: two crossed blades and two finger discs, 0.6–1.2 cm thick;
    * ``plate``: a disc 6–8 cm across, 0.8–2 cm thick;
    * ``wide_box``: a box 10–16 cm in both horizontal directions, 4–10 cm tall;
    * ``wide_plate``: a disc 12–20 cm across, 1–2 cm thick.

    Args:
        kind: one of :data:`HOUSEHOLD_KINDS`.
        rng: numpy Generator (the only source of randomness).
        name: body name.

    Raises:
        ValueError: unknown kind.
    """
    g: list[GeomSpec] = []
    if kind == "bottle_standing":
        r, total = _u(rng, 0.025, 0.04), _u(rng, 0.12, 0.25)
        neck_h, neck_r = _u(rng, 0.02, 0.04), _u(rng, 0.011, 0.016)
        body_h = total - neck_h
        g.append(GeomSpec("cylinder", (r, body_h / 2), pos=(0.0, 0.0, -total / 2 + body_h / 2)))
        g.append(GeomSpec("cylinder", (neck_r, neck_h / 2), pos=(0.0, 0.0, total / 2 - neck_h / 2)))
        return ObjectSpec(name, kind, g, total / 2, r)
    if kind == "box_standing":
        hx, hy, hz = _u(rng, 0.015, 0.04), _u(rng, 0.015, 0.035), _u(rng, 0.075, 0.125)
        g.append(GeomSpec("box", (hx, hy, hz)))
        return ObjectSpec(name, kind, g, hz, math.hypot(hx, hy))
    if kind == "drill":
        r, half_len = _u(rng, 0.025, 0.03), _u(rng, 0.07, 0.09)
        h_len, h_tx, h_tz = _u(rng, 0.045, 0.06), _u(rng, 0.014, 0.018), _u(rng, 0.015, 0.02)
        b = (_u(rng, 0.03, 0.04), _u(rng, 0.025, 0.03), _u(rng, 0.02, 0.025))
        hx0 = -half_len + 0.035  # the handle leaves the body near its back end
        g.append(GeomSpec("cylinder", (r, half_len), euler=(0.0, math.pi / 2, 0.0)))  # axis along x
        g.append(GeomSpec("box", (h_tx, h_len, h_tz), pos=(hx0, r + h_len - 0.01, -r + h_tz)))
        g.append(GeomSpec("box", b, pos=(hx0, r + 2 * h_len - 0.01 + b[1], -r + b[2])))
        return _centred(ObjectSpec(name, kind, g, r, half_len + 2 * h_len))
    if kind == "hammer":
        half_len, t = _u(rng, 0.1, 0.13), _u(rng, 0.01, 0.014)
        head = (_u(rng, 0.012, 0.018), _u(rng, 0.04, 0.055), _u(rng, 0.014, 0.02))
        g.append(GeomSpec("box", (half_len, t, t), pos=(0.0, 0.0, -head[2] + t)))
        g.append(GeomSpec("box", head, pos=(half_len - head[0], 0.0, 0.0)))
        return _centred(ObjectSpec(name, kind, g, head[2], math.hypot(half_len, head[1])))
    if kind == "scissors":
        hz, blade, bw = _u(rng, 0.003, 0.006), _u(rng, 0.05, 0.065), _u(rng, 0.006, 0.01)
        spread, ring_r = _u(rng, 0.12, 0.25), _u(rng, 0.014, 0.019)
        for s in (-1, 1):
            th = s * spread / 2
            g.append(GeomSpec("box", (blade, bw, hz), pos=(blade * math.cos(th), blade * math.sin(th), 0.0),
                              euler=(0.0, 0.0, th)))
            g.append(GeomSpec("cylinder", (ring_r, hz), pos=(-ring_r * 0.8, s * (ring_r * 0.9), 0.0)))
        return _centred(ObjectSpec(name, kind, g, hz, 2 * blade + 2 * ring_r))
    if kind in ("plate", "wide_plate"):
        r = _u(rng, 0.03, 0.04) if kind == "plate" else _u(rng, 0.06, 0.1)
        hz = _u(rng, 0.004, 0.01) if kind == "plate" else _u(rng, 0.005, 0.01)
        g.append(GeomSpec("cylinder", (r, hz)))
        return ObjectSpec(name, kind, g, hz, r)
    if kind == "wide_box":
        hx, hy, hz = _u(rng, 0.05, 0.08), _u(rng, 0.05, 0.08), _u(rng, 0.02, 0.05)
        g.append(GeomSpec("box", (hx, hy, hz)))
        return ObjectSpec(name, kind, g, hz, math.hypot(hx, hy))
    raise ValueError(f"unknown household object kind {kind!r}; expected one of {sorted(HOUSEHOLD_KINDS)}")


def _centred(spec: ObjectSpec) -> ObjectSpec:
    """``spec`` with its geoms moved so that the bounding box of its points is centred on the body origin."""
    pts = object_points(spec)
    c = (pts.max(0) + pts.min(0)) / 2
    spec.geoms = [GeomSpec(g.type, g.size, tuple(np.asarray(g.pos, dtype=np.float64) - c), g.euler, g.mesh)
                  for g in spec.geoms]
    ext = pts.max(0) - pts.min(0)
    spec.half_height, spec.radius = float(ext[2]) / 2, float(np.hypot(ext[0], ext[1])) / 2
    return spec


def random_household_object(rng: np.random.Generator, name: str = "obj",
                            kinds: dict[str, float] | None = None) -> ObjectSpec:
    """Sample a family with ``kinds`` weights (default :data:`HOUSEHOLD_KINDS`), then an object of it."""
    kinds = kinds or HOUSEHOLD_KINDS
    names = list(kinds)
    w = np.array([kinds[k] for k in names], dtype=np.float64)
    return make_household_object(names[int(rng.choice(len(names), p=w / w.sum()))], rng, name)


# --------------------------------------------------------------------------------------------
# Object libraries of other packages (development profile only)
# --------------------------------------------------------------------------------------------

#: The object sources :func:`library_meshes` knows: ``pybullet:random_urdfs[:train|:test]`` and
#: ``robosuite:household``.
LIBRARY_SOURCES = ("pybullet:random_urdfs", "pybullet:random_urdfs:train", "pybullet:random_urdfs:test",
                   "robosuite:household")
#: Salt of the random_urdfs train/test split (see :func:`random_urdfs_split`).
RANDOM_URDFS_SPLIT_SALT = "grasp-random_urdfs-split-v1"
#: robosuite's household objects (``robosuite/models/assets/objects/<name>.xml``).
ROBOSUITE_HOUSEHOLD = ("bottle", "can", "cereal", "milk", "bread", "lemon")
#: The robosuite release whose assets ``scripts/fetch_robosuite_objects.py`` unpacks.
ROBOSUITE_VERSION = "1.5.2"


class ObjectSourceError(ValueError):
    """An object source that cannot be used here (its package is not installed, or an unknown name)."""


@dataclass(frozen=True)
class LibraryMesh:
    """One mesh of an object library: a stable id, the file and its MJCF scale (a number or 3 factors)."""

    object_id: str
    path: Path
    scale: tuple = (1.0, 1.0, 1.0)


def random_urdfs_split(object_id: int) -> str:
    """``"test"`` or ``"train"`` for random_urdfs object ``object_id`` (0–999).

    An object is in the test split when the SHA-256 of ``f"{RANDOM_URDFS_SPLIT_SALT}:{id:03d}"``,
    read as an integer, is 0 modulo 5: about one object in five, the same on every machine and
    numpy version, independent of any scene seed.
    """
    import hashlib

    h = int(hashlib.sha256(f"{RANDOM_URDFS_SPLIT_SALT}:{int(object_id):03d}".encode()).hexdigest(), 16)
    return "test" if h % 5 == 0 else "train"


def _parse_urdf_mesh(urdf: Path) -> tuple[Path, tuple]:
    """The first collision (else visual) mesh of a URDF: (absolute file, (sx, sy, sz)).

    Raises:
        ObjectSourceError: no mesh element, or a bad scale.
    """
    import xml.etree.ElementTree as ET

    root = ET.parse(urdf).getroot()
    mesh = root.find(".//collision/geometry/mesh")
    if mesh is None:
        mesh = root.find(".//visual/geometry/mesh")
    if mesh is None or not mesh.get("filename"):
        raise ObjectSourceError(f"{urdf}: no <mesh filename=...> in a collision or visual element")
    try:
        scale = tuple(float(x) for x in (mesh.get("scale") or "1 1 1").split())
    except ValueError as exc:
        raise ObjectSourceError(f"{urdf}: bad mesh scale {mesh.get('scale')!r}") from exc
    if len(scale) == 1:
        scale = scale * 3
    if len(scale) != 3:
        raise ObjectSourceError(f"{urdf}: mesh scale needs 1 or 3 numbers, got {mesh.get('scale')!r}")
    fname = mesh.get("filename").removeprefix("package://").removeprefix("file://")
    return (urdf.parent / fname).resolve(), scale


def _package_dir(module: str) -> Path | None:
    """Folder of an installed top-level package, found without importing it (None when absent)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def robosuite_objects_dir() -> Path | None:
    """robosuite's ``models/assets/objects`` folder: an installed ``robosuite`` package, else the copy
    that ``scripts/fetch_robosuite_objects.py`` unpacked under ``<sys.prefix>/share/grasp/`` (or
    ``$GRASP_ROBOSUITE_OBJECTS``); None when neither exists."""
    import os
    import sys

    cands = []
    if os.environ.get("GRASP_ROBOSUITE_OBJECTS"):
        cands.append(Path(os.environ["GRASP_ROBOSUITE_OBJECTS"]))
    pkg = _package_dir("robosuite")
    if pkg is not None:
        cands.append(pkg / "models" / "assets" / "objects")
    cands.append(Path(sys.prefix) / "share" / "grasp" / f"robosuite-{ROBOSUITE_VERSION}" / "robosuite" / "models"
                 / "assets" / "objects")
    return next((c for c in cands if (c / "bottle.xml").is_file()), None)


def _robosuite_mesh(folder: Path, name: str) -> LibraryMesh:
    """The mesh file and scale of robosuite object ``name`` from its MJCF file (``.msh`` → the shipped ``.stl``)."""
    import xml.etree.ElementTree as ET

    xml = folder / f"{name}.xml"
    mesh = ET.parse(xml).getroot().find("./asset/mesh")
    if mesh is None or not mesh.get("file"):
        raise ObjectSourceError(f"{xml}: no <asset><mesh file=...>")
    path = (folder / mesh.get("file")).resolve()
    if path.suffix == ".msh":  # MuJoCo's legacy binary format; robosuite ships the same mesh as STL
        path = path.with_suffix(".stl")
    scale = tuple(float(x) for x in (mesh.get("scale") or "1 1 1").split())
    if not path.is_file():
        raise ObjectSourceError(f"{xml}: mesh file {path} is missing")
    return LibraryMesh(name, path, scale if len(scale) == 3 else scale * 3)


def obj_parts(path: str | Path, cache: str | Path | None = None) -> list[Path]:
    """The ``o`` objects of a multi-object Wavefront OBJ file, each written to its own OBJ file.

    pybullet's random_urdfs meshes are convex decompositions (V-HACD): one ``o convex_N`` object
    per convex piece in one file. MuJoCo's OBJ reader takes only the first object's faces of such a
    file (the render shows a sliver while the collision hull spans every vertex), so the pieces are
    split here, each with its own vertices (face indices renumbered; texture / normal indices
    dropped), and become the convex geoms of one body (:func:`mesh_object`). A file with fewer than
    two objects is returned as it is.

    Args:
        path: the ``.obj`` file.
        cache: folder for the pieces (default ``$XDG_CACHE_HOME/grasp/obj_parts`` or
            ``~/.cache/grasp/obj_parts``); each file's pieces go to a sub-folder named by its
            SHA-256, so they are written once.

    Raises:
        OSError: the file cannot be read or the pieces cannot be written.
    """
    import hashlib
    import os

    path = Path(path)
    text = path.read_text(errors="replace")
    if path.suffix.lower() != ".obj" or sum(ln.startswith("o ") for ln in text.splitlines()) < 2:
        return [path]
    base = Path(cache) if cache is not None else (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grasp" / "obj_parts")
    folder = base / hashlib.sha256(text.encode()).hexdigest()[:20]
    done = folder / "parts.txt"
    if done.is_file():
        return [folder / n for n in done.read_text().split()]
    verts: list[str] = []
    parts: list[list[list[int]]] = []
    for ln in text.splitlines():
        if ln.startswith("v "):
            verts.append(ln)
        elif ln.startswith("o ") or (ln.startswith("f ") and not parts):
            parts.append([])
        if ln.startswith("f "):
            idx = [int(tok.split("/")[0]) for tok in ln.split()[1:]]
            parts[-1].append([i - 1 if i > 0 else len(verts) + i for i in idx])
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for k, faces in enumerate(p for p in parts if p):
        used = sorted({i for f in faces for i in f})
        new = {old: j + 1 for j, old in enumerate(used)}
        name = f"part_{k:03d}.obj"
        lines = [verts[i] for i in used] + ["f " + " ".join(str(new[i]) for i in f) for f in faces]
        (folder / name).write_text("\n".join(lines) + "\n")
        names.append(name)
    done.write_text("\n".join(names) + "\n")
    return [folder / n for n in names]


def library_meshes(source: str) -> list[LibraryMesh]:
    """The meshes of an object library (:data:`LIBRARY_SOURCES`), sorted by object id.

    * ``pybullet:random_urdfs``: the 1,000 objects in pybullet's wheel
      (``pybullet_data/random_urdfs/NNN/NNN.urdf``; mesh and scale read from the URDF);
      ``…:train`` / ``…:test``: the split of :func:`random_urdfs_split` (≈800 / ≈200 objects).
    * ``robosuite:household``: :data:`ROBOSUITE_HOUSEHOLD` from robosuite's assets
      (:func:`robosuite_objects_dir`; mesh file and scale from each object's MJCF file).

    Neither package is imported, only its files are read; both are development-profile dependencies.

    Raises:
        ObjectSourceError: unknown source, or its package / files are not installed (one line that says
        how to install them).
    """
    if source not in LIBRARY_SOURCES:
        raise ObjectSourceError(f"unknown object source {source!r}; expected one of {', '.join(LIBRARY_SOURCES)}")
    if source.startswith("pybullet:"):
        pkg = _package_dir("pybullet_data")
        root = pkg / "random_urdfs" if pkg is not None else None
        if root is None or not root.is_dir():
            raise ObjectSourceError(f"{source} needs pybullet's data files: pip install pybullet==3.2.7 "
                                    "(requirements-dev.txt; GRASP_BOOTSTRAP_PROFILE=dev)")
        split = source.split(":")[2] if source.count(":") == 2 else None
        out = []
        for urdf in sorted(root.glob("[0-9][0-9][0-9]/[0-9][0-9][0-9].urdf")):
            oid = int(urdf.stem)
            if split is not None and random_urdfs_split(oid) != split:
                continue
            path, scale = _parse_urdf_mesh(urdf)
            out.append(LibraryMesh(f"random_urdfs_{urdf.stem}", path, scale))
        if not out:
            raise ObjectSourceError(f"{source}: no NNN/NNN.urdf under {root}")
        return out
    folder = robosuite_objects_dir()
    if folder is None:
        raise ObjectSourceError(f"{source} needs robosuite {ROBOSUITE_VERSION}'s object meshes: run "
                                "python scripts/fetch_robosuite_objects.py (GRASP_BOOTSTRAP_PROFILE=dev does)")
    return [_robosuite_mesh(folder, n) for n in ROBOSUITE_HOUSEHOLD]


def is_named_source(source: str | None) -> bool:
    """Whether ``source`` names a household family set or a library (``procedural:…``, ``pybullet:…``,
    ``robosuite:…``) rather than a folder of meshes."""
    return bool(source) and str(source).split(":", 1)[0] in ("procedural", "pybullet", "robosuite") \
        and ":" in str(source)


def source_makers(source: str, mesh_scale: float = 1.0) -> list:
    """Object makers ``(rng, name) → ObjectSpec`` of a named source (:func:`is_named_source`), for the
    synthetic dataset (:func:`grasp_core.synth.scene.build_scene` draws one maker per mesh object).

    ``procedural:household``: one maker drawing :data:`HOUSEHOLD_KINDS`; ``procedural:<family>``: that
    family; a library (:data:`LIBRARY_SOURCES`): one maker per mesh, split into its convex pieces,
    scaled by its own scale times ``mesh_scale``.

    Raises:
        ObjectSourceError: unknown family or library, or a library that is not installed.
    """
    if source == "procedural:household":
        return [lambda rng, name: random_household_object(rng, name)]
    if source.startswith("procedural:"):
        fam = source.split(":", 1)[1]
        if fam in HOUSEHOLD_KINDS:
            return [lambda rng, name: make_household_object(fam, rng, name)]
        if fam in KINDS:
            return [lambda rng, name: make_object(fam, rng, name)]
        raise ObjectSourceError(f"unknown procedural family {fam!r}; expected one of "
                                f"{', '.join(sorted({*HOUSEHOLD_KINDS, *KINDS}))}")
    return [lambda rng, name, m=m: mesh_object(m.path, name, tuple(float(v) * mesh_scale for v in m.scale),
                                               split_parts=True)
            for m in library_meshes(source)]
