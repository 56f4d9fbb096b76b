"""Grasp validation by trial: a free-floating 2F-85-like gripper closes, lifts and shakes.

Jacquard's grasps were kept only if a simulated gripper could hold the object
(Depierre, Dellandréa, Chen, IROS 2018). We do the same for every 3-D grasp
candidate of a settled scene from :func:`grasp_core.synth.scene.make_scene`:

1. **Candidates** (:func:`world_candidates`): a camera straight above the scene
   target renders the label image and depth; the silhouette labeller
   (:func:`grasp_core.synth.labels.antipodal_grasps`: opposed contact normals
   within the friction cone, opening ≤ 85 mm, free space for the fingers)
   proposes image grasps, which are deprojected to the world with the depth:
   centre on the object's top surface, horizontal closing direction, opening in
   metres. Approach is top-down (world −z), as the project's executor grasps.
2. **Trial** (:class:`GraspTrials`): the scene's MJCF is compiled once more with a
   free-floating hand: world x, y, z slides and a yaw hinge, each driven by a
   stiff position servo, carrying the project's gripper body
   (:func:`grasp_core.robot.gripper.gripper_xml`: pads 22 × 8 × 37 mm, friction 1.4,
   condim 4, two slide fingers coupled by an equality, one force-limited tendon
   servo). For each candidate the settled state is restored
   (``mj_resetData`` + the settled ``qpos``/``qvel``; no recompilation), then:
   open the fingers above the object → descend until the fingertips are
   :attr:`GripperParams.grasp_depth` below the top (≥ 4 mm above the table) →
   close with the grip force limit → lift :attr:`GripperParams.lift_height` →
   shake (lateral sinusoid of peak acceleration ``shake_accel_g``·g at 45° to the
   closing line, and ±``shake_yaw_deg`` about the approach axis, for
   ``shake_seconds``) → hold.
3. **Verdict**: kept iff at the end the object is still touched by both pads
   and its centre of mass is at least :attr:`GripperParams.min_lift` above its
   settled height. Trials stop early when the fingers close on nothing
   ("missed", opening < 2 mm) or the object is not held after the lift
   ("dropped_lift"); otherwise "dropped_shake" or "held". A full trial is
   2.3 s of simulated time (1150 steps of 2 ms), about 50 ms of CPU.

Units: metres, seconds, radians, newtons; world frame z up, table top z = 0.
MuJoCo is deterministic for the same model, inputs and build, so the same scene
seed gives the same verdicts, whatever the order of the trials (each starts from
the settled state) or the number of dataset workers.

Source: Depierre, Dellandréa, Chen, "Jacquard: A Large Scale Dataset for Robotic
Grasp Detection", IROS 2018 (grasps validated by simulated trials); the gripper is
the project's 2F-85-like model.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..robot.gripper import (
    FINGER_MASS,
    GRIP_KP,
    GRIP_KV,
    GRIPPER_BODY_MASS,
    PAD_CONDIM,
    PAD_FRICTION,
    PAD_HALF,
    TCP_OFFSET,
    gripper_xml,
)
from ..robot.gripper import STROKE as GRIPPER_STROKE
from .labels import antipodal_grasps
from .scene import Camera, Scene, build_scene, render_view

#: Fingertip height below the pad centre, m.
FINGERTIP_BELOW_PAD = PAD_HALF[2]
#: Height of the top-down candidate camera above the scene target, m, and its focal length, px.
TOP_CAMERA_HEIGHT, TOP_CAMERA_F = 0.75, 525.0
#: Lowest fingertip height above the table, m.
MIN_FINGERTIP_Z = 0.004


@dataclass(frozen=True)
class GripperParams:
    """The free-floating gripper and the trial's motion.

    The gripper itself (pads, their friction and condim, masses, the closing servo's
    gains) is the project's model, :func:`grasp_core.robot.gripper.gripper_xml`;
    :meth:`as_dict` records those fixed values beside these settings.

    Attributes:
        grip_force: force limit of the closing servo, N (the project's default, 2F-85: 20-235 N).
        stroke: maximum opening, m (2F-85: 85 mm).
        grasp_depth: fingertips this far below the object's top at the grasp centre, m.
        approach_clearance: the fingertips start this far above the object's top, m.
        open_margin: pre-grasp opening = candidate opening + this, m (≤ stroke).
        lift_height: lift, m. lift_seconds: its duration, s.
        shake_accel_g: peak lateral acceleration of the shake, in g.
        shake_hz: shake frequency, Hz. shake_seconds: shake duration, s.
        shake_yaw_deg: wrist rotation amplitude about the approach axis, degrees.
        min_lift: a kept object's centre of mass is at least this much above its settled height, m.
        timestep: physics step, s.
    """

    grip_force: float = 100.0
    stroke: float = GRIPPER_STROKE
    grasp_depth: float = 0.035
    approach_clearance: float = 0.04
    open_margin: float = 0.012
    lift_height: float = 0.15
    lift_seconds: float = 0.5
    shake_accel_g: float = 0.5
    shake_hz: float = 2.0
    shake_seconds: float = 0.5
    shake_yaw_deg: float = 15.0
    min_lift: float = 0.10
    timestep: float = 0.002

    def as_dict(self) -> dict:
        """These settings and the fixed gripper model's parameters (pads, masses, servo gains)."""
        return {**asdict(self), "pad_size": [2 * h for h in PAD_HALF], "pad_friction": PAD_FRICTION,
                "pad_condim": PAD_CONDIM, "hand_mass": GRIPPER_BODY_MASS + 2 * FINGER_MASS,
                "grip_kp": GRIP_KP, "grip_kv": GRIP_KV, "approach": "top-down (world -z)",
                "trial_seconds": round(0.3 + 0.5 + self.lift_seconds + 0.2 + self.shake_seconds + 0.3, 3)}


@dataclass(frozen=True)
class WorldGrasp:
    """A top-down parallel-jaw grasp candidate in the world frame.

    Attributes:
        obj: object index k (segmentation label k + 1).
        centre: (x, y, z_top), m: the grasp centre on the object's top surface.
        yaw: direction of the closing line in the table plane, rad (from world +x towards +y).
        opening: contact distance + the labeller's margin, m.
        fingertip_z: fingertip height at the grasp, m.
    """

    obj: int
    centre: tuple
    yaw: float
    opening: float
    fingertip_z: float

    @property
    def direction(self) -> np.ndarray:
        """(3,) unit closing direction."""
        return np.array([math.cos(self.yaw), math.sin(self.yaw), 0.0])

    def as_dict(self) -> dict:
        return {"obj": int(self.obj), "centre": [round(float(c), 6) for c in self.centre],
                "yaw": round(float(self.yaw), 6), "opening": round(float(self.opening), 6),
                "fingertip_z": round(float(self.fingertip_z), 6)}

    @classmethod
    def from_dict(cls, d: dict) -> WorldGrasp:
        return cls(int(d["obj"]), tuple(float(c) for c in d["centre"]), float(d["yaw"]),
                   float(d["opening"]), float(d["fingertip_z"]))


@dataclass(frozen=True)
class TrialResult:
    """Outcome of one trial.

    Attributes:
        kept: the grasp held through lift and shake.
        reason: "held", "missed" (fingers closed on nothing), "dropped_lift", "dropped_shake".
        lift: the object's centre-of-mass height at the end minus its settled height, m.
        opening: finger opening after closing, m.
    """

    kept: bool
    reason: str
    lift: float
    opening: float

    def as_dict(self) -> dict:
        return {"kept": bool(self.kept), "reason": self.reason, "lift": round(float(self.lift), 5),
                "opening": round(float(self.opening), 5)}


def top_camera(scene: Scene) -> Camera:
    """The candidate camera: straight down from :data:`TOP_CAMERA_HEIGHT` above the scene target,
    image right = world +x, image up = world +y."""
    pos = np.asarray(scene.target, dtype=np.float64) + np.array([0.0, 0.0, TOP_CAMERA_HEIGHT])
    return Camera(pos, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), TOP_CAMERA_F, TOP_CAMERA_F)


def world_candidates(scene: Scene, rng: np.random.Generator, per_object: int, renderer=None,
                     params: GripperParams | None = None) -> list[WorldGrasp]:
    """Antipodal top-down candidates on each object (:func:`world_candidates_view` without the view)."""
    return world_candidates_view(scene, rng, per_object, renderer, params)[0]


def world_candidates_view(scene: Scene, rng: np.random.Generator, per_object: int, renderer=None,
                          params: GripperParams | None = None, mu: float = 0.4):
    """Antipodal top-down candidates on each object, from the top camera's silhouettes.

    Args:
        scene: a settled scene (its camera 0 is moved to :func:`top_camera`).
        rng: the candidates' generator (labeller subsampling and the choice of ``per_object``).
        per_object: at most this many candidates per object (chosen at random among the labeller's).
        renderer: optional ``mujoco.Renderer`` (480 × 640) of ``scene.model``.
        params: gripper parameters (grasp depth).
        mu: the labeller's friction coefficient (friction-cone half angle atan μ; 0.4 as the dataset).

    Returns:
        (candidates object by object (index order), the top view
        (:class:`grasp_core.synth.scene.View`), its camera, and each candidate's image grasp
        (:class:`grasp_core.grasp.Grasp` in the top view's pixels)).
    """
    params = params or GripperParams()
    cam = top_camera(scene)
    view = render_view(scene, cam, renderer)
    per_obj = antipodal_grasps(view.labels, view.depth, cam.fx, rng, mu=mu)
    out: list[WorldGrasp] = []
    image_grasps = []
    h, w = view.depth.shape
    for k, gs in enumerate(per_obj):
        if not gs:
            continue
        idx = np.sort(rng.choice(len(gs), min(per_object, len(gs)), replace=False))
        for i in idx:
            g = gs[int(i)]
            ui, vi = int(round(g.u)), int(round(g.v))
            if not (0 <= ui < w and 0 <= vi < h):
                continue
            z = float(view.depth[vi, ui])
            p = cam.pos + cam.xaxis * (g.u - cam.cx) * z / cam.fx - cam.yaxis * (g.v - cam.cy) * z / cam.fy
            p[2] = cam.pos[2] - z
            # image direction (cos Φ, −sin Φ) in (u, v) = cos Φ·x + sin Φ·y in the world
            yaw = math.atan2(math.sin(g.angle), math.cos(g.angle))
            opening = g.width_px * z / cam.fx
            tip = max(MIN_FINGERTIP_Z, float(p[2]) - params.grasp_depth)
            out.append(WorldGrasp(k, (float(p[0]), float(p[1]), float(p[2])), yaw, opening, tip))
            image_grasps.append(g)
    return out, view, cam, image_grasps


def _hand_xml(params: GripperParams) -> str:
    """World x/y/z slides and a yaw hinge carrying the project's gripper, fingers pointing down."""
    rest = 'armature="0.2" damping="0"'
    return (
        '<body name="hand" pos="0 0 0">'
        '<inertial pos="0 0 0" mass="0.05" diaginertia="1e-4 1e-4 1e-4"/>'
        f'<joint name="hand_x" type="slide" axis="1 0 0" {rest}/>'
        f'<joint name="hand_y" type="slide" axis="0 1 0" {rest}/>'
        f'<joint name="hand_z" type="slide" axis="0 0 1" {rest}/>'
        '<joint name="hand_yaw" type="hinge" axis="0 0 1" armature="0.01"/>'
        # tool0 z (towards the fingertips) = world −z; tool0 y (closing) = world −y before the yaw
        f'<body name="tool0" quat="0 1 0 0">{gripper_xml()}</body>'
        '</body>'
    )


def trial_mjcf(scene_xml: str, params: GripperParams) -> str:
    """The scene's MJCF with the free-floating gripper, its tendon, coupling and servos added.

    Raises:
        ValueError: ``scene_xml`` is not a :func:`grasp_core.synth.scene.build_mjcf` string.
    """
    if "</worldbody>" not in scene_xml or "<option " not in scene_xml:
        raise ValueError("not a scene MJCF (no <worldbody> or <option>)")
    f = params.grip_force
    extra = (
        '<tendon><fixed name="grip_opening"><joint joint="left_finger_joint" coef="1"/>'
        '<joint joint="right_finger_joint" coef="1"/></fixed></tendon>'
        '<equality><joint joint1="left_finger_joint" joint2="right_finger_joint" polycoef="0 1 0 0 0" '
        'solref="0.005 1"/></equality>'
        '<contact><exclude body1="left_finger" body2="right_finger"/></contact>'
        '<actuator>'
        '<position name="hand_x" joint="hand_x" kp="20000" kv="600" forcelimited="true" forcerange="-200 200"/>'
        '<position name="hand_y" joint="hand_y" kp="20000" kv="600" forcelimited="true" forcerange="-200 200"/>'
        '<position name="hand_z" joint="hand_z" kp="20000" kv="600" forcelimited="true" forcerange="-200 200"/>'
        '<position name="hand_yaw" joint="hand_yaw" kp="200" kv="6" forcelimited="true" forcerange="-30 30"/>'
        f'<position name="gripper" tendon="grip_opening" kp="{GRIP_KP}" kv="{GRIP_KV}" ctrllimited="true" '
        f'ctrlrange="0 {params.stroke}" forcelimited="true" forcerange="{-f} {f}"/>'
        '</actuator>'
    )
    xml = scene_xml.replace("</worldbody>", _hand_xml(params) + "</worldbody>", 1)
    start = xml.index("<option ")
    end = xml.index("/>", start) + 2
    xml = (xml[:start] + f'<option timestep="{params.timestep}" integrator="implicitfast" cone="elliptic" '
           'impratio="10"/>' + xml[end:])
    return xml.replace("</mujoco>", extra + "</mujoco>")


def _smooth(s: float) -> float:
    """Min-jerk 0 → 1 profile on s ∈ [0, 1]."""
    s = min(max(s, 0.0), 1.0)
    return s * s * s * (10 - 15 * s + 6 * s * s)


class GraspTrials:
    """Tries top-down grasps on one settled scene with the free-floating gripper.

    The trial model is compiled once (:func:`trial_mjcf`); every :meth:`run` restores
    the settled state first, so trials are independent and their order does not matter.

    Args:
        scene: a settled scene from :func:`grasp_core.synth.scene.make_scene`.
        params: gripper and motion parameters.
    """

    def __init__(self, scene: Scene, params: GripperParams | None = None):
        import mujoco

        self.params = params or GripperParams()
        self.scene = scene
        self.model = mujoco.MjModel.from_xml_string(trial_mjcf(scene.xml, self.params))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._nq_scene = scene.model.nq
        self._nv_scene = scene.model.nv
        self._qpos0 = np.array(scene.data.qpos, dtype=np.float64)
        self._qvel0 = np.array(scene.data.qvel, dtype=np.float64)

        def jid(name: str) -> int:
            return mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)

        self._hand_q = [int(m.jnt_qposadr[jid(n)]) for n in ("hand_x", "hand_y", "hand_z", "hand_yaw")]
        self._finger_q = [int(m.jnt_qposadr[jid(n)]) for n in ("left_finger_joint", "right_finger_joint")]
        self._act = {n: mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, n)
                     for n in ("hand_x", "hand_y", "hand_z", "hand_yaw", "gripper")}
        self._pads = (mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "left_pad"),
                      mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "right_pad"))
        self._obj_body = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, o.name) for o in scene.objects]
        self._hand_z0 = TCP_OFFSET + FINGERTIP_BELOW_PAD  # tool0 height when the fingertips touch z = 0

    # ------------------------------------------------------------------ helpers
    def _opening(self) -> float:
        q = self.data.qpos
        return float(q[self._finger_q[0]] + q[self._finger_q[1]])

    def _pads_touch(self, body: int) -> bool:
        d, m = self.data, self.model
        touched = [False, False]
        for i in range(d.ncon):
            c = d.contact[i]
            for j, pad in enumerate(self._pads):
                other = c.geom2 if c.geom1 == pad else c.geom1 if c.geom2 == pad else -1
                if other >= 0 and m.geom_bodyid[other] == body:
                    touched[j] = True
        return touched[0] and touched[1]

    def _set_hand(self, x: float, y: float, z: float, yaw: float, grip: float) -> None:
        c, a = self.data.ctrl, self._act
        c[a["hand_x"]], c[a["hand_y"]], c[a["hand_z"]], c[a["hand_yaw"]] = x, y, z, yaw
        c[a["gripper"]] = grip

    def _run_phase(self, seconds: float, pose) -> None:
        """Step ``seconds`` of physics, setting the servo targets from ``pose(s)``, s ∈ [0, 1]."""
        import mujoco

        n = max(1, int(round(seconds / self.params.timestep)))
        for i in range(n):
            self._set_hand(*pose((i + 1) / n))
            mujoco.mj_step(self.model, self.data)

    # ------------------------------------------------------------------ the trial
    def run(self, g: WorldGrasp) -> TrialResult:
        """Try grasp ``g`` from the settled state (see the module docstring for the motion).

        Returns:
            the verdict and the object's final lift.

        Raises:
            IndexError: ``g.obj`` is not an object of the scene.
        """
        import mujoco

        p, m, d = self.params, self.model, self.data
        body = self._obj_body[g.obj]
        mujoco.mj_resetData(m, d)
        d.qpos[: self._nq_scene] = self._qpos0
        d.qvel[: self._nv_scene] = self._qvel0
        x, y, ztop = g.centre
        # tool0 yaw: closing (tool0 −y after the flip) along the candidate's direction
        yaw = g.yaw + math.pi / 2
        z_start = self._hand_z0 + ztop + p.approach_clearance
        z_grasp = self._hand_z0 + g.fingertip_z
        open_w = min(p.stroke, g.opening + p.open_margin)
        hq = self._hand_q
        d.qpos[hq[0]], d.qpos[hq[1]], d.qpos[hq[2]], d.qpos[hq[3]] = x, y, z_start, yaw
        d.qpos[self._finger_q[0]] = d.qpos[self._finger_q[1]] = open_w / 2
        self._set_hand(x, y, z_start, yaw, open_w)
        mujoco.mj_forward(m, d)
        z_obj0 = float(d.xipos[body, 2])  # settled centre-of-mass height

        self._run_phase(0.3, lambda s: (x, y, z_start + (z_grasp - z_start) * _smooth(s), yaw, open_w))
        self._run_phase(0.15, lambda s: (x, y, z_grasp, yaw, open_w * (1 - s)))
        self._run_phase(0.35, lambda s: (x, y, z_grasp, yaw, 0.0))
        opening = self._opening()
        if opening < 0.002:
            return TrialResult(False, "missed", float(d.xipos[body, 2]) - z_obj0, opening)
        z_top = z_grasp + p.lift_height
        self._run_phase(p.lift_seconds, lambda s: (x, y, z_grasp + p.lift_height * _smooth(s), yaw, 0.0))
        self._run_phase(0.2, lambda s: (x, y, z_top, yaw, 0.0))
        if float(d.xipos[body, 2]) - z_obj0 < p.min_lift or not self._pads_touch(body):
            return TrialResult(False, "dropped_lift", float(d.xipos[body, 2]) - z_obj0, self._opening())
        w = 2 * math.pi * p.shake_hz
        amp = p.shake_accel_g * 9.81 / (w * w)
        ex, ey = math.cos(g.yaw + math.pi / 4), math.sin(g.yaw + math.pi / 4)
        yaw_amp = math.radians(p.shake_yaw_deg)

        def shake(s: float):
            t = s * p.shake_seconds
            o = amp * math.sin(w * t)
            return x + o * ex, y + o * ey, z_top, yaw + yaw_amp * math.sin(w * t), 0.0

        self._run_phase(p.shake_seconds, shake)
        self._run_phase(0.3, lambda s: (x, y, z_top, yaw, 0.0))
        lift = float(d.xipos[body, 2]) - z_obj0
        if lift < p.min_lift or not self._pads_touch(body):
            return TrialResult(False, "dropped_shake", lift, self._opening())
        return TrialResult(True, "held", lift, self._opening())


def replay_trial(seed: int, grasp: WorldGrasp | dict, mesh_dir: str | None = None,
                 params: GripperParams | None = None) -> TrialResult:
    """Rebuild scene ``seed`` (:func:`grasp_core.synth.scene.build_scene`, default config) and try one grasp.

    Args:
        seed: the scene seed (dataset seed + scene index).
        grasp: a :class:`WorldGrasp` or its ``as_dict()`` (as stored in a scene's trial record).
        mesh_dir: the dataset's ``--objects`` folder, if any.
        params: gripper parameters (default: :class:`GripperParams`).
    """
    if isinstance(grasp, dict):
        grasp = WorldGrasp.from_dict(grasp)
    return GraspTrials(build_scene(seed, mesh_dir=mesh_dir), params).run(grasp)
