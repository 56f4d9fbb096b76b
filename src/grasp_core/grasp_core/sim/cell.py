"""ROS-free MuJoCo pick cell: UR5 + 2F-85-like gripper, table, objects, bin and an overhead depth camera.

Conventions (shared with the rest of the stack):

* World frame = UR5 ``base_link`` (REP 103, z up); the robot stands at the origin and the table
  top is the plane z = 0 (x ∈ [−0.35, 0.95], y ∈ [−0.8, 0.8] m).
* Objects are dropped a few centimetres above the pick area (centre (0.50, 0.00), half extents
  (0.12, 0.12) m) at random positions and yaws from ``numpy.random.default_rng(seed)``, without
  initial overlaps (reject sampling of their footprints), and settled by physics.
  ``objects="procedural"`` draws :func:`grasp_core.synth.objects.random_object` shapes, keeping only
  those no wider than :attr:`CellConfig.max_object_width` in some horizontal direction (they fit
  the 85 mm stroke); any other value is a folder of ``*.obj`` / ``*.stl`` meshes in metres (in the
  folder or one level below). MuJoCo collides a mesh through its convex hull, so concave meshes
  behave like their hull (a bowl is a solid, a mug has no handle hole).
* Bin: an open box (inner 0.30 × 0.30 m, walls 0.08 m) centred at (0.25, −0.60) on the table
  (:data:`grasp_core.motion.BIN_CENTER` etc., the executor's place target).
* Camera: the pose of ``camera_depth_optical_frame`` in ``base_link`` is read from the extrinsics
  file (default ``config/camera_extrinsics.yaml``), REP 103 optical axes (z forward, x right,
  y down); Kinect-like 640×480, fx = fy = 525, (cx, cy) = (319.5, 239.5). :meth:`SimCell.render`
  returns z-depth in metres (holes 0.0) and RGB.
* Arm: the project's own UR5 model (:mod:`.model`), position servos with velocity and
  acceleration feed-forward; joint names and angles as the UR ROS driver's.
* Gripper: jaws close along tool0 y; the pads' centre is ``TCP_OFFSET`` = 0.150 m along tool0 z
  (site ``tcp``). One force-limited servo on the opening (tendon of the two finger joints), driven
  by a setpoint ramped at :attr:`CellConfig.gripper_speed` — the Robotiq behaviour: move at the
  set speed, squeeze with at most the set force when blocked.

Timestep 2 ms, implicit-fast integrator, elliptic friction cones.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from ..camera import CameraIntrinsics
from ..motion import BIN_CENTER, BIN_HEIGHT, BIN_INNER, HOME_JOINTS
from ..robot import JOINT_NAMES, UR5_JOINT_LIMITS, load_extrinsics, opening_to_knuckle
from ..synth.objects import GeomSpec, ObjectSpec, find_mesh_files, mesh_object, mesh_points_and_volume, random_object
from ..synth.scene import kinect_noise
from . import model as mdl
from .trajectory import TrajectoryFollower, quintic_trajectory

#: Nominal extrinsics (the shipped ``config/camera_extrinsics.yaml``), used only when that file cannot be found.
_NOMINAL_EXTRINSICS = ((0.5, 0.0, 0.7), (0.7071067811865476, -0.7071067811865476, 0.0, 0.0))

#: Home pose (rad): the executor's :data:`grasp_core.motion.HOME_JOINTS` (one definition for the
#: cell and the executor): arm folded up on the −y side of the base, tool pointing down, outside the
#: camera's whole image (test_sim checks it by rendering the empty cell: the table only).
HOME_Q = tuple(float(v) for v in HOME_JOINTS)


def default_extrinsics_path() -> Path | None:
    """``config/camera_extrinsics.yaml`` under ``$GRASP_ROOT``, the source checkout, or the current folder."""
    cands = []
    if os.environ.get("GRASP_ROOT"):
        cands.append(Path(os.environ["GRASP_ROOT"]) / "config" / "camera_extrinsics.yaml")
    here = Path(__file__).resolve()
    cands += [p / "config" / "camera_extrinsics.yaml" for p in here.parents]
    cands.append(Path.cwd() / "config" / "camera_extrinsics.yaml")
    for c in cands:
        if c.is_file():
            return c
    return None


@dataclass
class CellConfig:
    """Settings of the simulated cell (metres, seconds, radians, newtons, pixels).

    Attributes:
        extrinsics: camera extrinsics YAML (T_base_link_camera_depth_optical_frame); None: the
            repository's ``config/camera_extrinsics.yaml`` (found via ``$GRASP_ROOT``, the source tree
            or the current folder; the nominal values of that file when none is found).
        width, height, fx, fy, cx, cy: the depth/RGB camera's image size and pinhole intrinsics.
        depth_noise: Kinect-like axial noise on the depth image. depth_holes: Kinect-like holes (0.0).
        noise_level: scale of both (1 = typical Kinect).
        pick_centre, pick_half: the spawn area on the table, m.
        bin_centre, bin_inner, bin_height: the placing bin, m.
        timestep: physics step, s.
        home_q: (6,) arm joint positions at reset, rad (:data:`HOME_Q`: out of the camera's view).
        gripper_max_force: default grip force limit, N (Robotiq 2F-85: 20-235 N).
        gripper_speed: opening/closing rate of the fingers' setpoint, m/s of opening.
        max_object_width: procedural objects must be at most this wide in some horizontal direction, m.
        mesh_scale: scale of mesh files' units to metres (0.001: CAD files in millimetres).
        settle_time: physics time spent settling the dropped objects at reset, s.
        board: optional ChArUco calibration plate on the flange
            (:class:`grasp_core.calibration.BoardSpec`); None (default): no plate.
        board_mount: (4, 4) T_tool0_board of that plate; None: :func:`grasp_core.calibration.default_board_mount`.
    """

    extrinsics: str | Path | None = None
    width: int = 640
    height: int = 480
    fx: float = 525.0
    fy: float = 525.0
    cx: float = 319.5
    cy: float = 239.5
    depth_noise: bool = True
    depth_holes: bool = True
    noise_level: float = 1.0
    pick_centre: tuple[float, float] = (0.50, 0.00)
    pick_half: tuple[float, float] = (0.12, 0.12)
    bin_centre: tuple[float, float] = BIN_CENTER
    bin_inner: tuple[float, float] = (BIN_INNER, BIN_INNER)
    bin_height: float = BIN_HEIGHT
    timestep: float = 0.002
    home_q: tuple[float, ...] = field(default_factory=lambda: HOME_Q)
    gripper_max_force: float = 100.0
    gripper_speed: float = 0.15
    max_object_width: float = 0.08
    mesh_scale: float = 1.0
    settle_time: float = 1.0
    board: object | None = None
    board_mount: object | None = None

    def __post_init__(self) -> None:
        if len(self.home_q) != 6 or not UR5_JOINT_LIMITS.within(np.asarray(self.home_q, dtype=float)):
            raise ValueError(f"home_q must be 6 joint positions within the UR5 limits, got {self.home_q}")
        if not (self.width > 0 and self.height > 0 and self.fx > 0 and self.fy > 0):
            raise ValueError("image size and focal lengths must be positive")
        if not (0 < self.gripper_max_force <= 235.0):
            raise ValueError(f"gripper_max_force must be in (0, 235] N, got {self.gripper_max_force}")
        if not (0.0 < self.timestep <= 0.01):
            raise ValueError(f"timestep must be in (0, 0.01] s, got {self.timestep}")
        if self.board is not None and not hasattr(self.board, "cv_board"):
            raise ValueError(f"board must be a grasp_core.calibration.BoardSpec or None, got {self.board!r}")
        if self.board_mount is not None:
            t = np.asarray(self.board_mount, dtype=np.float64)
            if t.shape != (4, 4) or not np.all(np.isfinite(t)) or not np.allclose(t[:3, :3].T @ t[:3, :3], np.eye(3),
                                                                                   atol=1e-6):
                raise ValueError("board_mount must be a (4, 4) rigid transform T_tool0_board")


# --------------------------------------------------------------------------------------------
# Object geometry helpers
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


def _quat_wxyz(rot: Rotation) -> np.ndarray:
    x, y, z, w = rot.as_quat()
    return np.array([w, x, y, z])


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


# --------------------------------------------------------------------------------------------
# The cell
# --------------------------------------------------------------------------------------------

class SimCell:
    """The simulated pick cell (module docstring). Not thread-safe: drive it from one thread."""

    #: Clearance between object footprints at spawn, m; drop height of the lowest point, m.
    SPAWN_MARGIN, DROP_HEIGHT = 0.005, 0.02
    #: Object mass range, kg, and the nominal density, kg/m³.
    MASS_RANGE, DENSITY = (0.02, 0.30), 500.0

    def __init__(self, config: CellConfig | None = None) -> None:
        self.config = config or CellConfig()
        cfg = self.config
        path = cfg.extrinsics if cfg.extrinsics else default_extrinsics_path()
        if path is None:
            warnings.warn("config/camera_extrinsics.yaml not found (set GRASP_ROOT): using its nominal values",
                          stacklevel=2)
            t_xyz, q_xyzw = _NOMINAL_EXTRINSICS
            t = np.eye(4)
            t[:3, :3] = Rotation.from_quat(q_xyzw).as_matrix()
            t[:3, 3] = t_xyz
        else:
            t = load_extrinsics(path, parent_frame="base_link").matrix
        self._t_base_camera = t
        self._intrinsics = CameraIntrinsics(cfg.width, cfg.height, cfg.fx, cfg.fy, cfg.cx, cfg.cy,
                                            "camera_depth_optical_frame")
        r_mj = t[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # MuJoCo cameras look along −z with +y up
        self._camera = mdl.CameraPlacement(t[:3, 3].copy(), mdl.mat_quat(r_mj), self._intrinsics)
        self._renderer = None
        self.model = None
        self.data = None
        self._object_names: list[str] = []
        self._specs: dict[str, ObjectSpec] = {}
        self._noise_rng = np.random.default_rng(0)
        self._build([], time=0.0)

    # ---------------------------------------------------------------- model building
    def _build(self, objects: list[mdl.PlacedObject], time: float) -> None:
        import mujoco

        board, assets = self._board_mount()
        xml = mdl.build_cell_xml(self._camera, objects, self.config.bin_centre, self.config.bin_inner,
                                 self.config.bin_height, self.config.timestep, self.config.gripper_max_force,
                                 board=board)
        try:
            model = mujoco.MjModel.from_xml_string(xml, assets) if assets else mujoco.MjModel.from_xml_string(xml)
        except ValueError as exc:
            raise ValueError(f"cannot build the cell model: {exc}") from exc
        self.close()
        self.model, self.data = model, mujoco.MjData(model)
        self.xml = xml
        m = model
        jid = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n) for n in JOINT_NAMES]
        self._qadr = np.array([m.jnt_qposadr[j] for j in jid])
        self._dadr = np.array([m.jnt_dofadr[j] for j in jid])
        self._arm_act = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, n) for n in JOINT_NAMES])
        self._grip_act = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, "gripper")
        self._kp = m.actuator_gainprm[self._arm_act, 0].copy()
        self._kv = -m.actuator_biasprm[self._arm_act, 2].copy()
        self._grip_kp = float(m.actuator_gainprm[self._grip_act, 0])
        self._grip_kv = float(-m.actuator_biasprm[self._grip_act, 2])
        fj = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n) for n in ("left_finger_joint", "right_finger_joint")]
        self._finger_qadr = np.array([m.jnt_qposadr[j] for j in fj])
        self._finger_dadr = np.array([m.jnt_dofadr[j] for j in fj])
        site = lambda n: mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, n)  # noqa: E731
        self._tool0, self._tcp, self._lpad, self._rpad = site("tool0"), site("tcp"), site("left_pad"), site("right_pad")
        self._board_site = site("calib_board") if self.config.board is not None else -1
        self._object_names = [o.spec.name for o in objects]
        self._specs = {o.spec.name: o.spec for o in objects}
        self._obj_body = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, n) for n in self._object_names],
                                  dtype=int)
        self._obj_dadr = [int(m.jnt_dofadr[m.body_jntadr[b]]) for b in self._obj_body]
        # arm at home, gripper open, setpoints there
        d = self.data
        d.time = time
        home = np.asarray(self.config.home_q, dtype=np.float64)
        d.qpos[self._qadr] = home
        d.qpos[self._finger_qadr] = mdl.GRIPPER_STROKE / 2
        self._q_ref, self._qd_ref, self._qdd_ref = home.copy(), np.zeros(6), np.zeros(6)
        self._follower = TrajectoryFollower()
        self._follower_on = False
        self._grip_target = self._grip_ref = mdl.GRIPPER_STROKE
        self._grip_ref_rate = 0.0
        self._grip_force = self.config.gripper_max_force
        self._mvec = np.zeros(m.nv)
        self._mres = np.zeros(m.nv)
        mujoco.mj_forward(m, d)
        self._apply_controls()

    def _board_mount(self) -> tuple[mdl.BoardMount | None, dict]:
        """The calibration plate of :attr:`CellConfig.board` (texture rendered by cv2.aruco, passed to
        MuJoCo as an in-memory PNG asset) and the assets dict; (None, {}) without a board."""
        board = self.config.board
        if board is None:
            return None, {}
        import cv2

        img = board.image(px_per_square=120)
        ok, png = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
        if not ok:
            raise ValueError("cannot encode the calibration board texture")
        t = self.t_tool0_board
        x0, y0, _ = board.outline(with_margin=True)[0]
        x1, y1, _ = board.outline(with_margin=True)[2]
        mount = mdl.BoardMount("calib_board.png", (float(x0), float(y0), float(x1), float(y1)),
                               t[:3, 3].copy(), mdl.mat_quat(t[:3, :3]))
        return mount, {"calib_board.png": png.tobytes()}

    @property
    def t_tool0_board(self) -> np.ndarray:
        """(4, 4) T_tool0_board of the calibration plate (:attr:`CellConfig.board_mount` or the default mount).

        Raises:
            ValueError: the cell has no board.
        """
        if self.config.board is None:
            raise ValueError("this cell has no calibration board (CellConfig(board=BoardSpec(...)))")
        if self.config.board_mount is not None:
            return np.array(self.config.board_mount, dtype=np.float64)
        from ..calibration import default_board_mount

        return default_board_mount(self.config.board)

    def board_pose(self) -> np.ndarray:
        """Ground-truth (4, 4) T_base_link_board of the calibration plate (tests only).

        Raises:
            ValueError: the cell has no board.
        """
        if self._board_site < 0:
            raise ValueError("this cell has no calibration board (CellConfig(board=BoardSpec(...)))")
        return self._site_pose(self._board_site)

    def _make_specs(self, n: int, source: str, rng: np.random.Generator) -> list[ObjectSpec]:
        if source == "procedural":
            return [graspable_random_object(rng, f"obj_{k}", self.config.max_object_width) for k in range(n)]
        folder = Path(source).expanduser()
        try:
            files = find_mesh_files(folder)
        except FileNotFoundError as exc:
            raise ValueError(f"objects must be 'procedural' or a folder of *.obj / *.stl meshes: {exc}") from exc
        if n <= len(files):
            pick = rng.choice(len(files), size=n, replace=False)
        else:
            pick = np.concatenate([rng.permutation(len(files)) for _ in range(-(-n // len(files)))])[:n]
        specs = []
        for k, i in enumerate(pick):
            spec = mesh_object(files[int(i)], f"{_safe_name(files[int(i)].stem)}_{k}", self.config.mesh_scale)
            # centre the mesh on the body origin (the centre of its bounding box)
            pts = object_points(spec)
            centre = (pts.max(0) + pts.min(0)) / 2
            spec.geoms = [GeomSpec(g.type, g.size, tuple(np.asarray(g.pos) - centre), g.euler, g.mesh)
                          for g in spec.geoms]
            specs.append(spec)
        return specs

    def _place(self, specs: list[ObjectSpec], rng: np.random.Generator) -> list[mdl.PlacedObject]:
        cx, cy = self.config.pick_centre
        hx, hy = self.config.pick_half
        placed: list[mdl.PlacedObject] = []
        hulls: list[tuple[np.ndarray, float]] = []  # (footprint hull, top z)
        for spec in specs:
            pts = object_points(spec)
            if spec.random_yaw_only:
                rot = Rotation.from_euler("z", rng.uniform(0, 2 * math.pi))
            else:
                rot = Rotation.from_quat(rng.normal(size=4))
            p = rot.apply(pts)
            foot = _hull2d(p[:, :2])
            z0 = -p[:, 2].min() + self.DROP_HEIGHT
            xy = None
            for _ in range(300):
                cand = np.array([rng.uniform(cx - hx, cx + hx), rng.uniform(cy - hy, cy + hy)])
                if not any(_polygons_overlap(foot + cand, h, self.SPAWN_MARGIN) for h, _ in hulls):
                    xy = cand
                    break
            if xy is None:  # no free spot: drop it above everything placed so far
                xy = np.array([rng.uniform(cx - hx, cx + hx), rng.uniform(cy - hy, cy + hy)])
                z0 = max(top for _, top in hulls) + 0.01 - p[:, 2].min()
            vol = object_volume(spec)
            lo, hi = self.MASS_RANGE
            density = float(np.clip(self.DENSITY, lo / vol, hi / vol)) if vol > 0 else self.DENSITY
            rgba = np.array([*rng.uniform(0.1, 0.95, 3), 1.0])
            placed.append(mdl.PlacedObject(spec, np.array([xy[0], xy[1], z0]), _quat_wxyz(rot), rgba, density))
            hulls.append((foot + xy, z0 + p[:, 2].max()))
        return placed

    def reset(self, n_objects: int, objects: str = "procedural", seed: int = 0) -> list[str]:
        """Rebuild the cell with ``n_objects`` objects dropped on the pick area and settled.

        The arm returns home with the gripper open. Sim time keeps running (the reset takes
        :attr:`CellConfig.settle_time` of it), so a ROS clock never jumps back.

        Args:
            n_objects: how many objects (>= 0).
            objects: "procedural", or a folder of ``*.obj``/``*.stl`` meshes (metres) in it or one level below.
            seed: seed of ``numpy.random.default_rng``: same seed and source → same settled scene.

        Returns:
            The object (body) names.

        Raises:
            ValueError: negative n_objects, a missing folder or one without meshes, an unloadable mesh.
        """
        if int(n_objects) < 0:
            raise ValueError(f"n_objects must be >= 0, got {n_objects}")
        rng = np.random.default_rng(seed)
        specs = self._make_specs(int(n_objects), str(objects), rng)
        return self._reset_placed(self._place(specs, rng), seed)

    def reset_objects(self, specs: list[ObjectSpec], seed: int = 0) -> list[str]:
        """As :meth:`reset`, with the given object specs (unique names; see :mod:`grasp_core.synth.objects`).

        Positions and yaws are drawn from ``default_rng(seed)``; specs with ``random_yaw_only=False``
        get a random 3-D orientation.
        """
        names = [s.name for s in specs]
        if len(set(names)) != len(names) or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names):
            raise ValueError(f"object names must be unique identifiers, got {names}")
        rng = np.random.default_rng(seed)
        return self._reset_placed(self._place(list(specs), rng), seed)

    def _reset_placed(self, placed: list[mdl.PlacedObject], seed: int) -> list[str]:
        self._noise_rng = np.random.default_rng([seed, 1])
        self._build(placed, time=self.time if self.data is not None else 0.0)
        self._settle()
        return list(self._object_names)

    def _settle(self) -> None:
        """Let the dropped objects come to rest (light extra damping on the objects only)."""
        n = int(round(self.config.settle_time / self.config.timestep))
        min_steps = int(round(0.3 / self.config.timestep))
        for k in range(n):
            self.step()
            for a in self._obj_dadr:
                self.data.qvel[a:a + 6] *= 0.99
            if k >= min_steps and k % 25 == 0 and self._objects_at_rest():
                break

    def _objects_at_rest(self, tol: float = 2e-3) -> bool:
        return all(float(np.abs(self.data.qvel[a:a + 6]).max()) < tol for a in self._obj_dadr)

    # ---------------------------------------------------------------- stepping and control
    @property
    def time(self) -> float:
        """Simulation time, s."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        """Physics step, s."""
        return float(self.model.opt.timestep)

    def _apply_controls(self) -> None:
        import mujoco

        m, d = self.model, self.data
        if self._follower_on:
            self._q_ref, self._qd_ref, self._qdd_ref = self._follower.sample_full(d.time)
        # acceleration feed-forward: tau = M(q)·qdd_ref on the arm joints
        tau = np.zeros(6)
        if np.any(self._qdd_ref):
            self._mvec[:] = 0.0
            self._mvec[self._dadr] = self._qdd_ref
            mujoco.mj_mulM(m, d, self._mres, self._mvec)
            tau = self._mres[self._dadr]
        # position servo force = kp(q_ref - q) + kv(qd_ref - qd) + tau  (respects the force range)
        d.ctrl[self._arm_act] = self._q_ref + (self._kv * self._qd_ref + tau) / self._kp
        # gripper: setpoint ramped at gripper_speed; velocity feed-forward
        step = self.config.gripper_speed * m.opt.timestep
        delta = float(np.clip(self._grip_target - self._grip_ref, -step, step))
        self._grip_ref += delta
        self._grip_ref_rate = delta / m.opt.timestep
        d.ctrl[self._grip_act] = self._grip_ref + self._grip_kv * self._grip_ref_rate / self._grip_kp

    def step(self, n: int = 1) -> None:
        """Advance the physics by n steps (setpoints from the running trajectory or the last target)."""
        import mujoco

        m, d = self.model, self.data
        for _ in range(int(n)):
            self._apply_controls()
            mujoco.mj_step(m, d)
        mujoco.mj_kinematics(m, d)  # poses of the new state (mj_step leaves those of the previous one)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The arm's joint names (UR ROS driver order)."""
        return tuple(JOINT_NAMES)

    def joint_positions(self) -> np.ndarray:
        """(6,) arm joint positions, rad."""
        return self.data.qpos[self._qadr].copy()

    def joint_velocities(self) -> np.ndarray:
        """(6,) arm joint velocities, rad/s."""
        return self.data.qvel[self._dadr].copy()

    def joint_efforts(self) -> np.ndarray:
        """(6,) arm actuator torques, N·m."""
        return self.data.actuator_force[self._arm_act].copy()

    def set_joint_targets(self, q, qd=None, qdd=None) -> None:
        """Servo setpoint: positions q (6,) rad, optional velocities qd and accelerations qdd (feed-forward).

        Cancels a trajectory started by :meth:`follow_trajectory` / :meth:`run_trajectory`.

        Raises:
            ValueError: wrong shape, non-finite values, or q outside the UR5 joint limits.
        """
        q = self._vec6(q, "q")
        if not UR5_JOINT_LIMITS.within(q):
            raise ValueError(f"joint targets {np.round(q, 4).tolist()} outside the UR5 limits "
                             f"{UR5_JOINT_LIMITS.lower.tolist()} … {UR5_JOINT_LIMITS.upper.tolist()}")
        self._q_ref = q
        self._qd_ref = np.zeros(6) if qd is None else self._vec6(qd, "qd")
        self._qdd_ref = np.zeros(6) if qdd is None else self._vec6(qdd, "qdd")
        self._follower_on = False

    @staticmethod
    def _vec6(v, name: str) -> np.ndarray:
        arr = np.asarray(v, dtype=np.float64).reshape(-1)
        if arr.shape != (6,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be 6 finite values, got {v!r}")
        return arr.copy()

    def _check_trajectory(self, times, positions, velocities):
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        p = np.asarray(positions, dtype=np.float64).reshape(len(t), -1) if np.size(positions) else None
        if p is None or p.shape[1] != 6:
            raise ValueError(f"positions must be (N, 6), got shape {np.shape(positions)}")
        if not np.all(np.isfinite(p)) or not all(UR5_JOINT_LIMITS.within(row) for row in p):
            raise ValueError("trajectory positions must be finite and within the UR5 joint limits")
        v = None if velocities is None else np.asarray(velocities, dtype=np.float64).reshape(p.shape)
        if t.size and t[0] > 1e-9:  # start from where the arm is
            t = np.concatenate([[0.0], t])
            p = np.vstack([self.joint_positions(), p])
            if v is not None:
                v = np.vstack([np.zeros(6), v])
        return t, p, v

    def follow_trajectory(self, times, positions, velocities=None) -> float:
        """Start following a sampled joint trajectory now (non-blocking; :meth:`step` advances it).

        Args:
            times: (N,) s from now, increasing; when times[0] > 0 the current position is prepended.
            positions: (N, 6) rad. velocities: optional (N, 6) rad/s (cubic Hermite, else linear).

        Returns:
            The sim time at which the trajectory ends, s. After it the last point is held.
        """
        t, p, v = self._check_trajectory(times, positions, velocities)
        self._follower.set(t, p, v, start_time=self.time)
        self._follower_on = True
        return self._follower.end_time

    def run_trajectory(self, times, positions, velocities=None, settle: float = 0.0) -> None:
        """Follow a sampled joint trajectory to its end (blocking), then hold its last point.

        Args as :meth:`follow_trajectory`; ``settle``: extra seconds to step after the end.
        """
        end = self.follow_trajectory(times, positions, velocities)
        n = int(math.ceil((end - self.time) / self.timestep - 1e-9)) + int(round(settle / self.timestep))
        self.step(max(n, 0))
        q, _ = self._follower.sample(end)
        self.set_joint_targets(q)

    def move_joints(self, q, duration: float = 1.0, settle: float = 0.1) -> None:
        """Smooth (minimum-jerk) joint move from the current position to q (6,) rad in ``duration`` s (blocking)."""
        q = self._vec6(q, "q")
        t, p, v = quintic_trajectory(self.joint_positions(), q, duration, max(int(duration * 50), 2))
        self.run_trajectory(t, p, v, settle=settle)

    def trajectory_done(self) -> bool:
        """Whether the trajectory started by :meth:`follow_trajectory` has reached its end (or none runs)."""
        return not self._follower_on or self._follower.finished(self.time)

    # ---------------------------------------------------------------- gripper
    def command_gripper(self, opening: float, max_effort: float | None = None) -> None:
        """Move the fingers to ``opening`` m (0 closed … 0.085 open, clipped) at :attr:`CellConfig.gripper_speed`.

        Args:
            opening: target distance between the pads, m.
            max_effort: grip force limit, N (None: :attr:`CellConfig.gripper_max_force`; clipped to [5, 235]).

        Raises:
            ValueError: non-finite opening or effort, or effort <= 0.
        """
        if not math.isfinite(opening):
            raise ValueError(f"gripper opening must be finite, got {opening}")
        if max_effort is None:
            force = self.config.gripper_max_force
        else:
            if not math.isfinite(max_effort) or max_effort <= 0:
                raise ValueError(f"gripper max_effort must be a positive number of newtons, got {max_effort}")
            force = float(np.clip(max_effort, 5.0, 235.0))
        self._grip_force = force
        self.model.actuator_forcerange[self._grip_act] = (-force, force)
        self._grip_target = float(np.clip(opening, 0.0, mdl.GRIPPER_STROKE))

    def gripper_opening(self) -> float:
        """Measured distance between the pads' inner faces, m."""
        y = self.data.site_xmat[self._tool0].reshape(3, 3)[:, 1]
        return float((self.data.site_xpos[self._lpad] - self.data.site_xpos[self._rpad]) @ y)

    def gripper_opening_velocity(self) -> float:
        """Rate of change of the opening, m/s."""
        return float(self.data.qvel[self._finger_dadr].sum())

    def gripper_knuckle(self) -> float:
        """The opening as the Robotiq knuckle angle (rad, 0 open … 0.7929 closed; linear map)."""
        return float(opening_to_knuckle(self.gripper_opening()))

    def gripper_target(self) -> float:
        """The commanded opening, m."""
        return self._grip_target

    def gripper_moving(self) -> bool:
        """Fingers moving: noticeable speed, or the setpoint still ramping with the fingers following it."""
        if abs(self.gripper_opening_velocity()) > 5e-3:
            return True
        ramping = abs(self._grip_target - self._grip_ref) > 1e-9
        return ramping and abs(self._grip_ref - self.gripper_opening()) < 4e-3

    def gripper_stalled(self) -> bool:
        """Closed on something: not moving, opening > 2 mm, and the target more than 2 mm below the opening."""
        o = self.gripper_opening()
        return (not self.gripper_moving()) and o > 2e-3 and self._grip_target < o - 2e-3

    # ---------------------------------------------------------------- camera
    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole intrinsics of the rendered images (frame ``camera_depth_optical_frame``)."""
        return self._intrinsics

    @property
    def t_base_camera(self) -> np.ndarray:
        """(4, 4) T_base_link_camera_depth_optical_frame."""
        return self._t_base_camera.copy()

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """(depth (H, W) float32 z-depth m, holes 0.0; rgb (H, W, 3) uint8) from the overhead camera.

        Noise and holes per :attr:`CellConfig.depth_noise` / :attr:`CellConfig.depth_holes`
        (:func:`grasp_core.synth.scene.kinect_noise`), drawn from a generator seeded by reset's seed.
        """
        import mujoco

        cfg = self.config
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, cfg.height, cfg.width)
        r = self._renderer
        r.update_scene(self.data, camera="depth_cam")
        rgb = r.render().copy()
        r.enable_depth_rendering()
        try:
            r.update_scene(self.data, camera="depth_cam")
            depth = r.render().astype(np.float32)
        finally:
            r.disable_depth_rendering()
        if cfg.depth_noise or cfg.depth_holes:
            noisy = kinect_noise(depth, self._noise_rng, cfg.noise_level)
            holes = np.isnan(noisy)
            if not cfg.depth_noise:
                noisy = depth.copy()
            elif not cfg.depth_holes:  # noise everywhere, no holes: fill the hole pixels with noisy depth
                sigma = (0.0012 + 0.0019 * (depth[holes] - 0.4) ** 2) * cfg.noise_level
                noisy[holes] = depth[holes] + self._noise_rng.normal(size=sigma.shape).astype(np.float32) * sigma
            if cfg.depth_holes:
                noisy[holes] = 0.0
            depth = noisy
        return depth.astype(np.float32), rgb

    def project(self, points_base) -> np.ndarray:
        """(N, 3) base_link points → (N, 3) [u, v, z-depth] in the image (px, px, m)."""
        p = np.atleast_2d(np.asarray(points_base, dtype=np.float64))
        t = np.linalg.inv(self._t_base_camera)
        pc = p @ t[:3, :3].T + t[:3, 3]
        k = self._intrinsics
        return np.stack([k.fx * pc[:, 0] / pc[:, 2] + k.cx, k.fy * pc[:, 1] / pc[:, 2] + k.cy, pc[:, 2]], axis=1)

    # ---------------------------------------------------------------- ground truth
    @property
    def object_names(self) -> list[str]:
        return list(self._object_names)

    def object_poses(self) -> dict[str, np.ndarray]:
        """Ground-truth (4, 4) pose of each object's body in base_link (tests and benchmarks only)."""
        out = {}
        for name, b in zip(self._object_names, self._obj_body, strict=True):
            t = np.eye(4)
            t[:3, :3] = self.data.xmat[b].reshape(3, 3)
            t[:3, 3] = self.data.xpos[b]
            out[name] = t
        return out

    def object_spec(self, name: str) -> ObjectSpec:
        """The spec (geoms in the body frame) of a spawned object."""
        return self._specs[name]

    def object_points(self, name: str) -> np.ndarray:
        """(N, 3) ground-truth points spanning the object's convex hull, in base_link, m."""
        t = self.object_poses()[name]
        return object_points(self._specs[name]) @ t[:3, :3].T + t[:3, 3]

    def objects_in_bin(self) -> list[str]:
        """Objects whose centre lies inside the bin (inner footprint, below the wall top + 5 cm)."""
        bx, by = self.config.bin_centre
        hx, hy = self.config.bin_inner[0] / 2, self.config.bin_inner[1] / 2
        out = []
        for name, t in self.object_poses().items():
            x, y, z = t[:3, 3]
            if abs(x - bx) <= hx and abs(y - by) <= hy and -0.01 < z < self.config.bin_height + 0.05:
                out.append(name)
        return out

    def objects_on_table(self) -> list[str]:
        """Objects whose centre lies over the table top, below z = 0.2 m, not in the bin."""
        in_bin = set(self.objects_in_bin())
        out = []
        for name, t in self.object_poses().items():
            x, y, z = t[:3, 3]
            if -0.35 <= x <= 0.95 and -0.8 <= y <= 0.8 and -0.01 < z < 0.2 and name not in in_bin:
                out.append(name)
        return out

    def tool0_pose(self) -> np.ndarray:
        """(4, 4) pose of tool0 in base_link (measured)."""
        return self._site_pose(self._tool0)

    def tcp_pose(self) -> np.ndarray:
        """(4, 4) pose of the TCP (pad centre, ``TCP_OFFSET`` along tool0 z) in base_link."""
        return self._site_pose(self._tcp)

    def _site_pose(self, sid: int) -> np.ndarray:
        t = np.eye(4)
        t[:3, :3] = self.data.site_xmat[sid].reshape(3, 3)
        t[:3, 3] = self.data.site_xpos[sid]
        return t

    # ---------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Release the renderer (the cell can still step; render() makes a new one)."""
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> SimCell:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["CellConfig", "HOME_Q", "SimCell", "fits_gripper", "graspable_random_object",
           "min_horizontal_width", "object_points"]
