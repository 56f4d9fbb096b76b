"""The SROS2 policy (docker/sros2/grasp_stack.policy.xml) against the nodes' real endpoints.

Specification:
* the policy follows sros2's policy schema (``sros2/policy/schemas/policy.xsd``, version
  0.2.0): ``policy/enclaves/enclave[@path]/profiles/profile[@ns, @node]`` holding
  ``topics`` (publish/subscribe), ``services`` (reply/request), ``actions`` (execute/call),
  each qualifier ALLOW or DENY and each list non-empty;
* evaluated as sros2's permissions template does (names resolved against ns and node,
  DENY rules before ALLOW, default DENY, fnmatch wildcards): every publisher, subscription,
  service, client, action server and action client of the stack's nodes — read from the ROS
  graph of the real node processes, so a renamed topic fails here — is allowed in that node's
  enclave ``/grasp_stack/<node>``;
* who may command the robot: only the detector and the listed external publisher may publish
  ``/grasp_candidates``; only the executor may publish the trajectory topic, call the gripper
  and follow_joint_trajectory actions; nothing else may publish the camera node's output;
* ``create_keystore.sh`` creates the keystore and, for every enclave of the policy, the enclave
  and its permissions from the policy (checked with a recording ``ros2`` on PATH; with a real
  sros2 install, for real).
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import REPO, ProbeNode, build_tiny_model, wait_for

POLICY = REPO / "docker" / "sros2" / "grasp_stack.policy.xml"
SCRIPT = REPO / "docker" / "sros2" / "create_keystore.sh"
TRAJ = "/scaled_joint_trajectory_controller/joint_trajectory"
FJT = "/scaled_joint_trajectory_controller/follow_joint_trajectory"
GRIP = "/robotiq_gripper_controller/gripper_cmd"
#: list element → (item element, allowed qualifier attributes), from policy.xsd
LISTS = {"topics": ("topic", {"publish", "subscribe"}), "services": ("service", {"reply", "request"}),
         "actions": ("action", {"execute", "call"})}


def resolve(name: str, ns: str, node: str) -> str:
    """A policy name as sros2's permissions template resolves it: /abs, ~/node-relative, ns-relative."""
    ns = ns if ns.endswith("/") else ns + "/"
    if name.startswith("/"):
        return name
    if name.startswith("~"):
        return ns + node + name[1:]
    return ns + name


def load_policy() -> dict[str, dict[tuple[str, str], list[str]]]:
    """{enclave path: {(qualifier attribute, ALLOW|DENY): [resolved names]}}, after the schema checks."""
    root = ET.parse(POLICY).getroot()
    assert root.tag == "policy" and root.get("version") == "0.2.0"
    assert [c.tag for c in root] == ["enclaves"]
    rules: dict[str, dict[tuple[str, str], list[str]]] = {}
    for enclave in root.find("enclaves"):
        assert enclave.tag == "enclave" and enclave.get("path", "").startswith("/"), enclave.attrib
        assert enclave.get("path") not in rules, f"enclave {enclave.get('path')} twice"
        r = rules.setdefault(enclave.get("path"), {})
        profiles = list(enclave)
        assert profiles and all(p.tag == "profiles" for p in profiles)
        for plist in profiles:
            for profile in plist:
                assert profile.tag == "profile" and profile.get("ns") and profile.get("node"), profile.attrib
                for lst in profile:
                    assert lst.tag in LISTS, lst.tag
                    item, quals = LISTS[lst.tag]
                    assert lst.attrib and set(lst.attrib) <= quals, (lst.tag, lst.attrib)
                    assert set(lst.attrib.values()) <= {"ALLOW", "DENY"}, lst.attrib
                    names = [i.text.strip() for i in lst]
                    assert names and all(i.tag == item for i in lst), lst.tag
                    for qual, verdict in lst.attrib.items():
                        r.setdefault((qual, verdict), []).extend(
                            resolve(n, profile.get("ns"), profile.get("node")) for n in names)
    return rules


RULES = load_policy() if POLICY.is_file() else {}


def allowed(enclave: str, qual: str, name: str) -> bool:
    """DENY rules first, then ALLOW, default DENY (sros2's permissions.xsl; DDS fnmatch)."""
    r = RULES[enclave]
    if any(fnmatch.fnmatchcase(name, pat) for pat in r.get((qual, "DENY"), [])):
        return False
    return any(fnmatch.fnmatchcase(name, pat) for pat in r.get((qual, "ALLOW"), []))


def test_policy_file_follows_the_schema_and_has_an_enclave_per_node():
    assert POLICY.is_file()
    for node in ("grasp_camera", "grasp_detector", "grasp_executor", "grasp_sim", "grasp_shape_classifier",
                 "grasp_candidate_logger", "grasp_candidate_markers"):
        assert f"/grasp_stack/{node}" in RULES
    for extra in ("drivers", "observer", "operator", "external_grasp_publisher"):
        assert f"/grasp_stack/{extra}" in RULES


def test_only_the_executor_commands_the_robot_and_only_the_detector_publishes_candidates():
    def who(qual, name):
        return {e.rsplit("/", 1)[1] for e in RULES if allowed(e, qual, name)}

    assert who("publish", "/grasp_candidates") == {"grasp_detector", "external_grasp_publisher"}
    # every controller the launch file can give the executor (MuJoCo/UR driver, Gazebo; Robotiq under /robotiq)
    for controller in ("scaled_joint_trajectory_controller", "joint_trajectory_controller"):
        assert who("publish", f"/{controller}/joint_trajectory") == {"grasp_executor"}
        assert who("call", f"/{controller}/follow_joint_trajectory") == {"grasp_executor"}
    for gripper in (GRIP, "/robotiq" + GRIP):
        assert who("call", gripper) == {"grasp_executor"}
    assert who("call", "/grasp_executor/pick") == {"operator"}
    assert who("request", "/grasp_executor/arm") == {"operator"}  # arming: the operator only
    assert who("publish", "/depth/image") == who("publish", "/depth/camera_info") == {"grasp_camera"}
    assert who("publish", "/depth/image_unfilled") == {"grasp_camera"}
    assert who("publish", "/grasp_candidates_labelled") == {"grasp_shape_classifier"}
    assert allowed("/grasp_stack/drivers", "execute", GRIP)  # the Robotiq driver serves the action
    assert allowed("/grasp_stack/drivers", "subscribe", TRAJ)  # the controller follows it
    assert not allowed("/grasp_stack/observer", "request", "/grasp_executor/set_parameters")


NODES = {  # node name → (module, extra ROS arguments); the model is added for the detector
    "grasp_camera": ("grasp_camera.camera_node", ["-p", "source:=topic"]),
    "grasp_detector": ("grasp_detector.detector_node", []),
    "grasp_candidate_logger": ("grasp_bringup.candidate_logger", []),
    "grasp_candidate_markers": ("grasp_bringup.candidate_markers", []),
    "grasp_sim": ("grasp_sim.sim_node", []),
    "grasp_executor": ("grasp_executor.executor_node", []),
    "grasp_shape_classifier": ("grasp_shape.shape_node", []),
    "grasp_candidate_adapter": ("grasp_executor.candidate_adapter", []),
}


#: nodes a process creates beside its main node → that process's enclave
IN_PROCESS = {"grasp_executor_joint_states": "grasp_executor"}
#: nodes that run in another node's enclave: the adapter is the external publishers' gateway
ENCLAVE_OF = {**IN_PROCESS, "grasp_candidate_adapter": "external_grasp_publisher"}


def _endpoints(node, name: str) -> dict[str, set[str]]:
    from rclpy.action import graph

    def names(f):
        return {n for n, _ in f(name, "/") if "/_action/" not in n}  # action internals: checked as actions

    return {
        "publish": names(node.get_publisher_names_and_types_by_node),
        "subscribe": names(node.get_subscriber_names_and_types_by_node),
        "reply": names(node.get_service_names_and_types_by_node),
        "request": names(node.get_client_names_and_types_by_node),
        "execute": {n for n, _ in graph.get_action_server_names_and_types_by_node(node, name, "/")},
        "call": {n for n, _ in graph.get_action_client_names_and_types_by_node(node, name, "/")},
    }


@pytest.mark.ros
def test_every_endpoint_of_the_real_nodes_is_allowed(repo_root, spawn_node, domain_id, tmp_path):
    pytest.importorskip("rclpy")
    pytest.importorskip("grasp_sim.sim_node")
    model = build_tiny_model(tmp_path / "model")
    wanted = dict(NODES)
    try:
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        wanted.pop("grasp_shape_classifier")  # optional extra; its node needs PyTorch + scikit-learn
    cfg = str(repo_root / "config" / "grasp.yaml")
    procs = {}
    for name, (module, extra) in wanted.items():
        args = ["--params-file", cfg, *extra] + (["-p", f"model:={model}"] if name == "grasp_detector" else [])
        procs[name] = spawn_node(module, args)
    probe = ProbeNode(domain_id, "policy_probe")
    try:
        def all_up():
            probe.spin(0.1)
            up = {n for n, _ in probe.node.get_node_names_and_namespaces()}
            dead = [n for n, p in procs.items() if not p.alive()]
            assert not dead, "\n".join(f"{n}:\n{procs[n].stderr()}" for n in dead)
            return set(wanted) <= up

        assert wait_for(all_up, 60.0), {n: p.stderr()[-2000:] for n, p in procs.items()}
        seen: dict[str, dict[str, set[str]]] = {}

        def stable():  # the graph settles: two equal readings 1 s apart
            nonlocal seen
            for _ in range(10):
                probe.spin(0.1)
            now = {n: _endpoints(probe.node, n) for n in [*wanted, *IN_PROCESS]}
            same, seen = now == seen, now
            return same

        assert wait_for(stable, 30.0)
    finally:
        probe.close()
    problems = []
    for name, kinds in seen.items():
        enclave = f"/grasp_stack/{ENCLAVE_OF.get(name, name)}"
        assert kinds["publish"] and kinds["reply"], f"{name}: no endpoints seen"
        for qual, names in kinds.items():
            problems += [f"{name}: {qual} {n}" for n in sorted(names) if not allowed(enclave, qual, n)]
    assert not problems, (f"endpoints not allowed by {POLICY.relative_to(REPO)} (add them to the node's "
                          f"enclave):\n" + "\n".join(problems))
    assert "/grasp_candidates" in seen["grasp_detector"]["publish"]
    assert TRAJ in seen["grasp_executor"]["publish"] and GRIP in seen["grasp_executor"]["call"]


def test_create_keystore_makes_every_enclave_with_its_permissions(tmp_path):
    calls = tmp_path / "calls"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ros2").write_text(f'#!/usr/bin/env bash\necho "$*" >> "{calls}"\n'
                               'if [ "$2" = create_keystore ]; then mkdir -p "$3/public"; fi\n')
    (fake / "ros2").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    ks = tmp_path / "keystore"
    out = subprocess.run(["bash", str(SCRIPT), str(ks)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = calls.read_text().splitlines()
    assert lines[0] == f"security create_keystore {ks}"
    want = []
    for enclave in RULES:
        want += [f"security create_enclave {ks} {enclave}", f"security create_permission {ks} {enclave} {POLICY}"]
    assert lines[1:] == want
    env["PATH"] = f"{tmp_path / 'empty'}:/usr/bin:/bin"  # no ros2: one line, exit 2
    out = subprocess.run(["bash", str(SCRIPT), str(ks)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_create_keystore_with_real_sros2(tmp_path):
    ros2 = shutil.which("ros2")
    if ros2 is None or subprocess.run([ros2, "security", "-h"], capture_output=True).returncode != 0:
        pytest.skip("no ros2 CLI with sros2 here (full ROS 2 installs and the Docker image have it)")
    ks = tmp_path / "keystore"
    out = subprocess.run(["bash", str(SCRIPT), str(ks)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for enclave in RULES:
        d = ks / "enclaves" / enclave.lstrip("/")
        assert (d / "permissions.p7s").is_file() and (d / "cert.pem").is_file(), enclave
    executor = (ks / "enclaves" / "grasp_stack" / "grasp_executor" / "permissions.xml").read_text()
    assert f"rt{TRAJ}" in executor and "<default>DENY</default>" in executor


@pytest.mark.parametrize("preset", [None, "SUBNET"])
def test_run_sh_keeps_discovery_on_this_host_unless_the_user_set_it(preset):
    env = {k: v for k, v in os.environ.items() if k != "ROS_AUTOMATIC_DISCOVERY_RANGE"}
    if preset:
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = preset
    out = subprocess.run(["bash", str(REPO / "run.sh"), "--help"], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "ROS_AUTOMATIC_DISCOVERY_RANGE" in line]
    assert len(lines) == 1, out.stderr
    assert f"ROS_AUTOMATIC_DISCOVERY_RANGE={preset or 'LOCALHOST'}" in lines[0]


def test_compose_enforces_security_and_the_launch_file_names_policy_enclaves():
    import re

    import yaml

    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
    for name, svc in compose["services"].items():
        if name == "sros2-keystore":
            continue
        env = svc.get("environment", {})
        assert env.get("ROS_SECURITY_STRATEGY") == "Enforce", name
        assert any("sros2_keystore" in v for v in svc.get("volumes", [])), name
    text = (REPO / "launch" / "ur5_grasp.launch.py").read_text()
    used = set(re.findall(r'enclave\("([a-z_]+)"\)', text))
    assert {"grasp_sim", "grasp_camera", "grasp_detector", "grasp_executor", "drivers", "observer"} <= used
    assert not [e for e in used if f"/grasp_stack/{e}" not in RULES], used
    # every Node of the launch file runs in an enclave
    assert text.count("Node(ros_arguments=enclave(") == len(re.findall(r"\bNode\(", text))
