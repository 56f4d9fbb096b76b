"""What is on the table (issue 13, item 7) and the too-wide decline: generated depth, the pick loop, the cell."""
import math
import os

import numpy as np
import pytest
from grasp_core.camera import CameraIntrinsics
from grasp_core.layout import CELL_LAYOUT
from grasp_core.picking import TOO_WIDE, Choice, LoopPolicy, PickLoop, decline_too_wide
from grasp_core.robot.gripper import STROKE
from grasp_core.tabletop import draw_regions, table_regions, too_wide, width_across

INTR = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)
CAM_H = 0.8  # camera 0.8 m above the table, looking straight down at the pick centre
T_BASE_CAM = np.array([[1.0, 0, 0, CELL_LAYOUT.pick_centre[0]], [0, -1.0, 0, CELL_LAYOUT.pick_centre[1]],
                       [0, 0, -1.0, CAM_H], [0, 0, 0, 1.0]])


def render(boxes, rng=None, noise=0.0015, bump=0.004, holes=0.02):
    """Depth of the table with boxes (x, y, half_x, half_y, height, yaw) on it, Kinect-like noise, a smooth
    few-mm offset of the table (as a real sensor's low-frequency error) and random holes (NaN)."""
    v, u = np.mgrid[0:INTR.height, 0:INTR.width].astype(np.float64)
    depth = np.full(u.shape, CAM_H)
    for x, y, hx, hy, h, yaw in boxes:
        z = CAM_H - h  # the box top; a top-down camera sees no sides
        bx = T_BASE_CAM[0, 3] + (u - INTR.cx) * z / INTR.fx - x
        by = T_BASE_CAM[1, 3] - (v - INTR.cy) * z / INTR.fy - y
        c, s = math.cos(yaw), math.sin(yaw)
        inside = (np.abs(c * bx + s * by) <= hx) & (np.abs(-s * bx + c * by) <= hy)
        depth = np.where(inside, np.minimum(depth, z), depth)
    if rng is not None:
        depth = depth + rng.normal(size=depth.shape) * noise
        depth -= bump * np.exp(-(((u - 200) / 120) ** 2 + ((v - 300) / 90) ** 2))  # the table looks raised there
        depth[rng.uniform(size=depth.shape) < holes] = np.nan
    return depth


def test_an_empty_noisy_table_is_clear():
    for seed in range(3):
        scene = table_regions(render([], np.random.default_rng(seed)), INTR, T_BASE_CAM)
        assert len(scene) == 0 and not scene.labels.any()


def test_objects_are_found_where_they_stand():
    cx, cy = CELL_LAYOUT.pick_centre
    boxes = [(cx - 0.06, cy + 0.05, 0.025, 0.015, 0.02, 0.3),   # a small box, 2 cm tall
             (cx + 0.06, cy - 0.04, 0.03, 0.03, 0.008, 0.0),    # a thin plate, 8 mm
             (cx + 0.05, cy + 0.08, 0.012, 0.008, 0.012, 0.0)]  # a 2.4 cm clamp-like part
    scene = table_regions(render(boxes, np.random.default_rng(0)), INTR, T_BASE_CAM)
    assert len(scene) == 3
    for x, y, _hx, _hy, h, _yaw in boxes:
        r = scene.region_near((x, y))
        assert r is not None
        np.testing.assert_allclose(r.centroid[:2], (x, y), atol=0.004)
        assert r.height_m == pytest.approx(h, abs=0.006)
    # outside the pick area does not count
    far = table_regions(render([(cx + 0.3, cy, 0.02, 0.02, 0.03, 0.0)]), INTR, T_BASE_CAM)
    assert len(far) == 0


def test_width_across_the_jaws_and_the_wide_decline():
    cx, cy = CELL_LAYOUT.pick_centre
    scene = table_regions(render([(cx, cy, 0.025, 0.015, 0.03, 0.0)], np.random.default_rng(1)), INTR, T_BASE_CAM)
    (box,) = scene.regions
    assert width_across(box, (cx, cy), (1, 0)) == pytest.approx(0.05, abs=0.005)
    assert width_across(box, (cx, cy), (0, 1)) == pytest.approx(0.03, abs=0.005)
    assert not too_wide(width_across(box, (cx, cy), (1, 0)))
    assert math.isnan(width_across(box, (cx + 0.1, cy), (1, 0)))  # nothing under the jaws there
    wide = table_regions(render([(cx, cy, 0.06, 0.07, 0.04, 0.4)], np.random.default_rng(2)), INTR, T_BASE_CAM)
    (w,) = wide.regions
    for a in np.linspace(0, math.pi, 7):
        closing = (math.cos(a), math.sin(a), 0.0)
        assert width_across(w, (cx, cy), closing) > STROKE
        rej = decline_too_wide((cx, cy, 0.04), closing, wide)
        assert rej is not None and rej.code == TOO_WIDE and "85 mm" in rej.reason
    assert decline_too_wide((cx, cy, 0.03), (1, 0, 0), scene) is None


def test_the_jaws_measure_the_arm_they_close_on_not_the_whole_shape():
    """An L: across its 2 cm arm the jaws close on 2 cm, though the L is 14 cm long that way."""
    cx, cy = CELL_LAYOUT.pick_centre
    ell = [(cx, cy, 0.07, 0.01, 0.02, 0.0), (cx + 0.06, cy + 0.05, 0.01, 0.06, 0.02, 0.0)]
    scene = table_regions(render(ell, np.random.default_rng(3)), INTR, T_BASE_CAM)
    (r,) = scene.regions
    assert width_across(r, (cx - 0.03, cy), (0, 1)) == pytest.approx(0.02, abs=0.005)
    assert width_across(r, (cx - 0.03, cy), (1, 0)) > 0.12


def test_draw_regions_marks_the_unresolved_ones():
    cx, cy = CELL_LAYOUT.pick_centre
    scene = table_regions(render([(cx, cy, 0.02, 0.02, 0.03, 0.0), (cx + 0.08, cy, 0.02, 0.02, 0.03, 0.0)]),
                          INTR, T_BASE_CAM)
    img = draw_regions(np.zeros((480, 640, 3), np.uint8), scene, unresolved=[scene.regions[0].label])
    magenta = np.all(img == (255, 0, 255), axis=-1)
    grey = np.all(img == (160, 160, 160), axis=-1)
    assert magenta.sum() > 50 and grey.sum() > 50


def _loop(remaining, rejections=()):
    frames = iter(range(100))
    return PickLoop(lambda: next(frames), lambda f: Choice(None, list(rejections), len(rejections)),
                    lambda f, t: True, LoopPolicy(max_empty_frames=2), remaining=remaining)


def test_pick_loop_judges_the_table_from_the_scene():
    from grasp_core.motion import Rejection

    too = Rejection("the object under the jaws is 120 mm wide across them; the gripper opens 85 mm", TOO_WIDE)
    assert _loop(lambda f: 2, [too]).run() == "objects remain: 2 regions without a safe grasp (2 rejected, " \
                                               "last: too_wide)"
    assert _loop(lambda f: 1).run() == "objects remain: 1 regions without a safe grasp (no candidate)"
    assert _loop(lambda f: 0, [too]).run() == "table clear (nothing above the table in the pick area)"
    assert _loop(None).run() == "table clear (2 frames without a candidate)"  # no scene: the old judgement
    assert _loop(lambda f: None).run() == "table clear (2 frames without a candidate)"  # that depth missing


def test_stale_frames_say_nothing_about_the_scene_and_end_the_loop_only_in_a_long_row():
    """Frames whose candidates were all stale (a detector warming up) do not count as frames without a safe
    grasp: three of them and then a good frame give a pick; PickLoop.MAX_STALE_FRAMES in a row end it."""
    from grasp_core.motion import Rejection

    old = Rejection("candidate is 1.3 s old (max 1.0 s)", "stale")
    too = Rejection("the object under the jaws is 120 mm wide across them; the gripper opens 85 mm", TOO_WIDE)
    script = [[old]] * 3 + [None]  # None: a frame with a target
    frames = iter(range(100))
    picked = []
    loop = PickLoop(lambda: next(frames),
                    lambda f: Choice(None, script[f], 1) if f < len(script) and script[f] else Choice(f, [], 1),
                    lambda f, t: picked.append(t) or True, LoopPolicy(max_empty_frames=2, max_attempts=1),
                    remaining=lambda f: 1)
    assert loop.run() == "1 attempt(s) made" and picked == [3]
    assert _loop(lambda f: 1, [old]).run() == (f"candidates too old in {PickLoop.MAX_STALE_FRAMES} frames in a row "
                                               "(last: candidate is 1.3 s old (max 1.0 s))")
    # a stale candidate beside another refusal is a judgement of the frame as before
    assert _loop(lambda f: 1, [old, too]).run() == ("objects remain: 1 regions without a safe grasp (4 rejected, "
                                                    "last: stale, too_wide)")


# --- the simulated cell, ground truth ------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench():
    os.environ.setdefault("MUJOCO_GL", "egl")
    pytest.importorskip("mujoco")
    from grasp_core.inference import GraspDetector
    from grasp_core.layout import repository_file
    from grasp_core.picking import settings_from_config
    from grasp_core.robot import Extrinsics
    from grasp_core.sim import CellConfig, SimCell

    cell = SimCell(CellConfig())
    try:
        cell.render()
    except Exception as exc:  # noqa: BLE001
        cell.close()
        pytest.skip(f"MuJoCo rendering unavailable: {exc}")
    yield cell, GraspDetector(), settings_from_config(repository_file("config/grasp.yaml")), \
        Extrinsics.from_matrix(cell.t_base_camera)
    cell.close()


def test_cell_declines_an_object_wider_than_the_stroke(bench):
    from grasp_core.picking import clear_table

    cell, det, settings, ext = bench
    cell.reset(1, objects="procedural:wide_box", seed=0)
    records, stop = clear_table(cell, det, settings, ext, max_attempts=4)
    assert records == []  # not tried
    assert stop.startswith("objects remain: 1 regions without a safe grasp") and TOO_WIDE in stop, stop
    assert len(cell.objects_on_table()) == 1


def test_cell_says_table_clear_only_when_it_is(bench):
    from grasp_core.picking import clear_table

    cell, det, settings, ext = bench
    cell.reset(1, objects="procedural", seed=0)  # the default model picks this one (grasp-sim-bench, seed 0)
    records, stop = clear_table(cell, det, settings, ext, max_attempts=4)
    assert [r.placed for r in records] == [True]
    assert cell.objects_on_table() == []
    assert stop == "table clear (nothing above the table in the pick area)"


def test_pick_run_picture_outlines_what_remains(tmp_path):
    cell = pytest.importorskip("grasp_bringup.cell")
    cx, cy = CELL_LAYOUT.pick_centre
    scene = table_regions(render([(cx, cy, 0.06, 0.07, 0.04, 0.0)]), INTR, T_BASE_CAM)
    image = np.full((480, 640, 3), 200, np.uint8)
    out = cell.save_picture(tmp_path / "pick_run.png", image, [], "objects remain: 1 regions", scene)
    import cv2

    png = cv2.imread(str(out))  # BGR
    magenta = (png[..., 2] > 200) & (png[..., 0] > 200) & (png[..., 1] < 80)
    assert magenta.sum() > 100
    plain = cv2.imread(str(cell.save_picture(tmp_path / "plain.png", image, [], "table clear", None)))
    assert ((plain[..., 2] > 200) & (plain[..., 0] > 200) & (plain[..., 1] < 80)).sum() == 0
