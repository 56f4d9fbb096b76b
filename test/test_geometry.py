"""Deprojection with known intrinsics, camera_info YAML, rectangle geometry and the rectangle metric."""
import numpy as np
import pytest
import yaml
from grasp_core.camera import (
    CameraInfoError,
    CameraIntrinsics,
    deproject_pixel,
    grasp_to_pose,
    load_camera_info_yaml,
    opening_metres,
)
from grasp_core.grasp import Grasp, angle_difference, rectangle_iou, rectangle_metric

INTR = CameraIntrinsics(640, 480, 600.0, 600.0, 320.0, 240.0, "camera_depth_optical_frame")


def test_deprojection_of_known_pixels():
    np.testing.assert_allclose(deproject_pixel(INTR, 320, 240, 0.7), [0, 0, 0.7])
    np.testing.assert_allclose(deproject_pixel(INTR, 380, 180, 0.6), [0.06, -0.06, 0.6])


def test_grasp_pose_axes_and_opening_at_the_optical_centre():
    g = Grasp(320, 240, 0.0, 60.0, 30.0, 0.9)
    pose = grasp_to_pose(INTR, g, 0.7)
    np.testing.assert_allclose(pose.position, [0, 0, 0.7])
    r = pose.rotation
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(r[:, 2], [0, 0, 1], atol=1e-12)   # approach along the viewing ray
    np.testing.assert_allclose(r[:, 1], [1, 0, 0], atol=1e-12)   # Φ = 0: jaws close along image +u = optical x
    assert pose.opening == pytest.approx(60 * 0.7 / 600)
    # Φ = +90°: closing line points up the image (−v), i.e. optical −y
    pose90 = grasp_to_pose(INTR, Grasp(320, 240, np.pi / 2, 60, 30), 0.7)
    np.testing.assert_allclose(pose90.rotation[:, 1], [0, -1, 0], atol=1e-12)


def test_opening_accounts_for_anisotropic_focal_lengths():
    intr = CameraIntrinsics(640, 480, 500.0, 1000.0, 320, 240)
    assert opening_metres(intr, 100, 0.0, 1.0) == pytest.approx(0.2)
    assert opening_metres(intr, 100, np.pi / 2, 1.0) == pytest.approx(0.1)


def test_pose_refuses_bad_depth():
    with pytest.raises(ValueError):
        grasp_to_pose(INTR, Grasp(1, 1, 0, 1, 1), float("nan"))


def test_camera_info_yaml_round_trip_and_errors(tmp_path):
    p = tmp_path / "cam.yaml"
    p.write_text(yaml.safe_dump(INTR.to_yaml_dict()))
    assert load_camera_info_yaml(p) == INTR
    (tmp_path / "bad.yaml").write_text("image_width: 640\n")
    with pytest.raises(CameraInfoError):
        load_camera_info_yaml(tmp_path / "bad.yaml")
    with pytest.raises(CameraInfoError):
        load_camera_info_yaml(tmp_path / "missing.yaml")


def test_rectangle_iou_against_known_polygons():
    a = Grasp(50, 50, 0.0, 40, 20)
    assert rectangle_iou(a, a) == pytest.approx(1.0)
    # shifted by 20 px along the closing line: overlap 20x20 = 400, union 800+800-400
    assert rectangle_iou(a, Grasp(70, 50, 0.0, 40, 20)) == pytest.approx(400 / 1200)
    # the same rectangle turned by 90°: a 20x20 cross overlap
    assert rectangle_iou(a, Grasp(50, 50, np.pi / 2, 40, 20)) == pytest.approx(400 / 1200)
    assert rectangle_iou(a, Grasp(500, 500, 0.0, 40, 20)) == 0.0


def test_polygon_round_trip_follows_the_cornell_convention():
    g = Grasp(100, 80, np.deg2rad(25), 50, 20)
    back = Grasp.from_polygon(g.polygon())
    assert (back.u, back.v, back.width_px, back.length_px) == pytest.approx((100, 80, 50, 20))
    assert angle_difference(back.angle, g.angle) < 1e-9


def test_rectangle_metric_thresholds():
    gt = [Grasp(50, 50, 0.0, 40, 20)]
    assert rectangle_metric(Grasp(52, 50, np.deg2rad(20), 40, 20), gt)
    assert not rectangle_metric(Grasp(52, 50, np.deg2rad(40), 40, 20), gt)   # angle off by > 30°
    assert not rectangle_metric(Grasp(80, 50, 0.0, 40, 20), gt)              # IoU 1/7 < 0.25
    assert rectangle_metric(Grasp(50, 50, np.deg2rad(178), 40, 20), gt)      # Φ ≡ Φ + π
