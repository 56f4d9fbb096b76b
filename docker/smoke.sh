#!/usr/bin/env bash
# Smoke test of the Docker image, for a machine with Docker: build it, start the launch file's
# sim:=mujoco and sim:=gazebo (headless) configurations for a while each, and report which of the
# expected nodes, controllers and actions came up.
#
#   docker/smoke.sh [--no-build] [--seconds 60] [--distro jazzy|kilted] [--tag IMAGE] [--out DIR] [mujoco] [gazebo]
#
# Writes, per configuration, the launch log and what the probe saw (DIR, default out/docker-smoke/);
# exit status 0 when everything expected came up in every configuration run, 1 when something did
# not, 2 on bad arguments or without Docker. The probe runs inside the container (rclpy): node
# names, action servers, and the controllers and their states from each controller manager's
# list_controllers service.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=1
SECONDS_UP=60
DISTRO=jazzy
TAG=""
OUT="$ROOT/out/docker-smoke"
SIMS=()
die() { echo "smoke.sh: $*" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --no-build) BUILD=0 ;;
    --seconds) SECONDS_UP="${2:?}"; shift ;;
    --distro) DISTRO="${2:?}"; shift ;;
    --tag) TAG="${2:?}"; shift ;;
    --out) OUT="${2:?}"; shift ;;
    mujoco|gazebo) SIMS+=("$1") ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
((${#SIMS[@]})) || SIMS=(mujoco gazebo)
[[ "$SECONDS_UP" =~ ^[0-9]+$ ]] || die "--seconds needs a whole number"
TAG="${TAG:-grasp_stack:$DISTRO}"
command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (docker info failed)"
mkdir -p "$OUT"

if ((BUILD)); then
  echo "== docker build -t $TAG (ROS_DISTRO=$DISTRO); log: $OUT/build.log"
  # the build itself runs docker/check_install.py on the non-symlink install (every module, every command)
  docker build -f "$ROOT/docker/Dockerfile" --build-arg ROS_DISTRO="$DISTRO" -t "$TAG" "$ROOT" \
    >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; echo "smoke.sh: docker build failed" >&2; exit 1; }
fi

# what each configuration must bring up: "node:NAME", "action:NAME", "controller:NAME=STATE", "topic:NAME"
expected() {
  case "$1" in
    mujoco) printf '%s\n' node:/grasp_sim node:/grasp_camera node:/grasp_detector node:/grasp_executor \
      action:/grasp_executor/pick action:/robotiq_gripper_controller/gripper_cmd topic:/grasp_candidates ;;
    gazebo) printf '%s\n' node:/controller_manager node:/robot_state_publisher node:/move_group \
      node:/grasp_executor node:/grasp_executor_moveit node:/grasp_camera node:/grasp_detector \
      controller:joint_state_broadcaster=active controller:joint_trajectory_controller=active \
      action:/joint_trajectory_controller/follow_joint_trajectory action:/move_action action:/grasp_executor/pick ;;
  esac
}

# runs inside the container: prints one "kind:name" line per node, action, topic and controller
PROBE='
import time
import rclpy
from rclpy.action import get_action_server_names_and_types_by_node
rclpy.init()
node = rclpy.create_node("grasp_smoke_probe")
end = time.monotonic() + 5.0
while time.monotonic() < end:
    rclpy.spin_once(node, timeout_sec=0.2)
seen = set()
for name, ns in node.get_node_names_and_namespaces():
    full = (ns.rstrip("/") + "/" + name)
    seen.add("node:" + full)
    try:
        for action, _ in get_action_server_names_and_types_by_node(node, name, ns):
            seen.add("action:" + action)
    except Exception:
        pass
for topic, _ in node.get_topic_names_and_types():
    seen.add("topic:" + topic)
try:
    from controller_manager_msgs.srv import ListControllers
    for service, types in node.get_service_names_and_types():
        if service.endswith("/list_controllers") and "controller_manager_msgs/srv/ListControllers" in types:
            client = node.create_client(ListControllers, service)
            if client.wait_for_service(timeout_sec=5.0):
                future = client.call_async(ListControllers.Request())
                rclpy.spin_until_future_complete(node, future, timeout_sec=10.0)
                for c in (future.result().controller if future.result() else []):
                    seen.add(f"controller:{c.name}={c.state}")
except ImportError:
    pass
print("\n".join(sorted(seen)))
'

FAILED=0
for sim in "${SIMS[@]}"; do
  name="grasp_smoke_${sim}_$$"
  echo "== sim:=$sim for ${SECONDS_UP} s (container $name)"
  docker run -d --name "$name" -e ROS_DOMAIN_ID=$((RANDOM % 100 + 1)) -e ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \
    "$TAG" ros2 launch grasp_bringup ur5_grasp.launch.py sim:="$sim" camera:=sim rviz:=false gazebo_gui:=false \
    >/dev/null
  sleep "$SECONDS_UP"
  if [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ]; then
    docker exec "$name" /grasp_entrypoint.sh python3 -c "$PROBE" >"$OUT/$sim.seen" 2>"$OUT/$sim.probe.err" || true
  else
    echo "   the launch exited early (status $(docker inspect -f '{{.State.ExitCode}}' "$name"))"
    : >"$OUT/$sim.seen"
  fi
  docker logs "$name" >"$OUT/$sim.log" 2>&1 || true
  docker rm -f "$name" >/dev/null 2>&1 || true
  missing=0
  while read -r item; do
    if grep -qxF "$item" "$OUT/$sim.seen"; then
      echo "   up       $item"
    else
      echo "   MISSING  $item"
      missing=$((missing + 1))
    fi
  done < <(expected "$sim")
  errors=$(grep -cE '\[ERROR\]|Traceback|process has died' "$OUT/$sim.log" || true)
  echo "   $(grep -c '^node:' "$OUT/$sim.seen" || true) nodes, $(grep -c '^controller:' "$OUT/$sim.seen" || true)" \
       "controllers, $(grep -c '^action:' "$OUT/$sim.seen" || true) actions seen; $errors error lines in $OUT/$sim.log"
  ((missing == 0)) || FAILED=1
done
if ((FAILED)); then
  echo "smoke.sh: something expected did not come up (see $OUT)" >&2
  exit 1
fi
echo "smoke.sh: every expected node, controller and action came up (${SIMS[*]})"
