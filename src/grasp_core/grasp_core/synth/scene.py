"""Seeded MuJoCo table-top scenes rendered by an overhead, tilted depth camera.

World frame: z up, the table top is the plane z = 0. The camera looks at a
target point on the table from a height of 0.45-1.1 m with a tilt of 0-35°
from vertical and a random yaw about its optical axis.

Camera model: pinhole, 640x480, fx = fy (default 525 px, Kinect-like),
principal point at the image centre (319.5, 239.5) in pixel-centre
coordinates, which is where MuJoCo's renderer puts it. MuJoCo only knows a
vertical field of view: ``fovy = 2·atan(H / (2·fy))``.

Depth: MuJoCo's renderer (``mujoco.Renderer`` with depth rendering) converts its
z-buffer with the model's near/far planes to metric z-depth, i.e. the
distance along the optical axis, as a Kinect reports it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .. import preload_before_gl
from ..depth_noise import kinect_noise  # noqa: F401  (re-exported: the one Kinect noise model)
from ..objects import (
    ObjectSpec,
    find_mesh_files,
    is_named_source,
    mesh_object,
    mesh_scale_attr,
    random_object,
    source_makers,
)

IMAGE_W, IMAGE_H = 640, 480
#: Near clipping distance of the renderer, m (objects are ≥ 0.3 m from every camera).
NEAR_CLIP_M = 0.02
DEFAULT_F = 525.0


@dataclass
class Camera:
    """Pinhole depth camera in the world frame.

    Attributes:
        pos: (3,) camera centre (m).
        xaxis, yaxis: (3,) unit vectors of the image right (+u) and image up (−v) directions.
        fx, fy, cx, cy: intrinsics in px (pixel-centre convention).
        width, height: image size in px.
    """

    pos: np.ndarray
    xaxis: np.ndarray
    yaxis: np.ndarray
    fx: float = DEFAULT_F
    fy: float = DEFAULT_F
    cx: float = (IMAGE_W - 1) / 2
    cy: float = (IMAGE_H - 1) / 2
    width: int = IMAGE_W
    height: int = IMAGE_H

    @property
    def fovy_deg(self) -> float:
        return math.degrees(2 * math.atan(self.height / (2 * self.fy)))

    def intrinsics(self) -> dict:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
                "width": self.width, "height": self.height}

    def project(self, p: np.ndarray) -> np.ndarray:
        """Project (N, 3) world points to (N, 3) [u, v, z-depth]."""
        zc = np.cross(self.xaxis, self.yaxis)
        d = np.atleast_2d(p) - self.pos
        x, y, z = d @ self.xaxis, d @ self.yaxis, -(d @ zc)
        return np.stack([self.cx + self.fx * x / z, self.cy - self.fy * y / z, z], axis=1)


@dataclass
class SceneConfig:
    """Ranges of the scene randomisation (metres, degrees); ``mesh_fraction``: probability that an object
    comes from the mesh folder when one is given."""

    min_objects: int = 1
    max_objects: int = 4
    height_range: tuple = (0.45, 1.1)
    tilt_deg_range: tuple = (0.0, 35.0)
    f_jitter: float = 0.10
    table_edge_prob: float = 0.3
    settle_steps: int = 400
    mesh_fraction: float = 0.5
    #: Domain randomisation of the colour renders (issue 20, Tobin et al., IROS 2017): random
    #: textures (checker, gradient, noise) on the table and objects, 1-3 lights of random position,
    #: colour and intensity with shadows, and camera noise on the RGB image
    #: (:func:`grasp_core.synth.generate.camera_rgb_noise`). Off: the historical flat colours.
    domain_randomisation: bool = False


def sample_camera(rng: np.random.Generator, cfg: SceneConfig, target: np.ndarray) -> Camera:
    """Camera looking at ``target`` (on the table) from a random height, tilt and yaw."""
    h = rng.uniform(*cfg.height_range)
    # tilt from vertical, uniform in the range (the real Cornell frames are tilted ~25°)
    tilt = math.radians(rng.uniform(*cfg.tilt_deg_range))
    az = rng.uniform(0, 2 * math.pi)
    dist = h / math.cos(tilt)
    zc = np.array([math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)])
    pos = target + dist * zc
    ref = np.array([1.0, 0.0, 0.0]) if abs(zc[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(ref, zc)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(zc, e1)
    yaw = rng.uniform(0, 2 * math.pi)
    x = math.cos(yaw) * e1 + math.sin(yaw) * e2
    y = np.cross(zc, x)
    f = DEFAULT_F * (1 + rng.uniform(-cfg.f_jitter, cfg.f_jitter))
    return Camera(pos, x, y, f, f)


def _fmt(v) -> str:
    return " ".join(f"{float(x):.6g}" for x in v)


def random_style(rng: np.random.Generator, n_objects: int) -> dict:
    """Domain-randomisation style of one scene: textures, lights (see :attr:`SceneConfig.domain_randomisation`).

    Returns:
        {"textures": [table, floor, object 0, ...] each None (flat colour) or a dict of MJCF texture
        attributes (builtin checker / gradient / flat with random marks, two colours, random repeat),
        "lights": [{"pos", "dir", "diffuse", "castshadow"}] (1-3), "ambient": (3,) headlight ambient}.
    """
    def tex():
        if rng.uniform() < 0.3:
            return None
        kind = ["checker", "gradient", "flat"][int(rng.integers(3))]
        t = {"builtin": kind, "rgb1": rng.uniform(0.05, 0.95, 3), "rgb2": rng.uniform(0.05, 0.95, 3),
             "repeat": rng.uniform(1, 12, 2)}
        if kind == "flat":
            t.update(mark="random", random=float(rng.uniform(0.05, 0.4)), markrgb=rng.uniform(0, 1, 3))
        return t

    lights = []
    for _ in range(int(rng.integers(1, 4))):
        pos = np.array([rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5), rng.uniform(0.8, 3.0)])
        aim = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), 0.0]) - pos
        lights.append({"pos": pos, "dir": aim / np.linalg.norm(aim),
                       "diffuse": rng.uniform(0.3, 1.0) * (1 - rng.uniform(0, 0.3, 3)),
                       "castshadow": bool(rng.uniform() < 0.7)})
    return {"textures": [tex() for _ in range(n_objects + 2)], "lights": lights,
            "ambient": rng.uniform(0.0, 0.35, 3)}


def _material(name: str, t: dict | None, rgba) -> tuple[str, str]:
    """(asset XML, geom attribute) of a style texture; flat colour when ``t`` is None."""
    if t is None:
        return "", f'rgba="{_fmt(rgba)}"'
    extra = ""
    if t["builtin"] == "flat":
        extra = f' mark="{t["mark"]}" random="{t["random"]:.4g}" markrgb="{_fmt(t["markrgb"])}"'
    asset = (f'<texture name="{name}_tex" type="2d" builtin="{t["builtin"]}" rgb1="{_fmt(t["rgb1"])}" '
             f'rgb2="{_fmt(t["rgb2"])}" width="64" height="64"{extra}/>'
             f'<material name="{name}_mat" texture="{name}_tex" texrepeat="{_fmt(t["repeat"])}"/>')
    return asset, f'material="{name}_mat"'


def build_mjcf(objects: list[tuple[ObjectSpec, np.ndarray, np.ndarray]], table: dict,
               rgba: list[np.ndarray], table_rgba: np.ndarray, style: dict | None = None) -> str:
    """MJCF string of a scene.

    Args:
        objects: (spec, position (3,), quaternion wxyz (4,)) of each object at drop time.
        table: {"centre": (2,), "half": (2,), "floor": bool} table top at z = 0.
        rgba: one (4,) colour per object.
        table_rgba: (4,) table colour.
        style: optional :func:`random_style` (textures replace the colours, its lights the one light).
    """
    assets = []
    for spec, _, _ in objects:
        for aname, (fpath, scale) in spec.mesh_files.items():
            assets.append(f'<mesh name="{aname}" file="{fpath}" scale="{mesh_scale_attr(scale)}"/>')
    cx, cy = table["centre"]
    hx, hy = table["half"]
    texs = style["textures"] if style else [None] * (len(objects) + 2)
    t_asset, t_attr = _material("table", texs[0], table_rgba)
    f_asset, f_attr = _material("floor", texs[1], np.array([0.4, 0.38, 0.35, 1.0]))
    assets += [t_asset, f_asset]
    if style:
        lights = [f'<light pos="{_fmt(li["pos"])}" dir="{_fmt(li["dir"])}" diffuse="{_fmt(li["diffuse"])}" '
                  f'castshadow="{str(li["castshadow"]).lower()}"/>' for li in style["lights"]]
    else:
        lights = ['<light pos="0.3 0.2 3" dir="-0.1 -0.05 -1" diffuse="0.8 0.8 0.8"/>']
    world = [
        f'<geom name="table" type="box" pos="{cx} {cy} -0.02" size="{hx} {hy} 0.02" {t_attr}/>',
        *lights,
        '<camera name="depth_cam" pos="0 0 1"/>',
    ]
    if table.get("floor"):
        world.append(f'<geom name="floor" type="plane" pos="0 0 -0.72" size="10 10 0.1" {f_attr}/>')
    for k, ((spec, pos, quat), col) in enumerate(zip(objects, rgba, strict=True)):
        o_asset, o_attr = _material(f"{spec.name}_{k}", texs[k + 2], col)
        assets.append(o_asset)
        gs = []
        for k, g in enumerate(spec.geoms):
            attrs = f'name="{spec.name}_g{k}" type="{g.type}" pos="{_fmt(g.pos)}" euler="{_fmt(g.euler)}"'
            if g.type == "mesh":
                attrs += f' mesh="{g.mesh}"'
            else:
                attrs += f' size="{_fmt(g.size)}"'
            gs.append(f'<geom {attrs} {o_attr} friction="0.8 0.01 0.001" density="400"/>')
        world.append(f'<body name="{spec.name}" pos="{_fmt(pos)}" quat="{_fmt(quat)}"><freejoint/>'
                     + "".join(gs) + "</body>")
    headlight = f'<headlight ambient="{_fmt(style["ambient"])}"/>' if style else ""
    return (
        '<mujoco model="grasp_scene"><compiler angle="radian"/>'
        '<option timestep="0.002" integrator="implicitfast"/>'
        f'<visual><global offwidth="{IMAGE_W}" offheight="{IMAGE_H}"/>{headlight}'
        f'<map znear="0.05" zfar="20"/><quality shadowsize="{2048 if style else 0}"/></visual>'
        f'<asset>{"".join(assets)}</asset>'
        f'<worldbody>{"".join(world)}</worldbody></mujoco>'
    )


def _random_quat_yaw(rng: np.random.Generator, full: bool) -> np.ndarray:
    if full:
        q = rng.normal(size=4)
        return q / np.linalg.norm(q)
    yaw = rng.uniform(0, 2 * math.pi)
    # small random tilt so boxes settle naturally
    ax = rng.normal(size=3) * np.array([1, 1, 0])
    ang = rng.uniform(0, 0.15)
    n = np.linalg.norm(ax)
    qt = np.array([math.cos(ang / 2), *(math.sin(ang / 2) * ax / max(n, 1e-9))])
    qy = np.array([math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)])
    # (w, x, y, z) of the tilt composed with the yaw (Hamilton product qt ⊗ qy)
    return (Rotation.from_quat(qt, scalar_first=True) * Rotation.from_quat(qy, scalar_first=True)).as_quat(
        scalar_first=True)


@dataclass
class Scene:
    """A settled MuJoCo scene.

    Attributes:
        xml: the MJCF string.
        model, data: MuJoCo model and data after settling.
        objects: the object specs, index k ↔ segmentation label k + 1.
        target: (3,) point on the table the cameras look at.
        geom_to_label: (ngeom,) int array: 0 table/floor, k + 1 for a geom of object k.
    """

    xml: str
    model: object
    data: object
    objects: list
    target: np.ndarray
    geom_to_label: np.ndarray


def make_scene(seed: int, cfg: SceneConfig | None = None, mesh_specs: list | None = None) -> Scene:
    """Build and settle a random scene from ``numpy.random.default_rng(seed)``.

    1-4 objects are dropped at random poses within the central view (a disc of
    radius ≈ 0.12 m around the camera target) and settled by ``cfg.settle_steps``
    physics steps of 2 ms.

    Args:
        seed: the scene seed; same seed → same scene.
        cfg: randomisation ranges.
        mesh_specs: optional list of callables ``f(rng, name) -> ObjectSpec`` (mesh
            objects); when given, a fraction ``cfg.mesh_fraction`` (default half) of the objects come from them.
    """
    import mujoco

    cfg = cfg or SceneConfig()
    rng = np.random.default_rng(seed)
    target = np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), 0.0])
    # table: large, or with a visible edge 0.12-0.35 m from the target and a floor below
    if rng.uniform() < cfg.table_edge_prob:
        ang = rng.uniform(0, 2 * math.pi)
        edge = rng.uniform(0.16, 0.35)
        half = np.array([0.6, 0.6])
        centre = target[:2] + (edge - 0.6) * np.array([math.cos(ang), math.sin(ang)])
        # a rotated edge is approximated by an axis-aligned table: choose the dominant axis
        if abs(math.cos(ang)) > abs(math.sin(ang)):
            centre = np.array([target[0] + math.copysign(edge - 0.6, math.cos(ang)), target[1]])
        else:
            centre = np.array([target[0], target[1] + math.copysign(edge - 0.6, math.sin(ang))])
        table = {"centre": centre, "half": half, "floor": True}
    else:
        table = {"centre": np.zeros(2), "half": np.array([3.0, 3.0]), "floor": False}
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    placed = []
    z = 0.0
    for k in range(n):
        if mesh_specs and rng.uniform() < cfg.mesh_fraction:
            spec = mesh_specs[int(rng.integers(len(mesh_specs)))](rng, f"o{k}")
        else:
            spec = random_object(rng, f"o{k}")
        r = rng.uniform(0, 0.11)
        th = rng.uniform(0, 2 * math.pi)
        xy = target[:2] + r * np.array([math.cos(th), math.sin(th)])
        lo, hi = table["centre"] - table["half"], table["centre"] + table["half"]
        xy = np.clip(xy, lo + spec.radius * 0.5, hi - spec.radius * 0.5)
        z += spec.radius + spec.half_height + 0.01 if k else max(spec.half_height, spec.radius * 0.5) + 0.01
        quat = _random_quat_yaw(rng, not spec.random_yaw_only)
        placed.append((spec, np.array([xy[0], xy[1], z]), quat))
    rgba = [np.array([*rng.uniform(0.05, 0.95, 3), 1.0]) for _ in placed]
    table_rgba = np.array([*rng.uniform(0.3, 1.0, 3), 1.0])
    # the style has its own stream: the same seed gives the same objects and poses with or without it
    style = random_style(np.random.default_rng([seed, 3]), len(placed)) if cfg.domain_randomisation else None
    xml = build_mjcf(placed, table, rgba, table_rgba, style)
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    for _ in range(cfg.settle_steps):
        mujoco.mj_step(model, data)
        data.qvel[:] *= 0.98  # light damping so objects come to rest quickly
    mujoco.mj_forward(model, data)
    g2l = np.zeros(model.ngeom, dtype=np.int32)
    for k, (spec, _, _) in enumerate(placed):
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, spec.name)
        g2l[model.geom_bodyid == bid] = k + 1
    return Scene(xml, model, data, [p[0] for p in placed], target, g2l)


@dataclass
class View:
    """One rendered view.

    Attributes:
        depth: (H, W) float32 perfect z-depth, metres.
        rgb: (H, W, 3) uint8.
        labels: (H, W) uint8: 0 background (table, floor), k + 1 object k.
        camera: the camera.
    """

    depth: np.ndarray
    rgb: np.ndarray
    labels: np.ndarray
    camera: Camera


def add_camera(scene: Scene, cam: Camera) -> None:
    """Point the scene model's camera 0 at ``cam`` (modifies ``scene.model``)."""
    m = scene.model
    zc = np.cross(cam.xaxis, cam.yaxis)
    rot = np.stack([cam.xaxis, cam.yaxis, zc], axis=1)  # columns = camera axes in world
    import mujoco

    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, rot.reshape(-1))
    m.cam_pos[0] = cam.pos
    m.cam_quat[0] = q
    m.cam_fovy[0] = cam.fovy_deg


def render_view(scene: Scene, cam: Camera, renderer=None) -> View:
    """Render perfect depth, RGB and the object label image from ``cam``.

    Args:
        scene: from :func:`make_scene` (its MJCF has one camera, moved here).
        cam: the camera.
        renderer: an optional ``mujoco.Renderer`` of the scene model (640x480).
    """
    import mujoco

    add_camera(scene, cam)
    mujoco.mj_forward(scene.model, scene.data)
    own = renderer is None
    preload_before_gl()  # Triton's LLVM before Mesa's (grasp_core.preload_before_gl)
    r = renderer or mujoco.Renderer(scene.model, IMAGE_H, IMAGE_W)
    try:
        r.update_scene(scene.data, camera=0)
        rgb = r.render().copy()
        r.enable_depth_rendering()
        r.update_scene(scene.data, camera=0)
        depth = r.render().astype(np.float32).copy()
        r.disable_depth_rendering()
        r.enable_segmentation_rendering()
        r.update_scene(scene.data, camera=0)
        seg = r.render().copy()
        r.disable_segmentation_rendering()
    finally:
        if own:
            r.close()
    gid = seg[..., 0]
    is_geom = (seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)) & (gid >= 0)
    labels = np.zeros(gid.shape, np.uint8)
    labels[is_geom] = scene.geom_to_label[gid[is_geom]]
    return View(depth, rgb, labels, cam)


def build_scene(seed: int, cfg: SceneConfig | None = None, mesh_dir: str | None = None,
                mesh_scale: float = 1.0) -> Scene:
    """The settled scene of ``seed`` (procedural objects, half from ``mesh_dir`` when given, each mesh
    scaled by ``mesh_scale``: 0.001 for millimetres), its renderer's near plane at :data:`NEAR_CLIP_M`.

    ``mesh_dir`` may also name a source (:func:`grasp_core.objects.source_makers`):
    ``procedural:household``, ``procedural:<family>``, ``pybullet:random_urdfs:train``, ``robosuite:household``."""
    mesh_specs = None
    if mesh_dir and is_named_source(mesh_dir):  # procedural:household, pybullet:random_urdfs:train, ...
        mesh_specs = source_makers(mesh_dir, mesh_scale)
    elif mesh_dir:
        files = find_mesh_files(mesh_dir)
        mesh_specs = [lambda rng, name, f=f: mesh_object(f, name, mesh_scale) for f in files]
    scene = make_scene(seed, cfg or SceneConfig(), mesh_specs)
    # MJCF's <map znear> is a fraction of the model extent, which a 3 m table makes ≈ 8.5 m: the near
    # plane would sit 0.42 m from the camera and cut the tops off objects seen from 0.45 m. Make it 2 cm.
    scene.model.vis.map.znear = NEAR_CLIP_M / scene.model.stat.extent
    return scene
