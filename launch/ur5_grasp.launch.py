"""The grasp stack on a UR5 + Robotiq 2F-85 with a depth camera, for a full ROS 2 install (Jazzy / Kilted).

::

    ros2 launch grasp_bringup ur5_grasp.launch.py                                  # MuJoCo cell (default)
    ros2 launch grasp_bringup ur5_grasp.launch.py sim:=none robot_ip:=192.168.1.102 camera:=realsense
    ros2 launch grasp_bringup ur5_grasp.launch.py sim:=gazebo camera:=sim rviz:=true
    ros2 launch grasp_bringup ur5_grasp.launch.py sim:=none camera:=replay replay_folder:=/data/frames

Launch arguments:
    sim: ``mujoco`` (the project's simulated cell, ``grasp_sim``; no driver, no MoveIt — the
        executor's built-in planner), ``gazebo`` (ur_simulation_gz ``ur_sim_control.launch.py`` +
        ur_moveit_config, MoveItPy backend), ``none`` (the real robot: ur_robot_driver
        ``ur_control.launch.py`` + ur_moveit_config + the Robotiq driver, MoveItPy backend).
    robot_ip, ur_type: for ur_robot_driver (and ur_type for Gazebo / MoveIt).
    kinematics_params_file: the robot's calibration (``ur_calibration``'s output) for
        ur_robot_driver (sim:=none); MoveItPy plans with the description the driver publishes on
        ``/robot_description``, so with it, on the calibrated kinematics.
    gazebo_gui: ``false`` runs Gazebo headless (sim:=gazebo).
    camera: ``sim`` (the simulator's camera on realsense2_camera's topic names), ``realsense``
        (realsense2_camera ``rs_launch.py``, depth/image_rect_raw, driver TF off: the hand-eye
        calibration places ``camera_depth_optical_frame``), ``azure`` (Azure_Kinect_ROS_Driver
        ``driver.launch.py``; calibrate its ``depth_camera_link`` or set ``extrinsics`` to a file for
        the frame its depth is stamped with), ``kinect`` (kinect_ros2), ``replay`` (a folder);
        ``auto`` = ``sim`` with a simulator, else ``realsense``.
    model: model card name or path ('' = config/grasp.yaml's).
    use_shape_classifier: start the few-shot shape classifier (``grasp_shape``) between the detector
        and the executor.
    rviz: start RViz2 with ``config/ur5_grasp.rviz`` (candidates as markers, annotated image).
    candidate_adapter: start ``grasp_candidate_adapter`` (other software's PoseArray / PoseStamped /
        moveit_msgs/Grasp → the executor's candidates topic; enclave ``external_grasp_publisher``).
    auto_pick: the executor's automatic mode (pick until the table is clear).
    start_armed: ``auto`` (default) arms the executor at start for ``sim:=mujoco`` only (the
        simulated cell, as ``./run.sh`` does); otherwise it starts disarmed and nothing moves until
        ``ros2 service call /grasp_executor/arm std_srvs/srv/SetBool '{data: true}'``. ``true`` /
        ``false`` decide for any configuration.
    extrinsics: hand-eye calibration YAML (default ``config/camera_extrinsics.yaml``), published as
        a static transform ``base_link`` → camera optical frame and read by the executor.
    params_file: parameters file (default the installed ``config/grasp.yaml``).
    objects, n_objects, seed: the MuJoCo cell's scene.
    replay_folder: folder of depth frames for ``camera:=replay``.
    gripper_com_port: serial port of the Robotiq's RS-485 adapter (``/dev/ttyUSB0``).
    gripper_interface: the real gripper action's type (``control_msgs_parallel`` on Jazzy and later,
        ``control_msgs`` on Humble); see ``grasp_executor/gripper.py``.

With ``sim:=gazebo`` the arm is simulated by ur_simulation_gz, which has no gripper and no camera:
add both to the world (``world_file`` of ``ur_sim_control.launch.py``) and bridge the camera to the
realsense topic names, or the executor reports every pick as failed for want of a gripper. Gazebo
runs ``joint_trajectory_controller`` only (not the driver's scaled one): the executor's MoveIt
controller manager and its trajectory topic are set to it (grasp_bringup.launch_params).

Every parameter of our nodes comes from ``params_file`` (the same file ``./run.sh`` uses); the
arguments above only override what they name. Packages of the other drivers are looked up only
for the configuration that needs them, so the MuJoCo configuration runs with this workspace
alone. Sets FASTDDS_DEFAULT_PROFILES_FILE to config/fastdds.xml unless already set: camera and
detector are separate processes exchanging 1.2 MB images best effort.
"""
import os
import tempfile
from pathlib import Path

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    LogInfo,
    OpaqueFunction,
    SetEnvironmentVariable,
)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch_ros.actions import Node

from grasp_bringup import launch_params
from launch import LaunchDescription

SIMS = ("mujoco", "gazebo", "none")
CAMERAS = ("auto", "sim", "realsense", "azure", "kinect", "replay")
#: depth and camera_info topics of each camera driver (shared/INTERFACES.md)
CAMERA_TOPICS = {
    "sim": ("/camera/camera/depth/image_rect_raw", "/camera/camera/depth/camera_info"),
    "realsense": ("/camera/camera/depth/image_rect_raw", "/camera/camera/depth/camera_info"),
    "azure": ("/depth/image_raw", "/depth/camera_info"),
    "kinect": ("/depth/image_raw", "/depth/camera_info"),
}



# SROS2 (docker/sros2): each process runs in its enclave; ignored unless ROS_SECURITY_ENABLE=true.
# Discovery range: left as the user set it (ROS 2 default SUBNET); ./run.sh defaults to LOCALHOST. Use
# LOCALHOST when every node runs on this host (ur_robot_driver reaches the robot over TCP/RTDE, not
# DDS). Only the SROS2 deployment (ROS_SECURITY_STRATEGY=Enforce) controls who may publish
# /grasp_candidates or command the arm.
def enclave(name: str) -> list[str]:
    """``--enclave /grasp_stack/<name>`` for a Node's ros_arguments (docker/sros2/grasp_stack.policy.xml)."""
    return ["--enclave", f"/grasp_stack/{name}"]

def _share(package: str) -> str:
    try:
        return get_package_share_directory(package)
    except PackageNotFoundError as exc:
        raise RuntimeError(f"this configuration needs the ROS package '{package}', which is not installed "
                           f"(see docker/ for an image with every driver)") from exc


def _include(package: str, launch_file: str, arguments: dict) -> IncludeLaunchDescription:
    return IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(_share(package), "launch", launch_file)),
        launch_arguments={k: str(v) for k, v in arguments.items()}.items())


def _static_transform(extrinsics_file: str, use_sim_time: bool) -> Node:
    """tf2_ros static_transform_publisher for the hand-eye calibration (T_parent_child in the YAML)."""
    data = yaml.safe_load(Path(extrinsics_file).read_text())
    (x, y, z), (qx, qy, qz, qw) = data["translation"], data["rotation"]
    return Node(ros_arguments=enclave("drivers"),
                package="tf2_ros", executable="static_transform_publisher", name="hand_eye_calibration",
                arguments=["--x", str(x), "--y", str(y), "--z", str(z), "--qx", str(qx), "--qy", str(qy),
                           "--qz", str(qz), "--qw", str(qw), "--frame-id", data["parent_frame"],
                           "--child-frame-id", data["child_frame"]],
                parameters=[{"use_sim_time": use_sim_time}])


def _robotiq_gripper(com_port: str, out_dir: str) -> list:
    """The Robotiq 2F-85 driver (PickNikRobotics/ros2_robotiq_gripper) in the ``robotiq`` namespace.

    Its own ``robotiq_control.launch.py`` starts a second ``/controller_manager`` beside the UR
    driver's and spawns into that absolute name; here the same macro, hardware and controllers run
    under ``/robotiq`` instead, so the two controller managers do not clash. The files come from
    grasp_bringup.launch_params (test/test_launch_params.py checks them): upstream's controllers
    file keyed for ``/robotiq`` with the interfaces the hardware exports, given to the controller
    manager and to every spawner, and a description rooted at ``tool0`` instead of ``world``. The
    controller manager reads the description from ``/robotiq/robot_description`` (this
    robot_state_publisher; controller_manager.cpp:751-757 at ros2_control 9ffbf97). The gripper
    action is ``/robotiq/robotiq_gripper_controller/gripper_cmd`` (the executor is told).
    """
    from launch.substitutions import Command
    from launch_ros.parameter_descriptions import ParameterValue

    ns = launch_params.ROBOTIQ_NAMESPACE
    xacro, controllers = launch_params.write_robotiq_files(
        os.path.join(_share("robotiq_description"), "config", "robotiq_controllers.yaml"), out_dir,
        namespace=ns, com_port=com_port, parent="tool0")
    description = {"robot_description": ParameterValue(Command(["xacro ", str(xacro)]), value_type=str)}
    nodes = [Node(ros_arguments=enclave("drivers"),
                  package="controller_manager", executable="ros2_control_node", namespace=ns,
                  parameters=[str(controllers)]),
             Node(ros_arguments=enclave("drivers"),
                  package="robot_state_publisher", executable="robot_state_publisher", namespace=ns,
                  parameters=[description])]
    for controller in ("joint_state_broadcaster", launch_params.ROBOTIQ_GRIPPER_CONTROLLER,
                       "robotiq_activation_controller"):
        nodes.append(Node(ros_arguments=enclave("drivers"),
                          package="controller_manager", executable="spawner", namespace=ns,
                          arguments=[controller, "--controller-manager", f"/{ns}/controller_manager",
                                     "--param-file", str(controllers)]))
    return nodes


def _moveit_parameters(ur_type: str, share: Path, sim: str) -> dict:
    """MoveItPy parameters: ur_moveit_config's SRDF/kinematics/pipelines/controllers, config/moveit_py.yaml.

    No ``robot_description``: MoveIt reads the one the driver (or Gazebo) publishes, as upstream's
    ``ur_moveit.launch.py`` does; the simple controller manager gets the controller that runs in
    ``sim`` (grasp_bringup.launch_params.moveit_py_parameters).
    """
    from moveit_configs_utils import MoveItConfigsBuilder

    params = (MoveItConfigsBuilder(robot_name="ur", package_name="ur_moveit_config")
              .robot_description_semantic(Path("srdf") / "ur.srdf.xacro", {"name": ur_type})
              .moveit_cpp(file_path=str(share / "config" / "moveit_py.yaml"))
              .to_moveit_configs().to_dict())
    return launch_params.moveit_py_parameters(params, sim)


def _actions(context, *args, **kwargs):
    arg = {name: context.launch_configurations[name] for name in (
        "sim", "camera", "robot_ip", "ur_type", "model", "use_shape_classifier", "rviz", "auto_pick",
        "extrinsics", "params_file", "objects", "n_objects", "seed", "replay_folder", "gripper_interface",
        "gripper_com_port", "gazebo_gui", "kinematics_params_file", "start_armed")}
    share = Path(get_package_share_directory("grasp_bringup"))
    sim, camera = arg["sim"], arg["camera"]
    if sim not in SIMS:
        raise RuntimeError(f"sim:={sim} is not one of {SIMS}")
    if camera not in CAMERAS:
        raise RuntimeError(f"camera:={camera} is not one of {CAMERAS}")
    if camera == "auto":
        camera = "sim" if sim != "none" else "realsense"
    if camera == "sim" and sim == "none":
        raise RuntimeError("camera:=sim needs a simulator (sim:=mujoco or sim:=gazebo)")
    truthy = ("true", "1", "yes")
    use_sim_time = sim != "none"
    params_file = arg["params_file"]
    extrinsics = arg["extrinsics"] or str(share / "config" / "camera_extrinsics.yaml")
    common = {"use_sim_time": use_sim_time}
    actions = []

    # ---- the robot: simulator or driver, and MoveIt where the executor plans with it
    if sim == "mujoco":
        actions.append(Node(ros_arguments=enclave("grasp_sim"),
                            package="grasp_sim", executable="sim_node", name="grasp_sim", output="screen",
                            parameters=[params_file, common, {
                                "objects": arg["objects"], "n_objects": int(arg["n_objects"]),
                                "seed": int(arg["seed"]), "extrinsics": extrinsics}]))
        try:  # the robot model in RViz, when ur_description is installed
            urdf = os.path.join(get_package_share_directory("ur_description"), "urdf", "ur.urdf.xacro")
            from launch.substitutions import Command
            from launch_ros.parameter_descriptions import ParameterValue
            description = ParameterValue(Command(["xacro ", urdf, f" ur_type:={arg['ur_type']} name:=ur"]),
                                         value_type=str)
            actions.append(Node(ros_arguments=enclave("drivers"),
                                package="robot_state_publisher", executable="robot_state_publisher",
                                parameters=[{"robot_description": description}, common]))
        except PackageNotFoundError:
            pass
    elif sim == "gazebo":
        actions.append(_include("ur_simulation_gz", "ur_sim_control.launch.py",
                                {"ur_type": arg["ur_type"], "launch_rviz": "false", "gazebo_gui": arg["gazebo_gui"]}))
        actions.append(_include("ur_moveit_config", "ur_moveit.launch.py",
                                {"ur_type": arg["ur_type"], "use_sim_time": "true", "launch_rviz": "false"}))
    else:
        driver = {"ur_type": arg["ur_type"], "robot_ip": arg["robot_ip"], "launch_rviz": "false"}
        if arg["kinematics_params_file"]:  # the robot's calibration (ur_robot_driver ur_rsp.launch.py)
            driver["kinematics_params_file"] = arg["kinematics_params_file"]
        actions.append(_include("ur_robot_driver", "ur_control.launch.py", driver))
        actions.append(_include("ur_moveit_config", "ur_moveit.launch.py",
                                {"ur_type": arg["ur_type"], "launch_rviz": "false"}))
        actions += _robotiq_gripper(arg["gripper_com_port"], tempfile.mkdtemp(prefix="grasp_launch_"))

    # ---- the camera driver
    if camera == "realsense":
        actions.append(_include("realsense2_camera", "rs_launch.py", {
            "camera_namespace": "camera", "camera_name": "camera", "enable_depth": "true",
            "enable_color": "true", "publish_tf": "false"}))
    elif camera == "azure":
        actions.append(_include("azure_kinect_ros_driver", "driver.launch.py", {
            "depth_enabled": "true", "color_enabled": "true", "point_cloud": "false", "rgb_point_cloud": "false"}))
    elif camera == "kinect":
        actions.append(Node(ros_arguments=enclave("drivers"),
                            package="kinect_ros2", executable="kinect_ros2_node", name="kinect_ros2"))
    try:  # the calibration on /tf_static, for RViz and tf2 users (the executor also reads the file)
        get_package_share_directory("tf2_ros")
        actions.append(_static_transform(extrinsics, use_sim_time))
    except PackageNotFoundError:
        actions.append(LogInfo(msg="tf2_ros not installed: no static transform for the hand-eye calibration "
                                   "(the executor reads the extrinsics file itself)"))

    # ---- our nodes
    camera_params = {"source": "replay" if camera == "replay" else "topic"}
    if camera == "replay":
        camera_params["replay.folder"] = arg["replay_folder"]
    else:
        camera_params["topic.depth_topic"], camera_params["topic.info_topic"] = CAMERA_TOPICS[camera]
    actions.append(Node(ros_arguments=enclave("grasp_camera"),
                        package="grasp_camera", executable="camera_node", name="grasp_camera", output="screen",
                        parameters=[params_file, common, camera_params]))
    actions.append(Node(ros_arguments=enclave("grasp_detector"),
                        package="grasp_detector", executable="detector_node", name="grasp_detector",
                        output="screen", remappings=launch_params.detector_remappings(params_file),
                        parameters=[params_file, common, {"model": arg["model"]} if arg["model"] else {}]))
    candidates = "/grasp_candidates"
    if arg["use_shape_classifier"].lower() in truthy:
        actions.append(Node(ros_arguments=enclave("grasp_shape_classifier"),
                            package="grasp_shape", executable="shape_classifier_node",
                            name="grasp_shape_classifier", output="screen", parameters=[params_file, common]))
        candidates = "/grasp_candidates_labelled"
    if arg["candidate_adapter"].lower() in truthy:
        actions.append(Node(ros_arguments=enclave("external_grasp_publisher"),
                            package="grasp_executor", executable="grasp_candidate_adapter",
                            name="grasp_candidate_adapter", output="screen",
                            parameters=[params_file, common, {"extrinsics": extrinsics}]))
    armed = arg["start_armed"].lower()
    executor_params = {
        "start_armed": sim == "mujoco" if armed == "auto" else armed in truthy,
        "auto": arg["auto_pick"].lower() in truthy, "extrinsics": extrinsics, "candidates_topic": candidates,
        "builtin.trajectory_topic": launch_params.trajectory_topic(sim),
        "motion_backend": "builtin" if sim == "mujoco" else "moveit_py",
    }
    if sim == "none":  # the Robotiq driver above (ParallelGripperCommand since Jazzy)
        executor_params["gripper_action"] = "/robotiq/robotiq_gripper_controller/gripper_cmd"
        executor_params["gripper_interface"] = arg["gripper_interface"]
    executor_parameters = [params_file, common, executor_params]
    if sim != "mujoco":
        executor_parameters.insert(1, _moveit_parameters(arg["ur_type"], share, sim))
    actions.append(Node(ros_arguments=enclave("grasp_executor"),
                        package="grasp_executor", executable="executor_node", name="grasp_executor",
                        output="screen", parameters=executor_parameters))
    if arg["rviz"].lower() in truthy:
        actions.append(Node(ros_arguments=enclave("grasp_candidate_markers"),
                            package="grasp_bringup", executable="candidate_markers", name="grasp_candidate_markers",
                            parameters=[common, {"input": candidates}]))
        actions.append(Node(ros_arguments=enclave("observer"),
                            package="rviz2", executable="rviz2", name="rviz2", output="log",
                            arguments=["-d", str(share / "config" / "ur5_grasp.rviz")], parameters=[common]))
    return actions


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("grasp_bringup"))
    fastdds = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", str(share / "config" / "fastdds.xml"))
    # model cards are looked up by name on GRASP_MODEL_PATH (grasp_core.model_card): the installed
    # models/ and models/peers/ first, then whatever the user already had on the path
    model_path = os.pathsep.join(p for p in (str(share / "models"), str(share / "models" / "peers"),
                                             os.environ.get("GRASP_MODEL_PATH", "")) if p)
    arguments = [
        ("sim", "mujoco", "mujoco (the project's MuJoCo cell) | gazebo (ur_simulation_gz) | none (real robot)"),
        ("camera", "auto", "auto | sim | realsense | azure | kinect | replay"),
        ("robot_ip", "192.168.56.101", "the UR controller's IP address (sim:=none)"),
        ("ur_type", "ur5", "UR type for the driver, Gazebo and MoveIt"),
        ("model", "", "grasp model card name or path ('' = params_file's)"),
        ("use_shape_classifier", "false", "label candidates with the few-shot shape classifier"),
        ("rviz", "false", "start RViz2 with config/ur5_grasp.rviz"),
        ("candidate_adapter", "false", "start grasp_candidate_adapter (other software's grasp messages)"),
        ("auto_pick", "true", "executor picks until the table is clear"),
        ("start_armed", "auto", "arm the executor at start: auto (= sim:=mujoco only) | true | false"),
        ("extrinsics", "", "hand-eye calibration YAML ('' = config/camera_extrinsics.yaml)"),
        ("params_file", str(share / "config" / "grasp.yaml"), "ROS parameters file"),
        ("objects", "procedural", "MuJoCo cell objects: procedural or a mesh folder"),
        ("n_objects", "5", "objects in the MuJoCo cell"),
        ("seed", "0", "MuJoCo cell scene seed"),
        ("replay_folder", "", "folder of depth frames for camera:=replay"),
        ("gripper_com_port", "/dev/ttyUSB0", "the Robotiq's RS-485 adapter (sim:=none)"),
        ("gazebo_gui", "true", "start the Gazebo GUI (sim:=gazebo; false = headless server)"),
        ("kinematics_params_file", "",
         "the UR's calibration for ur_robot_driver (sim:=none; '' = ur_description's default_kinematics.yaml)"),
        ("gripper_interface", "control_msgs_parallel",
         "real gripper's action type: control_msgs_parallel (Jazzy+) | control_msgs (Humble) | auto"),
    ]
    return LaunchDescription([
        SetEnvironmentVariable("GRASP_MODEL_PATH", model_path),
        # images between processes: shared memory / large UDP buffers (see config/fastdds.xml)
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", fastdds),
        *(DeclareLaunchArgument(n, default_value=d, description=h) for n, d, h in arguments),
        OpaqueFunction(function=_actions),
    ])
