#!/usr/bin/env bash
# SROS2 keystore of the grasp stack: one enclave per node, permissions from grasp_stack.policy.xml.
#
#   docker/sros2/create_keystore.sh [KEYSTORE_DIR]   (default: $ROS_SECURITY_KEYSTORE, else ~/.ros/grasp_sros2_keystore;
#                                                    keep it out of the repository: `COPY . /ws` would put the keys in the image)
#
# Needs a full ROS 2 install with sros2 (`ros2 security`; ros-base, and so the Docker image, has it). The pip wheels'
# Fast DDS has no security plugins: on the pip path this keystore is not used (see README,
# "Security and who may command the robot").
#
# Permissions are signed for the current ROS_DOMAIN_ID (sros2 writes it into each permissions.xml):
# run this with the deployment's ROS_DOMAIN_ID. Then start every process with
#   ROS_SECURITY_ENABLE=true ROS_SECURITY_STRATEGY=Enforce ROS_SECURITY_KEYSTORE=<KEYSTORE_DIR>
#   ... --ros-args --enclave /grasp_stack/<node>
# (drivers: --enclave /grasp_stack/drivers; RViz and echo tools: /grasp_stack/observer;
# operator tools: /grasp_stack/operator).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POLICY="${GRASP_SROS2_POLICY:-$HERE/grasp_stack.policy.xml}"
KEYSTORE="${1:-${ROS_SECURITY_KEYSTORE:-$HOME/.ros/grasp_sros2_keystore}}"
PY="$(command -v python3 || command -v python)"

command -v ros2 >/dev/null || { echo "create_keystore.sh: error: ros2 not found (source a ROS 2 install with sros2)" >&2; exit 2; }
[ -f "$POLICY" ] || { echo "create_keystore.sh: error: policy $POLICY not found" >&2; exit 2; }

# the enclaves are the policy's own: a node added to the policy gets its keys without editing this script
mapfile -t ENCLAVES < <("$PY" - "$POLICY" <<'EOF'
import sys
import xml.etree.ElementTree as ET

for e in ET.parse(sys.argv[1]).getroot().iter("enclave"):
    print(e.get("path"))
EOF
)
[ "${#ENCLAVES[@]}" -gt 0 ] || { echo "create_keystore.sh: error: no enclave in $POLICY" >&2; exit 2; }

echo "create_keystore.sh: keystore $KEYSTORE, ${#ENCLAVES[@]} enclave(s), domain ${ROS_DOMAIN_ID:-0}, policy $POLICY"
[ -d "$KEYSTORE/public" ] || ros2 security create_keystore "$KEYSTORE"
for enclave in "${ENCLAVES[@]}"; do
  # create_enclave writes allow-everything permissions; create_permission replaces them with the
  # policy's (set -e: a failure stops here rather than leave a permissive enclave behind)
  ros2 security create_enclave "$KEYSTORE" "$enclave"
  ros2 security create_permission "$KEYSTORE" "$enclave" "$POLICY"
  echo "  $enclave"
done
echo "create_keystore.sh: done; keep $KEYSTORE/private off the robot's shared volumes"
