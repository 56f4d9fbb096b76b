#!/usr/bin/env python3
"""Smoke test of a non-editable install: every module imports and every command starts, from the prefix.

Run by docker/Dockerfile right after its ``colcon build`` (no ``--symlink-install``) and by
test/test_install.py on the pip path against the same kind of build, so a packaging gap (a source
folder without ``__init__.py``, which ``find_packages()`` leaves out) fails both::

    python3 docker/check_install.py --prefix /ws/install --source src       # colcon isolated install
    python3 docker/check_install.py --prefix DIR --site DIR                  # e.g. pip install --target DIR

Checks, with the modules found by walking the installed trees (``pkgutil.walk_packages``):

* ``--source SRC``: every ``.py`` file under ``SRC/<pkg>/<pkg>/`` of each Python package is installed;
* every module of every installed package imports, and from under ``--prefix`` (an editable
  install's finder in the environment is switched off first); generated ROS interfaces load
  their C type support;
* every entry point (console scripts, plugins) of the installed distributions loads; each
  console script's wrapper is installed; with ``--run-help`` the argparse tools answer ``--help``;
* ``--optional MOD``: what fails only for want of the third-party module MOD (the image's torch,
  without ``SHAPES=1``) is listed as skipped instead.

Prints one line per problem and a last line ``CHECK-INSTALL <json report>``; exits 1 when there
was a problem, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import inspect
import json
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SITE_GLOBS = ("lib/python3*/site-packages", "lib/python3*/dist-packages", "local/lib/python3*/dist-packages")


def _editable(obj) -> bool:
    module = obj.__module__ if isinstance(obj, type) else type(obj).__module__
    return str(module).startswith("__editable__")


def disable_editable_finders() -> None:
    """Remove setuptools' editable-install finders, which would supply what the install lacks."""
    sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not str(getattr(h, "__module__", "")).startswith("__editable__")]
    sys.path_importer_cache.clear()


def site_dirs(prefix: Path) -> list[Path]:
    """Python install folders of a colcon isolated install (``<prefix>/<pkg>/lib/python3.X/site-packages``)."""
    return sorted({d for pattern in SITE_GLOBS for d in prefix.glob(f"*/{pattern}") if d.is_dir()})


def top_packages(sites: list[Path]) -> list[str]:
    return sorted({p.name for s in sites for p in s.iterdir() if (p / "__init__.py").is_file()})


def missing_sources(source: Path, sites: list[Path]) -> list[str]:
    """``.py`` files of each source package (``SRC/<pkg>/setup.py``) that no site folder holds."""
    installed = {str(f.relative_to(s)) for s in sites for f in s.rglob("*.py")}
    missing = []
    for setup in sorted(source.glob("*/setup.py")):
        pkg_dir = setup.parent
        for f in sorted((pkg_dir / pkg_dir.name).rglob("*.py")):
            rel = str(f.relative_to(pkg_dir))
            if "__pycache__" not in f.parts and rel not in installed:
                missing.append(rel)
    return missing


def _optional(exc: BaseException | None, optional: set[str]) -> str | None:
    """The missing third-party module's name when ``exc`` is its ModuleNotFoundError and it is optional."""
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] in optional:
        return exc.name
    return None


def import_all(packages: list[str], prefix: Path, report: dict, optional: set[str]) -> None:
    def check(mod) -> None:
        report["modules"].append(mod.__name__)
        where = getattr(mod, "__file__", None) or ""
        if not Path(where).resolve().is_relative_to(prefix):
            report["problems"].append(f"{mod.__name__} imported from outside the prefix: "
                                      f"{where or list(getattr(mod, '__path__', []))}")
        for obj in list(vars(mod).values()):  # generated interfaces: load the C type support
            meta = type(obj)
            if isinstance(obj, type) and hasattr(meta, "__import_type_support__") \
                    and getattr(obj, "__module__", "") == mod.__name__:
                try:
                    meta.__import_type_support__()
                    report["typesupport"] += 1
                except Exception as exc:  # noqa: BLE001 - reported
                    report["problems"].append(f"{mod.__name__}.{obj.__name__} type support: {exc!r}")

    def failed(name: str, exc: BaseException | None) -> None:
        needs = _optional(exc, optional)
        if needs:
            report["skipped"].append(f"{name} (needs {needs})")
        else:
            report["problems"].append(f"{name} does not import: {type(exc).__name__}: {exc}")

    for package in packages:
        try:
            top = importlib.import_module(package)
        except Exception as exc:  # noqa: BLE001 - reported
            failed(package, exc)
            continue
        check(top)
        for info in pkgutil.walk_packages(top.__path__, package + ".",
                                          onerror=lambda name: failed(name, sys.exc_info()[1])):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                check(importlib.import_module(info.name))
            except Exception as exc:  # noqa: BLE001 - reported
                failed(info.name, exc)


def _wrapper(prefix: Path, sites: list[Path], dist: str, name: str) -> Path | None:
    """The console script's installed wrapper: ``<pkg>/lib/<pkg>/<name>`` (ament_python) or ``bin/<name>``."""
    package = dist.replace("-", "_")
    candidates = [prefix / package / "lib" / package / name, prefix / package / "bin" / name, prefix / "bin" / name]
    candidates += [d / "bin" / name for s in sites for d in (s, s.parent)]
    return next((c for c in candidates if c.is_file()), None)


def entry_points(prefix: Path, sites: list[Path], report: dict, optional: set[str]) -> None:
    for dist in md.distributions(path=[str(s) for s in sites]):
        for ep in dist.entry_points:
            try:
                target = ep.load()
            except Exception as exc:  # noqa: BLE001 - reported
                needs = _optional(exc, optional)
                if needs:
                    report["skipped"].append(f"entry point {ep.group}:{ep.name} (needs {needs})")
                else:
                    report["problems"].append(f"entry point {ep.group}:{ep.name} does not load: {exc!r}")
                continue
            item = {"dist": dist.metadata["Name"], "group": ep.group, "name": ep.name, "cli": False}
            if not callable(target):
                report["problems"].append(f"entry point {ep.group}:{ep.name} is not callable")
            if ep.group == "console_scripts":
                wrapper = _wrapper(prefix, sites, item["dist"], ep.name)
                if wrapper is None:
                    report["problems"].append(f"console script {ep.name} ({item['dist']}) has no wrapper")
                item["wrapper"] = str(wrapper) if wrapper else None
                item["cli"] = "argparse" in inspect.getsource(sys.modules[ep.module])
            report["entry_points"].append(item)


def run_help(report: dict, timeout: float, optional: set[str]) -> None:
    """``<wrapper> --help`` for each argparse console script (ROS nodes would spin instead), two at a time."""
    def one(item: dict) -> tuple[str, int, str]:
        try:
            proc = subprocess.run([sys.executable, item["wrapper"], "--help"], capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return item["name"], -1, f"no answer in {timeout:.0f} s"
        return item["name"], proc.returncode, proc.stdout + proc.stderr[-1500:]

    clis = [i for i in report["entry_points"] if i["cli"] and i.get("wrapper")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, rc, out in pool.map(one, clis):
            needs = [m for m in optional if f"No module named '{m}" in out]
            if rc != 0 and needs:
                report["skipped"].append(f"{name} --help (needs {needs[0]})")
            elif rc != 0 or "usage" not in out.lower():
                report["problems"].append(f"{name} --help exited {rc}: {out.strip().splitlines()[-1:]}")
            else:
                report["help_ok"].append(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_install.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--prefix", required=True, type=Path, help="install prefix (colcon install base)")
    parser.add_argument("--site", action="append", type=Path, default=[],
                        help="Python install folder (default: those of a colcon isolated install under --prefix)")
    parser.add_argument("--package", action="append", default=[], help="top-level package (default: all found)")
    parser.add_argument("--source", type=Path, help="source folder whose Python packages must be installed whole")
    parser.add_argument("--run-help", action="store_true", help="run --help of the argparse console scripts")
    parser.add_argument("--optional", action="append", default=[],
                        help="third-party module that may be absent: what needs it is skipped, not a problem")
    parser.add_argument("--help-timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    prefix = args.prefix.resolve()
    if not prefix.is_dir():
        print(f"check_install.py: no such prefix {prefix}", file=sys.stderr)
        return 2
    sites = [s.resolve() for s in args.site] or site_dirs(prefix)
    if not sites:
        print(f"check_install.py: no Python install folder under {prefix}", file=sys.stderr)
        return 2
    disable_editable_finders()
    for s in reversed(sites):  # the install first (as its setup script would put it)
        if str(s) not in sys.path:
            sys.path.insert(0, str(s))
    packages = args.package or top_packages(sites)
    report = {"prefix": str(prefix), "packages": packages, "modules": [], "typesupport": 0, "entry_points": [],
              "help_ok": [], "missing_sources": [], "skipped": [], "problems": []}
    if args.source:
        report["missing_sources"] = missing_sources(args.source, sites)
        report["problems"] += [f"{f} is not installed (a folder without __init__.py?)"
                               for f in report["missing_sources"]]
    optional = set(args.optional)
    import_all(packages, prefix, report, optional)
    entry_points(prefix, sites, report, optional)
    if args.run_help:
        run_help(report, args.help_timeout, optional)
    for skipped in report["skipped"]:
        print(f"check_install.py: skipped {skipped}", file=sys.stderr)
    for problem in report["problems"]:
        print(f"check_install.py: {problem}", file=sys.stderr)
    print(f"{len(report['modules'])} modules, {len(report['entry_points'])} entry points, "
          f"{len(report['help_ok'])} --help, {len(report['skipped'])} skipped, "
          f"{len(report['problems'])} problems", file=sys.stderr)
    print("CHECK-INSTALL " + json.dumps(report))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
