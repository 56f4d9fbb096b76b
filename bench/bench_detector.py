"""Detector latency: the project's model vs the peer GG-CNN2, library and end to end through ROS.

1. Library (no ROS): per-frame ``GraspDetector.detect`` latency, p50/p99, for the
   project's model (``ggcnn2_synth`` when it is in models/) and the peer
   ``ggcnn2_cornell`` (../shared/anchors/ggcnn2_cornell.onnx beside the checkout), on the same frames.
2. End to end: camera and detector as separate node processes (replay of the same
   frames), wired as the stack wires them (the detector on the camera's ``depth/image_unfilled``,
   inpainting its crop; a third process reads the executor's ``depth_topic`` as the executor does, so
   the camera serves it as in the cell, and inpaints the full frame beside the detector when that
   topic is the hole-free ``depth/image``); latency = receipt of
   ``/grasp_candidates`` − the depth image stamp (the replay stamps a frame when it starts
   reading its file: reading and conversion count). ``--compare-filled`` adds a run with the
   detector on the inpainted ``depth/image`` (``publish_unfilled:=false``), the path before.
   Both nodes run with ``publish_timings``: their ``~/timings`` (:mod:`grasp_bridge.timings`)
   and this process's receipt give, per frame, the measured stages, p50 of each printed and
   grouped as conversion, preprocess, inference, post-process, serialisation and DDS; with the
   ratio end-to-end p50 / network p50 (``session.run`` as the node runs it, same run).

3. Arithmetic rate: the network alone (``session.run`` on the detector's own input), its FLOPs
   counted from the ONNX graph (:func:`grasp_core.onnx_cost.network_macs`), as achieved GFLOP/s
   and as a fraction of this machine's fp32 GEMM ceiling (``np.matmul``, OpenBLAS) measured in
   the same run; for every model of the run, the INT8 variant ``<project>_int8`` included when
   its card is in models/.
4. ``--sweep``: ONNX Runtime session options (graph optimisation level, intra-op threads, CPU
   memory arena) on the project's network, p50 of ``session.run``.

``--provider cpu|cuda|tensorrt`` (default cpu): the ONNX Runtime execution provider of the library,
network-alone and end-to-end runs (the detector node's ``onnx_generative.execution_provider``), with
the detector's fallback: where this ONNX Runtime lacks it (``onnxruntime-gpu`` not installed), one
warning and the next provider, the CPU last; the line ``execution provider:`` says what ran. The
GEMM ceiling is the CPU's, so its fraction is printed for CPU runs only; ``--sweep`` times CPU options.

Prints ratios project/peer, writes a histogram to ``bench/out/latency.png``.
Run in the workspace environment::

    . scripts/bootstrap.sh && python bench/bench_detector.py [--frames 30] [--e2e-frames 20] [--provider cuda]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
PROJECT, PEER = "ggcnn2_synth", "ggcnn2_cornell"
QUANTISED = PROJECT + "_int8"


def make_frames(folder: Path, n: int, mm: bool = False) -> Path:
    """n generated 640x480 depth frames (table + objects, 1 % holes), .npy float32 metres, and their
    camera_info YAML; ``mm``: saved instead as a RealSense or Kinect recording is, 16-bit PNG
    millimetres (0 = hole), which the replay forwards as a driver's 16UC1."""
    import cv2
    from grasp_bringup.synthetic import write_frames

    info = write_frames(folder, n=n, seed=100)
    for npy in sorted(folder.glob("*.npy")) if mm else []:
        metres = np.load(npy)
        cv2.imwrite(str(npy.with_suffix(".png")),
                    np.where(np.isfinite(metres), np.round(metres * 1000.0), 0).astype(np.uint16))
        npy.unlink()
    return info


def available_models() -> dict[str, str]:
    """label → model card name, for the models that can be loaded here (reasons printed for the others)."""
    from grasp_core.model_card import ModelCardError, load_card

    out = {}
    for label, name in (("project", PROJECT), ("peer", PEER), ("project int8", QUANTISED)):
        try:
            load_card(name).verify()
            out[label] = name
        except ModelCardError as exc:
            print(f"[bench] {label} model {name} not available: {exc}")
    return out


def library_latency(model: str, frames: list[np.ndarray], intr, providers: list[str] | None = None) -> np.ndarray:
    """Seconds per ``detect`` call on each frame (after 3 warm-up calls), on ONNX Runtime ``providers``."""
    from grasp_core.inference import GraspDetector
    from grasp_core.model_card import provider_fallback

    det = GraspDetector(model, providers=providers)
    fallback = provider_fallback(det.session, providers or [])
    if fallback:
        print(f"[bench] warning: {model}: {fallback}")
    for f in frames[:3]:
        det.detect(f, intrinsics=intr)
    out = []
    for f in tqdm(frames, desc=f"library {model}", unit="frame"):
        t0 = time.perf_counter()
        det.detect(f, intrinsics=intr)
        out.append(time.perf_counter() - t0)
    return np.asarray(out)


def run_p50(sess, name: str, x: np.ndarray, n: int = 200) -> float:
    """p50 seconds of ``sess.run`` on the input ``x`` (after 10 warm-up runs)."""
    for _ in range(10):
        sess.run(None, {name: x})
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        sess.run(None, {name: x})
        t.append(time.perf_counter() - t0)
    return float(np.percentile(t, 50))


def network_rate(model: str, frame: np.ndarray, intr, threads: int = 0, n: int = 200,
                 providers: list[str] | None = None) -> tuple[float, float]:
    """(p50 s of ``session.run`` on the detector's input for ``frame``, FLOPs of one pass)."""
    from grasp_core.inference import GraspDetector
    from grasp_core.onnx_cost import network_macs

    det = GraspDetector(model, threads=threads, providers=providers)
    x, _ = det.preprocess(frame)
    p50 = run_p50(det.session, det.session.get_inputs()[0].name, x, n)
    return p50, 2.0 * network_macs(det.card.model_file)


def option_sweep(model: str, frame: np.ndarray, n: int = 200) -> list[tuple[str, float]]:
    """p50 ms of ``session.run`` per ONNX Runtime option set (graph level x threads x arena)."""
    import onnxruntime as ort
    from grasp_core.inference import GraspDetector

    det = GraspDetector(model)
    x, _ = det.preprocess(frame)
    name = det.session.get_inputs()[0].name
    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all (NCHWc)": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    rows = []
    for lname, level in levels.items():
        for threads in (1, 2):
            for arena in (True, False):
                o = ort.SessionOptions()
                o.graph_optimization_level, o.intra_op_num_threads, o.enable_cpu_mem_arena = level, threads, arena
                o.log_severity_level = 3
                sess = ort.InferenceSession(str(det.card.model_file), o, providers=["CPUExecutionProvider"])
                rows.append((f"{lname}, {threads} thread(s), arena {'on' if arena else 'off'}",
                             1e3 * run_p50(sess, name, x, n)))
    return rows


#: stage of the breakdown → its group (the issue's six); stages end at the nodes' ``~/timings`` events.
#: A publish call returns after the subscriber in the other process may already have the message
#: (shared memory), so the tiling goes from "serialised" straight to the receiver's callback ("DDS":
#: rclpy's conversion to C, CDR serialisation, transport, wake-up and deserialisation into Python);
#: the publish calls' own durations are printed beside, outside the sum.
STAGES = {
    "camera: read file": "conversion",
    "camera: to metres": "conversion",
    "camera: camera_info publish": "DDS",
    "camera: inpaint (full frame)": "preprocess",
    "camera: Image message": "serialisation",
    "DDS camera -> detector": "DDS",
    "detector: pair with camera_info": "DDS",
    "detector: msg -> metres": "conversion",
    "detector: preprocess": "preprocess",
    "detector: inference (network)": "inference",
    "detector: post-process": "post-process",
    "detector: GraspCandidateArray": "serialisation",
    "DDS detector -> receipt": "DDS",
}
#: the publish calls, inside the two DDS stages (not part of the sum)
PUBLISH_CALLS = ("camera: publish call", "detector: publish call")
_CAMERA_EVENTS = {"read": "camera: read file", "converted": "camera: to metres",
                  "info_published": "camera: camera_info publish",
                  "inpainted": "camera: inpaint (full frame)", "serialised": "camera: Image message"}
_DETECTOR_EVENTS = {"received": "DDS camera -> detector", "paired": "detector: pair with camera_info",
                    "converted": "detector: msg -> metres", "preprocessed": "detector: preprocess",
                    "inferred": "detector: inference (network)", "postprocessed": "detector: post-process",
                    "serialised": "detector: GraspCandidateArray"}


def _tile(stamp_ns: int, msg, names: dict[str, str], prefix: str) -> tuple[dict[str, float], int, float]:
    """Stages of one node's StageTimes up to the publish call of the image the next node reads:
    (stages, last instant before that call, publish call s).

    The camera's ``unfilled_serialised`` / ``unfilled_published`` (``depth/image_unfilled``, the
    detector's input) end its part of the path; what it does after them (inpainting, ``depth/image``)
    runs beside the detector and is left out of the tiling."""
    from grasp_bridge.timings import stage_durations

    events, t_ns = list(msg.events), list(msg.t_ns)
    if "unfilled_published" in events:
        cut = events.index("unfilled_published") + 1
        events, t_ns = [e.removeprefix("unfilled_") for e in events[:cut]], t_ns[:cut]
    call = float("nan")
    if events and events[-1] == "published":
        call = (t_ns[-1] - t_ns[-2]) * 1e-9 if len(t_ns) > 1 else call
        events, t_ns = events[:-1], t_ns[:-1]
    out = {names.get(k, f"{prefix}: {k}"): v for k, v in stage_durations(stamp_ns, events, t_ns).items()}
    return out, (t_ns[-1] if t_ns else stamp_ns), call


def breakdown(stamp_ns: int, camera, detector, receipt_ns: int) -> dict[str, float] | None:
    """Seconds per stage of one frame from the two nodes' ``StageTimes`` and the receipt (None: incomplete).

    The stages of :data:`STAGES` tile the interval stamp → receipt: their sum is the end-to-end
    latency; the :data:`PUBLISH_CALLS` lie inside the DDS stages.
    """
    if camera is None or detector is None or not camera.t_ns or not detector.t_ns:
        return None
    out, last, call = _tile(stamp_ns, camera, _CAMERA_EVENTS, "camera")
    out[PUBLISH_CALLS[0]] = call
    det, last, call = _tile(last, detector, _DETECTOR_EVENTS, "detector")
    out.update(det)
    out[PUBLISH_CALLS[1]] = call
    out["DDS detector -> receipt"] = (receipt_ns - last) * 1e-9
    return out


#: a process that reads the executor's depth topic (argv[1]), as its collision check does
DEPTH_READER = """
import sys
import rclpy
from grasp_bridge.qos import sensor_qos
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("bench_depth_reader")
node.create_subscription(Image, sys.argv[1], lambda m: None, sensor_qos())
try:
    rclpy.spin(node)
except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
    pass
"""


def e2e_latency(model: str, folder: Path, info: Path, n: int, rate: float,
                domain: int, unfilled: bool = True,
                provider: str = "cpu") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Camera and detector as processes: (seconds from depth image stamp to receipt of /grasp_candidates
    per frame, stage → seconds per frame of the frames whose timings all arrived).

    ``unfilled`` True (the stack's wiring, :func:`grasp_bringup.launch_params.detector_remappings`):
    the detector reads ``depth/image_unfilled`` and inpaints its crop only, while a third process reads
    the executor's configured ``depth_topic`` as the executor does; False: the detector reads the
    inpainted ``depth/image`` (``publish_unfilled:=false``)."""
    import rclpy
    from grasp_bridge.qos import result_qos
    from grasp_bridge.sync import stamp_key
    from grasp_bringup.launch_params import detector_remappings, remap_args

    from grasp_interfaces.msg import GraspCandidateArray, StageTimes

    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", GRASP_ROOT=str(REPO))
    env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds.xml"))
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    cfg = str(REPO / "config" / "grasp.yaml")
    procs = [
        subprocess.Popen([sys.executable, "-m", "grasp_detector.detector_node", "--ros-args", "--params-file", cfg,
                          "-p", f"model:={model}", "-p", "publish_annotated:=false",
                          "-p", "publish_timings:=true",
                          "-p", f"onnx_generative.execution_provider:={provider}"]
                         + (remap_args(detector_remappings(cfg)) if unfilled else []), env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "grasp_camera.camera_node", "--ros-args", "--params-file", cfg,
                          "-p", f"replay.folder:={folder}", "-p", f"replay.intrinsics:={info}",
                          "-p", f"replay.rate_hz:={rate}", "-p", "replay.loop:=true",
                          "-p", "publish_timings:=true", "-p", f"publish_unfilled:={str(unfilled).lower()}"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    if unfilled:  # the executor's collision check reads the camera too (own process), on its configured topic
        topic = yaml.safe_load(Path(cfg).read_text())["grasp_executor"]["ros__parameters"]["depth_topic"]
        procs.append(subprocess.Popen([sys.executable, "-c", DEPTH_READER, topic], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=domain)
    node = rclpy.create_node("bench_e2e", context=ctx)
    lat: list[float] = []
    receipts: list[tuple[tuple[int, int], int]] = []  # (stamp, receipt ns) in order
    timings: dict[str, dict] = {"camera": {}, "detector": {}}

    def on_msg(msg):
        now = time.time_ns()  # the nodes' timings are on this clock too
        key = stamp_key(msg.header.stamp)
        lat.append((now - (key[0] * 1_000_000_000 + key[1])) * 1e-9)
        receipts.append((key, now))

    node.create_subscription(GraspCandidateArray, "/grasp_candidates", on_msg, result_qos())

    for who in timings:
        node.create_subscription(StageTimes, f"/grasp_{who}/timings",
                                 lambda m, w=who: timings[w].__setitem__(stamp_key(m.header.stamp), m), 50)
    from rclpy.executors import SingleThreadedExecutor

    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    try:
        bar = tqdm(total=n + 2, desc=f"end-to-end {model}", unit="frame")
        deadline = time.monotonic() + 60 + 3 * n / rate
        while len(lat) < n + 2 and time.monotonic() < deadline:  # the first 2 are warm-up
            before = len(lat)
            ex.spin_once(timeout_sec=0.1)
            bar.update(len(lat) - before)
        bar.close()
        end = time.monotonic() + 1.0  # the detector publishes its timings after the candidates
        while time.monotonic() < end:
            ex.spin_once(timeout_sec=0.05)
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    stages: dict[str, list[float]] = {}
    for key, receipt in receipts[2:]:
        b = breakdown(key[0] * 1_000_000_000 + key[1], timings["camera"].get(key), timings["detector"].get(key),
                      receipt)
        for k, v in (b or {}).items():
            stages.setdefault(k, []).append(v)
    return np.asarray(lat[2:]), {k: np.asarray(v) for k, v in stages.items()}


def summary(label: str, x: np.ndarray) -> str:
    if x.size == 0:
        return f"{label:<34} no samples"
    return (f"{label:<34} n={x.size:3d}  p50 {1e3 * np.percentile(x, 50):7.1f} ms  "
            f"p99 {1e3 * np.percentile(x, 99):7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30, help="library benchmark frames (default 30)")
    ap.add_argument("--e2e-frames", type=int, default=20, help="end-to-end frames per model (default 20; 0 = skip)")
    ap.add_argument("--rate", type=float, default=5.0, help="replay rate for end to end, Hz (default 5)")
    ap.add_argument("--sweep", action="store_true", help="also time ONNX Runtime session options (CPU)")
    ap.add_argument("--compare-filled", action="store_true",
                    help="also end to end for the project model with the detector on the camera's "
                         "inpainted depth/image (publish_unfilled:=false), the path before depth/image_unfilled")
    ap.add_argument("--mm-frames", action="store_true",
                    help="frames as 16-bit PNG millimetres (a RealSense recording): the camera forwards them "
                         "as 16UC1, half the bytes of metres (decoding a PNG costs more than reading a .npy)")
    ap.add_argument("--models", help=f"comma-separated model names to run (default all: {PROJECT},{PEER},{QUANTISED})")
    ap.add_argument("--provider", default="cpu", choices=["cpu", "cuda", "tensorrt"],
                    help="ONNX Runtime execution provider (default cpu; cuda/tensorrt need onnxruntime-gpu, "
                         "else the CPU with a warning)")
    args = ap.parse_args(argv)
    from grasp_core.camera import load_camera_info_yaml
    from grasp_core.frames import list_depth_frames, load_depth
    from grasp_core.model_card import execution_providers

    providers, warning = execution_providers(args.provider)
    if warning:
        print(f"[bench] warning: {warning}")
    on_cpu = providers[0] == "CPUExecutionProvider"

    models = available_models()
    if args.models:
        models = {k: v for k, v in models.items() if v in args.models.split(",")}
    if not models:
        print("[bench] error: no model available", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="grasp_bench_") as tmp:
        folder = Path(tmp) / "frames"
        info = make_frames(folder, args.frames, mm=args.mm_frames)
        intr = load_camera_info_yaml(info)
        frames = [load_depth(p) for p in list_depth_frames(folder)]
        from grasp_core.onnx_cost import gemm_ceiling_gflops

        ceiling = gemm_ceiling_gflops()
        rates = {}
        for label, model in models.items():
            results[f"library {label} ({model})"] = library_latency(model, frames, intr, providers)
            for threads in (1, 2):
                rates[(label, model, threads)] = network_rate(model, frames[0], intr, threads, providers=providers)
        ceiling = max(ceiling, gemm_ceiling_gflops())  # before and after: the better of the two
        sweep = option_sweep(models["project"], frames[0]) if args.sweep and "project" in models else []
        stages: dict[str, dict[str, np.ndarray]] = {}
        node_net: dict[str, float] = {}
        if args.e2e_frames > 0:
            for i, (label, model) in enumerate(models.items()):
                domain = 1 + (os.getpid() * 7 + 50 + i) % 100
                # the network as the node runs it (config: onnx_generative.threads 0 = ONNX Runtime's default)
                node_net[label] = network_rate(model, frames[0], intr, 0, providers=providers)[0]
                key = f"end-to-end {label} ({model})"
                results[key], stages[key] = e2e_latency(model, folder, info, args.e2e_frames, args.rate, domain,
                                                            provider=args.provider)
                if args.compare_filled and label == "project":
                    node_net[label + " filled"] = node_net[label]
                    key = f"end-to-end {label} ({model}), detector on the inpainted depth/image"
                    results[key], stages[key] = e2e_latency(model, folder, info, args.e2e_frames, args.rate,
                                                            domain, unfilled=False, provider=args.provider)
    print(f"\nexecution provider: {args.provider} -> {', '.join(providers)}")
    print("\nDetector latency per frame (640x480 generated depth frames, "
          + ("16-bit PNG mm" if args.mm_frames else ".npy m")
          + (", this machine's CPU" if on_cpu else f", {providers[0]}") + ").\n"
          "library: detect() on raw frames (1% holes, inpainted inside detect); end-to-end: camera node\n"
          "(replay, stamped before the file is read) -> depth/image_unfilled -> DDS -> detector node (crop\n"
          "inpainted) -> DDS -> receipt, minus stamp; a process reads the executor's depth_topic beside it.")
    for k, v in results.items():
        print(summary(k, v))
    for (key, st), net in zip(stages.items(), node_net.values(), strict=True):
        e2e = results[key]
        if not e2e.size:
            continue
        n = min((v.size for v in st.values()), default=0)
        print(f"\nBreakdown of {key} (p50 per stage over the {n} frame(s) with both nodes' ~/timings; "
              f"the stages tile stamp -> receipt):")
        groups: dict[str, float] = {}
        for name, group in STAGES.items():
            if name in st:
                p = float(np.percentile(st[name], 50))
                groups[group] = groups.get(group, 0.0) + p
                print(f"  {name:<34} {group:<14} p50 {1e3 * p:7.2f} ms")
        for name in sorted(st.keys() - STAGES.keys() - set(PUBLISH_CALLS)):
            print(f"  {name:<34} {'?':<14} p50 {1e3 * float(np.percentile(st[name], 50)):7.2f} ms")
        for name in PUBLISH_CALLS:
            if name in st:
                print(f"  ({name}, inside DDS: p50 {1e3 * float(np.nanpercentile(st[name], 50)):.2f} ms)")
        print("  by group (sum of the stages' p50): " + ", ".join(f"{g} {1e3 * v:.2f} ms" for g, v in groups.items()))
        r = float(np.percentile(e2e, 50)) / net
        print(f"  end-to-end p50 {1e3 * np.percentile(e2e, 50):.2f} ms / network p50 {1e3 * net:.2f} ms "
              f"(session.run, threads as the node) = x{r:.2f} (target x1.20)")
    print(f"\nNetwork alone (session.run), fp32 GEMM ceiling of this machine measured in this run: "
          f"{ceiling:.0f} GFLOP/s")
    for (label, model, threads), (p50, flops) in rates.items():
        rate = flops / p50 / 1e9  # for the INT8 network: multiply-adds counted as for fp32 (GOP/s)
        share = f"{rate / ceiling:5.1%} of the ceiling" if on_cpu else "(CPU ceiling n/a)"
        print(f"{label + ' (' + model + ')':<34} {threads} thread(s)  p50 {1e3 * p50:6.2f} ms  "
              f"{flops / 1e9:.3f} GFLOP  {rate:6.1f} GFLOP/s  {share}")
    q = [(k, v) for k, v in rates.items() if k[0] == "project int8"]
    for (_, _, threads), (p50, _) in q:
        base = rates.get(("project", PROJECT, threads))
        if base:
            print(f"ratio int8/fp32, network alone, {threads} thread(s): x{p50 / base[0]:.2f}")
    if sweep:
        print("\nONNX Runtime session options, project network alone (p50):")
        for name, ms in sweep:
            print(f"  {name:<40} {ms:6.2f} ms")
    for kind in ("library", "end-to-end"):
        pr = [v for k, v in results.items() if k.startswith(f"{kind} project")]
        pe = [v for k, v in results.items() if k.startswith(f"{kind} peer")]
        if pr and pe and pr[0].size and pe[0].size:
            r50 = np.percentile(pr[0], 50) / np.percentile(pe[0], 50)
            r99 = np.percentile(pr[0], 99) / np.percentile(pe[0], 99)
            print(f"ratio project/peer, {kind}: p50 x{r50:.2f}, p99 x{r99:.2f}")
        elif kind == "library" and "project" not in models:
            print(f"ratio project/peer: n/a ({PROJECT} is not in models/ yet)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, kind in zip(axes, ("library", "end-to-end"), strict=True):
        for k, v in results.items():
            if k.startswith(kind) and v.size:
                ax.hist(1e3 * v, bins=20, alpha=0.6, label=k)
        ax.set_xlabel("latency per frame (ms)")
        ax.set_ylabel("frames")
        ax.set_title(kind)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png = OUT / "latency.png"
    fig.savefig(png, dpi=100)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
