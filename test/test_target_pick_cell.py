"""Class-targeted pick through real ROS 2 processes (simulated cell, camera, detector, executor).

Specification (README "Pick a named object"): a Pick goal with ``target_class`` set considers only
candidates whose ``shape_label`` is that class; the detector alone labels nothing, so a goal for
"star" finds no candidate of it and ends with success false, stage "validate", message
"no star on the table", one log line naming the class, and no object leaves the table (simulation
ground truth). In automatic mode the loop stops with "no star on the table: objects remain: …".
"""
from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.action")
pytest.importorskip("grasp_sim.sim_node")

from conftest import wait_for  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from test_pick_cell import SEED, CellProbe, params  # noqa: E402

from grasp_interfaces.action import Pick  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture
def probe(domain_id):
    p = CellProbe(domain_id)
    yield p
    p.close()


def test_targeted_pick_declines_an_absent_class(spawn_node, probe, repo_root):
    spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}"))
    spawn_node("grasp_camera.camera_node", params(repo_root, "source:=topic"))
    spawn_node("grasp_detector.detector_node", params(repo_root, "model:=ggcnn2_synth"))
    ex = spawn_node("grasp_executor.executor_node", params(repo_root, "start_armed:=true"))
    assert wait_for(lambda: probe.objects and probe.joints is not None, 60, probe.spin)
    start = {k: v.copy() for k, v in probe.objects.items()}
    client = ActionClient(probe.node, Pick, "/grasp_executor/pick")
    assert client.wait_for_server(timeout_sec=30)
    # the executor's own /joint_states subscription may lag the probe's under load: the goal is about
    # the class, not the start-up race ("robot state unusable: no /joint_states received yet")
    assert wait_for(lambda: "executor ready" in ex.stderr(), 30, probe.spin), ex.stderr()
    probe.spin_for(2.0)
    send = client.send_goal_async(Pick.Goal(target_class="star", timeout=60.0))
    assert wait_for(send.done, 20, probe.spin) and send.result().accepted
    res = send.result().get_result_async()
    assert wait_for(res.done, 120, probe.spin), ex.stderr()
    result = res.result().result
    assert not result.success
    assert (result.stage, result.message) == ("validate", "no star on the table"), (result, ex.stderr())
    assert "target class 'star': 0 of " in ex.stderr()
    probe.spin_for(0.5)
    for k, p in probe.objects.items():  # nothing was picked (ground truth)
        assert np.linalg.norm(p - start[k]) < 0.01, (k, p, start[k])
    assert not probe.results


def test_automatic_mode_for_an_absent_class_stops_saying_objects_remain(spawn_node, probe, repo_root):
    """Automatic mode with ``target_class:=star``: no candidate is a star, so the loop stops with
    "no star on the table: objects remain: …" (not "table clear") and nothing leaves the table."""
    spawn_node("grasp_sim.sim_node", params(repo_root, "n_objects:=1", f"seed:={SEED}"))
    spawn_node("grasp_camera.camera_node", params(repo_root, "source:=topic"))
    spawn_node("grasp_detector.detector_node", params(repo_root, "model:=ggcnn2_synth"))
    ex = spawn_node("grasp_executor.executor_node",
                    params(repo_root, "start_armed:=true", "auto:=true", "target_class:=star"))
    assert wait_for(lambda: probe.objects, 60, probe.spin)
    start = {k: v.copy() for k, v in probe.objects.items()}
    assert wait_for(lambda: "automatic mode finished" in ex.stderr(), 180, probe.spin), ex.stderr()
    line = next(ln for ln in ex.stderr().splitlines() if "automatic mode finished" in ln)
    assert "automatic mode finished: no star on the table: objects remain: 1 regions" in line, line
    assert line.endswith("0/0 picks"), line
    for k, p in probe.objects.items():  # nothing was picked (ground truth)
        assert np.linalg.norm(p - start[k]) < 0.01, (k, p, start[k])
