"""Fault-injection benchmark: the stack as separate processes, faults injected mid-pick, unsafe motions counted.

Processes: the simulated cell (``grasp_sim``), camera (topic source), detector and executor, each
``python -m <node> --ros-args --params-file config/grasp.yaml`` in one fresh DDS domain, simulation
time, localhost discovery. The benchmark's own node (a separate participant, as a hostile user's
would be) sends one ``Pick`` goal per phase (``use_candidate: false``: home, wait for fresh
candidates, pick) on a fresh scene (the simulator's ``~/reset`` with a new seed), injects the
phase's fault while the pick runs, then sends Pick goals until one succeeds again.

Faults: camera / detector / simulator killed (SIGKILL) mid-pick and restarted 2 s later; a 200 Hz
flood of hostile candidates for 5 s; one 10,000-candidate array; hostile candidates (NaN, quaternion
×2, quality 5, below the table, unknown frame, negative stamp); remote ``SetParameters`` on the
safety parameters and ``use_sim_time``; disarm mid-pick (``~/arm`` false), then arm again.

Per phase: outcome (``survived`` = every process we did not kill is still running and a pick
succeeded after the fault), picks lost (failed Pick goals in the phase), unsafe motions, recovery
time (wall seconds from the end of the fault to the first stage feedback of the pick that then
succeeded). An *unsafe motion* is a trajectory on the controller topic that the simulator refused
(start away from the arm, beyond the velocity or position limits), that starts more than 0.05 rad
from the joints the benchmark measured, or that is not a stop (one point, zero velocity) while the
executor is disarmed; or a hostile candidate executed.

Prints one table and ``faults=<n> survived=<n> unsafe_motions=<n>``; exits 1 unless every fault
was survived with 0 unsafe motions. Writes ``bench/out/faults.json``. Run in the workspace
environment::

    . scripts/bootstrap.sh && python bench/faults.py [--objects 10] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
TRAJ = "/scaled_joint_trajectory_controller/joint_trajectory"
NODES = {"sim": "grasp_sim.sim_node", "camera": "grasp_camera.camera_node",
         "detector": "grasp_detector.detector_node", "executor": "grasp_executor.executor_node"}


class Stack:
    """The four node processes of one domain (logs in a temporary folder)."""

    def __init__(self, domain: int, objects: int, seed: int, logs: Path) -> None:
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                   GRASP_ROOT=str(REPO), PYTHONUNBUFFERED="1")
        env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds.xml"))
        env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
        self.env, self.logs = env, logs
        cfg = str(REPO / "config" / "grasp.yaml")
        common = ["--params-file", cfg, "-p", "use_sim_time:=true"]
        self.args = {
            "sim": [*common, "-p", f"n_objects:={objects}", "-p", f"seed:={seed}"],
            "camera": [*common, "-p", "source:=topic"],
            "detector": [*common, "-p", "publish_annotated:=false"],
            "executor": [*common, "-p", "start_armed:=true"],
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.starts: dict[str, int] = {}

    def start(self, name: str) -> None:
        k = self.starts.get(name, 0)
        self.starts[name] = k + 1
        log = open(self.logs / f"{name}.{k}.log", "w")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen([sys.executable, "-m", NODES[name], "--ros-args", *self.args[name]],
                                            env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        p = self.procs[name]
        p.kill()
        p.wait(10)

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def log(self, name: str) -> str:
        return "".join((self.logs / f"{name}.{k}.log").read_text() for k in range(self.starts.get(name, 0)))

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


class Monitor:
    """The benchmark's node: Pick client, fault injector and the unsafe-motion watch."""

    def __init__(self, domain: int) -> None:
        import rclpy
        from grasp_bridge.actions import GoalSender
        from grasp_bridge.qos import result_qos
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.parameter import Parameter
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import JointState
        from std_msgs.msg import String
        from std_srvs.srv import SetBool
        from trajectory_msgs.msg import JointTrajectory

        from grasp_interfaces.action import Pick
        from grasp_interfaces.msg import GraspCandidateArray

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, domain_id=domain)
        self.node = rclpy.create_node("fault_bench", context=self.ctx,
                                      parameter_overrides=[Parameter("use_sim_time", value=True)])
        self.lock = threading.Lock()
        self.clock = math.nan
        self.q: np.ndarray | None = None
        self.armed = True
        self.unsafe: list[str] = []
        self.n_traj = 0
        self.hostile_qualities: set[float] = set()
        n = self.node
        n.create_subscription(Clock, "/clock", self._on_clock, 10)
        n.create_subscription(JointState, "/joint_states", self._on_js, 10)
        n.create_subscription(JointTrajectory, TRAJ, self._on_traj, 50)
        n.create_subscription(String, "/grasp_sim/trajectory_events", self._on_event, 50)
        n.create_subscription(String, "/grasp_executor/pick_results", self._on_result, 50)
        self.cand_pub = n.create_publisher(GraspCandidateArray, "/grasp_candidates", result_qos())
        self.pick = GoalSender(n, Pick, "/grasp_executor/pick")  # goals from this thread, MTE spinning
        self.arm_client = n.create_client(SetBool, "/grasp_executor/arm")
        self.Pick, self.SetBool = Pick, SetBool
        self.executor = MultiThreadedExecutor(num_threads=3, context=self.ctx)
        self.executor.add_node(n)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    # --------------------------------------------------------------- watch
    def _on_clock(self, m) -> None:
        self.clock = m.clock.sec + m.clock.nanosec * 1e-9

    def _on_js(self, m) -> None:
        from grasp_core.robot import JOINT_NAMES

        try:
            names = list(m.name)
            q = np.array([m.position[names.index(j)] for j in JOINT_NAMES])
        except (ValueError, IndexError):
            return
        with self.lock:
            self.q = q

    def _on_traj(self, m) -> None:
        from grasp_core.robot import JOINT_NAMES

        with self.lock:
            self.n_traj += 1
            q, armed = self.q, self.armed
        if not m.points:
            return
        is_stop = len(m.points) == 1 and not any(m.points[0].velocities)
        if not armed and not is_stop:
            self.unsafe.append("trajectory while disarmed")
        names = list(m.joint_names)
        try:
            first = np.array([m.points[0].positions[names.index(j)] for j in JOINT_NAMES])
        except (ValueError, IndexError):
            self.unsafe.append("trajectory with unknown joints")
            return
        t0 = m.points[0].time_from_start.sec + m.points[0].time_from_start.nanosec * 1e-9
        if q is not None and t0 < 1e-6 and float(np.max(np.abs(first - q))) > 0.05 and not is_stop:
            self.unsafe.append(f"trajectory starting {float(np.max(np.abs(first - q))):.3f} rad from the arm")

    def _on_event(self, m) -> None:
        e = json.loads(m.data)
        if not e.get("accepted", True):
            self.unsafe.append(f"trajectory refused by the controller: {e.get('reason', '')}")

    def _on_result(self, m) -> None:
        r = json.loads(m.data)
        q = float(r.get("candidate", {}).get("quality", 0.0))
        if q in self.hostile_qualities or not 0.0 <= q <= 1.0:
            self.unsafe.append(f"hostile candidate executed (quality {q})")

    # --------------------------------------------------------------- actions
    def send_pick(self, timeout: float = 30.0):
        """Send a Pick goal; returns (goal handle or None, feedback stages list)."""
        stages: list[tuple[float, str]] = []
        if not self.pick.wait_for_server(timeout_sec=timeout):
            return None, stages
        fut = self.pick.send_goal_async(self.Pick.Goal(use_candidate=False, timeout=20.0),
                                        feedback_callback=lambda f: stages.append((time.monotonic(),
                                                                                   f.feedback.stage)))
        end = time.monotonic() + timeout
        while not fut.done() and time.monotonic() < end:
            time.sleep(0.02)
        if not fut.done() or not fut.result().accepted:
            return None, stages
        return fut.result(), stages

    def wait_result(self, handle, timeout: float = 240.0):
        fut = handle.get_result_async()
        end = time.monotonic() + timeout
        while not fut.done() and time.monotonic() < end:
            time.sleep(0.05)
        return fut.result().result if fut.done() else None

    def set_armed(self, armed: bool) -> bool:
        if not self.arm_client.wait_for_service(timeout_sec=10):
            return False
        with self.lock:
            self.armed = armed if not armed else self.armed
        fut = self.arm_client.call_async(self.SetBool.Request(data=armed))
        end = time.monotonic() + 10
        while not fut.done() and time.monotonic() < end:
            time.sleep(0.02)
        with self.lock:
            self.armed = armed
        return bool(fut.done() and fut.result().success)

    def set_parameter(self, name: str, value, node: str = "/grasp_executor") -> bool:
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self.node.create_client(SetParameters, f"{node}/set_parameters")
        if not client.wait_for_service(timeout_sec=10):
            return False
        msg = Parameter(name, value=value).to_parameter_msg()  # the type from the Python value
        fut = client.call_async(SetParameters.Request(parameters=[msg]))
        end = time.monotonic() + 10
        while not fut.done() and time.monotonic() < end:
            time.sleep(0.02)
        return bool(fut.done() and fut.result().results[0].successful)

    def reset_scene(self, seed: int, n_objects: int) -> bool:
        """A fresh scene for the next phase: the simulator's live ``seed`` / ``n_objects``, then ``~/reset``."""
        from std_srvs.srv import Trigger

        ok = self.set_parameter("seed", int(seed), "/grasp_sim") and self.set_parameter(
            "n_objects", int(n_objects), "/grasp_sim")
        client = self.node.create_client(Trigger, "/grasp_sim/reset")
        if not ok or not client.wait_for_service(timeout_sec=10):
            return False
        fut = client.call_async(Trigger.Request())
        end = time.monotonic() + 120
        while not fut.done() and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1.0)  # objects settled, a few camera frames
        return bool(fut.done() and fut.result().success)

    def candidates(self, specs: list[dict], frame: str = "camera_depth_optical_frame", stamp: float | None = None,
                   copies: int = 1):
        from grasp_interfaces.msg import GraspCandidate, GraspCandidateArray

        msg = GraspCandidateArray()
        msg.header.frame_id = frame
        t = self.clock if stamp is None else stamp
        if math.isfinite(t):
            msg.header.stamp.sec = int(math.floor(t))
            msg.header.stamp.nanosec = int((t - math.floor(t)) * 1e9)
        for s in specs:
            c = GraspCandidate()
            c.pose.position.x, c.pose.position.y, c.pose.position.z = s.get("p", (0.0, 0.0, 0.65))
            (c.pose.orientation.x, c.pose.orientation.y, c.pose.orientation.z,
             c.pose.orientation.w) = s.get("q", (0.0, 0.0, 0.0, 1.0))
            c.pose_valid, c.opening, c.quality, c.model_id = True, s.get("opening", 0.04), s.get("quality", 0.9), "x"
            msg.candidates.extend([c] * copies)
        return msg

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


def run_phase(stack: Stack, mon: Monitor, name: str, inject, restart: str | None = None, max_tries: int = 4):
    """One fault phase (module docstring). Returns its table row."""
    unsafe_before, t_fault_end = len(mon.unsafe), None
    lost, recovery, succeeded = 0, math.nan, False
    handle, stages = mon.send_pick()
    fault_done = threading.Event()

    def injector():
        nonlocal t_fault_end
        # mid-pick: once the arm is on its way to the object
        end = time.monotonic() + 60
        while time.monotonic() < end and not any(s in ("pregrasp", "approach") for _, s in stages):
            time.sleep(0.02)
        inject()
        if restart:
            time.sleep(2.0)
            stack.start(restart)
        t_fault_end = time.monotonic()
        fault_done.set()

    th = threading.Thread(target=injector, daemon=True)
    th.start()
    if handle is not None:
        res = mon.wait_result(handle)
        if res is None or not res.success:
            lost += 1
        else:
            succeeded = fault_done.is_set() and th.is_alive() is False
    fault_done.wait(120)
    th.join(5)
    tries = 0
    while not succeeded and tries < max_tries:
        tries += 1
        handle, stages = mon.send_pick(60)
        if handle is None:
            time.sleep(2.0)
            continue
        res = mon.wait_result(handle)
        if res is not None and res.success:
            succeeded = True
            started = [t for t, s in stages if s == "pregrasp"]
            recovery = (started[0] if started else time.monotonic()) - (t_fault_end or time.monotonic())
        else:
            lost += 1
    if succeeded and math.isnan(recovery):
        recovery = 0.0
    others_alive = all(stack.alive(n) for n in NODES)
    return {"fault": name, "survived": bool(succeeded and others_alive), "picks_lost": lost,
            "unsafe_motions": len(mon.unsafe) - unsafe_before, "recovery_s": recovery,
            "unsafe": mon.unsafe[unsafe_before:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=4, help="objects spawned for each phase (a fresh scene each)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--domain", type=int, default=151,
                    help="ROS_DOMAIN_ID of the run (default 151: outside the 1-100 the tests use)")
    args = ap.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="faults_"))
    stack = Stack(args.domain, args.objects, args.seed, logs)
    for n in NODES:
        stack.start(n)
    mon = Monitor(args.domain)
    rows = []
    try:
        end = time.monotonic() + 90
        while time.monotonic() < end and (mon.q is None or not mon.pick.server_is_ready()):
            time.sleep(0.2)
        if mon.q is None:
            print("faults: error: the stack did not come up (logs in {logs})", file=sys.stderr)
            return 1
        hostile = [{"p": (math.nan, 0.0, 0.65)}, {"q": (0.0, 0.0, 0.0, 2.0)}, {"quality": 5.0},
                   {"p": (0.0, 0.0, 0.75)},  # 5 cm below the table top
                   {"quality": -1.0}, {"opening": 0.3}]
        mon.hostile_qualities |= {5.0, -1.0}

        def flood():
            end = time.monotonic() + 5.0
            while time.monotonic() < end:
                mon.cand_pub.publish(mon.candidates(hostile))
                time.sleep(0.005)

        def hostile_msgs():
            mon.cand_pub.publish(mon.candidates(hostile))
            mon.cand_pub.publish(mon.candidates([{}], frame="world_unknown"))
            mon.cand_pub.publish(mon.candidates([{}], stamp=-5.0))

        def params():
            changed = [n for n, v in (("workspace_min", [-2.0, -2.0, -2.0]), ("min_tcp_z", -1.0),
                                      ("max_age_s", 1e6), ("use_sim_time", False), ("start_armed", True),
                                      ("max_joint_state_age_s", 1e3)) if mon.set_parameter(n, v)]
            if changed:
                mon.unsafe.append(f"safety parameters changed remotely: {changed}")

        def disarm():
            mon.set_armed(False)
            time.sleep(2.0)
            mon.set_armed(True)

        phases = [
            ("camera killed mid-pick, restarted", lambda: stack.kill("camera"), "camera"),
            ("detector killed mid-pick, restarted", lambda: stack.kill("detector"), "detector"),
            ("simulator killed mid-pick, restarted", lambda: stack.kill("sim"), "sim"),
            ("200 Hz hostile candidate flood, 5 s", flood, None),
            ("10,000-candidate array", lambda: mon.cand_pub.publish(mon.candidates([{}], copies=10_000)), None),
            ("hostile candidates", hostile_msgs, None),
            ("remote parameter change", params, None),
            ("disarmed mid-pick, re-armed", disarm, None),
        ]
        from tqdm import tqdm

        for k, (name, inject, restart) in enumerate(tqdm(phases, desc="faults", unit="fault")):
            if not mon.reset_scene(args.seed + 100 * (k + 1), args.objects):
                tqdm.write(f"faults: could not reset the scene before {name!r}")
            rows.append(run_phase(stack, mon, name, inject, restart))
            tqdm.write(f"faults: {name}: {'survived' if rows[-1]['survived'] else 'NOT survived'}, "
                       f"lost {rows[-1]['picks_lost']}, unsafe {rows[-1]['unsafe_motions']}")
    finally:
        mon.close()
        stack.stop()
    print("\n| fault | outcome | picks lost | unsafe motions | recovery (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        rec = "–" if math.isnan(r["recovery_s"]) else f"{r['recovery_s']:.1f}"
        print(f"| {r['fault']} | {'survived' if r['survived'] else 'NOT survived'} | {r['picks_lost']} | "
              f"{r['unsafe_motions']} | {rec} |")
        for u in r["unsafe"]:
            print(f"|   unsafe: {u} | | | | |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "faults.json").write_text(json.dumps({"rows": rows, "logs": str(logs)}, indent=2, default=float))
    n_surv = sum(r["survived"] for r in rows)
    n_unsafe = sum(r["unsafe_motions"] for r in rows)
    print(f"logs: {logs}")
    print(f"faults={len(rows)} survived={n_surv} unsafe_motions={n_unsafe}")
    return 0 if n_surv == len(rows) and n_unsafe == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
