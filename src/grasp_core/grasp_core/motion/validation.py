"""Grasp candidate validation: camera-frame candidate → reachable, collision-checked ``tool0`` targets.

:func:`validate_candidate` turns one candidate (``GraspCandidate``: a pose in the camera optical frame
from our detectors, or in ``base_link`` / a tf2 frame from other software; z = approach, y = jaw
closing) into a :class:`GraspTarget` — ``tool0`` poses in
``base_link`` for pre-grasp, grasp and lift with their IK solutions and the pre-open width — or a
:class:`Rejection` naming why not. Checks, in order (the first failure is reported):

============== ============================================================================
code           when
============== ============================================================================
unknown_frame  the candidate's frame_id is not the extrinsics' child (camera) frame
non_finite     NaN/inf in position, rotation, opening, quality or stamp
invalid        rotation not a proper rotation, negative opening, quality outside [0, 1],
               closing axis vertical (when the approach is made vertical)
stale          now − stamp > ``max_age_s`` (or a stamp in the future by more than that)
outside_workspace  the grasp point (in ``base_link``) is outside :class:`Workspace`, or lower than
               the table plane minus ``table_margin``
too_wide       opening > the gripper stroke (never with ``full_opening``: the stroke is the opening)
approach_angle a 6-DoF grasp whose approach is more than ``approach_cone_deg`` from vertical
               (and ``project_approach_to_vertical`` is off)
unreachable    no IK within the joint limits for pre-grasp, grasp or lift, or a straight
               approach / lift that cannot be followed (configuration flip, singularity)
collision      the arm at a target collides with the table/cell, or (with a depth map) no TCP
               depth leaves ``min_pad_contact`` of pad on the object with the palm clear of it, or
               the whole gripper swept along the approach meets the sensed points at every
               depth tried (a pad: ≥ ``max_collision_points`` occupied octree leaves; any other
               part: one), or reaches below the table plane
============== ============================================================================

Approach (:func:`approach_mode`): a *planar image grasp* — stamped in a camera optical frame with
its approach along the viewing ray through its own grasp point (what our detectors publish:
:func:`grasp_core.camera.grasp_to_pose`), within ``planar_ray_tolerance_deg`` — is executed top-down:
its approach is made vertical (tool0 z = −z of ``base_link``, jaws kept in the table plane,
:func:`grasp_core.robot.vertical_grasp_frame`), whatever the camera's tilt. Any other grasp (a
6-DoF grasp from other software, in any frame) is executed with its own approach when that lies
within ``approach_cone_deg`` of vertical (−z of ``base_link``); outside the cone it is rejected
with its angle, or, only with ``project_approach_to_vertical``, made vertical like a planar grasp
(:attr:`GraspTarget.approach` says which). Then the TCP goes ``grasp_depth`` past the visible surface
point along the approach, or down to ``height_fraction`` of the point's height above the table when
that is deeper, but never below ``min_tcp_z`` (clamped); tool0 sits ``tcp_offset`` behind
the TCP. Of the pose and its jaw-flipped twin (:func:`grasp_core.robot.flip_jaws`, equivalent for a
parallel gripper) the one whose IK solution has wrist_3 nearer the current wrist_3 is taken.

With a depth map (the sensed scene in ``base_link``, :class:`~.collision.DepthCollisionMap`) the
depth comes from the gripper's geometry (:mod:`grasp_core.robot.gripper`, the shapes the simulator's
2F-85 is built from), :func:`choose_tcp_depth`: the palm's underside (``PALM_BOTTOM``, 43 mm behind
the TCP) must stay ``palm_clearance`` above the highest sensed point under the palm, and the pads
(37 mm long) must overlap the object between the jaws — from the top of the sensed points between
the pads down to the table — by at least ``min_pad_contact`` (on an object too low for that, what the
deepest TCP leaves, at least 3 mm: :func:`required_pad_contact`). The whole gripper (coupling, housing,
palm, finger links, pads at the pre-open width) is then swept pre-grasp → grasp against the sensed
points and the table plane with coal's collision queries (the swept parts as convex hulls, the points
as an occupancy octree: :meth:`~.collision.DepthCollisionMap.gripper_hits`); a touching sweep is retried opened
wider (10 mm steps, up to 20 mm wider, within the stroke) and then shallower in 5 mm steps, down to the required pad
overlap (:attr:`GraspTarget.depth_note` says so), before the candidate is rejected. The free-space
move to the pre-grasp is checked against the sensed scene read as a height field (the arm's own
collision shapes, :mod:`grasp_core.robot.arm`, and the gripper; :class:`~.collision.HeightMap`); when
it meets the scene, a waypoint straight above the pre-grasp is planned (:attr:`GraspTarget.q_approach`).

Units: m, rad, s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..layout import CELL_LAYOUT
from ..robot import (
    ROBOTIQ_2F85,
    Extrinsics,
    IKError,
    ParallelGripper,
    flip_jaws,
    lift_pose,
    make_transform,
    nearest_solution,
    offset_along_approach,
    pregrasp_pose,
    vertical_grasp_frame,
)
from ..robot.gripper import PAD_HALF, PALM, PALM_BOTTOM
from ..robot.transforms import CAMERA_FRAME
from .collision import CellCollisionChecker, DepthCollisionMap, FingerGeometry, HeightMap
from .planner import check_linear_path, plan_joint_motion, plan_linear_motion
from .trajectory import MotionLimits, PlanningError

#: Rejection codes (module docstring).
UNKNOWN_FRAME = "unknown_frame"
NON_FINITE = "non_finite"
INVALID = "invalid"
STALE = "stale"
OUTSIDE_WORKSPACE = "outside_workspace"
APPROACH_ANGLE = "approach_angle"

#: :attr:`GraspTarget.approach` values (module docstring).
TOP_DOWN = "top_down"
AS_GIVEN = "as_given"
PROJECTED = "projected"
TOO_WIDE = "too_wide"
UNREACHABLE = "unreachable"
COLLISION = "collision"


@dataclass(frozen=True)
class Workspace:
    """Axis-aligned box in ``base_link`` where grasp points are accepted: (min, max) per axis, m."""

    x: tuple[float, float] = (0.25, 0.80)
    y: tuple[float, float] = (-0.35, 0.35)
    z: tuple[float, float] = (-0.02, 0.30)

    def contains(self, point) -> bool:
        """Whether the (3,) point (m, ``base_link``) lies inside (bounds included)."""
        p = np.asarray(point, dtype=np.float64).reshape(3)
        return bool(all(lo <= v <= hi for v, (lo, hi) in zip(p, (self.x, self.y, self.z), strict=True)))


@dataclass(frozen=True)
class CameraGrasp:
    """A grasp candidate as the detector publishes it (``GraspCandidate``), ROS-free.

    Attributes:
        position: (3,) grasp point on the visible surface, m, camera optical frame.
        rotation: (3, 3) grasp axes in the optical frame (columns x = y × z, y = jaw closing,
            z = approach).
        opening: jaw opening needed (object width), m.
        quality: detector score (higher is better).
        frame_id: the optical frame the pose is expressed in.
        stamp: image stamp, s (same clock as ``now`` in :func:`validate_candidate`).
    """

    position: np.ndarray
    rotation: np.ndarray
    opening: float
    quality: float = 1.0
    frame_id: str = CAMERA_FRAME
    stamp: float = 0.0

    @classmethod
    def from_grasp_pose(cls, pose, quality: float = 1.0, frame_id: str = CAMERA_FRAME,
                        stamp: float = 0.0) -> CameraGrasp:
        """From a :class:`grasp_core.camera.GraspPose` (``position``, ``rotation``, ``opening``)."""
        return cls(np.asarray(pose.position, dtype=np.float64), np.asarray(pose.rotation, dtype=np.float64),
                   float(pose.opening), float(quality), frame_id, float(stamp))


@dataclass(frozen=True)
class ValidationConfig:
    """Parameters of :func:`validate_candidate`.

    Attributes:
        workspace: accepted grasp points. max_age_s: oldest accepted candidate, s (1.0).
        grasp_depth: TCP past the visible surface point along the approach, m (0.015).
        min_tcp_z: lowest TCP height in ``base_link``, m (0.025: with the 2F-85's fingertips 0.02
            below the pad centre, they stay 5 mm above the table).
        pregrasp_clearance: pre-grasp backed off along the approach, m (0.10).
        lift_height: lift above the grasp along +z of ``base_link``, m (0.10).
        opening_margin: pre-open = opening + margin (capped at the stroke), m (0.01).
        full_opening: every candidate is pre-opened to the gripper's full stroke and its opening taken
            as the stroke, whatever it says (False). The protocol of Gariépy et al.'s physical benchmark
            (GQ-STN, IROS 2019, §V-D: "The gripper default opening was 8.5 cm. It closed on the object
            until a maximum force feedback is reached"): a network's width (GQ-STN's w = s/3) is then
            not executed, and every check (too wide, TCP depth, the sweep) is made at the stroke.
        approach_cone_deg: a 6-DoF grasp's own approach is executed when it is at most this far
            from vertical (−z of ``base_link``), deg (30).
        project_approach_to_vertical: a 6-DoF grasp outside the cone is made vertical instead of
            rejected (False).
        planar_ray_tolerance_deg: a candidate in a camera optical frame whose approach is this
            close to the viewing ray through its grasp point is a planar image grasp (executed
            top-down), deg (0.5).
        gripper: the parallel gripper (stroke, TCP offset). fingers: finger volumes.
        camera_frame: expected frame_id when the extrinsics are given as a bare matrix.
        limits: motion limits (joint position limits, linear-motion timing for the path checks).
        check_paths: also check the straight approach and lift with
            :func:`~.planner.check_linear_path` (catches flips and singularities; ~15 ms).
        cell: arm/table/cell checker applied to the pre-grasp, grasp and lift configurations
            (None: skip).
        max_collision_points: occupied octree leaves (one per depth point) allowed in a pad's swept
            volume (fewer pass): the pads slide
            down the object's sides, where a silhouette's mixed depth pixels lie. Every other part
            (finger links, palm, housing, coupling) must sweep clear of all sensed points: nothing is
            meant to be there, and a finger link whose sweep held one point of a neighbour's edge hit
            it (random_urdfs:test clutter, seed 102).
        finger_margin: growth of the finger boxes for the depth check, m.
        table_z: table top in ``base_link``, m (:data:`grasp_core.layout.CELL_LAYOUT`'s, 0).
        height_fraction: the TCP goes down to this fraction of the grasp point's height above the
            table when that is deeper than ``grasp_depth`` (0.5: the middle of the object, where a
            lying cylinder or a sphere is widest; 0 disables it), never below ``min_tcp_z``.
        table_margin: grasp points lower than ``table_z − table_margin`` are refused (a point
            under the table is a sensing or calibration error, not an object), m (0.005).
        palm_clearance: with a depth map, the palm's underside stays this far above the highest
            sensed point under it, m (0.005).
        min_pad_contact: with a depth map, the pads must overlap the sensed object between the
            jaws by this much along the approach, m (0.010).

    The defaults equal ``config/grasp.yaml`` (:meth:`grasp_core.config.ExecutorConfig.validation_config`);
    ``test/test_config.py`` checks it.
    """

    workspace: Workspace = field(default_factory=Workspace)
    max_age_s: float = 1.0
    grasp_depth: float = 0.015
    min_tcp_z: float = 0.025
    pregrasp_clearance: float = 0.10
    lift_height: float = 0.15
    opening_margin: float = 0.02
    full_opening: bool = False
    approach_cone_deg: float = 30.0
    project_approach_to_vertical: bool = False
    planar_ray_tolerance_deg: float = 0.5
    gripper: ParallelGripper = ROBOTIQ_2F85
    fingers: FingerGeometry = field(default_factory=FingerGeometry)
    camera_frame: str = CAMERA_FRAME
    limits: MotionLimits = field(default_factory=MotionLimits)
    check_paths: bool = True
    cell: CellCollisionChecker | None = field(default_factory=CellCollisionChecker)
    max_collision_points: int = 5
    finger_margin: float = 0.003
    table_z: float = CELL_LAYOUT.table_z
    height_fraction: float = 0.5
    table_margin: float = 0.005
    palm_clearance: float = 0.005
    min_pad_contact: float = 0.010


@dataclass(frozen=True)
class Rejection:
    """Why a candidate was rejected: ``code`` (one of the module constants) and a readable ``reason``."""

    reason: str
    code: str


class CandidateRejected(ValueError):
    """Raised by :func:`validate_or_raise`; ``.rejection`` holds the :class:`Rejection`."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"{rejection.code}: {rejection.reason}")
        self.rejection = rejection


@dataclass(frozen=True)
class GraspTarget:
    """A validated grasp, ready for :func:`grasp_core.motion.pick.run_pick`.

    Attributes:
        t_base_tool0_grasp, t_base_tool0_pregrasp, t_base_tool0_lift: (4, 4) tool0 poses in
            ``base_link``, m (same orientation; z = approach).
        q_pregrasp, q_grasp, q_lift: (6,) IK solutions (rad), each nearest to the previous one,
            the first nearest to the joints given to the validation.
        tcp_point: (3,) TCP at the grasp, ``base_link``, m. surface_point: (3,) the candidate's
            grasp point in ``base_link``, m.
        object_width: the candidate's opening, m. pregrasp_opening: pre-open width, m.
        quality: detector score. stamp: candidate stamp, s. flipped: whether the jaw-flipped
            pose was chosen.
        approach: ``top_down`` (a planar image grasp made vertical), ``as_given`` (a 6-DoF grasp's
            own approach) or ``projected`` (a 6-DoF grasp outside the cone made vertical, on request).
        approach_angle_deg: the candidate's approach angle from vertical (−z of ``base_link``) as
            received, deg.
        depth_note: how the TCP depth was adjusted (empty when it was not).
        t_base_tool0_approach, q_approach: with a depth map, when the direct joint move to the
            pre-grasp would meet the sensed scene: a waypoint straight above the pre-grasp (same
            orientation; the joint move goes there, then tool0 moves straight down to the
            pre-grasp), else None.
        object_points: (M, 3) float64 sensed points of the object under the grasp (its
            :class:`grasp_core.tabletop.TableScene` region), ``base_link``, m — where the held
            object will reach when placed (:func:`grasp_core.motion.pick.place_plan`); None when the
            scene was not judged.
    """

    t_base_tool0_grasp: np.ndarray
    t_base_tool0_pregrasp: np.ndarray
    t_base_tool0_lift: np.ndarray
    q_pregrasp: np.ndarray
    q_grasp: np.ndarray
    q_lift: np.ndarray
    tcp_point: np.ndarray
    surface_point: np.ndarray
    object_width: float
    pregrasp_opening: float
    quality: float
    stamp: float
    flipped: bool = False
    approach: str = TOP_DOWN
    approach_angle_deg: float = 0.0
    depth_note: str = ""
    t_base_tool0_approach: np.ndarray | None = None
    q_approach: np.ndarray | None = None
    object_points: np.ndarray | None = None


def approach_angle_deg(t_base_grasp) -> float:
    """Angle between a grasp's approach (its z axis, column 2 of the (4, 4) or (3, 3) rotation in
    ``base_link``) and vertical (−z of ``base_link``), deg in [0, 180]."""
    z = np.asarray(t_base_grasp, dtype=np.float64)[:3, 2]
    return math.degrees(math.acos(float(np.clip(-z[2] / max(float(np.linalg.norm(z)), 1e-12), -1.0, 1.0))))


def is_planar_image_grasp(position, rotation, tolerance_deg: float = 0.5) -> bool:
    """Whether a grasp in a camera optical frame approaches along the viewing ray through its point.

    Args:
        position: (3,) grasp point, m, optical frame (z forward). rotation: (3, 3), column z = approach.
        tolerance_deg: largest angle between the approach and the ray, deg.

    That is how a planar (image-space, top-down) grasp is lifted to 3-D
    (:func:`grasp_core.camera.grasp_to_pose`: z = the unit ray through the grasp centre).
    """
    p = np.asarray(position, dtype=np.float64).reshape(3)
    z = np.asarray(rotation, dtype=np.float64).reshape(3, 3)[:, 2]
    n = float(np.linalg.norm(p)) * float(np.linalg.norm(z))
    if not n > 0:
        return False
    return math.degrees(math.acos(float(np.clip(p @ z / n, -1.0, 1.0)))) <= tolerance_deg


def approach_mode(t_base_grasp, planar: bool, config: ValidationConfig) -> tuple[str, float] | Rejection:
    """(``top_down`` | ``as_given`` | ``projected``, angle from vertical in deg) for a grasp in
    ``base_link``, or the :data:`APPROACH_ANGLE` rejection (module docstring). ``planar``: the
    candidate is a planar image grasp (:func:`is_planar_image_grasp` in a camera optical frame)."""
    angle = approach_angle_deg(t_base_grasp)
    if planar:
        return TOP_DOWN, angle
    if angle <= config.approach_cone_deg:
        return AS_GIVEN, angle
    if config.project_approach_to_vertical:
        return PROJECTED, angle
    return _reject(APPROACH_ANGLE, f"approach {angle:.1f} deg from vertical (-z of base_link) is outside the "
                                   f"{config.approach_cone_deg:g} deg cone (approach_cone_deg; "
                                   f"project_approach_to_vertical makes it vertical instead)")


def _reject(code: str, reason: str) -> Rejection:
    return Rejection(reason=reason, code=code)


def _ik_chain(t_grasp: np.ndarray, q_current: np.ndarray, config: ValidationConfig):
    """(pre, lift poses, q_pre, q_grasp, q_lift) or raises IKError/PlanningError."""
    t_pre = pregrasp_pose(t_grasp, config.pregrasp_clearance)
    t_lift = lift_pose(t_grasp, config.lift_height)
    lim = config.limits.position_limits
    q_pre = nearest_solution(t_pre, q_current, lim)
    q_grasp = nearest_solution(t_grasp, q_pre, lim)
    q_lift = nearest_solution(t_lift, q_grasp, lim)
    return t_pre, t_lift, q_pre, q_grasp, q_lift


def validate_candidate(candidate: CameraGrasp, extrinsics, q_current, config: ValidationConfig | None = None,
                       now: float | None = None, depth_map: DepthCollisionMap | None = None,
                       optical_frame: bool = True) -> GraspTarget | Rejection:
    """Check one camera-frame candidate and build its ``tool0`` targets (module docstring).

    Args:
        candidate: :class:`CameraGrasp` (or anything with ``position``, ``rotation``, ``opening``,
            ``quality``, ``frame_id``, ``stamp``).
        extrinsics: :class:`grasp_core.robot.Extrinsics` (T_base_camera with its frame names) or a
            (4, 4) T_base_link_camera (then ``config.camera_frame`` is the expected frame).
        q_current: (6,) current joints, rad (seed of the IK chain and the jaw-flip choice).
        config: :class:`ValidationConfig` (default).
        now: current time, s, same clock as ``candidate.stamp``; None skips the age check.
        depth_map: sensed scene for the finger check (None skips it).
        optical_frame: the candidate's frame is a camera optical frame (REP 103: z = viewing
            direction), so a grasp along the viewing ray is a planar image grasp (module
            docstring); False for ``base_link``, ``world`` and other non-camera frames.

    Returns:
        :class:`GraspTarget` when every check passes, else :class:`Rejection` (never raises for a
        bad candidate).

    Raises:
        ValueError: bad ``extrinsics`` or ``q_current`` (caller errors, not candidate errors).
    """
    config = config or ValidationConfig()
    if isinstance(extrinsics, Extrinsics):
        camera_frame, t_base_camera = extrinsics.child_frame, extrinsics.matrix
    else:
        camera_frame, t_base_camera = config.camera_frame, np.asarray(extrinsics, dtype=np.float64)
        if t_base_camera.shape != (4, 4) or not np.all(np.isfinite(t_base_camera)):
            raise ValueError("extrinsics must be an Extrinsics or a finite (4, 4) transform")
    q_cur = np.asarray(q_current, dtype=np.float64).reshape(-1)
    if q_cur.shape != (6,) or not np.all(np.isfinite(q_cur)):
        raise ValueError(f"q_current must be 6 finite joint positions, got {q_current!r}")

    frame = getattr(candidate, "frame_id", None)
    if frame != camera_frame:
        return _reject(UNKNOWN_FRAME, f"candidate frame {frame!r} is not the calibrated camera frame {camera_frame!r}")
    try:
        pos = np.asarray(candidate.position, dtype=np.float64).reshape(3)
        rot = np.asarray(candidate.rotation, dtype=np.float64).reshape(3, 3)
        opening, quality, stamp = float(candidate.opening), float(candidate.quality), float(candidate.stamp)
    except (TypeError, ValueError) as exc:
        return _reject(INVALID, f"candidate fields have the wrong types or shapes: {exc}")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(rot)) and all(map(math.isfinite, (opening, quality,
                                                                                            stamp)))):
        return _reject(NON_FINITE, "candidate has non-finite position, rotation, opening, quality or stamp")
    if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-4) or np.linalg.det(rot) < 0:
        return _reject(INVALID, "candidate rotation is not a proper rotation matrix")
    if opening < 0:
        return _reject(INVALID, f"negative opening {opening} m")
    if not 0.0 <= quality <= 1.0:
        return _reject(INVALID, f"quality {quality} is outside [0, 1]")
    if now is not None:
        age = float(now) - stamp
        if not math.isfinite(age) or abs(age) > config.max_age_s:
            return _reject(STALE, f"candidate is {age:.3f} s old (max {config.max_age_s} s)")

    t_camera_grasp = make_transform(rot, pos)
    t_base_grasp = t_base_camera @ t_camera_grasp
    surface = t_base_grasp[:3, 3].copy()
    if surface[2] < config.table_z - config.table_margin:
        return _reject(OUTSIDE_WORKSPACE, f"grasp point z = {surface[2]:.3f} m is below the table plane "
                                          f"(table_z {config.table_z} m - margin {config.table_margin} m)")
    if not config.workspace.contains(surface):
        return _reject(OUTSIDE_WORKSPACE, f"grasp point {np.round(surface, 3).tolist()} m is outside the workspace "
                                          f"x {config.workspace.x}, y {config.workspace.y}, z {config.workspace.z}")
    if config.full_opening:
        opening = float(config.gripper.stroke)
    if opening > config.gripper.stroke:
        return _reject(TOO_WIDE, f"opening {opening:.4f} m exceeds the {config.gripper.stroke} m stroke")

    mode = approach_mode(t_base_grasp, optical_frame and is_planar_image_grasp(
        pos, rot, config.planar_ray_tolerance_deg), config)
    if isinstance(mode, Rejection):
        return mode
    approach, angle = mode
    if approach != AS_GIVEN:
        try:
            t_base_grasp = vertical_grasp_frame(t_base_grasp)
        except ValueError as exc:
            return _reject(INVALID, str(exc))
    # How deep: at least grasp_depth past the seen surface, and (top-down) down to the middle of the
    # object's sensed height above the table, so that the pads straddle its widest part — a lying
    # cylinder squeezed above its equator pops out of the jaws.
    depth = config.grasp_depth
    approach_down = -float(t_base_grasp[2, 2])
    if config.height_fraction > 0 and approach_down > 1e-6:
        height = float(surface[2]) - config.table_z
        depth = max(depth, config.height_fraction * height / approach_down)
    pre_open = config.gripper.pregrasp_opening(opening, config.opening_margin)
    note = ""
    if depth_map is not None:
        table_depth = ((float(surface[2]) - config.table_z) / approach_down) if approach_down > 1e-6 else math.inf
        chosen = choose_tcp_depth(depth_map.in_grasp_frame(t_base_grasp), opening, depth, table_depth, config)
        if isinstance(chosen, Rejection):
            return chosen
        depth, note = chosen
    t_tcp = offset_along_approach(t_base_grasp, depth)
    approach_z = float(t_tcp[2, 2])
    if t_tcp[2, 3] < config.min_tcp_z:  # clamp: back off along the approach to min_tcp_z
        if approach_z < -1e-6:
            t_tcp = offset_along_approach(t_tcp, (config.min_tcp_z - t_tcp[2, 3]) / approach_z)
        else:
            return _reject(INVALID, "TCP below min_tcp_z with an approach that does not point down")
    if depth_map is not None:
        swept = _sweep_clear(depth_map, t_tcp, surface, pre_open, opening, config)
        if isinstance(swept, Rejection):
            return swept
        t_tcp, more, pre_open = swept
        note = "; ".join(n for n in (note, more) if n)
    tcp_point = t_tcp[:3, 3].copy()
    t_tool0 = offset_along_approach(t_tcp, -config.gripper.tcp_offset)

    # Of the pose and its jaw-flipped twin, the IK whose wrist_3 is nearer the current one.
    options = []
    errors = []
    for flipped, pose in ((False, t_tool0), (True, flip_jaws(t_tool0))):
        try:
            chain = _ik_chain(pose, q_cur, config)
        except IKError as exc:
            errors.append(str(exc))
            continue
        options.append((abs(chain[2][5] - q_cur[5]), flipped, pose, chain))
    if not options:
        return _reject(UNREACHABLE, f"no IK solution within the joint limits: {errors[0]}")
    options.sort(key=lambda o: o[0])

    hmap = depth_map.height_map if depth_map is not None else None
    last_reason = None
    for _, flipped, pose, (t_pre, t_lift, q_pre, q_grasp, q_lift) in options:
        if config.check_paths:
            try:
                check_linear_path(q_pre, pose, config.limits)
                check_linear_path(q_grasp, t_lift, config.limits)
            except PlanningError as exc:
                last_reason = (UNREACHABLE, f"straight approach/lift not feasible: {exc}")
                continue
        if config.cell is not None:
            why = next((w for w in map(config.cell.check_configuration, (q_pre, q_grasp, q_lift)) if w), None)
            if why:
                last_reason = (COLLISION, f"arm at the grasp targets: {why}")
                continue
        via = None
        if hmap is not None:
            via = _free_move(hmap, q_cur, t_pre, q_pre, q_grasp, pre_open, config)
            if isinstance(via, Rejection):
                last_reason = (via.code, via.reason)
                continue
        t_via, q_via = via if via is not None else (None, None)
        return GraspTarget(pose, t_pre, t_lift, q_pre, q_grasp, q_lift, tcp_point, surface, opening, pre_open,
                           quality, stamp, flipped, approach, angle, note, t_via, q_via)
    code, reason = last_reason
    return _reject(code, reason)


#: Depth step of the shallower retries of a touching sweep, m; width step of its wider pre-open retries
#: and how much wider at most, m.
DEPTH_STEP, OPEN_STEP, MAX_EXTRA_OPEN = 0.005, 0.01, 0.02
#: Clearance of the arm's links and the gripper from the sensed scene (a height field) on the
#: free-space move to the pre-grasp, m; the fingertips of a waypoint above the pre-grasp clear the
#: highest sensed point by ``VIA_CLEARANCE``.
SCENE_MARGIN, VIA_CLEARANCE = 0.01, 0.05


def _free_move(hmap: HeightMap, q_cur, t_pre, q_pre, q_grasp, pre_open: float, config: ValidationConfig):
    """None when the joint move q_cur → q_pre is clear of the sensed scene (:class:`HeightMap`), else
    (t_via, q_via) a waypoint above the pre-grasp whose moves are, else a ``collision`` Rejection.

    Checked: the arm (links and gripper at ``pre_open``) at the pre-grasp, the links at the grasp (the
    gripper there is the sweep's business), and the free-space move as :func:`plan_joint_motion` plans it
    with ``config.limits`` (gripper at the full stroke: its opening during the move is not known here);
    through a waypoint, the joint move to it and the straight move down to the pre-grasp. The
    backend plans the executed move again from the joints it then measures, with its own speed
    limits; uniformly scaled velocity and acceleration limits give the same time-synchronised path,
    so the check holds for the built-in backend up to its jerk limit's effect on the path's shape.
    """
    why = hmap.arm_meets(q_pre, pre_open, margin=SCENE_MARGIN)
    if why:
        return _reject(COLLISION, f"at the pre-grasp {why}")
    why = hmap.arm_meets(q_grasp, margin=SCENE_MARGIN, gripper=False)
    if why:
        return _reject(COLLISION, f"at the grasp {why}")
    try:
        direct = plan_joint_motion(q_cur, q_pre, config.limits)
    except PlanningError as exc:
        return _reject(UNREACHABLE, f"move to the pre-grasp cannot be planned: {exc}")
    first = hmap.check_path(direct.positions, margin=SCENE_MARGIN, step=3)
    if first is None:
        return None
    t_via = np.array(t_pre, dtype=np.float64)
    t_via[2, 3] = max(float(t_pre[2, 3]), hmap.top + config.fingers.tip_reach + VIA_CLEARANCE)
    try:
        q_via = nearest_solution(t_via, q_pre, config.limits.position_limits)
        to_via = plan_joint_motion(q_cur, q_via, config.limits)
        down = plan_linear_motion(q_via, t_pre, config.limits)
    except (IKError, PlanningError) as exc:
        return _reject(COLLISION, f"the move to the pre-grasp meets the sensed scene ({first}) and no "
                                  f"waypoint above it is reachable: {exc}")
    why = (hmap.arm_meets(q_via, margin=SCENE_MARGIN) or hmap.check_path(to_via.positions, margin=SCENE_MARGIN, step=3)
           or hmap.check_path(down.positions, margin=SCENE_MARGIN, step=3))
    if why:
        return _reject(COLLISION, f"the move to the pre-grasp meets the sensed scene ({first}), and so does "
                                  f"the way through a waypoint {1000 * (t_via[2, 3] - t_pre[2, 3]):.0f} mm above "
                                  f"it ({why})")
    return t_via, q_via


def _pad_overlap(depth: float, top: float, bottom: float) -> float:
    """Length (m) of the pads (centred ``depth`` past the surface point) inside [top, bottom]."""
    return min(depth + PAD_HALF[2], bottom) - max(depth - PAD_HALF[2], top)


#: Least pad overlap accepted on an object too low for ``min_pad_contact``, m.
THIN_PAD_CONTACT = 0.003


def required_pad_contact(top: float, table_depth: float, config: ValidationConfig) -> float:
    """Pad overlap a grasp must have, m: ``min_pad_contact``, or on an object too low for it the overlap
    with the TCP at ``min_tcp_z`` (the deepest allowed), never below :data:`THIN_PAD_CONTACT`.

    A 12 mm thin flat object (scissors, a hammer head lying down) leaves at most ~6 mm of pad on it with the
    fingertips 5 mm above the table; asking 10 mm of it refused every such object. ``top`` and
    ``table_depth`` along the approach from the surface point, m (the vertical offset of ``min_tcp_z``
    is taken along the approach: exact top-down, asking more when tilted).
    """
    deepest = table_depth - (config.min_tcp_z - config.table_z)
    possible = _pad_overlap(deepest, top, table_depth) if math.isfinite(deepest) else config.min_pad_contact
    return max(THIN_PAD_CONTACT, min(config.min_pad_contact, possible - 1e-6))


def choose_tcp_depth(points_tcp, opening: float, desired: float, table_depth: float,
                     config: ValidationConfig) -> tuple[float, str] | Rejection:
    """TCP depth past the surface point from the gripper's geometry (module docstring).

    Args:
        points_tcp: (M, 3) sensed points in the grasp frame at the surface point (tool0 axes: z =
            approach, y = jaw closing; origin = the candidate's surface point), m.
        opening: the object's width between the jaws (the candidate's opening), m.
        desired: the depth the heuristics ask for (``grasp_depth`` / ``height_fraction``), m.
        table_depth: how far along the approach the table lies past the surface point, m.
        config: ``palm_clearance``, ``min_pad_contact``.

    Returns:
        (depth m, a note when it is shallower than ``desired``), or a :class:`Rejection`
        (``collision``) when no depth leaves the palm clear with ``min_pad_contact`` of pad on the object.
    """
    p = np.asarray(points_tcp, dtype=np.float64).reshape(-1, 3)
    palm_half = np.asarray(PALM[2][:2]) + config.finger_margin
    under_palm = p[(np.abs(p[:, 0]) <= palm_half[0]) & (np.abs(p[:, 1]) <= palm_half[1])]
    jaws = p[(np.abs(p[:, 0]) <= PAD_HALF[0]) & (np.abs(p[:, 1]) <= opening / 2.0)]
    # the object's top between the jaws (robust to a stray point), else the surface point itself
    top = min(0.0, float(np.percentile(jaws[:, 2], 5))) if len(jaws) else 0.0
    highest = float(np.min(under_palm[:, 2])) if len(under_palm) else top
    palm_limit = highest + (float(config.gripper.tcp_offset) - PALM_BOTTOM) - config.palm_clearance
    depth, note = float(desired), ""
    if depth > palm_limit:
        depth, note = palm_limit, (f"TCP {1000 * (desired - palm_limit):.0f} mm shallower: the palm stays "
                                   f"{1000 * config.palm_clearance:.0f} mm above the object")
    overlap, need = _pad_overlap(depth, top, table_depth), required_pad_contact(top, table_depth, config)
    if overlap < need:
        return _reject(COLLISION, f"no safe grasp depth: with the palm {1000 * config.palm_clearance:.0f} mm above "
                                  f"the sensed object the pads overlap it by {1000 * overlap:.1f} mm "
                                  f"(need {1000 * need:.1f} mm)")
    return depth, note


def _sweep_clear(depth_map: DepthCollisionMap, t_tcp: np.ndarray, surface: np.ndarray, pre_open: float,
                 opening: float, config: ValidationConfig):
    """(t_tcp, note, pre-open width) whose whole-gripper sweep pre-grasp → grasp is clear, else a Rejection.

    Tried at the TCP depth, then up to the depth that still leaves the required pad overlap
    (:func:`required_pad_contact`) in ``DEPTH_STEP`` steps back; at each depth with the pre-open width,
    then wider in :data:`OPEN_STEP` steps, at most :data:`MAX_EXTRA_OPEN` wider and never past the stroke
    (a pad that lands on the object's rim with the candidate's width clears it opened wider); a wider
    retry must leave no sensed point at all in the swept parts.
    """
    approach = t_tcp[:3, 2]
    depth0 = float((t_tcp[:3, 3] - surface) @ approach)
    down = -float(approach[2])
    table_depth = ((float(surface[2]) - config.table_z) / down) if down > 1e-6 else math.inf
    pts = depth_map.in_grasp_frame(t_tcp)  # TCP frame at depth0
    jaws = pts[(np.abs(pts[:, 0]) <= PAD_HALF[0]) & (np.abs(pts[:, 1]) <= opening / 2.0)]
    top = (min(0.0, float(np.percentile(jaws[:, 2] + depth0, 5))) if len(jaws) else 0.0)
    widest = min(float(config.gripper.stroke), pre_open + MAX_EXTRA_OPEN)
    widths = [pre_open] + [min(widest, pre_open + k * OPEN_STEP)
                           for k in range(1, int(math.ceil((widest - pre_open) / OPEN_STEP - 1e-9)) + 1)]
    hits: dict = {}
    back = 0.0
    need = required_pad_contact(top, table_depth, config)
    while _pad_overlap(depth0 - back, top, table_depth) >= need - 1e-9:
        t = offset_along_approach(t_tcp, -back)
        tool0 = offset_along_approach(t, -config.gripper.tcp_offset)
        for width in widths:
            hits = depth_map.gripper_hits(tool0, pregrasp_pose(tool0, config.pregrasp_clearance), width,
                                          config.finger_margin, table_z=config.table_z)
            # opened wider the sweep must be spotless: a search over widths would otherwise find the one
            # that clips an object's edge with just under max_collision_points (seen: a wide box's side)
            if _sweep_ok(hits, config.max_collision_points if width == pre_open else 1):
                notes = [f"TCP {1000 * back:.0f} mm shallower: the gripper's sweep touched the sensed scene"
                         if back > 0 else "",
                         f"pre-open {1000 * width:.0f} mm instead of {1000 * pre_open:.0f} mm: the sweep touched "
                         "the sensed scene" if width > pre_open else ""]
                return t, "; ".join(n for n in notes if n), width
        back += DEPTH_STEP
    if not hits:  # e.g. the TCP was raised to min_tcp_z: the pads no longer reach into the object
        return _reject(COLLISION, f"no safe grasp depth: at this TCP depth the pads overlap the sensed object by "
                                  f"{1000 * max(0.0, _pad_overlap(depth0, top, table_depth)):.1f} mm "
                                  f"(need {1000 * need:.1f} mm)")
    worst = ", ".join(f"{k} {v}" for k, v in sorted(hits.items(), key=lambda kv: -kv[1]) if v) or "none"
    return _reject(COLLISION, f"the gripper would hit the sensed scene at every depth that leaves "
                              f"{1000 * need:.0f} mm of pad contact (depth points met by the swept "
                              f"parts: {worst}; a pad may meet {config.max_collision_points - 1}, the "
                              f"other parts none, and 'table' counts the parts below the table)")


def _sweep_ok(hits: dict[str, int], pad_points: int) -> bool:
    """Whether a sweep's counts per gripper part pass: fewer than ``pad_points`` in each pad, none in
    any other part, no part below the table (:attr:`ValidationConfig.max_collision_points`)."""
    return all(n < (pad_points if name.endswith("_pad") else 1) for name, n in hits.items())


def validate_or_raise(*args, **kwargs) -> GraspTarget:
    """:func:`validate_candidate`, raising :class:`CandidateRejected` instead of returning a rejection."""
    out = validate_candidate(*args, **kwargs)
    if isinstance(out, Rejection):
        raise CandidateRejected(out)
    return out
