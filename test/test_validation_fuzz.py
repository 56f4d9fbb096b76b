"""Property-based fuzz tests (hypothesis) of candidate validation and the executor's candidate conversion.

Random candidates — any floats (NaN, inf, huge), any rotation matrix entries, any quaternion, any
frame, stamp, quality and opening — never raise out of :func:`grasp_core.motion.validate_candidate`
or :func:`grasp_executor.conversions.candidate_input` (other than the documented ``BadCandidate``),
and whatever passes satisfies every invariant the executor relies on: finite, a proper rotation,
quality in [0, 1], opening within the stroke, fresh, grasp point in the workspace and above the
table, IK solutions that reach the poses within the joint limits, an approach within the cone of
vertical (or vertical).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from grasp_core.motion import HOME_JOINTS, CameraGrasp, GraspTarget, Rejection, ValidationConfig  # noqa: E402
from grasp_core.motion.validation import AS_GIVEN, approach_angle_deg  # noqa: E402
from grasp_core.robot import STROKE, UR5_JOINT_LIMITS, forward_kinematics, load_extrinsics  # noqa: E402
from grasp_core.robot.transforms import CAMERA_FRAME  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NOW = 100.0
CFG = ValidationConfig()
anyfloat = st.floats(allow_nan=True, allow_infinity=True, width=64)
#: values near the interesting range (the camera looks down 0.70 m onto the table)
nearfloat = st.one_of(st.floats(-1.0, 1.0), anyfloat)


@pytest.fixture(scope="module")
def extrinsics(repo_root):
    return load_extrinsics(repo_root / "config" / "camera_extrinsics.yaml")


def _rotation(draw_kind, data):
    from scipy.spatial.transform import Rotation

    if draw_kind == "topdown":  # approach near the optical axis, any yaw: what detectors publish
        yaw, a, b = (data.draw(st.floats(-math.pi, math.pi)), data.draw(st.floats(-0.3, 0.3)),
                     data.draw(st.floats(-0.3, 0.3)))
        return Rotation.from_euler("zyx", [yaw, a, b]).as_matrix()
    if draw_kind == "proper":
        q = data.draw(st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda v: np.linalg.norm(v) > 1e-3))
        return Rotation.from_quat(q).as_matrix()
    return np.array(data.draw(st.lists(nearfloat, min_size=9, max_size=9))).reshape(3, 3)


def check_invariants(target: GraspTarget, extrinsics) -> None:
    assert np.all(np.isfinite(target.t_base_tool0_grasp))
    r = target.t_base_tool0_grasp[:3, :3]
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-6)
    assert np.linalg.det(r) > 0
    assert 0.0 <= target.quality <= 1.0
    assert 0.0 <= target.object_width <= STROKE
    assert abs(NOW - target.stamp) <= CFG.max_age_s
    assert CFG.workspace.contains(target.surface_point)
    assert target.surface_point[2] >= CFG.table_z - CFG.table_margin
    assert target.tcp_point[2] >= CFG.min_tcp_z - 1e-9
    # the approach executed: the candidate's own within the cone, else vertical (issue 18)
    if target.approach == AS_GIVEN:
        assert approach_angle_deg(target.t_base_tool0_grasp) <= CFG.approach_cone_deg + 1e-6
    else:
        np.testing.assert_allclose(target.t_base_tool0_grasp[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)
    for q, pose in ((target.q_pregrasp, target.t_base_tool0_pregrasp), (target.q_grasp, target.t_base_tool0_grasp),
                    (target.q_lift, target.t_base_tool0_lift)):
        assert UR5_JOINT_LIMITS.within(q)
        np.testing.assert_allclose(forward_kinematics(q), pose, atol=1e-6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(["topdown", "topdown", "proper", "any"]),
       frame=st.sampled_from([CAMERA_FRAME] * 4 + ["base_link", "", "camera_color_optical_frame", "x" * 300]))
def test_random_candidates_never_crash_and_never_pass_invalid(extrinsics, data, kind, frame):
    if data.draw(st.booleans()):  # plausible: a point on an object in front of the camera, sane fields
        pos = np.array([data.draw(st.floats(-0.15, 0.15)), data.draw(st.floats(-0.15, 0.15)),
                        data.draw(st.floats(0.45, 0.72))])
        opening, quality = data.draw(st.floats(0, 0.09)), data.draw(st.floats(-0.1, 1.1))
        stamp = NOW + data.draw(st.floats(-1.5, 1.5))
    else:  # anything at all
        pos = np.array(data.draw(st.lists(nearfloat, min_size=3, max_size=3)))
        opening, quality, stamp = data.draw(anyfloat), data.draw(anyfloat), NOW + data.draw(anyfloat)
    cand = CameraGrasp(pos, _rotation(kind, data), opening, quality, frame, stamp)
    out = validate_candidate_safe(cand, extrinsics)
    assert isinstance(out, (GraspTarget, Rejection))
    event("passed" if isinstance(out, GraspTarget) else f"rejected: {out.code}")
    if isinstance(out, GraspTarget):
        assert frame == CAMERA_FRAME
        check_invariants(out, extrinsics)


def validate_candidate_safe(cand, extrinsics):
    from grasp_core.motion import validate_candidate

    return validate_candidate(cand, extrinsics, HOME_JOINTS, CFG, now=NOW)


@settings(max_examples=200, deadline=None)
@given(q=st.lists(anyfloat, min_size=4, max_size=4), p=st.lists(anyfloat, min_size=3, max_size=3),
       opening=anyfloat, quality=anyfloat, valid=st.booleans(), sec=st.integers(-2**31, 2**31 - 1),
       nanosec=st.integers(0, 999_999_999))
def test_candidate_messages_convert_or_raise_bad_candidate(q, p, opening, quality, valid, sec, nanosec):
    pytest.importorskip("grasp_interfaces")
    from grasp_executor.conversions import BadCandidate, candidate_input
    from std_msgs.msg import Header

    from grasp_interfaces.msg import GraspCandidate

    c = GraspCandidate()
    c.pose.orientation.x, c.pose.orientation.y, c.pose.orientation.z, c.pose.orientation.w = q
    c.pose.position.x, c.pose.position.y, c.pose.position.z = p
    c.opening, c.quality, c.pose_valid = opening, quality, valid
    h = Header(frame_id=CAMERA_FRAME)
    h.stamp.sec, h.stamp.nanosec = sec, nanosec
    try:
        g = candidate_input(c, h)
    except BadCandidate as exc:
        assert exc.code in ("non_finite", "invalid")
        n = float(np.linalg.norm(q))
        assert not math.isfinite(n) or abs(n - 1.0) > 0.01
        return
    n = float(np.linalg.norm(q))
    assert abs(n - 1.0) <= 0.01  # never silently normalised from far off
    np.testing.assert_allclose(g.rotation.T @ g.rotation, np.eye(3), atol=1e-9)
    if not valid:
        assert np.all(np.isnan(g.position))
    assert g.stamp == pytest.approx(sec + nanosec * 1e-9)
