#!/usr/bin/env bash
# Idempotent set-up shared by ./run.sh and ./test.sh: system packages for
# off-screen rendering, the .venv with the ROS 2 Kilted wheels and pinned Python
# dependencies, the rewrite of the wheels' CMake include paths, and the colcon
# build of src/. Source it; it leaves the workspace environment set up.
#   GRASP_BOOTSTRAP_PROFILE=runtime|dev   (dev adds torch, onnx, pytest)
set -eo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${GRASP_BOOTSTRAP_PROFILE:-runtime}"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

log() { echo "[bootstrap] $*" >&2; }
# pip quietly; drop the "Location ... is ignored" noise of some machines' pip.conf, keep errors
pipq() {
  "$VENV/bin/python" -m pip -q --disable-pip-version-check "$@" 2>&1 \
    | { grep -v -e "^WARNING: Location '.*' is ignored" -e "^ *!!$" || true; }
  return "${PIPESTATUS[0]}"
}
die() { echo "[bootstrap] error: $*" >&2; exit 1; }

# --- Python 3.10-3.13 (ROS 2 Kilted wheels exist for these) -----------------
"$PY" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' \
  || die "need Python 3.10-3.13 as '$PY' (found $("$PY" -V 2>&1)); set PYTHON=/path/to/python3.11"

# --- system packages: Mesa EGL / OSMesa for MuJoCo's CPU rendering ----------
SYS_PKGS=(libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libglib2.0-0)
if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${SYS_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
      log "installing system packages: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      die "missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
    fi
  fi
fi

# --- the virtual environment --------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
REQ="$ROOT/requirements.txt"
[ "$PROFILE" = dev ] && REQ="$ROOT/requirements-dev.txt"
STAMP="$VENV/.grasp-$PROFILE.stamp"
WANT="$( { cat "$ROOT"/requirements*.txt "$ROOT/src/grasp_core/setup.py" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
# a current dev install also satisfies the runtime profile (dev is a superset)
if [ "$PROFILE" = runtime ] && [ -f "$VENV/.grasp-dev.stamp" ] && [ "$(cat "$VENV/.grasp-dev.stamp")" = "$WANT" ]; then
  STAMP="$VENV/.grasp-dev.stamp"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  log "installing Python dependencies ($PROFILE profile)"
  pipq install --upgrade pip wheel
  pipq install -r "$REQ"
  # the ROS-free algorithms package, editable, for its console scripts in .venv/bin
  pipq install --no-deps --no-build-isolation -e "$ROOT/src/grasp_core"
  # The wheels were built in manylinux: their CMake exports name the build
  # machine's Python and numpy include directories. Point them at ours.
  "$VENV/bin/python" "$ROOT/scripts/fix_ros_wheel_cmake.py"
  # dev: robosuite's object meshes (the robosuite:household source), its wheel's files only
  if [ "$PROFILE" = dev ]; then "$VENV/bin/python" "$ROOT/scripts/fetch_robosuite_objects.py" >&2; fi
  echo "$WANT" > "$STAMP"
fi

# --- environment ---------------------------------------------------------------
# shellcheck disable=SC1091
. "$VENV/bin/activate"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-$MUJOCO_GL}"

# --- colcon build (colcon.meta carries the settings) ---------------------------
BSTAMP="$ROOT/install/.grasp-build.stamp"
BWANT="$( (cd "$ROOT" && find src -type f \( -name package.xml -o -name CMakeLists.txt -o -name '*.msg' -o -name '*.srv' -o -name '*.action' -o -name setup.py -o -name setup.cfg \) -print0 | sort -z | xargs -0 sha256sum; cat colcon.meta; ls launch config models models/peers) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$BSTAMP" ] || [ "$(cat "$BSTAMP")" != "$BWANT" ]; then
  log "colcon build"
  (cd "$ROOT" && mkdir -p log && colcon --log-base log build --base-paths src --symlink-install --metas colcon.meta \
      --event-handlers console_cohesion- summary- status- >"$ROOT/log/colcon-build.txt" 2>&1) \
    || { tail -40 "$ROOT/log/colcon-build.txt" >&2; die "colcon build failed (full log: log/colcon-build.txt)"; }
  echo "$BWANT" > "$BSTAMP"
fi
# shellcheck disable=SC1091
set +u
. "$ROOT/install/setup.bash"
export GRASP_ROOT="$ROOT"
