#!/usr/bin/env bash
# Main job: the grasp stack on the embedded default (frames rendered by the
# project's simulator), or on a folder of depth frames given as argument.
#   ./run.sh [FRAMES_DIR] [--intrinsics YAML] [--model NAME] [--output DIR] ...
# First use sets up .venv and the colcon workspace (see scripts/bootstrap.sh).
set -eo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GRASP_BOOTSTRAP_PROFILE="${GRASP_BOOTSTRAP_PROFILE:-runtime}"
# shellcheck disable=SC1091
. "$ROOT/scripts/bootstrap.sh"
# Who may command the robot: DDS discovery stays on this host unless the user chose otherwise
# (the pip wheels' Fast DDS has no security plugins; README, "Security and who may command the robot").
if [ -z "${ROS_AUTOMATIC_DISCOVERY_RANGE:-}" ]; then
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
  echo "run.sh: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST (discovery on this host only; set it to SUBNET to talk to other hosts)" >&2
else
  echo "run.sh: ROS_AUTOMATIC_DISCOVERY_RANGE=$ROS_AUTOMATIC_DISCOVERY_RANGE (set by the user)" >&2
fi
exec python -m grasp_bringup.main "$@"
