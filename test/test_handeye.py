"""Eye-to-hand calibration (grasp_core.calibration.handeye, grasp-handeye): solver on synthetic
poses with a known answer, ChArUco detection on an image warped under a known pose, the whole
calibration in the MuJoCo cell, the CLI."""
from __future__ import annotations

import math
import os

import cv2
import numpy as np
import pytest
from grasp_core.calibration import (
    BoardSpec,
    check_rotation_diversity,
    default_board_mount,
    detect_board,
    loop_residuals,
    pose_error,
    project_board,
    propose_poses,
    solve_eye_to_hand,
)
from grasp_core.camera import CameraIntrinsics
from grasp_core.robot import forward_kinematics, load_extrinsics, make_transform
from scipy.spatial.transform import Rotation

os.environ.setdefault("MUJOCO_GL", "egl")

INTR = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)
#: The shipped camera pose: 0.70 m above (0.5, 0), looking down.
T_BASE_CAMERA = make_transform(Rotation.from_quat([0.7071067811865476, -0.7071067811865476, 0, 0]).as_matrix(),
                               [0.5, 0.0, 0.7])


def _random_problem(n: int, seed: int):
    """Random tool poses in the workspace (±30° about a top-down orientation), a known mount and camera."""
    rng = np.random.default_rng(seed)
    y = make_transform(Rotation.from_euler("xyz", [3, -2, 7], degrees=True).as_matrix(), [0.09, -0.08, 0.01])
    down = Rotation.from_euler("x", 180, degrees=True)
    a = []
    for _ in range(n):
        tilt = Rotation.from_rotvec(rng.normal(size=3) * math.radians(15)) * down
        a.append(make_transform(tilt.as_matrix(), [rng.uniform(0.3, 0.7), rng.uniform(-0.2, 0.2),
                                                   rng.uniform(0.25, 0.4)]))
    a = np.array(a)
    b = np.linalg.inv(T_BASE_CAMERA) @ a @ y
    return a, b, y, rng


def test_solver_exact_poses_recover_camera():
    a, b, y, _ = _random_problem(10, 0)
    res = solve_eye_to_hand(a, b)
    rot_deg, trans_mm = pose_error(res.t_base_camera, T_BASE_CAMERA)
    assert rot_deg < 1e-6 and trans_mm < 1e-6  # (1e-9 m)
    assert max(pose_error(res.closed_form_t_base_camera, T_BASE_CAMERA)) < 1e-6  # closed form alone
    assert max(pose_error(res.t_tool0_board, y)) < 1e-6
    assert res.residuals.max_translation_mm < 1e-6 and res.residuals.max_rotation_deg < 1e-6
    assert res.n_samples == 10


def test_solver_noisy_poses_within_tolerance():
    a, b, _, rng = _random_problem(15, 1)
    noisy = np.array([bi @ make_transform(Rotation.from_rotvec(rng.normal(size=3) * math.radians(0.1)).as_matrix(),
                                          rng.normal(size=3) * 0.0005) for bi in b])
    res = solve_eye_to_hand(a, noisy)
    rot_deg, trans_mm = pose_error(res.t_base_camera, T_BASE_CAMERA)
    assert trans_mm < 3.0 and rot_deg < 0.3, (trans_mm, rot_deg)
    # residual statistics are consistent with the noise put in (per-axis 0.5 mm, 0.1 deg)
    assert 0.2 < res.residuals.rms_translation_mm < 3.0
    assert 0.02 < res.residuals.rms_rotation_deg < 0.5
    stats = loop_residuals(res.t_base_camera, res.t_tool0_board, a, noisy)
    assert stats.rotation_deg.shape == (15,) and np.allclose(stats.translation_mm, res.residuals.translation_mm)


def test_solver_rejects_degenerate_and_bad_input():
    a, b, y, _ = _random_problem(6, 2)
    with pytest.raises(ValueError, match="at least 3"):
        solve_eye_to_hand(a[:2], b[:2])
    with pytest.raises(ValueError, match="6 robot poses but 5 board poses"):
        solve_eye_to_hand(a, b[:5])
    with pytest.raises(ValueError, match=r"\(N, 4, 4\)"):
        solve_eye_to_hand(a[:, :3], b)
    bad = a.copy()
    bad[1, :3, :3] *= 2.0
    with pytest.raises(ValueError, match=r"t_base_tool0\[1\] is not a rigid transform"):
        solve_eye_to_hand(bad, b)
    # every rotation about one (vertical) axis: the rotation about the other axes is unobservable
    base = make_transform(Rotation.from_euler("x", 180, degrees=True).as_matrix(), [0.5, 0.0, 0.3])
    one_axis = np.array([make_transform(Rotation.from_euler("z", ang, degrees=True).as_matrix(), [0.1 * k, 0.05, 0])
                         @ base for k, ang in enumerate([0, 20, 45, -30, 70])])
    b1 = np.linalg.inv(T_BASE_CAMERA) @ one_axis @ y
    with pytest.raises(ValueError, match="about one axis"):
        solve_eye_to_hand(one_axis, b1)
    # pure translations
    shifts = np.array([make_transform(np.eye(3), [0.05 * k, -0.03 * k, 0.01 * k]) @ base for k in range(5)])
    with pytest.raises(ValueError, match="less than"):
        check_rotation_diversity(shifts)


def _warp_board(board: BoardSpec, t_camera_board, s: int = 60) -> np.ndarray:
    """The printed plate imaged under T_camera_board by a pinhole camera (homography, grey background)."""
    tex = board.image(px_per_square=s)
    delta = board.square_length / s  # m per texture pixel
    m_px = round(board.margin / board.square_length * s)
    # texture pixel (c, r) (pixel centres at integers) → board (x, y): x = (c + 0.5 − m_px)·δ
    tex_to_board = np.array([[delta, 0, (0.5 - m_px) * delta], [0, delta, (0.5 - m_px) * delta], [0, 0, 1]])
    r, t = t_camera_board[:3, :3], t_camera_board[:3, 3]
    h = INTR.K @ np.column_stack([r[:, 0], r[:, 1], t]) @ tex_to_board
    return cv2.warpPerspective(tex, h, (INTR.width, INTR.height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=110)


def test_detect_board_recovers_known_pose():
    board = BoardSpec()
    for k, (rx, ry, rz) in enumerate([(0, 0, 10), (20, -10, -25), (-15, 25, 40)]):
        r = Rotation.from_euler("xyz", [rx, ry, rz], degrees=True).as_matrix()
        t_cb = make_transform(r, [0.0, 0.0, 0.38 + 0.03 * k] - r @ board.centre)
        obs = detect_board(_warp_board(board, t_cb), INTR, board)
        assert obs is not None and obs.n_corners >= 10
        rot_deg, trans_mm = pose_error(obs.t_camera_board, t_cb)
        assert rot_deg < 0.3 and trans_mm < 1.5, (k, rot_deg, trans_mm)
        assert obs.reprojection_rms < 0.5
        # the corners land where the known pose projects them
        assert np.abs(obs.image_points - project_board(t_cb, INTR, obs.object_points)).max() < 1.0
    # RGB input works the same; no board → None; wrong size → ValueError
    rgb = cv2.cvtColor(_warp_board(board, t_cb), cv2.COLOR_GRAY2RGB)
    assert detect_board(rgb, INTR, board) is not None
    assert detect_board(np.full((480, 640), 128, np.uint8), INTR, board) is None
    with pytest.raises(ValueError, match="intrinsics are 640x480"):
        detect_board(np.zeros((240, 320), np.uint8), INTR, board)


def test_board_spec_validation_and_round_trip():
    b = BoardSpec(squares_x=6, squares_y=5, square_length=0.03, marker_length=0.022, dictionary="DICT_5X5_100")
    assert BoardSpec.from_dict(b.to_dict()) == b
    assert b.corner_points().shape == (20, 3)
    assert np.allclose(b.corner_points(), b.cv_board().getChessboardCorners(), atol=1e-7)
    with pytest.raises(ValueError, match="marker_length < square_length"):
        BoardSpec(marker_length=0.05)
    with pytest.raises(ValueError, match="unknown ArUco dictionary"):
        BoardSpec(dictionary="DICT_9X9")
    with pytest.raises(ValueError, match="unknown board key"):
        BoardSpec.from_dict({"squares": 5})


def test_propose_poses_are_reachable_and_show_the_board():
    board = BoardSpec()
    mount = default_board_mount(board)
    q0 = np.array([math.pi / 2, -1.9, 2.3, -1.97, -1.5708, 0.0])
    poses = propose_poses(T_BASE_CAMERA, INTR, board, mount, 10, q0, seed=1)
    assert len(poses) == 10
    tilts = []
    for p in poses:
        assert np.allclose(forward_kinematics(p.q), p.t_base_tool0, atol=1e-9)
        t_cb = np.linalg.inv(T_BASE_CAMERA) @ p.t_base_tool0 @ mount
        assert np.allclose(t_cb, p.t_camera_board, atol=1e-9)
        px = project_board(t_cb, INTR, board.outline())
        assert px.min() >= 0 and px[:, 0].max() < 640 and px[:, 1].max() < 480
        tilts.append(math.degrees(math.acos(t_cb[2, 2])))
    assert max(tilts) > 15.0  # orientations vary enough for the solve
    check_rotation_diversity(np.array([p.t_base_tool0 for p in poses]))
    with pytest.raises(ValueError, match="n must be >= 3"):
        propose_poses(T_BASE_CAMERA, INTR, board, mount, 2, q0)


# ------------------------------------------------------------------------------------------ sim
def test_sim_board_rendered_where_the_model_says():
    from grasp_core.sim import CellConfig, SimCell

    board = BoardSpec()
    with SimCell(CellConfig(board=board, depth_noise=False, depth_holes=False)) as cell:
        assert np.allclose(np.linalg.inv(cell.tool0_pose()) @ cell.board_pose(), cell.t_tool0_board, atol=1e-9)
        p = propose_poses(cell.t_base_camera, cell.intrinsics, board, cell.t_tool0_board, 3,
                          cell.joint_positions(), seed=4)[0]
        cell.move_joints(p.q, 1.5, 0.3)
        obs = detect_board(cell.render()[1], cell.intrinsics, board)
        assert obs is not None and obs.n_corners >= 10
        truth = np.linalg.inv(cell.t_base_camera) @ cell.board_pose()
        rot_deg, trans_mm = pose_error(obs.t_camera_board, truth)
        assert rot_deg < 0.3 and trans_mm < 1.0, (rot_deg, trans_mm)
    with SimCell(CellConfig(depth_noise=False, depth_holes=False)) as plain:  # off by default
        with pytest.raises(ValueError, match="no calibration board"):
            plain.board_pose()
        assert "calib_board" not in plain.xml


def test_sim_calibration_writes_extrinsics_matching_truth(tmp_path):
    from grasp_core.cli.handeye import run_sim

    out = tmp_path / "camera_extrinsics.yaml"
    run = run_sim(out, n_poses=8, seed=0)
    assert run["detected"] >= 8
    assert run["error_mm"] < 5.0 and run["error_deg"] < 0.5, run
    ext = load_extrinsics(out, parent_frame="base_link", child_frame="camera_depth_optical_frame")
    rot_deg, trans_mm = pose_error(ext.matrix, run["t_base_camera_true"])
    assert trans_mm < 5.0 and rot_deg < 0.5


# ------------------------------------------------------------------------------------------ CLI
def test_cli_sim_then_solve(tmp_path, capsys):
    from grasp_core.cli.handeye import main

    out, samples = tmp_path / "ext.yaml", tmp_path / "samples"
    assert main(["sim", "--output", str(out), "--poses", "4", "--seed", "2", "--save-samples", str(samples)]) == 0
    text = capsys.readouterr().out
    assert "error against the cell's true camera pose" in text and f"wrote {out}" in text
    sim_ext = load_extrinsics(out)
    assert (samples / "poses.yaml").is_file() and len(list(samples.glob("*.png"))) == 4
    out2 = tmp_path / "ext2.yaml"
    assert main(["solve", "--samples", str(samples), "--output", str(out2)]) == 0
    solved = load_extrinsics(out2)
    assert max(pose_error(solved.matrix, sim_ext.matrix)) < 1e-3  # same images, same joints → same answer


@pytest.mark.parametrize("argv, msg", [
    ([], "required"),
    (["sim"], "--output"),
    (["sim", "--output", "x.yaml", "--poses", "2"], "--poses must be >= 3"),
    (["sim", "--output", "x.yaml", "--poses", "many"], "invalid int value"),
    (["sim", "--output", "x.yaml", "--marker", "0.5"], "marker_length < square_length"),
    (["solve", "--samples", "/no/such/folder", "--output", "x.yaml"], "not a folder"),
    (["calibrate"], "invalid choice"),
])
def test_cli_bad_arguments_exit_2_with_one_line(argv, msg, capsys):
    from grasp_core.cli.handeye import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grasp-handeye: error: ") and msg in lines[0], err


def test_cli_solve_bad_samples_file(tmp_path, capsys):
    from grasp_core.cli.handeye import main

    (tmp_path / "camera_info.yaml").write_text("image_width: 640\nimage_height: 480\n"
                                               "camera_matrix: {rows: 3, cols: 3, data: [525, 0, 319.5, 0, 525, "
                                               "239.5, 0, 0, 1]}\n")
    (tmp_path / "poses.yaml").write_text("samples:\n  - image: a.png\n    joints: [1, 2, 3]\n")
    assert main(["solve", "--samples", str(tmp_path), "--output", str(tmp_path / "o.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "joints must be 6 finite numbers" in err[0]
