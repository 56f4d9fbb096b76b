"""One typed configuration: config/grasp.yaml, the config dataclasses and the nodes' parameters agree.

* every node section of the YAML has exactly the fields of its dataclass, with the same values as
  the field defaults (so a node started without the file behaves as with it);
* the library defaults derived from them (ValidationConfig, MotionLimits, PickConfig) equal them;
* the nodes declare exactly these parameters (built in this process with the YAML), read-only
  unless the field says ``live``;
* wrong types and unknown keys are refused with the key's name.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import yaml

from grasp_core import config as gc
from grasp_core import motion


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


@pytest.fixture(scope="module")
def yaml_params(repo_root):
    data = yaml.safe_load((repo_root / "config" / "grasp.yaml").read_text())
    return {k: v["ros__parameters"] for k, v in data.items() if isinstance(v, dict) and "ros__parameters" in v
            and not k.startswith("/")}


def test_every_node_section_has_a_dataclass(yaml_params):
    assert set(yaml_params) == set(gc.SECTIONS)


@pytest.mark.parametrize("node", sorted(gc.SECTIONS))
def test_yaml_keys_and_values_equal_the_fields(yaml_params, node):
    cls = gc.SECTIONS[node]
    fields = {k: d for k, (d, _f) in gc.flat_fields(cls).items()}
    in_yaml = _flatten(yaml_params[node])
    assert set(in_yaml) == set(fields), (set(in_yaml) ^ set(fields))
    for k, v in in_yaml.items():
        want = list(fields[k]) if isinstance(fields[k], tuple) else fields[k]
        assert v == want, f"{node}.{k}: YAML {v!r} != field default {want!r}"
    # and the loader gives the same object as the defaults
    assert gc.from_dict(cls, yaml_params[node]) == cls()


def test_library_defaults_equal_the_yaml():
    ex = gc.ExecutorConfig()
    lib = motion.ValidationConfig()
    derived = ex.validation_config()
    for f in dataclasses.fields(motion.ValidationConfig):
        if f.name in ("cell", "fingers", "limits", "gripper"):  # objects, not parameters
            continue
        assert getattr(lib, f.name) == getattr(derived, f.name), f.name
    limits = ex.motion_limits()
    assert float(np.min(limits.max_velocity)) == pytest.approx(ex.builtin.speed_scale * math.pi)  # ur_description
    assert ex.pick_config().close_effort == ex.grip_effort


def test_wrong_types_and_unknown_keys_are_refused_with_the_key():
    with pytest.raises(ValueError, match="max_age_s"):
        gc.from_dict(gc.ExecutorConfig, {"max_age_s": "soon"})
    with pytest.raises(ValueError, match="builtin.max_joint_velocty"):
        gc.from_dict(gc.ExecutorConfig, {"builtin": {"max_joint_velocty": 1.0}})
    with pytest.raises(ValueError, match="auto"):
        gc.from_dict(gc.ExecutorConfig, {"auto": 1})  # an int is not a bool
    with pytest.raises(ValueError, match="workspace_min"):
        gc.from_dict(gc.ExecutorConfig, {"workspace_min": [0.9, 0.0, 0.0]})
    assert gc.from_dict(gc.ExecutorConfig, {"max_age_s": 2}).max_age_s == 2.0  # ints are numbers


def _declared(node) -> dict:
    return {name: p for name, p in node._parameters.items()  # rclpy's own, and the cell layout (test_layout)
            if name not in ("use_sim_time", "start_type_description_service")
            and not name.startswith("cell.")}


def _node_classes():
    from grasp_bringup.candidate_logger import CandidateLogger
    from grasp_camera.camera_node import CameraNode
    from grasp_detector.detector_node import DetectorNode
    from grasp_executor.candidate_adapter import CandidateAdapter
    from grasp_executor.executor_node import ExecutorNode
    from grasp_sim.sim_node import SimNode

    out = [(gc.ExecutorConfig, ExecutorNode), (gc.CandidateAdapterConfig, CandidateAdapter),
           (gc.SimConfig, SimNode), (gc.CandidateLoggerConfig, CandidateLogger),
           (gc.CameraConfig, CameraNode), (gc.DetectorConfig, DetectorNode)]
    try:
        import sklearn  # noqa: F401
        import torch  # noqa: F401
        from grasp_shape.shape_node import ShapeClassifierNode

        out.append((gc.ShapeClassifierConfig, ShapeClassifierNode))
    except ImportError:  # the runtime profile has no torch: the shape node cannot start there
        pass
    return out


@pytest.mark.ros
def test_nodes_declare_exactly_the_fields_read_only(repo_root, domain_id, tmp_path):
    import rclpy

    rclpy.init(args=["--ros-args", "--params-file", str(repo_root / "config" / "grasp.yaml"),
                     "-p", f"grasp_candidate_logger:output_dir:={tmp_path}",
                     "-p", f"grasp_shape_classifier:state_file:={tmp_path / 'state'}",
                     "-p", "grasp_camera:source:=topic"], domain_id=domain_id)
    nodes = []
    try:
        for cls, node_cls in _node_classes():
            node = node_cls()
            nodes.append(node)
            declared = _declared(node)
            # plugin sections: only the active plugin's are declared (camera: topic, detector: onnx_generative)
            inactive = {"grasp_camera": ("replay.",)}.get(node.get_name(), ())
            fields = {k: v for k, v in gc.flat_fields(cls).items() if not k.startswith(inactive)}
            assert set(declared) == set(fields), set(declared) ^ set(fields)
            for name, (_default, f) in fields.items():
                desc = node.describe_parameter(name)
                assert desc.read_only == (not f.metadata.get("live", False)), name
            got = gc.from_flat(cls, {k: declared[k].value for k in declared})
            assert got == dataclasses.replace(cls(), **{k: getattr(got, k) for k in ("output_dir", "state_file",
                                                                                      "source") if hasattr(got, k)})
    finally:
        for n in nodes:
            n.destroy_node()
        rclpy.try_shutdown()
