"""``sensor_msgs/Image`` ↔ numpy without cv_bridge.

Supported encodings and their arrays:

=========  ===========  ===============  ===================================
encoding   numpy dtype  shape            meaning (ROS conventions)
=========  ===========  ===============  ===================================
16UC1      uint16       (H, W)           depth in millimetres, 0 = no return
mono16     uint16       (H, W)           as 16UC1
mono8      uint8        (H, W)           a label image (the detector's ~/class_map), not depth
32FC1      float32      (H, W)           depth in metres, NaN/0 = no return
rgb8       uint8        (H, W, 3)        colour, R G B order
bgr8       uint8        (H, W, 3)        colour, B G R order (OpenCV)
=========  ===========  ===============  ===================================

Row padding and big-endian data (``is_bigendian``) are honoured on input;
output rows are tightly packed, in the machine's byte order (``is_bigendian``
set to match). Bytes are never reinterpreted: an image whose ``step`` implies
another pixel size than its encoding's (e.g. 32FC1 rows labelled 16UC1, which
would otherwise read as padded rows of half-floats-as-millimetres) is
rejected, so row padding must be less than one byte per pixel
(``step // width`` = bytes per pixel).
"""
from __future__ import annotations

import array as pyarray
import sys

import numpy as np
from sensor_msgs.msg import Image

#: encoding → (numpy dtype, channels)
IMAGE_ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "16UC1": (np.dtype(np.uint16), 1),
    "mono8": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
}

_HOST_BIG = sys.byteorder == "big"


def image_to_numpy(msg: Image, copy: bool = True) -> np.ndarray:
    """Decode a ``sensor_msgs/Image`` into a numpy array (native byte order).

    Args:
        msg: the image; ``encoding`` one of :data:`IMAGE_ENCODINGS`.
        copy: True: an array of its own. False: a view of ``msg.data`` (no copy) when the
            rows are tightly packed and in the machine's byte order, else a copy; for callers
            that only read it while the message lives (e.g. :func:`grasp_core.depth.depth_to_metres`,
            which copies anyway), so the frame is copied once, not twice.

    Returns:
        (H, W) array for one-channel encodings, (H, W, 3) for rgb8/bgr8, with
        the dtype in the table of the module docstring.

    Raises:
        ValueError: unsupported encoding; empty image (zero width/height or no data);
            ``step`` smaller than a row, or ``step // width`` ≠ the encoding's bytes per
            pixel (the data is of another encoding than its label); data length ≠ height · step.
    """
    enc = msg.encoding
    if enc not in IMAGE_ENCODINGS:
        raise ValueError(f"unsupported image encoding {enc!r}; expected one of {sorted(IMAGE_ENCODINGS)}")
    dtype, ch = IMAGE_ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = msg.data
    n = len(data)
    if h == 0 or w == 0 or n == 0:
        raise ValueError(f"empty image ({w}x{h}, {n} bytes of data)")
    bpp = ch * dtype.itemsize
    row = w * bpp
    if step < row:
        raise ValueError(f"step {step} is smaller than a {enc} row of {w} px ({row} bytes)")
    if step // w != bpp:
        raise ValueError(f"step {step} for {w} px is {step // w} bytes per pixel but {enc} has {bpp}: "
                         f"the data is not {enc}")
    if n != h * step:
        raise ValueError(f"data length {n} != height*step = {h}*{step} = {h * step}")
    try:
        buf = np.frombuffer(data, dtype=np.uint8)  # bytes, array.array('B') (rclpy), memoryview
    except TypeError:
        buf = np.asarray(data, dtype=np.uint8)  # a list of ints
    rows = buf.reshape(h, step)[:, :row]
    dt = dtype.newbyteorder(">" if msg.is_bigendian else "<") if dtype.itemsize > 1 else dtype
    arr = np.ascontiguousarray(rows).view(dt).reshape((h, w) if ch == 1 else (h, w, ch))
    return arr.astype(dtype, copy=copy)  # native byte order; copy=False: a view when that is already so


def numpy_to_image(array: np.ndarray, encoding: str, header=None) -> Image:
    """Encode a numpy array as a ``sensor_msgs/Image`` (tightly packed rows, native byte order).

    Args:
        array: (H, W) or (H, W, 1) for 16UC1/mono8/mono16/32FC1, (H, W, 3) for rgb8/bgr8;
            its dtype must match the encoding (see the module docstring).
        encoding: one of :data:`IMAGE_ENCODINGS`.
        header: optional ``std_msgs/Header`` copied into the message.

    Raises:
        ValueError: unsupported encoding, or dtype/shape that disagree with it.
    """
    if encoding not in IMAGE_ENCODINGS:
        raise ValueError(f"unsupported image encoding {encoding!r}; expected one of {sorted(IMAGE_ENCODINGS)}")
    dtype, ch = IMAGE_ENCODINGS[encoding]
    a = np.asarray(array)
    if ch == 1 and a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    want = 2 if ch == 1 else 3
    if a.ndim != want or (ch == 3 and a.shape[2] != 3):
        raise ValueError(f"{encoding} needs shape {'(H, W)' if ch == 1 else '(H, W, 3)'}, got {a.shape}")
    if a.dtype != dtype:
        raise ValueError(f"{encoding} needs {dtype} data, got {a.dtype}")
    a = np.ascontiguousarray(a, dtype=dtype.newbyteorder("="))
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(a.shape[0]), int(a.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = bool(_HOST_BIG and dtype.itemsize > 1)
    msg.step = int(a.shape[1] * ch * dtype.itemsize)
    data = pyarray.array("B")
    data.frombytes(memoryview(a).cast("B"))  # one copy, straight into the message's array (not via bytes)
    msg.data = data
    return msg
