"""Rewrite the manylinux build paths that the ROS 2 wheels' CMake files name.

The PyPI wheels of ROS 2 Kilted were built in a manylinux container; their
``*__rosidl_generator_pyExport.cmake`` files point at that machine's Python and
numpy include directories. Building an interface package with colcon needs them
to point at this interpreter's directories. Idempotent.
"""
from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy


def main() -> int:
    prefix = Path(sys.prefix)
    py_inc = sysconfig.get_paths()["include"]
    np_inc = numpy.get_include()
    py_pat = re.compile(r"/opt/python/cp3\d+-cp3\d+t?/include/python3\.\d+t?")
    np_pat = re.compile(r"[^;\"]*/site-packages/numpy/(?:_core|core)/include")
    changed = 0
    for path in (prefix / "share").rglob("*.cmake"):
        text = path.read_text(errors="surrogateescape")
        if "/opt/python/" not in text and "numpy" not in text:
            continue
        new = py_pat.sub(py_inc, text)
        new = np_pat.sub(np_inc, new)
        if new != text:
            path.write_text(new, errors="surrogateescape")
            changed += 1
    print(f"[bootstrap] rewrote include paths in {changed} CMake file(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
