"""Robustness tensors: grasp-aligned crops, shards + manifest without pickle, the Dex-Net 2.0 reader,
and grasp-dataset --robustness-trials."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from grasp_core.datasets.dexnet import list_dexnet, read_dexnet
from grasp_core.datasets.robustness import (
    CROP_SIZE,
    FIELDS,
    aligned_crop,
    crop_matrix,
    read_robustness,
    read_shard,
    write_manifest,
    write_shard,
)


def _bar_image(phi: float, c=(101.3, 98.7), length=60.0, thick=8.0):
    """0.70 m background, a 0.65 m bar along (cos φ, −sin φ) through c, and a 0.60 m bump at its + end."""
    v, u = np.mgrid[0:200, 0:200].astype(np.float64)
    d = np.array([math.cos(phi), -math.sin(phi)])
    du, dv = u - c[0], v - c[1]
    along = du * d[0] + dv * d[1]
    across = -du * d[1] + dv * d[0]
    img = np.full((200, 200), 0.70, np.float32)
    img[(np.abs(along) <= length / 2) & (np.abs(across) <= thick / 2)] = 0.65
    img[(along > length / 2 - 8) & (along <= length / 2) & (np.abs(across) <= thick / 2)] = 0.60
    return img


@pytest.mark.parametrize("deg", [0.0, 30.0, 90.0, 137.0, -60.0])
def test_crop_puts_a_rotated_bar_on_the_middle_rows_with_its_plus_end_right(deg):
    phi = math.radians(deg)
    img = _bar_image(phi)
    # 64 source px across the crop: 0.128 m at 500 px/m
    crop = aligned_crop(img, 101.3, 98.7, phi, px_per_m=500.0)
    assert crop.shape == (CROP_SIZE, CROP_SIZE) and crop.dtype == np.float32
    mid = crop[15:17]
    # the bar (60 px source = 30 crop px) lies along the middle rows, centred
    assert np.all(mid[:, 4:28] < 0.68), f"{deg}°: middle rows {mid.round(3)}"
    assert np.all(crop[:9] > 0.69) and np.all(crop[-9:] > 0.69), f"{deg}°: the bar leaves the middle rows"
    assert np.all(mid[:, :1] > 0.69) and np.all(mid[:, -1:] > 0.69), f"{deg}°: bar longer than 30 crop px"
    # the bump at the bar's + end (closing direction) is on the right
    bump = np.nonzero(mid.min(0) < 0.62)[0]
    assert len(bump) and bump.min() > 20, f"{deg}°: bump at columns {bump}"


def test_crop_matrix_maps_the_centre_to_the_crop_centre_and_scales_by_metres():
    m = crop_matrix(50.0, 40.0, 0.7, px_per_m=250.0)  # 250 px/m = the crop's own scale: s = 1
    assert np.allclose(m @ [50.0, 40.0, 1.0], [15.5, 15.5])
    assert np.isclose(abs(np.linalg.det(m[:, :2])), 1.0)
    m2 = crop_matrix(0.0, 0.0, 0.0, px_per_m=1000.0)
    assert np.isclose(m2[0, 0], 0.25)
    with pytest.raises(ValueError):
        crop_matrix(0, 0, 0, px_per_m=0.0)


def _arrays(n: int, scene: int, rng):
    a = {
        "crops": rng.uniform(0.6, 0.8, (n, 32, 32)), "crops_perfect": rng.uniform(0.6, 0.8, (n, 32, 32)),
        "z": rng.uniform(0.7, 0.8, n), "centre_depth": rng.uniform(0.6, 0.7, n),
        "held": rng.integers(0, 5, n), "trials": np.full(n, 4), "nominal_kept": rng.random(n) < 0.9,
        "scene": np.full(n, scene), "obj": rng.integers(0, 3, n), "kind": rng.choice(["box", "cylinder", "T"], n),
        "image_grasp": rng.normal(size=(n, 5)), "world_grasp": rng.normal(size=(n, 6)), "px_per_m": np.full(n, 700.0),
    }
    a["robust"] = a["held"] >= 3
    return a


def test_shards_and_manifest_round_trip_without_pickle(tmp_path):
    rng = np.random.default_rng(0)
    shards = {0: _arrays(5, 0, rng), 3: _arrays(0, 3, rng), 7: _arrays(4, 7, rng)}
    for k, a in shards.items():
        write_shard(tmp_path / "robustness" / f"scene_{k:06d}.npz", a)
    man_path = write_manifest(tmp_path, {"trials": 4, "robust_fraction": 0.75})
    man = json.loads(man_path.read_text())
    assert man["format"] == "grasp_robustness/1" and man["n"] == 9 and [s["n"] for s in man["shards"]] == [5, 0, 4]
    assert man["robust"] == int(shards[0]["robust"].sum() + shards[7]["robust"].sum())
    got, man2 = read_robustness(tmp_path)
    assert man2 == man
    for k, t in FIELDS.items():
        want = np.concatenate([np.asarray(shards[s][k]).astype(t) for s in (0, 3, 7)], 0)
        assert got[k].dtype == np.dtype(t), k
        np.testing.assert_array_equal(got[k], want, err_msg=k)
    # every array is a plain (non-object) array: np.load without pickle reads it
    with np.load(tmp_path / "robustness" / "scene_000000.npz", allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
    assert read_shard(tmp_path / "robustness" / "scene_000007.npz")["kind"].dtype.kind == "U"


def test_write_shard_rejects_missing_keys_and_ragged_arrays(tmp_path):
    a = _arrays(3, 0, np.random.default_rng(1))
    with pytest.raises(ValueError):
        write_shard(tmp_path / "x.npz", {k: v for k, v in a.items() if k != "z"})
    a["z"] = a["z"][:2]
    with pytest.raises(ValueError):
        write_shard(tmp_path / "x.npz", a)
    with pytest.raises(FileNotFoundError):
        read_robustness(tmp_path)


def test_dexnet_reader_reads_the_dexnet_2_layout_with_a_threshold(tmp_path):
    rng = np.random.default_rng(2)
    t = tmp_path / "tensors"
    t.mkdir()
    metrics = {}
    for num, n in (("00000", 6), ("00001", 4)):
        np.savez_compressed(t / f"depth_ims_tf_table_{num}.npz", rng.uniform(0.6, 0.7, (n, 32, 32, 1)).astype("f4"))
        poses = rng.normal(size=(n, 7)).astype("f4")
        poses[:, 2] = rng.uniform(0.6, 0.75, n)
        np.savez_compressed(t / f"hand_poses_{num}.npz", poses)
        metrics[num] = rng.uniform(0, 0.005, n).astype("f4")
        np.savez_compressed(t / f"robust_ferrari_canny_{num}.npz", metrics[num])
    np.savez_compressed(t / "object_labels_00000.npz", np.array([3, 3, 4, 4, 5, 5]))
    assert list_dexnet(t) == ["00000", "00001"]
    d = read_dexnet(tmp_path)  # the parent of tensors/ works too
    assert d["crops"].shape == (10, 32, 32) and d["z"].shape == (10,)
    met = np.concatenate([metrics["00000"], metrics["00001"]])
    np.testing.assert_array_equal(d["robust"], met > 0.002)
    np.testing.assert_array_equal(d["scene"], [3, 3, 4, 4, 5, 5, 1, 1, 1, 1])
    poses0 = np.load(t / "hand_poses_00000.npz")["arr_0"]
    np.testing.assert_array_equal(d["z"][:6], poses0[:, 2])
    assert np.array_equal(read_dexnet(t, threshold=0.004)["robust"], met > 0.004)
    assert len(read_dexnet(t, max_files=1)["z"]) == 6
    (t / "hand_poses_00001.npz").unlink()
    with pytest.raises(FileNotFoundError):
        read_dexnet(t)


def test_grasp_dataset_robustness_trials_writes_shards_and_keeps_the_jacquard_labels(tmp_path, monkeypatch):
    pytest.importorskip("mujoco")
    monkeypatch.setenv("MUJOCO_GL", "egl")
    from grasp_core.cli.dataset import main

    args = ["--scenes", "1", "--views-per-scene", "1", "--seed", "50007", "--workers", "1",
            "--trials-per-object", "1", "--samples", "1"]
    assert main(["--output", str(tmp_path / "plain"), *args]) == 0
    assert main(["--output", str(tmp_path / "rob"), *args, "--robustness-trials", "2"]) == 0
    assert not (tmp_path / "plain" / "robustness").exists()
    assert ((tmp_path / "plain" / "000000_0_grasps.txt").read_text()
            == (tmp_path / "rob" / "000000_0_grasps.txt").read_text())
    d, man = read_robustness(tmp_path / "rob")
    top = json.loads((tmp_path / "rob" / "manifest.json").read_text())
    assert man["trials"] == 2 and top["robustness"]["n"] == man["n"] == len(d["z"]) > 0
    assert np.all(d["trials"] == 2) and np.all((0 <= d["held"]) & (d["held"] <= 2))
    np.testing.assert_array_equal(d["robust"], d["held"] >= 0.75 * 2)
    assert d["crops"].shape[1:] == (32, 32) and np.all(np.isfinite(d["crops"]))
    # the gripper goes below the surface it grasps: z beyond the centre depth, by at most the depth range + noise
    assert np.all(d["z"] > d["centre_depth"]) and np.all(d["z"] - d["centre_depth"] < 0.06)
    assert main(["--output", str(tmp_path / "bad"), *args, "--robustness-trials", "2", "--no-physics"]) == 2
