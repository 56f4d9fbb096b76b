"""grasp_core.motion: trajectories, ruckig/Cartesian planning, collision checks, candidate validation, pick sequence."""
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from grasp_core.camera import CameraIntrinsics
from grasp_core.layout import CELL_LAYOUT
from grasp_core.motion import (
    BIN_CENTER,
    BIN_INNER,
    HOME_JOINTS,
    PLACE_JOINTS,
    STAGES,
    BinFill,
    BuiltinBackend,
    CameraGrasp,
    CandidateRejected,
    CellCollisionChecker,
    DepthCollisionMap,
    FingerGeometry,
    GraspTarget,
    GripperResult,
    HeightMap,
    JointTrajectory,
    MotionLimits,
    PickConfig,
    PlanningError,
    Rejection,
    ValidationConfig,
    Workspace,
    arm_in_view,
    bin_walls,
    check_linear_path,
    default_cell_checker,
    in_view_cone,
    link_points,
    place_plan,
    plan_joint_motion,
    plan_linear_motion,
    run_pick,
    validate_candidate,
    validate_or_raise,
)
from grasp_core.motion.validation import THIN_PAD_CONTACT
from grasp_core.robot import (
    STROKE,
    TCP_OFFSET,
    JointLimits,
    flip_jaws,
    forward_kinematics,
    link_frames,
    load_extrinsics,
    make_transform,
    nearest_solution,
)
from grasp_core.robot.arm import ARM_PARTS, arm_distance, arm_surface_points, link_poses
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[1]
EXTRINSICS = REPO / "config" / "camera_extrinsics.yaml"
DOWN = np.diag([1.0, -1.0, -1.0])  # tool0 z pointing down, x along base x


def top_down(x, y, z, yaw=0.0):
    """tool0 pose pointing down at (x, y, z), rotated by yaw about the vertical."""
    return make_transform(Rotation.from_euler("z", yaw).as_matrix() @ DOWN, [x, y, z])


def pose_error(ta, tb):
    c = np.clip((np.trace(ta[:3, :3].T @ tb[:3, :3]) - 1) / 2, -1, 1)
    return float(np.linalg.norm(ta[:3, 3] - tb[:3, 3])), math.acos(c)


# ------------------------------------------------------------------------------------------ robot helpers

def test_nearest_solution_round_trip_with_lab_limits():
    """FK∘IK = identity over random reachable poses, with solutions inside tighter (±π, elbow ±2.8) limits."""
    limits = JointLimits(lower=np.array([-math.pi, -math.pi, -2.8, -math.pi, -math.pi, -math.pi]),
                         upper=np.array([math.pi, 0.0, 2.8, math.pi, math.pi, math.pi]))
    rng = np.random.default_rng(3)
    n = 0
    while n < 250:
        q = rng.uniform(limits.lower, limits.upper)
        t = forward_kinematics(q)
        seed = q + rng.normal(0, 0.3, 6)
        sol = nearest_solution(t, seed, limits)
        dp, dr = pose_error(forward_kinematics(sol), t)
        assert dp < 1e-6 and dr < 1e-6
        assert limits.within(sol)
        # the generating configuration is a candidate, so the chosen one is at least as near the seed
        assert np.linalg.norm(sol - seed) <= np.linalg.norm(q - seed) + 1e-6
        n += 1


def test_link_frames_chain_ends_at_tool0():
    q = np.array([0.3, -1.2, 1.5, -0.4, 1.1, 2.0])
    frames = link_frames(q)
    assert frames.shape == (7, 4, 4)
    np.testing.assert_allclose(frames[6], forward_kinematics(q), atol=1e-12)
    np.testing.assert_allclose(frames[1][:3, 3], [0, 0, 0.089159], atol=1e-12)
    pts = link_points(q, spacing=0.05)
    assert pts.shape[1] == 3 and np.max(np.linalg.norm(np.diff(pts, axis=0), axis=1)) <= 0.05 + 1e-9


# ------------------------------------------------------------------------------------------ trajectories

def test_joint_trajectory_validation_and_sampling():
    t = np.array([0.0, 0.5, 1.0])
    q = np.array([[0.0] * 6, [0.5] * 6, [1.0] * 6])
    v = np.array([[0.0] * 6, [1.0] * 6, [0.0] * 6])
    traj = JointTrajectory(t, q, v, np.zeros((3, 6)))
    assert traj.duration == 1.0 and len(traj) == 3
    p, vel, _ = traj.sample(0.5)
    np.testing.assert_allclose(p, 0.5)
    np.testing.assert_allclose(vel, 1.0)
    np.testing.assert_allclose(traj.sample(5.0)[0], 1.0)  # clamped
    with pytest.raises(ValueError, match="strictly increasing"):
        JointTrajectory(np.array([0.0, 0.5, 0.5]), q, v, np.zeros((3, 6)))
    with pytest.raises(ValueError, match="non-finite"):
        JointTrajectory(t, np.where(q > 0.9, np.nan, q), v, np.zeros((3, 6)))
    with pytest.raises(ValueError, match="shape"):
        JointTrajectory(t, q[:, :5], v, np.zeros((3, 6)))
    with pytest.raises(ValueError, match="start at 0"):
        JointTrajectory(t + 1, q, v, np.zeros((3, 6)))
    with pytest.raises(ValueError):
        MotionLimits(max_velocity=-1.0)


def test_joint_motion_respects_limits_and_hits_endpoints():
    rng = np.random.default_rng(0)
    limits = MotionLimits(max_velocity=[1.0, 1.0, 1.2, 1.5, 1.5, 2.0], max_acceleration=2.0, max_jerk=15.0)
    for _ in range(20):
        q0 = rng.uniform(-2.5, 2.5, 6)
        q1 = rng.uniform(-2.5, 2.5, 6)
        traj = plan_joint_motion(q0, q1, limits)
        np.testing.assert_array_equal(traj.positions[0], q0)
        np.testing.assert_array_equal(traj.positions[-1], q1)
        np.testing.assert_array_equal(traj.velocities[[0, -1]], 0.0)
        assert np.all(np.abs(traj.velocities) <= limits.max_velocity + 1e-9)
        assert np.all(np.abs(traj.accelerations) <= limits.max_acceleration + 1e-9)
        assert np.all(np.diff(traj.times) <= limits.dt + 1e-6)
        # the limit is actually used (time-optimal for the slowest joint), and positions are consistent
        assert np.max(np.abs(traj.velocities) / limits.max_velocity) > 0.5
        integ = q0 + np.concatenate([[np.zeros(6)], np.cumsum(
            0.5 * (traj.velocities[1:] + traj.velocities[:-1]) * np.diff(traj.times)[:, None], axis=0)])
        np.testing.assert_allclose(integ, traj.positions, atol=2e-3)
    still = plan_joint_motion(np.zeros(6), np.zeros(6), limits)
    assert still.duration > 0 and np.all(still.positions == 0)
    with pytest.raises(PlanningError, match="limits"):
        plan_joint_motion(np.zeros(6), [0, 0, 4.0, 0, 0, 0], limits)
    with pytest.raises(PlanningError):
        plan_joint_motion(np.zeros(6), [np.nan] * 6, limits)


def _distance_to_segment(p, a, b):
    d = b - a
    lam = np.clip((p - a) @ d / (d @ d), 0, 1)
    return np.linalg.norm(p - (a + lam[:, None] * d), axis=1)


@pytest.mark.parametrize("goal_offset, yaw", [((0.0, 0.0, -0.085), 0.0), ((0.08, -0.1, 0.05), 0.6)])
def test_linear_motion_keeps_tool0_on_the_line(goal_offset, yaw):
    limits = MotionLimits()
    q0 = nearest_solution(top_down(0.5, 0.0, 0.26), HOME_JOINTS)
    t0 = forward_kinematics(q0)
    goal = top_down(0.5 + goal_offset[0], goal_offset[1], 0.26 + goal_offset[2], yaw)
    traj = plan_linear_motion(q0, goal, limits)
    np.testing.assert_array_equal(traj.positions[0], q0)
    dp, dr = pose_error(forward_kinematics(traj.positions[-1]), goal)
    assert dp < 1e-6 and dr < 1e-6
    # every sample, and the executor's interpolation between samples, stays within 1 mm of the line
    fine = np.linspace(0, traj.duration, 4 * len(traj))
    qs = np.concatenate([traj.positions, [traj.sample(t)[0] for t in fine]])
    pts = np.array([forward_kinematics(q)[:3, 3] for q in qs])
    assert np.max(_distance_to_segment(pts, t0[:3, 3], goal[:3, 3])) < 1e-3
    assert np.all(np.abs(traj.velocities) <= limits.max_velocity + 1e-9)
    assert np.all(np.abs(traj.accelerations) <= limits.max_acceleration + 1e-9)
    speed = np.linalg.norm(np.diff(pts[:len(traj)], axis=0), axis=1) / np.diff(traj.times)
    assert np.max(speed) <= limits.max_linear_speed * 1.02
    assert np.max(np.abs(np.diff(traj.positions, axis=0))) < limits.max_joint_step


def test_linear_motion_slows_down_for_joint_velocity_limits():
    q0 = nearest_solution(top_down(0.5, 0.0, 0.26), HOME_JOINTS)
    goal = top_down(0.5, 0.0, 0.26, yaw=1.2)  # a pure wrist rotation: joint 6 turns 1.2 rad
    fast = plan_linear_motion(q0, goal, MotionLimits(max_velocity=2.0, max_acceleration=4.0))
    slow_limits = MotionLimits(max_velocity=0.3, max_acceleration=0.6)
    slow = plan_linear_motion(q0, goal, slow_limits)
    assert slow.duration > fast.duration * 2
    assert np.all(np.abs(slow.velocities) <= 0.3 + 1e-9)
    assert np.all(np.abs(slow.accelerations) <= 0.6 + 1e-9)
    assert pose_error(forward_kinematics(slow.positions[-1]), goal)[1] < 1e-6


def test_linear_motion_when_the_time_law_reaches_the_end_early(monkeypatch):
    """ruckig's s can reach S (u = 1 after clipping) before the last sample: q'(u) must stay finite.

    Seen in the cell: a lift failed with "joint speeds nanx" (0/0 in the finite differences).
    """
    from grasp_core.motion import planner

    real = planner._ruckig_samples

    def reaches_early(*args):
        times, s, sd, sdd = real(*args)
        s = s.copy()
        s[-3:-1] = s[-1] * (1 + 1e-12)  # overshoots by rounding, clipped to u = 1
        s[1] = s[0]  # and a repeated first sample
        return times, s, sd, sdd

    monkeypatch.setattr(planner, "_ruckig_samples", reaches_early)
    q0 = nearest_solution(top_down(0.5, 0.0, 0.26), HOME_JOINTS)
    goal = top_down(0.5, 0.0, 0.36)
    traj = plan_linear_motion(q0, goal)
    assert np.all(np.isfinite(traj.velocities)) and np.all(np.isfinite(traj.accelerations))
    assert np.all(np.diff(traj.times) > 0)
    assert pose_error(forward_kinematics(traj.positions[-1]), goal)[0] < 1e-6
    np.testing.assert_array_equal(planner._increasing(np.array([0.0, 0.0, 0.3, 1.0, 1.0])), [0, 2, 4])


def test_linear_motion_errors():
    q0 = nearest_solution(top_down(0.5, 0.0, 0.26), HOME_JOINTS)
    with pytest.raises(PlanningError, match="reachable"):
        plan_linear_motion(q0, top_down(1.2, 0.0, 0.26))
    with pytest.raises(PlanningError):
        plan_linear_motion(q0, np.full((4, 4), np.nan))
    with pytest.raises(PlanningError, match="reachable"):  # through the unreachable cylinder around the base
        check_linear_path(q0, top_down(-0.3, 0.1, 0.4))
    goal = top_down(0.45, 0.05, 0.18, 0.3)
    np.testing.assert_allclose(check_linear_path(q0, goal), plan_linear_motion(q0, goal).positions[-1], atol=1e-9)
    same = plan_linear_motion(q0, forward_kinematics(q0))
    np.testing.assert_allclose(same.positions, np.broadcast_to(q0, same.positions.shape))


# ------------------------------------------------------------------------------------------ named poses

def test_home_is_out_of_the_camera_view_and_collision_free():
    # The view pyramid from the calibrated camera (config/camera_extrinsics.yaml: 0.7 m above (0.5, 0))
    # down to the whole workspace footprint (a superset of the 0.40 x 0.40 m and the ±0.12 m pick areas).
    camera = load_extrinsics(EXTRINSICS).matrix
    ws = Workspace()
    wide = replace(CELL_LAYOUT, pick_centre=(sum(ws.x) / 2, sum(ws.y) / 2),
                   pick_half=((ws.x[1] - ws.x[0]) / 2, (ws.y[1] - ws.y[0]) / 2))
    link = link_points(HOME_JOINTS, spacing=0.01)
    grip = FingerGeometry().gripper_points(STROKE, n=5)
    tool0 = forward_kinematics(HOME_JOINTS)
    pts = np.concatenate([link, grip @ tool0[:3, :3].T + tool0[:3, 3]])
    assert not np.any(in_view_cone(pts, camera, wide, margin=0.0))
    assert not np.any(in_view_cone(pts, camera))
    # sanity of the cone test: a point straight under the camera is inside, one above it is not
    assert in_view_cone(np.array([[0.5, 0.0, 0.3], [0.5, 0.0, 0.8]]), camera).tolist() == [True, False]
    checker = default_cell_checker()
    assert checker.check_configuration(HOME_JOINTS) is None
    assert checker.check_configuration(PLACE_JOINTS) is None
    assert tool0[2, 3] - 0.17 > 0.08  # fingertips above the tallest objects (~8 cm)


def test_place_pose_is_above_the_bin_centre():
    t = forward_kinematics(PLACE_JOINTS)
    np.testing.assert_allclose(t[:2, 3], BIN_CENTER, atol=2e-3)
    assert 0.25 <= t[2, 3] <= 0.32
    assert t[:3, 2] @ [0, 0, -1] > math.cos(math.radians(1))  # tool0 z points down
    tips_z = t[2, 3] - FingerGeometry().tip_reach
    assert tips_z > 0.08 + 0.04  # 4 cm above the bin walls
    # the move from a lift above the pick area to the bin and home is clear of the table and the bin walls
    q_lift = nearest_solution(top_down(0.55, 0.1, 0.30), HOME_JOINTS)
    checker = default_cell_checker()
    assert checker.check_trajectory(plan_joint_motion(q_lift, PLACE_JOINTS)) is None
    assert checker.check_trajectory(plan_joint_motion(PLACE_JOINTS, HOME_JOINTS)) is None
    assert checker.check_trajectory(plan_joint_motion(HOME_JOINTS, q_lift)) is None


# ------------------------------------------------------------------------------------------ collisions

def test_table_collision_flags_fingertips_below_the_table():
    checker = CellCollisionChecker()
    q0 = nearest_solution(top_down(0.5, 0.0, 0.26), HOME_JOINTS)
    ok = plan_linear_motion(q0, top_down(0.5, 0.0, TCP_OFFSET + 0.025))  # tips 5 mm above the table
    assert checker.check_trajectory(ok) is None
    low = plan_linear_motion(q0, top_down(0.5, 0.0, TCP_OFFSET + 0.010))  # tips 10 mm into the table
    why = checker.check_trajectory(low)
    assert why is not None and "below the table" in why
    # the backend refuses to execute it
    arm = KinematicArm(q0)
    res = BuiltinBackend(arm, collision=checker).move_linear(top_down(0.5, 0.0, TCP_OFFSET + 0.010))
    assert not res.ok and "table" in res.reason and arm.executed == []
    # a link driven down to the table is caught too
    assert "link" in checker.check_configuration(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))


def test_bin_walls_are_obstacles():
    walls = bin_walls()
    assert len(walls) == 4
    wall_y = BIN_CENTER[1] - BIN_INNER / 2 - 0.005  # inside the -y wall (1 cm thick)
    assert walls[0].contains(np.array([[BIN_CENTER[0], wall_y, 0.04]])).all()
    assert not any(w.contains(np.array([[*BIN_CENTER, 0.04]])).any() for w in walls)  # inside the bin
    # a finger on the -y wall
    q_in_bin = nearest_solution(top_down(BIN_CENTER[0], wall_y + 0.04, TCP_OFFSET + 0.05), PLACE_JOINTS)
    why = default_cell_checker().check_configuration(q_in_bin)
    assert why is not None and "bin wall" in why


INTR = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)


def render_depth(boxes, extr):
    """Depth image (float32 m) of axis-aligned boxes [(x0, x1, y0, y1, height)] on the table z = 0, seen
    from the extrinsics camera (straight down): the first surface hit along each pixel ray."""
    t = extr.matrix
    v, u = np.mgrid[0:INTR.height, 0:INTR.width].astype(np.float64)
    rays = np.stack([(u - INTR.cx) / INTR.fx, (v - INTR.cy) / INTR.fy, np.ones_like(u)], axis=-1)  # z_cam = 1
    dirs = rays @ t[:3, :3].T  # base-frame displacement per metre of optical depth
    origin = t[:3, 3]
    depth = (0.0 - origin[2]) / dirs[..., 2]  # table
    for x0, x1, y0, y1, h in boxes:
        d_top = (h - origin[2]) / dirs[..., 2]
        p = origin + d_top[..., None] * dirs
        hit = (p[..., 0] >= x0) & (p[..., 0] <= x1) & (p[..., 1] >= y0) & (p[..., 1] <= y1)
        depth = np.where(hit & (d_top < depth), d_top, depth)
    return depth.astype(np.float32)


def camera_candidate(extr, point_base, jaw_base, opening, frame="camera_depth_optical_frame", stamp=100.0):
    """A top-down candidate in the camera frame for a base-frame surface point and jaw direction."""
    r_bc = extr.matrix[:3, :3].T
    z = r_bc @ np.array([0.0, 0.0, -1.0])
    y = r_bc @ (np.asarray(jaw_base, float) / np.linalg.norm(jaw_base))
    pos = r_bc @ (np.asarray(point_base, float) - extr.matrix[:3, 3])
    return CameraGrasp(pos, np.stack([np.cross(y, z), y, z], axis=1), opening, 0.9, frame, stamp)


def test_depth_map_flags_a_finger_on_a_neighbouring_box():
    extr = load_extrinsics(EXTRINSICS)
    # object A (to grasp): 0.05 (x) x 0.03 (y) x 0.04 m at (0.50, 0.00); obstacle B: 0.04 m cube, 0.05 tall,
    # centred at (0.50, 0.06): a finger closing along y lands on B, one closing along x lands on the table.
    scene = [(0.475, 0.525, -0.015, 0.015, 0.04), (0.48, 0.52, 0.04, 0.08, 0.05)]
    depth = render_depth(scene, extr)
    assert depth.shape == (480, 480 * 4 // 3) and abs(float(depth[240, 320]) - 0.66) < 2e-3
    dmap = DepthCollisionMap.from_depth(depth, INTR, extr.matrix, stride=4)
    assert 0 < len(dmap) < 640 * 480 // 16  # the table is dropped
    cfg = ValidationConfig()
    along_y = validate_candidate(camera_candidate(extr, [0.5, 0.0, 0.04], [0, 1, 0], 0.03), extr, HOME_JOINTS, cfg,
                                 now=100.0, depth_map=dmap)
    assert isinstance(along_y, Rejection) and along_y.code == "collision", along_y
    along_x = validate_candidate(camera_candidate(extr, [0.5, 0.0, 0.04], [1, 0, 0], 0.05), extr, HOME_JOINTS, cfg,
                                 now=100.0, depth_map=dmap)
    assert isinstance(along_x, GraspTarget), along_x
    hits = dmap.gripper_hits(along_x.t_base_tool0_grasp, along_x.t_base_tool0_pregrasp, along_x.pregrasp_opening,
                             cfg.finger_margin, table_z=cfg.table_z)
    assert set(hits) >= {"left_pad", "right_pad", "palm", "housing", "table"}
    assert sum(hits.values()) == 0, hits  # the grasped object's own top lies between the pads
    # without the obstacle, the y grasp is fine
    clear = DepthCollisionMap.from_depth(render_depth(scene[:1], extr), INTR, extr.matrix)
    assert isinstance(validate_candidate(camera_candidate(extr, [0.5, 0.0, 0.04], [0, 1, 0], 0.03), extr,
                                         HOME_JOINTS, cfg, now=100.0, depth_map=clear), GraspTarget)
    with pytest.raises(ValueError, match="shape"):
        DepthCollisionMap.from_depth(depth[:100], INTR, extr.matrix)


def test_gripper_sweep_counts_what_an_independent_point_in_box_test_finds():
    """coal's sweep (convex hull of each part at both ends against the octree) meets every sensed point
    inside a swept part, none more than one octree leaf outside it, and names parts below the table."""
    from grasp_core.robot.gripper import gripper_boxes
    rng = np.random.default_rng(3)
    grasp = np.eye(4)
    grasp[:3, :3] = np.diag([1.0, -1.0, -1.0])  # tool0 z down
    grasp[:3, 3] = [0.5, 0.0, 0.20]
    pre = grasp.copy()
    pre[2, 3] += 0.08
    pts = np.c_[rng.uniform(0.40, 0.60, 40000), rng.uniform(-0.10, 0.10, 40000), rng.uniform(0.0, 0.40, 40000)]
    dmap = DepthCollisionMap(pts)
    margin, opening = 0.003, 0.06
    hits = dmap.gripper_hits(grasp, pre, opening, margin, table_z=0.0)
    local = (pts - grasp[:3, 3]) @ grasp[:3, :3]  # tool0 of the grasp; the pre-grasp is at z = -0.08
    for name, lo, hi in gripper_boxes(opening):
        exact, grown = (np.count_nonzero(np.all((local >= lo - margin - g - [0, 0, 0.08]) & (local <= hi + margin + g),
                                                axis=1)) for g in (0.0, 0.0011))
        assert 0 < exact <= hits[name] <= grown, (name, hits[name], exact, grown)
    assert hits["table"] == 0
    low = grasp.copy()
    low[2, 3] = 0.160  # fingertips (tool0 + 0.1685) below z = 0
    low_pre = low.copy()
    low_pre[2, 3] += 0.08
    # both pads and both finger links reach the fingertips; nothing else comes down that far
    assert DepthCollisionMap(np.zeros((0, 3))).gripper_hits(low, low_pre, opening, table_z=0.0)["table"] == 4


def test_finger_geometry_is_the_envelope_of_the_one_gripper_description():
    """The cell / free-space checks' boxes (FingerGeometry) enclose every part of gripper_boxes at every
    opening, and each of their faces touches one of those parts: nothing is typed twice."""
    from grasp_core.robot.gripper import gripper_boxes
    for opening in (0.0, 0.03, STROKE):
        env = FingerGeometry().envelope_boxes(opening)
        parts = gripper_boxes(opening)
        for name, lo, hi in parts:
            assert any(np.all(lo >= b[0] - 1e-12) and np.all(hi <= b[1] + 1e-12) for b in env), (opening, name)
        for b in env:
            inner = [(lo, hi) for _n, lo, hi in parts if np.all(lo >= b[0] - 1e-12) and np.all(hi <= b[1] + 1e-12)]
            assert np.allclose(np.min([lo for lo, _ in inner], axis=0), b[0], atol=1e-9), (opening, b)
            assert np.allclose(np.max([hi for _, hi in inner], axis=0), b[1], atol=1e-9), (opening, b)


def test_full_opening_executes_every_grasp_at_the_stroke_and_checks_it_there():
    """``full_opening`` (Gariépy et al.'s benchmark protocol): a candidate wider than the stroke (GQ-STN's
    w = s/3) is no longer refused as too wide but pre-opened to the stroke; and the sweep is made at the
    stroke, so a neighbour 35 mm from the object that the candidate's own 50 + 20 mm pre-open clears
    collides at 85 mm."""
    extr = load_extrinsics(EXTRINSICS)
    obj = (0.475, 0.525, -0.015, 0.015, 0.04)
    alone = DepthCollisionMap.from_depth(render_depth([obj], extr), INTR, extr.matrix, stride=2)
    full = ValidationConfig(full_opening=True)
    wide = camera_candidate(extr, [0.5, 0.0, 0.04], [1, 0, 0], 0.16)
    refused = validate_candidate(wide, extr, HOME_JOINTS, ValidationConfig(), now=100.0, depth_map=alone)
    assert isinstance(refused, Rejection) and refused.code == "too_wide", refused
    target = validate_candidate(wide, extr, HOME_JOINTS, full, now=100.0, depth_map=alone)
    assert isinstance(target, GraspTarget), target
    assert target.pregrasp_opening == pytest.approx(STROKE)
    hits = alone.gripper_hits(target.t_base_tool0_grasp, target.t_base_tool0_pregrasp, STROKE, full.finger_margin,
                              table_z=full.table_z)
    assert sum(hits.values()) == 0, hits
    neighbour = (0.56, 0.60, -0.015, 0.015, 0.05)
    near = DepthCollisionMap.from_depth(render_depth([obj, neighbour], extr), INTR, extr.matrix, stride=2)
    own = camera_candidate(extr, [0.5, 0.0, 0.04], [1, 0, 0], 0.05)
    ok = validate_candidate(own, extr, HOME_JOINTS, ValidationConfig(), now=100.0, depth_map=near)
    assert isinstance(ok, GraspTarget) and ok.pregrasp_opening == pytest.approx(0.07), ok
    hit = validate_candidate(own, extr, HOME_JOINTS, full, now=100.0, depth_map=near)
    assert isinstance(hit, Rejection) and hit.code == "collision", hit


def test_depth_map_keeps_the_top_of_a_thin_spike():
    """One point per stride block is the block's nearest pixel: a 1.5 mm rod 10 cm tall is not lost between samples."""
    extr = load_extrinsics(EXTRINSICS)
    for x0, y0 in ((0.5003, 0.0011), (0.5012, -0.0021), (0.4991, 0.0032)):
        depth = render_depth([(x0, x0 + 0.0015, y0, y0 + 0.0015, 0.10)], extr)
        assert int(np.sum(depth < 0.62)) <= 2  # the rod covers a pixel or two of the image
        dmap = DepthCollisionMap.from_depth(depth, INTR, extr.matrix, stride=4)
        assert len(dmap) >= 1 and abs(float(dmap.points[:, 2].max()) - 0.10) < 1e-6
        top = dmap.points[np.argmax(dmap.points[:, 2])]
        assert x0 - 1e-3 <= top[0] <= x0 + 0.0025 and y0 - 1e-3 <= top[1] <= y0 + 0.0025  # at its own pixel


def test_thin_flat_object_is_grasped_as_deep_as_allowed():
    """A 12 mm plate cannot give 10 mm of pad contact with the TCP at min_tcp_z: the pads take what the deepest
    TCP leaves (here 12 − 6 mm) instead of refusing every thin object; a 2 mm sheet is still refused."""
    extr = load_extrinsics(EXTRINSICS)
    cfg = ValidationConfig()
    plate = [(0.47, 0.53, -0.015, 0.015, 0.012)]
    dmap = DepthCollisionMap.from_depth(render_depth(plate, extr), INTR, extr.matrix)
    target = validate_candidate(camera_candidate(extr, [0.5, 0.0, 0.012], [0, 1, 0], 0.03), extr, HOME_JOINTS, cfg,
                                now=100.0, depth_map=dmap)
    assert isinstance(target, GraspTarget), target
    assert target.tcp_point[2] == pytest.approx(cfg.min_tcp_z, abs=1e-6)
    sheet = DepthCollisionMap.from_depth(render_depth([(0.47, 0.53, -0.015, 0.015, 0.002)], extr), INTR, extr.matrix,
                                         floor_z=0.001)
    low = validate_candidate(camera_candidate(extr, [0.5, 0.0, 0.002], [0, 1, 0], 0.03), extr, HOME_JOINTS, cfg,
                             now=100.0, depth_map=sheet)
    assert isinstance(low, Rejection) and low.code == "collision" and f"{1000 * THIN_PAD_CONTACT:.1f} mm" in low.reason


def test_too_narrow_candidate_is_opened_wider_before_the_sweep_refuses_it():
    """A 50 mm wide box grasped with a 30 mm candidate: at the 50 mm pre-open the pads come down on its rims;
    opened 10 mm wider they clear it, and the target says so. With a neighbour beside it, still refused."""
    extr = load_extrinsics(EXTRINSICS)
    cfg = ValidationConfig()
    box = (0.485, 0.515, -0.025, 0.025, 0.06)
    cand = camera_candidate(extr, [0.5, 0.0, 0.06], [0, 1, 0], 0.03)
    dmap = DepthCollisionMap.from_depth(render_depth([box], extr), INTR, extr.matrix)
    target = validate_candidate(cand, extr, HOME_JOINTS, cfg, now=100.0, depth_map=dmap)
    assert isinstance(target, GraspTarget), target
    assert target.pregrasp_opening > 0.05 + 1e-6 and "pre-open" in target.depth_note
    assert max(dmap.gripper_hits(target.t_base_tool0_grasp, target.t_base_tool0_pregrasp, target.pregrasp_opening,
                                 cfg.finger_margin).values()) < cfg.max_collision_points
    walls = [box, (0.48, 0.52, 0.04, 0.08, 0.06), (0.48, 0.52, -0.08, -0.04, 0.06)]
    crowded = DepthCollisionMap.from_depth(render_depth(walls, extr), INTR, extr.matrix)
    refused = validate_candidate(cand, extr, HOME_JOINTS, cfg, now=100.0, depth_map=crowded)
    assert isinstance(refused, Rejection) and refused.code == "collision", refused


def test_height_map_reads_sensed_points_as_columns_from_the_table():
    hmap = HeightMap(np.array([[0.50, 0.00, 0.20], [0.70, 0.10, 0.05]]), cell=0.005)
    query = np.array([[0.50, 0.00, 0.05],    # inside the column under the first point (unseen side)
                      [0.50, 0.00, 0.25],    # above it, 4 cm clear
                      [0.56, 0.00, 0.05],    # 6 cm beside it
                      [0.70, 0.10, 0.058],   # 8 mm above the second: within a 1 cm margin
                      [0.70, 0.10, 0.075]])  # 2.5 cm above it
    assert hmap.meets(query, 0.01).tolist() == [True, False, False, True, False]
    assert hmap.meets(query[2:3], 0.07).tolist() == [True]  # the column within 7 cm
    assert not HeightMap(np.empty((0, 3))).meets(query, 0.05).any()
    with pytest.raises(ValueError, match="cell"):
        HeightMap(query, cell=0.0)


def test_blocked_move_to_the_pregrasp_goes_through_a_waypoint_above_it():
    """A 25 cm column beside the object stands in the direct joint move: validation plans a waypoint straight
    above the pre-grasp whose moves (joint move there, straight down) keep clear of the sensed scene."""
    extr = load_extrinsics(EXTRINSICS)
    cfg = ValidationConfig()
    cand = camera_candidate(extr, [0.55, 0.05, 0.08], [0, 1, 0], 0.04)
    block = np.mgrid[-0.02:0.021:0.005, -0.02:0.021:0.005].reshape(2, -1).T
    obj = np.c_[block + [0.55, 0.05], np.full(len(block), 0.08)]
    square = np.mgrid[-0.015:0.016:0.005, -0.015:0.016:0.005].reshape(2, -1).T
    column = np.c_[square + [0.55, 0.16], np.full(len(square), 0.25)]
    free = validate_candidate(cand, extr, HOME_JOINTS, cfg, now=100.0, depth_map=DepthCollisionMap(obj))
    assert isinstance(free, GraspTarget) and free.q_approach is None and free.t_base_tool0_approach is None
    scene = np.r_[obj, column]
    target = validate_candidate(cand, extr, HOME_JOINTS, cfg, now=100.0, depth_map=DepthCollisionMap(scene))
    assert isinstance(target, GraspTarget) and target.q_approach is not None, target
    hmap = HeightMap(scene)
    assert hmap.check_path(plan_joint_motion(HOME_JOINTS, target.q_pregrasp, cfg.limits).positions) is not None
    via, pre = target.t_base_tool0_approach, target.t_base_tool0_pregrasp
    np.testing.assert_allclose(via[:3, :3], pre[:3, :3], atol=1e-12)
    np.testing.assert_allclose(via[:2, 3], pre[:2, 3], atol=1e-12)
    assert via[2, 3] - cfg.fingers.tip_reach >= 0.25 + 0.05 - 1e-9  # fingertips 5 cm above the column
    assert max(pose_error(forward_kinematics(target.q_approach), via)) < 1e-6
    assert hmap.check_path(plan_joint_motion(HOME_JOINTS, target.q_approach, cfg.limits).positions) is None
    assert hmap.check_path(plan_linear_motion(target.q_approach, pre, cfg.limits).positions) is None


# ------------------------------------------------------------------------------------------ validation

def test_valid_candidate_lands_at_the_hand_computed_point():
    extr = load_extrinsics(EXTRINSICS)
    # Camera at (0.5, 0, 0.7) looking down; optical x = -y base, optical y = -x base, optical z = -z base.
    # Base point (0.55, 0.05, 0.08) (top of an 8 cm object) is therefore (-0.05, -0.05, 0.62) in the camera.
    cam_pos = np.array([-0.05, -0.05, 0.62])
    rot = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # x=(0,-1,0), y=(1,0,0), z=(0,0,1)
    cand = CameraGrasp(cam_pos, rot, 0.04, 0.8, "camera_depth_optical_frame", stamp=10.0)
    cfg = ValidationConfig()
    target = validate_candidate(cand, extr, HOME_JOINTS, cfg, now=10.2)
    assert isinstance(target, GraspTarget), target
    np.testing.assert_allclose(target.surface_point, [0.55, 0.05, 0.08], atol=1e-9)
    # down to half the sensed height (0.04 m) since that is deeper than grasp_depth (1.5 cm past the surface)
    tcp = np.array([0.55, 0.05, 0.08 - max(cfg.grasp_depth, cfg.height_fraction * 0.08)])
    np.testing.assert_allclose(target.tcp_point, tcp, atol=1e-9)
    t = target.t_base_tool0_grasp
    np.testing.assert_allclose(t[:3, 3] + TCP_OFFSET * t[:3, 2], tcp, atol=1e-9)
    np.testing.assert_allclose(t[:3, 2], [0, 0, -1], atol=1e-9)
    assert abs(abs(t[:3, 1] @ [0, 1, 0]) - 1) < 1e-9  # jaws close along optical x = base -y (either sign)
    np.testing.assert_allclose(target.t_base_tool0_pregrasp[:3, 3], t[:3, 3] + [0, 0, cfg.pregrasp_clearance])
    np.testing.assert_allclose(target.t_base_tool0_lift[:3, 3], t[:3, 3] + [0, 0, cfg.lift_height])
    for q, pose in ((target.q_pregrasp, target.t_base_tool0_pregrasp), (target.q_grasp, t),
                    (target.q_lift, target.t_base_tool0_lift)):
        assert max(pose_error(forward_kinematics(q), pose)) < 1e-6
    assert target.pregrasp_opening == pytest.approx(0.04 + cfg.opening_margin)
    # the jaw flip chosen is the one nearer the current wrist_3
    other = nearest_solution(flip_jaws(target.t_base_tool0_pregrasp), HOME_JOINTS)
    assert abs(target.q_pregrasp[5] - HOME_JOINTS[5]) <= abs(other[5] - HOME_JOINTS[5])
    # a low object: the TCP is clamped at min_tcp_z
    low = CameraGrasp(np.array([-0.05, -0.05, 0.69]), rot, 0.04, 0.8, stamp=10.0)
    target_low = validate_or_raise(low, extr, HOME_JOINTS, cfg, now=10.0)
    assert target_low.tcp_point[2] == pytest.approx(cfg.min_tcp_z)
    # a bare matrix works too (frame from the config)
    assert isinstance(validate_candidate(cand, extr.matrix, HOME_JOINTS, cfg), GraspTarget)


def test_validation_rejects_bad_candidates_with_codes():
    extr = load_extrinsics(EXTRINSICS)
    rot = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    good = dict(position=np.array([-0.05, -0.05, 0.62]), rotation=rot, opening=0.04, quality=0.8,
                frame_id="camera_depth_optical_frame", stamp=10.0)

    def code(now=10.0, config=None, **changes):
        out = validate_candidate(CameraGrasp(**{**good, **changes}), extr, HOME_JOINTS, config, now=now)
        return out.code if isinstance(out, Rejection) else "ok"

    assert code() == "ok"
    assert code(frame_id="camera_link") == "unknown_frame"
    assert code(position=np.array([np.nan, 0.0, 0.6])) == "non_finite"
    assert code(opening=float("inf")) == "non_finite"
    assert code(now=12.0) == "stale"
    assert code(position=np.array([0.6, 0.0, 0.6])) == "outside_workspace"  # base y = -0.6
    assert code(position=np.array([0.0, 0.0, 0.3])) == "outside_workspace"  # base z = 0.4
    assert code(opening=0.09) == "too_wide"
    assert code(rotation=rot * 2) == "invalid"
    far = ValidationConfig(workspace=Workspace(x=(0.0, 2.0), y=(-2.0, 2.0)))
    assert code(position=np.array([0.0, -0.6, 0.68]), config=far) == "unreachable"  # base x = 1.1 m
    with pytest.raises(CandidateRejected, match="stale"):
        validate_or_raise(CameraGrasp(**good), extr, HOME_JOINTS, now=20.0)


# ------------------------------------------------------------------------------------------ pick sequence

class KinematicArm:
    """Perfect tracking: jumps to each trajectory's end; records trajectories; optional simulated clock."""

    def __init__(self, q, clock=None):
        self.q = np.array(q, dtype=np.float64)
        self.executed = []
        self.clock = clock

    def joint_positions(self):
        return self.q.copy()

    def execute(self, traj):
        assert np.allclose(traj.positions[0], self.q, atol=1e-9), "trajectory does not start at the arm"
        self.executed.append(traj)
        self.q = traj.positions[-1].copy()
        if self.clock is not None:
            self.clock.t += traj.duration
        return True


class SimClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class ModelGripper:
    """Closes to ``width`` (an object between the pads, 0 = none); ``drop_after`` closes: the object slips out."""

    def __init__(self, width, drop_after=None):
        self.width, self.opening, self.commands = width, STROKE, []
        self.drop_after = drop_after

    def command(self, opening, max_effort):
        self.commands.append((opening, max_effort))
        closing = opening < self.opening
        if self.drop_after is not None and sum(o < 1e-9 for o, _ in self.commands) > self.drop_after:
            self.width = 0.0
        if closing and self.width > opening:
            self.opening = self.width
            return GripperResult(self.opening, stalled=True, reached_goal=False)
        self.opening = opening
        return GripperResult(opening, stalled=False, reached_goal=True)


def _target(extr):
    return validate_or_raise(camera_candidate(extr, [0.52, -0.04, 0.05], [1, 1, 0], 0.03), extr, HOME_JOINTS)


def _pick_an_object(**kwargs):
    """run_pick of a 3 cm object on the kinematic arm: (result, arm, gripper, stages, extrinsics)."""
    extr = load_extrinsics(EXTRINSICS)
    clock = SimClock()
    arm = KinematicArm(HOME_JOINTS, clock)
    gripper = ModelGripper(0.03)
    stages = []
    res = run_pick(_target(extr), BuiltinBackend(arm, collision=default_cell_checker()), gripper,
                   PickConfig(clock=clock), feedback=stages.append, **kwargs)
    return res, arm, gripper, stages, extr


def test_run_pick_succeeds_for_an_object():
    res, arm, gripper, stages, _ = _pick_an_object()
    assert res.success, res
    assert res.stage_reached == "home" and res.reason == ""
    assert tuple(stages) == STAGES
    assert res.final_opening == pytest.approx(0.03)
    np.testing.assert_allclose(arm.q, HOME_JOINTS)
    assert len(arm.executed) == 6  # pregrasp, approach, lift, place, retreat after the release, home
    assert res.cycle_time_s == pytest.approx(sum(t.duration for t in arm.executed))
    assert set(res.stage_times) == set(STAGES)
    assert res.stage_times["approach"] > 0.3
    assert gripper.opening == pytest.approx(STROKE)  # released


def test_lines_away_from_contact_run_at_the_clear_limits():
    """Approach at max_linear_speed; the lift and the retreat from the release at clear_linear_speed."""
    limits = MotionLimits()
    assert limits.clear().max_linear_speed == limits.clear_linear_speed > limits.max_linear_speed
    assert limits.clear().max_linear_acceleration == limits.clear_linear_acceleration
    res, arm, *_ = _pick_an_object()
    assert res.success, res

    def peak_speed(traj):
        p = np.array([forward_kinematics(q)[:3, 3] for q in traj.positions])
        return float(np.max(np.linalg.norm(np.diff(p, axis=0), axis=1) / np.diff(traj.times)))

    _pregrasp, approach, lift, _place, retreat, _home = arm.executed
    assert peak_speed(approach) <= limits.max_linear_speed * 1.02
    assert limits.max_linear_speed * 1.2 < peak_speed(lift) <= limits.clear_linear_speed * 1.02
    assert peak_speed(retreat) > limits.max_linear_speed * 1.05  # 5 cm: no time to reach 0.3 m/s
    with pytest.raises(ValueError, match="clear_linear_speed"):
        MotionLimits(clear_linear_speed=0.0)


def test_run_pick_without_return_home_ends_over_the_bin_out_of_the_camera_view():
    """The automatic mode's blended cycle: after the release the fingertips rise above the object's
    top and the sequence ends there, over the bin, where the arm hides nothing of the pick area."""
    res, arm, gripper, stages, extr = _pick_an_object(return_home=False)
    assert res.success and res.stage_reached == "release", res
    assert tuple(stages) == STAGES[:-1] and gripper.opening == pytest.approx(STROKE)
    assert len(arm.executed) == 5  # pregrasp, approach, lift, place, retreat after the release
    t = forward_kinematics(arm.q)
    place = CELL_LAYOUT.place_pose()
    target = _target(extr)
    rise = max(PickConfig().release_retreat,
               target.surface_point[2] - target.tcp_point[2] + FingerGeometry().tip_below_tcp + 0.02)
    np.testing.assert_allclose(t[:3, 3], place[:3, 3] + [0.0, 0.0, rise], atol=1e-4)
    camera = extr.matrix
    assert not arm_in_view(arm.q, camera) and not arm_in_view(HOME_JOINTS, camera)
    assert arm_in_view(_target(extr).q_grasp, camera)  # at the grasp it hides the object, of course
    assert res.cycle_time_s == pytest.approx(sum(tr.duration for tr in arm.executed))


def _tcp(t):
    return t[:3, 3] + TCP_OFFSET * t[:3, 2]


def test_place_plan_keeps_a_tall_object_above_the_walls_and_sets_it_down():
    """A 15 cm bottle held 2 cm below its top hangs 13 cm under the TCP: the fixed place pose (TCP 15 cm
    above the table, fingertips 13 cm) would push it into the bin floor. It is carried with its bottom 3 cm above the
    8 cm walls, lowered to 2 cm above the floor, and the fingertips (below the TCP) rise 2 cm
    above its top after the release."""
    extr = load_extrinsics(EXTRINSICS)
    cfg = PickConfig()
    short = _target(extr)  # a 5 cm object: the configured place pose as it is
    plan = place_plan(short, PLACE_JOINTS, cfg)
    np.testing.assert_allclose(plan.q_carry, PLACE_JOINTS)
    assert plan.t_release is None
    tip = FingerGeometry().tip_below_tcp
    above = short.surface_point[2] - short.tcp_point[2]
    assert plan.retreat == pytest.approx(max(cfg.release_retreat, above + tip + 0.02), abs=1e-4)
    tall = replace(short, tcp_point=np.array([0.52, -0.04, 0.13]), surface_point=np.array([0.52, -0.04, 0.15]))
    plan = place_plan(tall, PLACE_JOINTS, cfg)
    carry, place = forward_kinematics(plan.q_carry), forward_kinematics(PLACE_JOINTS)
    assert _tcp(carry)[2] - 0.13 == pytest.approx(CELL_LAYOUT.bin_height + cfg.carry_clearance, abs=1e-4)
    np.testing.assert_allclose(carry[:3, :3], place[:3, :3], atol=1e-9)  # straight up from the place pose
    np.testing.assert_allclose(carry[:2, 3], place[:2, 3], atol=1e-9)
    assert _tcp(plan.t_release)[2] - 0.13 == pytest.approx(cfg.release_clearance, abs=1e-4)
    assert plan.retreat == pytest.approx(0.02 + tip + 0.02, abs=1e-4)
    assert plan.top == pytest.approx(0.15, abs=1e-4)  # standing on the bin floor (the table's height)
    # a second one over the first: carried above the pile, set down on it
    fill = BinFill()
    fill.add(plan.lo, plan.hi, plan.top)
    again = place_plan(tall, PLACE_JOINTS, cfg, fill)
    assert _tcp(forward_kinematics(again.q_carry))[2] - 0.13 == pytest.approx(0.15 + cfg.carry_clearance, abs=1e-4)
    assert _tcp(again.t_release)[2] - 0.13 == pytest.approx(0.15 + cfg.release_clearance, abs=1e-4)
    assert again.top == pytest.approx(0.30, abs=1e-4)
    # a pile elsewhere in the bin raises the carry, not the release
    aside = BinFill()
    aside.add(np.asarray(BIN_CENTER) + [0.12, 0.12], np.asarray(BIN_CENTER) + [0.14, 0.14], 0.30)
    flat = place_plan(short, PLACE_JOINTS, cfg, aside)
    low = max(short.tcp_point[2], tip)
    assert _tcp(forward_kinematics(flat.q_carry))[2] == pytest.approx(0.30 + low + cfg.carry_clearance, abs=1e-4)
    assert _tcp(flat.t_release)[2] == pytest.approx(_tcp(place)[2], abs=1e-4)
    assert aside.top() == 0.30 and aside.top(plan.lo, plan.hi) == -np.inf
    aside.clear()
    assert aside.top() == -np.inf


def test_place_plan_puts_the_held_footprint_inside_the_bin():
    """A 22 cm handle held 9 cm from its middle would lie across the bin's wall under the fixed place
    pose: the pose moves (or turns 90 degrees) until the footprint is 2 cm inside the walls."""
    extr = load_extrinsics(EXTRINSICS)
    cfg = PickConfig()
    target = _target(extr)
    g = target.t_base_tool0_grasp
    # sensed points of a handle along the jaw-free axis (tool0 x) of the grasp: from −2 cm to +20 cm
    s = np.linspace(-0.02, 0.20, 60)[:, None]
    pts = target.tcp_point + s * g[:3, 0] + np.array([0.0, 0.0, 0.0])
    held = replace(target, object_points=pts)
    plan = place_plan(held, PLACE_JOINTS, cfg)
    t = forward_kinematics(plan.q_carry)
    xy = ((pts - g[:3, 3]) @ g[:3, :3] @ t[:3, :3].T + t[:3, 3])[:, :2]
    lo = np.asarray(BIN_CENTER) - np.asarray(BIN_INNER) / 2 + cfg.place_margin
    hi = np.asarray(BIN_CENTER) + np.asarray(BIN_INNER) / 2 - cfg.place_margin
    assert np.all(xy >= lo - 1e-9) and np.all(xy <= hi + 1e-9)
    assert np.all(plan.lo <= xy.min(axis=0) + 1e-9) and np.all(plan.hi >= xy.max(axis=0) - 1e-9)
    # the configured pose would not have kept it inside
    t0 = forward_kinematics(PLACE_JOINTS)
    xy0 = ((pts - g[:3, 3]) @ g[:3, :3] @ t0[:3, :3].T + t0[:3, 3])[:, :2]
    assert np.any(xy0 < lo - 0.01) or np.any(xy0 > hi + 0.01)
    assert t[2, 3] == pytest.approx(t0[2, 3]) and t[2, 2] == pytest.approx(-1.0)  # same height, still down
    # wider than the bin every way: centred, not refused
    wide = replace(target, object_points=target.tcp_point + np.linspace(-0.2, 0.2, 9)[:, None] * (g[:3, 0] + g[:3, 1]))
    assert place_plan(wide, PLACE_JOINTS, cfg).q_carry is not None


def test_depth_map_self_filter_removes_the_arm_and_keeps_the_scene():
    """Over the bin the camera sees the arm; before the self-filter the arm "met" its own image where it
    stood and every next candidate was rejected (random_urdfs:test clutter seed 103: 4 objects left)."""
    q = PLACE_JOINTS
    t = forward_kinematics(q)
    arm = arm_surface_points(q, spacing=0.01)
    grip = FingerGeometry().gripper_points(STROKE, n=4) @ t[:3, :3].T + t[:3, 3]
    rng = np.random.default_rng(0)
    scene = rng.uniform([0.38, -0.12, 0.0], [0.62, 0.12, 0.08], size=(500, 3))
    dm = DepthCollisionMap(np.vstack([arm, grip, scene]))
    assert dm.height_map.arm_meets(q, gripper=False) is not None  # the arm meets its own image
    clean = dm.without_robot(q)
    assert len(clean) == len(scene)
    np.testing.assert_array_equal(clean.points, scene)
    assert clean.height_map.arm_meets(q) is None
    # a point 3 cm out from the middle of the forearm tube: 3 cm from the arm, kept unless the margin is wider
    part = ARM_PARTS[4]
    assert part.link == "forearm_link" and part.kind == "capsule"
    tf = link_poses(q)["forearm_link"]
    mid = (np.asarray(part.p0) + np.asarray(part.p1)) / 2 + [0.0, part.radius + 0.03, 0.0]
    p = tf[:3, :3] @ mid + tf[:3, 3]
    assert arm_distance(p[None], q)[0] == pytest.approx(0.03, abs=1e-9)
    assert len(DepthCollisionMap(p[None]).without_robot(q, margin=0.02)) == 1
    assert len(DepthCollisionMap(p[None]).without_robot(q, margin=0.04)) == 0
    # an empty map and a bad configuration
    assert len(DepthCollisionMap(np.zeros((0, 3))).without_robot(q)) == 0
    with pytest.raises(ValueError):
        dm.without_robot([0.0, np.nan, 0, 0, 0, 0])


def test_run_pick_reports_an_empty_grasp_at_the_held_check():
    extr = load_extrinsics(EXTRINSICS)
    arm = KinematicArm(HOME_JOINTS)
    gripper = ModelGripper(0.0)
    res = run_pick(_target(extr), BuiltinBackend(arm, collision=default_cell_checker()), gripper)
    assert not res.success
    assert res.stage_reached == "lift" and "not held" in res.reason
    assert res.final_opening <= 0.004
    assert gripper.opening == pytest.approx(STROKE)  # opened during recovery
    np.testing.assert_allclose(arm.q, HOME_JOINTS)  # and went home
    assert "recovery" in res.stage_times and res.cycle_time_s > 0


def test_run_pick_detects_a_drop_on_the_way_to_the_bin_and_planning_failures():
    extr = load_extrinsics(EXTRINSICS)
    arm = KinematicArm(HOME_JOINTS)
    res = run_pick(_target(extr), BuiltinBackend(arm), ModelGripper(0.03, drop_after=2))
    assert not res.success and res.stage_reached == "place" and "place pose" in res.reason
    np.testing.assert_allclose(arm.q, HOME_JOINTS)
    # a place configuration outside the joint limits: the move fails, the arm recovers home
    arm = KinematicArm(HOME_JOINTS)
    res = run_pick(_target(extr), BuiltinBackend(arm), ModelGripper(0.03), place_joints=[0, 0, 4.0, 0, 0, 0])
    assert not res.success and res.stage_reached == "place" and "planning failed" in res.reason
    np.testing.assert_allclose(arm.q, HOME_JOINTS)
