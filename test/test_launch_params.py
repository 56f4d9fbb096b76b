"""The parameter files ``launch/ur5_grasp.launch.py`` generates (grasp_bringup.launch_params), on the pip path.

The real cell's and Gazebo's configurations cannot run here (no UR driver, Gazebo, MoveIt or
Robotiq packages), so what the launch file hands them is checked directly:

* the Robotiq controllers file is keyed for ``/robotiq`` and names the interfaces the hardware
  exports; rcl's parameter-file parser and rclpy's node-name matching (the rules of rclcpp's
  ``parameter_map.cpp``) give its nodes their parameters — and give them nothing from upstream's
  file, the failure this replaces;
* the gripper's description is rooted at ``tool0``;
* the MoveItPy parameters name the arm controller that runs in each configuration (Gazebo:
  ``joint_trajectory_controller``) and no ``robot_description``; the executor's trajectory topic
  is the same controller's;
* ``config/moveit_py.yaml`` holds only keys MoveItCpp and PlanRequestParameters read.

Inputs shaped like upstream's files are written below (ros2_robotiq_gripper 3b6cf8f
``robotiq_description/config/robotiq_controllers.yaml``; Universal_Robots_ROS2_Driver ``jazzy``
a16a268 ``ur_moveit_config/config/moveit_controllers.yaml``); where the packages are installed,
their real files are used as well.
"""
from __future__ import annotations

import importlib.util
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from grasp_bringup import launch_params as lp

ROOT = Path(__file__).resolve().parents[1]

UPSTREAM_ROBOTIQ = """
controller_manager:
  ros__parameters:
    update_rate: 500  # Hz
    joint_state_broadcaster:
      type: joint_state_broadcaster/JointStateBroadcaster
    robotiq_gripper_controller:
      type: parallel_gripper_action_controller/GripperActionController
    robotiq_activation_controller:
      type: robotiq_controllers/RobotiqActivationController
robotiq_gripper_controller:
  ros__parameters:
    joint: robotiq_85_left_knuckle_joint
    max_effort_interface: "robotiq_85_left_knuckle_joint/effort"
    max_effort: 50.0
    max_velocity_interface: "robotiq_85_left_knuckle_joint/velocity"
    max_velocity: 0.5
    state_interfaces: ["position", "velocity"]
    allow_stalling: true
robotiq_activation_controller:
  ros__parameters:
    default: true
"""

_JOINTS = ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint",
           "wrist_3_joint"]
UPSTREAM_MOVEIT_CONTROLLERS = {
    "moveit_controller_manager": "moveit_simple_controller_manager/MoveItSimpleControllerManager",
    "trajectory_execution": {"allowed_execution_duration_scaling": 1.2, "execution_duration_monitoring": False},
    "moveit_simple_controller_manager": {
        "controller_names": ["scaled_joint_trajectory_controller", "joint_trajectory_controller"],
        "scaled_joint_trajectory_controller": {"action_ns": "follow_joint_trajectory",
                                               "type": "FollowJointTrajectory", "default": True,
                                               "joints": list(_JOINTS)},
        "joint_trajectory_controller": {"action_ns": "follow_joint_trajectory", "type": "FollowJointTrajectory",
                                        "default": False, "joints": list(_JOINTS)},
    },
}


def _share(package: str) -> Path | None:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(package))
    except PackageNotFoundError:
        return None


def _robotiq_sources(tmp_path: Path) -> list[Path]:
    """The upstream-shaped file, and robotiq_description's own where it is installed."""
    own = tmp_path / "upstream_robotiq_controllers.yaml"
    own.write_text(UPSTREAM_ROBOTIQ)
    share = _share("robotiq_description")
    return [own] + ([share / "config" / "robotiq_controllers.yaml"] if share else [])


def _node_parameters(params_file: Path, namespace: str, names: list[str]) -> dict[str, dict]:
    """Parameters that rclpy nodes ``/<namespace>/<name>`` get from ``--params-file params_file``."""
    import rclpy
    from rclpy.node import Node

    context = rclpy.Context()
    rclpy.init(context=context, args=["--ros-args", "--params-file", str(params_file)])
    try:
        out = {}
        for name in names:
            node = Node(name, namespace=namespace, context=context,
                        automatically_declare_parameters_from_overrides=True)
            out[name] = {k: p.value for k, p in node._parameters.items()
                         if k not in ("use_sim_time", "start_type_description_service")}
            node.destroy_node()
        return out
    finally:
        rclpy.try_shutdown(context=context)


def test_robotiq_controllers_are_keyed_for_the_namespace_and_name_the_hardware_interfaces(tmp_path):
    for source in _robotiq_sources(tmp_path):
        xacro, controllers = lp.write_robotiq_files(source, tmp_path / "out", com_port="/dev/ttyUSB1")
        data = yaml.safe_load(controllers.read_text())
        assert set(data) == {"/robotiq/controller_manager", "/robotiq/robotiq_gripper_controller",
                             "/robotiq/robotiq_activation_controller"}, source
        cm = data["/robotiq/controller_manager"]["ros__parameters"]
        assert cm["update_rate"] == 500
        assert cm["robotiq_gripper_controller"]["type"] == "parallel_gripper_action_controller/GripperActionController"
        assert cm["joint_state_broadcaster"]["type"] == "joint_state_broadcaster/JointStateBroadcaster"
        gripper = data["/robotiq/robotiq_gripper_controller"]["ros__parameters"]
        assert gripper["joint"] == "robotiq_85_left_knuckle_joint"
        assert gripper["max_effort_interface"] == "robotiq_85_left_knuckle_joint/set_gripper_max_effort"
        assert gripper["max_velocity_interface"] == "robotiq_85_left_knuckle_joint/set_gripper_max_velocity"
        assert gripper["max_effort"] == 50.0 and gripper["allow_stalling"] is True  # the rest unchanged
        assert xacro.is_file()


def test_ros_nodes_in_the_namespace_read_ours_and_nothing_from_upstreams(tmp_path):
    """rcl parses both files; the namespaced nodes get parameters from ours only (rclcpp parameter_map.cpp:54-66)."""
    upstream = tmp_path / "upstream.yaml"
    upstream.write_text(UPSTREAM_ROBOTIQ)
    _, ours = lp.write_robotiq_files(upstream, tmp_path / "out")
    names = ["controller_manager", "robotiq_gripper_controller"]

    got = _node_parameters(upstream, "robotiq", names)
    assert got == {"controller_manager": {}, "robotiq_gripper_controller": {}}  # the first-run failure

    got = _node_parameters(ours, "robotiq", names)
    cm, gripper = got["controller_manager"], got["robotiq_gripper_controller"]
    assert cm["update_rate"] == 500
    assert cm["robotiq_gripper_controller.type"] == "parallel_gripper_action_controller/GripperActionController"
    assert cm["robotiq_activation_controller.type"] == "robotiq_controllers/RobotiqActivationController"
    assert gripper["joint"] == "robotiq_85_left_knuckle_joint"
    assert gripper["max_effort_interface"] == "robotiq_85_left_knuckle_joint/set_gripper_max_effort"
    # the UR driver's /controller_manager beside it is not configured by the gripper's file
    assert _node_parameters(ours, "", ["controller_manager"]) == {"controller_manager": {}}


def test_the_spawner_accepts_our_file_for_the_namespace(tmp_path):
    """controller_manager's own lookup (full installs; controller_manager_services.py:342-376 at 9ffbf97)."""
    services = pytest.importorskip("controller_manager.controller_manager_services",
                                   reason="ros2_control's controller_manager is not installed (pip path)")
    import rclpy
    from rclpy.node import Node

    upstream = tmp_path / "upstream.yaml"
    upstream.write_text(UPSTREAM_ROBOTIQ)
    _, ours = lp.write_robotiq_files(upstream, tmp_path / "out")
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("spawner_check", context=context)
    try:
        for name in ("joint_state_broadcaster", "robotiq_gripper_controller", "robotiq_activation_controller"):
            assert services.get_params_files_with_controller_parameters(node, name, "/robotiq", [str(ours)]) \
                == [str(ours)]
            assert services.get_params_files_with_controller_parameters(node, name, "/robotiq",
                                                                        [str(upstream)]) == []
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def test_robotiq_controllers_reject_files_without_the_gripper_controller(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("controller_manager:\n  ros__parameters:\n    update_rate: 500\n")
    with pytest.raises(ValueError, match="robotiq_gripper_controller"):
        lp.write_robotiq_files(bad, tmp_path / "out")
    with pytest.raises(ValueError, match="namespace"):
        lp.robotiq_controllers(yaml.safe_load(UPSTREAM_ROBOTIQ), namespace="/robotiq")


def test_gripper_description_is_rooted_at_tool0(tmp_path):
    doc = lp.robotiq_description_xacro(parent="tool0", com_port="/dev/ttyUSB1")
    root = ET.fromstring(doc)
    xacro_ns = "{http://wiki.ros.org/xacro}"
    assert [link.get("name") for link in root.findall("link")] == ["tool0"]  # no 'world'
    (call,) = root.findall(f"{xacro_ns}robotiq_gripper")
    assert call.get("parent") == "tool0" and call.get("com_port") == "/dev/ttyUSB1"
    assert call.get("use_fake_hardware") == "false"
    assert call.find("origin") is not None
    (include,) = root.findall(f"{xacro_ns}include")
    assert include.get("filename") == "$(find robotiq_description)/urdf/robotiq_2f_85_macro.urdf.xacro"
    for bad in ("/dev/tty USB0; rm", "ttyUSB0"):
        with pytest.raises(ValueError, match="com_port"):
            lp.robotiq_description_xacro(com_port=bad)
    with pytest.raises(ValueError, match="parent"):
        lp.robotiq_description_xacro(parent='tool0" evil="')


def test_gripper_description_expands_with_xacro(tmp_path):
    """Full installs: xacro expands it against robotiq_description; the base joint hangs from tool0."""
    xacro = pytest.importorskip("xacro", reason="xacro is not installed (pip path)")
    if _share("robotiq_description") is None:
        pytest.skip("robotiq_description is not installed (pip path)")
    path, _ = lp.write_robotiq_files(_robotiq_sources(tmp_path)[-1], tmp_path / "out")
    urdf = ET.fromstring(xacro.process_file(str(path)).toxml())
    joints = {j.get("name"): j for j in urdf.findall("joint")}
    assert joints["robotiq_85_base_joint"].find("parent").get("link") == "tool0"
    assert "world" not in {link.get("name") for link in urdf.findall("link")}


def _moveit_controllers_sources() -> list[dict]:
    share = _share("ur_moveit_config")
    real = [yaml.safe_load((share / "config" / "moveit_controllers.yaml").read_text())] if share else []
    return [UPSTREAM_MOVEIT_CONTROLLERS] + real


@pytest.mark.parametrize("sim, controller", [("gazebo", "joint_trajectory_controller"),
                                             ("none", "scaled_joint_trajectory_controller")])
def test_moveit_sends_to_the_controller_that_runs(sim, controller):
    for source in _moveit_controllers_sources():
        given = {"robot_description": "<robot/>", "robot_description_semantic": "<robot/>", **source}
        params = lp.moveit_py_parameters(given, sim)
        block = params["moveit_simple_controller_manager"]
        assert block["controller_names"] == [controller]
        assert block[controller]["default"] is True
        assert block[controller]["action_ns"] == "follow_joint_trajectory"
        assert block[controller]["type"] == "FollowJointTrajectory"
        assert block[controller]["joints"] == _JOINTS
        assert "robot_description" not in params  # read from /robot_description (the driver's)
        assert params["robot_description_semantic"] == "<robot/>"
        assert params["moveit_controller_manager"] == source["moveit_controller_manager"]
        assert given["moveit_simple_controller_manager"] == source["moveit_simple_controller_manager"]  # unchanged
        # the built-in backend's topic is the same controller's
        assert lp.trajectory_topic(sim) == f"/{controller}/joint_trajectory"


def test_moveit_parameters_reach_the_moveit_py_node(tmp_path):
    """As launch_ros writes a dict for a node without namespace ('/**'), MoveItPy's node reads them."""
    moveit_py = yaml.safe_load((ROOT / "config" / "moveit_py.yaml").read_text())
    params = lp.moveit_py_parameters({**UPSTREAM_MOVEIT_CONTROLLERS, **moveit_py}, "gazebo")
    f = tmp_path / "launch_params.yaml"
    f.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
    got = _node_parameters(f, "", ["grasp_executor_moveit"])["grasp_executor_moveit"]
    assert got["moveit_simple_controller_manager.controller_names"] == ["joint_trajectory_controller"]
    assert got["moveit_simple_controller_manager.joint_trajectory_controller.default"] is True
    assert got["plan_request_params.planning_pipeline"] == "ompl"
    assert got["linear.plan_request_params.planning_pipeline"] == "pilz_industrial_motion_planner"
    assert got["clear_linear.plan_request_params.planner_id"] == "LIN"
    assert got["planning_pipelines.pipeline_names"] == ["ompl", "pilz_industrial_motion_planner"]
    assert got["planning_scene_monitor_options.robot_description"] == "robot_description"
    assert "robot_description" not in got


def test_unknown_configuration_and_controller_are_errors():
    with pytest.raises(ValueError, match="sim"):
        lp.trajectory_topic("isaac")
    with pytest.raises(ValueError, match="forward_position_controller"):
        lp.moveit_simple_controllers(UPSTREAM_MOVEIT_CONTROLLERS["moveit_simple_controller_manager"],
                                     "forward_position_controller")
    with pytest.raises(ValueError, match="moveit_simple_controller_manager"):
        lp.moveit_py_parameters({"robot_description": ""}, "gazebo")


def test_moveit_py_yaml_holds_only_keys_moveit_reads():
    """MoveItCpp::PlanningSceneMonitorOptions::load and PlanRequestParameters::load (moveit2 jazzy 4d84106)."""
    data = yaml.safe_load((ROOT / "config" / "moveit_py.yaml").read_text())
    assert set(data["planning_scene_monitor_options"]) <= {"name", "robot_description",
                                                           "wait_for_initial_state_timeout"}
    request_keys = {"planner_id", "planning_pipeline", "planning_time", "planning_attempts",
                    "max_velocity_scaling_factor", "max_acceleration_scaling_factor"}
    # the namespaces grasp_executor.moveit_backend constructs PlanRequestParameters with
    from grasp_executor.moveit_backend import CLEAR_LINEAR_NAMESPACE, LINEAR_NAMESPACE
    for request in (data["plan_request_params"], data[LINEAR_NAMESPACE]["plan_request_params"],
                    data[CLEAR_LINEAR_NAMESPACE]["plan_request_params"]):
        assert set(request) <= request_keys
        assert request["planning_pipeline"] in data["planning_pipelines"]["pipeline_names"]
    for ns in (LINEAR_NAMESPACE, CLEAR_LINEAR_NAMESPACE):
        assert data[ns]["plan_request_params"]["planner_id"] == "LIN"
    assert not [k for k in _flatten(data) if k.endswith("_topic")]


def test_launch_file_uses_the_generated_files():
    """The launch file takes its Robotiq files, MoveIt parameters and trajectory topic from launch_params."""
    text = (ROOT / "launch" / "ur5_grasp.launch.py").read_text()
    for call in ("launch_params.write_robotiq_files(", "launch_params.moveit_py_parameters(",
                 "launch_params.trajectory_topic(sim)"):
        assert call in text, call
    assert "robotiq_update_rate.yaml" not in text  # not in robotiq_description at 3b6cf8f
    assert ".robot_description(" not in text.split("def _moveit_parameters", 1)[1].split("\ndef ", 1)[0]


def test_launch_file_gives_the_gripper_nodes_the_generated_files(tmp_path, monkeypatch):
    """Under ros2/launch (full installs, or the scratch venv of README): the launch file's Robotiq nodes.

    robotiq_description is stood in for by a prefix holding upstream-shaped config/robotiq_controllers.yaml.
    """
    pytest.importorskip("launch_ros", reason="launch_ros is not importable (pip path; see README)")
    from launch.utilities import perform_substitutions
    from launch_ros.utilities import evaluate_parameters

    from launch import LaunchContext

    prefix = tmp_path / "prefix"
    (prefix / "share" / "robotiq_description" / "config").mkdir(parents=True)
    (prefix / "share" / "robotiq_description" / "config" / "robotiq_controllers.yaml").write_text(UPSTREAM_ROBOTIQ)
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "robotiq_description").touch()
    monkeypatch.setenv("AMENT_PREFIX_PATH", os.pathsep.join([str(prefix), os.environ.get("AMENT_PREFIX_PATH", "")]))
    spec = importlib.util.spec_from_file_location("ur5_grasp_launch", ROOT / "launch" / "ur5_grasp.launch.py")
    launch_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_file)

    nodes = launch_file._robotiq_gripper("/dev/ttyUSB0", str(tmp_path / "generated"))
    controllers = tmp_path / "generated" / "robotiq_controllers.yaml"
    xacro = tmp_path / "generated" / "robotiq_2f_85_on_tool0.urdf.xacro"
    assert set(yaml.safe_load(controllers.read_text())) >= {"/robotiq/controller_manager"}
    context = LaunchContext()
    by_executable: dict[str, list] = {}
    for node in nodes:
        assert node._Node__node_namespace == "robotiq"
        by_executable.setdefault(node.node_executable, []).append(node)
    (cm,) = by_executable["ros2_control_node"]
    assert [Path(p) for p in evaluate_parameters(context, cm._Node__parameters)] == [controllers]
    spawned = []
    for spawner in by_executable["spawner"]:
        args = [perform_substitutions(context, part) for part in spawner.cmd[1:]]
        args = args[:args.index("--ros-args")] if "--ros-args" in args else args
        assert args[1:] == ["--controller-manager", "/robotiq/controller_manager", "--param-file", str(controllers)]
        spawned.append(args[0])
    assert sorted(spawned) == ["joint_state_broadcaster", "robotiq_activation_controller",
                               "robotiq_gripper_controller"]
    (rsp,) = by_executable["robot_state_publisher"]
    (description,) = rsp._Node__parameters
    (value,) = description.values()
    (command,) = value.value  # launch.substitutions.Command, not run here
    assert perform_substitutions(context, command.command).split() == ["xacro", str(xacro)]


def _flatten(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        out += _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return out
