"""``launch/ur5_grasp.launch.py`` under ros2/launch, with launch_pytest (full ROS 2 installs).

Specification, for the MuJoCo configuration (``sim:=mujoco``, the default; needs only this
workspace): the cell, camera, detector and executor nodes come up as separate processes,
``/grasp_candidates`` connects the detector to the executor and carries candidates, and the
executor's automatic mode picks the one object of the scene into the bin (checked from the
simulation's ground truth).

The pip path has no ``launch`` / ``launch_pytest``: the module is skipped there with the reason.
To run it without a full install, install ros2/launch, launch_ros and launch_pytest from source
into a scratch environment (README, "Launch file").
"""
from __future__ import annotations

import json
import os

import pytest

launch_pytest = pytest.importorskip(
    "launch_pytest", reason="launch_pytest is not importable (full ROS 2 installs or a scratch environment "
                            "with ros2/launch from source; the pip path has no launch system)")
pytest.importorskip("launch_ros", reason="launch_ros is not importable")
rclpy = pytest.importorskip("rclpy")

from ament_index_python.packages import get_package_share_directory  # noqa: E402
from conftest import ProbeNode, wait_for  # noqa: E402
from grasp_core.motion import BIN_CENTER, BIN_INNER  # noqa: E402
from launch.actions import IncludeLaunchDescription, SetEnvironmentVariable  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from grasp_interfaces.msg import GraspCandidateArray  # noqa: E402
from launch import LaunchDescription  # noqa: E402

DOMAIN = str(50 + os.getpid() % 40)
pytestmark = pytest.mark.ros


@launch_pytest.fixture
def mujoco_cell():
    share = get_package_share_directory("grasp_bringup")
    return LaunchDescription([
        SetEnvironmentVariable("ROS_DOMAIN_ID", DOMAIN),
        SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST"),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "ur5_grasp.launch.py")),
            launch_arguments={"sim": "mujoco", "camera": "auto", "n_objects": "1", "seed": "3",
                              "auto_pick": "true"}.items()),
        launch_pytest.actions.ReadyToTest(),
    ])


class Watcher(ProbeNode):
    def __init__(self) -> None:
        super().__init__(int(DOMAIN), "launch_test_watcher")
        self.candidates: list[GraspCandidateArray] = []
        self.results: list[dict] = []
        self.objects: dict = {}
        self.max_z: dict = {}
        self.node.create_subscription(GraspCandidateArray, "/grasp_candidates", self.candidates.append, 10)
        self.node.create_subscription(String, "/grasp_executor/pick_results",
                                      lambda m: self.results.append(json.loads(m.data)), 10)
        self.node.create_subscription(MarkerArray, "/grasp_sim/objects", self._objects, 10)

    def _objects(self, msg) -> None:
        for m in msg.markers:
            p = (m.pose.position.x, m.pose.position.y, m.pose.position.z)
            self.objects[m.ns] = p
            self.max_z[m.ns] = max(self.max_z.get(m.ns, -1.0), p[2])

    def wait(self, predicate, timeout: float) -> bool:
        return wait_for(predicate, timeout, spin=lambda: self.spin(0.1))


@pytest.mark.launch(fixture=mujoco_cell)
def test_mujoco_configuration_comes_up_connects_and_picks():
    w = Watcher()
    try:
        names = {"grasp_sim", "grasp_camera", "grasp_detector", "grasp_executor"}
        assert w.wait(lambda: names <= set(w.node.get_node_names()), 60), w.node.get_node_names()
        assert w.wait(lambda: w.node.count_publishers("/grasp_candidates") >= 1
                      and w.node.count_subscribers("/grasp_candidates") >= 2, 30)  # executor + us
        assert w.wait(lambda: w.candidates and w.objects, 60)
        name = next(iter(w.objects))
        z0 = w.objects[name][2]
        assert w.wait(lambda: w.results, 240)
        assert w.results[0]["success"], w.results[0]
        assert w.max_z[name] > z0 + 0.10  # lifted (ground truth)
        x, y, z = w.objects[name]
        assert abs(x - BIN_CENTER[0]) < BIN_INNER / 2 and abs(y - BIN_CENTER[1]) < BIN_INNER / 2 and z < 0.1
    finally:
        w.close()
