"""Detector latency: the project's model vs the peer GG-CNN2, library and end to end through ROS.

1. Library (no ROS): per-frame ``GraspDetector.detect`` latency, p50/p99, for the
   project's model (``ggcnn2_synth`` when it is in models/) and the peer
   ``ggcnn2_cornell`` (../shared/anchors/ggcnn2_cornell.onnx beside the checkout), on the same frames.
2. End to end: camera and detector as separate node processes (replay of the same
   frames); latency = receipt of ``/grasp_candidates`` − the depth image stamp.

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
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
PROJECT, PEER = "ggcnn2_synth", "ggcnn2_cornell"
QUANTISED = PROJECT + "_int8"


def make_frames(folder: Path, n: int) -> Path:
    """n generated 640x480 depth frames (table + objects) and their camera_info YAML."""
    from grasp_bringup.synthetic import write_frames

    return write_frames(folder, n=n, seed=100)


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


def e2e_latency(model: str, folder: Path, info: Path, n: int, rate: float, domain: int,
                provider: str = "cpu") -> np.ndarray:
    """Seconds from depth image stamp to receipt of /grasp_candidates, camera and detector as processes."""
    import rclpy
    from grasp_bridge.qos import result_qos
    from rclpy.time import Time

    from grasp_interfaces.msg import GraspCandidateArray

    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", GRASP_ROOT=str(REPO))
    env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds.xml"))
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    cfg = str(REPO / "config" / "grasp.yaml")
    procs = [
        subprocess.Popen([sys.executable, "-m", "grasp_detector.detector_node", "--ros-args", "--params-file", cfg,
                          "-p", f"model:={model}", "-p", "publish_annotated:=false",
                          "-p", f"onnx_generative.execution_provider:={provider}"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "grasp_camera.camera_node", "--ros-args", "--params-file", cfg,
                          "-p", f"replay.folder:={folder}", "-p", f"replay.intrinsics:={info}",
                          "-p", f"replay.rate_hz:={rate}", "-p", "replay.loop:=true"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=domain)
    node = rclpy.create_node("bench_e2e", context=ctx)
    lat: list[float] = []

    def on_msg(msg):
        lat.append((node.get_clock().now() - Time.from_msg(msg.header.stamp)).nanoseconds * 1e-9)

    node.create_subscription(GraspCandidateArray, "/grasp_candidates", on_msg, result_qos())
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
    return np.asarray(lat[2:])


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
    if not models:
        print("[bench] error: no model available", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="grasp_bench_") as tmp:
        folder = Path(tmp) / "frames"
        info = make_frames(folder, args.frames)
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
        if args.e2e_frames > 0:
            for i, (label, model) in enumerate(models.items()):
                domain = 1 + (os.getpid() * 7 + 50 + i) % 100
                results[f"end-to-end {label} ({model})"] = e2e_latency(model, folder, info, args.e2e_frames,
                                                                       args.rate, domain, args.provider)
    print(f"\nexecution provider: {args.provider} -> {', '.join(providers)}")
    print("\nDetector latency per frame (640x480 generated depth frames"
          + (", this machine's CPU" if on_cpu else f", {providers[0]}") + ").\n"
          "library: detect() on raw frames (1% holes, inpainted inside detect); end-to-end: camera node\n"
          "(replay, holes inpainted before the stamp) -> DDS -> detector node -> DDS -> receipt, minus stamp.")
    for k, v in results.items():
        print(summary(k, v))
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
