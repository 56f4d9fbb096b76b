"""UR5 kinematics, Robotiq 2F-85 mapping, hand-eye extrinsics and grasp → tool0 targets (grasp_core.robot)."""
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from grasp_core.camera import CameraIntrinsics, grasp_to_pose
from grasp_core.grasp import Grasp
from grasp_core.robot import (
    JOINT_NAMES,
    ROBOTIQ_2F85,
    T_BASE_LINK_BASE,
    UR5_DH,
    UR5_JOINT_LIMITS,
    Extrinsics,
    ExtrinsicsError,
    IKError,
    JointLimits,
    JointLimitsError,
    camera_pose_to_base,
    dh_parameters_from_yaml,
    flip_jaws,
    forward_kinematics,
    forward_kinematics_dh,
    inverse_kinematics,
    knuckle_to_opening,
    lift_pose,
    load_extrinsics,
    make_transform,
    nearest_solution,
    opening_to_knuckle,
    pregrasp_pose,
    save_extrinsics,
    top_down_tcp_pose,
)
from scipy.spatial.transform import Rotation

UR5_CONFIG = Path(__file__).resolve().parents[2] / "shared" / "data" / "ur5_ros2_description" / "config" / "ur5"
#: ur_description's UR5 numbers (kinematics, joint limits, masses) kept in the repository (source in the file).
UR5_NUMBERS = yaml.safe_load((Path(__file__).resolve().parent / "data" / "ur5_description.yaml").read_text())
TWO_PI = 2 * math.pi


def ur_kinematics_file(folder: Path) -> Path:
    """ur_description's ``default_kinematics.yaml`` layout, from :data:`UR5_NUMBERS`."""
    path = folder / "default_kinematics.yaml"
    path.write_text(yaml.safe_dump({"kinematics": UR5_NUMBERS["kinematics"]}))
    return path


def ur_joint_limits_file(folder: Path) -> Path:
    """ur_description's ``joint_limits.yaml`` layout (``!degrees`` tags), from :data:`UR5_NUMBERS`."""
    lines = ["joint_limits:"]
    for name, j in UR5_NUMBERS["joint_limits"].items():
        lines += [f"  {name}:", "    has_acceleration_limits: false", "    has_effort_limits: true",
                  "    has_position_limits: true", "    has_velocity_limits: true",
                  f"    max_effort: {j['max_effort']}", f"    max_position: !degrees {j['max_position']}",
                  f"    max_velocity: !degrees {j['max_velocity']}", f"    min_position: !degrees {j['min_position']}"]
    path = folder / "joint_limits.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrap(a):
    return (np.asarray(a) + math.pi) % TWO_PI - math.pi


def pose_error(ta, tb):
    dp = np.linalg.norm(ta[:3, 3] - tb[:3, 3])
    c = np.clip((np.trace(ta[:3, :3].T @ tb[:3, :3]) - 1) / 2, -1, 1)
    return dp, math.acos(c)


def random_q(rng, n):
    return rng.uniform(UR5_JOINT_LIMITS.lower, UR5_JOINT_LIMITS.upper, size=(n, 6))


# ------------------------------------------------------------------------------------------ UR5 kinematics

def test_joint_names_match_the_ur_driver():
    assert JOINT_NAMES == ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
                           "wrist_1_joint", "wrist_2_joint", "wrist_3_joint")


def test_fk_at_zero_matches_published_ur5_geometry():
    d1, a2, a3, d4, d5, d6 = 0.089159, -0.425, -0.39225, 0.10915, 0.09465, 0.0823
    # DH base frame (UR controller): arm stretched along -x, tool0 pointing along -y.
    t_dh = forward_kinematics_dh(np.zeros(6))
    np.testing.assert_allclose(t_dh[:3, 3], [a2 + a3, -(d4 + d6), d1 - d5], atol=1e-12)
    np.testing.assert_allclose(t_dh[:3, 3], [-0.81725, -0.19145, -0.005491], atol=1e-12)
    np.testing.assert_allclose(t_dh[:3, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    # base_link (ROS): rotated by pi about z, so x and y change sign.
    t = forward_kinematics(np.zeros(6))
    np.testing.assert_allclose(t[:3, 3], [0.81725, 0.19145, -0.005491], atol=1e-12)
    np.testing.assert_allclose(t[:3, :3], [[-1, 0, 0], [0, 0, 1], [0, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(T_BASE_LINK_BASE @ t_dh, t, atol=1e-15)


def test_fk_of_a_known_configuration():
    # Arm pointing straight up: shoulder_lift = wrist_1 = -pi/2.
    q = np.array([0.0, -math.pi / 2, 0.0, -math.pi / 2, 0.0, 0.0])
    t = forward_kinematics_dh(q)
    # Links 2-3 vertical (|a2|+|a3| up), wrist_1 turns the d5 offset upward too.
    np.testing.assert_allclose(t[:3, 3], [0.0, -(UR5_DH.d4 + UR5_DH.d6),
                                          UR5_DH.d1 + 0.425 + 0.39225 + UR5_DH.d5], atol=1e-12)


def test_fk_ik_round_trip_over_random_poses():
    rng = np.random.default_rng(7)
    counts = []
    for q in random_q(rng, 250):
        t = forward_kinematics(q)
        sols = inverse_kinematics(t)
        assert sols.shape[1] == 6 and 1 <= len(sols) <= 8
        counts.append(len(sols))
        for s in sols:
            dp, dr = pose_error(forward_kinematics(s), t)
            assert dp < 1e-6 and dr < 1e-6
        assert np.all(np.abs(sols) <= math.pi + 1e-12)  # the UR5 limits keep the principal angles
        # one of them is the configuration we started from, modulo 2 pi
        assert min(np.max(np.abs(wrap(s - q))) for s in sols) < 1e-6
    assert max(counts) == 8  # the generic case has all 8 branches


def test_ik_in_dh_frame_is_consistent():
    q = np.array([0.3, -1.2, 1.5, -0.4, 1.1, 2.0])
    sols = inverse_kinematics(T_BASE_LINK_BASE @ forward_kinematics_dh(q))
    assert min(np.max(np.abs(wrap(s - q))) for s in sols) < 1e-9


def test_ik_at_singular_configurations():
    # wrist singularity (wrist_2 = 0: wrist_1 and wrist_3 axes aligned): wrist_3 is seeded from q_current
    q = np.array([0.3, -1.2, 1.5, -0.4, 0.0, 0.7])
    t = forward_kinematics(q)
    for s in inverse_kinematics(t):
        dp, dr = pose_error(forward_kinematics(s), t)
        assert dp < 1e-6 and dr < 1e-6
    np.testing.assert_allclose(nearest_solution(t, q), q, atol=1e-6)
    # wrist singular, seed (wrist_3 = 0) far from the configuration: the arm cannot reach with the seed
    # (nearly stretched elbow), so the IK picks the reachable member of the solution family
    for q in (np.array([-1.3988, -5.4278, 0.0069, -1.5789, 0.0, 1.7327]),
              np.array([-2.5740, -0.7368, 0.7190, -1.8353, 0.0, -2.8942]),
              np.array([0.5, -1.0, 0.9, -1.2, math.pi, 2.5])):
        t = forward_kinematics(q)
        sols = inverse_kinematics(t)
        assert len(sols) >= 1
        for s in sols:
            dp, dr = pose_error(forward_kinematics(s), t)
            assert dp < 1e-6 and dr < 1e-6
    # elbow fully stretched (elbow = 0): the two elbow branches coincide
    q = np.array([0.3, -0.6, 0.0, -0.4, 1.0, 0.7])
    t = forward_kinematics(q)
    sols = inverse_kinematics(t)
    assert 1 <= len(sols) < 8
    np.testing.assert_allclose(nearest_solution(t, q), q, atol=1e-6)


def test_ik_with_limits_shifts_angles_into_range():
    q = np.array([-2.5, -1.0, 1.2, -1.5, -1.4, 0.7])
    limits = JointLimits(lower=[0, -TWO_PI, -math.pi, -TWO_PI, -TWO_PI, -TWO_PI],
                         upper=[TWO_PI, TWO_PI, math.pi, TWO_PI, TWO_PI, TWO_PI])
    sols = inverse_kinematics(forward_kinematics(q), limits=limits)
    assert len(sols) >= 1
    assert all(limits.within(s) for s in sols)
    expected = q.copy()
    expected[0] += TWO_PI
    assert min(np.max(np.abs(s - expected)) for s in sols) < 1e-9


def brute_force_distance(t, q_cur, w):
    """Smallest weighted distance over every IK solution and its in-limit 2 pi equivalents."""
    lo, hi = UR5_JOINT_LIMITS.lower, UR5_JOINT_LIMITS.upper
    best = math.inf
    for s in inverse_kinematics(t):
        opts = [[v + k * TWO_PI for k in (-2, -1, 0, 1, 2) if lo[i] <= v + k * TWO_PI <= hi[i]]
                for i, v in enumerate(s)]
        pick = np.array([min(o, key=lambda v, c=q_cur[i]: abs(v - c)) for i, o in enumerate(opts)])
        best = min(best, math.sqrt(np.sum(w * (pick - q_cur) ** 2)))
    return best


def test_nearest_solution_picks_the_closest_branch():
    rng = np.random.default_rng(3)
    for q in random_q(rng, 30):
        t = forward_kinematics(q)
        q_cur = q + rng.uniform(-0.05, 0.05, 6)
        best = nearest_solution(t, q_cur)
        assert UR5_JOINT_LIMITS.within(best)
        np.testing.assert_allclose(best, q, atol=1e-6)  # the configuration itself is the nearest
        assert np.linalg.norm(best - q_cur) <= brute_force_distance(t, q_cur, np.ones(6)) + 1e-12
        w = rng.uniform(0.1, 10.0, 6)
        q_far = random_q(rng, 1)[0]
        best_w = nearest_solution(t, q_far, weights=w)
        assert math.sqrt(np.sum(w * (best_w - q_far) ** 2)) <= brute_force_distance(t, q_far, w) + 1e-12
        dp, dr = pose_error(forward_kinematics(best_w), t)
        assert dp < 1e-6 and dr < 1e-6


def test_nearest_solution_weights_change_the_choice():
    q = np.array([0.4, -1.3, 1.4, -1.6, -1.57, 0.2])
    t = forward_kinematics(q)
    other = next(s for s in inverse_kinematics(t) if abs(wrap(s[0] - q[0])) > 0.5)  # other shoulder branch
    d = wrap(other - q)
    q_cur = q + 0.3 * d
    q_cur[0] = q[0] + 0.9 * d[0]  # pan joint nearly at the other branch, the rest near q
    arm_heavy = np.array([1e-3, 1, 1, 1, 1, 1])
    pan_heavy = np.array([1, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3])
    np.testing.assert_allclose(wrap(nearest_solution(t, q_cur, weights=arm_heavy) - q), 0, atol=1e-6)
    assert abs(wrap(nearest_solution(t, q_cur, weights=pan_heavy)[0] - other[0])) < 1e-6


def test_nearest_solution_uses_the_2pi_equivalent_near_the_current_joints():
    q = np.array([-0.4, -1.3, 1.4, -1.6, -1.57, 0.2])
    q_cur = q.copy()
    q_cur[0] += TWO_PI - 0.01  # pan joint one turn around (5.87 rad, within the ±2π limits)
    q_cur[5] -= TWO_PI
    best = nearest_solution(forward_kinematics(q), q_cur)
    np.testing.assert_allclose(best, q + [TWO_PI, 0, 0, 0, 0, -TWO_PI], atol=1e-9)


def test_nearest_solution_respects_limits():
    q = np.array([0.4, -1.3, 1.4, -1.6, -1.57, 0.2])  # elbow up (elbow > 0)
    t = forward_kinematics(q)
    elbow_down_only = JointLimits(lower=[-TWO_PI, -TWO_PI, -math.pi, -TWO_PI, -TWO_PI, -TWO_PI],
                                  upper=[TWO_PI, TWO_PI, 0.0, TWO_PI, TWO_PI, TWO_PI])
    best = nearest_solution(t, q, limits=elbow_down_only)
    assert best[2] <= 0.0 and elbow_down_only.within(best)
    dp, dr = pose_error(forward_kinematics(best), t)
    assert dp < 1e-6 and dr < 1e-6
    impossible = JointLimits(lower=[-TWO_PI, -TWO_PI, 3.0, -TWO_PI, -TWO_PI, -TWO_PI],
                             upper=[TWO_PI, TWO_PI, 3.1, TWO_PI, TWO_PI, TWO_PI])
    with pytest.raises(IKError, match="violate the joint limits"):
        nearest_solution(t, q, limits=impossible)


def test_unreachable_poses_raise_ikerror():
    far = make_transform(np.diag([1.0, -1.0, -1.0]), [1.5, 0.0, 0.3])  # beyond the ~0.95 m reach
    assert inverse_kinematics(far).shape == (0, 6)
    with pytest.raises(IKError, match="out of reach"):
        nearest_solution(far, np.zeros(6))
    # wrist centre on the base axis, inside the d4 cylinder the shoulder offset cannot reach
    inside = make_transform(np.diag([1.0, -1.0, -1.0]), [0.0, 0.0, 0.3 - UR5_DH.d6])
    assert inverse_kinematics(inside).shape == (0, 6)
    with pytest.raises(IKError):
        nearest_solution(inside, np.zeros(6))


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        forward_kinematics(np.zeros(5))
    with pytest.raises(ValueError):
        inverse_kinematics(np.eye(3))
    with pytest.raises(ValueError):
        inverse_kinematics(make_transform(2 * np.eye(3), [0.4, 0, 0.3]))


def _urdf_fk(kin: dict, q: np.ndarray) -> np.ndarray:
    """base_link → tool0 from ur_description's kinematics YAML, assembled as the URDF does it."""
    def origin(xyz, rpy):
        return make_transform(Rotation.from_euler("xyz", rpy).as_matrix(), xyz)  # URDF rpy: fixed axes

    t = origin([0, 0, 0], [0, 0, math.pi])  # base_link → base_link_inertia (same as base_link → base)
    for name, qi in zip(("shoulder", "upper_arm", "forearm", "wrist_1", "wrist_2", "wrist_3"), q, strict=True):
        j = kin[name]
        t = t @ origin([j["x"], j["y"], j["z"]], [j["roll"], j["pitch"], j["yaw"]])
        t = t @ origin([0, 0, 0], [0, 0, qi])  # revolute joints about their z axis
    t = t @ origin([0, 0, 0], [0, -math.pi / 2, -math.pi / 2])  # wrist_3_link → flange
    return t @ origin([0, 0, 0], [math.pi / 2, 0, math.pi / 2])  # flange → tool0


def test_dh_constants_match_ur_description_kinematics(tmp_path):
    path = ur_kinematics_file(tmp_path)
    assert dh_parameters_from_yaml(path) == UR5_DH
    kin = yaml.safe_load(path.read_text())["kinematics"]
    rng = np.random.default_rng(11)
    for q in [np.zeros(6), *random_q(rng, 20)]:
        dp, dr = pose_error(_urdf_fk(kin, q), forward_kinematics(q))
        assert dp < 1e-9 and dr < 1e-7  # the file rounds π/2 to 1.570796327


def test_dh_yaml_rejects_a_calibrated_geometry(tmp_path):
    path = ur_kinematics_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["kinematics"]["forearm"]["y"] = 0.002
    bad = tmp_path / "calibrated.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="forearm.y"):
        dh_parameters_from_yaml(bad)


def test_joint_limits_from_ur_description_yaml(tmp_path):
    path = ur_joint_limits_file(tmp_path)
    lim = JointLimits.from_yaml(path)
    assert lim.names == JOINT_NAMES
    np.testing.assert_allclose(lim.lower, [-TWO_PI, -TWO_PI, -math.pi, -TWO_PI, -TWO_PI, -TWO_PI])
    np.testing.assert_allclose(lim.upper, -lim.lower)
    np.testing.assert_allclose(lim.max_velocity, np.full(6, math.pi))
    assert np.all(np.isnan(lim.max_acceleration))  # UR publishes none
    np.testing.assert_allclose(lim.lower, UR5_JOINT_LIMITS.lower)
    np.testing.assert_allclose(lim.upper, UR5_JOINT_LIMITS.upper)


def test_description_numbers_match_ur_description(tmp_path):
    """test/data/ur5_description.yaml holds ur_description's numbers (checked where ../shared has the files)."""
    if not (UR5_CONFIG / "default_kinematics.yaml").is_file():
        pytest.skip(f"ur_description files not available at {UR5_CONFIG}")
    kin = yaml.safe_load((UR5_CONFIG / "default_kinematics.yaml").read_text())["kinematics"]
    kin.pop("hash", None)
    assert kin == UR5_NUMBERS["kinematics"]
    real = JointLimits.from_yaml(UR5_CONFIG / "joint_limits.yaml")
    copy = JointLimits.from_yaml(ur_joint_limits_file(tmp_path))
    for a in ("lower", "upper", "max_velocity"):
        np.testing.assert_array_equal(getattr(copy, a), getattr(real, a))
    efforts = yaml.load((UR5_CONFIG / "joint_limits.yaml").read_text(), Loader=yaml.BaseLoader)["joint_limits"]
    assert {n: float(j["max_effort"]) for n, j in efforts.items()} == {
        n: j["max_effort"] for n, j in UR5_NUMBERS["joint_limits"].items()}
    phys = yaml.safe_load((UR5_CONFIG / "physical_parameters.yaml").read_text())["inertia_parameters"]
    assert {k: phys[f"{k}_mass"] for k in UR5_NUMBERS["masses"]} == UR5_NUMBERS["masses"]


def test_joint_limits_yaml_format_and_errors(tmp_path):
    p = tmp_path / "limits.yaml"
    block = ("  {}:\n    has_acceleration_limits: true\n    max_acceleration: 2.0\n"
             "    max_velocity: !degrees 90.0\n    min_position: !radians -1.0\n    max_position: 1.0\n")
    p.write_text("joint_limits:\n" + "".join(block.format(n) for n in JOINT_NAMES))
    lim = JointLimits.from_yaml(p)
    np.testing.assert_allclose(lim.max_velocity, np.full(6, math.pi / 2))
    np.testing.assert_allclose(lim.max_acceleration, np.full(6, 2.0))
    assert lim.within([0.5] * 6) and not lim.within([1.5] + [0.0] * 5)
    p.write_text("joint_limits:\n" + "".join(block.format(n) for n in JOINT_NAMES[:5]))
    with pytest.raises(JointLimitsError, match="wrist_3_joint"):
        JointLimits.from_yaml(p)
    with pytest.raises(JointLimitsError, match="cannot read"):
        JointLimits.from_yaml(tmp_path / "missing.yaml")
    with pytest.raises(JointLimitsError, match="lower limit above"):
        JointLimits(lower=np.ones(6), upper=np.zeros(6))


# ------------------------------------------------------------------------------------------ gripper

def test_gripper_opening_knuckle_mapping():
    assert ROBOTIQ_2F85.stroke == 0.085 and ROBOTIQ_2F85.tcp_offset == 0.150
    assert opening_to_knuckle(0.085) == pytest.approx(0.0)
    assert opening_to_knuckle(0.0) == pytest.approx(0.7929)
    assert opening_to_knuckle(0.0425) == pytest.approx(0.7929 / 2)
    assert knuckle_to_opening(0.7929) == pytest.approx(0.0)
    assert knuckle_to_opening(0.8) == pytest.approx(0.0)  # past closed clips
    o = np.linspace(0, 0.085, 7)
    np.testing.assert_allclose(knuckle_to_opening(opening_to_knuckle(o)), o, atol=1e-15)
    assert opening_to_knuckle(0.2) == pytest.approx(0.0)  # clipped by default
    with pytest.raises(ValueError, match="outside"):
        opening_to_knuckle(0.2, clip=False)
    with pytest.raises(ValueError):
        opening_to_knuckle(float("nan"))
    assert ROBOTIQ_2F85.pregrasp_opening(0.05) == pytest.approx(0.06)
    assert ROBOTIQ_2F85.pregrasp_opening(0.08) == pytest.approx(0.085)
    with pytest.raises(ValueError, match="does not fit"):
        ROBOTIQ_2F85.pregrasp_opening(0.09)


# ------------------------------------------------------------------------------------------ transforms

INTR = CameraIntrinsics(640, 480, 600.0, 600.0, 320.0, 240.0)
# Camera 0.7 m above the table (z = 0 in base_link) at (0.5, 0.1), looking straight down:
# optical x → −y_base, optical y → −x_base, optical z (view ray) → −z_base.
R_BASE_CAM = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
T_BASE_CAM = make_transform(R_BASE_CAM, [0.5, 0.1, 0.7])


def test_camera_grasp_lands_at_the_expected_base_point():
    centre = grasp_to_pose(INTR, Grasp(320.0, 240.0, 0.0, 40.0, 20.0), 0.7)
    t = camera_pose_to_base(T_BASE_CAM, centre)
    np.testing.assert_allclose(t[:3, 3], [0.5, 0.1, 0.0], atol=1e-12)
    np.testing.assert_allclose(t[:3, 2], [0, 0, -1], atol=1e-12)  # approach straight down
    # 60 px right of centre at 0.7 m is 0.07 m along optical x, i.e. −y in base_link
    right = grasp_to_pose(INTR, Grasp(380.0, 240.0, 0.0, 40.0, 20.0), 0.7)
    np.testing.assert_allclose(camera_pose_to_base(T_BASE_CAM, right)[:3, 3], [0.5, 0.03, 0.0], atol=1e-12)
    # the Extrinsics object works in place of the matrix
    ext = Extrinsics.from_matrix(T_BASE_CAM)
    np.testing.assert_allclose(camera_pose_to_base(ext, centre), t, atol=1e-12)


def test_extrinsics_yaml_round_trip(tmp_path):
    q = Rotation.from_euler("xyz", [170, 5, -30], degrees=True).as_quat()
    ext = Extrinsics([0.4, -0.2, 0.8], q)
    path = save_extrinsics(tmp_path / "calib" / "camera.yaml", ext)
    data = yaml.safe_load(path.read_text())
    assert data["parent_frame"] == "base_link" and data["child_frame"] == "camera_depth_optical_frame"
    assert len(data["translation"]) == 3 and len(data["rotation"]) == 4
    back = load_extrinsics(path, parent_frame="base_link", child_frame="camera_depth_optical_frame")
    np.testing.assert_allclose(back.matrix, ext.matrix, atol=1e-12)
    np.testing.assert_allclose(back.matrix[:3, :3], Rotation.from_quat(q).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(Extrinsics.from_matrix(back.matrix).matrix, ext.matrix, atol=1e-12)


@pytest.mark.parametrize("content, message", [
    ("parent_frame: base_link\nchild_frame: cam\ntranslation: [0, 0, 1]\n", "missing key"),
    ("parent_frame: base_link\nchild_frame: cam\ntranslation: [0, 0]\nrotation: [0, 0, 0, 1]\n", "translation"),
    ("parent_frame: base_link\nchild_frame: cam\ntranslation: [0, 0, 1]\nrotation: [0.1, 0.2, 0.3]\n",
     "quaternion"),
    ("parent_frame: base_link\nchild_frame: cam\ntranslation: [0, 0, 1]\nrotation: [3.1, 0, 0, 0.5]\n", "norm"),
    ("parent_frame: base_link\nchild_frame: ''\ntranslation: [0, 0, 1]\nrotation: [0, 0, 0, 1]\n", "frame"),
    ("- just\n- a list\n", "mapping"),
    ("translation: [0, 0, {\n", "cannot read"),
])
def test_bad_extrinsics_files_raise(tmp_path, content, message):
    p = tmp_path / "bad.yaml"
    p.write_text(content)
    with pytest.raises(ExtrinsicsError, match=message):
        load_extrinsics(p)


def test_extrinsics_missing_file_and_wrong_frames(tmp_path):
    with pytest.raises(ExtrinsicsError, match="cannot read"):
        load_extrinsics(tmp_path / "nope.yaml")
    path = save_extrinsics(tmp_path / "e.yaml", Extrinsics([0, 0, 1], [0, 0, 0, 1], "camera_link", "base_link"))
    with pytest.raises(ExtrinsicsError, match="parent_frame is 'camera_link'"):
        load_extrinsics(path, parent_frame="base_link")


def test_top_down_tcp_pose_axes_and_offsets():
    # closing along image +u (angle 0) = optical x = −y of base_link
    g = grasp_to_pose(INTR, Grasp(320.0, 240.0, 0.0, 40.0, 20.0), 0.7)
    t = top_down_tcp_pose(T_BASE_CAM, g, tcp_offset=0.15)
    np.testing.assert_allclose(t[:3, 2], [0, 0, -1], atol=1e-12)  # tool0 z = approach = table normal down
    np.testing.assert_allclose(t[:3, 1], [0, -1, 0], atol=1e-12)  # tool0 y = jaw closing direction
    np.testing.assert_allclose(t[:3, 0], [1, 0, 0], atol=1e-12)  # x = y × z
    np.testing.assert_allclose(t[:3, 3], [0.5, 0.1, 0.15], atol=1e-12)  # TCP offset above the grasp point
    deeper = top_down_tcp_pose(T_BASE_CAM, g, tcp_offset=0.15, grasp_depth=0.02)
    np.testing.assert_allclose(deeper[:3, 3], [0.5, 0.1, 0.13], atol=1e-12)
    np.testing.assert_allclose(pregrasp_pose(t, 0.1)[:3, 3], [0.5, 0.1, 0.25], atol=1e-12)
    np.testing.assert_allclose(lift_pose(t, 0.2)[:3, 3], [0.5, 0.1, 0.35], atol=1e-12)
    np.testing.assert_allclose(flip_jaws(t)[:3, 1], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(flip_jaws(t)[:3, 2], t[:3, 2], atol=1e-12)
    # gripper whose jaws close along tool0 −x (TCP frame = tool0 turned +90° about z)
    yawed = top_down_tcp_pose(T_BASE_CAM, g, tcp_offset=0.15, gripper_yaw=math.pi / 2)
    np.testing.assert_allclose(-yawed[:3, 0], t[:3, 1], atol=1e-12)  # −x of tool0 along the closing line
    np.testing.assert_allclose(yawed[:3, 1], t[:3, 0], atol=1e-12)
    np.testing.assert_allclose(yawed[:3, 3], t[:3, 3], atol=1e-12)
    # the target is reachable and IK lands on it
    q = nearest_solution(t, np.array([0.0, -1.57, 1.57, -1.57, -1.57, 0.0]))
    dp, dr = pose_error(forward_kinematics(q), t)
    assert dp < 1e-9 and dr < 1e-9


def test_top_down_tcp_pose_from_a_tilted_camera():
    # camera pitched 20° about base x: the view ray is no longer vertical
    r = Rotation.from_euler("x", 20, degrees=True).as_matrix() @ R_BASE_CAM
    t_bc = make_transform(r, [0.5, 0.1, 0.7])
    g = grasp_to_pose(INTR, Grasp(300.0, 260.0, 0.6, 40.0, 20.0), 0.72)
    t_grasp = camera_pose_to_base(t_bc, g)
    t = top_down_tcp_pose(t_bc, g, tcp_offset=0.15)
    np.testing.assert_allclose(t[:3, 2], [0, 0, -1], atol=1e-12)
    assert abs(t[2, 1]) < 1e-12  # jaws horizontal
    y_proj = t_grasp[:3, 1] * [1, 1, 0]
    np.testing.assert_allclose(t[:3, 1], y_proj / np.linalg.norm(y_proj), atol=1e-12)
    np.testing.assert_allclose(t[:3, 3], t_grasp[:3, 3] + [0, 0, 0.15], atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(t[:3, :3]), 1.0, atol=1e-12)
    free = top_down_tcp_pose(t_bc, g, tcp_offset=0.15, vertical_approach=False)
    np.testing.assert_allclose(free[:3, :3], t_grasp[:3, :3], atol=1e-12)  # keeps the view-ray approach
    np.testing.assert_allclose(free[:3, 3], t_grasp[:3, 3] - 0.15 * t_grasp[:3, 2], atol=1e-12)


def test_top_down_rejects_a_vertical_jaw_direction():
    t_camera_grasp = make_transform(Rotation.from_euler("x", 90, degrees=True).as_matrix(), [0, 0, 0.7])
    # in base_link the grasp's y (closing) axis becomes vertical
    with pytest.raises(ValueError, match="vertical"):
        top_down_tcp_pose(T_BASE_CAM, t_camera_grasp)
