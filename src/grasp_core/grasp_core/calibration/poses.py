"""Robot poses for a calibration run: joint configurations that show the flange-mounted board to
the fixed camera from varied, well-conditioned orientations (:func:`propose_poses`).

Frames: ``base_link``; T_base_camera the nominal extrinsics, T_tool0_board the mount. Units: m, rad.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera import CameraIntrinsics
from ..robot.transforms import invert_transform, make_transform
from ..robot.ur5 import UR5_JOINT_LIMITS, IKError, JointLimits, forward_kinematics, nearest_solution
from .board import BoardSpec
from .detection import project_board
from .solver import MIN_SAMPLES, _as_poses


@dataclass(frozen=True)
class CalibrationPose:
    """A proposed robot pose: joints (6,) rad, T_base_tool0 (4, 4), expected T_camera_board (4, 4)."""

    q: np.ndarray
    t_base_tool0: np.ndarray
    t_camera_board: np.ndarray


def _rot_about(axis: np.ndarray, angle: float) -> np.ndarray:
    return Rotation.from_rotvec(np.asarray(axis, dtype=np.float64) * angle).as_matrix()


def propose_poses(t_base_camera, intrinsics: CameraIntrinsics, board: BoardSpec, t_tool0_board, n: int,
                  q_start, seed: int = 0, distance: tuple[float, float] = (0.30, 0.42),
                  max_tilt_deg: float = 25.0, yaw_range_deg: float = 30.0, image_margin_px: float = 15.0,
                  min_tool0_height: float = 0.20, limits: JointLimits | None = UR5_JOINT_LIMITS,
                  max_joint_step: float = 2.0, n_candidates: int | None = None) -> list[CalibrationPose]:
    """Well-spread robot poses that show the whole board to the camera (geometry only).

    Board poses are sampled in the camera frame: centre on a ray through the central 60 % of
    the image at ``distance`` m, facing the camera, turned about the optical axis by up to
    ±``yaw_range_deg`` from the yaw that puts the plate on the far side of the tool from the
    robot base (out of the arm's shadow), tilted by up to ``max_tilt_deg`` about a random axis in
    the board plane. Kept when the whole plate projects inside the image (``image_margin_px``),
    tool0 is at least ``min_tool0_height`` m above the table and the UR5 reaches the pose
    (:func:`grasp_core.robot.nearest_solution`). From the kept candidates ``n`` are chosen
    greedily for the largest mutual orientation (deg) + position (cm) distance, then ordered as a
    nearest-neighbour path in joint space from ``q_start``; each IK solution is the one nearest
    the previous pose's joints, and poses needing a joint step above ``max_joint_step`` rad are
    dropped. Occlusion by the arm is not checked (detection tells).

    Args:
        t_base_camera: (4, 4) the camera's pose in ``base_link`` (nominal; a rough value is enough).
        intrinsics: the camera's intrinsics. board: the board. t_tool0_board: (4, 4) the mount (nominal).
        n: poses wanted (≥ 3). q_start: (6,) the arm's current joints, rad. seed: random seed.

    Returns:
        Up to ``n`` :class:`CalibrationPose` (fewer when not enough candidates are reachable).

    Raises:
        ValueError: n < 3, bad ranges or transforms.
    """
    if int(n) < MIN_SAMPLES:
        raise ValueError(f"n must be >= {MIN_SAMPLES}, got {n}")
    lo_d, hi_d = (float(v) for v in distance)
    if not (0 < lo_d <= hi_d):
        raise ValueError(f"distance must be (min, max) with 0 < min <= max m, got {distance}")
    if not (0 <= max_tilt_deg < 80 and 0 <= yaw_range_deg <= 180):
        raise ValueError(f"max_tilt_deg must be in [0, 80) and yaw_range_deg in [0, 180], got "
                         f"{max_tilt_deg}, {yaw_range_deg}")
    tbc = _as_poses([t_base_camera], "t_base_camera")[0]
    ttb = _as_poses([t_tool0_board], "t_tool0_board")[0]
    q_prev = np.asarray(q_start, dtype=np.float64).reshape(-1)
    if q_prev.shape != (6,) or not np.all(np.isfinite(q_prev)):
        raise ValueError(f"q_start must be 6 finite joint positions, got {q_start!r}")
    rng = np.random.default_rng(seed)
    t_board_tool0 = invert_transform(ttb)
    c_b = board.centre
    v_b = c_b - t_board_tool0[:3, 3]  # tool0 → board centre, board frame
    outline = board.outline(with_margin=True)

    def camera_rot(yaw: float, tilt_axis_angle: float, tilt: float) -> np.ndarray:
        axis = np.array([math.cos(tilt_axis_angle), math.sin(tilt_axis_angle), 0.0])
        return _rot_about([0, 0, 1], yaw) @ _rot_about(axis, tilt)

    # the yaw (about the optical axis) that points tool0 → board centre away from the robot base
    centre_ray = np.linalg.solve(intrinsics.K, [intrinsics.cx, intrinsics.cy, 1.0])
    p_view = tbc[:3, :3] @ (centre_ray * (lo_d + hi_d) / 2) + tbc[:3, 3]
    outward = p_view[:2] / max(np.linalg.norm(p_view[:2]), 1e-9)
    yaws = np.linspace(-math.pi, math.pi, 360, endpoint=False)
    score = [float((tbc[:3, :3] @ camera_rot(yw, 0, 0) @ v_b)[:2] @ outward) for yw in yaws]
    yaw0 = float(yaws[int(np.argmax(score))])

    n_cand = int(n_candidates) if n_candidates else 40 * int(n)
    cands: list[tuple[np.ndarray, np.ndarray]] = []  # (T_base_tool0, T_camera_board)
    for k in range(n_cand * 5):
        if len(cands) >= n_cand:
            break
        u = rng.uniform(0.2, 0.8) * intrinsics.width
        v = rng.uniform(0.2, 0.8) * intrinsics.height
        d = rng.uniform(lo_d, hi_d)
        p_c = np.linalg.solve(intrinsics.K, [u, v, 1.0]) * d
        tilt = 0.0 if k == 0 else math.radians(max_tilt_deg) * math.sqrt(rng.uniform(0.1, 1.0))
        r_cb = camera_rot(yaw0 + math.radians(rng.uniform(-yaw_range_deg, yaw_range_deg)),
                          rng.uniform(0, 2 * math.pi), tilt)
        t_cb = make_transform(r_cb, p_c - r_cb @ c_b)
        px = project_board(t_cb, intrinsics, outline)
        z = (outline @ r_cb.T + t_cb[:3, 3])[:, 2]
        m = image_margin_px
        if np.any(z <= 0.05) or np.any(px < m) or np.any(px[:, 0] > intrinsics.width - 1 - m) \
                or np.any(px[:, 1] > intrinsics.height - 1 - m):
            continue
        t_bt = tbc @ t_cb @ t_board_tool0
        if t_bt[2, 3] < min_tool0_height:
            continue
        try:
            nearest_solution(t_bt, q_prev, limits)
        except IKError:
            continue
        cands.append((t_bt, t_cb))
    if len(cands) < MIN_SAMPLES:
        return []

    # greedy farthest-point choice: orientation (deg) + position (cm)
    rots = Rotation.from_matrix(np.array([c[0][:3, :3] for c in cands]))
    pos = np.array([c[0][:3, 3] for c in cands])

    def dist_to(i: int) -> np.ndarray:
        ang = np.degrees((rots[i].inv() * rots).magnitude())
        return ang + 100.0 * np.linalg.norm(pos - pos[i], axis=1)

    chosen = [0]
    dmin = dist_to(0)
    while len(chosen) < min(int(n), len(cands)):
        i = int(np.argmax(dmin))
        if dmin[i] <= 0:
            break
        chosen.append(i)
        dmin = np.minimum(dmin, dist_to(i))

    # nearest-neighbour path in joint space
    out: list[CalibrationPose] = []
    left = list(chosen)
    while left:
        best = None
        for i in left:
            try:
                q = nearest_solution(cands[i][0], q_prev, limits)
            except IKError:
                continue
            step = float(np.max(np.abs(q - q_prev)))
            if best is None or step < best[0]:
                best = (step, i, q)
        if best is None:
            break
        if out and best[0] > max_joint_step:  # the first move (from q_start) may be long
            left.remove(best[1])
            continue
        _, i, q = best
        left.remove(i)
        out.append(CalibrationPose(q, forward_kinematics(q), cands[i][1]))
        q_prev = q
    return out
