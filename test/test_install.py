"""Non-editable installs: a wheel of grasp_core, and ``colcon build`` WITHOUT ``--symlink-install``.

The workspace this suite otherwise runs against is a symlink install and ``.venv`` has grasp_core
editable, so a source file the packaging leaves out (a folder without ``__init__.py``, which
``find_packages()`` skips) goes unnoticed there — but the Docker image builds without
``--symlink-install``, and a wheel is what pip users get. Here all of src/ is built the way the
image builds it, into a temporary build/install base, and grasp_core is built as a wheel; then
docker/check_install.py — the check the image runs after its own build — runs from that prefix
alone (the venv's editable finder off, the workspace off the path):

* every ``.py`` file of each package's source tree is installed (wheel and colcon install);
* every module found by walking the installed tree (``pkgutil.walk_packages``: no module list is
  kept here) imports, from the prefix; grasp_interfaces' types load their C type support;
* every entry point (console scripts, plugins) loads, each console script's wrapper is installed,
  and the argparse tools answer ``--help``.

SLOW (marked ``slow``): 1-2 min, nearly all of it the colcon build (grasp_interfaces' message
generation: about 40 s on two idle cores, 2 min when they are busy).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PYTHON_PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "setup.py").is_file())
ALL_PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "package.xml").is_file())
VENV = Path(sys.prefix)
SITE = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"

pytestmark = pytest.mark.slow

CHECKER = ROOT / "docker" / "check_install.py"  # the Docker image runs the same check after its build


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


def _run_checker(env: dict[str, str], cwd: Path, *args: str) -> dict:
    """docker/check_install.py in ``env``; its report (it must exit 0: problems are listed if not)."""
    proc = subprocess.run([sys.executable, str(CHECKER), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("CHECK-INSTALL ")]
    assert proc.returncode == 0 and lines, f"check_install.py exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1].split(" ", 1)[1])


def _source_files(package: str) -> set[str]:
    """The package's Python files relative to its source folder (``grasp_core/synth/scene.py``, ...)."""
    base = SRC / package
    return {str(p.relative_to(base)) for p in (base / package).rglob("*.py") if "__pycache__" not in p.parts}


def _module_names(package: str) -> set[str]:
    return {f.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for f in _source_files(package)}


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
    report = _run_checker(env, tmp_path, "--prefix", str(colcon_install), "--source", str(SRC), "--run-help")
    assert report["packages"] == ALL_PACKAGES
    assert report["typesupport"] > 0  # grasp_interfaces' messages, services and actions
    for package in PYTHON_PACKAGES:  # every source module was walked and imported (none hidden from pkgutil)
        missing = _module_names(package) - {"__main__"} - set(report["modules"])
        assert not missing, sorted(missing)
    scripts = [ep for ep in report["entry_points"] if ep["group"] == "console_scripts"]
    assert {ep["dist"].replace("-", "_") for ep in scripts} >= {"grasp_core", "grasp_sim", "grasp_executor"}
    assert all(Path(ep["wrapper"]).is_relative_to(colcon_install) for ep in scripts)
    clis = {ep["name"] for ep in scripts if ep["cli"]}
    assert clis and set(report["help_ok"]) == clis  # each argparse tool answered --help


def test_grasp_core_wheel_has_and_imports_every_module(tmp_path):
    """The pip path's package: ``pip wheel`` (non-editable), installed with --target, imported from there."""
    work = tmp_path / "grasp_core"
    shutil.copytree(SRC / "grasp_core", work,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "dist"))
    env = dict(_clean_env(), PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(work)], env=env, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("grasp_core-*.whl")
    missing = _source_files("grasp_core") - set(zipfile.ZipFile(wheel).namelist())
    assert not missing, f"the wheel lacks {sorted(missing)}"

    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], env=env, check=True, capture_output=True, timeout=300)
    report = _run_checker(dict(env, PYTHONPATH=str(target)), tmp_path, "--prefix", str(target), "--site",
                          str(target))
    assert report["packages"] == ["grasp_core"]
    assert not _module_names("grasp_core") - set(report["modules"])
    assert {ep["name"] for ep in report["entry_points"] if ep["group"] == "console_scripts"} >= {"grasp-detect"}
