"""The executor's depth input for the collision check: a driver's 16UC1 millimetres are metres to it, holes
are inpainted before the check, and an image of another kind is refused with one line (ExecutorNode in this process,
messages as a driver sends them)."""
from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")

from grasp_bridge.camera_info import intrinsics_to_camera_info  # noqa: E402
from grasp_bridge.image import numpy_to_image  # noqa: E402
from grasp_core.camera import CameraIntrinsics  # noqa: E402
from grasp_executor.executor_node import ExecutorNode  # noqa: E402
from std_msgs.msg import Header  # noqa: E402


@pytest.fixture
def node():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=98)
    n = ExecutorNode(context=ctx)
    yield n
    n.destroy_node()
    rclpy.try_shutdown(context=ctx)


def _header(sec: int) -> Header:
    h = Header(frame_id="camera_depth_optical_frame")
    h.stamp.sec = sec
    return h


def test_16uc1_millimetres_give_the_same_collision_map_as_32fc1_metres(node):
    intr = CameraIntrinsics.default_for(160, 120)
    node.on_info(intrinsics_to_camera_info(intr, _header(1)))
    mm = np.full((120, 160), 700, np.uint16)  # a table 0.7 m away, a box 0.2 m nearer
    mm[40:80, 60:100] = 500
    mm[0, 0] = 0  # no return
    node.on_depth(numpy_to_image(mm, "16UC1", _header(1)))
    node.on_depth(numpy_to_image(mm.astype(np.float32) / 1000, "32FC1", _header(2)))
    from_mm, why = node.depth.collision_map(1.0, node.frames.t_base)
    from_m, why2 = node.depth.collision_map(2.0, node.frames.t_base)
    assert from_mm is not None and from_m is not None, (why, why2)
    assert len(from_mm) == len(from_m) > 0  # not every pixel a hole beyond max_depth
    assert np.allclose(from_mm.points, from_m.points, atol=1e-6)


def test_a_label_image_on_the_depth_topic_is_refused(node, caplog):
    intr = CameraIntrinsics.default_for(160, 120)
    node.on_info(intrinsics_to_camera_info(intr, _header(1)))
    node.on_depth(numpy_to_image(np.zeros((120, 160), np.uint8), "mono8", _header(3)))
    dmap, why = node.depth.collision_map(3.0, node.frames.t_base)
    assert dmap is None and "no depth image with the candidates' stamp" in why


def test_holes_are_inpainted_before_the_collision_check(node):
    """depth/image_unfilled has holes: the executor inpaints the image it checks against, so the box whose top
    is a hole still stands in the collision map (without, a hole would be free space); all holes: unusable."""
    from grasp_core import motion

    intr = CameraIntrinsics.default_for(160, 120)
    node.on_info(intrinsics_to_camera_info(intr, _header(1)))
    m = np.full((120, 160), 0.7, np.float32)
    m[40:80, 60:100] = 0.5  # a box 0.2 m above the table
    holey = m.copy()
    holey[50:70, 70:90] = np.nan  # most of its top unseen
    node.on_depth(numpy_to_image(holey, "32FC1", _header(4)))
    node.on_depth(numpy_to_image(np.full((120, 160), np.nan, np.float32), "32FC1", _header(5)))
    checked, why = node.depth.collision_map(4.0, node.frames.t_base)
    assert checked is not None, why
    t = node.frames.t_base("camera_depth_optical_frame")
    full = motion.DepthCollisionMap.from_depth(m, intr, t)
    raw = motion.DepthCollisionMap.from_depth(holey, intr, t)
    assert len(checked) == len(full) > len(raw)  # the map's cells: the hole's are back
    assert np.allclose(np.sort(checked.points, axis=0), np.sort(full.points, axis=0), atol=1e-3)  # the box's top
    none, why = node.depth.collision_map(5.0, node.frames.t_base)
    assert none is None and "unusable" in why
