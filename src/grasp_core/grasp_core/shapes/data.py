"""Simulated 300x300 top-down depth images of shapes at random positions, with grasp labels.

Scenes reuse :mod:`grasp_core.synth` (the procedural objects of
:func:`grasp_core.objects.make_object`, the MJCF of
:func:`grasp_core.synth.scene.build_mjcf` and the renderer of
:func:`grasp_core.synth.scene.render_view`). Objects are placed at rest on the
table (no physics: prisms lie on their base, cylinders lie on their side) at
random non-overlapping positions and yaws, and seen by a top-down pinhole
camera 0.62-0.78 m above the table (f = 525 px, Kinect-like: a 300x300 image
covers the same table area as a 300 px centre crop of the stack's 640x480 camera).

Shapes (class name → ``grasp_core.synth`` kind): ``cylinder`` → ``cylinder_lying``,
``L`` → ``L``, ``star`` → ``star``, ``T`` → ``T``; ``ring`` → ``ring`` (the unseen
shape of experiment 5, never in the detector's training data).

Image frame: u right, v down (px, pixel centres at integers); the camera's
image-up direction is world +y, so a world yaw ψ is the on-screen angle ψ
(counter-clockwise from +u), the convention of :class:`grasp_core.grasp.Grasp`.

Grasp labels (analytic, per convex piece): a rectangle across the piece's thin
side at its centre (a lying cylinder: across its axis at the centre and at
±half its half length; an L/T arm: across the arm at its centre; a star arm:
across the arm at 0.65 of its length; a ring segment: across the segment);
width = piece thickness + 1 cm (opening, px), length = 1.5 cm (jaw size, px). Objects are
:func:`grasp_core.objects.make_object` samples scaled by 0.55 (so that four fit in the view).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import preload_before_gl
from ..grasp import wrap_angle
from ..objects import GeomSpec, ObjectSpec, make_object
from ..synth.scene import Camera, Scene, build_mjcf, render_view

#: The detector's training shapes, in class order.
TRAIN_SHAPES = ("cylinder", "L", "star", "T")
#: All shapes (the ring is only used in experiment 5).
ALL_SHAPES = TRAIN_SHAPES + ("ring",)
#: Shape class → grasp_core.synth kind.
SHAPE_KIND = {"cylinder": "cylinder_lying", "L": "L", "star": "star", "T": "T", "ring": "ring"}
IMAGE_SIZE = 300
FOCAL_PX = 525.0
JAW_M = 0.015
#: The synth objects are scaled by this so that four fit in a 300 px (≈0.4 m) view.
OBJECT_SCALE = 0.55
OPENING_MARGIN_M = 0.01


@dataclass
class ShapeImage:
    """One rendered image.

    Attributes:
        depth: (S, S) float32 z-depth, metres (noise added, no holes).
        mask: (S, S) uint8 instance labels: 0 table, k + 1 object k.
        shapes: shape class of each object (index k ↔ mask label k + 1).
        boxes: (N, 5) float32 grasp rectangles (u, v, w, h, θ): centre px, opening px,
            jaw length px, angle rad in (−π/2, π/2].
        box_object: (N,) int32 object index of each grasp rectangle.
        rgb: (S, S, 3) uint8 colour render of the same view (objects in random colours), or None.
    """

    depth: np.ndarray
    mask: np.ndarray
    shapes: list[str]
    boxes: np.ndarray
    box_object: np.ndarray
    rgb: np.ndarray | None = None


def _piece_grasps(spec: ObjectSpec) -> list[tuple[float, float, float, float]]:
    """Grasps (x, y, yaw of the closing line, opening m) in the object's body frame."""
    out = []
    if spec.kind == "cylinder_lying":
        r, h = spec.geoms[0].size
        for s in (-0.5, 0.0, 0.5):  # the axis is the body y axis; close along x
            out.append((0.0, s * h, 0.0, 2 * r))
        return out
    if spec.kind == "cylinder_standing":
        r = spec.geoms[0].size[0]
        return [(0.0, 0.0, 0.0, 2 * r)]
    for g in spec.geoms:
        if g.type != "box":
            continue
        hx, hy = g.size[0], g.size[1]
        yaw = g.euler[2]
        px, py = g.pos[0], g.pos[1]
        if spec.kind == "star":  # along the arm at 0.65 of its length, away from the hub
            px, py = math.cos(yaw) * 2 * hx * 0.65, math.sin(yaw) * 2 * hx * 0.65
        if hx >= hy:  # long along the piece's x: close across y
            out.append((px, py, yaw + math.pi / 2, 2 * hy))
        else:
            out.append((px, py, yaw, 2 * hx))
    return out


def _scaled(spec: ObjectSpec, f: float) -> ObjectSpec:
    """The object uniformly scaled by ``f`` (sizes and piece positions)."""
    geoms = [GeomSpec(g.type, tuple(x * f for x in g.size), tuple(x * f for x in g.pos), g.euler, g.mesh)
             for g in spec.geoms]
    return ObjectSpec(spec.name, spec.kind, geoms, spec.half_height * f, spec.radius * f)


def _footprint_radius(spec: ObjectSpec) -> float:
    """Largest distance of the object's footprint from its body origin in the table plane, m."""
    r = 0.0
    for g in spec.geoms:
        if g.type == "box":
            c, s = math.cos(g.euler[2]), math.sin(g.euler[2])
            for sx in (-1, 1):
                for sy in (-1, 1):
                    x = g.pos[0] + c * sx * g.size[0] - s * sy * g.size[1]
                    y = g.pos[1] + s * sx * g.size[0] + c * sy * g.size[1]
                    r = max(r, math.hypot(x, y))
        elif spec.kind == "cylinder_lying":
            r = max(r, math.hypot(g.size[0], g.size[1]))
        else:
            r = max(r, math.hypot(g.pos[0], g.pos[1]) + g.size[0])
    return r


def _rest_height(spec: ObjectSpec) -> float:
    g = spec.geoms[0]
    if spec.kind == "cylinder_lying":
        return float(g.size[0])
    if spec.kind == "cylinder_standing":
        return float(g.size[1])
    return float(spec.half_height)


def _layout(shapes: list[str], rng: np.random.Generator, half_view: float, tries: int = 30) -> list | None:
    """Objects of ``shapes`` with non-overlapping footprints in the view, or None after ``tries`` layouts.

    Returns:
        list of (spec, rest position (3,), quaternion wxyz (4,), yaw rad).
    """
    for _ in range(tries):
        placed, centres, radii = [], [], []
        for k, s in enumerate(shapes):
            spec = _scaled(make_object(SHAPE_KIND[s], rng, f"o{k}"), OBJECT_SCALE)
            rad = _footprint_radius(spec)
            for _ in range(100):
                lim = max(half_view - rad * 0.8, 0.01)
                xy = rng.uniform(-lim, lim, 2)
                if all(np.linalg.norm(xy - c) > (rad + r2) * 0.9 for c, r2 in zip(centres, radii, strict=True)):
                    break
            else:
                break
            yaw = rng.uniform(0, 2 * math.pi)
            quat = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
            placed.append((spec, np.array([xy[0], xy[1], _rest_height(spec)]), quat, yaw))
            centres.append(xy)
            radii.append(rad)
        if len(placed) == len(shapes):
            return placed
    return None


def render_shapes(shapes: list[str], rng: np.random.Generator, noise_m: float = 0.0015,
                  size: int = IMAGE_SIZE) -> ShapeImage:
    """Render one image of the given shapes at random positions and yaws.

    Args:
        shapes: shape classes (keys of :data:`SHAPE_KIND`), one per object (1-6 objects).
        rng: the only source of randomness.
        noise_m: standard deviation of the Gaussian depth noise, metres.
        size: image side, px.

    Raises:
        ValueError: unknown shape or no room for the objects.
    """
    import mujoco

    for s in shapes:
        if s not in SHAPE_KIND:
            raise ValueError(f"unknown shape {s!r}; expected one of {list(SHAPE_KIND)}")
    height = rng.uniform(0.62, 0.78)
    half_view = 0.5 * size / FOCAL_PX * height  # half the table width seen, m
    placed = _layout(shapes, rng, half_view)
    if placed is None:
        raise ValueError(f"no room for {len(shapes)} objects in a {size} px view")
    rgba = [np.array([*rng.uniform(0.1, 0.9, 3), 1.0]) for _ in placed]
    table = {"centre": np.zeros(2), "half": np.array([2.0, 2.0]), "floor": False}
    xml = build_mjcf([(p[0], p[1], p[2]) for p in placed], table, rgba, np.array([0.7, 0.7, 0.7, 1.0]))
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    g2l = np.zeros(model.ngeom, dtype=np.int32)
    for k, p in enumerate(placed):
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, p[0].name)
        g2l[model.geom_bodyid == bid] = k + 1
    scene = Scene(xml, model, data, [p[0] for p in placed], np.zeros(3), g2l)
    c = (size - 1) / 2
    cam = Camera(np.array([0.0, 0.0, height]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]),
                 FOCAL_PX, FOCAL_PX, c, c, size, size)
    preload_before_gl()  # Triton's LLVM before Mesa's (grasp_core.preload_before_gl)
    renderer = mujoco.Renderer(model, size, size)
    try:
        view = render_view(scene, cam, renderer)
    finally:
        renderer.close()
    depth = view.depth + rng.normal(0, noise_m, view.depth.shape).astype(np.float32)
    boxes, owner = [], []
    for k, (spec, pos, _, yaw) in enumerate(placed):
        z = height - 2 * _rest_height(spec)  # depth of the top surface
        for gx, gy, gyaw, opening in _piece_grasps(spec):
            wx = pos[0] + math.cos(yaw) * gx - math.sin(yaw) * gy
            wy = pos[1] + math.sin(yaw) * gx + math.cos(yaw) * gy
            u, v, _ = cam.project(np.array([wx, wy, 2 * _rest_height(spec)]))[0]
            s = FOCAL_PX / z
            boxes.append((u, v, (opening + OPENING_MARGIN_M) * s, JAW_M * s, float(wrap_angle(gyaw + yaw))))
            owner.append(k)
    return ShapeImage(depth.astype(np.float32), view.labels, list(shapes),
                      np.asarray(boxes, np.float32).reshape(-1, 5), np.asarray(owner, np.int32),
                      np.ascontiguousarray(view.rgb, np.uint8))


def random_shape_list(rng: np.random.Generator, shapes: tuple[str, ...] = TRAIN_SHAPES,
                      n_range: tuple[int, int] = (1, 4)) -> list[str]:
    """1-4 (by default) shapes drawn uniformly with replacement."""
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    return [shapes[int(i)] for i in rng.integers(0, len(shapes), n)]


def normalise_rgb_image(rgb: np.ndarray) -> np.ndarray:
    """Network input from an (H, W, 3) uint8 colour image: (3, H, W) float32 ``rgb / 127.5 − 1`` in [−1, 1]."""
    return (np.moveaxis(np.asarray(rgb, np.float32), -1, 0) / 127.5 - 1.0).astype(np.float32)


def network_input(im: ShapeImage, modality: str = "depth") -> np.ndarray:
    """(C, S, S) float32 network input of a rendered image: ``depth`` (C = 1) or ``rgb`` (C = 3).

    Raises:
        ValueError: unknown modality, or ``rgb`` of an image rendered without colour.
    """
    if modality == "depth":
        return normalise_depth_image(im.depth)[None]
    if modality == "rgb":
        if im.rgb is None:
            raise ValueError("image has no colour render")
        return normalise_rgb_image(im.rgb)
    raise ValueError(f"unknown input modality {modality!r}; expected 'depth' or 'rgb'")


def normalise_depth_image(depth: np.ndarray, scale: float = 20.0) -> np.ndarray:
    """Network input from a hole-free depth image: ``clip((median(d) − d)·scale, −1, 2)``.

    The median is the table (most pixels); objects become positive heights
    (×20: a 5 cm tall object → 1.0).

    Args:
        depth: (H, W) float32 metres, no NaN.
        scale: 1/m.

    Returns:
        (H, W) float32.
    """
    return np.clip((np.float32(np.median(depth)) - depth) * scale, -1.0, 2.0).astype(np.float32)
