#!/bin/bash
# Sources ROS 2, the Robotiq underlay and the grasp stack overlay, then runs the command.
set -e
source "/opt/ros/${ROS_DISTRO}/setup.bash" --
source /opt/robotiq_ws/install/setup.bash --
source /ws/install/setup.bash --
exec "$@"
