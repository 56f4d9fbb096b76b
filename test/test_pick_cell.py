"""The pick loop through real ROS 2 processes: simulated cell, camera, detector and executor.

Specification:
* the simulated cell publishes /clock, /joint_states (six UR5 joints + the Robotiq knuckle),
  realsense-named depth (32FC1) / colour / camera_info, follows a JointTrajectory sent on the
  scaled_joint_trajectory_controller topic and refuses a trajectory beyond the joint limits;
* the executor, as its own process, rejects NaN, stale, out-of-workspace and unknown-frame
  candidates published by another process (each cause logged, the arm does not move, the node
  stays up) and executes a valid one, found by the detector in the cell's own depth image:
  the object ends up in the bin (simulation ground truth);
* with cell, camera, detector and executor as four processes, the executor's automatic mode
  lifts the object off the table (ground truth) and reports a successful pick.
"""
from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.action")
pytest.importorskip("grasp_sim.sim_node")

from builtin_interfaces.msg import Duration  # noqa: E402
from conftest import ProbeNode, wait_for  # noqa: E402
from grasp_bridge.camera_info import camera_info_to_intrinsics  # noqa: E402
from grasp_bridge.candidates import detection_to_msg  # noqa: E402
from grasp_bridge.image import image_to_numpy  # noqa: E402
from grasp_bridge.qos import result_qos, sensor_qos  # noqa: E402
from grasp_bridge.stamps import stamp_s  # noqa: E402
from grasp_core.depth import depth_to_metres, inpaint_depth  # noqa: E402
from grasp_core.inference import GraspDetector  # noqa: E402
from grasp_core.motion import BIN_CENTER, BIN_INNER, HOME_JOINTS  # noqa: E402
from grasp_core.robot import JOINT_NAMES, KNUCKLE_JOINT  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from grasp_interfaces.action import Pick  # noqa: E402
from grasp_interfaces.msg import GraspCandidate, GraspCandidateArray  # noqa: E402

pytestmark = pytest.mark.ros
TRAJ_TOPIC = "/scaled_joint_trajectory_controller/joint_trajectory"
#: A single procedural object that the default model picks (seed chosen once, checked by grasp-sim-bench).
SEED = 3


def in_bin(p) -> bool:
    return abs(p[0] - BIN_CENTER[0]) < BIN_INNER / 2 and abs(p[1] - BIN_CENTER[1]) < BIN_INNER / 2 and p[2] < 0.1


class CellProbe(ProbeNode):
    """The test's node (own context, this test's domain, simulation time) watching the cell."""

    def __init__(self, domain_id: int) -> None:
        super().__init__(domain_id, "cell_probe", sim_time=True)
        self.clock: float | None = None
        self.joints: JointState | None = None
        self.objects: dict[str, np.ndarray] = {}
        self.max_z: dict[str, float] = {}
        self.depth: Image | None = None
        self.info: CameraInfo | None = None
        self.colour: Image | None = None
        self.results: list[dict] = []
        n = self.node
        n.create_subscription(Clock, "/clock", self._on_clock, 10)
        n.create_subscription(JointState, "/joint_states", lambda m: setattr(self, "joints", m), 10)
        n.create_subscription(MarkerArray, "/grasp_sim/objects", self._on_objects, 10)
        n.create_subscription(Image, "/camera/camera/depth/image_rect_raw", lambda m: setattr(self, "depth", m),
                              sensor_qos())
        n.create_subscription(CameraInfo, "/camera/camera/depth/camera_info", lambda m: setattr(self, "info", m),
                              sensor_qos())
        n.create_subscription(Image, "/camera/camera/color/image_raw", lambda m: setattr(self, "colour", m),
                              sensor_qos())
        n.create_subscription(String, "/grasp_executor/pick_results",
                              lambda m: self.results.append(json.loads(m.data)), 10)
        self.candidates_pub = n.create_publisher(GraspCandidateArray, "/grasp_candidates", result_qos())
        self.traj_pub = n.create_publisher(JointTrajectory, TRAJ_TOPIC, 10)

    def _on_clock(self, m: Clock) -> None:
        self.clock = stamp_s(m.clock)

    def _on_objects(self, m: MarkerArray) -> None:
        for mk in m.markers:
            p = np.array([mk.pose.position.x, mk.pose.position.y, mk.pose.position.z])
            self.objects[mk.ns] = p
            self.max_z[mk.ns] = max(self.max_z.get(mk.ns, -1.0), float(p[2]))

    def stamp(self, msg) -> None:
        """Stamp ``msg``'s header with the latest simulation time (as a streaming publisher does)."""
        t = self.clock
        msg.header.stamp.sec = int(math.floor(t))
        msg.header.stamp.nanosec = int((t - math.floor(t)) * 1e9)

    def arm(self) -> np.ndarray:
        names = list(self.joints.name)
        return np.array([self.joints.position[names.index(j)] for j in JOINT_NAMES])

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.spin()


@pytest.fixture
def probe(domain_id):
    p = CellProbe(domain_id)
    yield p
    p.close()


def params(repo_root, *overrides: str) -> list[str]:
    args = ["--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "use_sim_time:=true"]
    for o in overrides:
        args += ["-p", o]
    return args


def candidate_msg(probe: CellProbe, stamp_s: float, position, quaternion=(0.0, 0.0, 0.0, 1.0),
                  frame: str = "camera_depth_optical_frame", opening: float = 0.04) -> GraspCandidateArray:
    msg = GraspCandidateArray()
    msg.header.frame_id = frame
    msg.header.stamp.sec = int(math.floor(stamp_s))
    msg.header.stamp.nanosec = int((stamp_s - math.floor(stamp_s)) * 1e9)
    c = GraspCandidate()
    c.pose.position.x, c.pose.position.y, c.pose.position.z = (float(v) for v in position)
    c.pose.orientation.x, c.pose.orientation.y, c.pose.orientation.z, c.pose.orientation.w = quaternion
    c.pose_valid, c.opening, c.quality, c.model_id = True, opening, 0.9, "test"
    msg.candidates.append(c)
    return msg


def detect_in_cell(probe: CellProbe, top_k: int = 5) -> GraspCandidateArray:
    """What our detector proposes for the cell's latest depth image (done here, in the test process)."""
    depth = inpaint_depth(depth_to_metres(image_to_numpy(probe.depth), probe.depth.encoding))
    intr = camera_info_to_intrinsics(probe.info)
    det = GraspDetector("ggcnn2_synth").detect(depth, intrinsics=intr, top_k=top_k)
    assert det.grasps, "the detector found no grasp in the cell's image"
    return detection_to_msg(det, probe.depth.header, intr.width, intr.height, "ggcnn2_synth")


def test_sim_cell_speaks_the_driver_interfaces(spawn_node, probe, repo_root):
    sim = spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}", "depth_noise:=false"))
    assert wait_for(lambda: probe.clock is not None and probe.joints is not None and probe.depth is not None
                    and probe.info is not None and probe.colour is not None and probe.objects, 60, probe.spin), \
        sim.stderr()
    assert list(probe.joints.name) == [*JOINT_NAMES, KNUCKLE_JOINT]
    np.testing.assert_allclose(probe.arm(), HOME_JOINTS, atol=0.01)
    assert probe.depth.encoding == "32FC1" and probe.depth.header.frame_id == "camera_depth_optical_frame"
    depth = image_to_numpy(probe.depth)
    assert depth.shape == (480, 640) and abs(float(np.median(depth)) - 0.70) < 0.005  # the table, 0.70 m down
    assert probe.colour.encoding == "rgb8" and probe.colour.header.frame_id == "camera_color_optical_frame"
    k = np.asarray(probe.info.k).reshape(3, 3)
    assert (k[0, 0], k[1, 1], k[0, 2], k[1, 2]) == (525.0, 525.0, 319.5, 239.5)
    t0 = probe.clock
    probe.spin_for(1.0)
    assert probe.clock > t0  # simulation time advances

    # a trajectory beyond the joint limits is refused; the arm stays where it is
    bad = JointTrajectory(joint_names=list(JOINT_NAMES))
    bad.points.append(JointTrajectoryPoint(positions=[0.0, -1.5, 4.0, 0.0, 0.0, 0.0],
                                           time_from_start=Duration(sec=1)))
    probe.traj_pub.publish(bad)
    probe.spin_for(1.5)
    np.testing.assert_allclose(probe.arm(), HOME_JOINTS, atol=0.01)
    assert "refusing trajectory (limits)" in sim.stderr()

    # a valid one (names in another order, as controllers accept) is followed
    goal = np.array(HOME_JOINTS) + np.array([0.3, 0.1, -0.1, 0.0, 0.0, 0.2])
    order = [5, 0, 4, 1, 3, 2]
    ok = JointTrajectory(joint_names=[JOINT_NAMES[i] for i in order])
    ok.points.append(JointTrajectoryPoint(positions=[float(goal[i]) for i in order],
                                          time_from_start=Duration(sec=1, nanosec=500_000_000)))
    probe.traj_pub.publish(ok)
    assert wait_for(lambda: np.max(np.abs(probe.arm() - goal)) < 0.01, 30, probe.spin), probe.arm()
    assert sim.alive()


def test_executor_rejects_bad_candidates_and_picks_a_valid_one(spawn_node, probe, repo_root):
    sim = spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}"))
    # joint-state age 0.3 s: a 25 Hz stream on a loaded CI machine passed 0.1 s mid-pick (0.104 s at the
    # release); the 0.1 s default is exercised by test_safety's stale-joint-state test
    ex = spawn_node("grasp_executor.executor_node",
                    params(repo_root, "use_depth_collision:=false", "start_armed:=true",
                           "max_joint_state_age_s:=0.3"))
    assert wait_for(lambda: probe.clock is not None and probe.joints is not None and probe.objects
                    and probe.depth is not None and probe.info is not None, 60, probe.spin), sim.stderr()
    assert wait_for(lambda: probe.node.count_subscribers("/grasp_candidates") > 0, 30, probe.spin), ex.stderr()
    home = probe.arm()
    # in the camera frame, 0.65 m down the optical axis: base (0.5, 0, 0.05), inside the workspace
    good_point = (0.0, 0.0, 0.65)
    bad = {  # each stamped when it is sent (simulation time), so only "stale" is old
        "non_finite": lambda now: candidate_msg(probe, now, (math.nan, 0.0, 0.65)),
        "stale": lambda now: candidate_msg(probe, now - 5.0, good_point),
        "outside_workspace": lambda now: candidate_msg(probe, now, (0.45, 0.0, 0.65)),  # base y = -0.45
        "unknown_frame": lambda now: candidate_msg(probe, now, good_point, frame="camera_color_frame_unknown"),
        "too_wide": lambda now: candidate_msg(probe, now, good_point, opening=0.2),
    }
    # each one re-sent until its rejection shows: the executor may not have its first /joint_states yet
    # (then it rejects everything as robot_state, correctly, and the probe sending earlier is no error)
    for code, make in bad.items():
        for _ in range(20):
            probe.candidates_pub.publish(make(probe.clock))
            if wait_for(lambda code=code: f"rejected candidate ({code})" in ex.stderr(), 1.0, probe.spin):
                break
    assert all(f"rejected candidate ({code})" in ex.stderr() for code in bad), ex.stderr()
    probe.spin_for(1.0)
    assert np.max(np.abs(probe.arm() - home)) < 0.01  # nothing moved
    assert ex.alive()

    # a valid candidate: what the detector sees in the cell's image, executed through the Pick action
    name = next(iter(probe.objects))
    start = probe.objects[name].copy()
    client = ActionClient(probe.node, Pick, "/grasp_executor/pick")
    assert client.wait_for_server(timeout_sec=30)
    probe.spin_for(0.5)
    cands = detect_in_cell(probe)
    goal = Pick.Goal(use_candidate=True, header=cands.header, candidate=cands.candidates[0])
    feedback: list[str] = []
    send = client.send_goal_async(goal, feedback_callback=lambda f: feedback.append(f.feedback.stage))
    assert wait_for(send.done, 20, probe.spin) and send.result().accepted
    res = send.result().get_result_async()
    assert wait_for(res.done, 180, probe.spin), ex.stderr()
    result = res.result().result
    assert result.success, (result.stage, result.message, ex.stderr())
    assert result.final_opening > 0.004
    assert result.tool0_goal.header.frame_id == "base_link"
    assert [s for s in ("pregrasp", "approach", "close", "lift", "place", "release", "home") if s in feedback] \
        == ["pregrasp", "approach", "close", "lift", "place", "release", "home"]
    probe.spin_for(1.0)
    assert probe.max_z[name] > start[2] + 0.10  # lifted (ground truth)
    assert in_bin(probe.objects[name]), probe.objects[name]
    assert probe.results and probe.results[-1]["success"]


def test_cell_publishes_joint_states_and_clock_at_their_period_while_the_physics_catches_up(
        spawn_node, probe, repo_root):
    """After each render the physics catches up (up to 50 steps = 0.1 s at once); /joint_states and
    /clock still advance one period (25 Hz: 0.04 s) at a time. One message per burst made a receiver
    that took /clock before /joint_states read a state older than max_joint_state_age_s (0.1 s) while
    the cell ran fine (CI: "joint state is 0.120 s old"). Three times real time and 10 frames per
    simulated second make the bursts here."""
    spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}",
                                            "real_time_factor:=3.0", "camera_rate_hz:=10.0"))
    js, clock = [], []
    probe.node.create_subscription(JointState, "/joint_states",
                                   lambda m: js.append(stamp_s(m.header.stamp)), 1000)
    probe.node.create_subscription(Clock, "/clock",
                                   lambda m: clock.append(stamp_s(m.clock)), 1000)
    assert wait_for(lambda: probe.depth is not None and len(js) > 10, 60, probe.spin)
    n0, c0 = len(js), len(clock)
    probe.spin_for(4.0)
    for name, stamps in (("joint_states", js[n0:]), ("clock", clock[c0:])):
        steps = np.diff(np.asarray(stamps))
        assert len(steps) > 50 and np.all(steps > 0), (name, len(steps))
        assert steps.max() <= 0.04 + 2 * 0.002 + 1e-6, (name, np.round(np.sort(steps)[-5:], 4))


def test_cell_that_cannot_keep_pace_says_so_once(spawn_node, probe, repo_root):
    """At 200 times real time no machine keeps pace: the simulator gives the lost time up and logs it
    once (later cases at DEBUG), and simulation time still advances."""
    sim = spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}",
                                                  "real_time_factor:=200.0"))
    assert wait_for(lambda: "behind real time" in sim.stderr(), 60, probe.spin), sim.stderr()
    # the log comes with the first steps, maybe before this probe has discovered the simulator's /clock
    assert wait_for(lambda: probe.clock is not None, 30, probe.spin), sim.stderr()
    t0 = probe.clock
    probe.spin_for(2.0)
    assert probe.clock > t0 + 0.5, (t0, probe.clock)
    assert sim.stderr().count("behind real time") == 1, sim.stderr()


def test_four_processes_lift_an_object(spawn_node, probe, repo_root):
    spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}"))
    spawn_node("grasp_camera.camera_node", params(repo_root, "source:=topic"))
    spawn_node("grasp_detector.detector_node", params(repo_root, "model:=ggcnn2_synth"))
    ex = spawn_node("grasp_executor.executor_node",
                    params(repo_root, "auto:=true", "max_picks:=1", "start_armed:=true"))
    assert wait_for(lambda: probe.objects, 60, probe.spin)
    name = next(iter(probe.objects))
    z0 = float(probe.objects[name][2])
    assert wait_for(lambda: probe.results, 240, probe.spin), ex.stderr()
    assert probe.results[0]["success"], (probe.results[0], ex.stderr())
    assert probe.max_z[name] > z0 + 0.10  # lifted off the table (simulation ground truth)
    assert wait_for(lambda: in_bin(probe.objects[name]), 20, probe.spin), probe.objects[name]


def test_automatic_mode_waits_for_the_depth_check_before_its_first_frame(spawn_node, probe, repo_root):
    """Automatic mode whose depth camera_info comes late (here: relayed only 6 s after the executor is
    ready; on a loaded machine: discovery) waits for it instead of counting the frames refused
    ``no_depth`` as frames without a safe grasp and stopping with 0 picks (fresh-clone run under load:
    "no valid candidate in 3 frames (3 rejected, last: no_depth); 0/0 picks")."""
    spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}"))
    spawn_node("grasp_camera.camera_node", params(repo_root, "source:=topic"))
    spawn_node("grasp_detector.detector_node", params(repo_root, "model:=ggcnn2_synth"))
    ex = spawn_node("grasp_executor.executor_node",
                    params(repo_root, "auto:=true", "max_picks:=1", "start_armed:=true",
                           "depth_info_topic:=/late/camera_info"))
    relay = probe.node.create_publisher(CameraInfo, "/late/camera_info", sensor_qos())
    latest = []
    probe.node.create_subscription(CameraInfo, "/depth/camera_info", lambda m: latest.append(m), sensor_qos())
    assert wait_for(lambda: "executor ready" in ex.stderr(), 60, probe.spin), ex.stderr()
    assert wait_for(lambda: latest and probe.objects, 60, probe.spin)
    probe.spin_for(6.0)  # candidates arrive meanwhile; the executor has no camera_info yet
    assert "automatic mode finished" not in ex.stderr(), ex.stderr()

    def relay_spin():
        if latest:
            relay.publish(latest[-1])
        probe.spin()

    assert wait_for(lambda: probe.results, 240, relay_spin), ex.stderr()
    assert probe.results[0]["success"], (probe.results[0], ex.stderr())


def test_executor_refuses_unavailable_backend_and_bad_parameters(spawn_node, repo_root):
    """No MoveIt on the pip path: motion_backend:=moveit_py stops the node with one clear line (exit 2)."""
    try:
        import moveit.planning  # noqa: F401
        pytest.skip("moveit_py is installed here: the backend would start")
    except ImportError:
        pass
    for override, words in (("motion_backend:=moveit_py", "moveit_py"),
                            ("use_tf:=maybe", "use_tf must be auto, true or false"),
                            ("workspace_min:=[0.9, 0.0, 0.0]", "workspace_min")):
        ex = spawn_node("grasp_executor.executor_node", params(repo_root, override))
        assert wait_for(lambda ex=ex: not ex.alive(), 30), override
        assert ex.proc.returncode == 2, (override, ex.stderr())
        lines = [ln for ln in ex.stderr().splitlines() if "executor_node: error:" in ln]
        assert len(lines) == 1 and words in lines[0], (override, ex.stderr())


def test_automatic_mode_says_what_remains_on_the_table(spawn_node, probe, repo_root):
    """A box wider than the 85 mm stroke: never tried; the executor stops with the regions left (item 7)."""
    spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", "seed:=0", "objects:=procedural:wide_box"))
    spawn_node("grasp_camera.camera_node", params(repo_root, "source:=topic"))
    spawn_node("grasp_detector.detector_node", params(repo_root, "model:=ggcnn2_synth"))
    ex = spawn_node("grasp_executor.executor_node",
                    params(repo_root, "auto:=true", "max_picks:=1", "start_armed:=true"))
    assert wait_for(lambda: probe.objects, 60, probe.spin)
    name = next(iter(probe.objects))
    assert wait_for(lambda: "automatic mode finished" in ex.stderr(), 240, probe.spin), ex.stderr()
    assert "automatic mode finished: objects remain: 1 regions without a safe grasp" in ex.stderr(), ex.stderr()
    assert "rejected candidate (too_wide): the object under the jaws is" in ex.stderr()  # declined, with why
    assert not probe.results  # nothing was tried
    assert not in_bin(probe.objects[name])
