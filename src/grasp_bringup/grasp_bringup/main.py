"""Pip-path runner (``./run.sh``): the stack's nodes composed in ONE process.

Composes the same node classes that ``launch/ur5_grasp.launch.py`` starts, with
the same parameters file (``config/grasp.yaml``), on a ``MultiThreadedExecutor``.

The main job (no FRAMES_DIR): the simulated UR5 + Robotiq 2F-85 cell, camera, detector
and executor clear a table of objects (:mod:`grasp_bringup.cell`)::

    ./run.sh [--objects procedural|MESH_DIR] [--n-objects 5] [--seed 0] [--model NAME] [--output DIR]

Detection only, on recorded frames (camera replay → detector → candidate logger)::

    ./run.sh FRAMES_DIR [--intrinsics YAML] [--model NAME] [--frames N] [--output DIR] [--rate HZ]

``--synthetic-frames`` replays frames the project renders itself instead of a folder.
Replay processes N frames (default: each frame once), prints one line per frame and a
summary, and exits 0 (unusable frames are skipped with a warning, as grasp-detect
does); exits 2 with a one-line reason on bad arguments, 1 when no frame could be
processed or frames were lost.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml

from .launch_params import detector_remappings, remap_args

PROG = "grasp_run"


def config_path() -> Path:
    """config/grasp.yaml: the installed share copy, else the source checkout's."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        p = Path(get_package_share_directory("grasp_bringup")) / "config" / "grasp.yaml"
        if p.is_file():
            return p
    except (ImportError, PackageNotFoundError, ValueError, LookupError):
        pass
    for root in (os.environ.get("GRASP_ROOT"), Path(__file__).resolve().parents[3]):
        if root and (Path(root) / "config" / "grasp.yaml").is_file():
            return Path(root) / "config" / "grasp.yaml"
    raise FileNotFoundError("config/grasp.yaml not found (neither installed nor in the checkout)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not the usage block
        self.exit(2, f"{PROG}: error: {message} (see ./run.sh --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run.sh", description=__doc__.splitlines()[0])
    p.add_argument("frames_dir", nargs="?", type=Path,
                   help="detection only, on this folder of depth frames (.npy, .tiff, 16-bit .png); "
                        "omitted: the simulated pick cell (the main job)")
    p.add_argument("--intrinsics", type=Path, help="camera_info YAML (default: Kinect v1 defaults for the size)")
    p.add_argument("--model", help="model card name or path (default: config/grasp.yaml)")
    p.add_argument("--frames", type=int, help="number of frames to process (default: each frame once)")
    p.add_argument("--synthetic-frames", action="store_true",
                   help="detection only, on frames rendered by the project (no robot)")
    p.add_argument("--output", type=Path, help="output folder (default out/cell, or out/run for detection only)")
    p.add_argument("--objects", default="procedural",
                   help="cell objects: procedural, procedural:household, pybullet:random_urdfs[:train|:test], "
                        "robosuite:household (dev profile), or a folder of .obj/.stl meshes in metres "
                        "(default procedural)")
    p.add_argument("--n-objects", type=int, default=5, help="objects on the table (default 5)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    p.add_argument("--rtf", type=float, default=1.0, help="simulation pace, x real time (default 1)")
    p.add_argument("--rate", type=float, help="replay rate, Hz (default: config/grasp.yaml)")
    p.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds (default: auto)")
    p.add_argument("--target-class", default="",
                   help="simulated cell: pick only objects labelled this class: by a segmenting --model "
                        "(detseg_synth: its object classes, e.g. star, bottle_standing) or else by the shape "
                        "classifier (cylinder, L, star, T or ring; turns it on; needs PyTorch). Default: any")
    return p


def make_default_frames(folder: Path, n: int = 4) -> tuple[Path, Path, str]:
    """Render (or synthesise) ``n`` frames into ``folder``; returns (folder, intrinsics YAML, what was used).

    Prefers :func:`grasp_core.synth.generate.render_scene` (MuJoCo table-top scenes, Kinect-like
    noise; colour written beside depth); falls back to :mod:`grasp_bringup.synthetic` when the
    renderer cannot run here (the reason is printed).
    """
    try:
        import cv2
        from grasp_core.camera import CameraIntrinsics
        from grasp_core.synth.generate import render_scene

        folder.mkdir(parents=True, exist_ok=True)
        intr = None
        for i in range(n):
            view = render_scene(seed=i, views=1)[0]
            np.save(folder / f"synth_{i:04d}_depth.npy", view["noisy"].astype(np.float32))
            cv2.imwrite(str(folder / f"synth_{i:04d}_rgb.png"), cv2.cvtColor(view["rgb"], cv2.COLOR_RGB2BGR))
            c = view["camera"]
            intr = intr or CameraIntrinsics(int(c["width"]), int(c["height"]), float(c["fx"]), float(c["fy"]),
                                            float(c["cx"]), float(c["cy"]))
        info = folder / "camera_info.yaml"
        info.write_text(yaml.safe_dump(intr.to_yaml_dict("synth"), sort_keys=False))
        return folder, info, "grasp_core.synth (MuJoCo renders)"
    except Exception as exc:  # noqa: BLE001 - any renderer failure falls back to the plain frames
        from .synthetic import write_frames

        print(f"{PROG}: MuJoCo renderer unavailable ({type(exc).__name__}: {exc}); using plain synthetic frames",
              file=sys.stderr)
        return folder, write_frames(folder, n=n), "grasp_bringup.synthetic (table plane + boxes)"


def fail(msg: str, code: int = 2) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from grasp_core.camera import CameraInfoError, load_camera_info_yaml
    from grasp_core.frames import FrameError, list_depth_frames
    from grasp_core.model_card import ModelCardError, load_card

    if args.frames_dir is None and not args.synthetic_frames:
        return main_cell(args)
    args.output = args.output or Path("out/run")
    try:
        cfg = config_path()
        params = yaml.safe_load(cfg.read_text())
        if args.frames is not None and args.frames < 1:
            raise ValueError("--frames must be >= 1")
        if args.rate is not None and args.rate <= 0:
            raise ValueError("--rate must be > 0")
        if args.frames_dir is not None:
            list_depth_frames(args.frames_dir)  # a bad folder is reported before anything else
        model = args.model or params["grasp_detector"]["ros__parameters"].get("model", "")
        card = load_card(model or None)
        card.verify()
        args.output.mkdir(parents=True, exist_ok=True)
        if args.frames_dir is None:
            folder, intrinsics, used = make_default_frames(args.output / "frames")
            if args.intrinsics is not None:
                intrinsics = args.intrinsics
        else:
            folder, intrinsics, used = args.frames_dir, args.intrinsics, str(args.frames_dir)
        frames = list_depth_frames(folder)
        if intrinsics is not None:
            load_camera_info_yaml(intrinsics)
    except (FrameError, CameraInfoError, ModelCardError, ValueError, OSError, KeyError) as exc:
        return fail(str(exc))
    n = args.frames or len(frames)
    rate = args.rate or float(params["grasp_camera"]["ros__parameters"].get("replay", {}).get("rate_hz", 2.0))
    overrides = {
        "grasp_camera": {"ros__parameters": {
            "source": "replay",
            "replay": {"folder": str(Path(folder).resolve()), "intrinsics": str(Path(intrinsics).resolve())
                       if intrinsics else "", "loop": n > len(frames), "rate_hz": rate}}},
        "grasp_detector": {"ros__parameters": {"model": str(model)}},
        "grasp_candidate_logger": {"ros__parameters": {"output_dir": str(args.output.resolve())}},
    }
    print(f"{PROG}: {n} frame(s) from {used}, model {card.name}, parameters {cfg}", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="grasp_overrides_", delete=False) as f:
        yaml.safe_dump(overrides, f)
    try:
        args.detector_remaps = detector_remappings(params)
        return run(["--ros-args", "--params-file", str(cfg), "--params-file", f.name], n, rate, args)
    finally:
        os.unlink(f.name)


def main_cell(args: argparse.Namespace) -> int:
    """The simulated pick cell (:mod:`grasp_bringup.cell`)."""
    from grasp_core.model_card import ModelCardError, load_card

    args.output = args.output or Path("out/cell")
    try:
        cfg = config_path()
        params = yaml.safe_load(cfg.read_text())
        if args.n_objects < 1:
            raise ValueError("--n-objects must be >= 1")
        if args.rtf <= 0:
            raise ValueError("--rtf must be > 0")
        if args.objects != "procedural":
            from grasp_core.sim.spawn import check_source

            try:
                args.objects = check_source(args.objects)
            except ValueError as exc:
                raise ValueError(f"--objects {args.objects}: {exc}") from exc
        model = args.model or params["grasp_detector"]["ros__parameters"].get("model", "")
        card = load_card(model or None)
        card.verify()
    except (ModelCardError, ValueError, OSError, KeyError) as exc:
        return fail(str(exc))
    from .cell import run_cell

    print(f"{PROG}: simulated cell, {args.n_objects} object(s) ({args.objects}), model {card.name}, "
          f"parameters {cfg}", flush=True)
    return run_cell(cfg, params, str(model), args)


def run(ros_args: list[str], n: int, rate: float, args: argparse.Namespace) -> int:
    """Spin camera, detector and logger until ``n`` frames were logged (or the time is up)."""
    import rclpy
    from grasp_bridge.runtime import stop_spinning
    from grasp_camera.camera_node import CameraNode
    from grasp_detector.detector_node import DetectorNode
    from rclpy.executors import MultiThreadedExecutor

    from .candidate_logger import CandidateLogger

    rclpy.init(args=ros_args)
    nodes = []
    executor = spinner = None
    try:
        try:
            logger = CandidateLogger()
            nodes.append(logger)
            detector = DetectorNode(cli_args=remap_args(getattr(args, "detector_remaps", [])))
            nodes.append(detector)
            camera = CameraNode()
            nodes.append(camera)
        except ValueError as exc:
            return fail(str(exc))
        executor = MultiThreadedExecutor(num_threads=4)
        for node in nodes:
            executor.add_node(node)
        timeout = args.timeout or (30.0 + 3.0 * n / rate)
        t0 = time.monotonic()
        last_progress, last_count = t0, -1
        want_images = logger.save_annotated and detector.publish_annotated
        spinner = threading.Thread(target=executor.spin, name="executor", daemon=True)
        spinner.start()
        while rclpy.ok() and spinner.is_alive():
            time.sleep(0.05)
            now = time.monotonic()
            handled = logger.frames + camera.dropped + detector.dropped  # every frame accounted for
            if handled != last_count:
                last_count, last_progress = handled, now
            done = handled >= n and (not want_images or logger.images >= logger.frames or now - last_progress > 2.0)
            stalled = camera.source.finished and now - last_progress > max(10.0, 5.0 / rate)
            if done or stalled or now - t0 > timeout:
                break
        elapsed = time.monotonic() - t0
        print(f"{PROG}: {logger.frames} of {n} frame(s) processed in {elapsed:.1f} s, {logger.with_grasp} with a "
              f"grasp; dropped: camera {camera.dropped}, detector {detector.dropped}; "
              f"wrote {logger.output_dir / 'candidates.jsonl'} and {logger.images} annotated PNG(s)", flush=True)
        if logger.frames == 0:
            return fail("no frame could be processed (see the warnings above)", 1)
        if logger.frames + camera.dropped + detector.dropped < n:
            return fail(f"only {logger.frames} of {n} frame(s) came through "
                        f"({'timed out' if elapsed > timeout else 'frames were lost'})", 1)
        return 0
    finally:
        stop_spinning(executor, spinner)  # before the nodes go: no callback may run on a destroyed node
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
