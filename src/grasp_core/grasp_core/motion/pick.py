"""The backend-independent pick-and-place sequence for a validated grasp.

:func:`run_pick` drives a :class:`MotionBackend` (plans and executes arm moves) and a
:class:`Gripper` through the stages::

    pregrasp  move_joints to the pre-grasp IK solution (``backend.solve_ik`` seeded with the validated
              ``target.q_pregrasp``) — or, when validation found that move meeting the sensed scene,
              move_joints to its waypoint above the pre-grasp and move_linear down — then open the
              gripper to the pre-open width
    approach  move_linear down to the grasp pose
    close     close with ``close_effort``
    lift      move_linear up to the lift pose; held check
    place     move_joints to the place configuration above the bin — raised when the held object
              hangs further below the TCP than the place pose leaves above the bin's walls —
              and, for such a tall object, move_linear down until its lowest point is
              ``release_clearance`` above the bin floor; held check
    release   open the gripper, move_linear straight up until the fingertips are above the
              released object's top (at least ``release_retreat``)
    home      move_joints home

Held check: the gripper is commanded closed again (``command(0, effort)`` on an already closed
gripper returns at once with its opening): the object is held iff the opening stays above
``min_held_opening`` (the jaws did not close fully). This needs nothing from a gripper beyond the
:class:`Gripper` protocol. Success = held after the lift and still held at the place pose, then
released and home.

The held object hangs below the TCP by at most ``target.tcp_point[2] − table_z`` (it stood on
the table): a 25 cm bottle grasped near its top reaches 20 cm below the jaws, and the fixed place
pose (TCP 15 cm above the table) would push it into the bin floor (the arm is blocked, and on a real
robot the bottle or the bin breaks). So the carry height keeps the object's lowest point
``carry_clearance`` above the bin's rim, and the release height sets it down ``release_clearance``
above the floor instead of dropping it — a tall object dropped from the rim tips over against the
opening fingers.

On a failure the gripper is opened, the arm retreats ``retreat_height`` back along the approach
(tool0 −z; straight up for a top-down grasp) when it was at or below the pre-grasp, and goes home;
the result names the stage and the reason. A *collision* (:attr:`MoveResult.collision`, or an
exception with a true ``collision`` attribute: the arm or gripper stopped on an unexpected contact
or a tracking error — protective-stop semantics) is such a failure with :attr:`PickResult.collision`
set and a reason starting ``collision``. A *fatal* failure
(:attr:`MoveResult.fatal`, or an exception with a true ``fatal`` attribute: driver silent, stop
requested, disarmed) ends the sequence where it is, with no recovery motion or gripper command.

:class:`BuiltinBackend` implements :class:`MotionBackend` with :mod:`.planner` and an :class:`Arm`
(the ROS node and the simulator provide one).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..layout import CELL_LAYOUT, CellLayout
from ..robot import ROBOTIQ_2F85, UR5_JOINT_LIMITS, IKError, forward_kinematics, nearest_solution
from ..robot.gripper import gripper_boxes
from ..robot.transforms import rot_z
from .collision import CellCollisionChecker, FingerGeometry
from .planner import plan_joint_motion, plan_linear_motion
from .trajectory import JointTrajectory, MotionLimits, PlanningError
from .validation import GraspTarget

STAGES: tuple[str, ...] = ("pregrasp", "approach", "close", "lift", "place", "release", "home")


@dataclass(frozen=True)
class MoveResult:
    """Outcome of an arm move: ``ok``, a ``reason`` when not, the trajectory's ``duration_s``.

    ``fatal``: the robot cannot be moved safely now (driver silent or restarted, stop requested,
    disarmed): :func:`run_pick` then ends without any recovery motion or gripper command.
    ``collision``: the arm was stopped on an unexpected contact or a tracking error (it holds
    where it stopped; a recovery motion is allowed).
    """

    ok: bool
    reason: str = ""
    duration_s: float = 0.0
    fatal: bool = False
    collision: bool = False


@dataclass(frozen=True)
class GripperResult:
    """Outcome of a gripper command: final ``opening`` (m), ``stalled`` (stopped on an object),
    ``reached_goal`` (reached the commanded opening)."""

    opening: float
    stalled: bool
    reached_goal: bool


@runtime_checkable
class MotionBackend(Protocol):
    """Plans and executes arm motions (blocking). Poses: (4, 4) tool0 in ``base_link``; joints (6,) rad."""

    def current_joints(self) -> np.ndarray: ...

    def solve_ik(self, t_base_tool0: np.ndarray, q_seed: np.ndarray) -> np.ndarray | None: ...

    def move_joints(self, q_goal: np.ndarray) -> MoveResult: ...

    def move_linear(self, t_base_tool0: np.ndarray, clear: bool = False) -> MoveResult:
        """Straight line of tool0; ``clear``: it moves away from contact (lift, retreat up from the
        release) and may run at the backend's faster clear-line limits."""


@runtime_checkable
class Gripper(Protocol):
    """A parallel gripper: ``command`` blocks until the fingers stop (opening in m, effort in N)."""

    def command(self, opening: float, max_effort: float) -> GripperResult: ...


@runtime_checkable
class Arm(Protocol):
    """A position-controlled arm: current joints (6,) rad; ``execute`` plays a trajectory, blocking,
    True when it was tracked to the end. Optional attributes read after a failed ``execute``:
    ``last_error`` (why), ``robot_lost`` (fatal), ``last_collision`` (stopped on a contact or a
    tracking error)."""

    def joint_positions(self) -> np.ndarray: ...

    def execute(self, traj: JointTrajectory) -> bool: ...


class BuiltinBackend:
    """:class:`MotionBackend` using :func:`plan_joint_motion` / :func:`plan_linear_motion` and an :class:`Arm`.

    Args:
        arm: executes the trajectories.
        limits: :class:`MotionLimits` (default).
        collision: optional checker (e.g. :class:`CellCollisionChecker`): a trajectory it flags is not
            executed and the move fails.

    Attributes:
        last_trajectory: the last planned trajectory (executed or not), for logging.
    """

    def __init__(self, arm: Arm, limits: MotionLimits | None = None,
                 collision: CellCollisionChecker | None = None) -> None:
        self.arm = arm
        self.limits = limits or MotionLimits()
        self.collision = collision
        self.last_trajectory: JointTrajectory | None = None

    def current_joints(self) -> np.ndarray:
        """(6,) float64 joint positions, rad."""
        return np.asarray(self.arm.joint_positions(), dtype=np.float64).reshape(6)

    def set_guarded(self, guarded: bool) -> None:
        """Approach and closing (:func:`run_pick`): the arm's tracking-error stop applies (sets the
        arm's ``guarded`` attribute when it has one)."""
        if hasattr(self.arm, "guarded"):
            self.arm.guarded = bool(guarded)

    def solve_ik(self, t_base_tool0, q_seed) -> np.ndarray | None:
        """IK solution nearest to ``q_seed`` within the position limits, or None when unreachable."""
        try:
            return nearest_solution(t_base_tool0, q_seed, self.limits.position_limits)
        except IKError:
            return None

    def _run(self, plan: Callable[[], JointTrajectory]) -> MoveResult:
        try:
            traj = plan()
        except PlanningError as exc:
            return MoveResult(False, f"planning failed: {exc}")
        self.last_trajectory = traj
        if self.collision is not None:
            why = self.collision.check_trajectory(traj)
            if why:
                return MoveResult(False, why, traj.duration)
        if not self.arm.execute(traj):
            detail = getattr(self.arm, "last_error", "") or "trajectory not tracked to the end"
            fatal = bool(getattr(self.arm, "robot_lost", False)) or detail.startswith(("stopped", "not executed"))
            if getattr(self.arm, "last_collision", False):
                return MoveResult(False, detail, traj.duration, fatal, collision=True)
            return MoveResult(False, f"execution failed ({detail})", traj.duration, fatal)
        return MoveResult(True, "", traj.duration)

    def move_joints(self, q_goal) -> MoveResult:
        """Free-space joint move to (6,) ``q_goal`` rad (plan, check, execute)."""
        return self._run(lambda: plan_joint_motion(self.current_joints(), q_goal, self.limits))

    def move_linear(self, t_base_tool0, clear: bool = False) -> MoveResult:
        """Straight-line move of tool0 to the (4, 4) pose in ``base_link`` (plan, check, execute);
        ``clear``: at :meth:`MotionLimits.clear` (a line away from contact)."""
        limits = self.limits.clear() if clear else self.limits
        return self._run(lambda: plan_linear_motion(self.current_joints(), t_base_tool0, limits))


@dataclass(frozen=True)
class PickConfig:
    """Parameters of :func:`run_pick`.

    Attributes:
        close_effort: gripper force when closing, N (60).
        open_effort: force when opening, N (60).
        min_held_opening: object held iff the closed opening exceeds this, m (0.004).
        release_opening: opening to drop the object, m (the stroke).
        retreat_height: retreat back along the approach after a failure near the object, m (0.10).
        release_retreat: straight-up move after opening over the bin, m (0.05): the fingers slide off
            the released object before the arm turns away, so a wide object wedged between the open
            jaws is not carried out of the bin; 0 disables it.
        open_tolerance: the pre-open may fall short of the requested width by this much, m (0.005).
        layout: the cell (:class:`grasp_core.layout.CellLayout`): the table the objects stand on, the
            bin's floor (the table), walls and inner area (:meth:`grasp_core.config.ExecutorConfig.pick_config`
            passes the configured one).
        carry_clearance: the held object's lowest point stays this far above the bin's rim on the way
            to the place pose, m (0.03).
        release_clearance: a tall object is set down until its lowest point is this far above the bin
            floor before the jaws open, m (0.02).
        place_margin: the held object's sensed footprint is placed this far inside the bin's walls
            when it fits, m (0.02).
        clock: time source in s (``time.monotonic``; a simulator passes its own).
    """

    close_effort: float = 60.0
    open_effort: float = 60.0
    min_held_opening: float = 0.004
    release_opening: float = ROBOTIQ_2F85.stroke
    retreat_height: float = 0.10
    release_retreat: float = 0.05
    open_tolerance: float = 0.005
    layout: CellLayout = CELL_LAYOUT
    carry_clearance: float = 0.03
    release_clearance: float = 0.02
    place_margin: float = 0.02
    clock: Callable[[], float] = field(default=time.monotonic)


@dataclass(frozen=True)
class PickResult:
    """Outcome of :func:`run_pick`.

    Attributes:
        success: the object was held after the lift and at the place pose, and the sequence finished.
        stage_reached: the last stage started (``home`` on success, ``release`` without ``return_home``;
            the failing stage otherwise).
        reason: empty on success, else why it failed.
        cycle_time_s: from start to the end of the sequence (recovery included), s, ``clock`` time.
        final_opening: gripper opening at the last held check, m (the object's width as held; ≤
            ``min_held_opening`` when the check failed); the last reported opening when no held check ran.
        stage_times: seconds spent per stage started (the recovery under ``recovery``).
        collision: the failure was a collision (module docstring) in ``stage_reached``.
    """

    success: bool
    stage_reached: str
    reason: str
    cycle_time_s: float
    final_opening: float
    stage_times: dict = field(default_factory=dict)
    collision: bool = False


class _Failure(Exception):
    def __init__(self, reason: str, fatal: bool = False, collision: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal
        self.collision = collision


def run_pick(target: GraspTarget, backend: MotionBackend, gripper: Gripper, config: PickConfig | None = None,
             place_joints=None, home_joints=None, feedback: Callable[[str], None] | None = None,
             return_home: bool = True, bin_fill: BinFill | None = None) -> PickResult:
    """Pick the object of ``target``, place it in the bin and go home (module docstring).

    Args:
        target: validated grasp (:func:`grasp_core.motion.validation.validate_candidate`).
        backend: plans and executes moves. gripper: the gripper.
        config: :class:`PickConfig` (default).
        place_joints: (6,) joints above the bin, rad (default :data:`grasp_core.motion.PLACE_JOINTS`).
        home_joints: (6,) home joints, rad (default :data:`grasp_core.motion.HOME_JOINTS`).
        feedback: called with each stage name as it starts (and ``recovery`` after a failure).
        return_home: False → a successful sequence ends after the release, over the bin (stage
            ``release``): the automatic mode goes from there straight to the next pre-grasp. A failed
            one still recovers to home.
        bin_fill: what is in the bin (:class:`BinFill`): the object is carried above it and set down on
            it (:func:`place_plan`), and recorded there once released. None: an empty bin, nothing recorded.

    Returns:
        :class:`PickResult`. Never raises for a failing motion or grasp; those are reported.
    """
    from . import HOME_JOINTS, PLACE_JOINTS  # late: the constants live in the package

    config = config or PickConfig()
    place = np.asarray(PLACE_JOINTS if place_joints is None else place_joints, dtype=np.float64).reshape(6)
    home = np.asarray(HOME_JOINTS if home_joints is None else home_joints, dtype=np.float64).reshape(6)
    clock = config.clock
    t_start = clock()
    stage_times: dict[str, float] = {}
    state = {"stage": "", "t0": t_start, "opening": float("nan"), "held_opening": float("nan"),
             "near_object": False}

    def begin(stage: str) -> None:
        now = clock()
        if state["stage"]:
            stage_times[state["stage"]] = stage_times.get(state["stage"], 0.0) + now - state["t0"]
        state["stage"], state["t0"] = stage, now
        if feedback is not None:
            feedback(stage)

    def move(result: MoveResult, what: str) -> None:
        if not result.ok:
            if result.collision:
                raise _Failure(f"collision during {state['stage']} ({what}): {result.reason}", result.fatal, True)
            raise _Failure(f"{what}: {result.reason}", result.fatal)

    def grip(opening: float, effort: float) -> GripperResult:
        r = gripper.command(float(opening), float(effort))
        state["opening"] = float(r.opening)
        return r

    def guard(on: bool) -> None:
        if hasattr(backend, "set_guarded"):
            backend.set_guarded(on)

    def held(where: str) -> None:
        r = grip(0.0, config.close_effort)
        state["held_opening"] = float(r.opening)
        if not r.opening > config.min_held_opening:
            raise _Failure(f"object not held {where}: gripper closed to {r.opening * 1000:.1f} mm "
                           f"(<= {config.min_held_opening * 1000:.1f} mm)")

    failed_stage, reason, fatal, collision = None, "", False, False
    try:
        begin("pregrasp")
        # seeded with the validated solution: the approach and lift were checked from that branch
        q_pre = backend.solve_ik(target.t_base_tool0_pregrasp, target.q_pregrasp)
        if q_pre is None:
            raise _Failure("pre-grasp pose is unreachable")
        if target.q_approach is not None:  # the direct move would meet the sensed scene
            q_via = backend.solve_ik(target.t_base_tool0_approach, target.q_approach)
            if q_via is None:
                raise _Failure("waypoint above the pre-grasp is unreachable")
            move(backend.move_joints(q_via), "move above the pre-grasp")
            move(backend.move_linear(target.t_base_tool0_pregrasp), "move down to the pre-grasp")
        else:
            move(backend.move_joints(q_pre), "move to pre-grasp")
        r = grip(target.pregrasp_opening, config.open_effort)
        if r.opening < target.pregrasp_opening - config.open_tolerance:
            raise _Failure(f"gripper opened to {r.opening * 1000:.1f} mm only, needs "
                           f"{target.pregrasp_opening * 1000:.1f} mm")
        begin("approach")
        state["near_object"] = True
        guard(True)
        move(backend.move_linear(target.t_base_tool0_grasp), "approach")
        begin("close")
        grip(0.0, config.close_effort)
        guard(False)
        begin("lift")
        move(backend.move_linear(target.t_base_tool0_lift, clear=True), "lift")
        state["near_object"] = False
        held("after the lift")
        begin("place")
        plan = place_plan(target, place, config, bin_fill)
        if plan.q_carry is None:
            raise _Failure("no reachable place pose keeps the held object above the bin's walls")
        move(backend.move_joints(plan.q_carry), "move to place")
        if plan.t_release is not None:
            move(backend.move_linear(plan.t_release), "set the object down in the bin")
        held("at the place pose")
        begin("release")
        grip(config.release_opening, config.open_effort)
        if bin_fill is not None:
            bin_fill.add(plan.lo, plan.hi, plan.top)
        if plan.retreat > 0:
            t_up = forward_kinematics(backend.current_joints())
            t_up[2, 3] += plan.retreat
            move(backend.move_linear(t_up, clear=True), "retreat after the release")
        if return_home:
            begin("home")
            move(backend.move_joints(home), "move home")
    except _Failure as exc:
        failed_stage, reason, fatal, collision = state["stage"], exc.reason, exc.fatal, exc.collision
    except Exception as exc:  # noqa: BLE001 - a backend/gripper error fails the pick, the arm still recovers
        failed_stage, reason = state["stage"], f"{type(exc).__name__}: {exc}"
        fatal = bool(getattr(exc, "fatal", False))
        collision = bool(getattr(exc, "collision", False))
        if collision:
            reason = f"collision during {failed_stage}: {exc}"
    now = clock()
    stage_times[state["stage"]] = stage_times.get(state["stage"], 0.0) + now - state["t0"]
    try:
        guard(False)
    except Exception:  # noqa: BLE001 - the result is reported either way
        pass
    if failed_stage and not fatal:
        if feedback is not None:
            feedback("recovery")
        _recover(backend, gripper, config, home, bool(state["near_object"]))
        stage_times["recovery"] = clock() - now
    final = state["held_opening"] if np.isfinite(state["held_opening"]) else state["opening"]
    return PickResult(success=failed_stage is None, stage_reached=failed_stage or state["stage"], reason=reason,
                      cycle_time_s=clock() - t_start, final_opening=float(final), stage_times=stage_times,
                      collision=collision)


@dataclass
class BinFill:
    """What the pick sequence has put in the bin so far: footprints and tops, ``base_link``, m.

    Each placed object is kept as its horizontal box (``lo``, ``hi``: (2,) corners, with the
    gripper's own footprint around the TCP) and the height of its top: the sensed height it stood on
    the table with, on the floor (or pile) it was set on — conservative when it fell over.
    :func:`grasp_core.picking.clear_table` keeps one per run, the executor node one from its start
    until ``~/clear_bin``, so the next object is carried above the pile and set down on it, not
    pushed into it.
    """

    boxes: list = field(default_factory=list)

    def top(self, lo=None, hi=None) -> float:
        """Highest top of the placed objects whose box overlaps [lo, hi] (all with None), m; −inf if none."""
        tops = [t for (a, b, t) in self.boxes
                if lo is None or (np.all(np.asarray(a) <= np.asarray(hi)) and np.all(np.asarray(b) >= np.asarray(lo)))]
        return max(tops, default=-np.inf)

    def add(self, lo, hi, top: float) -> None:
        """Record an object placed over [lo, hi] (m, (2,) each) with its top at ``top`` m."""
        self.boxes.append((np.asarray(lo, dtype=np.float64).copy(), np.asarray(hi, dtype=np.float64).copy(),
                           float(top)))

    def clear(self) -> None:
        """The bin was emptied."""
        self.boxes.clear()


@dataclass(frozen=True)
class PlacePlan:
    """How a held object is carried into the bin and let go (:func:`place_plan`).

    Attributes:
        q_carry: (6,) joints of the carry pose over the bin, rad; None when it has no IK solution.
        t_release: (4, 4) T_base_link_tool0 the arm moves straight down to before opening, or None
            when the carry pose is the release pose.
        retreat: straight-up distance after opening, m.
        lo, hi: (2,) the placed object's (and the gripper's) horizontal box in the bin, m.
        top: height of its top once placed, m (for :class:`BinFill`).
    """

    q_carry: np.ndarray | None
    t_release: np.ndarray | None
    retreat: float
    lo: np.ndarray
    hi: np.ndarray
    top: float


def place_plan(target: GraspTarget, place_joints, config: PickConfig, fill: BinFill | None = None) -> PlacePlan:
    """Where to carry a held object and how to let it go (module docstring).

    * **Footprint.** With :attr:`GraspTarget.object_points`, the object's sensed points move with the
      TCP (a rigid grasp: their offsets in the grasp's tool0 frame are kept). The place pose is
      shifted horizontally, and if needed turned by ±90° about the vertical, so that the footprint
      lies ``place_margin`` inside the bin's walls: a hammer held at the end of its handle is not
      dropped across the wall. When no turn fits, the one that overhangs least is centred.
    * **Height.** Below the TCP reach the held object — ``h = tcp_point[2] − table_z`` at most (it
      stood on the table) — and the fingertips; the lower of the two is ``low`` under the TCP. The
      carry pose is that place pose raised, when needed, until ``low`` is ``carry_clearance`` above
      the bin's rim and everything already in it (``fill``); only then is a straight move down added,
      until ``low`` is ``release_clearance`` above the floor or the pile under the footprint (never
      below the configured place height).
    * **Retreat.** After the release the fingertips (:attr:`FingerGeometry.tip_below_tcp`) rise 2 cm
      above the object's top (``surface_point[2]``, the sensed surface), at least ``release_retreat``.

    Args:
        target: the validated grasp (``tcp_point``, ``surface_point``: (3,) m, ``object_points``:
            (M, 3) m or None, all in ``base_link``).
        place_joints: (6,) the configured place joints over the bin, rad (tool pointing down).
        config: :class:`PickConfig`.
        fill: what is already in the bin (None: nothing known).

    Returns:
        :class:`PlacePlan`. Place joints outside the UR5's limits come back as they are (the move to
        them fails with the planner's reason).
    """
    lay = config.layout
    place = np.asarray(place_joints, dtype=np.float64).reshape(6)
    fingers = FingerGeometry()
    above_top = float(target.surface_point[2] - target.tcp_point[2])
    height = max(0.0, float(target.surface_point[2]) - lay.table_z)  # as it stood on the table
    retreat = max(config.release_retreat, above_top + fingers.tip_below_tcp + 0.02) \
        if config.release_retreat > 0 else 0.0
    if not (np.all(np.isfinite(place)) and UR5_JOINT_LIMITS.within(place)):
        c = np.asarray(lay.bin_centre, dtype=np.float64)
        return PlacePlan(place, None, retreat, c, c, lay.table_z + height)
    t_place = forward_kinematics(place)
    tcp_place_z = float(t_place[2, 3] + ROBOTIQ_2F85.tcp_offset * t_place[2, 2])  # TCP = tool0 + offset·z
    t_place, lo, hi = _fit_footprint(target, t_place, lay, config.place_margin, config.release_opening)
    low = max(float(target.tcp_point[2]) - lay.table_z, fingers.tip_below_tcp)
    fill = fill or BinFill()
    rim = max(lay.table_z + lay.bin_height, fill.top())
    floor = max(lay.table_z, fill.top(lo, hi))
    carry_z = max(tcp_place_z, rim + low + config.carry_clearance)
    release_z = max(tcp_place_z, floor + low + config.release_clearance)
    top = floor + height
    t_carry = t_place.copy()
    t_carry[2, 3] += carry_z - tcp_place_z
    try:
        q_carry = nearest_solution(t_carry, place)
    except IKError:
        return PlacePlan(None, None, retreat, lo, hi, top)
    if release_z >= carry_z - 1e-3:
        return PlacePlan(q_carry, None, retreat, lo, hi, top)
    t_release = t_place.copy()
    t_release[2, 3] += release_z - tcp_place_z
    return PlacePlan(q_carry, t_release, retreat, lo, hi, top)


def _gripper_outline(opening: float) -> np.ndarray:
    """(4, 3) corners, in tool0 (z = 0), of the xy outline of the 2F-85's parts at ``opening`` m
    (:func:`grasp_core.robot.gripper.gripper_boxes`: the shapes the simulator and the sweep use)."""
    boxes = gripper_boxes(opening)
    lo = np.min([b[1][:2] for b in boxes], axis=0)
    hi = np.max([b[2][:2] for b in boxes], axis=0)
    return np.array([[x, y, 0.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])])


def _fit_footprint(target: GraspTarget, t_place: np.ndarray, lay: CellLayout,
                   margin: float, config_opening: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The place pose moved and turned so the held object's footprint lies in the bin (:func:`place_plan`),
    and the (2,) lo, hi corners of that footprint with the gripper's (opened to ``config_opening`` m,
    the release opening) around the TCP."""
    tg = np.asarray(target.t_base_tool0_grasp, dtype=np.float64)
    grip = _gripper_outline(config_opening)  # the gripper's outline in tool0
    pts = target.object_points  # offsets in the grasp's tool0 frame: they move with the TCP
    rel = grip if pts is None or len(pts) == 0 else np.vstack(
        [grip, (np.asarray(pts, dtype=np.float64).reshape(-1, 3) - tg[:3, 3]) @ tg[:3, :3]])
    centre = np.asarray(lay.bin_centre, dtype=np.float64)
    half = np.asarray(lay.bin_inner, dtype=np.float64) / 2 - margin
    best = None
    for turn in (0.0, np.pi / 2, -np.pi / 2):
        t = t_place.copy()
        t[:3, :3] = rot_z(turn) @ t_place[:3, :3]
        xy = (rel @ t[:3, :3].T + t[:3, 3])[:, :2]  # the footprint under this place pose
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        over = float(np.sum(np.maximum(0.0, (hi - lo) - 2 * half)))
        shift_lo, shift_hi = centre - half - lo, centre + half - hi
        # the smallest shift that brings it inside; centred along an axis where it does not fit
        shift = np.where(shift_lo <= shift_hi, np.clip(0.0, shift_lo, shift_hi), centre - (lo + hi) / 2)
        t[:2, 3] += shift
        if best is None or over < best[0] - 1e-9:
            best = (over, t, lo + shift, hi + shift)
        if over == 0.0 or pts is None:
            break
    return best[1], best[2], best[3]


def _recover(backend: MotionBackend, gripper: Gripper, config: PickConfig, home: np.ndarray,
             near_object: bool) -> None:
    """Open the gripper, back out along the approach (tool0 −z) when near the object, go home; best
    effort, never raises."""
    try:
        gripper.command(config.release_opening, config.open_effort)
    except Exception:  # noqa: BLE001 - recovery is best effort; the original failure is reported
        pass
    try:
        if near_object:
            t = forward_kinematics(backend.current_joints())
            t[:3, 3] -= config.retreat_height * t[:3, 2]  # tool0 z is the approach direction
            backend.move_linear(t)
        backend.move_joints(home)
    except Exception:  # noqa: BLE001
        pass
