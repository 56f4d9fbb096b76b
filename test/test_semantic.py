"""Class labels of the generated data and the OCID_grasp layout reader (issue 20, item 2)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from grasp_core.datasets import DatasetError
from grasp_core.datasets.ocid import list_ocid, list_ocid_splits, read_ocid, rect_lines
from grasp_core.datasets.semantic import (
    CLASS_INDEX,
    CLASS_NAMES,
    class_map,
    grasp_classes,
    read_class_labels,
    write_class_labels,
)
from grasp_core.grasp import Grasp


def _mask():
    m = np.zeros((40, 60), np.uint8)
    m[5:15, 5:20] = 1
    m[20:35, 30:50] = 2
    return m


def test_class_map_names_categories_not_indices():
    cls = class_map(_mask(), ["star", "some_mesh_kind"])
    assert cls[0, 0] == CLASS_INDEX["background"] == 0
    assert CLASS_NAMES[cls[10, 10]] == "star"
    assert CLASS_NAMES[cls[25, 40]] == "mesh"  # a kind without a class of its own
    with pytest.raises(ValueError):
        class_map(_mask(), ["star"])  # object 2 has no kind


def test_rectangle_class_is_the_class_at_its_centre():
    cls = class_map(_mask(), ["ring", "box"])
    gs = [Grasp(10.0, 10.0, 0.3, 20, 8, 1), Grasp(40.2, 27.6, 0.0, 20, 8, 1), Grasp(1, 1, 0, 5, 5, 1)]
    assert [CLASS_NAMES[c] for c in grasp_classes(gs, cls)] == ["ring", "box", "background"]


def test_written_labels_read_back_and_older_folders_derive_them(tmp_path):
    mask = _mask()
    gs = [Grasp(10.0, 10.0, 0.3, 20, 8, 1), Grasp(40.0, 27.0, 0.0, 20, 8, 1)]
    cls = class_map(mask, ["T", "sphere"])
    write_class_labels(tmp_path, "000003_0", cls, grasp_classes(gs, cls))
    got, rc = read_class_labels(tmp_path, "000003_0", gs)
    np.testing.assert_array_equal(got, cls)
    assert [CLASS_NAMES[c] for c in rc] == ["T", "sphere"]
    # an older folder: only the object mask and the scene's kinds
    old = tmp_path / "old"
    (old / ".meta").mkdir(parents=True)
    cv2.imwrite(str(old / "000003_0_mask.png"), mask)
    (old / ".meta" / "scene_000003.json").write_text(json.dumps({"kinds": ["T", "sphere"]}))
    got2, rc2 = read_class_labels(old, "000003_0", gs)
    np.testing.assert_array_equal(got2, cls)
    np.testing.assert_array_equal(rc2, rc)
    with pytest.raises(DatasetError):
        read_class_labels(tmp_path / "none", "000001_0", gs)


def _ocid_folder(root):
    seq = "ARID20/table/top/seq08"
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[..., 1] = 200
    seg = np.zeros((48, 64), np.uint8)
    seg[10:30, 10:30] = 7
    seg[30:45, 40:60] = 12
    gs = [Grasp(20.0, 20.0, 0.4, 16.0, 6.0, 1.0), Grasp(50.0, 37.0, -1.0, 12.0, 5.0, 1.0)]
    for sub in ("rgb", "seg_mask_labeled_combi", "Annotations"):
        (root / seq / sub).mkdir(parents=True)
    cv2.imwrite(str(root / seq / "rgb" / "result_1.png"), rgb)
    cv2.imwrite(str(root / seq / "seg_mask_labeled_combi" / "result_1.png"), seg)
    (root / seq / "Annotations" / "result_1.txt").write_text(rect_lines(gs))
    (root / "data_split").mkdir()
    (root / "data_split" / "training_0.txt").write_text(f"{seq},result_1.png\n")
    return seq, seg, gs


def test_ocid_layout_reader(tmp_path):
    seq, seg, gs = _ocid_folder(tmp_path)
    assert list_ocid_splits(tmp_path) == ["training_0"]
    assert list_ocid(tmp_path, "training_0") == [(seq, "result_1.png")] == list_ocid(tmp_path)
    rgb, classes, grasps, rc = read_ocid(tmp_path, seq, "result_1.png")
    assert rgb.shape == (48, 64, 3) and rgb[0, 0, 1] == 200
    np.testing.assert_array_equal(classes, seg)
    assert rc.tolist() == [7, 12]
    for g, h in zip(grasps, gs, strict=True):
        assert (g.u, g.v) == pytest.approx((h.u, h.v), abs=0.02)
        assert g.width_px == pytest.approx(h.width_px, abs=0.05) and g.length_px == pytest.approx(h.length_px, abs=0.05)
        assert abs((g.angle - h.angle + np.pi / 2) % np.pi - np.pi / 2) < 1e-3
    with pytest.raises(DatasetError):
        list_ocid(tmp_path, "testing_0")
    (tmp_path / seq / "Annotations" / "result_1.txt").write_text("1 2\n3 4\n5 6\n")
    with pytest.raises(DatasetError):
        read_ocid(tmp_path, seq, "result_1.png")


def test_domain_randomised_scene_keeps_geometry_and_changes_colour():
    pytest.importorskip("mujoco")
    from grasp_core.synth.generate import camera_rgb_noise
    from grasp_core.synth.scene import SceneConfig, make_scene, render_view, sample_camera

    plain = make_scene(7, SceneConfig(settle_steps=50))
    dr = make_scene(7, SceneConfig(settle_steps=50, domain_randomisation=True))
    assert [o.kind for o in plain.objects] == [o.kind for o in dr.objects]
    assert "<texture" in dr.xml and "<texture" not in plain.xml
    cam = sample_camera(np.random.default_rng(1), SceneConfig(), plain.target)
    a, b = render_view(plain, cam), render_view(dr, cam)
    np.testing.assert_array_equal(a.labels, b.labels)  # the same objects at the same poses
    assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() > 5
    noisy = camera_rgb_noise(b.rgb, np.random.default_rng(0))
    assert noisy.dtype == np.uint8 and noisy.shape == b.rgb.shape
    assert 0.5 < np.abs(noisy.astype(int) - b.rgb.astype(int)).mean() < 60
