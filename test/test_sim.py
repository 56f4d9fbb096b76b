"""The ROS-free MuJoCo pick cell (grasp_core.sim): kinematics, servo tracking, camera, grasp physics, spawning."""
import math
import os
import struct

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
mujoco = pytest.importorskip("mujoco")

from grasp_core.objects import GeomSpec, ObjectSpec  # noqa: E402
from grasp_core.robot import TCP_OFFSET, forward_kinematics, nearest_solution  # noqa: E402
from grasp_core.sim import (  # noqa: E402
    CellConfig,
    SimCell,
    TrajectoryFollower,
    fits_gripper,
    graspable_random_object,
    quintic_trajectory,
)

CLEAN = CellConfig(depth_noise=False, depth_holes=False)


@pytest.fixture
def cell():
    c = SimCell(CLEAN)
    yield c
    c.close()


def _render_or_skip(c: SimCell):
    try:
        return c.render()
    except Exception as exc:  # no OpenGL (EGL/OSMesa) context on this machine
        pytest.skip(f"MuJoCo rendering unavailable: {exc}")


def _top_down_tool0(xy, jaw_yaw: float, tcp_z: float) -> np.ndarray:
    """tool0 pose with z pointing down, jaws (tool0 y) along jaw_yaw, the TCP at (xy, tcp_z)."""
    y = np.array([math.cos(jaw_yaw), math.sin(jaw_yaw), 0.0])
    z = np.array([0.0, 0.0, -1.0])
    t = np.eye(4)
    t[:3, :3] = np.stack([np.cross(y, z), y, z], axis=1)
    t[:3, 3] = [xy[0], xy[1], tcp_z + TCP_OFFSET]
    return t


# ------------------------------------------------------------------------------------- kinematics

def test_model_uses_ur_description_masses_limits_and_efforts(cell):
    """The arm's masses, joint ranges and actuator efforts are ur_description's (test/data/ur5_description.yaml)."""
    from pathlib import Path

    import yaml
    from grasp_core.robot import JOINT_NAMES
    from grasp_core.sim import model as mdl

    ur = yaml.safe_load((Path(__file__).resolve().parent / "data" / "ur5_description.yaml").read_text())
    assert mdl.UR5_MASSES == ur["masses"]
    m = cell.model
    links = ("shoulder", "upper_arm", "forearm", "wrist_1", "wrist_2", "wrist_3")  # each joint moves this link
    for name, link in zip(JOINT_NAMES, links, strict=True):
        lim = ur["joint_limits"][name]
        j = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)
        np.testing.assert_allclose(m.jnt_range[j], np.radians([lim["min_position"], lim["max_position"]]))
        a = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, name)
        np.testing.assert_allclose(m.actuator_forcerange[a], [-lim["max_effort"], lim["max_effort"]])
        body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, f"{link}_link")
        assert m.body_mass[body] == pytest.approx(ur["masses"][link])

def test_tool0_site_matches_forward_kinematics(cell):
    rng = np.random.default_rng(0)
    m, d = cell.model, cell.data
    for _ in range(20):
        q = rng.uniform(-math.pi, math.pi, 6)
        d.qpos[cell._qadr] = q
        mujoco.mj_kinematics(m, d)
        t_fk = forward_kinematics(q)
        t_site = cell.tool0_pose()
        assert np.abs(t_site[:3, 3] - t_fk[:3, 3]).max() < 1e-6
        assert np.abs(t_site[:3, :3] - t_fk[:3, :3]).max() < 1e-6


def test_tcp_site_and_pads_at_tcp_offset(cell):
    t0, tcp = cell.tool0_pose(), cell.tcp_pose()
    np.testing.assert_allclose(tcp[:3, 3], t0[:3, 3] + TCP_OFFSET * t0[:3, 2], atol=1e-9)
    np.testing.assert_allclose(tcp[:3, :3], t0[:3, :3], atol=1e-9)
    # the pads' centre is the TCP; they close along tool0 y
    pad_mid = (cell.data.site_xpos[cell._lpad] + cell.data.site_xpos[cell._rpad]) / 2
    np.testing.assert_allclose(pad_mid, tcp[:3, 3], atol=1e-6)
    assert cell.gripper_opening() == pytest.approx(0.085, abs=1e-6)
    assert cell.gripper_knuckle() == pytest.approx(0.0, abs=1e-6)


def test_home_pose_and_joint_targets_validation(cell):
    np.testing.assert_allclose(cell.joint_positions(), cell.config.home_q, atol=1e-9)
    assert cell.joint_names == ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
                                "wrist_1_joint", "wrist_2_joint", "wrist_3_joint")
    with pytest.raises(ValueError):
        cell.set_joint_targets(np.zeros(5))
    with pytest.raises(ValueError):
        cell.set_joint_targets([0, 0, np.nan, 0, 0, 0])
    with pytest.raises(ValueError):
        cell.set_joint_targets([0, 0, 3.5, 0, 0, 0])  # elbow limit ±π


# ------------------------------------------------------------------------------------- servo tracking
def test_arm_tracks_smooth_trajectory(cell):
    q_goal = nearest_solution(_top_down_tool0((0.5, 0.0), 0.0, 0.25), cell.joint_positions())
    t, p, v = quintic_trajectory(cell.joint_positions(), q_goal, 1.5, 40)
    ref = TrajectoryFollower()
    ref.set(t, p, v, start_time=cell.time)
    cell.follow_trajectory(t, p, v)
    errs = []
    while not cell.trajectory_done():
        cell.step()
        errs.append(np.linalg.norm(cell.tool0_pose()[:3, 3] - forward_kinematics(ref.sample(cell.time)[0])[:3, 3]))
    assert max(errs) < 2e-3
    cell.step(150)
    assert np.linalg.norm(cell.tool0_pose()[:3, 3] - forward_kinematics(q_goal)[:3, 3]) < 5e-4
    assert np.abs(cell.joint_velocities()).max() < 1e-2

    # the ROS node's path: a follower sampled every step into set_joint_targets(q, qd), 1 s move home
    home = np.array(cell.config.home_q)
    t, p, v = quintic_trajectory(cell.joint_positions(), home, 1.0, 20)
    ref.set(t, p, v, start_time=cell.time)
    errs = []
    for _ in range(int(1.3 / cell.timestep)):
        cell.set_joint_targets(*ref.sample(cell.time))
        cell.step()
        errs.append(np.linalg.norm(cell.tool0_pose()[:3, 3] - forward_kinematics(ref.sample(cell.time)[0])[:3, 3]))
    assert max(errs) < 2e-3
    assert np.linalg.norm(cell.tool0_pose()[:3, 3] - forward_kinematics(home)[:3, 3]) < 5e-4


def test_trajectory_follower_semantics():
    f = TrajectoryFollower()
    with pytest.raises(RuntimeError):
        f.sample(0.0)
    q0, q1 = np.zeros(6), np.full(6, 1.0)
    f.set([0.0, 1.0], [q0, q1], [np.zeros(6), np.zeros(6)], start_time=10.0)
    np.testing.assert_allclose(f.sample(10.0)[0], q0)
    np.testing.assert_allclose(f.sample(10.5)[0], 0.5 * q1)  # Hermite midpoint with zero end velocities
    q, qd = f.sample(12.0)  # holds the last point
    np.testing.assert_allclose(q, q1)
    np.testing.assert_allclose(qd, 0.0)
    f.set([0.0, 2.0], [q0, q1], start_time=10.0)  # linear
    q, qd = f.sample(11.0)
    np.testing.assert_allclose(q, 0.5 * q1)
    np.testing.assert_allclose(qd, 0.5)
    f.set([0.0, 1.0], [q1, q0], start_time=11.0)  # a new trajectory replaces the old one
    np.testing.assert_allclose(f.sample(11.5)[0], 0.5 * q1)
    with pytest.raises(ValueError):
        f.set([0.0, 0.0], [q0, q1])
    with pytest.raises(ValueError):
        f.set([0.0, 1.0], [q0])


# ------------------------------------------------------------------------------------- camera
def test_camera_depth_and_projection(cell):
    depth, rgb = _render_or_skip(cell)
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert depth[240, 320] == pytest.approx(0.70, abs=1e-3)
    # the arm at home stays out of the central 300x300 px: only the table is seen there
    assert np.abs(depth[90:390, 170:470] - 0.70).max() < 1e-3
    k = cell.intrinsics
    assert (k.width, k.height, k.fx, k.fy, k.cx, k.cy) == (640, 480, 525.0, 525.0, 319.5, 239.5)

    ball = ObjectSpec("ball", "sphere", [GeomSpec("sphere", (0.03,))], 0.03, 0.03)
    cell.reset_objects([ball], seed=1)
    centre = cell.object_poses()["ball"][:3, 3]
    assert centre[2] == pytest.approx(0.03, abs=2e-3)  # resting on the table
    u, v, z = cell.project(centre[None])[0]
    depth, _ = cell.render()
    assert depth[int(round(v)), int(round(u))] == pytest.approx(z - 0.03, abs=2e-3)  # top of the ball
    vs, us = np.nonzero(depth < 0.69)
    assert abs(us.mean() - u) < 1.0 and abs(vs.mean() - v) < 1.0

    noisy = SimCell(CellConfig())
    try:
        d_noisy, _ = noisy.render()
        assert np.any(d_noisy == 0.0) and not np.any(np.isnan(d_noisy))
        valid = d_noisy > 0
        assert 0.0005 < np.std(d_noisy[valid] - 0.70) < 0.01
    finally:
        noisy.close()


# ------------------------------------------------------------------------------------- grasp physics
def _close_gripper(c: SimCell, timeout: float = 1.5) -> None:
    c.command_gripper(0.0)
    t0 = c.time
    c.step(50)
    while c.gripper_moving() and c.time - t0 < timeout:
        c.step(10)
    c.step(50)


def test_grasp_box_and_lift(cell):
    box = ObjectSpec("box", "box", [GeomSpec("box", (0.035, 0.025, 0.03))], 0.03, math.hypot(0.035, 0.025))
    cell.reset_objects([box], seed=2)
    pose = cell.object_poses()["box"]
    narrow = pose[:3, 1]  # the box's body y axis is its 5 cm side
    yaw = math.atan2(narrow[1], narrow[0])
    xy, tcp_z = pose[:2, 3], 0.035
    q_above = nearest_solution(_top_down_tool0(xy, yaw, tcp_z + 0.12), cell.joint_positions())
    cell.move_joints(q_above, 1.5)
    q_grasp = nearest_solution(_top_down_tool0(xy, yaw, tcp_z), q_above)
    cell.move_joints(q_grasp, 1.0)
    _close_gripper(cell)
    assert cell.gripper_stalled()
    assert 0.045 < cell.gripper_opening() < 0.052
    q_lift = nearest_solution(_top_down_tool0(xy, yaw, tcp_z + 0.15), q_grasp)
    cell.move_joints(q_lift, 1.0, settle=0.5)
    assert cell.object_poses()["box"][2, 3] > 0.10
    assert cell.gripper_opening() > 0.005
    assert cell.objects_on_table() == ["box"]  # lifted 15 cm: still over the table, below 0.2 m

    # closing on nothing
    cell.command_gripper(0.085)
    cell.step(int(0.8 / cell.timestep))
    assert cell.gripper_opening() == pytest.approx(0.085, abs=1e-3)
    cell.move_joints(nearest_solution(_top_down_tool0((0.45, 0.1), 0.0, 0.1), cell.joint_positions()), 1.0)
    _close_gripper(cell)
    assert cell.gripper_opening() < 0.005
    assert not cell.gripper_stalled() and not cell.gripper_moving()
    assert cell.gripper_knuckle() == pytest.approx(0.7929, abs=0.05)


def test_objects_in_bin(cell):
    cell.reset(1, seed=0)
    name = cell.object_names[0]
    assert cell.objects_in_bin() == [] and cell.objects_on_table() == [name]
    adr = cell.model.jnt_qposadr[cell.model.body_jntadr[cell._obj_body[0]]]
    cell.data.qpos[adr:adr + 3] = [0.25, -0.60, 0.15]
    cell.data.qvel[:] = 0.0
    cell.step(int(1.0 / cell.timestep))
    assert cell.objects_in_bin() == [name] and cell.objects_on_table() == []


def test_bin_lookahead_leaves_the_cell_as_it_was(cell):
    """objects_in_bin_after simulates ahead (a released object lands) and restores state and time."""
    cell.reset(1, seed=0)
    name = cell.object_names[0]
    adr = cell.model.jnt_qposadr[cell.model.body_jntadr[cell._obj_body[0]]]
    cell.data.qpos[adr:adr + 3] = [0.25, -0.60, 0.25]  # dropped over the bin
    cell.data.qvel[:] = 0.0
    cell.command_gripper(0.04)
    cell.step(2)
    t0, q0 = cell.time, cell.data.qpos.copy()
    assert cell.objects_in_bin() == []  # still falling
    assert cell.objects_in_bin_after(1.0) == [name]
    assert cell.time == t0 and np.array_equal(cell.data.qpos, q0)
    cell.step(200)
    ahead = cell.data.qpos.copy()
    cell.reset(1, seed=0)
    cell.data.qpos[adr:adr + 3] = [0.25, -0.60, 0.25]
    cell.data.qvel[:] = 0.0
    cell.command_gripper(0.04)
    cell.step(202)
    np.testing.assert_allclose(cell.data.qpos, ahead, atol=1e-9)  # the same future as without the lookahead


# ------------------------------------------------------------------------------------- spawning
def test_procedural_objects_fit_the_gripper():
    rng = np.random.default_rng(0)
    for k in range(40):
        assert fits_gripper(graspable_random_object(rng, f"o{k}"), 0.08)


def test_reset_procedural_is_deterministic_and_settled(cell):
    names = cell.reset(5, seed=7)
    assert names == [f"obj_{k}" for k in range(5)]
    poses = cell.object_poses()
    other = SimCell(CLEAN)
    try:
        assert other.reset(5, seed=7) == names
        for n in names:
            np.testing.assert_allclose(other.object_poses()[n], poses[n], atol=1e-9)
    finally:
        other.close()
    for n in names:
        x, y, z = poses[n][:3, 3]
        assert 0.30 < x < 0.70 and -0.20 < y < 0.20 and 0.0 < z < 0.12
    assert sorted(cell.objects_on_table()) == names
    np.testing.assert_allclose(cell.joint_positions(), cell.config.home_q, atol=1e-3)
    assert cell.gripper_opening() == pytest.approx(0.085, abs=1e-3)
    t_before = cell.time
    cell.reset(2, seed=8)
    assert cell.time > t_before  # the clock never jumps back


def _write_obj(path, verts, faces):
    with open(path, "w") as f:
        f.writelines(f"v {x} {y} {z}\n" for x, y, z in verts)
        f.writelines(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in faces)


def _write_stl(path, verts, faces):
    with open(path, "wb") as f:
        f.write(b"\0" * 80 + struct.pack("<I", len(faces)))
        for tri in faces:
            p = verts[list(tri)]
            n = np.cross(p[1] - p[0], p[2] - p[0])
            f.write(struct.pack("<12fH", *(n / np.linalg.norm(n)), *p.ravel(), 0))


def _box_mesh(half, offset):
    v = np.array([[sx * half[0], sy * half[1], sz * half[2]] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    f = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1), (2, 3, 7), (2, 7, 6),
         (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    return v + np.asarray(offset), f


def _prism_mesh(radius, half_h, n=8):
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    ring = np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)
    v = np.vstack([np.column_stack([ring, np.full(n, -half_h)]), np.column_stack([ring, np.full(n, half_h)]),
                   [[0, 0, -half_h], [0, 0, half_h]]])
    f = []
    for i in range(n):
        j = (i + 1) % n
        f += [(i, j, n + j), (i, n + j, n + i), (2 * n, j, i), (2 * n + 1, n + i, n + j)]
    return v, f


def test_reset_with_mesh_folder(cell, tmp_path):
    meshes = tmp_path / "meshes"
    (meshes / "sub").mkdir(parents=True)
    _write_obj(meshes / "block.obj", *_box_mesh((0.03, 0.02, 0.025), (0.2, -0.1, 0.05)))  # off-centre vertices
    _write_stl(meshes / "sub" / "prism.stl", *_prism_mesh(0.025, 0.03))
    names = cell.reset(2, objects=str(meshes), seed=3)
    assert sorted(names) == ["block_0", "prism_1"] or sorted(names) == ["block_1", "prism_0"]
    cell.step(200)
    for n in names:
        pts = cell.object_points(n)
        assert -2e-3 < pts[:, 2].min() < 3e-3  # resting on the table
        c = pts.mean(axis=0)
        assert 0.33 < c[0] < 0.67 and -0.17 < c[1] < 0.17
    assert max(np.abs(cell.data.qvel[a:a + 6]).max() for a in cell._obj_dadr) < 0.02
    with pytest.raises(ValueError, match="does not exist"):
        cell.reset(1, objects=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no \\*.obj"):
        cell.reset(1, objects=str(tmp_path / "empty"))
