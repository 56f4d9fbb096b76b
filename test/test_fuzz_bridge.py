"""Property-based fuzzing of grasp_bridge's message → numpy conversions (hypothesis).

Specification, for any ``sensor_msgs/Image`` (any encoding string incl. unknown ones, any
width/height/step, any data length and bytes, either byte order) and any ``CameraInfo``:

* :func:`grasp_bridge.image.image_to_numpy` either returns an array of exactly the shape
  and dtype of the encoding's table row, holding the message's bytes (never reinterpreted:
  ``step // width`` is the encoding's bytes per pixel and the data is ``height · step``
  bytes), or raises ``ValueError``; never another exception;
* :func:`grasp_bridge.camera_info.camera_info_to_intrinsics` either returns intrinsics whose
  size, fx, fy, cx, cy are finite and > 0 and equal the message's, or raises ``ValueError``;
* :func:`grasp_bridge.image.numpy_to_image` round-trips any array it accepts and raises
  ``ValueError`` for every other array;
* :func:`grasp_core.camera.load_camera_info_yaml` reads any file as intrinsics that pass
  the same checks, or raises ``ValueError``.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

pytest.importorskip("sensor_msgs.msg")
hypothesis = pytest.importorskip("hypothesis")

from grasp_bridge.camera_info import camera_info_to_intrinsics, intrinsics_to_camera_info  # noqa: E402
from grasp_bridge.image import IMAGE_ENCODINGS, image_to_numpy, numpy_to_image  # noqa: E402
from grasp_core.camera import load_camera_info_yaml  # noqa: E402
from grasp_core.depth import depth_to_metres  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

#: known encodings, near misses and ones the stack does not support
ENCODINGS = sorted(IMAGE_ENCODINGS) + ["8UC1", "mono8", "16SC1", "32FC3", "64FC1", "yuv422", "bayer_rggb8",
                                       "RGB8", "16uc1", "", "rgba8", "8UC3", "32SC1", "\u00e9"]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

U32 = 2**32 - 1


@st.composite
def images(draw) -> Image:
    """An Image whose layout is consistent for its encoding, mislabelled, or random; data exact or not."""
    enc = draw(st.sampled_from(ENCODINGS))
    w = draw(st.integers(0, 24) | st.sampled_from([1, 640, U32]))
    h = draw(st.integers(0, 24) | st.sampled_from([1, 480, U32]))
    bpp = IMAGE_ENCODINGS[enc][1] * IMAGE_ENCODINGS[enc][0].itemsize if enc in IMAGE_ENCODINGS else 1
    pad = draw(st.integers(0, 8))
    layout = draw(st.sampled_from(["consistent", "mislabelled", "short", "random"]))
    if layout == "consistent":
        step = w * bpp + pad
    elif layout == "mislabelled":  # bytes of another encoding (1..12 bytes per pixel) under this label
        step = w * draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12])) + pad
    elif layout == "short":
        step = w * bpp - 1
    else:
        step = draw(st.integers(0, 200) | st.just(U32))
    step = min(max(step, 0), U32)
    size = h * step
    length = draw(st.sampled_from(["exact", "exact", "short", "long", "random"])) if size <= 4000 else "random"
    n = {"exact": size, "short": size - 1, "long": size + 1}.get(length) if length != "random" \
        else draw(st.integers(0, 600))
    n = max(n, 0)
    data = draw(st.binary(min_size=n, max_size=n)) if n <= 600 else bytes(n)
    return Image(height=h, width=w, step=step, encoding=enc, is_bigendian=draw(st.booleans()), data=data)


@FUZZ
@given(images())
def test_image_to_numpy_returns_the_right_array_or_value_error(msg):
    try:
        arr = image_to_numpy(msg)
    except ValueError:
        return
    dtype, ch = IMAGE_ENCODINGS[msg.encoding]
    bpp = ch * dtype.itemsize
    assert arr.shape == ((msg.height, msg.width) if ch == 1 else (msg.height, msg.width, ch))
    assert arr.dtype == dtype
    assert msg.step // msg.width == bpp and len(msg.data) == msg.height * msg.step  # bytes not reinterpreted
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)[:, : msg.width * bpp]
    want = rows.copy().view(dtype.newbyteorder(">" if msg.is_bigendian else "<")).reshape(arr.shape)
    np.testing.assert_array_equal(arr, want.astype(dtype))
    if msg.encoding in ("16UC1", "mono16", "32FC1"):  # the nodes' next step takes it, finite or NaN
        depth = depth_to_metres(arr, msg.encoding)
        assert depth.shape == (msg.height, msg.width) and depth.dtype == np.float32
        assert not np.isinf(depth).any() and (np.isnan(depth) | ((depth >= 0.05) & (depth <= 10.0))).all()


@pytest.mark.parametrize("width", [1, 7, 640])
def test_32fc1_bytes_labelled_16uc1_are_rejected(width):
    """The field failure: float metres read as padded millimetre rows gave 5–6 m grasps."""
    depth = np.full((4, width), 0.7, np.float32)
    msg = numpy_to_image(depth, "32FC1")
    msg.encoding = "16UC1"
    with pytest.raises(ValueError, match="bytes per pixel"):
        image_to_numpy(msg)
    msg = numpy_to_image(depth.view(np.uint16)[:, ::2].copy(), "16UC1")  # 16-bit data labelled 32FC1
    msg.encoding = "32FC1"
    with pytest.raises(ValueError):
        image_to_numpy(msg)


DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64, np.int32, np.bool_]


@FUZZ
@given(st.sampled_from(ENCODINGS), st.sampled_from(DTYPES),
       st.lists(st.integers(0, 6), min_size=0, max_size=4), st.booleans())
def test_numpy_to_image_round_trips_or_value_error(encoding, dtype, shape, big):
    a = np.arange(int(np.prod(shape)) if shape else 1, dtype=np.float64).reshape(shape).astype(dtype)
    if big:
        a = a.astype(a.dtype.newbyteorder(">"))
    try:
        msg = numpy_to_image(a, encoding)
    except ValueError:
        return
    assert msg.is_bigendian == (sys.byteorder == "big" and a.dtype.itemsize > 1)
    try:
        back = image_to_numpy(msg)
    except ValueError as exc:  # only empty arrays are refused on the way back
        assert 0 in a.shape, exc
        return
    np.testing.assert_array_equal(back, a.reshape(back.shape))


FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e3, 2e3) | st.sampled_from([0.0, -0.0, 525.0])


@st.composite
def camera_infos(draw) -> CameraInfo:
    msg = CameraInfo(width=draw(st.integers(0, 5000) | st.just(U32)), height=draw(st.integers(0, 5000)))
    if draw(st.booleans()):  # a plausible K with some entries replaced
        k = [525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0]
        for i in draw(st.lists(st.sampled_from([0, 2, 4, 5]), max_size=3)):
            k[i] = draw(FLOATS)
    else:
        k = draw(st.lists(FLOATS, min_size=9, max_size=9))
    msg.k = k
    msg.header.frame_id = draw(st.sampled_from(["", "camera_depth_optical_frame"]))
    return msg


def _assert_usable(intr, w, h):
    assert (intr.width, intr.height) == (w, h)
    for v in (intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy):
        assert math.isfinite(v) and v > 0, intr


@FUZZ
@given(camera_infos())
def test_camera_info_to_intrinsics_is_usable_or_value_error(msg):
    try:
        intr = camera_info_to_intrinsics(msg)
    except ValueError:
        return
    _assert_usable(intr, msg.width, msg.height)
    assert (intr.fx, intr.fy, intr.cx, intr.cy) == (msg.k[0], msg.k[4], msg.k[2], msg.k[5])
    assert intr.frame_id == (msg.header.frame_id or "camera_depth_optical_frame")
    assert camera_info_to_intrinsics(intrinsics_to_camera_info(intr)) == intr


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -525.0])
@pytest.mark.parametrize("index", [0, 2, 4, 5])  # fx, cx, fy, cy
def test_camera_info_rejects_non_finite_or_non_positive_intrinsics(index, bad):
    msg = CameraInfo(width=640, height=480, k=[525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0])
    k = list(msg.k)
    k[index] = bad
    msg.k = k
    with pytest.raises(ValueError, match="finite and > 0"):
        camera_info_to_intrinsics(msg, "/depth/camera_info")


YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 5000), FLOATS, st.text(max_size=8))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=200),
    st.fixed_dictionaries({"image_width": YAML_SCALARS, "image_height": YAML_SCALARS,
                           "camera_matrix": st.fixed_dictionaries({"data": st.lists(YAML_SCALARS, max_size=10)})}),
    st.fixed_dictionaries({"image_width": st.integers(1, 5000), "image_height": st.integers(1, 5000),
                           "camera_matrix": st.fixed_dictionaries(
                               {"data": st.lists(FLOATS, min_size=9, max_size=9)})}),
))
def test_camera_info_yaml_is_usable_or_value_error(tmp_path, content):
    import yaml

    p = tmp_path / "info.yaml"
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(yaml.safe_dump(content))
    try:
        intr = load_camera_info_yaml(p)
    except ValueError:
        return
    _assert_usable(intr, intr.width, intr.height)
