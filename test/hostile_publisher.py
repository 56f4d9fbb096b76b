"""A hostile publisher, run as its own process by the tests: malformed depth images and camera_info.

    python test/hostile_publisher.py --ros-args ... -- IMAGE_TOPIC INFO_TOPIC [IMAGE_TOPIC INFO_TOPIC ...]
    options (before the topics): --n N (pairs per target, default 60), --seed S, --stamp-base SEC

Each pair (image, camera_info) carries one stamp, so a stamp-pairing node sees every
combination: mislabelled bytes (32FC1 data labelled 16UC1 — the field failure that gave 5–6 m
grasps), unknown encodings, data/step/size that disagree, empty and huge-header messages,
all-NaN/all-zero depth, camera_info with NaN/inf/zero/negative intrinsics or zero size, tiny
valid images, random bytes. Waits (20 s at most) until every topic has a subscriber, publishes
(reliable, which best-effort subscribers also receive), prints ``STAMP_SEC NAME`` per pair and
``sent N``, and exits 0.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import rclpy
from sensor_msgs.msg import CameraInfo, Image

U32 = 2**32 - 1
W, H = 64, 48


def info(w: int, h: int, fx=50.0, fy=50.0, cx=None, cy=None) -> CameraInfo:
    m = CameraInfo(width=w, height=h)
    cx = (w - 1) / 2 if cx is None else cx
    cy = (h - 1) / 2 if cy is None else cy
    m.k = [float(fx), 0.0, float(cx), 0.0, float(fy), float(cy), 0.0, 0.0, 1.0]
    return m


def image(w: int, h: int, enc: str, step: int, data: bytes) -> Image:
    return Image(width=w, height=h, encoding=enc, step=step, data=data)


def cases(rng: np.random.Generator):
    """Yields (name, Image, CameraInfo), one of each kind per round, forever."""
    mm = rng.integers(300, 1500, (H, W)).astype(np.uint16)
    metres = (mm / 1000.0).astype(np.float32)
    while True:
        junk = rng.integers(0, 256, W * H * 4, dtype=np.uint8).tobytes()
        yield "float_as_16uc1", image(W, H, "16UC1", W * 4, metres.tobytes()), info(W, H)
        yield "16uc1_as_float", image(W // 2, H, "32FC1", W * 2, mm.tobytes()), info(W // 2, H)
        yield "unknown_encoding", image(W, H, rng.choice(["8UC1", "yuv422", "32FC3", "", "bgra8"]), W,
                                        junk[: W * H]), info(W, H)
        yield "short_data", image(W, H, "16UC1", W * 2, mm.tobytes()[:-7]), info(W, H)
        yield "long_data", image(W, H, "32FC1", W * 4, metres.tobytes() + b"\0" * 13), info(W, H)
        yield "step_too_small", image(W, H, "32FC1", W * 4 - 1, junk[: (W * 4 - 1) * H]), info(W, H)
        yield "empty", Image(), CameraInfo()
        yield "zero_width", image(0, H, "16UC1", 0, b""), info(W, H)
        yield "huge_header", image(U32, U32, "16UC1", U32, junk[:100]), info(W, H)
        yield "all_nan", image(W, H, "32FC1", W * 4, np.full((H, W), np.nan, np.float32).tobytes()), info(W, H)
        yield "all_zero", image(W, H, "16UC1", W * 2, bytes(W * H * 2)), info(W, H)
        yield "size_mismatch", image(W, H, "16UC1", W * 2, mm.tobytes()), info(W * 2, H * 2)
        yield "random_bytes", image(W, H, "32FC1", W * 4, junk[: W * H * 4]), info(W, H)
        for bad in (math.nan, math.inf, -math.inf, 0.0, -50.0):
            yield f"fx={bad}", image(W, H, "16UC1", W * 2, mm.tobytes()), info(W, H, fx=bad)
            yield f"cy={bad}", image(W, H, "16UC1", W * 2, mm.tobytes()), info(W, H, cy=bad)
        yield "info_zero_size", image(W, H, "16UC1", W * 2, mm.tobytes()), info(0, 0)
        yield "info_all_zero", image(W, H, "16UC1", W * 2, mm.tobytes()), CameraInfo(width=W, height=H)
        for w, h in ((1, 1), (2, 3), (5, 5), (3, 400)):  # tiny but valid
            yield f"tiny_{w}x{h}", image(w, h, "16UC1", w * 2, mm[:h, :w].tobytes() if h <= H
                                         else np.full((h, w), 700, np.uint16).tobytes()), info(w, h, cx=w / 2,
                                                                                                  cy=h / 2)


def main(argv: list[str]) -> int:
    ros_argv = argv
    argv = rclpy.utilities.remove_ros_args(argv)[1:]
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stamp-base", type=int, default=50000)
    p.add_argument("topics", nargs="+")
    a = p.parse_args(argv)
    pairs = list(zip(a.topics[::2], a.topics[1::2], strict=True))
    rclpy.init(args=ros_argv)
    node = rclpy.create_node("hostile_publisher")
    pubs = [(node.create_publisher(Image, it, 100), node.create_publisher(CameraInfo, ct, 100)) for it, ct in pairs]
    end = time.monotonic() + 20.0
    while time.monotonic() < end and not all(pi.get_subscription_count() and pc.get_subscription_count()
                                             for pi, pc in pubs):
        rclpy.spin_once(node, timeout_sec=0.1)
    gen = cases(np.random.default_rng(a.seed))
    sent = 0
    for i in range(a.n):
        name, img, inf = next(gen)
        img.header.stamp.sec = inf.header.stamp.sec = a.stamp_base + i
        img.header.frame_id = inf.header.frame_id = "camera_depth_optical_frame"
        for pi, pc in pubs:
            pc.publish(inf)
            pi.publish(img)
        sent += 1
        print(f"{a.stamp_base + i} {name}", flush=True)
        rclpy.spin_once(node, timeout_sec=0.02)
    time.sleep(0.5)  # let reliable delivery finish before the participant goes
    print(f"sent {sent}", flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
