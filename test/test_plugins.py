"""The plugin contract (grasp_bridge.plugins.Plugin, Nav2's lifecycle) as the nodes drive it.

Specification: camera sources, detector plugins and motion backends are
:class:`grasp_bridge.plugins.Plugin`s; the camera, detector and executor nodes call ``configure``
then ``activate`` while they are built and ``deactivate`` then ``cleanup`` in ``destroy_node``,
each once; a plugin whose ``configure`` raises ValueError is never activated, deactivated or
cleaned up, and the node's constructor raises that ValueError (``spin_node`` turns it into exit 2
with one line).
"""
from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")

from grasp_bridge.plugins import (  # noqa: E402
    Plugin,
    activate_plugin,
    configure_plugin,
    load_plugin,
    shutdown_plugin,
)
from grasp_camera.camera_node import CameraNode  # noqa: E402
from grasp_camera.sources import CameraSource, ReplaySource, TopicSource  # noqa: E402
from grasp_detector.detector_node import DetectorNode  # noqa: E402
from grasp_detector.detectors import DetectorPlugin, OnnxGenerativeDetector, OnnxSSDDetector  # noqa: E402
from grasp_executor.backends import BuiltinRosBackend, MotionBackendPlugin  # noqa: E402
from grasp_executor.executor_node import ExecutorNode  # noqa: E402
from grasp_executor.moveit_backend import MoveItPyBackend  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

CALLS: list[str] = []


class RecordingSource(CameraSource):
    fail = False

    def configure(self, node, name, emit):
        super().configure(node, name, emit)
        CALLS.append(f"configure {name}")
        if self.fail:
            raise ValueError("recording source: configured to fail")

    def activate(self):
        CALLS.append("activate")

    def deactivate(self):
        CALLS.append("deactivate")

    def cleanup(self):
        CALLS.append("cleanup")


class FailingSource(RecordingSource):
    fail = True


class RecordingDetector(DetectorPlugin):
    def configure(self, node, name, model):
        super().configure(node, name, model)
        CALLS.append(f"configure {name} {model}")

    def activate(self):
        assert not self.node.get_subscriptions_info_by_topic("/depth/image"), "activated after subscribing"
        CALLS.append("activate")

    def deactivate(self):
        CALLS.append("deactivate")

    def cleanup(self):
        CALLS.append("cleanup")

    @property
    def model_id(self):
        return "recording"

    def detect(self, *args):
        raise AssertionError("not called in this test")


class RecordingBackend(MotionBackendPlugin):
    def configure(self, node, name, config, safety, layout=None):
        super().configure(node, name, config, safety, layout)
        CALLS.append(f"configure {name} {type(config).__name__} {type(layout).__name__}")

    def activate(self):
        CALLS.append("activate")

    def deactivate(self):
        super().deactivate()
        CALLS.append(f"deactivate (stop requested: {self.safety.stop_reason})")

    def cleanup(self):
        CALLS.append("cleanup")


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=99)
    CALLS.clear()
    yield ctx
    rclpy.try_shutdown(context=ctx)


def test_every_plugin_kind_derives_from_the_one_contract():
    for cls in (CameraSource, TopicSource, ReplaySource, DetectorPlugin, OnnxGenerativeDetector, OnnxSSDDetector,
                MotionBackendPlugin, BuiltinRosBackend, MoveItPyBackend):
        assert issubclass(cls, Plugin)
        for hook in ("configure", "activate", "deactivate", "cleanup"):
            assert callable(getattr(cls, hook))
    assert load_plugin("grasp_camera.sources", "test_plugins:RecordingSource") is RecordingSource


def test_camera_node_drives_the_lifecycle_in_order(context):
    node = CameraNode(context=context, parameter_overrides=[
        Parameter("source", value="test_plugins:RecordingSource")])
    assert CALLS == ["configure test_plugins:RecordingSource", "activate"]
    assert node.source.state == "active" and node.source.node is node
    node.destroy_node()
    assert CALLS[2:] == ["deactivate", "cleanup"] and node.source.state == "unconfigured"


def test_detector_node_drives_the_lifecycle_in_order(context):
    node = DetectorNode(context=context, parameter_overrides=[
        Parameter("detector", value="test_plugins:RecordingDetector"), Parameter("model", value="m1")])
    assert CALLS == ["configure test_plugins:RecordingDetector m1", "activate"]
    node.destroy_node()
    assert CALLS[2:] == ["deactivate", "cleanup"]


def test_detector_node_refuses_a_queue_size_below_one_before_configuring_its_plugin(context):
    with pytest.raises(ValueError, match="queue_size must be >= 1, got 0"):
        DetectorNode(context=context, parameter_overrides=[
            Parameter("detector", value="test_plugins:RecordingDetector"), Parameter("queue_size", value=0)])
    assert CALLS == []


def test_executor_node_drives_the_backend_lifecycle_in_order(context):
    """configure (with the node's typed config and cell layout) → activate; at shutdown the
    backend's deactivate requests a stop of any running motion, then cleanup."""
    node = ExecutorNode(context=context, parameter_overrides=[
        Parameter("motion_backend", value="test_plugins:RecordingBackend")])
    assert CALLS == ["configure test_plugins:RecordingBackend ExecutorConfig CellLayout", "activate"]
    assert node.backend.state == "active"
    node.destroy_node()
    assert CALLS[2:] == ["deactivate (stop requested: executor shutting down)", "cleanup"]
    assert node.backend.state == "unconfigured"


def test_failed_configure_is_never_activated_or_cleaned_up(context):
    with pytest.raises(ValueError, match="configured to fail"):
        CameraNode(context=context, parameter_overrides=[Parameter("source", value="test_plugins:FailingSource")])
    assert CALLS == ["configure test_plugins:FailingSource"]


def test_lifecycle_helpers_follow_the_states():
    p = RecordingSource()
    CALLS.clear()
    activate_plugin(p)  # not configured: nothing
    shutdown_plugin(p)
    assert CALLS == [] and p.state == "unconfigured"
    configure_plugin(p, None, "src", print)
    activate_plugin(p)
    activate_plugin(p)  # once
    shutdown_plugin(p)
    shutdown_plugin(p)  # once
    shutdown_plugin(None)
    assert CALLS == ["configure src", "activate", "deactivate", "cleanup"]
