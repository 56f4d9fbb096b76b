"""The whole pick loop without ROS: simulated cell → depth → detector → validation → pick sequence.

The same library code the nodes run, composed in one process for benchmarks
(``grasp-sim-bench``) and tests: :class:`grasp_core.sim.SimCell` renders the depth image,
:func:`grasp_core.depth.depth_to_metres` + :func:`grasp_core.depth.inpaint_depth` do what the
camera node does, :class:`grasp_core.inference.GraspDetector` what the detector node does, and
:func:`grasp_core.motion.validate_candidate` + :func:`grasp_core.motion.run_pick` what the executor
node does; :class:`SimArm` and :class:`SimGripper` stand where the ROS node's trajectory topic and
gripper action are. Time is simulation time throughout.

Parameters come from ``config/grasp.yaml`` (the ``grasp_detector`` and ``grasp_executor``
sections, :mod:`grasp_core.config`) through :func:`settings_from_config`, so the benchmark and
the nodes agree. The automatic mode's policy is :class:`PickLoop`, which the executor node drives
too.

Ground truth (:meth:`SimCell.object_poses`) is read only to score an attempt, never to choose it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .depth import depth_to_metres, inpaint_depth
from .inference import Detection, GraspDetector
from .layout import CELL_LAYOUT
from .motion import (
    HOME_JOINTS,
    PLACE_JOINTS,
    BinFill,
    BuiltinBackend,
    CameraGrasp,
    DepthCollisionMap,
    GraspTarget,
    GripperResult,
    JointTrajectory,
    MotionLimits,
    PickConfig,
    PickResult,
    Rejection,
    ValidationConfig,
    arm_in_view,
    default_cell_checker,
    run_pick,
    validate_candidate,
)
from .motion.validation import STALE
from .robot.gripper import STROKE
from .tabletop import TableScene, table_regions, too_wide, width_across

#: Rejection code of a candidate whose object is wider across the jaws than the stroke (:func:`decline_too_wide`).
TOO_WIDE = "too_wide"


class SimArm:
    """:class:`grasp_core.motion.Arm` on a :class:`grasp_core.sim.SimCell` (steps the physics while it moves).

    Protective stop (the UR controller's, simulated): every ``check_s`` of a motion while
    :attr:`guarded` (approach and closing, set by :func:`grasp_core.motion.run_pick` through
    :meth:`BuiltinBackend.set_guarded`) the arm's tracking error (servo setpoint vs measured joints,
    :meth:`SimCell.tracking_error`) is compared with ``max_tracking_error``, and in every motion
    (``stop_on_contact``) the cell's record of unexpected robot
    contacts (:meth:`SimCell.robot_contacts`, standing in for the real arm's force limit) is read;
    either stops the arm where it is (:meth:`SimCell.hold`) and fails the move with
    :attr:`last_collision` set and :attr:`last_error` starting ``collision``.

    Args:
        cell: the simulated cell.
        settle_s: simulated seconds allowed after a trajectory's end to come within ``goal_tolerance``.
        goal_tolerance: max joint error at the end, rad (as the ROS executor's ``goal_tolerance``).
        max_tracking_error: rad (:attr:`grasp_core.config.ExecutorConfig.max_tracking_error`).
        stop_on_contact: stop on an unexpected contact too.
        check_s: monitoring period, simulated s.
    """

    def __init__(self, cell, settle_s: float = 0.2, goal_tolerance: float = 0.01, max_tracking_error: float = 0.1,
                 stop_on_contact: bool = True, check_s: float = 0.01) -> None:
        self.cell = cell
        self.settle_s = float(settle_s)
        self.goal_tolerance = float(goal_tolerance)
        self.max_tracking_error = float(max_tracking_error)
        self.stop_on_contact = bool(stop_on_contact)
        self.check_steps = max(1, int(round(check_s / cell.timestep)))
        self.last_error = ""
        self.last_collision = False
        self.guarded = False

    def joint_positions(self) -> np.ndarray:
        return self.cell.joint_positions()

    def execute(self, traj: JointTrajectory) -> bool:
        """Follow ``traj`` (cubic Hermite with its velocities); True when at the end point.

        As the ROS executor's :class:`grasp_executor.arm.RosArm` (and a joint_trajectory_controller's
        goal check): after the trajectory's duration the motion ends as soon as every joint is within
        ``goal_tolerance`` of the last point, at most ``settle_s`` later. False with
        :attr:`last_error` when it stopped on a collision (class docstring) or was still farther than
        ``goal_tolerance`` from the last point then.
        """
        cell = self.cell
        self.last_error, self.last_collision = "", False
        t0 = cell.time
        q_end = np.asarray(traj.positions[-1])
        t_end = cell.follow_trajectory(np.asarray(traj.times), np.asarray(traj.positions),
                                       np.asarray(traj.velocities))
        while True:
            if cell.time >= t_end - 1e-9 and (
                    cell.time >= t_end + self.settle_s - 1e-9
                    or np.max(np.abs(cell.joint_positions() - q_end)) <= self.goal_tolerance):
                break
            cell.step(self.check_steps)
            err = cell.tracking_error() if self.guarded else 0.0
            touch = cell.robot_contacts(since=t0) if self.stop_on_contact else []
            if err > self.max_tracking_error or touch:
                cell.hold()
                self.last_collision = True
                self.last_error = (f"collision: {touch[0][1]} touched {touch[0][2]} at t = {touch[0][0]:.2f} s"
                                   if touch else
                                   f"collision: tracking error {err:.3f} rad > {self.max_tracking_error} rad")
                self.last_error += "; arm stopped"
                return False
        cell.set_joint_targets(np.asarray(traj.positions[-1]))
        err = float(np.max(np.abs(cell.joint_positions() - traj.positions[-1])))
        if err > self.goal_tolerance:
            self.last_error = f"arm {err:.3f} rad from the trajectory's end"
            return False
        return True


class GripperCollision(RuntimeError):
    """The simulated gripper stopped closing on an unexpected contact (:class:`SimGripper`)."""

    collision = True


class SimGripper:
    """:class:`grasp_core.motion.Gripper` on a :class:`grasp_core.sim.SimCell`: command, step until the fingers stop."""

    def __init__(self, cell, timeout_s: float = 3.0, stop_on_contact: bool = True) -> None:
        self.cell = cell
        self.timeout_s = float(timeout_s)
        self.stop_on_contact = bool(stop_on_contact)

    def command(self, opening: float, max_effort: float) -> GripperResult:
        """Command and step until the fingers stop. Raises :class:`GripperCollision` (fingers held where
        they are) when an unexpected robot contact begins while they move (``stop_on_contact``)."""
        self.cell.command_gripper(float(opening), float(max_effort) if max_effort > 0 else None)
        t0 = self.cell.time
        while self.cell.time - t0 < self.timeout_s:
            self.cell.step(10)
            touch = self.cell.robot_contacts(since=t0) if self.stop_on_contact else []
            if touch:
                self.cell.command_gripper(self.cell.gripper_opening(), float(max_effort) if max_effort > 0 else None)
                raise GripperCollision(f"{touch[0][1]} touched {touch[0][2]} while the gripper moved; "
                                       "gripper stopped")
            if self.cell.time - t0 > 0.1 and not self.cell.gripper_moving():
                break
        o = self.cell.gripper_opening()
        return GripperResult(opening=o, stalled=self.cell.gripper_stalled(), reached_goal=abs(o - opening) < 0.003)


@dataclass
class Settings:
    """Detector and executor settings (from ``config/grasp.yaml``; see :func:`settings_from_config`)."""

    top_k: int = 5
    min_distance_px: float = 20.0
    quality_threshold: float = 0.1
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    limits: MotionLimits = field(default_factory=MotionLimits)
    pick: PickConfig = field(default_factory=PickConfig)
    home_joints: np.ndarray = field(default_factory=lambda: np.array(HOME_JOINTS))
    place_joints: np.ndarray = field(default_factory=lambda: np.array(PLACE_JOINTS))
    use_depth_collision: bool = True
    max_consecutive_failures: int = 3
    max_empty_frames: int = 3
    go_home_between_picks: bool = False
    max_tracking_error: float = 0.1
    target_class: str = ""
    min_class_confidence: float = 0.0


def settings_from_config(path: str | Path) -> Settings:
    """:class:`Settings` from the ``grasp_detector`` and ``grasp_executor`` sections of a parameters file.

    The sections are read through the typed configuration (:mod:`grasp_core.config`) the nodes
    declare their parameters from, so the benchmark and the nodes agree.

    Raises:
        ValueError: the file is unreadable, has an unknown key or a value of the wrong type.
    """
    from .config import load_section
    from .layout import CellLayout

    det = load_section(path, "grasp_detector")
    ex = load_section(path, "grasp_executor")
    layout = CellLayout.from_yaml(path)
    return Settings(
        top_k=det.top_k, min_distance_px=det.min_distance_px, quality_threshold=det.quality_threshold,
        validation=ex.validation_config(layout), limits=ex.motion_limits(), pick=ex.pick_config(layout),
        home_joints=ex.joints("home_joints", layout), place_joints=ex.joints("place_joints", layout),
        use_depth_collision=ex.use_depth_collision, max_consecutive_failures=ex.max_consecutive_failures,
        max_empty_frames=ex.max_empty_frames, go_home_between_picks=ex.go_home_between_picks,
        max_tracking_error=ex.max_tracking_error, target_class=ex.target_class,
        min_class_confidence=ex.min_class_confidence)


@dataclass
class Perception:
    """One camera frame and what the detector made of it."""

    stamp: float
    depth: np.ndarray      # (H, W) float32 m, inpainted (what the detector saw)
    rgb: np.ndarray        # (H, W, 3) uint8
    detection: Detection
    candidates: list[CameraGrasp]
    seconds: float         # wall time of inpainting + detection
    scene: TableScene | None = None  # what stands on the table (grasp_core.tabletop), None when not judged
    labels: list[Label] = field(default_factory=list)  # per candidate: the detector's object class ("" none)


@dataclass(frozen=True)
class Label:
    """A candidate's object class as :func:`select_class` reads it (``GraspCandidate``'s field names)."""

    shape_label: str = ""
    shape_confidence: float = 0.0


def perceive(cell, detector: GraspDetector, settings: Settings) -> Perception:
    """Render a frame, convert and inpaint it like the camera node, detect grasps like the detector node."""
    raw, rgb = cell.render()
    stamp = cell.time
    t0 = time.perf_counter()
    metres = depth_to_metres(raw, "32FC1")
    depth = inpaint_depth(metres)
    intr = cell.intrinsics
    det = detector.detect(depth, rgb=rgb if detector.needs_rgb else None, intrinsics=intr, top_k=settings.top_k,
                          min_distance_px=settings.min_distance_px, quality_threshold=settings.quality_threshold)
    cands = [CameraGrasp.from_grasp_pose(p, quality=float(g.quality), frame_id=intr.frame_id, stamp=stamp)
             for g, p in zip(det.grasps, det.poses, strict=True) if p is not None]
    classes = getattr(det, "classes", None) or [("", 0.0)] * len(det.grasps)  # a segmenting detector's labels
    labels = [Label(str(n), float(c)) for (n, c), p in zip(classes, det.poses, strict=True) if p is not None]
    layout = getattr(getattr(cell, "config", None), "layout", CELL_LAYOUT)
    # the regions from the measured pixels only: an inpainted hole is a guess, not an object
    scene = table_regions(metres, intr, cell.t_base_camera, layout)
    return Perception(stamp, depth, rgb, det, cands, time.perf_counter() - t0, scene, labels)


@dataclass
class AttemptRecord:
    """One pick attempt of the loop: the executor's judgement and, for scoring, the ground truth."""

    success: bool            # judged by the executor (gripper opening after lift and at the place pose)
    placed: bool             # ground truth: one more object ended in the bin
    stage: str
    reason: str
    cycle_time_s: float      # simulated seconds
    final_opening: float
    candidate_px: tuple      # (u, v, angle, width_px, length_px, quality) of the executed grasp
    rejected: int            # candidates of the frame rejected before this one
    collisions: int = 0      # ground truth: unexpected robot contacts begun during the attempt (SimCell)
    collision: bool = False  # the executor stopped on a collision (PickResult.collision)
    label: str = ""          # the executed candidate's object class (its detector's label; "" none)
    placed_class: str = ""   # ground truth: the class of the object that reached the bin ("" none)


def choose_target(perception: Perception, cell, settings: Settings, extrinsics) -> tuple[GraspTarget | None,
                                                                                          int, list[Rejection], int]:
    """Best valid candidate of the frame: (target or None, its index in the candidates, rejections, n rejected).

    With ``settings.target_class`` only candidates of that class (:func:`select_class` on
    :attr:`Perception.labels`) are considered, as the executor node does; the others count as one
    :data:`WRONG_CLASS` rejection (objects remain, the table is not clear).
    """
    dmap = None
    q = cell.joint_positions()
    if settings.use_depth_collision:  # the arm at rest where the frame was taken: not an obstacle to itself
        dmap = DepthCollisionMap.from_depth(perception.depth, cell.intrinsics, cell.t_base_camera).without_robot(q)
    rejections: list[Rejection] = []
    order = sorted(range(len(perception.candidates)), key=lambda i: -perception.candidates[i].quality)
    if settings.target_class:
        labels = perception.labels or [Label()] * len(perception.candidates)
        ours = [i for i in order if select_class([labels[i]], settings.target_class, settings.min_class_confidence)]
        n_other, order = len(order) - len(ours), ours
        if n_other:
            rejections.append(Rejection(f"{n_other} candidates not of class '{settings.target_class}'", WRONG_CLASS))
    for i in order:
        cand = perception.candidates[i]
        res = None
        if perception.scene is not None:  # first: an object too wide for the gripper is declined as such
            t = np.asarray(extrinsics.matrix, dtype=np.float64)
            res = decline_too_wide(t[:3, :3] @ cand.position + t[:3, 3], t[:3, :3] @ cand.rotation[:, 1],
                                   perception.scene)
        if res is None:
            res = validate_candidate(cand, extrinsics, q, settings.validation, now=cell.time, depth_map=dmap)
        if isinstance(res, Rejection):
            rejections.append(res)
            continue
        return with_object_points(res, perception.scene), i, rejections, len(rejections)
    return None, -1, rejections, len(rejections)


def with_object_points(target: GraspTarget, scene: TableScene | None, radius: float = 0.02) -> GraspTarget:
    """``target`` with :attr:`GraspTarget.object_points` = the points of the scene region at its TCP
    (:meth:`TableScene.region_near` within ``radius`` m), unchanged when there is no scene or region."""
    if scene is None:
        return target
    region = scene.region_near(target.tcp_point[:2], radius)
    return target if region is None else replace(target, object_points=region.points)


def decline_too_wide(point, closing, scene: TableScene, stroke: float = STROKE) -> Rejection | None:
    """A :data:`TOO_WIDE` rejection when the sensed object under the jaws is wider across them than the stroke.

    Args:
        point: (3,) the candidate's grasp point in ``base_link``, m.
        closing: (3,) its jaw closing direction in ``base_link`` (projected into the table plane here).
        scene: the frame's :class:`grasp_core.tabletop.TableScene`.
        stroke: the gripper's full opening, m.

    The object is the region of ``scene`` at the grasp point (:meth:`TableScene.region_near`); its
    width is measured along the closing direction through the point
    (:func:`grasp_core.tabletop.width_across`) and compared with ``stroke`` less the jaws' clearance
    (:func:`grasp_core.tabletop.too_wide`). None when it fits, when the closing direction is (nearly)
    vertical, or when no region lies under the grasp (the other checks judge that candidate).
    """
    p, c = np.asarray(point, dtype=np.float64)[:2], np.asarray(closing, dtype=np.float64)[:2]
    region = scene.region_near(p)
    if region is None or float(np.linalg.norm(c)) < 0.3 or not np.all(np.isfinite(p)):
        return None
    w = width_across(region, p, c)
    if not too_wide(w, stroke):
        return None
    return Rejection(f"the object under the jaws is {w * 1000:.0f} mm wide across them; the gripper opens "
                     f"{stroke * 1000:.0f} mm", TOO_WIDE)


#: Rejection code of a candidate that is not of the requested class (:func:`select_class`).
WRONG_CLASS = "wrong_class"


def no_class_message(target_class: str) -> str:
    """The result message of a targeted pick that found no candidate of ``target_class``."""
    return f"no {target_class} on the table"


def select_class(candidates, target_class: str, min_confidence: float = 0.0) -> list:
    """The candidates of the requested object class, in their input order.

    Args:
        candidates: iterable of objects with ``shape_label`` (str) and ``shape_confidence`` (float in
            [0, 1]) attributes, e.g. ``grasp_interfaces/GraspCandidate`` messages (the fields a shape
            classifier or a segmenting detector fills).
        target_class: the class to keep; ``""`` keeps every candidate (no targeting).
        min_confidence: a candidate of the class is kept only when its ``shape_confidence`` is at least this.

    Returns:
        list of the kept candidates. An unlabelled candidate (``shape_label == ""``) never matches a
        non-empty ``target_class``; a NaN confidence never passes. The comparison is exact (case-sensitive).
    """
    cands = list(candidates)
    if not target_class:
        return cands
    return [c for c in cands if c.shape_label == target_class
            and float(c.shape_confidence) >= min_confidence]  # NaN >= x is False


def confirmed_by_previous(positions: np.ndarray, previous: np.ndarray, max_distance: float) -> np.ndarray:
    """Which candidates of a class the previous frame confirms: the previous frame held a candidate of the
    same class within ``max_distance`` of each (a label must hold over two frames before the arm acts on
    it: one frame's mislabel, e.g. of an object still moving after a neighbour's pick, picks nothing).

    Args:
        positions: (N, 3) float grasp positions of this frame's candidates of the class, m, one frame (the
            camera's optical frame).
        previous: (M, 3) the previous frame's candidates of the class, the same frame; M may be 0.
        max_distance: m.

    Returns:
        (N,) bool. NaN positions are never confirmed.
    """
    p = np.asarray(positions, np.float64).reshape(-1, 3)
    q = np.asarray(previous, np.float64).reshape(-1, 3)
    if len(p) == 0 or len(q) == 0:
        return np.zeros(len(p), bool)
    d = np.linalg.norm(p[:, None, :] - q[None, :, :], axis=2)
    return np.nan_to_num(d, nan=np.inf).min(axis=1) <= max_distance


@dataclass(frozen=True)
class LoopPolicy:
    """When the automatic mode stops (:class:`PickLoop`).

    Attributes:
        max_empty_frames: consecutive fresh frames without a valid candidate (3).
        max_consecutive_failures: failed picks in a row (3).
        max_attempts: attempts in all; 0 = no limit (0).
    """

    max_empty_frames: int = 3
    max_consecutive_failures: int = 3
    max_attempts: int = 0


@dataclass(frozen=True)
class Choice:
    """What :class:`PickLoop`'s ``choose`` found in one frame: a target (or None) and the rejections;
    ``no_class``: the object class that was asked for when the frame held no candidate of it ("" otherwise)."""

    target: object | None
    rejections: list = field(default_factory=list)
    n_candidates: int = 0
    no_class: str = ""


class PickLoop:
    """The automatic mode, written once: pick until the table is clear or too many failures.

    The executor node (frames = fresh ``/grasp_candidates`` messages, waited for on an event) and
    :func:`clear_table` (frames rendered by the simulated cell) both drive this class; it owns
    the stop policy and the stop reasons:

    * ``no fresh candidates within T s`` — ``next_frame`` returned None;
    * with ``remaining`` (the scene is judged; issue 13, item 7), after ``max_empty_frames`` frames
      in a row without a valid target: ``objects remain: N regions without a safe grasp (K rejected,
      last: codes)`` when ``remaining(frame)`` counts N > 0 regions standing above the table, else
      ``table clear (nothing above the table in the pick area)``;
    * without it, the older judgement from the candidates alone: ``table clear (N frames without a
      candidate)`` — those frames had no candidate at all; ``no valid candidate in N frames (K rejected,
      last: codes)`` — they had candidates, all rejected;
    * ``N consecutive failed picks``; ``N attempt(s) made``; ``stopped: <why>`` (``stop()``);
    * a frame whose candidates were all refused as stale says nothing about the scene (a detector warming
      up, a slow fallback): it does not count towards ``max_empty_frames``; :attr:`MAX_STALE_FRAMES` of them
      in a row end the loop with ``candidates too old in N frames in a row (last: <reason>)``.

    Args:
        next_frame: () → a frame, or None when none came in time (ends the loop). Blocking.
        choose: (frame) → :class:`Choice`.
        execute: (frame, target) → bool, whether the pick succeeded. Blocking.
        policy: :class:`LoopPolicy`.
        after_empty: optional (frame) → None, called after a frame without a valid target
            (the simulated cell lets time pass; the node asks for a newer frame).
        timeout_s: only for the "no fresh candidates" reason.
        remaining: optional (frame) → int, the regions standing above the table in that frame
            (:func:`grasp_core.tabletop.table_regions`), or None when that frame's depth is not at
            hand; judges "table clear" from the scene (None: from the candidates, as without it).

    Attributes:
        attempts: number of picks executed. stop_reason: why :meth:`run` returned.
        last_choice: the :class:`Choice` of the last frame looked at (None before the first).
    """

    def __init__(self, next_frame, choose, execute, policy: LoopPolicy | None = None, after_empty=None,
                 timeout_s: float = math.nan, remaining=None) -> None:
        self.next_frame, self.choose, self.execute = next_frame, choose, execute
        self.remaining = remaining
        self.policy = policy or LoopPolicy()
        self.after_empty = after_empty
        self.timeout_s = float(timeout_s)
        self.attempts = 0
        self.stop_reason = ""
        self.last_choice: Choice | None = None
        self._stop = ""

    #: consecutive frames with only stale candidates before the loop gives up (see the class docstring)
    MAX_STALE_FRAMES = 10

    def stop(self, why: str) -> None:
        """Ask :meth:`run` to return before its next frame (thread-safe)."""
        self._stop = why or "stop requested"

    def run(self) -> str:
        """Run until a stop condition (class docstring); returns the stop reason (also in ``stop_reason``)."""
        pol = self.policy
        failures = empty = rejected_total = stale = 0
        last_codes: list[str] = []
        while True:
            if self._stop:
                return self._end(f"stopped: {self._stop}")
            if pol.max_attempts and self.attempts >= pol.max_attempts:
                return self._end(f"{pol.max_attempts} attempt(s) made")
            frame = self.next_frame()
            if frame is None:
                if self._stop:
                    return self._end(f"stopped: {self._stop}")
                return self._end(f"no fresh candidates within {self.timeout_s:.0f} s")
            choice = self.last_choice = self.choose(frame)
            if choice.target is None and choice.rejections and all(r.code == STALE for r in choice.rejections):
                stale += 1
                if stale >= self.MAX_STALE_FRAMES:
                    return self._end(f"candidates too old in {stale} frames in a row (last: "
                                     f"{choice.rejections[-1].reason})")
                if self.after_empty is not None:
                    self.after_empty(frame)
                continue
            stale = 0
            if choice.target is None:
                empty += 1
                rejected_total += len(choice.rejections)
                if choice.rejections:
                    last_codes = sorted({r.code for r in choice.rejections})
                if empty >= pol.max_empty_frames:
                    n_left = self.remaining(frame) if self.remaining is not None else None
                    if n_left is not None:
                        n_left = int(n_left)
                        if n_left == 0:
                            return self._end("table clear (nothing above the table in the pick area)")
                        why = (f"{rejected_total} rejected, last: {', '.join(last_codes)}" if rejected_total
                               else "no candidate")
                        return self._end(f"objects remain: {n_left} regions without a safe grasp ({why})")
                    if rejected_total == 0:
                        return self._end(f"table clear ({empty} frames without a candidate)")
                    return self._end(f"no valid candidate in {empty} frames ({rejected_total} rejected, last: "
                                     f"{', '.join(last_codes)})")
                if self.after_empty is not None:
                    self.after_empty(frame)
                continue
            empty = rejected_total = 0
            self.attempts += 1
            ok = bool(self.execute(frame, choice.target))
            failures = 0 if ok else failures + 1
            if failures >= pol.max_consecutive_failures:
                return self._end(f"{failures} consecutive failed picks")

    def _end(self, reason: str) -> str:
        self.stop_reason = reason
        return reason


def clear_table(cell, detector: GraspDetector, settings: Settings, extrinsics, max_attempts: int,
                on_attempt=None) -> tuple[list[AttemptRecord], str]:
    """The executor's automatic mode (:class:`PickLoop`) on the simulated cell, ROS-free.

    As the node: with ``settings.go_home_between_picks`` false a placed pick ends over the bin and the
    next frame is taken there when the arm is out of the camera's view (:func:`grasp_core.motion.arm_in_view`);
    a failed pick recovers to home.

    Args:
        cell: a reset :class:`grasp_core.sim.SimCell` (arm at home).
        detector: the grasp detector.
        settings: detector/executor settings.
        extrinsics: :class:`grasp_core.robot.Extrinsics` the executor uses (the hand-eye calibration).
        max_attempts: stop after this many attempts.
        on_attempt: optional callback(AttemptRecord).

    Returns:
        (attempt records, why the loop stopped).
    """
    arm, gripper = SimArm(cell, max_tracking_error=settings.max_tracking_error), SimGripper(cell)
    backend = BuiltinBackend(arm, settings.limits, collision=default_cell_checker(layout=cell.config.layout))
    records: list[AttemptRecord] = []
    chosen: dict = {}
    fill = BinFill()  # what this run put in the bin
    cell.step(int(round(0.3 / cell.timestep)))

    def choose(perception: Perception) -> Choice:
        target, idx, rej, _n = choose_target(perception, cell, settings, extrinsics)
        chosen["idx"], chosen["n_rej"] = idx, len(rej)
        cls = settings.target_class
        none_of_class = cls and not select_class(perception.labels, cls, settings.min_class_confidence)
        return Choice(target, rej, len(perception.candidates), no_class=cls if none_of_class else "")

    def execute(perception: Perception, target) -> bool:
        before = set(cell.objects_in_bin())
        t0 = cell.time
        cfg = PickConfig(**{**settings.pick.__dict__, "clock": lambda: cell.time})
        # blended (go_home_between_picks false): a placed pick ends over the bin; the next frame is
        # rendered from there when the arm is out of the camera's view, else the arm goes home first
        result: PickResult = run_pick(target, backend, gripper, cfg, settings.place_joints, settings.home_joints,
                                      return_home=settings.go_home_between_picks, bin_fill=fill)
        cell.step(int(round(0.3 / cell.timestep)))  # let a released object land before scoring
        if result.success and not settings.go_home_between_picks and arm_in_view(
                arm.joint_positions(), extrinsics.matrix, cell.config.layout):
            backend.move_joints(settings.home_joints)
        new = sorted(set(cell.objects_in_bin_after(1.0)) - before)  # ground truth once a released object landed
        g = perception.detection.grasps[_detection_index(perception, chosen["idx"])]
        label = perception.labels[chosen["idx"]].shape_label if perception.labels else ""
        rec = AttemptRecord(result.success, bool(new), result.stage_reached, result.reason, result.cycle_time_s,
                            result.final_opening, (g.u, g.v, g.angle, g.width_px, g.length_px, g.quality),
                            chosen["n_rej"], len(cell.robot_contacts(since=t0)), result.collision, label,
                            object_class(cell.object_spec(new[0]).kind) if new else "")
        records.append(rec)
        if on_attempt is not None:
            on_attempt(rec)
        return result.success

    loop = PickLoop(lambda: perceive(cell, detector, settings), choose, execute,
                    LoopPolicy(settings.max_empty_frames, settings.max_consecutive_failures, max_attempts),
                    after_empty=lambda _f: cell.step(int(round(0.2 / cell.timestep))),
                    remaining=lambda f: len(f.scene) if f.scene is not None else 0)
    stop = loop.run()
    if loop.last_choice is not None and loop.last_choice.no_class:  # as the executor node reports it
        stop = f"{no_class_message(loop.last_choice.no_class)}: {stop}"
    return records, stop


def object_class(kind: str) -> str:
    """The object class name (:data:`grasp_core.datasets.semantic.CLASS_NAMES`) of an object kind."""
    from .datasets.semantic import CLASS_NAMES, class_of_kind

    return CLASS_NAMES[class_of_kind(kind)]


def _detection_index(perception: Perception, cand_index: int) -> int:
    """Index in ``detection.grasps`` of the ``cand_index``-th candidate (candidates skip pose-less grasps)."""
    k = -1
    for i, p in enumerate(perception.detection.poses):
        if p is not None:
            k += 1
            if k == cand_index:
                return i
    raise IndexError(cand_index)


def summarise(records: list[AttemptRecord]) -> dict:
    """success_rate (ground truth placed / attempts), attempts, mean cycle time of successful picks (s),
    collisions (ground-truth unexpected robot contacts over all attempts)."""
    n = len(records)
    ok = [r for r in records if r.placed]
    return {"success_rate": (len(ok) / n) if n else 0.0, "attempts": n,
            "mean_cycle_s": float(np.mean([r.cycle_time_s for r in ok])) if ok else math.nan,
            "collisions": int(sum(r.collisions for r in records)),
            "executor_agrees": (sum(r.success == r.placed for r in records) / n) if n else math.nan}
