"""Issue 13: grasp depth from the 2F-85's geometry and contact-safe execution, on the simulated cell.

Simulation ground truth (:meth:`grasp_core.sim.SimCell.robot_contacts`) judges every pick: a tall
standing box and a drill-like tool are picked with no gripper contact before closing; a blind
approach onto the tall box (the old "half the object height" depth, no depth map) touches it,
and the arm stops, retreats along the approach and the pick reports ``collision``.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("mujoco")

from grasp_core.layout import repository_config  # noqa: E402
from grasp_core.motion import (  # noqa: E402
    BuiltinBackend,
    DepthCollisionMap,
    PickConfig,
    Rejection,
    run_pick,
    validate_candidate,  # noqa: E402
)
from grasp_core.motion.validation import CameraGrasp  # noqa: E402
from grasp_core.objects import GeomSpec, ObjectSpec  # noqa: E402
from grasp_core.picking import SimArm, SimGripper, settings_from_config  # noqa: E402
from grasp_core.robot import JOINT_NAMES, Extrinsics  # noqa: E402
from grasp_core.robot.arm import ARM_LINKS, ARM_PARTS, arm_surface_points, link_poses  # noqa: E402
from grasp_core.robot.gripper import STROKE, gripper_boxes, gripper_xml  # noqa: E402
from grasp_core.sim import SimCell  # noqa: E402
from grasp_core.sim.model import arm_xml  # noqa: E402

TALL_BOX = ObjectSpec("tall_box", "box", [GeomSpec("box", (0.025, 0.025, 0.125))], half_height=0.125, radius=0.036)
# a drill: battery base, vertical handle, and the motor body on top overhanging forwards (+x)
DRILL = ObjectSpec("drill", "tool", [GeomSpec("box", (0.04, 0.03, 0.012), (0.0, 0.0, -0.078)),
                                     GeomSpec("box", (0.015, 0.014, 0.05), (0.0, 0.0, -0.016)),
                                     GeomSpec("box", (0.07, 0.022, 0.022), (0.02, 0.0, 0.056))],
                   half_height=0.09, radius=0.10)


@pytest.fixture(scope="module")
def cell():
    with SimCell() as c:
        yield c


@pytest.fixture(scope="module")
def settings():
    return settings_from_config(repository_config())


def top_candidate(cell, name: str, local_point, local_close_axis, width: float) -> CameraGrasp:
    """A top-down candidate (camera frame) at a point of the object's body frame, jaws along an axis."""
    t = cell.object_poses()[name]
    p = t[:3, :3] @ np.asarray(local_point) + t[:3, 3]
    y = t[:3, :3] @ np.asarray(local_close_axis, dtype=float)
    y[2] = 0.0
    y /= np.linalg.norm(y)
    z = np.array([0.0, 0.0, -1.0])
    r_base = np.column_stack([np.cross(y, z), y, z])
    t_cam_base = np.linalg.inv(cell.t_base_camera)
    return CameraGrasp(t_cam_base[:3, :3] @ p + t_cam_base[:3, 3], t_cam_base[:3, :3] @ r_base, width, 0.9,
                       cell.intrinsics.frame_id, cell.time)


def depth_map(cell) -> DepthCollisionMap:
    depth, _ = cell.render()
    return DepthCollisionMap.from_depth(depth, cell.intrinsics, cell.t_base_camera)


def pick(cell, settings, target, stop_on_contact: bool = True):
    arm = SimArm(cell, max_tracking_error=settings.max_tracking_error, stop_on_contact=stop_on_contact)
    backend = BuiltinBackend(arm, settings.limits)
    stages: list[tuple[str, float]] = []
    cfg = PickConfig(**{**settings.pick.__dict__, "clock": lambda: cell.time})
    result = run_pick(target, backend, SimGripper(cell, stop_on_contact=stop_on_contact), cfg,
                      settings.place_joints, settings.home_joints,
                      feedback=lambda s: stages.append((s, cell.time)))
    return result, dict(stages)


def test_gripper_boxes_are_the_simulated_gripper():
    """One description: the collision shapes are MuJoCo's compiled geoms of the simulated 2F-85."""
    import mujoco

    m = mujoco.MjModel.from_xml_string(f"<mujoco><worldbody>{gripper_xml()}</worldbody></mujoco>")
    d = mujoco.MjData(m)
    for opening in (0.02, STROKE):
        d.qpos[:] = opening / 2
        mujoco.mj_kinematics(m, d)
        boxes = gripper_boxes(opening)
        assert {n for n, _, _ in boxes} == {mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) for g in range(m.ngeom)}
        for name, lo, hi in boxes:
            g = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, name)
            size = m.geom_size[g]
            half = [size[0], size[0], size[1]] if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_CYLINDER else size
            np.testing.assert_allclose(d.geom_xpos[g] - half, lo, atol=1e-9, err_msg=name)
            np.testing.assert_allclose(d.geom_xpos[g] + half, hi, atol=1e-9, err_msg=name)


def test_arm_parts_are_the_simulated_arm():
    """One description: the arm's collision shapes the executor checks are MuJoCo's compiled geoms of the cell's UR5."""
    import mujoco

    m = mujoco.MjModel.from_xml_string(f"<mujoco><worldbody>{arm_xml()}</worldbody></mujoco>")
    d = mujoco.MjData(m)
    geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] != 0
             and mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[g]) in ARM_LINKS]
    assert len(geoms) == len(ARM_PARTS)
    qadr = [m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n)] for n in JOINT_NAMES]
    for q in np.random.default_rng(4).uniform(-3.0, 3.0, (3, 6)):
        d.qpos[qadr] = q
        mujoco.mj_kinematics(m, d)
        poses = link_poses(q)
        for g, part in zip(geoms, ARM_PARTS, strict=True):
            assert mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[g]) == part.link
            t = poses[part.link]
            p0, p1 = (t[:3, :3] @ np.asarray(p) + t[:3, 3] for p in (part.p0, part.p1))
            np.testing.assert_allclose(d.geom_xpos[g], (p0 + p1) / 2, atol=1e-9)
            axis = d.geom_xmat[g].reshape(3, 3)[:, 2]  # along the segment, either sense
            assert abs(abs(axis @ (p1 - p0)) - np.linalg.norm(p1 - p0)) < 1e-9
            assert 2 * m.geom_size[g][1] == pytest.approx(np.linalg.norm(p1 - p0))
            assert m.geom_size[g][0] == pytest.approx(part.radius)
        # the surface samples lie on the shapes' surfaces
        pts = arm_surface_points(q, spacing=0.02)
        dist = np.full(len(pts), np.inf)
        for part in ARM_PARTS:
            t = poses[part.link]
            p0, p1 = (t[:3, :3] @ np.asarray(p) + t[:3, 3] for p in (part.p0, part.p1))
            ax = (p1 - p0) / np.linalg.norm(p1 - p0)
            s = np.clip((pts - p0) @ ax, 0.0, np.linalg.norm(p1 - p0))
            radial = np.linalg.norm(pts - p0 - s[:, None] * ax, axis=1)
            dist = np.minimum(dist, np.abs(radial - part.radius) if part.kind == "capsule" else
                              np.where(radial <= part.radius + 1e-9, 0.0, radial - part.radius))
        assert dist.max() < 1e-9


@pytest.mark.parametrize("spec, point, axis, width, placed", [
    (TALL_BOX, (0.0, 0.0, 0.125), (0.0, 1.0, 0.0), 0.05, True),
    # over its centre of mass; the simulated pads (22 mm wide) let it pivot about the jaw axis in the
    # fast move to the bin, so the drill is judged on the pick (held after the lift), not the place
    (DRILL, (0.012, 0.0, 0.078), (0.0, 1.0, 0.0), 0.044, False),
])
def test_tall_and_handled_objects_picked_without_contact_before_closing(cell, settings, spec, point, axis, width,
                                                                        placed):
    cell.reset_objects([spec], seed=3)
    cand = top_candidate(cell, spec.name, point, axis, width)
    target = validate_candidate(cand, Extrinsics.from_matrix(cell.t_base_camera), cell.joint_positions(),
                                settings.validation, now=cell.time, depth_map=depth_map(cell))
    assert not isinstance(target, Rejection), target
    assert "shallower" in target.depth_note  # the half-height heuristic would put the palm into the object
    in_bin = len(cell.objects_in_bin())
    t0 = cell.time
    result, stages = pick(cell, settings, target)
    assert [c for c in cell.robot_contacts(since=t0) if c[0] < stages["close"]] == []
    assert [c for c in cell.pad_contacts_since(t0) if c[0] < stages["close"]] == []  # not even the pads
    assert not result.collision, result.reason
    assert result.stage_reached not in ("pregrasp", "approach", "close", "lift"), result.reason  # held after lift
    assert [c for c in cell.robot_contacts(since=t0) if c[0] < stages["place"]] == []
    if placed:
        assert result.success and cell.robot_contacts(since=t0) == [], result.reason
        cell.step(150)
        assert len(cell.objects_in_bin()) == in_bin + 1


def test_blind_approach_onto_an_obstacle_stops_retreats_and_reports_collision(cell, settings):
    """Without the depth map the old depth (TCP to half the object height) drives the palm into the
    top of a 25 cm box: the contact stops the arm, it retreats along the approach, ``collision``."""
    cell.reset_objects([TALL_BOX], seed=4)
    box0 = cell.object_poses()["tall_box"][:3, 3].copy()
    cand = top_candidate(cell, "tall_box", (0.0, 0.0, 0.125), (0.0, 1.0, 0.0), 0.05)
    blind = dataclasses.replace(settings.validation, pregrasp_clearance=0.20)  # pre-grasp above the box
    target = validate_candidate(cand, Extrinsics.from_matrix(cell.t_base_camera), cell.joint_positions(),
                                blind, now=cell.time, depth_map=None)
    assert not isinstance(target, Rejection), target
    t0 = cell.time
    heights = []
    arm_execute = SimArm.execute

    def watched(self, traj):
        ok = arm_execute(self, traj)
        heights.append((cell.time, cell.tool0_pose()[2, 3], ok))
        return ok

    SimArm.execute = watched
    try:
        result, stages = pick(cell, settings, target)
    finally:
        SimArm.execute = arm_execute
    assert result.collision and result.stage_reached == "approach", result
    assert result.reason.startswith("collision during approach") and "touched tall_box" in result.reason
    contacts = cell.robot_contacts(since=t0)
    assert contacts and stages["approach"] <= contacts[0][0] <= stages["recovery"]
    # stopped where it touched: above the planned grasp; then the retreat moved straight back up
    stop_z = heights[1][1]
    assert not heights[1][2] and stop_z > target.t_base_tool0_grasp[2, 3] + 0.02
    assert heights[2][2] and heights[2][1] == pytest.approx(stop_z + settings.pick.retreat_height, abs=0.01)
    np.testing.assert_allclose(cell.joint_positions(), settings.home_joints, atol=0.02)
    # the protective stop kept the push short: the box still stands where it was
    box1 = cell.object_poses()["tall_box"]
    assert np.linalg.norm(box1[:3, 3] - box0) < 0.02 and box1[2, 2] > 0.98
