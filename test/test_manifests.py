"""Package manifests against the code and the Docker image (fast; needs catkin_pkg, no ROS).

* every ``src/*/package.xml`` parses (catkin_pkg, as colcon and rosdep read it), format 3;
* every top-level import in a package's Python sources (its launch files included) and every package a
  launch file starts or includes is declared in that package's ``package.xml`` with its rosdep key;
* every rosdep key of every manifest resolves in the image: a workspace package, part of
  ``ros:<distro>-ros-base``, an apt package of ``docker/Dockerfile``, built from ``docker/robotiq.repos``,
  or a system key of the rosdep database (:data:`SYSTEM_KEYS`);
* every ``ros-${ROS_DISTRO}-*`` package the Dockerfile installs is used by some manifest.

Where the facts come from (checked when this file was written, rosdistro master of 2026-08):
rosdistro ``rosdep/python.yaml`` for the system keys, ``{jazzy,kilted}/distribution.yaml`` for the
released ROS packages (robotiq_driver, azure_kinect_ros_driver and kinect_ros2 are not released),
ros2/variants (jazzy) for what ``ros-base`` contains, Universal_Robots_ROS2_Driver's ``ur/package.xml``
for the ``ur`` metapackage.
"""
from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOCKER = ROOT / "docker"
PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "package.xml").is_file())

#: ROS Python modules we know of; an import outside this set, the standard library, the workspace and
#: THIRD_PARTY fails the test until it is classified here.
KNOWN_ROS = {
    "rclpy", "sensor_msgs", "geometry_msgs", "std_msgs", "std_srvs", "trajectory_msgs", "visualization_msgs",
    "rosgraph_msgs", "builtin_interfaces", "action_msgs", "tf2_ros", "control_msgs", "moveit", "moveit_msgs",
    "moveit_configs_utils", "launch", "launch_ros", "launch_pytest", "launch_testing", "ament_index_python",
    "rcl_interfaces", "ur_dashboard_msgs", "coal",
}
#: Python module -> rosdep key where they differ
MODULE_KEYS = {"moveit": "moveit_py"}
#: third-party Python modules -> rosdep key; None: no key (see PIP_ONLY / NOT_DECLARED)
THIRD_PARTY = {
    "numpy": "python3-numpy",
    "scipy": "python3-scipy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "tqdm": "python3-tqdm",
    "matplotlib": "python3-matplotlib",
    "sklearn": "python3-sklearn",
    "onnxruntime": "python3-onnxruntime-pip",
    "mujoco": "python3-mujoco-pip",
    "pytest": "python3-pytest",
    "ruckig": None,
    "torch": None,
    "torchvision": None,
    "triton": None,
    "onnx": None,
    "ray": None,
    "setuptools": None,
}
#: modules without a rosdep key that the image installs with pip (named in an XML comment of the manifest)
PIP_ONLY = {"ruckig"}
#: modules without a key that are deliberately not dependencies
NOT_DECLARED = {"torch": "training/export only", "torchvision": "training/export of nn.detseg only (dev profile)",
                "onnx": "export, quantisation and FLOP counting only (dev profile)",
                "ray": "optional scale-out of dataset generation (dev profile)",
                "setuptools": "build tool of every ament_python package",
                "triton": "only preloaded when torch's CUDA build brought it (grasp_core.preload_before_gl)"}

#: system rosdep keys used by the manifests -> what rosdep installs on Ubuntu (rosdistro rosdep/python.yaml)
SYSTEM_KEYS = {
    "python3-numpy": "apt python3-numpy",
    "python3-scipy": "apt python3-scipy",
    "python3-opencv": "apt python3-opencv",
    "python3-yaml": "apt python3-yaml",
    "python3-tqdm": "apt python3-tqdm",
    "python3-matplotlib": "apt python3-matplotlib",
    "python3-sklearn": "apt python3-sklearn",
    "python3-pytest": "apt python3-pytest",
    "python3-onnxruntime-pip": "pip onnxruntime",
    "python3-mujoco-pip": "pip mujoco",
}
#: ROS packages already in ros:<distro>-ros-base (ros2/variants ros_core + ros_base and their dependencies)
ROS_BASE = {
    "ament_cmake", "ament_index_python", "rclpy", "launch", "launch_ros", "launch_testing", "rosidl_default_generators",
    "rosidl_default_runtime", "builtin_interfaces", "action_msgs", "rosgraph_msgs", "std_msgs", "std_srvs",
    "geometry_msgs", "sensor_msgs", "trajectory_msgs", "visualization_msgs", "tf2_ros", "robot_state_publisher",
    "rcl_interfaces",
}
#: apt metapackages of the Dockerfile -> the rosdep keys they bring (ur/package.xml of the UR driver)
METAPACKAGES = {
    "ur": {"ur_robot_driver", "ur_moveit_config", "ur_controllers", "ur_calibration", "ur_dashboard_msgs"},
}
#: repositories of docker/robotiq.repos -> the ROS packages they hold
SOURCE_REPOS = {
    "ros2_robotiq_gripper": {"robotiq_description", "robotiq_controllers", "robotiq_driver", "robotiq_hardware_tests"},
    "serial": {"serial"},
}
#: drivers the launch file can start that have no release (no rosdep key): never declared
UNRELEASED = {"azure_kinect_ros_driver", "kinect_ros2"}
#: RViz plugin libraries -> the rosdep key that provides them (moveit_rviz_plugin: moveit_ros_visualization,
#: part of the moveit metapackage)
RVIZ_PLUGIN_KEYS = {"rviz_default_plugins": "rviz2", "rviz_common": "rviz2", "moveit_rviz_plugin": "moveit"}
#: executables a launch file runs by name -> their package
EXECUTABLES = {"xacro": "xacro"}
PACKAGE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _manifest(pkg: str):
    return parse_package(str(SRC / pkg))


def _names(deps) -> set[str]:
    return {d.name for d in deps}


def _all_keys(m) -> set[str]:
    return _names(m.build_depends + m.buildtool_depends + m.build_export_depends + m.buildtool_export_depends
                  + m.exec_depends + m.test_depends + m.doc_depends)


def _python_files(pkg: str) -> list[Path]:
    """The package's Python sources, following its symlinked folders (grasp_bringup's launch/)."""
    files = []
    for dirpath, dirnames, filenames in os.walk(SRC / pkg, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.endswith(".egg-info") and d not in ("__pycache__", "test")]
        files += [Path(dirpath) / f for f in filenames if f.endswith(".py")]
    return sorted(files)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _launch_references(path: Path) -> set[str]:
    """Packages a launch file starts (``Node(package=...)``), includes or looks up (``*share*``/``*include*``
    helpers with a literal package name) or runs by executable name (``xacro``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    refs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "package" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    refs.add(kw.value.value)
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if re.search(r"share|include|package", func, re.I) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                        and PACKAGE_NAME.fullmatch(first.value):
                    refs.add(first.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
            exe = node.value.split()[0]
            if exe in EXECUTABLES:
                refs.add(EXECUTABLES[exe])
    return refs


def _dockerfile_lines() -> list[str]:
    return [ln for ln in (DOCKER / "Dockerfile").read_text().splitlines() if not ln.strip().startswith("#")]


def _dockerfile_ros_apt() -> set[str]:
    """rosdep keys of the ros-${ROS_DISTRO}-* apt packages the Dockerfile installs."""
    text = "\n".join(_dockerfile_lines())
    return {m.replace("-", "_") for m in re.findall(r"ros-\$\{?ROS_DISTRO\}?-([a-z0-9][a-z0-9-]*)", text)}


def _source_packages() -> set[str]:
    repos = yaml.safe_load((DOCKER / "robotiq.repos").read_text())["repositories"]
    return set().union(*(SOURCE_REPOS[name] for name in repos))


def _classify(module: str, own: str) -> tuple[str, str | None]:
    """(kind, rosdep key) of a top-level module imported by package ``own``."""
    if module == own or module in sys.stdlib_module_names:
        return "skip", None
    if module in PACKAGES:
        return "workspace", module
    if module in THIRD_PARTY:
        return "third_party", THIRD_PARTY[module]
    if module in KNOWN_ROS:
        return "ros", MODULE_KEYS.get(module, module)
    return "unknown", None


# ---------------------------------------------------------------------------------------------------------

def test_workspace_has_packages():
    assert {"grasp_interfaces", "grasp_core", "grasp_bringup"} <= set(PACKAGES)


@pytest.mark.parametrize("pkg", PACKAGES)
def test_manifest_parses(pkg):
    m = _manifest(pkg)
    assert m.package_format == 3
    assert m.name == pkg
    build_types = [e.content for e in m.exports if e.tagname == "build_type"]
    expected = "ament_python" if (SRC / pkg / "setup.py").is_file() else "ament_cmake"
    assert build_types == [expected], f"{pkg}: <export><build_type> {build_types}, expected {expected}"


@pytest.mark.parametrize("pkg", PACKAGES)
def test_imports_declared(pkg):
    m = _manifest(pkg)
    declared = _names(m.exec_depends)
    raw = (SRC / pkg / "package.xml").read_text()
    comments = " ".join(re.findall(r"<!--(.*?)-->", raw, re.S))
    problems = []
    for path in _python_files(pkg):
        for module in sorted(_imports(path)):
            kind, key = _classify(module, pkg)
            where = f"{path.relative_to(ROOT)} imports {module}"
            if kind == "unknown":
                problems.append(f"{where}: unclassified module (add it to KNOWN_ROS or THIRD_PARTY)")
            elif key is not None and key not in declared:
                problems.append(f"{where}: <exec_depend>{key}</exec_depend> missing")
            elif kind == "third_party" and key is None and module in PIP_ONLY and module not in comments:
                problems.append(f"{where}: no rosdep key; say in an XML comment that pip installs it")
            elif kind == "third_party" and key is None and module not in PIP_ONLY | set(NOT_DECLARED):
                problems.append(f"{where}: no rosdep key and not classified")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("pkg", PACKAGES)
def test_launch_references_declared(pkg):
    declared = _names(_manifest(pkg).exec_depends)
    problems = []
    for path in _python_files(pkg):
        if not path.name.endswith(".launch.py"):
            continue
        for ref in sorted(_launch_references(path)):
            if ref == pkg or ref in UNRELEASED:
                continue
            if ref.startswith("grasp_") and ref not in PACKAGES:
                continue  # an optional workspace package not in this checkout: nothing to declare yet
            if ref not in declared:
                problems.append(f"{path.relative_to(ROOT)} uses package {ref}: <exec_depend>{ref}</exec_depend> "
                                f"missing in src/{pkg}/package.xml")
    assert not problems, "\n".join(problems)


def test_rviz_config():
    cfg = yaml.safe_load((ROOT / "config" / "ur5_grasp.rviz").read_text())
    vm = cfg["Visualization Manager"]
    assert vm["Global Options"]["Fixed Frame"] == "base_link"
    displays = vm["Displays"]
    classes = {d["Class"] for d in displays}
    assert {"rviz_default_plugins/RobotModel", "rviz_default_plugins/TF"} <= classes
    topics = {d["Class"]: set() for d in displays}
    for d in displays:
        if isinstance(d.get("Topic"), dict):
            topics[d["Class"]].add(d["Topic"]["Value"])
    assert "/grasp_candidates_markers" in topics["rviz_default_plugins/MarkerArray"]
    assert {"/grasp_detector/annotated", "/camera/camera/color/image_raw"} <= topics["rviz_default_plugins/Image"]
    declared = _names(_manifest("grasp_bringup").exec_depends)
    for cls in classes | {t["Class"] for t in vm["Tools"]}:
        lib = cls.split("/")[0]
        assert lib in RVIZ_PLUGIN_KEYS, f"RViz plugin library {lib} ({cls}) not mapped to a rosdep key"
        assert RVIZ_PLUGIN_KEYS[lib] in declared, f"{cls}: grasp_bringup must exec_depend on {RVIZ_PLUGIN_KEYS[lib]}"


def test_rosdep_keys_resolve_in_image():
    apt = _dockerfile_ros_apt()
    from_meta = set().union(*(members for meta, members in METAPACKAGES.items() if meta in apt))
    source = _source_packages()
    problems = []
    for pkg in PACKAGES:
        for key in sorted(_all_keys(_manifest(pkg))):
            if key in UNRELEASED:
                problems.append(f"{pkg}: {key} has no release and no rosdep key; do not declare it")
            elif not (key in PACKAGES or key in ROS_BASE or key in apt or key in from_meta or key in source
                      or key in SYSTEM_KEYS):
                problems.append(f"{pkg}: rosdep key {key} is neither a workspace package, in ros-base, installed "
                                f"by docker/Dockerfile, built from docker/robotiq.repos nor a known system key")
    assert not problems, "\n".join(problems)


def test_dockerfile_ros_packages_are_used():
    used = set().union(*(_all_keys(_manifest(pkg)) for pkg in PACKAGES))
    unused = []
    for key in sorted(_dockerfile_ros_apt()):
        if key in used or METAPACKAGES.get(key, set()) & used:
            continue
        unused.append(f"ros-$ROS_DISTRO-{key.replace('_', '-')}")
    assert not unused, f"docker/Dockerfile installs packages no manifest declares: {unused}"


def test_system_keys_used():
    used = set().union(*(_all_keys(_manifest(pkg)) for pkg in PACKAGES))
    assert set(SYSTEM_KEYS) <= used, f"stale SYSTEM_KEYS entries: {sorted(set(SYSTEM_KEYS) - used)}"


def test_dockerfile_build_steps():
    lines = _dockerfile_lines()
    text = "\n".join(lines)
    assert re.search(r"^ARG ROS_DISTRO=jazzy$", text, re.M)
    assert re.search(r"^FROM ros:\$\{ROS_DISTRO\}-ros-base$", text, re.M)
    assert "rosdep install --from-paths src" in text and "--ignore-src" in text
    assert "vcs import src < robotiq.repos" in text
    assert re.search(r"colcon build .*--metas colcon\.meta", text)
    pip_lines = " ".join(ln for ln in lines if "pip3 install" in ln)
    for module in PIP_ONLY:
        assert module in pip_lines, f"docker/Dockerfile must pip install {module} (no rosdep key)"
    assert "onnxruntime-gpu" in pip_lines and 'GPU}" = "1"' in text
    assert "--skip-keys python3-onnxruntime-pip" in text  # no CPU onnxruntime beside the GPU one


def test_robotiq_repos_pinned():
    repos = yaml.safe_load((DOCKER / "robotiq.repos").read_text())["repositories"]
    assert set(repos) <= set(SOURCE_REPOS)
    for name, repo in repos.items():
        assert repo["type"] == "git"
        version = str(repo["version"])
        assert re.fullmatch(r"[0-9a-f]{40}|v?\d+\.\d+\.\d+", version), f"{name}: version {version} is not pinned"


def test_compose_services():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    expected = {"real": ("sim:=none", "camera:=realsense", "robot_ip:="), "gazebo": ("sim:=gazebo", "camera:=sim"),
                "mujoco": ("sim:=mujoco", "camera:=sim")}
    for name, args in expected.items():
        command = services[name]["command"]
        assert command.startswith("ros2 launch grasp_bringup ur5_grasp.launch.py"), name
        for a in args:
            assert a in command, f"{name}: {a} missing from {command!r}"
        assert services[name]["network_mode"] == "host"
    gpu = [s for s in services.values() if "deploy" in s]
    assert gpu and gpu[0]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"


def test_colcon_meta():
    meta = json.loads((ROOT / "colcon.meta").read_text())
    names = meta["names"]
    assert "-DBUILD_TESTING=OFF" in names["grasp_interfaces"]["cmake-args"]
    for entry in names.values():
        assert set(entry) <= {"cmake-args", "ament-cmake-args", "catkin-cmake-args", "python-testing"}
