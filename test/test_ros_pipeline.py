"""The camera and detector nodes as separate OS processes talking over DDS.

Specification:
* camera (replay of generated frames: a table plane with boxes) → detector →
  ``/grasp_candidates`` with finite, consistent fields: header = the depth image's
  stamp and optical frame, pose z = ``depth`` = the measured depth of the published
  depth image at (center_u, center_v), rectangle centre inside the image,
  quality in [0, 1];
* the detector drops unusable input (all-NaN, wrong encoding, size disagreeing
  with camera_info, empty message), logs each cause once, stays alive and serves
  the next good frame.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("grasp_interfaces.msg")

from conftest import FrameFeeder, ProbeNode, wait_for  # noqa: E402
from grasp_bridge.camera_info import intrinsics_to_camera_info  # noqa: E402
from grasp_bridge.image import image_to_numpy, numpy_to_image  # noqa: E402
from grasp_bridge.qos import result_qos, sensor_qos  # noqa: E402
from grasp_bridge.stamps import stamp_s  # noqa: E402
from grasp_bridge.sync import stamp_key  # noqa: E402
from grasp_bringup.synthetic import table_scene, write_frames  # noqa: E402
from grasp_core.camera import CameraIntrinsics  # noqa: E402
from grasp_core.inference import measured_depth  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from grasp_interfaces.msg import GraspCandidateArray  # noqa: E402

pytestmark = pytest.mark.ros
W, H = 640, 480


class Probe(ProbeNode):
    """The test's own ROS node in its own context and domain."""

    def __init__(self, domain_id: int) -> None:
        super().__init__(domain_id, "probe")
        self.candidates: list[GraspCandidateArray] = []
        self.depth: dict[tuple[int, int], Image] = {}
        self.node.create_subscription(GraspCandidateArray, "/grasp_candidates", self.candidates.append, result_qos())

    def listen_depth(self, topic: str = "/depth/image") -> None:
        self.node.create_subscription(Image, topic, lambda m: self.depth.__setitem__(
            stamp_key(m.header.stamp), m), sensor_qos(20))


@pytest.fixture
def probe(domain_id):
    p = Probe(domain_id)
    yield p
    p.close()


def detector_args(repo_root, model: str) -> list[str]:
    return ["--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", f"model:={model}",
            "-p", "quality_threshold:=0.0", "-p", "publish_annotated:=false", "--log-level", "grasp_detector:=debug"]


@pytest.mark.parametrize("wiring", ["stack", "inpainted"])
def test_camera_to_detector_over_dds(repo_root, spawn_node, probe, test_model, tmp_path, wiring):
    """The detector on the camera's depth: as the stack wires it (``depth/image`` remapped to the camera's
    ``depth/image_unfilled``, :func:`grasp_bringup.launch_params.detector_remappings`: holes reach the
    detector, which inpaints its crop) and on the inpainted ``depth/image``; candidates, poses and depths
    against the image the detector read."""
    from grasp_bringup.launch_params import detector_remappings, remap_args

    frames = tmp_path / "frames"
    info_yaml = write_frames(frames, n=3, width=W, height=H, seed=3)
    camera = spawn_node("grasp_camera.camera_node", [
        "--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "source:=replay",
        "-p", f"replay.folder:={frames}", "-p", f"replay.intrinsics:={info_yaml}",
        "-p", "replay.rate_hz:=5.0", "-p", "replay.loop:=true"])
    remaps = detector_remappings(repo_root / "config" / "grasp.yaml") if wiring == "stack" else []
    assert (remaps == [("depth/image", "depth/image_unfilled")]) == (wiring == "stack")
    detector = spawn_node("grasp_detector.detector_node", detector_args(repo_root, test_model)
                          + remap_args(remaps))
    probe.listen_depth("/depth/image_unfilled" if remaps else "/depth/image")

    def matched():
        return any(stamp_key(c.header.stamp) in probe.depth and c.candidates for c in probe.candidates)

    ok = wait_for(matched, 40.0, spin=probe.spin)
    readers = {i.node_name for i in probe.node.get_subscriptions_info_by_topic(
        "/depth/image_unfilled" if remaps else "/depth/image")}
    assert "grasp_detector" in readers, readers  # the detector reads the topic of its wiring
    assert ok, (f"no candidates matched to a depth image (got {len(probe.candidates)} candidate msgs, "
                f"{len(probe.depth)} depth images)\ncamera:\n{camera.stderr()}\ndetector:\n{detector.stderr()}")
    intr = CameraIntrinsics(*_intrinsics(info_yaml))
    checked = 0
    for msg in probe.candidates:
        img = probe.depth.get(stamp_key(msg.header.stamp))
        if img is None or not msg.candidates:
            continue
        depth = image_to_numpy(img)
        assert img.encoding == "32FC1"
        if remaps:  # the generated frames' 1 % holes, NaN (REP 118)
            assert 0.001 < np.isnan(depth).mean() < 0.05  # (measured_depth skips them)
        else:
            assert np.isfinite(depth).all()  # inpainted metres
        assert msg.header.frame_id == img.header.frame_id == "camera_depth_optical_frame"
        assert (msg.image_width, msg.image_height) == (W, H)
        assert 1 <= len(msg.candidates) <= 5
        qualities = [c.quality for c in msg.candidates]
        assert qualities == sorted(qualities, reverse=True)
        for c in msg.candidates:
            assert 0.0 <= c.quality <= 1.0
            assert 0 <= c.center_u < W and 0 <= c.center_v < H
            # the card's name: the tiny test network's, or the peer's when it is named directly
            assert c.model_id == (Path(test_model).stem if test_model.endswith((".json", ".onnx")) else test_model)
            assert -math.pi / 2 < c.angle <= math.pi / 2 + 1e-6
            assert c.width_px > 0 and c.length_px > 0
            assert c.pose_valid
            vals = [c.pose.position.x, c.pose.position.y, c.pose.position.z, c.opening, c.depth]
            assert all(math.isfinite(v) for v in vals)
            z = measured_depth(depth, c.center_u, c.center_v)
            assert c.depth == pytest.approx(z, abs=1e-4)
            assert c.pose.position.z == pytest.approx(c.depth, abs=1e-4)
            at_centre = depth[int(round(c.center_v)), int(round(c.center_u))]
            assert abs(at_centre - c.depth) < 0.12 or (remaps and np.isnan(at_centre))
            assert 0.55 < c.depth < 0.75  # the generated table is at 0.7 m, objects up to 0.1 m tall
            x = (c.center_u - intr.cx) * c.depth / intr.fx
            assert c.pose.position.x == pytest.approx(x, abs=1e-4)
            q = np.array([c.pose.orientation.x, c.pose.orientation.y, c.pose.orientation.z, c.pose.orientation.w])
            assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-5)
        checked += 1
    assert checked >= 1
    assert camera.alive() and detector.alive()


def _intrinsics(path):
    d = yaml.safe_load(open(path))
    k = d["camera_matrix"]["data"]
    return d["image_width"], d["image_height"], k[0], k[4], k[2], k[5]


def test_detector_survives_bad_input(repo_root, spawn_node, probe, test_model):
    detector = spawn_node("grasp_detector.detector_node", detector_args(repo_root, test_model))
    pub_img = probe.node.create_publisher(Image, "/depth/image", 10)  # reliable: matches best effort
    pub_info = probe.node.create_publisher(CameraInfo, "/depth/camera_info", 10)
    assert wait_for(lambda: pub_img.get_subscription_count() and pub_info.get_subscription_count()
                    and probe.node.count_publishers("/grasp_candidates"), 30.0, spin=probe.spin), detector.stderr()
    intr = CameraIntrinsics.default_for(W, H)
    good = table_scene(intr, seed=1, n_objects=2, hole_fraction=0.0)
    stamps = iter(range(1, 1000))

    def send(image: Image, info_intr: CameraIntrinsics = intr) -> Header:
        header = Header(frame_id="camera_depth_optical_frame")
        header.stamp.sec = 1000 + next(stamps)
        pub_info.publish(intrinsics_to_camera_info(info_intr, header))
        image.header = header
        pub_img.publish(image)
        probe.spin(0.05)
        return header

    bad = {
        "all_nan": lambda: numpy_to_image(np.full((H, W), np.nan, np.float32), "32FC1"),
        "encoding": lambda: numpy_to_image(np.zeros((H, W, 3), np.uint8), "rgb8"),
        "encoding8": lambda: _mono8(np.zeros((H, W), np.uint8)),
        "size": lambda: numpy_to_image(good[: H // 2, : W // 2].copy(), "32FC1"),
        "empty": lambda: Image(),
    }
    def good_frame_served(timeout: float) -> bool:
        """Send the good frame until candidates with one of its stamps arrive."""
        sent: set[tuple[int, int]] = set()

        def served() -> bool:
            if any(stamp_key(m.header.stamp) in sent and m.candidates for m in probe.candidates):
                return True
            sent.add(stamp_key(send(numpy_to_image(good, "32FC1")).stamp))
            probe.spin(0.3)
            return False

        return wait_for(served, timeout)

    # warm-up: the first large best-effort messages after discovery may be lost
    assert good_frame_served(30.0), f"no candidates for the first good frame\n{detector.stderr()}"
    n_before = len(probe.candidates)
    causes = {"all_nan": ["all_nan"], "encoding": ["encoding", "encoding8"], "size": ["size"], "empty": ["empty"]}
    for _ in range(2):  # every kind at least twice
        for make in bad.values():
            send(make())
            time.sleep(0.05)

    def all_causes_logged() -> bool:  # resend what was lost on the way (best effort)
        log = detector.stderr()
        missing = [k for c, kinds in causes.items() if f"dropping frame ({c})" not in log for k in kinds]
        for k in missing:
            send(bad[k]())
        probe.spin(0.2)
        return not missing

    assert wait_for(all_causes_logged, 20.0), f"not every cause was logged\n{detector.stderr()}"
    probe.spin(0.5)
    assert len(probe.candidates) == n_before, "a bad frame produced candidates"
    assert good_frame_served(20.0), f"no candidates for the good frame after bad input\n{detector.stderr()}"
    assert detector.alive(), detector.stderr()
    log = detector.stderr()
    for cause in ("all_nan", "encoding", "size", "empty"):
        warned = [line for line in log.splitlines() if "[WARN]" in line and f"dropping frame ({cause})" in line]
        assert len(warned) == 1, f"cause {cause} not logged exactly once at WARN:\n{log}"
    assert "Traceback" not in log


def _mono8(a: np.ndarray) -> Image:
    msg = Image(height=a.shape[0], width=a.shape[1], encoding="8UC1", step=a.shape[1])
    msg.data = a.tobytes()
    return msg


def test_camera_topic_source_normalises_driver_depth(spawn_node, probe):
    """realsense2_camera-style 16UC1 mm in → 32FC1 m, hole-free, same stamp on image and camera_info."""
    camera = spawn_node("grasp_camera.camera_node", ["-p", "source:=topic"])
    pub_img = probe.node.create_publisher(Image, "/camera/camera/depth/image_rect_raw", 10)
    pub_info = probe.node.create_publisher(CameraInfo, "/camera/camera/depth/camera_info", 10)
    got_img: list[Image] = []
    got_info: list[CameraInfo] = []
    probe.node.create_subscription(Image, "/depth/image", got_img.append, sensor_qos())
    probe.node.create_subscription(CameraInfo, "/depth/camera_info", got_info.append, sensor_qos())
    assert wait_for(lambda: pub_img.get_subscription_count() and pub_info.get_subscription_count()
                    and probe.node.count_publishers("/depth/image"), 30.0, spin=probe.spin), camera.stderr()
    intr = CameraIntrinsics(W, H, 385.0, 385.0, 320.5, 240.5, "camera_depth_optical_frame")
    mm = np.round(table_scene(intr, seed=2, hole_fraction=0.0) * 1000).astype(np.uint16)
    mm[100:110, 200:210] = 0  # a hole
    stamps = iter(range(1, 1000))

    def send(image: Image) -> None:
        header = Header(frame_id="camera_depth_optical_frame")
        header.stamp.sec = 2000 + next(stamps)
        pub_info.publish(intrinsics_to_camera_info(intr, header))
        image.header = header
        pub_img.publish(image)

    def received() -> bool:
        if not got_img:
            send(numpy_to_image(mm[:240, :320].copy(), "16UC1"))  # disagrees with camera_info: dropped
            send(numpy_to_image(mm, "16UC1"))
        probe.spin(0.2)
        return bool(got_img) and any(stamp_key(i.header.stamp) == stamp_key(got_img[0].header.stamp)
                                     for i in got_info)

    assert wait_for(received, 30.0), camera.stderr()
    img = got_img[0]
    depth = image_to_numpy(img)
    assert img.encoding == "32FC1" and img.header.frame_id == "camera_depth_optical_frame"
    assert np.isfinite(depth).all()
    valid = mm > 0
    np.testing.assert_allclose(depth[valid], mm[valid] / 1000.0, atol=1e-6)
    assert abs(float(depth[105, 205]) - 0.7) < 0.05  # the hole was inpainted from the table around it
    info = next(i for i in got_info if stamp_key(i.header.stamp) == stamp_key(img.header.stamp))
    assert list(info.k) == list(intr.K.ravel())
    assert camera.alive()
    assert wait_for(lambda: "dropping frame (size)" in camera.stderr(), 5.0), camera.stderr()
    assert sum("[WARN]" in line and "dropping frame (size)" in line for line in camera.stderr().splitlines()) == 1


def test_camera_publishes_the_unfilled_depth_first_and_inpaints_only_for_a_subscriber(spawn_node, probe):
    """``depth/image_unfilled`` carries the driver's 16UC1 depth as it came, holes included, before the
    inpainting; while nothing subscribes to ``depth/image`` the camera does not inpaint (its ~/timings
    have no ``inpainted``); once something does, both come with the same stamp, ``depth/image`` hole-free."""
    from grasp_interfaces.msg import StageTimes

    camera = spawn_node("grasp_camera.camera_node", ["-p", "source:=topic", "-p", "publish_timings:=true"])
    pub_img = probe.node.create_publisher(Image, "/camera/camera/depth/image_rect_raw", 10)
    pub_info = probe.node.create_publisher(CameraInfo, "/camera/camera/depth/camera_info", 10)
    unfilled: list[Image] = []
    filled: list[Image] = []
    timings: list[StageTimes] = []
    probe.node.create_subscription(Image, "/depth/image_unfilled", unfilled.append, sensor_qos())
    probe.node.create_subscription(StageTimes, "/grasp_camera/timings", timings.append, 10)
    assert wait_for(lambda: pub_img.get_subscription_count() and probe.node.count_publishers("/depth/image_unfilled"),
                    30.0, spin=probe.spin), camera.stderr()
    intr = CameraIntrinsics(W, H, 385.0, 385.0, 320.5, 240.5, "camera_depth_optical_frame")
    mm = np.round(table_scene(intr, seed=2, hole_fraction=0.0) * 1000).astype(np.uint16)
    mm[100:110, 200:210] = 0  # a hole
    stamps = iter(range(1, 1000))

    def send() -> None:
        header = Header(frame_id="camera_depth_optical_frame")
        header.stamp.sec = 4000 + next(stamps)
        pub_info.publish(intrinsics_to_camera_info(intr, header))
        pub_img.publish(numpy_to_image(mm, "16UC1", header))

    def step() -> None:
        send()
        probe.spin(0.3)

    assert wait_for(lambda: unfilled and timings, 30.0, spin=step), camera.stderr()
    assert unfilled[0].encoding == "16UC1"  # the driver's millimetres as they came, holes 0 (REP 118)
    np.testing.assert_array_equal(image_to_numpy(unfilled[0]), mm)
    assert all("inpainted" not in t.events and "unfilled_published" in t.events for t in timings)
    probe.node.create_subscription(Image, "/depth/image", filled.append, sensor_qos())

    def both() -> bool:
        return bool({stamp_key(m.header.stamp) for m in filled} & {stamp_key(m.header.stamp) for m in unfilled})

    assert wait_for(both, 30.0, spin=step), camera.stderr()
    key = next(iter({stamp_key(m.header.stamp) for m in filled} & {stamp_key(m.header.stamp) for m in unfilled}))
    hole_free = image_to_numpy(next(m for m in filled if stamp_key(m.header.stamp) == key))
    assert np.isfinite(hole_free).all() and abs(float(hole_free[105, 205]) - 0.7) < 0.05
    assert wait_for(lambda: any(list(t.events)[-3:] == ["inpainted", "serialised", "published"] for t in timings),
                    10.0, spin=step), [list(t.events) for t in timings]
    assert camera.alive()


def test_camera_topic_source_pairs_the_drivers_colour_by_stamp(spawn_node, probe):
    """With ``topic.color_topic`` the driver's colour (bgr8 here) comes out on /color/image_raw as rgb8 with the
    depth image's stamp, whichever of the two arrived first; colour of another size drops the frame, one line."""
    camera = spawn_node("grasp_camera.camera_node", ["-p", "source:=topic",
                                                     "-p", "topic.color_topic:=/camera/camera/color/image_raw"])
    pub_img = probe.node.create_publisher(Image, "/camera/camera/depth/image_rect_raw", 10)
    pub_info = probe.node.create_publisher(CameraInfo, "/camera/camera/depth/camera_info", 10)
    pub_rgb = probe.node.create_publisher(Image, "/camera/camera/color/image_raw", 10)
    got_img: list[Image] = []
    got_rgb: list[Image] = []
    probe.node.create_subscription(Image, "/depth/image", got_img.append, sensor_qos())
    probe.node.create_subscription(Image, "/color/image_raw", got_rgb.append, sensor_qos())
    assert wait_for(lambda: pub_img.get_subscription_count() and pub_rgb.get_subscription_count()
                    and probe.node.count_publishers("/color/image_raw"), 30.0, spin=probe.spin), camera.stderr()
    intr = CameraIntrinsics(W, H, 385.0, 385.0, 320.5, 240.5, "camera_depth_optical_frame")
    mm = np.round(table_scene(intr, seed=2, hole_fraction=0.0) * 1000).astype(np.uint16)
    bgr = np.zeros((H, W, 3), np.uint8)
    bgr[:, :, 0] = 200  # blue in BGR order
    stamps = iter(range(1, 1000))
    bad: set[int] = set()

    def send(colour: np.ndarray, colour_first: bool) -> None:
        header = Header(frame_id="camera_depth_optical_frame")
        header.stamp.sec = 3000 + next(stamps)
        if colour.shape[:2] != mm.shape:
            bad.add(header.stamp.sec)
        pub_info.publish(intrinsics_to_camera_info(intr, header))
        msgs = [(pub_rgb, numpy_to_image(colour, "bgr8", header)), (pub_img, numpy_to_image(mm, "16UC1", header))]
        for pub, m in (msgs if colour_first else msgs[::-1]):
            pub.publish(m)

    def paired() -> set[int]:
        return {m.header.stamp.sec for m in got_rgb} & {m.header.stamp.sec for m in got_img}

    last = [0.0]

    def done() -> bool:  # best effort may lose any of a round's messages: rounds until both are seen
        return len(paired()) >= 2 and "dropping frame (colour)" in camera.stderr()

    def received() -> bool:
        if not done() and time.monotonic() - last[0] > 1.0:  # one round a second: no flood
            last[0] = time.monotonic()
            send(bgr[:240, :320].copy(), True)  # not registered to depth: dropped
            send(bgr, True)
            send(bgr, False)
        probe.spin(0.3)
        return done()

    assert wait_for(received, 30.0), camera.stderr()
    for m in got_rgb:  # best effort: a message may be lost, never mispaired
        assert m.encoding == "rgb8" and m.header.stamp.sec not in bad
        rgb = image_to_numpy(m)
        assert rgb.shape == (H, W, 3) and (rgb[:, :, 2] == 200).all() and (rgb[:, :, 0] == 0).all()
    assert not bad & {m.header.stamp.sec for m in got_img}  # the unregistered colour's frame is dropped whole
    assert camera.alive()


CAMERA_EVENTS = ["read", "converted", "info_published", "inpainted", "serialised", "published"]
DETECTOR_EVENTS = ["received", "paired", "converted", "preprocessed", "inferred", "postprocessed",
                   "serialised", "published"]


def test_stage_timings_and_replay_stamped_before_the_read(repo_root, spawn_node, probe, test_model, tmp_path):
    """publish_timings: both nodes publish their stage instants per frame with the image's header; the
    replay stamp is the moment the file starts being read (before conversion and inpainting)."""
    from grasp_interfaces.msg import StageTimes

    frames = tmp_path / "frames"
    info_yaml = write_frames(frames, n=2, width=W, height=H, seed=4)
    camera = spawn_node("grasp_camera.camera_node", [
        "--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "source:=replay",
        "-p", f"replay.folder:={frames}", "-p", f"replay.intrinsics:={info_yaml}",
        "-p", "replay.rate_hz:=5.0", "-p", "replay.loop:=true", "-p", "publish_timings:=true"])
    detector = spawn_node("grasp_detector.detector_node",
                          [*detector_args(repo_root, test_model), "-p", "publish_timings:=true"])
    got: dict[str, dict] = {"camera": {}, "detector": {}}
    for who in got:
        probe.node.create_subscription(StageTimes, f"/grasp_{who}/timings",
                                       lambda m, w=who: got[w].__setitem__(stamp_key(m.header.stamp), m), 20)

    def complete() -> list:
        keys = {stamp_key(c.header.stamp) for c in probe.candidates}
        return sorted(keys & got["camera"].keys() & got["detector"].keys())

    ok = wait_for(lambda: len(complete()) >= 2, 40.0, spin=probe.spin)
    assert ok, (f"timings of 2 frames did not come (candidates {len(probe.candidates)}, camera timings "
                f"{len(got['camera'])}, detector timings {len(got['detector'])})\ncamera:\n{camera.stderr()}"
                f"\ndetector:\n{detector.stderr()}")
    for key in complete():
        cam, det = got["camera"][key], got["detector"][key]
        stamp_ns = key[0] * 1_000_000_000 + key[1]
        assert list(cam.events) == CAMERA_EVENTS and list(det.events) == DETECTOR_EVENTS
        c, d = list(cam.t_ns), list(det.t_ns)
        assert c == sorted(c) and d == sorted(d)
        # the stamp precedes the read (it was taken after the inpainting before), by less than a second
        assert stamp_ns <= c[0] < stamp_ns + 1_000_000_000
        assert stamp_ns < c[CAMERA_EVENTS.index("inpainted")]
        assert d[0] >= c[CAMERA_EVENTS.index("serialised")]  # received after the camera built the message
        assert cam.header.frame_id == det.header.frame_id == "camera_depth_optical_frame"
    assert camera.alive() and detector.alive()


def test_camera_sharing_a_thread_with_a_slow_consumer_hands_it_the_newest_frame(domain_id, probe):
    """As in the composed cell (grasp_bringup.cell): the camera node and a consumer that takes 0.4 s a
    frame (a sampling detector) on one single-threaded executor, a driver at 10 Hz. With
    ``topic.queue_size`` 1 (the cell's setting) the frame the consumer starts on is about a frame period
    old (measured: median 0.10 s); with the reader's default 5 the camera works through its backlog of
    old frames first (median 0.41 s here; in the cell GQ-STN's candidates were 2.3 s old, refused as
    stale)."""
    import threading

    from grasp_camera.camera_node import CameraNode
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.time import Time

    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=domain_id)
    camera = CameraNode(context=ctx, parameter_overrides=[Parameter("source", value="topic"),
                                                          Parameter("topic.queue_size", value=1)])
    consumer = rclpy.create_node("slow_consumer", context=ctx)
    ages: list[float] = []

    def slow(msg: Image) -> None:
        ages.append(time.time() - stamp_s(msg.header.stamp))
        time.sleep(0.4)

    consumer.create_subscription(Image, "/depth/image_unfilled", slow, sensor_qos(1))
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(camera)
    executor.add_node(consumer)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        pub_img = probe.node.create_publisher(Image, "/camera/camera/depth/image_rect_raw", sensor_qos())
        pub_info = probe.node.create_publisher(CameraInfo, "/camera/camera/depth/camera_info", sensor_qos())
        assert wait_for(lambda: pub_img.get_subscription_count() and probe.node.count_publishers(
            "/depth/image_unfilled"), 30.0, spin=probe.spin)
        intr = CameraIntrinsics(W, H, 385.0, 385.0, 320.5, 240.5, "camera_depth_optical_frame")
        mm = np.round(table_scene(intr, seed=2, hole_fraction=0.0) * 1000).astype(np.uint16)
        end = time.monotonic() + 6.0
        while time.monotonic() < end:
            header = Header(frame_id="camera_depth_optical_frame", stamp=Time(nanoseconds=time.time_ns()).to_msg())
            pub_info.publish(intrinsics_to_camera_info(intr, header))
            pub_img.publish(numpy_to_image(mm, "16UC1", header))
            time.sleep(0.1)
    finally:
        executor.shutdown()
        spinner.join(5.0)
        consumer.destroy_node()
        camera.destroy_node()
        rclpy.try_shutdown(context=ctx)
    steady = ages[3:]  # after the first frames (discovery, the camera's warm-up)
    assert len(steady) >= 5, ages
    assert float(np.median(steady)) < 0.25, [round(a, 3) for a in ages]


@pytest.mark.parametrize("queue", [None, 5])
def test_a_detector_slower_than_the_camera_starts_on_the_newest_frame(repo_root, spawn_node, probe, queue):
    """The detector as its own process (the launch file's), Prop+GQ-CNN (sampling: well over a 10 Hz
    camera's period a frame) fed at 10 Hz: with the default ``queue_size`` 1 each frame the detector
    starts on (its ``received`` instant on ``~/timings``) is at most about a period old; with 5 the
    reader hands out the oldest of its five kept frames, 0.4 s old. Measured here (2.0 s a frame, a data
    generator busy beside it): median 0.007 s with 1, 0.43 s with 5."""
    from grasp_interfaces.msg import StageTimes

    args = ["--params-file", str(repo_root / "config" / "grasp.yaml"), "-p", "detector:=prop_gqcnn",
            "-p", "model:=gqcnn_synth", "-p", "quality_threshold:=0.0", "-p", "publish_annotated:=false",
            "-p", "publish_timings:=true"]
    if queue is not None:
        args += ["-p", f"queue_size:={queue}"]
    detector = spawn_node("grasp_detector.detector_node", args)
    timings: list[StageTimes] = []
    probe.node.create_subscription(StageTimes, "/grasp_detector/timings", timings.append, 20)
    intr = CameraIntrinsics(W, H, 385.0, 385.0, 320.5, 240.5, "camera_depth_optical_frame")
    feed = FrameFeeder(probe, intr, table_scene(intr, seed=2, n_objects=2, hole_fraction=0.0).astype(np.float32),
                       wall_clock=True)
    assert wait_for(lambda: feed.depth_pub.get_subscription_count() and probe.node.count_publishers(
        "/grasp_detector/timings"), 40.0, spin=probe.spin), detector.stderr()

    def step() -> None:  # one frame stamped with the wall clock now, 0.1 s apart
        feed.publish()
        probe.spin(0.1)

    assert wait_for(lambda: len(timings) >= 8, 90.0, spin=step), detector.stderr()
    ages = [(t.t_ns[list(t.events).index("received")] - stamp_s(t.header.stamp) * 1e9) / 1e9 for t in timings]
    spans = [(t.t_ns[-1] - t.t_ns[0]) / 1e9 for t in timings]
    steady = ages[3:]  # after the backlog formed
    assert float(np.median(spans)) > 0.15, spans  # the detector is slower than the camera
    if queue is None:
        assert float(np.median(steady)) < 0.25, [round(a, 3) for a in ages]
    else:
        assert float(np.median(steady)) > 0.25, [round(a, 3) for a in ages]
    assert detector.alive() and "Traceback" not in detector.stderr()
