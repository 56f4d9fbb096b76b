"""Non-editable installs: a wheel of grasp_core, and ``colcon build`` WITHOUT ``--symlink-install``.

The workspace this suite otherwise runs against is a symlink install and ``.venv`` has grasp_core
editable, so a source file the packaging leaves out (a folder without ``__init__.py``, which
``find_packages()`` skips) goes unnoticed there — but the Docker image builds without
``--symlink-install``, and a wheel is what pip users get. Here every package is installed the way
they are, into a temporary prefix, and then, from that prefix only (the venv's editable finder
switched off, the workspace off the path):

* every ``.py`` file of each package's source tree is installed (wheel and colcon install);
* every module found by walking the installed tree (``pkgutil.walk_packages``, no list kept here)
  imports, from the prefix; grasp_interfaces' message types load their C type support;
* every entry point (console scripts, plugins) resolves, each console script's wrapper is
  installed, and the command-line tools (argparse) answer ``--help`` with exit status 0.

SLOW (marked ``slow``): about a minute in all, most of it grasp_interfaces' message generation
in the colcon build (about 40 s on two cores).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PYTHON_PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "setup.py").is_file())
ALL_PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "package.xml").is_file())
VENV = Path(sys.prefix)
SITE = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"

pytestmark = pytest.mark.slow

#: run in the child: import every module under the given installed packages from the prefix
CHECKER = r"""
import importlib, importlib.metadata as md, inspect, json, pkgutil, sys, traceback
prefix, sites, packages = sys.argv[1], sys.argv[2].split(":"), sys.argv[3].split(":")

def _editable(obj):
    mod = obj.__module__ if isinstance(obj, type) else type(obj).__module__
    return mod.startswith("__editable__")

# the venv's editable grasp_core (a .pth meta-path finder) would fill in what the install lacks
sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
sys.path_importer_cache.clear()

report = {"modules": [], "errors": [], "outside": [], "entry_points": [], "typesupport": 0}
def fail(name, exc):
    report["errors"].append(f"{name}: {type(exc).__name__}: {exc}")

def check(mod):
    report["modules"].append(mod.__name__)
    where = getattr(mod, "__file__", None) or ""
    if not where.startswith(prefix):
        report["outside"].append(f"{mod.__name__} from {where or list(getattr(mod, '__path__', []))}")
    for obj in list(vars(mod).values()):  # generated interfaces: load the C type support
        meta = type(obj)
        if isinstance(obj, type) and hasattr(meta, "__import_type_support__") \
                and getattr(obj, "__module__", "") == mod.__name__:
            meta.__import_type_support__()
            report["typesupport"] += 1

for package in packages:
    try:
        top = importlib.import_module(package)
    except Exception as exc:
        fail(package, exc)
        continue
    check(top)
    for info in pkgutil.walk_packages(top.__path__, package + ".", onerror=lambda n: fail(n, sys.exc_info()[1])):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        try:
            check(importlib.import_module(info.name))
        except Exception as exc:
            fail(info.name, exc)

for dist in md.distributions(path=sites):
    for ep in dist.entry_points:
        try:
            target = ep.load()
        except Exception as exc:
            fail(f"entry point {ep.group}:{ep.name}", exc)
            continue
        module = sys.modules[ep.module]
        cli = ep.group == "console_scripts" and "argparse" in inspect.getsource(module)
        report["entry_points"].append({"dist": dist.metadata["Name"], "group": ep.group, "name": ep.name,
                                       "callable": callable(target), "cli": cli})
print("CHECKER-REPORT " + json.dumps(report))
"""


def _clean_env() -> dict[str, str]:
    """The venv without the repository's workspace: what a fresh shell with only the venv has."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "MUJOCO_GL", "PYOPENGL_PLATFORM", "ROS_DOMAIN_ID",
            "ROS_AUTOMATIC_DISCOVERY_RANGE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PATH=f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin", VIRTUAL_ENV=str(VENV),
               AMENT_PREFIX_PATH=str(VENV), CMAKE_PREFIX_PATH=str(VENV), PYTHONUNBUFFERED="1")
    env.setdefault("MUJOCO_GL", "egl")
    return env


def _source(setup: Path, env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f'set +u; . "{setup}"; env -0'], env=env, capture_output=True,
                         check=True).stdout
    return dict(kv.split("=", 1) for kv in out.decode().split("\0") if "=" in kv)


def _run_checker(prefix: Path, sites: list[Path], packages: list[str], env: dict[str, str], cwd: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHECKER, str(prefix), ":".join(map(str, sites)),
                           ":".join(packages)], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("CHECKER-REPORT ")]
    assert proc.returncode == 0 and lines, f"checker failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1].split(" ", 1)[1])


def _source_files(package: str) -> set[str]:
    """The package's Python files relative to its source folder (``grasp_core/synth/scene.py``, ...)."""
    base = SRC / package
    return {str(p.relative_to(base)) for p in (base / package).rglob("*.py") if "__pycache__" not in p.parts}


def _assert_clean(report: dict, packages: list[str]) -> None:
    assert not report["errors"], "\n".join(report["errors"])
    assert not report["outside"], "imported from outside the install:\n" + "\n".join(report["outside"])
    assert set(packages) <= set(report["modules"])
    assert all(ep["callable"] for ep in report["entry_points"]), report["entry_points"]


@pytest.fixture(scope="module")
def colcon_install(tmp_path_factory) -> Path:
    """``colcon build`` of all of src/ without --symlink-install into a temporary build/install base."""
    if shutil.which("colcon", path=str(VENV / "bin")) is None:
        pytest.skip("colcon is not installed in this environment (./test.sh sets it up)")
    base = tmp_path_factory.mktemp("colcon")
    proc = subprocess.run(
        ["colcon", "--log-base", str(base / "log"), "build", "--base-paths", str(SRC),
         "--build-base", str(base / "build"), "--install-base", str(base / "install"),
         "--metas", str(ROOT / "colcon.meta"), "--event-handlers", "console_cohesion-", "summary-", "status-"],
        cwd=base, env=_clean_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"colcon build failed:\n{(proc.stdout + proc.stderr)[-4000:]}"
    return base / "install"


def test_colcon_install_has_every_source_file(colcon_install):
    assert sorted(p.name for p in colcon_install.iterdir() if (p / "share").is_dir()) == ALL_PACKAGES
    for package in PYTHON_PACKAGES:
        site = colcon_install / package / SITE
        installed = {str(p.relative_to(site)) for p in (site / package).rglob("*.py")}
        missing = _source_files(package) - installed
        assert not missing, f"{package}: not installed (a folder without __init__.py?): {sorted(missing)}"


def test_colcon_install_imports_every_module_and_entry_point(colcon_install, tmp_path):
    env = _source(colcon_install / "setup.bash", _clean_env())
    sites = [colcon_install / p / SITE for p in ALL_PACKAGES]
    report = _run_checker(colcon_install, sites, ALL_PACKAGES, env, tmp_path)
    _assert_clean(report, ALL_PACKAGES)
    assert report["typesupport"] > 0  # grasp_interfaces' messages, services and actions
    for package in PYTHON_PACKAGES:  # every source module was walked (none hidden from pkgutil)
        expected = {f.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for f in _source_files(package)}
        assert expected - {"__main__"} <= set(report["modules"]), sorted(expected - set(report["modules"]))

    scripts = [ep for ep in report["entry_points"] if ep["group"] == "console_scripts"]
    assert {ep["dist"].replace("-", "_") for ep in scripts} >= {"grasp_core", "grasp_sim", "grasp_executor"}

    def wrapper(ep) -> Path:
        package = ep["dist"].replace("-", "_")
        found = [p for p in (colcon_install / package / "lib" / package / ep["name"],
                             colcon_install / package / "bin" / ep["name"]) if p.is_file()]
        assert found, f"console script {ep['name']} of {package} is not installed"
        return found[0]

    def help_of(ep) -> tuple[str, int, str]:
        proc = subprocess.run([sys.executable, str(wrapper(ep)), "--help"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=180)
        return ep["name"], proc.returncode, proc.stdout + proc.stderr[-2000:]

    for ep in scripts:
        wrapper(ep)
    clis = [ep for ep in scripts if ep["cli"]]
    assert clis
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, rc, out in pool.map(help_of, clis):
            assert rc == 0 and "usage" in out.lower(), f"{name} --help exited {rc}:\n{out}"


def test_grasp_core_wheel_has_and_imports_every_module(tmp_path):
    """The pip path's package: ``pip wheel`` (non-editable), installed with --target, imported from there."""
    work = tmp_path / "grasp_core"
    shutil.copytree(SRC / "grasp_core", work,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "dist"))
    env = dict(_clean_env(), PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(work)], env=env, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("grasp_core-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _source_files("grasp_core") - names
    assert not missing, f"the wheel lacks {sorted(missing)}"

    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], env=env, check=True, capture_output=True, timeout=300)
    report = _run_checker(target, [target], ["grasp_core"], dict(env, PYTHONPATH=str(target)), tmp_path)
    _assert_clean(report, ["grasp_core"])
    expected = {f.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for f in _source_files("grasp_core")}
    assert expected <= set(report["modules"]), sorted(expected - set(report["modules"]))
    assert {ep["name"] for ep in report["entry_points"] if ep["group"] == "console_scripts"} >= {"grasp-detect"}
