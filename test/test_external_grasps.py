"""Grasps from other robot software, ROS-free parts (issue 18).

Specification:
* a planar image grasp (camera optical frame, approach along the viewing ray through its point:
  what our detectors publish) is executed top-down (tool0 z = -z of base_link), also from a tilted
  camera and at the image corner, where the ray is more than the cone away from vertical;
* any other (6-DoF) grasp keeps its own approach within ``approach_cone_deg`` of vertical, is
  rejected with its angle outside it, or made vertical only with ``project_approach_to_vertical``;
  a base_link grasp is never taken for a planar one;
* the image-space rectangle of a 3-D grasp (the adapter's projection) inverts the detector's
  deprojection;
* the adapter's conversions: PoseArray pose → candidate (image fields absent), moveit_msgs/Grasp
  (opening from the 2F-85 knuckle in grasp_posture, quality, grasp point past tool0), image fields
  filled from the camera;
* the executor's depth cache serves other software's stamps with the nearest image within max_dt.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from grasp_core.camera import CameraIntrinsics, grasp_to_pose, project_grasp
from grasp_core.config import ExecutorConfig
from grasp_core.grasp import Grasp, angle_difference
from grasp_core.motion import HOME_JOINTS, GraspTarget, Rejection, validate_candidate
from grasp_core.motion.validation import (
    APPROACH_ANGLE,
    AS_GIVEN,
    PROJECTED,
    TOP_DOWN,
    CameraGrasp,
    approach_angle_deg,
    is_planar_image_grasp,
)
from grasp_core.robot import Extrinsics, load_extrinsics, make_transform
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[1]
EXTRINSICS = load_extrinsics(REPO / "config" / "camera_extrinsics.yaml")
INTR = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)
VCFG = ExecutorConfig().validation_config()


def tilted_grasp(angle_deg: float, point=(0.5, 0.0, 0.06), about_y: bool = True) -> np.ndarray:
    """(4, 4) base_link grasp at ``point``: approach tilted ``angle_deg`` from -z (towards +x), jaws along y."""
    a = math.radians(angle_deg)
    z = np.array([math.sin(a), 0.0, -math.cos(a)])
    y = np.array([0.0, 1.0, 0.0])
    return make_transform(np.stack([np.cross(y, z), y, z], axis=1), point)


def base_candidate(t, opening=0.04) -> CameraGrasp:
    return CameraGrasp(t[:3, 3].copy(), t[:3, :3].copy(), opening, 0.9, "base_link", 10.0)


def validate_base(t, config=VCFG):
    # as the executor calls it: T_base_frame = identity, the expected frame the candidate's
    return validate_candidate(base_candidate(t), np.eye(4), HOME_JOINTS, replace(config, camera_frame="base_link"),
                              now=10.0, optical_frame=False)


def test_planar_image_grasps_stay_top_down_even_from_a_tilted_camera():
    # the repository's camera looks straight down; tilt it 20 deg about base y, keeping it over the pick area
    tilt = Rotation.from_euler("y", -20, degrees=True).as_matrix()
    m = EXTRINSICS.matrix.copy()
    m[:3, :3] = tilt @ m[:3, :3]
    m[:3, 3] = [0.5 - 0.7 * math.tan(math.radians(20)), 0.0, 0.7]
    tilted = Extrinsics.from_matrix(m)
    for extr in (EXTRINSICS, tilted):
        t_camera_base = np.linalg.inv(extr.matrix)
        for base_point, corner in (((0.5, 0.0, 0.04), False), ((0.62, 0.1, 0.04), True)):
            p_cam = t_camera_base[:3, :3] @ np.array(base_point) + t_camera_base[:3, 3]
            u, v = INTR.fx * p_cam[0] / p_cam[2] + INTR.cx, INTR.fy * p_cam[1] / p_cam[2] + INTR.cy
            pose = grasp_to_pose(INTR, Grasp(u, v, 0.3, 40.0, 20.0, 0.9), float(p_cam[2]))
            cand = CameraGrasp.from_grasp_pose(pose, 0.9, extr.child_frame, 10.0)
            assert is_planar_image_grasp(cand.position, cand.rotation)
            ray_angle = approach_angle_deg(extr.matrix[:3, :3] @ pose.rotation)
            out = validate_candidate(cand, extr, HOME_JOINTS, VCFG, now=10.0)
            assert isinstance(out, GraspTarget), (extr.matrix, base_point, out)
            assert out.approach == TOP_DOWN and out.approach_angle_deg == pytest.approx(ray_angle)
            np.testing.assert_allclose(out.t_base_tool0_grasp[:3, 2], [0, 0, -1], atol=1e-9)
            if extr is tilted and corner:
                assert ray_angle > VCFG.approach_cone_deg  # a 6-DoF grasp this far off would be refused


def test_six_dof_grasp_within_the_cone_is_executed_as_given():
    t = tilted_grasp(20.0)
    out = validate_base(t)
    assert isinstance(out, GraspTarget), out
    assert out.approach == AS_GIVEN and out.approach_angle_deg == pytest.approx(20.0)
    g = out.t_base_tool0_grasp
    assert approach_angle_deg(g) == pytest.approx(20.0, abs=1e-6)
    np.testing.assert_allclose(g[:3, 2], t[:3, 2], atol=1e-9)  # tool0 z = the candidate's approach
    # the TCP lies on the approach line through the grasp point, past it
    d = out.tcp_point - t[:3, 3]
    assert np.linalg.norm(np.cross(d, t[:3, 2])) < 1e-9 and d @ t[:3, 2] > 0
    # the pre-grasp is backed off along that approach
    np.testing.assert_allclose(out.t_base_tool0_pregrasp[:3, 3], g[:3, 3] - VCFG.pregrasp_clearance * g[:3, 2],
                               atol=1e-9)


def test_six_dof_grasp_outside_the_cone_is_rejected_with_its_angle_or_projected_on_request():
    t = tilted_grasp(45.0)
    out = validate_base(t)
    assert isinstance(out, Rejection) and out.code == APPROACH_ANGLE, out
    assert "45.0 deg" in out.reason and "30 deg cone" in out.reason
    wide = ExecutorConfig(approach_cone_deg=50.0).validation_config()
    assert validate_base(t, wide).approach == AS_GIVEN
    projected = ExecutorConfig(project_approach_to_vertical=True).validation_config()
    out = validate_base(t, projected)
    assert isinstance(out, GraspTarget) and out.approach == PROJECTED, out
    assert out.approach_angle_deg == pytest.approx(45.0)
    np.testing.assert_allclose(out.t_base_tool0_grasp[:3, 2], [0, 0, -1], atol=1e-9)
    # a candidate pointing up is outside any cone up to 90 deg
    up = validate_base(tilted_grasp(180.0), ExecutorConfig(approach_cone_deg=90.0).validation_config())
    assert isinstance(up, Rejection) and up.code == APPROACH_ANGLE and "180.0 deg" in up.reason
    with pytest.raises(ValueError, match="approach_cone_deg"):
        ExecutorConfig(approach_cone_deg=120.0).validate()


def test_a_base_link_grasp_along_its_position_vector_is_not_planar():
    # approach along the base origin -> point ray: would look "planar" if base_link were a camera frame
    p = np.array([0.5, 0.0, 0.06])
    z = p / np.linalg.norm(p)  # 83 deg from vertical
    y = np.array([0.0, 1.0, 0.0])
    t = make_transform(np.stack([np.cross(y, z), y, z], axis=1), p)
    assert is_planar_image_grasp(p, t[:3, :3])
    out = validate_base(t)
    assert isinstance(out, Rejection) and out.code == APPROACH_ANGLE, out


def test_projection_inverts_the_detector_deprojection():
    for u, v, angle, width in ((320.0, 240.0, 0.0, 40.0), (100.5, 400.0, 1.2, 60.0), (600.0, 30.0, -0.7, 25.0)):
        pose = grasp_to_pose(INTR, Grasp(u, v, angle, width, 20.0, 0.8), 0.65)
        g = project_grasp(INTR, pose.position, pose.rotation, pose.opening, 0.022, 0.8)
        assert g is not None
        assert (g.u, g.v) == (pytest.approx(u, abs=1e-6), pytest.approx(v, abs=1e-6))
        assert angle_difference(g.angle, angle) < 0.01
        assert -math.pi / 2 < g.angle <= math.pi / 2
        if (u, v) == (320.0, 240.0):  # on the axis the detector's fronto-parallel opening is exact
            assert g.width_px == pytest.approx(width, rel=0.01)
            assert g.length_px == pytest.approx(0.022 * 525.0 / 0.65, rel=0.01)
    # a fronto-parallel grasp anywhere in the image: width_px = opening * f / z exactly
    rot = Rotation.from_euler("z", 0.4).as_matrix()  # jaws in the image plane, approach along optical z
    g = project_grasp(INTR, [-0.2, 0.1, 0.6], rot, 0.05, 0.022)
    assert g.width_px == pytest.approx(0.05 * 525.0 / 0.6) and g.length_px == pytest.approx(0.022 * 525.0 / 0.6)
    assert (g.u, g.v) == (pytest.approx(319.5 - 0.2 * 525 / 0.6), pytest.approx(239.5 + 0.1 * 525 / 0.6))
    eye = np.eye(3)
    assert project_grasp(INTR, [0.0, 0.0, -0.5], eye, 0.04, 0.022) is None  # behind the camera
    assert project_grasp(INTR, [2.0, 0.0, 0.5], eye, 0.04, 0.022) is None  # outside the image


# ------------------------------------------------------------------------------ adapter conversions

msgs = pytest.importorskip("geometry_msgs.msg")
pytest.importorskip("grasp_interfaces.msg")


def _pose(position, quat_xyzw):
    p = msgs.Pose()
    p.position.x, p.position.y, p.position.z = (float(v) for v in position)
    p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = (float(v) for v in quat_xyzw)
    return p


def test_pose_and_moveit_grasp_conversions():
    from grasp_core.robot import ROBOTIQ_2F85, TCP_OFFSET
    from grasp_executor.candidate_adapter import fill_image_fields, moveit_grasps_to_candidates, pose_to_candidate
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    down = Rotation.from_matrix(tilted_grasp(0.0)[:3, :3]).as_quat()
    c = pose_to_candidate(_pose((0.5, 0.0, 0.05), down), 0.03, 0.7, "gpd")
    assert c.pose_valid and c.opening == pytest.approx(0.03) and c.quality == pytest.approx(0.7)
    assert c.model_id == "gpd" and all(math.isnan(getattr(c, f)) for f in
                                       ("center_u", "center_v", "angle", "width_px", "length_px", "depth"))

    # moveit_msgs is not installable on the pip path: a stand-in with moveit_msgs/Grasp's field names,
    # built from the real sub-messages (PoseStamped, JointTrajectory)
    ps = msgs.PoseStamped()
    ps.header.frame_id = "base_link"
    ps.header.stamp.sec = 7
    ps.pose = _pose((0.5, 0.0, 0.25), down)  # tool0 0.25 m up, pointing down
    posture = JointTrajectory(joint_names=["other_joint", ROBOTIQ_2F85.joint_name])
    knuckle = float(ROBOTIQ_2F85.opening_to_knuckle(0.035))
    posture.points.append(JointTrajectoryPoint(positions=[0.0, knuckle]))
    grasp = SimpleNamespace(grasp_pose=ps, grasp_posture=posture, grasp_quality=0.6)
    no_joint = SimpleNamespace(grasp_pose=ps, grasp_posture=JointTrajectory(), grasp_quality=0.6)
    elsewhere = SimpleNamespace(grasp_pose=msgs.PoseStamped(), grasp_posture=posture, grasp_quality=0.6)
    arr = moveit_grasps_to_candidates([grasp, no_joint, elsewhere], TCP_OFFSET, "mtc")
    assert arr.header.frame_id == "base_link" and arr.header.stamp.sec == 7 and len(arr.candidates) == 2
    first = arr.candidates[0]
    assert first.opening == pytest.approx(0.035, abs=1e-6) and first.quality == pytest.approx(0.6)
    assert first.pose.position.z == pytest.approx(0.25 - TCP_OFFSET)  # the grasp point, past tool0
    assert math.isnan(arr.candidates[1].opening)  # no 2F-85 joint: unknown, the executor rejects it
    with pytest.raises(ValueError):
        moveit_grasps_to_candidates([], TCP_OFFSET)

    # image fields: the grasp point (0.5, 0, 0.10) in base_link is at the image centre, 0.60 m away
    arr.image_width = 99
    assert fill_image_fields(arr, None, None) == 0 and arr.image_width == 0
    n = fill_image_fields(arr, INTR, np.linalg.inv(EXTRINSICS.matrix))
    assert n == 2 and (arr.image_width, arr.image_height) == (640, 480)
    assert (first.center_u, first.center_v) == (pytest.approx(319.5), pytest.approx(239.5))
    assert first.depth == pytest.approx(0.60) and first.width_px == pytest.approx(0.035 * 525 / 0.60, rel=1e-3)
    # jaws along base y = image -u: angle 0 (mod pi)
    assert angle_difference(first.angle, 0.0) < 1e-6


def test_depth_cache_serves_other_softwares_stamps_with_the_nearest_image():
    pytest.importorskip("rclpy")
    from grasp_executor.depth_cache import DepthCache

    cache = DepthCache()
    cache.info = INTR
    depth = np.full((480, 640), 0.7, np.float32)
    for s in (10.0, 10.33, 10.67):
        cache.add(s, depth, "camera_depth_optical_frame")
    t_base = {"camera_depth_optical_frame": EXTRINSICS.matrix}.get
    assert cache.collision_map(10.33, t_base)[0] is not None  # our detector: the image itself
    assert cache.collision_map(10.5, t_base)[0] is None  # no fallback asked
    dmap, why = cache.collision_map(10.5, t_base, max_dt=1.0)
    assert dmap is not None and why == ""
    dmap, why = cache.collision_map(12.0, t_base, max_dt=1.0)
    assert dmap is None and "within 1 s" in why
