"""ROS-free MuJoCo pick cell: UR5 + 2F-85-like gripper, table, objects, bin and an overhead depth camera.

Conventions (shared with the rest of the stack):

* World frame = UR5 ``base_link`` (REP 103, z up); the robot stands at the origin. Table, pick
  area, bin, home joints and camera mount are the cell's :class:`grasp_core.layout.CellLayout`
  (:attr:`CellConfig.layout`, default ``config/grasp.yaml``'s ``cell:``): table top z = 0
  (x ∈ [−0.35, 0.95], y ∈ [−0.8, 0.8] m).
* Objects are dropped a few centimetres above the pick area (centre (0.50, 0.00), half extents
  (0.12, 0.12) m) at random positions and yaws from ``numpy.random.default_rng(seed)``, without
  initial overlaps (reject sampling of their footprints, :mod:`.spawn`), and settled by physics.
  ``objects="procedural"`` draws :func:`grasp_core.objects.random_object` shapes, keeping only
  those no wider than :attr:`CellConfig.max_object_width` in some horizontal direction (they fit
  the 85 mm stroke); any other value is a folder of ``*.obj`` / ``*.stl`` meshes in metres (in the
  folder or one level below). MuJoCo collides a mesh through its convex hull, so concave meshes
  behave like their hull (a bowl is a solid, a mug has no handle hole).
* Bin: an open box (inner 0.30 × 0.30 m, walls 0.08 m) centred at (0.25, −0.60) on the table
  (the layout's; :data:`grasp_core.motion.BIN_CENTER` etc., the executor's place target).
* Camera: the pose of ``camera_depth_optical_frame`` in ``base_link`` is read from the extrinsics
  file (default ``config/camera_extrinsics.yaml``), REP 103 optical axes (z forward, x right,
  y down); Kinect-like 640×480, fx = fy = 525, (cx, cy) = (319.5, 239.5). :meth:`SimCell.render`
  returns z-depth in metres (holes 0.0) and RGB (:mod:`.rendering`, noise
  :func:`grasp_core.depth_noise.simulate_depth`).
* Arm: the project's own UR5 model (:mod:`.model`), position servos with velocity and
  acceleration feed-forward (:mod:`.servo`); joint names and angles as the UR ROS driver's.
* Gripper: jaws close along tool0 y; the pads' centre is ``TCP_OFFSET`` = 0.150 m along tool0 z
  (site ``tcp``). One force-limited servo on the opening (tendon of the two finger joints), driven
  by a setpoint ramped at :attr:`CellConfig.gripper_speed` — the Robotiq behaviour: move at the
  set speed, squeeze with at most the set force when blocked (:mod:`.gripper`).

* Contacts (simulation ground truth, :meth:`SimCell.robot_contacts`): every contact between an arm
  or gripper geom and anything else is recorded, except the pads' contacts with objects (those made
  before the gripper is commanded closed (to 0) are kept apart, :meth:`SimCell.pad_contacts_since`)
  and any robot geom's contact with an object the closed pads held, until it has been apart from
  the robot for ``RELEASE_GRACE_S`` (it left the hand). The executor never sees this record; the
  benchmarks count it.

Ground truth for scoring: :mod:`.ground_truth`; the optional calibration plate: :mod:`.board`;
settings: :mod:`.config`.

Timestep 2 ms, implicit-fast integrator, elliptic friction cones.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .. import preload_before_gl
from ..camera import CameraIntrinsics
from ..depth_noise import simulate_depth
from ..objects import ObjectSpec, object_points
from ..robot import JOINT_NAMES, UR5_JOINT_LIMITS, opening_to_knuckle
from ..robot.gripper import STROKE
from . import ground_truth, spawn
from . import model as mdl
from .board import board_mount
from .config import HOME_Q, CellConfig, default_extrinsics_path  # noqa: F401  (re-exported)
from .gripper import GripperDrive
from .rendering import CAMERA_NAME, camera_placement, camera_pose, project, render_depth_rgb
from .servo import arm_ctrl, arm_feedforward
from .trajectory import TrajectoryFollower, quintic_trajectory


class SimCell:
    """The simulated pick cell (module docstring). Not thread-safe: drive it from one thread."""

    #: Clearance between object footprints at spawn, m; drop height of the lowest point, m (:mod:`.spawn`).
    SPAWN_MARGIN, DROP_HEIGHT = spawn.SPAWN_MARGIN, spawn.DROP_HEIGHT
    #: Object mass range, kg, and the nominal density, kg/m³.
    MASS_RANGE, DENSITY = spawn.MASS_RANGE, spawn.DENSITY

    #: An object the pads held stays "in the hand" (its robot contacts are expected) until it has
    #: touched no robot geom for this long, simulated s (it may lean on the fingers after release).
    RELEASE_GRACE_S = 0.5

    def __init__(self, config: CellConfig | None = None) -> None:
        self.config = config or CellConfig()
        cfg = self.config
        self._t_base_camera = camera_pose(cfg.extrinsics_path())
        self._intrinsics = CameraIntrinsics(cfg.width, cfg.height, cfg.fx, cfg.fy, cfg.cx, cfg.cy,
                                            "camera_depth_optical_frame")
        self._camera = camera_placement(self._t_base_camera, self._intrinsics)
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
        xml = mdl.build_cell_xml(self._camera, objects, self.config.layout, self.config.timestep,
                                 self.config.gripper_max_force, board=board)
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
        self._gripper = GripperDrive(float(m.actuator_gainprm[self._grip_act, 0]),
                                     float(-m.actuator_biasprm[self._grip_act, 2]), self.config.gripper_speed,
                                     self.config.gripper_max_force)
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
        # contact monitor: arm + gripper geoms (the UR5's kinematic tree), the pads, the object bodies
        root = m.body_rootid[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "base_link_inertia")]
        self._robot_geom = m.body_rootid[m.geom_bodyid] == root
        self._pad_geom = np.zeros(m.ngeom, dtype=bool)
        for n in ("left_pad", "right_pad"):
            self._pad_geom[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, n)] = True
        self._object_geom = np.isin(m.geom_bodyid, self._obj_body)
        self._held_bodies: dict[int, float] = {}  # body → last sim time it touched the robot
        self.contacts: list[tuple[float, str, str]] = []
        self.pad_contacts: list[tuple[float, str, str]] = []
        self._contact_pairs: set[tuple[int, int]] = set()
        # arm at home, gripper open, setpoints there
        d = self.data
        d.time = time
        home = np.asarray(self.config.home_q, dtype=np.float64)
        d.qpos[self._qadr] = home
        d.qpos[self._finger_qadr] = STROKE / 2
        self._q_ref, self._qd_ref, self._qdd_ref = home.copy(), np.zeros(6), np.zeros(6)
        self._follower = TrajectoryFollower()
        self._follower_on = False
        self._mvec = np.zeros(m.nv)
        self._mres = np.zeros(m.nv)
        mujoco.mj_forward(m, d)
        self._apply_controls()

    def _board_mount(self) -> tuple[mdl.BoardMount | None, dict]:
        """The calibration plate of :attr:`CellConfig.board` and its texture assets (:func:`.board.board_mount`);
        (None, {}) without a board."""
        if self.config.board is None:
            return None, {}
        return board_mount(self.config.board, self.t_tool0_board)

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
        return spawn.make_specs(n, source, rng, self.config.max_object_width, self.config.mesh_scale)

    def _place(self, specs: list[ObjectSpec], rng: np.random.Generator) -> list[mdl.PlacedObject]:
        lay = self.config.layout
        return spawn.place_objects(specs, rng, lay.pick_centre, lay.pick_half, self.SPAWN_MARGIN, self.DROP_HEIGHT,
                                   self.MASS_RANGE, self.DENSITY, lay.table_z)

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
        """As :meth:`reset`, with the given object specs (unique names; see :mod:`grasp_core.objects`).

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
        m, d = self.model, self.data
        if self._follower_on:
            self._q_ref, self._qd_ref, self._qdd_ref = self._follower.sample_full(d.time)
        # acceleration feed-forward tau = M(q)·qdd_ref; position servo force = kp(q_ref - q) +
        # kv(qd_ref - qd) + tau (respects the force range) (:mod:`.servo`)
        tau = arm_feedforward(m, d, self._dadr, self._qdd_ref, self._mvec, self._mres)
        d.ctrl[self._arm_act] = arm_ctrl(self._q_ref, self._qd_ref, tau, self._kp, self._kv)
        # gripper: setpoint ramped at gripper_speed; velocity feed-forward
        d.ctrl[self._grip_act] = self._gripper.control(m.opt.timestep)

    def step(self, n: int = 1) -> None:
        """Advance the physics by n steps (setpoints from the running trajectory or the last target)."""
        import mujoco

        m, d = self.model, self.data
        for _ in range(int(n)):
            self._apply_controls()
            mujoco.mj_step(m, d)
            if d.ncon:
                self._record_contacts()
        mujoco.mj_kinematics(m, d)  # poses of the new state (mj_step leaves those of the previous one)

    def _record_contacts(self) -> None:
        """Append the new unexpected robot contacts of this step to :attr:`contacts` (module docstring)."""
        m, d = self.model, self.data
        g = d.contact.geom[: d.ncon]
        g1, g2 = g[:, 0], g[:, 1]
        rob1, rob2 = self._robot_geom[g1], self._robot_geom[g2]
        touching = rob1 ^ rob2
        if not np.any(touching):
            self._contact_pairs.clear()
            return
        robot = np.where(rob1, g1, g2)[touching]
        other = np.where(rob1, g2, g1)[touching]
        closed = self._gripper.target <= 1e-3  # commanded closed (run_pick closes to 0)
        pairs = set()
        now = float(d.time)
        for b in [b for b, t in self._held_bodies.items() if now - t > self.RELEASE_GRACE_S]:
            del self._held_bodies[b]  # it left the hand
        for r, o in zip(robot.tolist(), other.tolist(), strict=True):
            body = int(m.geom_bodyid[o])
            if self._object_geom[o] and self._pad_geom[r]:
                if closed:
                    self._held_bodies[body] = now
                elif (r, o) not in self._contact_pairs and (r, o) not in pairs:
                    self.pad_contacts.append((now, self._geom_name(r), self._geom_name(o)))
                pairs.add((r, o))
                continue
            if body in self._held_bodies:
                self._held_bodies[body] = now
                continue
            if (r, o) in pairs:  # several contact points of one pair
                continue
            pairs.add((r, o))
            if (r, o) not in self._contact_pairs:  # a new touch, not the same contact persisting
                self.contacts.append((now, self._geom_name(r), self._geom_name(o)))
        self._contact_pairs = pairs

    def _geom_name(self, k: int) -> str:
        import mujoco

        return mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_GEOM, k) or f"geom {k}"

    def pad_contacts_since(self, since: float = -math.inf) -> list[tuple[float, str, str]]:
        """Pad ↔ object contacts begun at or after ``since`` while the gripper was not commanded
        closed (the pads grazing or landing on an object before closing): ``(time s, pad, object
        geom)``. Not in :meth:`robot_contacts` (the issue's rule exempts the pads on objects)."""
        return [c for c in self.pad_contacts if c[0] >= since]

    def robot_contacts(self, since: float = -math.inf) -> list[tuple[float, str, str]]:
        """Unexpected robot contacts (module docstring) that began at or after sim time ``since``, s:
        ``(time s, robot geom, other geom)`` in order (a contact that persists is listed once)."""
        return [c for c in self.contacts if c[0] >= since]

    def tracking_error(self) -> float:
        """Largest joint error between the servo setpoint and the measured arm joints, rad."""
        return float(np.max(np.abs(self._q_ref - self.joint_positions())))

    def hold(self) -> None:
        """Protective stop: cancel the running trajectory and hold the arm where it is measured now."""
        self.set_joint_targets(self.joint_positions())

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
        force = self._gripper.command(opening, max_effort)
        self.model.actuator_forcerange[self._grip_act] = (-force, force)

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
        return self._gripper.target

    def gripper_moving(self) -> bool:
        """Fingers moving: noticeable speed, or the setpoint still ramping with the fingers following it."""
        return self._gripper.moving(self.gripper_opening(), self.gripper_opening_velocity())

    def gripper_stalled(self) -> bool:
        """Closed on something: not moving, opening > 2 mm, and the target more than 2 mm below the opening."""
        return self._gripper.stalled(self.gripper_opening(), self.gripper_opening_velocity())

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
        (:func:`grasp_core.depth_noise.simulate_depth`), drawn from a generator seeded by reset's seed.
        """
        import mujoco

        cfg = self.config
        if self._renderer is None:
            preload_before_gl()  # Triton's LLVM before Mesa's (grasp_core.preload_before_gl)
            self._renderer = mujoco.Renderer(self.model, cfg.height, cfg.width)
        depth, rgb = render_depth_rgb(self._renderer, self.data, CAMERA_NAME)
        depth = simulate_depth(depth, self._noise_rng, cfg.noise_level, cfg.depth_noise, cfg.depth_holes)
        return depth, rgb

    def project(self, points_base) -> np.ndarray:
        """(N, 3) base_link points → (N, 3) [u, v, z-depth] in the image (px, px, m)."""
        return project(points_base, self._t_base_camera, self._intrinsics)

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
        return ground_truth.objects_in_bin(self.object_poses(), self.config.layout)

    def objects_in_bin_after(self, seconds: float) -> list[str]:
        """Ground-truth lookahead: the objects that will be in the bin ``seconds`` from now if nothing
        new is commanded (a released object still falling, sliding off a finger); the cell's state and
        time are restored afterwards, so scoring does not delay the robot.

        Raises:
            ValueError: negative ``seconds``.
        """
        import copy

        import mujoco

        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        m, d = self.model, self.data
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        state = np.empty(mujoco.mj_stateSize(m, spec))
        mujoco.mj_getState(m, d, state, spec)
        saved = (copy.copy(self._gripper), self._q_ref, self._qd_ref, self._qdd_ref, self._follower_on)
        try:
            self.step(int(round(seconds / self.timestep)))
            return self.objects_in_bin()
        finally:
            mujoco.mj_setState(m, d, state, spec)
            self._gripper, self._q_ref, self._qd_ref, self._qdd_ref, self._follower_on = saved
            mujoco.mj_forward(m, d)

    def objects_on_table(self) -> list[str]:
        """Objects whose centre lies over the table top, below z = 0.2 m, not in the bin."""
        return ground_truth.objects_on_table(self.object_poses(), self.config.layout)

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


__all__ = ["CellConfig", "HOME_Q", "SimCell", "default_extrinsics_path"]
