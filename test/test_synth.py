"""Synthetic scene generator, antipodal labels, Jacquard / Cornell readers and writer."""
import json
import math
import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
mujoco = pytest.importorskip("mujoco")

from grasp_core.grasp import Grasp, angle_difference  # noqa: E402
from grasp_core.objects import KINDS, make_object  # noqa: E402
from grasp_core.synth.generate import render_scene  # noqa: E402
from grasp_core.synth.labels import STROKE_M  # noqa: E402
from grasp_core.synth.scene import SceneConfig, make_scene  # noqa: E402

from grasp_core import datasets  # noqa: E402


@pytest.fixture(scope="module")
def views():
    try:
        return render_scene(3, views=2)
    except Exception as exc:  # no OpenGL context on this machine
        pytest.skip(f"MuJoCo rendering unavailable: {exc}")


def test_determinism_same_seed(views):
    again = render_scene(3, views=2)
    for a, b in zip(views, again, strict=True):
        np.testing.assert_array_equal(a["depth"], b["depth"])
        np.testing.assert_array_equal(a["mask"], b["mask"])
        np.testing.assert_array_equal(np.nan_to_num(a["noisy"]), np.nan_to_num(b["noisy"]))
        assert datasets.format_grasps(a["grasps"]) == datasets.format_grasps(b["grasps"])
    other = render_scene(4, views=1)
    assert not np.array_equal(other[0]["depth"], views[0]["depth"])


def test_render_outputs(views):
    v = views[0]
    assert v["depth"].shape == (480, 640) and v["depth"].dtype == np.float32
    assert v["rgb"].shape == (480, 640, 3) and v["rgb"].dtype == np.uint8
    assert 0.3 < float(np.median(v["depth"])) < 2.0
    assert v["mask"].max() >= 1
    assert np.isnan(v["noisy"]).any()  # holes
    valid = ~np.isnan(v["noisy"])
    assert np.abs(v["noisy"][valid] - v["depth"][valid]).mean() < 0.02
    fx = v["camera"]["fx"]
    assert 525 * 0.9 - 1e-6 <= fx <= 525 * 1.1 + 1e-6


def test_labels_inside_masks_and_within_stroke(views):
    n = 0
    for v in views:
        fx = v["camera"]["fx"]
        mask = v["mask"]
        for g in v["grasps"]:
            n += 1
            u, vv = int(round(g.u)), int(round(g.v))
            assert mask[vv, u] > 0, "grasp centre off the objects"
            z = float(v["depth"][vv, u])
            opening_m = g.width_px * z / fx
            assert opening_m <= STROKE_M * 1.15  # stroke at the object's median depth; 15% for depth spread
            # the contacts (centre ± half the contact distance) are on the same object
            c, s = math.cos(g.angle), math.sin(g.angle)
            for sign in (-1, 1):
                pu = g.u + sign * c * (g.width_px / 2 - 4)
                pv = g.v - sign * s * (g.width_px / 2 - 4)
                if g.width_px > 10:
                    assert mask[int(round(pv)), int(round(pu))] == mask[vv, u]
    assert n > 0


def test_every_object_kind_builds():
    rng = np.random.default_rng(0)
    for kind in KINDS:
        spec = make_object(kind, rng, "o")
        assert spec.geoms and spec.radius > 0
    with pytest.raises(ValueError):
        make_object("teapot", rng)


def test_scene_settles_on_table():
    sc = make_scene(11, SceneConfig(settle_steps=300))
    z = sc.data.xpos[1:, 2]  # body 0 is the world
    assert np.all(z > -0.05) and np.all(z < 0.3)


def test_jacquard_round_trip(tmp_path, views):
    v = views[0]
    datasets.write_jacquard_image(tmp_path, "000003_0", v["depth"], v["noisy"], v["rgb"], v["mask"], v["grasps"])
    assert datasets.jacquard_complete(tmp_path, "000003_0")
    assert datasets.list_jacquard(tmp_path) == ["000003_0"]
    d, rgb, grasps = datasets.read_jacquard(tmp_path, "000003_0", depth="perfect", rgb=True)
    np.testing.assert_array_equal(d, v["depth"])
    np.testing.assert_array_equal(rgb, v["rgb"])
    dn, _, _ = datasets.read_jacquard(tmp_path, "000003_0", depth="stereo")
    np.testing.assert_array_equal(np.isnan(dn), np.isnan(v["noisy"]))
    assert len(grasps) == len(v["grasps"])
    for a, b in zip(grasps, v["grasps"], strict=True):
        assert abs(a.u - b.u) < 0.01 and abs(a.v - b.v) < 0.01
        assert angle_difference(a.angle, b.angle) < 1e-3 and abs(a.width_px - b.width_px) < 0.01


def test_jacquard_angle_sign_convention():
    # Jacquard θ is clockwise on screen: θ = +30 → Φ = −30° (closing line pointing down-right)
    (g,) = datasets.parse_jacquard_grasps("100;50;30;40;20\n")
    assert abs(g.angle - math.radians(-30)) < 1e-9
    assert datasets.format_grasps([g]).startswith("100.00;50.00;30.00;40.00;20.00")
    with pytest.raises(datasets.DatasetError):
        datasets.parse_jacquard_grasps("1;2;3\n")


def test_cornell_reader_on_generated_cpos(tmp_path):
    import cv2

    grasps = [Grasp(100, 80, 0.4, 40, 20), Grasp(200, 150, -1.2, 30, 15)]
    datasets.write_cornell_cpos(tmp_path / "pcd0042cpos.txt", grasps)
    depth = np.full((480, 640), 0.9, np.float32)
    cv2.imwrite(str(tmp_path / "pcd0042d.tiff"), depth)
    d, _, got = datasets.read_cornell(tmp_path, 42)
    np.testing.assert_array_equal(d, depth)
    assert len(got) == 2
    for a, b in zip(got, grasps, strict=True):
        assert abs(a.u - b.u) < 1e-2 and abs(a.v - b.v) < 1e-2
        assert angle_difference(a.angle, b.angle) < 1e-3
        assert abs(a.width_px - b.width_px) < 1e-2 and abs(a.length_px - b.length_px) < 1e-2
    (tmp_path / "pcd0043cpos.txt").write_text("1 2\n3 4\n5 6\n")
    with pytest.raises(datasets.DatasetError):
        datasets.parse_cornell_cpos((tmp_path / "pcd0043cpos.txt").read_text())


def test_dataset_cli(tmp_path):
    from grasp_core.cli.dataset import main

    assert main(["--output", str(tmp_path / "d"), "--scenes", "0"]) == 2
    assert main(["--output", str(tmp_path / "d"), "--scenes", "2", "--views-per-scene", "1",
                 "--workers", "1", "--seed", "5"]) == 0
    man = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert man["images"] == 2 and set(man["per_image"]) == {"000000_0", "000001_0"}
    assert (tmp_path / "d" / "samples.png").is_file()
    stamp = (tmp_path / "d" / "000000_0_grasps.txt").stat().st_mtime_ns
    assert main(["--output", str(tmp_path / "d"), "--scenes", "2", "--views-per-scene", "1",
                 "--workers", "1", "--seed", "5"]) == 0  # resume: nothing rewritten
    assert (tmp_path / "d" / "000000_0_grasps.txt").stat().st_mtime_ns == stamp


def test_mesh_folder_loader(tmp_path):
    from grasp_core.objects import find_mesh_files, mesh_object

    sub = tmp_path / "cube"
    sub.mkdir()
    verts = [(x, y, z) for x in (-0.02, 0.02) for y in (-0.03, 0.03) for z in (-0.015, 0.015)]
    faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    (sub / "cube.obj").write_text("".join(f"v {x} {y} {z}\n" for x, y, z in verts)
                                  + "".join("f " + " ".join(map(str, f)) + "\n" for f in faces))
    files = find_mesh_files(tmp_path)
    assert [f.name for f in files] == ["cube.obj"]
    spec = mesh_object(files[0], "m0")
    assert abs(spec.half_height - 0.03) < 1e-9
    sc = make_scene(2, SceneConfig(min_objects=2, max_objects=2, settle_steps=200),
                    mesh_specs=[lambda rng, name: mesh_object(files[0], name)] * 1)
    assert sc.model.nmesh <= 1 and len(sc.objects) == 2
    with pytest.raises(FileNotFoundError):
        find_mesh_files(tmp_path / "missing")


def _cube_obj(path, scale=1.0):
    verts = [(x * scale, y * scale, z * scale) for x in (-0.02, 0.02) for y in (-0.03, 0.03) for z in (-0.015, 0.015)]
    faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in verts)
                    + "".join("f " + " ".join(map(str, f)) + "\n" for f in faces))


def test_millimetre_meshes_with_mesh_scale_and_meshes_only_scenes(tmp_path):
    """A CAD part in millimetres with scale 0.001 is the same object as in metres; mesh_fraction 1 → every
    object of the scene is a mesh."""
    from grasp_core.objects import mesh_object

    _cube_obj(tmp_path / "m.obj")
    _cube_obj(tmp_path / "mm.obj", 1000.0)
    a, b = mesh_object(tmp_path / "m.obj", "a"), mesh_object(tmp_path / "mm.obj", "b", 0.001)
    assert abs(a.half_height - 0.03) < 1e-9 and abs(b.half_height - 0.03) < 1e-9 and abs(a.radius - b.radius) < 1e-9
    assert mesh_object(tmp_path / "mm.obj", "c").half_height == pytest.approx(30.0)
    specs = [lambda rng, name: mesh_object(tmp_path / "mm.obj", name, 0.001)]
    sc = make_scene(4, SceneConfig(min_objects=3, max_objects=3, settle_steps=200, mesh_fraction=1.0), specs)
    assert [o.kind for o in sc.objects] == ["mesh"] * 3
    sc = make_scene(4, SceneConfig(min_objects=3, max_objects=3, settle_steps=200, mesh_fraction=0.0), specs)
    assert "mesh" not in [o.kind for o in sc.objects]


def test_dataset_cli_mesh_scale_and_fraction(tmp_path, capsys):
    import json

    from grasp_core.cli.dataset import main

    parts = tmp_path / "parts"
    parts.mkdir()
    _cube_obj(parts / "block_mm.obj", 1000.0)
    out = tmp_path / "d"
    assert main(["--output", str(out), "--objects", str(parts), "--mesh-scale", "0.001", "--mesh-fraction", "1",
                 "--scenes", "1", "--views-per-scene", "1", "--workers", "1", "--seed", "3", "--no-physics"]) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["mesh_scale"] == 0.001 and man["mesh_fraction"] == 1.0 and man["grasps"] > 0
    assert set(json.loads((out / ".meta" / "scene_000000.json").read_text())["kinds"]) == {"mesh"}
    # resuming with another scale must not keep the scene made at the old one
    assert main(["--output", str(out), "--objects", str(parts), "--mesh-scale", "0.0008", "--mesh-fraction", "1",
                 "--scenes", "1", "--views-per-scene", "1", "--workers", "1", "--seed", "3", "--no-physics"]) == 0
    assert json.loads((out / ".meta" / "scene_000000.json").read_text())["mesh_scale"] == 0.0008
    capsys.readouterr()
    for bad in (["--mesh-scale", "0"], ["--mesh-scale", "nan"], ["--mesh-fraction", "1.5"]):
        assert main(["--output", str(tmp_path / "e"), "--objects", str(parts), *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("grasp-dataset: error:")
