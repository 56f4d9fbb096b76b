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
exec python -m grasp_bringup.main "$@"
