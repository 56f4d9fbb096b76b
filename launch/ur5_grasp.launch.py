"""Grasp stack for a full ROS 2 install: camera → detector → candidate logger.

Starts the same node classes as the pip-path runner (``grasp_bringup.main``,
``./run.sh``), with the same parameters file ``config/grasp.yaml``::

    ros2 launch grasp_bringup ur5_grasp.launch.py camera_source:=topic
    ros2 launch grasp_bringup ur5_grasp.launch.py replay_folder:=/data/cornell/01 model:=ggcnn2_cornell

Launch arguments:
    camera_source: ``topic`` (a driver, realsense2_camera names by default; see
        grasp_camera.sources for Azure Kinect / kinect_ros2 remaps) or ``replay``.
    replay_folder: folder of depth frames for ``camera_source:=replay``.
    model: model card name or path ('' = config/grasp.yaml's).
    params_file: parameters file (default: the installed config/grasp.yaml).

Sets FASTDDS_DEFAULT_PROFILES_FILE to config/fastdds.xml unless already set: camera and
detector are separate processes and exchange 1.2 MB images best effort.
"""
import os
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def _nodes(context, *args, **kwargs):
    params_file = LaunchConfiguration("params_file").perform(context)
    source = LaunchConfiguration("camera_source").perform(context)
    folder = LaunchConfiguration("replay_folder").perform(context)
    model = LaunchConfiguration("model").perform(context)
    camera_overrides = {"source": source}
    if folder:
        camera_overrides["replay.folder"] = folder
    detector_overrides = {"model": model} if model else {}
    return [
        Node(package="grasp_camera", executable="camera_node", name="grasp_camera", output="screen",
             parameters=[params_file, camera_overrides]),
        Node(package="grasp_detector", executable="detector_node", name="grasp_detector", output="screen",
             parameters=[params_file, detector_overrides]),
        Node(package="grasp_bringup", executable="candidate_logger", name="grasp_candidate_logger",
             output="screen", parameters=[params_file]),
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("grasp_bringup"))
    default_params = str(share / "config" / "grasp.yaml")
    fastdds = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", str(share / "config" / "fastdds.xml"))
    # model cards are looked up by name on GRASP_MODEL_PATH (grasp_core.model_card): the installed
    # models/ and models/peers/ first, then whatever the user already had on the path
    model_path = os.pathsep.join(p for p in (str(share / "models"), str(share / "models" / "peers"),
                                             os.environ.get("GRASP_MODEL_PATH", "")) if p)
    return LaunchDescription([
        SetEnvironmentVariable("GRASP_MODEL_PATH", model_path),
        # images between processes: shared memory / large UDP buffers (see config/fastdds.xml)
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", fastdds),
        DeclareLaunchArgument("camera_source", default_value="topic",
                              description="camera source plugin: topic (a driver) or replay (a folder)"),
        DeclareLaunchArgument("replay_folder", default_value="",
                              description="folder of depth frames for camera_source:=replay"),
        DeclareLaunchArgument("model", default_value="",
                              description="model card name or path ('' = config/grasp.yaml)"),
        DeclareLaunchArgument("params_file", default_value=default_params,
                              description="ROS parameters file"),
        OpaqueFunction(function=_nodes),
    ])
