#!/usr/bin/env bash
# Tests: sets up .venv (with the training/test extras) and the colcon workspace
# on first use, lints, then runs the whole pytest suite. Extra arguments go to pytest.
set -eo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export GRASP_BOOTSTRAP_PROFILE=dev
# shellcheck disable=SC1091
. "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
ruff check src test bench scripts
# each run gets its own DDS domain and localhost-only discovery (see test/conftest.py)
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
exec python -m pytest test "$@"
