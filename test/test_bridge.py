"""grasp_bridge: numpy ↔ sensor_msgs/Image, CameraInfo ↔ CameraIntrinsics, Detection → GraspCandidateArray."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

pytest.importorskip("sensor_msgs.msg")
grasp_interfaces = pytest.importorskip("grasp_interfaces.msg")

from grasp_bridge.camera_info import camera_info_to_intrinsics, intrinsics_to_camera_info  # noqa: E402
from grasp_bridge.candidates import detection_to_msg  # noqa: E402
from grasp_bridge.image import image_to_numpy, numpy_to_image  # noqa: E402
from grasp_bridge.sync import StampSynchronizer  # noqa: E402
from grasp_core.camera import (  # noqa: E402
    CameraInfoError,
    CameraIntrinsics,
    grasp_to_pose,  # noqa: E402
)
from grasp_core.depth import CropTransform  # noqa: E402
from grasp_core.grasp import Grasp  # noqa: E402
from grasp_core.inference import Detection  # noqa: E402
from grasp_core.postprocess import GraspMaps  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

RNG = np.random.default_rng(0)
SAMPLES = {
    "16UC1": RNG.integers(0, 65535, (5, 7), dtype=np.uint16),
    "mono16": RNG.integers(0, 65535, (5, 7), dtype=np.uint16),
    "32FC1": RNG.normal(0.7, 0.1, (5, 7)).astype(np.float32),
    "rgb8": RNG.integers(0, 255, (5, 7, 3), dtype=np.uint8),
    "bgr8": RNG.integers(0, 255, (5, 7, 3), dtype=np.uint8),
}


@pytest.mark.parametrize("encoding", sorted(SAMPLES))
def test_image_round_trip(encoding):
    header = Header(frame_id="camera_depth_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = numpy_to_image(SAMPLES[encoding], encoding, header)
    assert (msg.height, msg.width, msg.encoding) == (5, 7, encoding)
    assert msg.step * msg.height == len(msg.data)
    assert msg.header.frame_id == "camera_depth_optical_frame" and msg.header.stamp.nanosec == 345
    back = image_to_numpy(msg)
    assert back.dtype == SAMPLES[encoding].dtype
    np.testing.assert_array_equal(back, SAMPLES[encoding])


def test_nan_survives_32fc1():
    a = np.full((3, 4), np.nan, np.float32)
    a[1, 2] = 0.5
    back = image_to_numpy(numpy_to_image(a, "32FC1"))
    assert np.isnan(back).sum() == 11 and back[1, 2] == np.float32(0.5)


def _raw_image(arr: np.ndarray, encoding: str, pad: int = 0, big: bool = False) -> Image:
    """An Image with ``pad`` bytes of row padding and the given byte order, built by hand."""
    a = arr.astype(arr.dtype.newbyteorder(">" if big else "<"))
    rows = a.reshape(a.shape[0], -1).view(np.uint8)
    rows = np.hstack([rows, np.full((a.shape[0], pad), 0xAB, np.uint8)])
    msg = Image(height=a.shape[0], width=a.shape[1], encoding=encoding, is_bigendian=big, step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("encoding", ["16UC1", "32FC1", "rgb8"])
def test_image_step_padding_and_byte_order(encoding, big):
    msg = _raw_image(SAMPLES[encoding], encoding, pad=6, big=big)
    np.testing.assert_array_equal(image_to_numpy(msg), SAMPLES[encoding])


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1", "rgb8"])
def test_image_to_numpy_view_shares_the_message_bytes(encoding):
    msg = numpy_to_image(SAMPLES[encoding], encoding)
    view, copy = image_to_numpy(msg, copy=False), image_to_numpy(msg)
    data = np.frombuffer(msg.data, np.uint8)
    assert np.shares_memory(view, data) and not np.shares_memory(copy, data)
    np.testing.assert_array_equal(view, SAMPLES[encoding])
    assert view.dtype == SAMPLES[encoding].dtype


@pytest.mark.parametrize("pad,big", [(6, False), (0, True)])
def test_image_to_numpy_without_copy_still_copies_what_a_view_cannot_be(pad, big):
    msg = _raw_image(SAMPLES["32FC1"], "32FC1", pad=pad, big=big)
    out = image_to_numpy(msg, copy=False)
    assert not np.shares_memory(out, np.frombuffer(msg.data, np.uint8))
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, SAMPLES["32FC1"])


def test_stage_clock_and_durations_tile_the_interval():
    from grasp_bridge.timings import StageClock, stage_durations

    clock = StageClock(True, 1_000, "read")
    clock.mark("converted", 1_500)
    clock.mark("published")
    assert clock.events == ["read", "converted", "published"] and clock.t_ns[-1] > 1_500
    header = Header(frame_id="f")
    header.stamp.sec, header.stamp.nanosec = 3, 4
    msg = clock.to_msg(header)
    assert list(msg.events) == clock.events and list(msg.t_ns) == clock.t_ns and msg.header.stamp.sec == 3
    d = stage_durations(400, msg.events, msg.t_ns)
    assert list(d) == ["read", "converted", "published"]
    assert d["read"] == pytest.approx(600e-9) and d["converted"] == pytest.approx(500e-9)
    assert sum(d.values()) == pytest.approx((clock.t_ns[-1] - 400) * 1e-9)
    off = StageClock(False, 1_000)
    off.mark("x")
    assert off.events == [] and off.t_ns == []
    with pytest.raises(ValueError, match="2 events but 1"):
        stage_durations(0, ["a", "b"], [1])


def test_numpy_to_image_native_byte_order():
    msg = numpy_to_image(SAMPLES["16UC1"], "16UC1")
    assert msg.is_bigendian == (sys.byteorder == "big")


@pytest.mark.parametrize("mutate, match", [
    (lambda m: setattr(m, "encoding", "8UC1"), "unsupported image encoding"),
    (lambda m: setattr(m, "encoding", "yuv422"), "unsupported image encoding"),
    (lambda m: setattr(m, "data", bytes(m.data)[:-1]), "data length"),
    (lambda m: setattr(m, "step", m.step - 1), "step"),
    (lambda m: setattr(m, "height", m.height + 1), "data length"),
    (lambda m: setattr(m, "data", b""), "empty"),
    (lambda m: setattr(m, "width", 0), "empty"),
])
def test_image_to_numpy_rejects_bad_messages(mutate, match):
    msg = numpy_to_image(SAMPLES["16UC1"], "16UC1")
    mutate(msg)
    with pytest.raises(ValueError, match=match):
        image_to_numpy(msg)


@pytest.mark.parametrize("array, encoding", [
    (np.zeros((4, 4), np.float64), "32FC1"),
    (np.zeros((4, 4), np.uint8), "16UC1"),
    (np.zeros((4, 4), np.uint8), "rgb8"),
    (np.zeros((4, 4, 3), np.uint16), "16UC1"),
    (np.zeros((4, 4), np.uint8), "8UC1"),
])
def test_numpy_to_image_rejects_mismatch(array, encoding):
    with pytest.raises(ValueError):
        numpy_to_image(array, encoding)


def test_camera_info_round_trip():
    intr = CameraIntrinsics(640, 480, 615.5, 616.25, 321.0, 238.5, "camera_depth_optical_frame")
    msg = intrinsics_to_camera_info(intr)
    assert msg.header.frame_id == "camera_depth_optical_frame" and msg.distortion_model == "plumb_bob"
    assert camera_info_to_intrinsics(msg) == intr
    assert list(msg.p)[:3] == [615.5, 0.0, 321.0]


def test_camera_info_rejects_uncalibrated():
    with pytest.raises(CameraInfoError):
        camera_info_to_intrinsics(CameraInfo(width=640, height=480))  # K all zeros
    msg = intrinsics_to_camera_info(CameraIntrinsics.default_for(640, 480))
    msg.width = 0
    with pytest.raises(CameraInfoError):
        camera_info_to_intrinsics(msg)


def _detection(intr: CameraIntrinsics) -> Detection:
    grasps = [Grasp(300.0, 200.0, 0.3, 40.0, 20.0, 0.9), Grasp(10.0, 20.0, -1.0, 30.0, 15.0, 0.4)]
    depths = np.array([0.62, np.nan])
    poses = [grasp_to_pose(intr, grasps[0], 0.62), None]
    maps = GraspMaps(*(np.zeros((4, 4), np.float32) for _ in range(3)))
    return Detection(grasps, depths, poses, maps, CropTransform.centre((480, 640), 300, 300))


def test_detection_to_msg_fills_every_field():
    intr = CameraIntrinsics.default_for(640, 480)
    det = _detection(intr)
    header = Header(frame_id="camera_depth_optical_frame")
    header.stamp.sec = 7
    msg = detection_to_msg(det, header, 640, 480, "tiny")
    assert (msg.image_width, msg.image_height, msg.header.stamp.sec) == (640, 480, 7)
    assert msg.header.frame_id == "camera_depth_optical_frame"
    a, b = msg.candidates
    assert a.pose_valid and not b.pose_valid
    assert a.pose.position.z == pytest.approx(0.62) and a.depth == pytest.approx(0.62)
    q = [a.pose.orientation.x, a.pose.orientation.y, a.pose.orientation.z, a.pose.orientation.w]
    np.testing.assert_allclose(q, det.poses[0].quaternion, atol=1e-7)
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert a.opening == pytest.approx(det.poses[0].opening, rel=1e-6) and a.opening > 0
    assert (a.center_u, a.center_v, a.width_px, a.length_px) == (300.0, 200.0, 40.0, 20.0)
    assert a.angle == pytest.approx(0.3) and a.quality == pytest.approx(0.9) and a.model_id == "tiny"
    assert math.isnan(b.depth) and math.isnan(b.opening) and b.pose.orientation.w == 1.0


def test_stamp_synchronizer_pairs_by_exact_stamp():
    class M:
        def __init__(self, sec, tag):
            self.header = Header()
            self.header.stamp.sec, self.tag = sec, tag

    got = []
    sync = StampSynchronizer(2, lambda a, b: got.append((a.tag, b.tag)), queue_size=3)
    sync.add(0, M(1, "img1"))
    sync.add(1, M(2, "info2"))
    assert not got
    assert sync.add(0, M(2, "img2"))
    assert got == [("img2", "info2")]
    sync.add(1, M(1, "info1"))  # older than a completed set: dropped earlier, now waits alone
    for s in range(3, 8):
        sync.add(0, M(s, f"img{s}"))
    assert len(sync._pending) == 3  # bounded
