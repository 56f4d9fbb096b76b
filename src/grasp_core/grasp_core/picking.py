"""The whole pick loop without ROS: simulated cell → depth → detector → validation → pick sequence.

The same library code the nodes run, composed in one process for benchmarks
(``grasp-sim-bench``) and tests: :class:`grasp_core.sim.SimCell` renders the depth image,
:func:`grasp_core.depth.depth_to_metres` + :func:`grasp_core.depth.inpaint_depth` do what the
camera node does, :class:`grasp_core.inference.GraspDetector` what the detector node does, and
:func:`grasp_core.motion.validate_candidate` + :func:`grasp_core.motion.run_pick` what the executor
node does; :class:`SimArm` and :class:`SimGripper` stand where the ROS node's trajectory topic and
gripper action are. Time is simulation time throughout.

Parameters come from ``config/grasp.yaml`` (the ``grasp_detector`` and ``grasp_executor``
sections) through :func:`settings_from_config`, so the benchmark and the nodes agree.

Ground truth (:meth:`SimCell.object_poses`) is read only to score an attempt, never to choose it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .depth import depth_to_metres, inpaint_depth
from .inference import Detection, GraspDetector
from .motion import (
    HOME_JOINTS,
    PLACE_JOINTS,
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
    Workspace,
    default_cell_checker,
    run_pick,
    validate_candidate,
)


class SimArm:
    """:class:`grasp_core.motion.Arm` on a :class:`grasp_core.sim.SimCell` (steps the physics while it moves).

    Args:
        cell: the simulated cell.
        settle_s: simulated seconds held at the end of every trajectory.
        goal_tolerance: max joint error at the end, rad (as the ROS executor's ``goal_tolerance``).
    """

    def __init__(self, cell, settle_s: float = 0.2, goal_tolerance: float = 0.01) -> None:
        self.cell = cell
        self.settle_s = float(settle_s)
        self.goal_tolerance = float(goal_tolerance)

    def joint_positions(self) -> np.ndarray:
        return self.cell.joint_positions()

    def execute(self, traj: JointTrajectory) -> bool:
        """Follow ``traj`` (cubic Hermite with its velocities), hold ``settle_s``; True when at the end point."""
        self.cell.run_trajectory(np.asarray(traj.times), np.asarray(traj.positions), np.asarray(traj.velocities),
                                 settle=self.settle_s)
        return float(np.max(np.abs(self.cell.joint_positions() - traj.positions[-1]))) <= self.goal_tolerance


class SimGripper:
    """:class:`grasp_core.motion.Gripper` on a :class:`grasp_core.sim.SimCell`: command, step until the fingers stop."""

    def __init__(self, cell, timeout_s: float = 3.0) -> None:
        self.cell = cell
        self.timeout_s = float(timeout_s)

    def command(self, opening: float, max_effort: float) -> GripperResult:
        self.cell.command_gripper(float(opening), float(max_effort) if max_effort > 0 else None)
        t0 = self.cell.time
        while self.cell.time - t0 < self.timeout_s:
            self.cell.step(10)
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


def settings_from_config(path: str | Path) -> Settings:
    """:class:`Settings` from the ``grasp_detector`` and ``grasp_executor`` sections of a parameters file.

    Raises:
        ValueError: the file is unreadable or a value has the wrong type.
    """
    try:
        data = yaml.safe_load(Path(path).read_text())
        det = data.get("grasp_detector", {}).get("ros__parameters", {})
        ex = data.get("grasp_executor", {}).get("ros__parameters", {})
        b = ex.get("builtin", {})
        ws_min, ws_max = ex.get("workspace_min", [0.25, -0.35, -0.02]), ex.get("workspace_max", [0.8, 0.35, 0.25])
        ws = Workspace(*((float(a), float(c)) for a, c in zip(ws_min, ws_max, strict=True)))
        validation = ValidationConfig(
            workspace=ws, max_age_s=float(ex.get("max_age_s", 1.0)), grasp_depth=float(ex.get("grasp_depth", 0.015)),
            min_tcp_z=float(ex.get("min_tcp_z", 0.025)),
            pregrasp_clearance=float(ex.get("pregrasp_clearance", 0.10)),
            lift_height=float(ex.get("lift_height", 0.15)), opening_margin=float(ex.get("opening_margin", 0.02)),
            height_fraction=float(ex.get("height_fraction", 0.5)), table_z=float(ex.get("table_z", 0.0)))
        d = MotionLimits()
        limits = MotionLimits(max_velocity=float(b.get("max_joint_velocity", float(np.min(d.max_velocity)))),
                              max_acceleration=float(b.get("max_joint_acceleration",
                                                           float(np.min(d.max_acceleration)))),
                              max_jerk=float(b.get("max_joint_jerk", float(np.min(d.max_jerk)))),
                              max_linear_speed=float(b.get("max_cartesian_speed", d.max_linear_speed)))
        home, place = list(ex.get("home_joints", [0.0])), list(ex.get("place_joints", [0.0]))
        return Settings(
            top_k=int(det.get("top_k", 5)), min_distance_px=float(det.get("min_distance_px", 20.0)),
            quality_threshold=float(det.get("quality_threshold", 0.1)), validation=validation, limits=limits,
            pick=PickConfig(close_effort=float(ex.get("grip_effort", 100.0)),
                            min_held_opening=float(ex.get("min_held_opening", 0.004))),
            home_joints=np.asarray(home if len(home) == 6 else HOME_JOINTS, dtype=np.float64),
            place_joints=np.asarray(place if len(place) == 6 else PLACE_JOINTS, dtype=np.float64),
            use_depth_collision=bool(ex.get("use_depth_collision", True)),
            max_consecutive_failures=int(ex.get("max_consecutive_failures", 3)),
            max_empty_frames=int(ex.get("max_empty_frames", 3)))
    except (OSError, yaml.YAMLError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot read settings from {path}: {exc}") from exc


@dataclass
class Perception:
    """One camera frame and what the detector made of it."""

    stamp: float
    depth: np.ndarray      # (H, W) float32 m, inpainted (what the detector saw)
    rgb: np.ndarray        # (H, W, 3) uint8
    detection: Detection
    candidates: list[CameraGrasp]
    seconds: float         # wall time of inpainting + detection


def perceive(cell, detector: GraspDetector, settings: Settings) -> Perception:
    """Render a frame, convert and inpaint it like the camera node, detect grasps like the detector node."""
    raw, rgb = cell.render()
    stamp = cell.time
    t0 = time.perf_counter()
    depth = inpaint_depth(depth_to_metres(raw, "32FC1"))
    intr = cell.intrinsics
    det = detector.detect(depth, rgb=rgb if detector.needs_rgb else None, intrinsics=intr, top_k=settings.top_k,
                          min_distance_px=settings.min_distance_px, quality_threshold=settings.quality_threshold)
    cands = [CameraGrasp.from_grasp_pose(p, quality=float(g.quality), frame_id=intr.frame_id, stamp=stamp)
             for g, p in zip(det.grasps, det.poses, strict=True) if p is not None]
    return Perception(stamp, depth, rgb, det, cands, time.perf_counter() - t0)


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


def choose_target(perception: Perception, cell, settings: Settings, extrinsics) -> tuple[GraspTarget | None,
                                                                                          int, list[Rejection], int]:
    """Best valid candidate of the frame: (target or None, its index in the detection, rejections, n rejected)."""
    dmap = None
    if settings.use_depth_collision:
        dmap = DepthCollisionMap.from_depth(perception.depth, cell.intrinsics, cell.t_base_camera)
    rejections: list[Rejection] = []
    q = cell.joint_positions()
    order = sorted(range(len(perception.candidates)), key=lambda i: -perception.candidates[i].quality)
    for i in order:
        res = validate_candidate(perception.candidates[i], extrinsics, q, settings.validation, now=cell.time,
                                 depth_map=dmap)
        if isinstance(res, Rejection):
            rejections.append(res)
            continue
        return res, i, rejections, len(rejections)
    return None, -1, rejections, len(rejections)


def clear_table(cell, detector: GraspDetector, settings: Settings, extrinsics, max_attempts: int,
                on_attempt=None) -> tuple[list[AttemptRecord], str]:
    """The executor's automatic mode, ROS-free: pick until the table is clear or too many failures.

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
    arm, gripper = SimArm(cell), SimGripper(cell)
    backend = BuiltinBackend(arm, settings.limits, collision=default_cell_checker())
    records: list[AttemptRecord] = []
    failures = empty = rejected_total = 0
    cell.step(int(round(0.3 / cell.timestep)))
    while len(records) < max_attempts:
        perception = perceive(cell, detector, settings)
        target, idx, _rej, n_rej = choose_target(perception, cell, settings, extrinsics)
        if target is None:
            empty += 1
            rejected_total += n_rej
            if empty >= settings.max_empty_frames:
                if rejected_total == 0:
                    return records, f"table clear ({empty} frames without a candidate)"
                codes = sorted({r.code for r in _rej})
                return records, (f"no valid candidate in {empty} frames ({rejected_total} rejected, last: "
                                 f"{', '.join(codes)})")
            cell.step(int(round(0.2 / cell.timestep)))
            continue
        empty = rejected_total = 0
        in_bin = len(cell.objects_in_bin())
        cfg = PickConfig(**{**settings.pick.__dict__, "clock": lambda: cell.time})
        result: PickResult = run_pick(target, backend, gripper, cfg, settings.place_joints, settings.home_joints)
        cell.step(int(round(0.3 / cell.timestep)))  # let a released object land before scoring
        placed = len(cell.objects_in_bin()) > in_bin
        g = perception.detection.grasps[_detection_index(perception, idx)]
        rec = AttemptRecord(result.success, placed, result.stage_reached, result.reason, result.cycle_time_s,
                            result.final_opening, (g.u, g.v, g.angle, g.width_px, g.length_px, g.quality), n_rej)
        records.append(rec)
        if on_attempt is not None:
            on_attempt(rec)
        failures = 0 if result.success else failures + 1
        if failures >= settings.max_consecutive_failures:
            return records, f"{failures} consecutive failed picks"
    return records, f"{max_attempts} attempt(s) made"


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
    """success_rate (ground truth placed / attempts), attempts, mean cycle time of successful picks (s)."""
    n = len(records)
    ok = [r for r in records if r.placed]
    return {"success_rate": (len(ok) / n) if n else 0.0, "attempts": n,
            "mean_cycle_s": float(np.mean([r.cycle_time_s for r in ok])) if ok else math.nan,
            "executor_agrees": (sum(r.success == r.placed for r in records) / n) if n else math.nan}
