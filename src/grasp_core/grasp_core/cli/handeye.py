"""``grasp-handeye``: eye-to-hand calibration of the fixed camera with a ChArUco board on the flange.

Writes T_base_link_camera as the extrinsics YAML the executor, the launch file and the simulated
cell read (:func:`grasp_core.robot.save_extrinsics`). Method and conventions:
:mod:`grasp_core.calibration.handeye`.

Subcommands::

    grasp-handeye sim --output FILE [--poses N] [--seed S] [--save-samples DIR] [--true-extrinsics YAML]
    grasp-handeye solve --samples DIR --output FILE [--camera-info YAML] [--child-frame F]

``sim`` runs the whole calibration in the MuJoCo cell (board on the default mount beside the
flange): proposes N well-spread poses (:func:`grasp_core.calibration.propose_poses`, from the
nominal ``config/camera_extrinsics.yaml``), moves the arm, renders the colour image, detects the
board, solves from forward kinematics of the measured joints, writes the YAML and prints its error
against the cell's true camera pose. ``--save-samples DIR`` also writes the images, ``poses.yaml``
and ``camera_info.yaml`` in the layout ``solve`` reads.

``solve`` reads a folder of recorded samples::

    DIR/camera_info.yaml       camera_info YAML of the images (or --camera-info); plumb_bob distortion is used
    DIR/poses.yaml:
        board: {squares_x: 5, squares_y: 4, square_length: 0.04, marker_length: 0.03,
                dictionary: DICT_4X4_50, margin: 0.01}          # optional; else the --squares ... flags
        samples:
          - image: 000.png                                      # relative to DIR
            joints: [q1, q2, q3, q4, q5, q6]                    # rad, UR driver order (or a name: value map)
          - image: 001.png
            tool0: {translation: [x, y, z], rotation: [qx, qy, qz, qw]}   # T_base_link_tool0 instead

Samples whose image shows no board are skipped (reported). Output: one line per sample, the
solution, the residuals, ``wrote FILE``. Bad input exits 2 with one line
``grasp-handeye: error: ...`` on stderr; a calibration that cannot be computed (too few
detections, degenerate poses) exits 1 with one such line.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

PROG = "grasp-handeye"


class _CliError(Exception):
    """Reported as one line on stderr; exit status ``code`` (2: bad input, 1: calibration failed)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump), exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise _CliError(message)


def _add_board_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("board (defaults: poses.yaml's board section, else 5x4 squares of 40 mm)")
    g.add_argument("--squares", type=int, nargs=2, metavar=("X", "Y"), help="chessboard squares along x and y")
    g.add_argument("--square", type=float, metavar="M", help="square side, m")
    g.add_argument("--marker", type=float, metavar="M", help="ArUco marker side, m")
    g.add_argument("--dictionary", metavar="NAME", help="OpenCV dictionary, e.g. DICT_4X4_50")
    g.add_argument("--margin", type=float, metavar="M", help="white border around the chessboard, m")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Eye-to-hand calibration (fixed camera, ChArUco board on tool0).")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True
    s = sub.add_parser("sim", help="calibrate the simulated cell's camera end to end")
    s.add_argument("--output", required=True, type=Path, help="extrinsics YAML to write")
    s.add_argument("--poses", type=int, default=12, help="robot poses to visit (>= 3, default 12)")
    s.add_argument("--seed", type=int, default=0, help="seed of the pose proposals")
    s.add_argument("--max-tilt", type=float, default=25.0, help="largest board tilt from facing the camera, deg")
    s.add_argument("--true-extrinsics", type=Path, default=None,
                   help="place the simulated camera from this YAML (default config/camera_extrinsics.yaml)")
    s.add_argument("--save-samples", type=Path, default=None, metavar="DIR",
                   help="also write images, poses.yaml and camera_info.yaml for 'solve'")
    _add_board_args(s)
    v = sub.add_parser("solve", help="calibrate from a folder of recorded samples")
    v.add_argument("--samples", required=True, type=Path, metavar="DIR", help="folder with poses.yaml and images")
    v.add_argument("--output", required=True, type=Path, help="extrinsics YAML to write")
    v.add_argument("--camera-info", type=Path, default=None, help="camera_info YAML (default DIR/camera_info.yaml)")
    v.add_argument("--parent-frame", default="base_link")
    v.add_argument("--child-frame", default=None,
                   help="frame id written (default: camera_info's frame_id, else camera_depth_optical_frame)")
    v.add_argument("--min-corners", type=int, default=6, help="fewest ChArUco corners per image (>= 4)")
    _add_board_args(v)
    return parser


def _board(args, from_file: dict | None):
    from ..calibration import BoardSpec

    data = dict(from_file or {})
    if args.squares is not None:
        data["squares_x"], data["squares_y"] = args.squares
    for key, val in (("square_length", args.square), ("marker_length", args.marker),
                     ("dictionary", args.dictionary), ("margin", args.margin)):
        if val is not None:
            data[key] = val
    try:
        return BoardSpec.from_dict(data)
    except ValueError as exc:
        raise _CliError(f"board: {exc}") from exc


def _fmt_pose(t: np.ndarray) -> str:
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(t[:3, :3]).as_quat()
    q = q if q[3] >= 0 else -q
    return (f"translation [{', '.join(f'{v:.4f}' for v in t[:3, 3])}] m, "
            f"rotation [{', '.join(f'{v:.4f}' for v in q)}] (x, y, z, w)")


def _solve_and_write(a: list, b: list, output: Path, parent: str, child: str):
    from ..calibration import solve_eye_to_hand
    from ..robot import Extrinsics, ExtrinsicsError, save_extrinsics

    try:
        res = solve_eye_to_hand(np.array(a), np.array(b))
    except ValueError as exc:
        raise _CliError(f"calibration failed: {exc}", code=1) from exc
    print(f"{PROG}: T_{parent}_{child}: {_fmt_pose(res.t_base_camera)}")
    print(f"{PROG}: T_tool0_board: {_fmt_pose(res.t_tool0_board)}")
    print(f"{PROG}: {res.n_samples} samples, {res.residuals.summary()}")
    try:
        save_extrinsics(output, Extrinsics.from_matrix(res.t_base_camera, parent, child))
    except ExtrinsicsError as exc:
        raise _CliError(str(exc)) from exc
    print(f"{PROG}: wrote {output}")
    return res


# --------------------------------------------------------------------------------------------- sim
def run_sim(output: Path, n_poses: int = 12, seed: int = 0, board=None, max_tilt_deg: float = 25.0,
            true_extrinsics: Path | None = None, save_samples: Path | None = None) -> dict:
    """The ``sim`` subcommand as a function (module docstring).

    Returns:
        dict with ``result`` (:class:`grasp_core.calibration.HandEyeResult`), ``t_base_camera_true``
        (4, 4), ``error_deg``, ``error_mm`` (solution against the truth), ``detected``/``visited``
        pose counts and ``output`` (the YAML path).

    Raises:
        _CliError: bad arguments (code 2) or too few detections / a failed solve (code 1).
    """
    import cv2
    import yaml

    from ..calibration import BoardSpec, detect_board, pose_error, propose_poses
    from ..robot import forward_kinematics, load_extrinsics
    from ..sim import CellConfig, SimCell, default_extrinsics_path

    if n_poses < 3:
        raise _CliError(f"--poses must be >= 3, got {n_poses}")
    if not (0 <= max_tilt_deg <= 45):
        raise _CliError(f"--max-tilt must be in [0, 45] deg, got {max_tilt_deg}")
    if true_extrinsics is not None and not Path(true_extrinsics).is_file():
        raise _CliError(f"--true-extrinsics {true_extrinsics}: no such file")
    board = board or BoardSpec()
    try:
        cell = SimCell(CellConfig(extrinsics=true_extrinsics, board=board, depth_noise=False, depth_holes=False))
    except ValueError as exc:
        raise _CliError(str(exc)) from exc
    truth = cell.t_base_camera
    nominal_path = default_extrinsics_path()
    nominal = load_extrinsics(nominal_path).matrix if nominal_path else truth
    # over-propose: a pose whose board the arm hides is skipped, the next one is used
    poses = propose_poses(nominal, cell.intrinsics, board, cell.t_tool0_board, int(n_poses * 1.5) + 2,
                          cell.joint_positions(), seed=seed, max_tilt_deg=max_tilt_deg)
    if len(poses) < 3:
        raise _CliError("fewer than 3 reachable calibration poses with the board in view", code=1)
    if save_samples is not None:
        save_samples = Path(save_samples)
        save_samples.mkdir(parents=True, exist_ok=True)
    a, b, records = [], [], []
    visited = 0
    for p in poses:
        if len(a) >= n_poses:
            break
        visited += 1
        cell.move_joints(p.q, duration=1.5, settle=0.3)
        q = cell.joint_positions()
        _, rgb = cell.render()
        obs = detect_board(rgb, cell.intrinsics, board)
        if obs is None:
            print(f"{PROG}: pose {visited}: board not detected, skipped")
            continue
        a.append(forward_kinematics(q))
        b.append(obs.t_camera_board)
        print(f"{PROG}: pose {visited}: {obs.n_corners} corners, PnP rms {obs.reprojection_rms:.3f} px")
        if save_samples is not None:
            name = f"{len(a) - 1:03d}.png"
            cv2.imwrite(str(save_samples / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            records.append({"image": name, "joints": [float(v) for v in q]})
    if len(a) < 3:
        raise _CliError(f"the board was detected in only {len(a)} of {visited} poses (need >= 3)", code=1)
    if save_samples is not None:
        (save_samples / "poses.yaml").write_text(yaml.safe_dump({"board": board.to_dict(), "samples": records},
                                                                sort_keys=False, default_flow_style=None))
        (save_samples / "camera_info.yaml").write_text(yaml.safe_dump(cell.intrinsics.to_yaml_dict(),
                                                                      sort_keys=False))
    res = _solve_and_write(a, b, Path(output), "base_link", cell.intrinsics.frame_id)
    err_deg, err_mm = pose_error(res.t_base_camera, truth)
    board_deg, board_mm = pose_error(res.t_tool0_board, cell.t_tool0_board)
    print(f"{PROG}: error against the cell's true camera pose: {err_mm:.2f} mm, {err_deg:.3f} deg "
          f"(board mount: {board_mm:.2f} mm, {board_deg:.3f} deg)")
    cell.close()
    return {"result": res, "t_base_camera_true": truth, "error_deg": err_deg, "error_mm": err_mm,
            "detected": len(a), "visited": visited, "output": Path(output)}


# ------------------------------------------------------------------------------------------- solve
def _load_samples(folder: Path) -> tuple[dict | None, list[dict]]:
    import yaml

    path = folder / "poses.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise _CliError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list) or not data["samples"]:
        raise _CliError(f"{path}: expected a mapping with a non-empty 'samples' list")
    return data.get("board"), data["samples"]


def _sample_pose(k: int, s, path: Path) -> np.ndarray:
    from ..robot import JOINT_NAMES, Extrinsics, ExtrinsicsError, forward_kinematics

    if not isinstance(s, dict) or "image" not in s or ("joints" in s) == ("tool0" in s):
        raise _CliError(f"{path}: sample {k} needs 'image' and exactly one of 'joints' or 'tool0'")
    if "joints" in s:
        j = s["joints"]
        if isinstance(j, dict):
            missing = [n for n in JOINT_NAMES if n not in j]
            if missing:
                raise _CliError(f"{path}: sample {k}: joints lack {missing}")
            j = [j[n] for n in JOINT_NAMES]
        try:
            q = np.asarray(j, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise _CliError(f"{path}: sample {k}: joints must be 6 numbers (rad): {exc}") from exc
        if q.shape != (6,) or not np.all(np.isfinite(q)):
            raise _CliError(f"{path}: sample {k}: joints must be 6 finite numbers (rad), got {s['joints']!r}")
        return forward_kinematics(q)
    t = s["tool0"]
    if not isinstance(t, dict) or "translation" not in t or "rotation" not in t:
        raise _CliError(f"{path}: sample {k}: tool0 needs translation [x, y, z] and rotation [x, y, z, w]")
    try:
        return Extrinsics(t["translation"], t["rotation"], "base_link", "tool0").matrix
    except ExtrinsicsError as exc:
        raise _CliError(f"{path}: sample {k}: tool0: {exc}") from exc


def _distortion(path: Path) -> np.ndarray | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
        d = np.asarray(data.get("distortion_coefficients", {}).get("data", []), dtype=np.float64).reshape(-1)
    except (OSError, yaml.YAMLError, AttributeError, TypeError, ValueError):
        return None
    return d if d.size in (4, 5, 8, 12, 14) and np.any(d != 0) else None


def run_solve(samples: Path, output: Path, camera_info: Path | None = None, board_args=None,
              parent_frame: str = "base_link", child_frame: str | None = None, min_corners: int = 6):
    """The ``solve`` subcommand as a function (module docstring). Returns the HandEyeResult."""
    import cv2

    from ..calibration import detect_board
    from ..camera import CameraInfoError, load_camera_info_yaml

    samples = Path(samples)
    if not samples.is_dir():
        raise _CliError(f"--samples {samples}: not a folder")
    if min_corners < 4:
        raise _CliError(f"--min-corners must be >= 4, got {min_corners}")
    info = Path(camera_info) if camera_info else samples / "camera_info.yaml"
    try:
        intr = load_camera_info_yaml(info)
    except CameraInfoError as exc:
        raise _CliError(str(exc)) from exc
    dist = _distortion(info)
    board_file, recs = _load_samples(samples)
    board = _board(board_args, board_file) if board_args is not None else _board(
        argparse.Namespace(squares=None, square=None, marker=None, dictionary=None, margin=None), board_file)
    a, b = [], []
    for k, s in enumerate(recs):
        t_base_tool0 = _sample_pose(k, s, samples / "poses.yaml")
        img_path = samples / str(s["image"])
        img = cv2.imread(str(img_path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise _CliError(f"cannot read image {img_path}")
        try:
            obs = detect_board(img, intr, board, dist, min_corners)
        except ValueError as exc:
            raise _CliError(f"{img_path}: {exc}") from exc
        if obs is None:
            print(f"{PROG}: sample {k} ({s['image']}): board not detected, skipped")
            continue
        print(f"{PROG}: sample {k} ({s['image']}): {obs.n_corners} corners, PnP rms {obs.reprojection_rms:.3f} px")
        a.append(t_base_tool0)
        b.append(obs.t_camera_board)
    if len(a) < 3:
        raise _CliError(f"the board was detected in only {len(a)} of {len(recs)} samples (need >= 3)", code=1)
    return _solve_and_write(a, b, Path(output), parent_frame, child_frame or intr.frame_id)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    t0 = time.perf_counter()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "sim":
            board = _board(args, None)
            run_sim(args.output, args.poses, args.seed, board, args.max_tilt, args.true_extrinsics,
                    args.save_samples)
        else:
            run_solve(args.samples, args.output, args.camera_info, args, args.parent_frame, args.child_frame,
                      args.min_corners)
    except _CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    print(f"{PROG}: done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
