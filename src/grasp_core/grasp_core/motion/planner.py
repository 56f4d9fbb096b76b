"""Time-parameterised joint and straight-line Cartesian motions for the UR5 (ROS-free).

* :func:`plan_joint_motion`: free-space point-to-point move in joint space; jerk-limited,
  time-synchronised profile from ruckig (all joints start and stop together).
* :func:`plan_linear_motion`: ``tool0`` along a straight line in ``base_link`` (position linear,
  orientation slerp), a jerk-limited time law on the 1-D path parameter from ruckig, closed-form
  IK at every sample seeded by the previous one; slowed down until the joint velocity and
  acceleration limits hold.

Both return a :class:`~.trajectory.JointTrajectory` sampled every ``limits.dt`` s, starting and
ending at rest, whose first and last samples are exactly the start and goal. Neither checks
collisions (:mod:`.collision` does).

Units: s, rad, m. Frames: ``base_link`` (see :mod:`grasp_core.robot.ur5`).
"""
from __future__ import annotations

import math

import numpy as np
import ruckig
from scipy.spatial.transform import Rotation, Slerp

from ..robot import IKError, forward_kinematics, nearest_solution
from .trajectory import JointTrajectory, MotionLimits, PlanningError

_RUCKIG_OK = (ruckig.Result.Working, ruckig.Result.Finished)


def _check_q(q, name: str) -> np.ndarray:
    arr = np.asarray(q, dtype=np.float64).reshape(-1)
    if arr.shape != (6,) or not np.all(np.isfinite(arr)):
        raise PlanningError(f"{name} must be 6 finite joint positions (rad), got {q!r}")
    return arr


def _check_within(q: np.ndarray, limits: MotionLimits, name: str) -> None:
    if not limits.position_limits.within(q, tol=1e-9):
        raise PlanningError(f"{name} {np.round(q, 4).tolist()} rad is outside the joint position limits")


def _ruckig_samples(start, goal, vmax, amax, jmax, dt: float):
    """Rest-to-rest, time-synchronised ruckig profile from ``start`` to ``goal`` (n-DOF), sampled at dt.

    Returns (times (N,), positions (N, n), velocities (N, n), accelerations (N, n)); the last sample
    is at the exact duration, at ``goal`` and at rest.
    """
    start = np.asarray(start, dtype=np.float64).reshape(-1)
    goal = np.asarray(goal, dtype=np.float64).reshape(-1)
    n = len(start)
    inp = ruckig.InputParameter(n)
    inp.current_position = start.tolist()
    inp.current_velocity = [0.0] * n
    inp.current_acceleration = [0.0] * n
    inp.target_position = goal.tolist()
    inp.target_velocity = [0.0] * n
    inp.target_acceleration = [0.0] * n
    inp.max_velocity = np.broadcast_to(vmax, (n,)).tolist()
    inp.max_acceleration = np.broadcast_to(amax, (n,)).tolist()
    inp.max_jerk = np.broadcast_to(jmax, (n,)).tolist()
    inp.synchronization = ruckig.Synchronization.Time
    traj = ruckig.Trajectory(n)
    result = ruckig.Ruckig(n).calculate(inp, traj)
    if result not in _RUCKIG_OK:
        raise PlanningError(f"ruckig could not compute a trajectory: {result}")
    duration = float(traj.duration)
    times = np.arange(0.0, duration, dt)
    if len(times) > 1 and duration - times[-1] < 1e-6:  # no near-zero last interval
        times = times[:-1]
    times = np.append(times, duration)
    if len(times) < 2 or times[-1] <= times[-2]:
        times = np.array([0.0, max(duration, dt)])
    pos = np.empty((len(times), n))
    vel = np.empty_like(pos)
    acc = np.empty_like(pos)
    for k, t in enumerate(times[:-1]):
        p, v, a = traj.at_time(float(t))
        pos[k], vel[k], acc[k] = p, v, a
    pos[0], vel[0], acc[0] = start, 0.0, 0.0
    pos[-1], vel[-1], acc[-1] = goal, 0.0, 0.0
    return times, pos, vel, acc


def plan_joint_motion(q_start, q_goal, limits: MotionLimits | None = None) -> JointTrajectory:
    """Free-space move from ``q_start`` to ``q_goal``, jerk-limited and time-synchronised (ruckig).

    Args:
        q_start: (6,) start joint positions, rad (the arm is assumed at rest there).
        q_goal: (6,) goal joint positions, rad.
        limits: velocity / acceleration / jerk limits, sample period and position limits
            (default :class:`MotionLimits`).

    Returns:
        :class:`JointTrajectory` sampled every ``limits.dt`` s (the last interval may be shorter),
        positions[0] = q_start, positions[-1] = q_goal exactly, zero velocity and acceleration at
        both ends, |velocity| ≤ max_velocity and |acceleration| ≤ max_acceleration per joint. A goal
        equal to the start gives a two-sample stationary trajectory.

    Raises:
        PlanningError: non-finite or wrongly shaped inputs, start or goal outside the position
            limits, or a ruckig failure.
    """
    limits = limits or MotionLimits()
    q0 = _check_q(q_start, "q_start")
    q1 = _check_q(q_goal, "q_goal")
    _check_within(q0, limits, "q_start")
    _check_within(q1, limits, "q_goal")
    if np.max(np.abs(q1 - q0)) < 1e-9:
        return JointTrajectory.stationary(q1, limits.dt)
    times, pos, vel, acc = _ruckig_samples(q0, q1, limits.max_velocity, limits.max_acceleration, limits.max_jerk,
                                           limits.dt)
    return JointTrajectory(times, pos, vel, acc)


def _rotation_angle(r0: np.ndarray, r1: np.ndarray) -> float:
    c = (np.trace(r0.T @ r1) - 1.0) / 2.0
    return float(math.acos(min(1.0, max(-1.0, c))))


def _increasing(u: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Indices of a strictly increasing subsequence of ``u`` (N,) with its first and last samples.

    A sample not above the last kept one by more than ``eps`` is dropped; the last sample replaces
    the kept one before it when they coincide (the end of the path stays at its exact duration).
    """
    keep = [0]
    for k in range(1, len(u)):
        if u[k] - u[keep[-1]] > eps:
            keep.append(k)
        elif k == len(u) - 1 and len(keep) > 1:
            keep[-1] = k
    return np.asarray(keep)


def plan_linear_motion(q_start, t_goal_tool0, limits: MotionLimits | None = None, *,
                       max_slowdowns: int = 10, min_speed_fraction: float = 0.02) -> JointTrajectory:
    """Straight-line Cartesian move of ``tool0`` from FK(q_start) to ``t_goal_tool0`` (``base_link``).

    Path: position p(u) = p0 + u·(p1 − p0), orientation R(u) = slerp(R0, R1, u), u ∈ [0, 1].
    Path length S = max(|p1 − p0|, angle(R0ᵀR1)·rotation_radius) (m). Time law: ruckig rest-to-rest
    profile of s = u·S with ``max_linear_speed``, ``max_linear_acceleration`` and ``max_linear_jerk``,
    sampled every ``dt``. At every sample the IK solution nearest to the previous sample (within the
    position limits) is taken. Joint velocities are q'(u)·u̇ and accelerations q''(u)·u̇² + q'(u)·ü,
    with q'(u), q''(u) by finite differences over the samples and u̇, ü from the time law. When a joint
    would exceed its velocity or acceleration limit the time law is slowed down by the violation
    ratio and the path re-sampled (at most ``max_slowdowns`` times).

    Args:
        q_start: (6,) current joint positions, rad (at rest).
        t_goal_tool0: (4, 4) goal pose of ``tool0`` in ``base_link``, m.
        limits: :class:`MotionLimits` (default).
        max_slowdowns: re-timing attempts before giving up.
        min_speed_fraction: fail rather than move slower than this fraction of ``max_linear_speed``
            (a straight line through a near-singular configuration).

    Returns:
        :class:`JointTrajectory`; positions[0] = q_start, FK(positions[-1]) = goal (to IK precision),
        at rest at both ends. A goal equal to the current pose gives a stationary trajectory.

    Raises:
        PlanningError: bad inputs, start outside the limits, IK failure along the line (out of reach
            or outside the joint limits), a joint jumping more than ``max_joint_step`` between samples
            (configuration flip), or limits still violated after ``max_slowdowns`` re-timings / below
            ``min_speed_fraction``.
    """
    limits = limits or MotionLimits()
    q0 = _check_q(q_start, "q_start")
    _check_within(q0, limits, "q_start")
    t1 = np.asarray(t_goal_tool0, dtype=np.float64)
    if t1.shape != (4, 4) or not np.all(np.isfinite(t1)):
        raise PlanningError(f"goal must be a finite (4, 4) transform, got shape {t1.shape}")
    r1 = t1[:3, :3]
    if not np.allclose(r1.T @ r1, np.eye(3), atol=1e-6) or np.linalg.det(r1) < 0:
        raise PlanningError("goal rotation is not a proper rotation matrix")
    t0 = forward_kinematics(q0)
    p0, p1 = t0[:3, 3], t1[:3, 3]
    r0 = t0[:3, :3]
    length = max(float(np.linalg.norm(p1 - p0)), _rotation_angle(r0, r1) * limits.rotation_radius)
    if length < 1e-7:
        return JointTrajectory.stationary(q0, limits.dt)
    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([r0, r1])))

    v_s, a_s, j_s = limits.max_linear_speed, limits.max_linear_acceleration, limits.max_linear_jerk
    ratio_v = ratio_a = math.inf
    for _attempt in range(max_slowdowns + 1):
        times, s, sd, sdd = _ruckig_samples([0.0], [length], v_s, a_s, j_s, limits.dt)
        u = np.clip(s[:, 0] / length, 0.0, 1.0)
        u[0], u[-1] = 0.0, 1.0
        keep = _increasing(u)  # q'(u) by differences needs distinct u: ruckig's s can reach S early
        times, u, sd, sdd = times[keep], u[keep], sd[keep], sdd[keep]
        ud, udd = sd[:, 0] / length, sdd[:, 0] / length
        rots = slerp(u).as_matrix()
        q = np.empty((len(u), 6))
        q[0] = q0
        for k in range(1, len(u)):
            pose = np.eye(4)
            pose[:3, :3] = rots[k]
            pose[:3, 3] = p0 + u[k] * (p1 - p0)
            try:
                q[k] = nearest_solution(pose, q[k - 1], limits.position_limits)
            except IKError as exc:
                raise PlanningError(f"straight line to {np.round(p1, 4).tolist()} m leaves the reachable "
                                    f"workspace at {100 * u[k]:.0f}% ({np.round(pose[:3, 3], 4).tolist()} m): "
                                    f"{exc}") from exc
            step = np.abs(q[k] - q[k - 1])
            if np.max(step) > limits.max_joint_step:
                j = int(np.argmax(step))
                raise PlanningError(f"configuration flip on the straight line at {100 * u[k]:.0f}%: "
                                    f"{limits.position_limits.names[j]} jumps {step[j]:.3f} rad between samples "
                                    f"(> {limits.max_joint_step} rad)")
        dq = np.gradient(q, u, axis=0, edge_order=1)
        ddq = np.gradient(dq, u, axis=0, edge_order=1)
        vel = dq * ud[:, None]
        acc = ddq * (ud**2)[:, None] + dq * udd[:, None]
        vel[0] = vel[-1] = acc[0] = acc[-1] = 0.0
        ratio_v = float(np.max(np.abs(vel) / limits.max_velocity))
        ratio_a = float(np.max(np.abs(acc) / limits.max_acceleration))
        if not (math.isfinite(ratio_v) and math.isfinite(ratio_a)):
            raise PlanningError(f"straight line to {np.round(p1, 4).tolist()} m: joint rates are not finite")
        if ratio_v <= 1.0 and ratio_a <= 1.0:
            return JointTrajectory(times, q, vel, acc)
        if ratio_v > 1.0:
            v_s /= ratio_v * 1.02
            a_s /= ratio_v * 1.02
            j_s /= ratio_v * 1.02
        if ratio_a > 1.0:
            a_s /= ratio_a * 1.02
            j_s /= ratio_a * 1.02
        if v_s < min_speed_fraction * limits.max_linear_speed:
            break
    raise PlanningError(f"straight line to {np.round(p1, 4).tolist()} m needs joint speeds {ratio_v:.2f}x / "
                        f"accelerations {ratio_a:.2f}x the limits even when slowed down (near a singularity?)")


def check_linear_path(q_start, t_goal_tool0, limits: MotionLimits | None = None, *, step: float = 0.01,
                      min_speed_fraction: float = 0.02) -> np.ndarray:
    """Geometric feasibility of the straight line of :func:`plan_linear_motion`, without timing (fast).

    IK (nearest to the previous) every ``step`` m of path length (the same path as
    :func:`plan_linear_motion`); fails on an IK failure, a joint changing by more than
    ``limits.max_joint_step`` over one step, or a path so near a singularity that
    :func:`plan_linear_motion` would have to run slower than ``min_speed_fraction`` of
    ``max_linear_speed`` (joint rate per metre × linear speed > max_velocity / fraction).

    Args:
        q_start: (6,) joints, rad. t_goal_tool0: (4, 4) goal of tool0 in ``base_link``.
        limits: :class:`MotionLimits` (default). step: path step, m.

    Returns:
        (6,) float64 joints at the goal, rad.

    Raises:
        PlanningError: as above, or bad inputs.
    """
    limits = limits or MotionLimits()
    q0 = _check_q(q_start, "q_start")
    _check_within(q0, limits, "q_start")
    t1 = np.asarray(t_goal_tool0, dtype=np.float64)
    if t1.shape != (4, 4) or not np.all(np.isfinite(t1)):
        raise PlanningError(f"goal must be a finite (4, 4) transform, got shape {t1.shape}")
    t0 = forward_kinematics(q0)
    p0, p1 = t0[:3, 3], t1[:3, 3]
    length = max(float(np.linalg.norm(p1 - p0)), _rotation_angle(t0[:3, :3], t1[:3, :3]) * limits.rotation_radius)
    if length < 1e-7:
        return q0
    try:
        slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([t0[:3, :3], t1[:3, :3]])))
    except ValueError as exc:
        raise PlanningError(f"goal rotation is not a rotation matrix: {exc}") from exc
    n = max(1, int(math.ceil(length / step)))
    u = np.linspace(0.0, 1.0, n + 1)
    rots = slerp(u).as_matrix()
    q = q0
    worst = 0.0
    for k in range(1, n + 1):
        pose = np.eye(4)
        pose[:3, :3] = rots[k]
        pose[:3, 3] = p0 + u[k] * (p1 - p0)
        try:
            q_next = nearest_solution(pose, q, limits.position_limits)
        except IKError as exc:
            raise PlanningError(f"straight line to {np.round(p1, 4).tolist()} m leaves the reachable workspace at "
                                f"{100 * u[k]:.0f}%: {exc}") from exc
        dq = np.abs(q_next - q)
        if np.max(dq) > limits.max_joint_step:
            j = int(np.argmax(dq))
            raise PlanningError(f"configuration flip on the straight line at {100 * u[k]:.0f}%: "
                                f"{limits.position_limits.names[j]} jumps {dq[j]:.3f} rad over {length / n:.4f} m")
        worst = max(worst, float(np.max(dq / (length / n) * limits.max_linear_speed / limits.max_velocity)))
        q = q_next
    if worst > 1.0 / min_speed_fraction:
        raise PlanningError(f"straight line to {np.round(p1, 4).tolist()} m passes too near a singularity "
                            f"(joint rates {worst:.0f}x the limits at full linear speed)")
    return q
