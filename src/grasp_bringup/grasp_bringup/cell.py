"""The main job on the embedded default: the simulated pick cell, cleared by the whole stack in ONE process.

Composes the node classes that ``launch/ur5_grasp.launch.py`` starts — simulated cell
(:class:`grasp_sim.sim_node.SimNode`), camera (``topic`` source on the realsense2_camera
names), detector and executor (automatic mode) — with the same parameters file
(``config/grasp.yaml``) and ``use_sim_time`` for all, on one ``MultiThreadedExecutor``.
The executor picks until the table is clear (or it fails too often); then this prints a
summary (attempts, successes, mean cycle time; objects left on the table from the
simulation's ground truth, for the reader) and writes into the output folder:

* ``pick_run.png``: the camera's first view with every attempted grasp (green: held and
  placed, red: failed; numbered in order), magenta outlines around the objects left without a
  safe grasp when the run ends with "objects remain", and the pick timeline (stages over
  simulated time);
* ``attempts.jsonl``: one record per attempt (the executor's ``~/pick_results``).

Exit status: 0 when the executor stopped by itself (table clear, or too many failures in a
row) after at least one successful pick; 1 when nothing was picked or time ran out; 2 with a
one-line reason on bad arguments.
"""
from __future__ import annotations

import json
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
#: Prop+GQ-CNN's sampling budget (grasp_core.config.PropSamplingConfig) as GQ-STN's fallback in the composed
#: cell: with the defaults (150 candidates, 3 x 60 refinement samples) a frame's grasps were 2.9 s old when
#: the executor read them (its max_age_s is 1.0) while the simulator and the other nodes shared the two cores
CELL_FALLBACK_BUDGET = {"n_candidates": 60, "cem_iterations": 1, "cem_samples": 20}
#: The interpreter's GIL switch interval (``sys.setswitchinterval``, s) while the composed cell runs: the
#: simulator's physics thread gives the GIL up in every MuJoCo step (500 a simulated second) and, at
#: Python's default 5 ms, waited up to that long to get it back from a busy perception or planning
#: thread each time. Measured on the idle 2-core machine (./run.sh's scene): 5 ms -> real-time factor
#: 0.86-0.90, the physics 14-17 times more than 0.2 s behind, its thread 11 s waiting in 44 s;
#: 0.5 ms -> 0.999-1.000, 4.7 s waiting (rendering included), once behind: the renderer's first frame,
#: now made before the simulator's clock starts (grasp_sim.sim_node).
GIL_SWITCH_INTERVAL_S = 0.0005


def fail(msg: str, code: int = 2) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return code


class _Recorder:
    """Keeps the colour frames of the sim camera by stamp (for the picture) and the object poses."""

    def __init__(self, node) -> None:
        from grasp_bridge.image import image_to_numpy
        from grasp_bridge.qos import sensor_qos
        from grasp_bridge.stamps import stamp_s
        from sensor_msgs.msg import Image
        from visualization_msgs.msg import MarkerArray

        self._to_numpy, self._stamp_s = image_to_numpy, stamp_s
        self.frames: dict[float, np.ndarray] = {}
        self.first: np.ndarray | None = None
        self.objects: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()
        node.create_subscription(Image, "/camera/camera/color/image_raw", self.on_image, sensor_qos())
        node.create_subscription(MarkerArray, "/grasp_sim/objects", self.on_objects, 2)

    def on_image(self, msg) -> None:
        t = self._stamp_s(msg.header.stamp)
        img = self._to_numpy(msg)
        with self.lock:
            if self.first is None:
                self.first = img
            self.frames[t] = img
            while len(self.frames) > 40:
                self.frames.pop(min(self.frames))

    def on_objects(self, msg) -> None:
        with self.lock:
            self.objects = {m.ns: np.array([m.pose.position.x, m.pose.position.y, m.pose.position.z])
                            for m in msg.markers}


def objects_on_table(objects: dict[str, np.ndarray], layout) -> list[str]:
    """Names of objects (centre positions (3,) in ``base_link``, m) still on the table, not in the bin:
    :func:`grasp_core.sim.ground_truth.objects_on_table` on the cell ``layout`` (ground truth, for the summary)."""
    from grasp_core.sim.ground_truth import objects_on_table as on_table

    poses = {}
    for name, p in objects.items():
        t = np.eye(4)
        t[:3, 3] = p
        poses[name] = t
    return on_table(poses, layout)


def save_picture(path: Path, image: np.ndarray | None, attempts: list, title: str, remaining=None) -> Path:
    """Camera view with the attempted grasps and the pick timeline, one PNG.

    ``remaining``: a :class:`grasp_core.tabletop.TableScene` of objects left without a safe grasp,
    outlined in magenta on the view (its pixels are the depth image's, registered with the colour one).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from grasp_core.grasp import Grasp

    fig, (ax_img, ax_t) = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [1.1, 1.4]})
    if image is not None:
        ax_img.imshow(image)
    for a in attempts:
        c = a["candidate"]
        if not all(np.isfinite([c["u"], c["v"], c["angle"], c["width_px"], c["length_px"]])):
            continue  # other software's candidate without image-space fields: nothing to draw
        g = Grasp(c["u"], c["v"], c["angle"], max(c["width_px"], 1.0), max(c["length_px"], 1.0), c["quality"])
        poly = np.vstack([g.polygon(), g.polygon()[:1]])
        colour = "lime" if a["success"] else "red"
        ax_img.plot(poly[:, 0], poly[:, 1], "-", color=colour, lw=2)
        ax_img.text(c["u"] + 8, c["v"] - 8, str(a["index"] + 1), color=colour, fontsize=11, weight="bold")
    if remaining is not None and len(remaining):
        ax_img.contour(remaining.labels > 0, levels=[0.5], colors="magenta", linewidths=2)
        for r in remaining.regions:
            ax_img.text(r.bbox_px[0], r.bbox_px[1] - 6, "no safe grasp", color="magenta", fontsize=9)
    ax_img.set_title("camera view at start; grasps tried (green: placed, red: failed)"
                     + ("; magenta: left without a safe grasp" if remaining is not None and len(remaining) else ""))
    ax_img.axis("off")
    stages = ["pregrasp", "approach", "close", "lift", "place", "release", "home"]
    colours = dict(zip(stages, plt.cm.tab10.colors, strict=False))
    stages.append("recovery")
    colours["recovery"] = "0.5"
    for a in attempts:
        y = a["index"] + 1
        t = a["t_start"]
        for s in stages:  # stage_times holds durations, in the order the stages ran
            if s in a["stage_times"]:
                d = float(a["stage_times"][s])
                ax_t.barh(y, d, left=t, color=colours[s], edgecolor="k", lw=0.3)
                t += d
        ax_t.text(a["t_end"] + 0.3, y, "ok" if a["success"] else a["stage"], va="center", fontsize=8,
                  color="green" if a["success"] else "red")
    ax_t.set_yticks([a["index"] + 1 for a in attempts])
    ax_t.set_xlabel("simulated time, s")
    ax_t.set_ylabel("attempt")
    ax_t.invert_yaxis()
    ax_t.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in stages], labels=stages,
                loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8, ncols=8)
    ax_t.set_title("pick timeline")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_cell(cfg: Path, params: dict, model: str, args) -> int:
    """Start cell, camera, detector and executor; wait for the executor's automatic mode to finish."""
    overrides = {
        "/**": {"ros__parameters": {"use_sim_time": True}},
        "grasp_sim": {"ros__parameters": {"objects": str(args.objects), "n_objects": int(args.n_objects),
                                          "seed": int(args.seed), "real_time_factor": float(args.rtf)}},
        # camera and detector share one thread here (below): the camera keeps only the newest frame (as
        # the detector does by default), so a slow detector skips frames instead of the camera working
        # through a backlog of old ones (GQ-STN with its sampling fallback: every candidate 2.3 s old and
        # refused as stale with the camera's default 5, fresh with 1)
        "grasp_camera": {"ros__parameters": {"source": "topic", "topic": {"queue_size": 1}}},
        "grasp_detector": {"ros__parameters": {"model": str(model)}},
        "grasp_executor": {"ros__parameters": {"auto": True}},
    }
    args.output.mkdir(parents=True, exist_ok=True)
    target = getattr(args, "target_class", "")
    kind, segments, colour = model_kind(model)
    plugin = detector_plugin(kind)
    if plugin:  # the paper families other than GG-CNN's have their own plugins
        overrides["grasp_detector"]["ros__parameters"]["detector"] = plugin
    if plugin == "onnx_gqstn":  # its Prop+GQ-CNN fallback within the executor's max_age_s on a shared CPU
        overrides["grasp_detector"]["ros__parameters"]["onnx_gqstn_fallback"] = dict(CELL_FALLBACK_BUDGET)
    if colour:  # RGB models need the cell's colour through the camera node
        cam_ns = params.get("grasp_sim", {}).get("ros__parameters", {}).get("camera_namespace", "/camera/camera")
        overrides["grasp_camera"]["ros__parameters"]["topic"]["color_topic"] = f"{cam_ns}/color/image_raw"
    args.labeller = "segmentation" if target and segments else ("shape classifier" if target else "")
    if target and segments:  # the detector labels every candidate with its object class itself
        overrides["grasp_executor"]["ros__parameters"]["target_class"] = target
    elif target:  # the target class needs labels: the shape classifier between detector and executor
        shape = params["grasp_shape_classifier"]["ros__parameters"]
        overrides["grasp_executor"]["ros__parameters"].update(
            {"target_class": target, "candidates_topic": shape["output_topic"]})
        folder, state = _support_folder(args.output / "support", str(args.objects))
        overrides["grasp_shape_classifier"] = {"ros__parameters": {
            "support_folder": str(folder.resolve()), "state_file": str(state.resolve())}}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="grasp_overrides_", delete=False) as f:
        yaml.safe_dump(overrides, f)
    try:
        args.detector_remaps = detector_remappings(params)
        return _spin(["--ros-args", "--params-file", str(cfg), "--params-file", f.name], args)
    finally:
        os.unlink(f.name)


def detector_plugin(kind: str) -> str:
    """The detector plugin (``grasp_detector`` parameter ``detector``) for a card's ``decoding.type``:
    ``onnx_msstn`` for the multi-stage STN and its baselines, ``onnx_gqstn`` for GQ-STN and its baselines,
    ``onnx_detseg`` for the detection-segmentation network, ``onnx_ssd`` for the shape classifier's SSD
    (:mod:`grasp_core.shapes.detector`); "" (the configuration's plugin, GG-CNN's
    ``onnx_generative`` by default) for any other kind."""
    from grasp_core.nn.detseg_onnx import KINDS as DETSEG_KINDS
    from grasp_core.nn.gqstn_onnx import KINDS as GQSTN_KINDS
    from grasp_core.nn.msstn_onnx import KINDS as MSSTN_KINDS
    from grasp_core.shapes.detector import KINDS as SSD_KINDS

    for plugin, kinds in (("onnx_msstn", MSSTN_KINDS), ("onnx_gqstn", GQSTN_KINDS), ("onnx_detseg", DETSEG_KINDS),
                          ("onnx_ssd", SSD_KINDS)):
        if kind in kinds:
            return plugin
    return ""


def model_kind(model: str) -> tuple[str, bool, bool]:
    """(the card's ``decoding.type`` or "", whether the model labels object classes itself: a ``detseg``
    card in a configuration with the segmentation branch, whether its input has colour: ``rgb`` /
    ``rgbd``). An unreadable card gives ("", False, False): the detector node reports it."""
    from grasp_core.model_card import load_card

    try:
        card = load_card(model)
    except ValueError:
        return "", False, False
    kind = str(card.data.get("decoding", {}).get("type", ""))
    segments = kind == "detseg" and card.data.get("detseg", {}).get("configuration") != "Detection"
    return kind, segments, card.modality in ("rgb", "rgbd")


def _support_folder(folder: Path, objects: str, n_per_family: int = 10) -> tuple[Path, Path]:
    """(support folder, classifier state path) for ``--objects``: 10 images of each of its part families
    alone in the simulated cell (:func:`grasp_core.shapes.support.cell_support_for`, as a user teaches
    parts), rendered once into ``folder/<families>`` and kept for the next run."""
    from grasp_core.shapes.support import cell_support_for
    from grasp_core.sim.spawn import source_families

    sub = cell_support_for(folder, source_families(objects), n_per_family)
    return sub, folder / f"shape_classifier_{sub.name}"


def _spin(ros_args: list[str], args) -> int:
    import rclpy
    from grasp_bridge.runtime import stop_spinning
    from grasp_camera.camera_node import CameraNode
    from grasp_detector.detector_node import DetectorNode
    from grasp_executor.executor_node import ExecutorNode
    from grasp_sim.sim_node import SimNode
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor

    rclpy.init(args=ros_args)
    nodes, executor, spinner, perception, perceiver = [], None, None, None, None
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        try:
            t_build = time.monotonic()
            sim = SimNode()
            nodes.append(sim)
            print(f"{PROG}: simulated cell with {len(sim.names)} object(s) ({args.objects}, seed {args.seed}) "
                  f"built in {time.monotonic() - t_build:.1f} s", flush=True)
            camera = CameraNode()
            nodes.append(camera)
            detector = DetectorNode(cli_args=remap_args(getattr(args, "detector_remaps", [])))
            nodes.append(detector)
            if getattr(args, "labeller", "") == "shape classifier":
                from grasp_shape.shape_node import ShapeClassifierNode

                nodes.append(ShapeClassifierNode())
            if getattr(args, "labeller", ""):
                print(f"{PROG}: picking only '{args.target_class}' ({args.labeller} labels the candidates)",
                      flush=True)
            recorder_node = rclpy.create_node("grasp_run_recorder")
            nodes.append(recorder_node)
            recorder = _Recorder(recorder_node)
            execu = ExecutorNode()
            nodes.append(execu)
        except ValueError as exc:
            return fail(str(exc))
        # The simulator and the executor wait inside callbacks (action servers, the pick): a multi-threaded
        # executor. Camera, detector, shape classifier and recorder only react to messages: one thread of
        # their own. rclpy's MultiThreadedExecutor offers a ready subscription again while its callback
        # waits in the pool (measured: ~11 dispatches per /clock message with all nodes in it), which with
        # every node on it kept the GIL busy enough to slow the physics below real time.
        executor = MultiThreadedExecutor(num_threads=8)
        perception = SingleThreadedExecutor()
        for node in nodes:
            (executor if node is sim or node is execu else perception).add_node(node)
        spinner = threading.Thread(target=executor.spin, name="executor", daemon=True)
        perceiver = threading.Thread(target=perception.spin, name="perception", daemon=True)
        spinner.start()
        perceiver.start()
        execu.safety.set_armed(True)  # the simulated cell: arming is this command's explicit choice
        print(f"{PROG}: executor armed (the simulated cell; a real robot's executor starts disarmed: "
              f"ros2 service call /grasp_executor/arm std_srvs/srv/SetBool '{{data: true}}')", flush=True)
        t0, sim0, drops0, dropped0 = time.monotonic(), sim.sim_time, sim.lag_drops, sim.lag_dropped_s
        timeout = args.timeout or 120.0 + 90.0 * args.n_objects
        reported = 0
        while (spinner.is_alive() and perceiver.is_alive() and not execu.finished.is_set()
               and time.monotonic() - t0 < timeout):
            time.sleep(0.1)
            while reported < len(execu.attempts):
                a = execu.attempts[reported]
                what = "held and placed in the bin" if a.success else f"FAILED at {a.stage}: {a.reason}"
                print(f"{PROG}: pick {a.index + 1}: {what}; cycle {a.cycle_time_s:.1f} s, "
                      f"opening {a.final_opening * 1000:.0f} mm", flush=True)
                reported += 1
        timed_out = not execu.finished.is_set()
        wall, sim_s = time.monotonic() - t0, sim.sim_time - sim0
        drops, dropped = sim.lag_drops - drops0, sim.lag_dropped_s - dropped0
        attempts = [dict(a.__dict__) for a in execu.attempts]
        ok = [a for a in attempts if a["success"]]
        mean_cycle = float(np.mean([a["cycle_time_s"] for a in ok])) if ok else float("nan")
        with recorder.lock:
            left = objects_on_table(recorder.objects, sim.layout)
            first = recorder.first
        (args.output / "attempts.jsonl").write_text("".join(json.dumps(a, default=float) + "\n" for a in attempts))
        reason = "timed out" if timed_out else execu.stop_reason
        title = (f"{len(ok)}/{len(attempts)} picks succeeded, mean cycle {mean_cycle:.1f} s (simulated); "
                 f"stopped: {reason}")
        remaining = execu.table_scene if reason.startswith("objects remain") else None
        png = save_picture(args.output / "pick_run.png", first, attempts, title, remaining)
        print(f"{PROG}: summary: attempts={len(attempts)} successes={len(ok)} mean_cycle_s={mean_cycle:.2f} "
              f"objects_left={len(left)}/{len(sim.names)} (simulation ground truth) stopped: {reason}; "
              f"{wall:.1f} s wall, sim time {sim_s:.1f} s (real-time factor {sim_s / max(wall, 1e-9):.3f}; "
              f"physics fell behind {drops} time(s), {dropped:.1f} s dropped)", flush=True)
        print(f"{PROG}: wrote {png} and {args.output / 'attempts.jsonl'}", flush=True)
        if timed_out:
            return fail(f"timed out after {timeout:.0f} s", 1)
        if not ok:
            return fail("no object was picked", 1)
        return 0
    finally:
        if executor is not None:
            for n in nodes:
                if hasattr(n, "finished"):
                    n.finished.set()
        stop_spinning(executor, spinner)  # before the nodes go (grasp_bridge.runtime.stop_spinning)
        stop_spinning(perception, perceiver)
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown()
        sys.setswitchinterval(switch_interval)
