"""The dataset readers (grasp_core.datasets): one depth / RGB / mask file reader for every layout,
clear errors on missing or corrupt files, and the Cornell / Jacquard layouts on generated files."""
import cv2
import numpy as np
import pytest
from grasp_core.datasets import (
    DatasetError,
    list_cornell,
    read_cornell,
    read_depth,
    read_jacquard,
    read_jacquard_mask,
    read_mask,
    read_rgb,
)
from grasp_core.frames import FrameError, load_depth, load_depth_native


def _depth():
    d = np.full((24, 32), 0.7, np.float32)
    d[5:9, 5:9] = 0.0
    d[10, 10] = np.nan
    d[12, 12] = -1.0
    d[0, 0] = 0.03  # valid for a dataset, below a camera frame's 0.05 m
    return d


def test_depth_files_of_every_type_read_alike(tmp_path):
    d = _depth()
    np.save(tmp_path / "a.npy", d)
    cv2.imwrite(str(tmp_path / "a.tiff"), d)
    mm = np.nan_to_num(d * 1000, nan=0).clip(0).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), mm)
    for name in ("a.npy", "a.tiff"):
        r = read_depth(tmp_path / name)
        assert r.dtype == np.float32 and r.shape == d.shape
        np.testing.assert_array_equal(np.isnan(r), ~(d > 0) | np.isnan(d))  # 0, NaN, negative: holes
        np.testing.assert_allclose(r[20, 20], 0.7)
    png = read_depth(tmp_path / "a.png")
    np.testing.assert_allclose(png[20, 20], 0.7, atol=1e-6)
    assert np.isnan(png[6, 6]) and np.isnan(png[12, 12])
    # a camera frame has a valid range (0.05-10 m): the 3 cm pixel becomes a hole there only
    assert read_depth(tmp_path / "a.tiff")[0, 0] == np.float32(0.03)
    assert np.isnan(load_depth(tmp_path / "a.tiff")[0, 0])
    three = np.dstack([d, d, d])  # a multi-channel depth file keeps its first channel
    cv2.imwrite(str(tmp_path / "c.tiff"), three)
    np.testing.assert_array_equal(np.isnan(read_depth(tmp_path / "c.tiff")), np.isnan(read_depth(tmp_path / "a.tiff")))


def test_native_depth_keeps_a_16_bit_pngs_millimetres_as_a_driver_sends_them(tmp_path):
    """A replayed 16-bit PNG is the driver's 16UC1 (uint16 mm, 0 = hole), unconverted; other files are metres;
    both give the same metres through depth_to_metres."""
    from grasp_core.depth import depth_to_metres

    d = _depth()
    mm = np.nan_to_num(d * 1000, nan=0).clip(0).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), mm)
    np.save(tmp_path / "a.npy", d)
    raw, enc = load_depth_native(tmp_path / "a.png")
    assert enc == "16UC1" and raw.dtype == np.uint16
    np.testing.assert_array_equal(raw, mm)
    metres, enc2 = load_depth_native(tmp_path / "a.npy")
    assert enc2 == "32FC1" and metres.dtype == np.float32
    np.testing.assert_array_equal(depth_to_metres(raw, enc), load_depth(tmp_path / "a.png"))
    with pytest.raises(FrameError, match="b.png"):
        load_depth_native(tmp_path / "b.png")


def test_corrupt_missing_and_wrong_files_raise_a_value_error_naming_the_file(tmp_path):
    good = np.full((8, 8), 0.5, np.float32)
    cv2.imwrite(str(tmp_path / "good.tiff"), good)
    data = (tmp_path / "good.tiff").read_bytes()
    (tmp_path / "cut.tiff").write_bytes(data[:12])  # truncated
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (tmp_path / "text.npy").write_text("not an array")
    np.save(tmp_path / "ints.npy", np.ones((4, 4), np.int32))
    cv2.imwrite(str(tmp_path / "rgb8.png"), np.zeros((4, 4, 3), np.uint8))
    cases = [("cut.tiff", read_depth, "cannot decode"), ("junk.png", read_depth, "cannot decode"),
             ("text.npy", read_depth, "cannot read"), ("ints.npy", read_depth, "float metres"),
             ("rgb8.png", read_depth, "not depth"), ("none.tiff", read_depth, "no such"),
             ("a.bmp", read_depth, "unsupported"), ("junk.png", read_rgb, "cannot decode"),
             ("none.png", read_rgb, "no such"), ("junk.png", read_mask, "cannot decode")]
    for name, reader, why in cases:
        with pytest.raises(ValueError, match=why) as info:
            reader(tmp_path / name)
        assert isinstance(info.value, DatasetError) and str(tmp_path / name) in str(info.value), (name, info.value)
    with pytest.raises(FrameError, match="cut.tiff"):  # the frame reader is the same reader
        load_depth(tmp_path / "cut.tiff")


def test_rgb_and_mask_readers(tmp_path):
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 200  # red
    cv2.imwrite(str(tmp_path / "x_RGB.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(read_rgb(tmp_path / "x_RGB.png"), rgb)
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 2:5] = 3
    cv2.imwrite(str(tmp_path / "x_mask.png"), mask)
    np.testing.assert_array_equal(read_mask(tmp_path / "x_mask.png"), mask)
    np.testing.assert_array_equal(read_jacquard_mask(tmp_path, "x"), mask)
    cv2.imwrite(str(tmp_path / "y_mask.png"), cv2.cvtColor(mask * 80, cv2.COLOR_GRAY2BGR))  # saved as colour
    np.testing.assert_array_equal(read_mask(tmp_path / "y_mask.png"), mask * 80)


def test_layout_readers_pass_the_file_errors_on(tmp_path):
    (tmp_path / "000001_0_stereo_depth.tiff").write_bytes(b"II*\x00garbage")
    (tmp_path / "000001_0_grasps.txt").write_text("10;10;0;20;10\n")
    with pytest.raises(DatasetError, match="000001_0_stereo_depth.tiff"):
        read_jacquard(tmp_path, "000001_0")
    cv2.imwrite(str(tmp_path / "pcd0007d.tiff"), np.full((8, 8), 0.6, np.float32))
    (tmp_path / "pcd0007cpos.txt").write_text("1 1\n5 1\n5 3\n1 3\n")
    assert list_cornell(tmp_path) == ["pcd0007"]
    d, rgb, grasps = read_cornell(tmp_path, 7, rgb=True)
    assert d.shape == (8, 8) and rgb is None and len(grasps) == 1  # no colour file: None
    (tmp_path / "pcd0007r.png").write_bytes(b"broken")
    with pytest.raises(DatasetError, match="pcd0007r.png"):
        read_cornell(tmp_path, 7, rgb=True)
