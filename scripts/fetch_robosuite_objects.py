#!/usr/bin/env python3
"""Unpack robosuite's object assets (MJCF files and meshes) for the ``robosuite:household`` object source.

robosuite itself is not installed: its requirements (numba, mink, opencv-python, pynput, ...) would
pull packages that clash with ours (opencv-python-headless, the numpy pin), and only its mesh files
are needed. So this downloads its wheel with ``pip download --no-deps`` (a pinned version, from the
configured package index) and extracts ``robosuite/models/assets/objects/`` under
``<venv>/share/grasp/robosuite-<version>/``, where :func:`grasp_core.objects.robosuite_objects_dir`
finds it. The development profile of ``scripts/bootstrap.sh`` runs it; idempotent.

Exit status 0 when the assets are there (already or now), 1 with one line on stderr otherwise.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "1.5.2"  # = grasp_core.objects.ROBOSUITE_VERSION (this script runs before grasp_core is importable)
PREFIX = "robosuite/models/assets/objects/"


def main() -> int:
    dest = Path(sys.prefix) / "share" / "grasp" / f"robosuite-{VERSION}"
    if (dest / PREFIX / "bottle.xml").is_file():
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
               f"robosuite=={VERSION}", "-d", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob(f"robosuite-{VERSION}-*.whl"))
        if res.returncode != 0 or not wheels:
            why = (res.stderr.strip().splitlines() or ["no wheel"])[-1]
            print(f"fetch_robosuite_objects: cannot download robosuite=={VERSION}: {why}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as z:
            members = [m for m in z.namelist() if m.startswith(PREFIX) and not m.endswith("/")]
            z.extractall(dest, members)
    print(f"fetch_robosuite_objects: {len(members)} files under {dest / PREFIX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
