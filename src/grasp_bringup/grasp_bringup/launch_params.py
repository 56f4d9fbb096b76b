"""Parameters and files that ``launch/ur5_grasp.launch.py`` generates at launch time.

Plain Python (PyYAML and the standard library, no ``launch``), so that test/test_launch_params.py
checks what the launch file passes to the drivers on the pip path too. Upstream sources these
follow (the commits the Docker image installs or that its apt packages were released from):
ros2_robotiq_gripper 3b6cf8f, Universal_Robots_ROS2_Driver ``jazzy`` a16a268 (ur_moveit_config),
ur_simulation_gz ``ros2`` 54a6a11, moveit2 ``jazzy`` 4d84106, ros2_control ``jazzy`` 9ffbf97,
rclcpp ``jazzy`` 985e320.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

#: namespace of the Robotiq 2F-85's controller manager, controllers and robot_state_publisher
ROBOTIQ_NAMESPACE = "robotiq"
#: the UR arm's trajectory controller per ``sim:=`` configuration: ur_robot_driver's
#: ``ur_control.launch.py`` activates ``scaled_joint_trajectory_controller`` (its
#: ``initial_joint_controller`` default), ur_simulation_gz's ``ur_sim_control.launch.py`` only
#: ``joint_trajectory_controller`` (same argument, other default); the MuJoCo cell (grasp_sim)
#: serves the scaled controller's topic like the real driver.
ARM_CONTROLLERS = {
    "mujoco": "scaled_joint_trajectory_controller",
    "gazebo": "joint_trajectory_controller",
    "none": "scaled_joint_trajectory_controller",
}
#: command interfaces the Robotiq hardware interface exports besides ``<joint>/position``
#: (robotiq_driver/src/hardware_interface.cpp:196-209 at 3b6cf8f); upstream's
#: robotiq_controllers.yaml asks for ``<joint>/effort`` and ``<joint>/velocity`` instead, so the
#: gripper controller cannot claim them and does not activate (ros2_robotiq_gripper issue #114).
ROBOTIQ_MAX_EFFORT_INTERFACE = "set_gripper_max_effort"
ROBOTIQ_MAX_VELOCITY_INTERFACE = "set_gripper_max_velocity"
ROBOTIQ_GRIPPER_CONTROLLER = "robotiq_gripper_controller"

#: the detector's depth input, remapped to the camera node's depth before inpainting: the detector
#: inpaints its network's crop only, so the camera's full-frame inpainting is off the path to
#: /grasp_candidates (grasp_camera.camera_node: depth/image_unfilled)
UNFILLED_DEPTH_REMAP = ("depth/image", "depth/image_unfilled")


def detector_remappings(params: dict | str | Path) -> list[tuple[str, str]]:
    """The detector node's topic remappings for a parameters file (or its loaded dict).

    [:data:`UNFILLED_DEPTH_REMAP`] while ``grasp_camera.publish_unfilled`` is true (its default),
    else none (the detector reads the inpainted ``depth/image``). Used by the launch file and by the
    composed cell (``./run.sh``, ``grasp-run``) alike.
    """
    if not isinstance(params, dict):
        params = yaml.safe_load(Path(params).read_text()) or {}
    camera = (params.get("grasp_camera") or {}).get("ros__parameters") or {}
    return [UNFILLED_DEPTH_REMAP] if bool(camera.get("publish_unfilled", True)) else []


def remap_args(remappings: list[tuple[str, str]]) -> list[str]:
    """``--ros-args -r from:=to ...`` for a node built in this process (``Node(cli_args=...)``)."""
    out = ["--ros-args"]
    for a, b in remappings:
        out += ["-r", f"{a}:={b}"]
    return out if remappings else []


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FRAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_/]*$")
_DEVICE = re.compile(r"^/[A-Za-z0-9_./-]+$")


def arm_controller(sim: str) -> str:
    """Name of the arm's active trajectory controller for ``sim`` (``mujoco`` | ``gazebo`` | ``none``).

    Raises:
        ValueError: unknown configuration.
    """
    try:
        return ARM_CONTROLLERS[sim]
    except KeyError:
        raise ValueError(f"sim {sim!r} is not one of {tuple(ARM_CONTROLLERS)}") from None


def trajectory_topic(sim: str) -> str:
    """The active arm controller's ``trajectory_msgs/JointTrajectory`` topic (the built-in backend's)."""
    return f"/{arm_controller(sim)}/joint_trajectory"


def moveit_simple_controllers(block: dict, controller: str) -> dict:
    """``moveit_simple_controller_manager`` parameters with ``controller`` as the only, default one.

    ur_moveit_config's ``config/moveit_controllers.yaml`` lists ``scaled_joint_trajectory_controller``
    (``default: true``) and ``joint_trajectory_controller``; MoveIt's simple controller manager
    treats every listed controller as active and sends to the default one, so under Gazebo, where
    only ``joint_trajectory_controller`` runs, every execution would go to an action server that
    does not exist. Keeping only the running controller makes MoveIt send there.

    Args:
        block: the ``moveit_simple_controller_manager`` mapping (``controller_names`` and one
            entry per controller with ``action_ns``, ``type``, ``default``, ``joints``).
        controller: the controller to keep.

    Returns:
        A new mapping; ``block`` is not changed.

    Raises:
        ValueError: ``controller`` is not described in ``block``.
    """
    if controller not in block or not isinstance(block[controller], dict):
        raise ValueError(f"moveit_simple_controller_manager has no entry for {controller!r} "
                         f"(it describes {[k for k in block if k != 'controller_names']})")
    entry = copy.deepcopy(block[controller])
    entry["default"] = True
    return {"controller_names": [controller], controller: entry}


def moveit_py_parameters(moveit_params: dict, sim: str) -> dict:
    """The MoveItPy node's parameters from ``MoveItConfigsBuilder(...).to_dict()`` for ``sim``.

    * ``robot_description`` is removed: MoveIt then reads the ``/robot_description`` topic
      (rdf_loader's SynchronizedStringParameter, transient local), i.e. the description the UR
      driver's robot_state_publisher publishes — calibrated when ``kinematics_params_file`` is
      given — or ur_simulation_gz's, instead of ur_description's nominal kinematics.
    * ``moveit_simple_controller_manager`` keeps only the arm controller that runs in ``sim``
      (:func:`moveit_simple_controllers`).

    Raises:
        ValueError: unknown ``sim``, or no ``moveit_simple_controller_manager`` block.
    """
    controller = arm_controller(sim)
    params = dict(moveit_params)
    params.pop("robot_description", None)
    block = params.get("moveit_simple_controller_manager")
    if not isinstance(block, dict):
        raise ValueError("the MoveIt parameters have no moveit_simple_controller_manager block "
                         "(ur_moveit_config's config/moveit_controllers.yaml)")
    params["moveit_simple_controller_manager"] = moveit_simple_controllers(block, controller)
    return params


def robotiq_controllers(upstream: dict, namespace: str = ROBOTIQ_NAMESPACE) -> dict:
    """Upstream's ``robotiq_controllers.yaml`` keyed for ``namespace``, with the hardware's interfaces.

    * Node keys: upstream's top-level keys are bare node names (``controller_manager``,
      ``robotiq_gripper_controller``, ...). rclcpp prefixes them with ``/`` and matches them
      against the node's fully qualified name (rclcpp/src/rclcpp/parameter_map.cpp:54-66), so a
      controller manager in ``/<namespace>`` reads nothing from them, and the spawner rejects the
      file ("Missing namespace", controller_manager_services.py:357-370). Every key becomes
      ``/<namespace>/<node>``, one of the forms both accept.
    * ``robotiq_gripper_controller``: ``max_effort_interface`` / ``max_velocity_interface`` name
      the interfaces the hardware exports (:data:`ROBOTIQ_MAX_EFFORT_INTERFACE`,
      :data:`ROBOTIQ_MAX_VELOCITY_INTERFACE`; the fix of ros2_robotiq_gripper PR #115).

    Args:
        upstream: the parsed upstream file (node name → ``{"ros__parameters": {...}}``).
        namespace: the namespace without slashes.

    Returns:
        A new mapping, ready for ``yaml.safe_dump``.

    Raises:
        ValueError: a bad namespace, or a file without ``controller_manager`` or the gripper
            controller (with its ``joint``).
    """
    if not _NAME.match(namespace):
        raise ValueError(f"namespace {namespace!r} is not a single ROS name")
    for node in ("controller_manager", ROBOTIQ_GRIPPER_CONTROLLER):
        if not isinstance(upstream.get(node), dict) or "ros__parameters" not in upstream[node]:
            raise ValueError(f"robotiq_controllers.yaml has no '{node}: ros__parameters:' section")
    out = {}
    for node, section in upstream.items():
        key = node if node.startswith("/") else f"/{namespace}/{node}"
        out[key] = copy.deepcopy(section)
    gripper = out[f"/{namespace}/{ROBOTIQ_GRIPPER_CONTROLLER}"]["ros__parameters"]
    joint = gripper.get("joint")
    if not joint:
        raise ValueError(f"{ROBOTIQ_GRIPPER_CONTROLLER} has no 'joint' parameter")
    gripper["max_effort_interface"] = f"{joint}/{ROBOTIQ_MAX_EFFORT_INTERFACE}"
    gripper["max_velocity_interface"] = f"{joint}/{ROBOTIQ_MAX_VELOCITY_INTERFACE}"
    return out


def robotiq_description_xacro(parent: str = "tool0", com_port: str = "/dev/ttyUSB0",
                              use_fake_hardware: bool = False) -> str:
    """A xacro document: the 2F-85 macro of robotiq_description attached to ``parent``.

    Upstream's ``robotiq_2f_85_gripper.urdf.xacro`` roots the gripper at a ``world`` link (no
    argument changes it), so its robot_state_publisher places the gripper at the origin of
    ``world``. This document roots it at ``parent`` (``tool0``, the flange frame the UR
    description ends in) with the same macro, hardware plugin and ``com_port``; the UR's
    robot_state_publisher publishes ``base_link`` → ``tool0``, this one ``tool0`` → gripper.

    Raises:
        ValueError: ``parent`` is not a frame name or ``com_port`` not a device path.
    """
    if not _FRAME.match(parent):
        raise ValueError(f"parent frame {parent!r} is not a frame name")
    if not _DEVICE.match(com_port):
        raise ValueError(f"com_port {com_port!r} is not a device path")
    fake = "true" if use_fake_hardware else "false"
    return f"""<?xml version="1.0"?>
<!-- generated by grasp_bringup.launch_params.robotiq_description_xacro -->
<robot xmlns:xacro="http://wiki.ros.org/xacro" name="robotiq_gripper">
  <xacro:include filename="$(find robotiq_description)/urdf/robotiq_2f_85_macro.urdf.xacro" />
  <link name="{parent}" />
  <xacro:robotiq_gripper name="RobotiqGripperHardwareInterface" prefix="" parent="{parent}"
                         use_fake_hardware="{fake}" com_port="{com_port}">
    <origin xyz="0 0 0" rpy="0 0 0" />
  </xacro:robotiq_gripper>
</robot>
"""


def write_robotiq_files(upstream_controllers: str | Path, out_dir: str | Path,
                        namespace: str = ROBOTIQ_NAMESPACE, com_port: str = "/dev/ttyUSB0",
                        parent: str = "tool0") -> tuple[Path, Path]:
    """Write the gripper's xacro and controllers file into ``out_dir``; returns (xacro, controllers).

    ``upstream_controllers`` is robotiq_description's ``config/robotiq_controllers.yaml``; the
    launch file passes the controllers file to the gripper's ``ros2_control_node`` and to its
    spawners (``--param-file``). Errors: OSError, yaml.YAMLError, ValueError (the functions above).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    upstream = yaml.safe_load(Path(upstream_controllers).read_text())
    if not isinstance(upstream, dict):
        raise ValueError(f"{upstream_controllers} is not a ROS parameters file")
    controllers = out_dir / f"{namespace}_controllers.yaml"
    controllers.write_text(yaml.safe_dump(robotiq_controllers(upstream, namespace), sort_keys=False))
    xacro = out_dir / "robotiq_2f_85_on_tool0.urdf.xacro"
    xacro.write_text(robotiq_description_xacro(parent, com_port))
    return xacro, controllers
