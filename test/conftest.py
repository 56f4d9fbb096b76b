"""Shared fixtures: the checkout, the colcon workspace environment, fresh DDS domains, node processes.

The tests run with a bare ``.venv/bin/python -m pytest`` too: the workspace
environment (``install/setup.bash``) is read once from a bash subprocess, put on
``sys.path`` for this process (with the workspace's interface libraries
preloaded, since ``LD_LIBRARY_PATH`` cannot change after start-up) and handed
whole to every node process.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "install"
#: Large-data transports for images between processes (see config/fastdds.xml): without it most
#: best-effort 640x480 images are lost over UDP loopback on these machines.
FASTDDS_PROFILE = str(REPO / "config" / "fastdds.xml")
os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", FASTDDS_PROFILE)  # this process's participants too


def _workspace_env() -> dict[str, str] | None:
    """os.environ plus what ``install/setup.bash`` sets, or None when the workspace is not built."""
    setup = INSTALL / "setup.bash"
    if not setup.is_file():
        return None
    venv = REPO / ".venv"
    cmd = f'set +u; [ -f "{venv}/bin/activate" ] && . "{venv}/bin/activate"; . "{setup}"; env -0'
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, check=True).stdout
    env = dict(kv.split("=", 1) for kv in out.decode().split("\0") if "=" in kv)
    env["GRASP_ROOT"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", FASTDDS_PROFILE)
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)  # let the child set up its own library path
    return env


WORKSPACE_ENV = _workspace_env()


def _enter_workspace(env: dict[str, str]) -> None:
    """Make the workspace's packages importable here and preload its message libraries."""
    for p in reversed(env.get("PYTHONPATH", "").split(os.pathsep)):
        if p and p not in sys.path:
            sys.path.insert(0, p)
    libs = sorted(INSTALL.glob("*/lib/lib*.so"))
    for _ in range(len(libs)):  # load in dependency order by retrying what failed
        failed = []
        for lib in libs:
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                failed.append(lib)
        if not failed or len(failed) == len(libs):
            break
        libs = failed
    os.environ.setdefault("GRASP_ROOT", str(REPO))


if WORKSPACE_ENV is not None:
    _enter_workspace(WORKSPACE_ENV)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder."""
    return REPO


@pytest.fixture(scope="session")
def ros_env() -> dict[str, str]:
    """Environment for node processes: the venv and the sourced colcon workspace."""
    if WORKSPACE_ENV is None:
        pytest.skip("colcon workspace not built: run `. scripts/bootstrap.sh` (or ./test.sh) first")
    return dict(WORKSPACE_ENV)


_DOMAINS = itertools.count()


@pytest.fixture
def domain_id() -> int:
    """A ROS_DOMAIN_ID (1-100) not used by another test of this run, spread across runs by pid."""
    return 1 + (os.getpid() * 7 + next(_DOMAINS)) % 100


class NodeProcess:
    """A node started as ``python -m <module> --ros-args ...``; stdout and stderr go to files."""

    def __init__(self, module: str, ros_args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.module = module
        name = module.rsplit(".", 1)[-1]
        self.stdout_path = log_dir / f"{name}.stdout"
        self.stderr_path = log_dir / f"{name}.stderr"
        self._out = open(self.stdout_path, "w")  # closed in stop()
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", module, "--ros-args", *ros_args], env=env,
                                     cwd=REPO, stdout=self._out, stderr=self._err)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        self._err.flush()
        return self.stderr_path.read_text()

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGINT, then SIGKILL after ``timeout`` s; returns the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
        self._err.close()
        return self.proc.returncode


@pytest.fixture
def spawn_node(ros_env, domain_id, tmp_path):
    """``spawn_node(module, ros_args)`` → :class:`NodeProcess` in this test's domain, stopped in teardown."""
    procs: list[NodeProcess] = []

    def spawn(module: str, ros_args: list[str]) -> NodeProcess:
        env = dict(ros_env, ROS_DOMAIN_ID=str(domain_id))
        p = NodeProcess(module, ros_args, env, tmp_path)
        procs.append(p)
        return p

    yield spawn
    for p in procs:
        p.stop()


class ProbeNode:
    """A test's own ROS node: its own rclpy context in the test's domain, a single-threaded executor.

    Args:
        domain_id: the test's ROS_DOMAIN_ID (fixture ``domain_id``).
        name: node name.
        sim_time: run the node on simulation time (``use_sim_time``).
    """

    def __init__(self, domain_id: int, name: str, sim_time: bool = False) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        overrides = [Parameter("use_sim_time", value=True)] if sim_time else []
        self.node = rclpy.create_node(name, context=self.context, parameter_overrides=overrides)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin(self, t: float = 0.05) -> None:
        self.executor.spin_once(timeout_sec=t)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class FrameFeeder:
    """Plays the camera node for a detector under test: each :meth:`publish` sends one frame — ``depth``
    (32FC1 m) on ``/depth/image``, its ``/depth/camera_info`` and, when given, ``rgb`` (rgb8) on
    ``/color/image_raw`` — with one new stamp (sec 101, 102, …; with ``wall_clock`` the system clock at
    publishing, a driver's capture time) for all, and remembers the stamps sent.

    Args:
        probe: the test's :class:`ProbeNode`. intr: the frame's ``CameraIntrinsics``.
        depth: (H, W) float32 m. rgb: (H, W, 3) uint8 or None. wall_clock: stamp with ``time.time_ns()``.
    """

    def __init__(self, probe: ProbeNode, intr, depth, rgb=None, wall_clock: bool = False) -> None:
        from sensor_msgs.msg import CameraInfo, Image

        self.probe, self.intr, self.depth, self.rgb, self.wall_clock = probe, intr, depth, rgb, wall_clock
        self.depth_pub = probe.node.create_publisher(Image, "/depth/image", 10)
        self.info_pub = probe.node.create_publisher(CameraInfo, "/depth/camera_info", 10)
        self.rgb_pub = probe.node.create_publisher(Image, "/color/image_raw", 10) if rgb is not None else None
        self.sent: set = set()
        self._stamps = itertools.count(101)

    def publish(self) -> None:
        from grasp_bridge.camera_info import intrinsics_to_camera_info
        from grasp_bridge.image import numpy_to_image
        from grasp_bridge.sync import stamp_key
        from std_msgs.msg import Header

        header = Header(frame_id="camera_depth_optical_frame")
        if self.wall_clock:
            from rclpy.time import Time

            header.stamp = Time(nanoseconds=time.time_ns()).to_msg()
        else:
            header.stamp.sec = next(self._stamps)
        self.info_pub.publish(intrinsics_to_camera_info(self.intr, header))
        self.depth_pub.publish(numpy_to_image(self.depth, "32FC1", header))
        if self.rgb_pub is not None:
            self.rgb_pub.publish(numpy_to_image(self.rgb, "rgb8", header))
        self.sent.add(stamp_key(header.stamp))

    def answered(self, messages: list) -> list:
        """The messages stamped with a frame this feeder sent."""
        from grasp_bridge.sync import stamp_key

        return [m for m in messages if stamp_key(m.header.stamp) in self.sent]

    def until(self, predicate, timeout: float) -> bool:
        """Publish a frame and spin 0.3 s until ``predicate()`` holds or ``timeout`` s passed."""
        def step() -> None:
            self.publish()
            self.probe.spin(0.3)
        return wait_for(predicate, timeout, spin=step)


def wait_for(predicate, timeout: float, spin=None, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` (calling ``spin()`` between polls) until true or ``timeout`` s passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if spin is not None:
            spin()
        else:
            time.sleep(interval)
    return bool(predicate())


def build_tiny_model(folder: Path, size: int = 64, seed: int = 0) -> Path:
    """Write a tiny untrained GG-CNN-shaped ONNX network and its model card to ``folder``; returns the card.

    depth (1, 1, size, size) → 3×3 conv (4 channels) → pos = sigmoid, cos = tanh, sin = tanh,
    width = sigmoid, each (1, 1, size, size). Built with ``onnx.helper`` (no PyTorch needed).
    """
    import numpy as np
    import onnx
    from grasp_core.model_card import write_card
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.normal(0, 2.0, (4, 1, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    split = numpy_helper.from_array(np.ones(4, np.int64), "split")
    nodes = [
        helper.make_node("Conv", ["depth", "w", "b"], ["feat"], pads=[1, 1, 1, 1]),
        helper.make_node("Split", ["feat", "split"], ["p", "c", "s", "wd"], axis=1),
        helper.make_node("Sigmoid", ["p"], ["pos"]),
        helper.make_node("Tanh", ["c"], ["cos"]),
        helper.make_node("Tanh", ["s"], ["sin"]),
        helper.make_node("Sigmoid", ["wd"], ["width"]),
    ]
    shape = [1, 1, size, size]
    graph = helper.make_graph(nodes, "tiny_ggcnn", [helper.make_tensor_value_info("depth", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
                               for n in ("pos", "cos", "sin", "width")], [w, b, split])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny_test.onnx"
    onnx.save(model, str(path))
    return write_card(path, {
        "name": "tiny_test", "architecture": "3x3 conv, untrained (tests only)",
        "input": {"name": "depth", "modality": "depth", "size": size, "crop": {"mode": "centre", "size_px": 300},
                  "inpaint": "navier_stokes", "depth_normalisation": "mean_clip", "depth_clip": 1.0},
        "outputs": {"quality": "pos", "cos": "cos", "sin": "sin", "width": "width"},
        "decoding": {"quality": "clip", "angle": "half_atan2", "width_scale_px": 30.0},
        "postprocess": {"quality_sigma": 2.0, "angle_sigma": 2.0, "width_sigma": 1.0, "jaw_length_ratio": 0.5},
        "license": "Apache-2.0", "description": "Untrained network written by the tests.",
    })


@pytest.fixture(scope="session")
def test_model(tmp_path_factory) -> str:
    """Model card path for node tests: a tiny ONNX net built here, else the peer ggcnn2_cornell (skip if absent)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        anchors = REPO.parent / "shared" / "anchors"
        if not (anchors / "ggcnn2_cornell.onnx").is_file():
            pytest.skip(f"neither the onnx package (to build a test model) nor {anchors}/ggcnn2_cornell.onnx")
        return "ggcnn2_cornell"
    return str(build_tiny_model(tmp_path_factory.mktemp("model")))
