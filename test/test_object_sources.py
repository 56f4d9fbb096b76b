"""Object sources of the cell: the household procedural families, pybullet's random_urdfs, robosuite's objects."""
import math
import re

import numpy as np
import pytest
from grasp_core.objects import (
    HOUSEHOLD_KINDS,
    WIDE_KINDS,
    ObjectSourceError,
    library_meshes,
    make_household_object,
    mesh_points_and_volume,
    min_horizontal_width,
    object_points,
    random_urdfs_split,
    robosuite_objects_dir,
)
from grasp_core.robot.gripper import STROKE
from grasp_core.sim.spawn import check_source, make_specs


def _extent(spec):
    p = object_points(spec)
    return p.max(0) - p.min(0)


@pytest.mark.parametrize("kind", sorted(HOUSEHOLD_KINDS))
def test_household_families_have_the_promised_sizes(kind):
    rng = np.random.default_rng(13)
    for _ in range(25):
        spec = make_household_object(kind, rng, "o")
        ext = _extent(spec)
        p = object_points(spec)
        assert np.allclose((p.max(0) + p.min(0)) / 2, 0.0, atol=1e-9)  # centred on the body origin
        assert spec.half_height == pytest.approx(ext[2] / 2)
        width = min_horizontal_width(p)
        if kind in ("bottle_standing", "box_standing"):  # tall, standing on end, at most 25 cm
            assert 0.12 <= ext[2] <= 0.25 + 1e-9 and ext[2] >= 1.5 * width
        if kind in ("scissors", "plate", "wide_plate"):  # thin and flat
            assert ext[2] <= 0.02 + 1e-9
        if kind in WIDE_KINDS:
            assert width > STROKE
        elif kind in ("drill", "hammer"):  # a handle and a body: the hull is wide, the handle fits the jaws
            narrowest_part = min(2 * min(g.size[:2]) if g.type == "box" else 2 * g.size[0] for g in spec.geoms)
            assert narrowest_part < 0.05 and max(ext[:2]) > 0.15
        else:
            assert width <= STROKE - 0.004


def test_procedural_household_source_draws_every_family_and_is_seeded():
    a = make_specs(60, "procedural:household", np.random.default_rng(4))
    b = make_specs(60, "procedural:household", np.random.default_rng(4))
    assert {s.kind for s in a} == set(HOUSEHOLD_KINDS)
    assert [(s.kind, s.geoms) for s in a] == [(s.kind, s.geoms) for s in b]
    assert {s.kind for s in make_specs(3, "procedural:drill", np.random.default_rng(0))} == {"drill"}
    assert {s.kind for s in make_specs(3, "procedural:ring", np.random.default_rng(0))} == {"ring"}
    # a known mix: object k of the k-th family, cyclically
    mix = make_specs(5, "procedural:star,bottle_standing,box", np.random.default_rng(0))
    assert [(s.name, s.kind) for s in mix] == [("obj_0", "star"), ("obj_1", "bottle_standing"), ("obj_2", "box"),
                                               ("obj_3", "star"), ("obj_4", "bottle_standing")]


@pytest.mark.parametrize("source, words", [
    ("procedural:teapot", "unknown procedural family"),
    ("procedural:star,teapot", "unknown procedural family 'teapot'"),
    ("pybullet:nope", "unknown object source"),
    ("robosuite:kitchen", "unknown object source"),
])
def test_bad_sources_are_one_line_errors(source, words):
    with pytest.raises(ValueError, match=words) as info:
        check_source(source)
    assert "\n" not in str(info.value)


def _obj_vertices(path):
    v = [[float(x) for x in ln.split()[1:4]] for ln in open(path) if ln.startswith("v ")]
    return np.array(v)


def test_random_urdfs_split_and_scale():
    pytest.importorskip("pybullet_data")
    all_ = library_meshes("pybullet:random_urdfs")
    train, test = library_meshes("pybullet:random_urdfs:train"), library_meshes("pybullet:random_urdfs:test")
    assert len(all_) == 1000
    ids = lambda ms: {m.object_id for m in ms}  # noqa: E731
    assert ids(train) | ids(test) == ids(all_) and not ids(train) & ids(test)
    assert 150 <= len(test) <= 250  # one in five, by the hash of the id
    assert all(random_urdfs_split(int(m.object_id[-3:])) == "test" for m in test)
    # the URDF's mesh scale is applied (MuJoCo's hull of the mesh = the file's vertices x scale)
    m = next(m for m in all_ if m.object_id == "random_urdfs_000")
    assert m.scale == (0.015, 0.015, 0.015) and m.path.name == "000.obj"
    v = _obj_vertices(m.path)
    pts, vol = mesh_points_and_volume(m.path, m.scale)
    np.testing.assert_allclose(pts.max(0) - pts.min(0), (v.max(0) - v.min(0)) * 0.015, rtol=0.02)
    assert vol > 0
    # scenes draw test objects only, seeded
    specs = make_specs(4, "pybullet:random_urdfs:test", np.random.default_rng(1))
    again = make_specs(4, "pybullet:random_urdfs:test", np.random.default_rng(1))
    assert [s.name for s in specs] == [s.name for s in again]
    assert all(random_urdfs_split(int(re.match(r"random_urdfs_(\d+)_", s.name)[1])) == "test" for s in specs)


def test_robosuite_household_meshes_and_their_scales():
    if robosuite_objects_dir() is None:
        pytest.skip("robosuite's object meshes are not unpacked (python scripts/fetch_robosuite_objects.py)")
    meshes = {m.object_id: m for m in library_meshes("robosuite:household")}
    assert sorted(meshes) == sorted(["bottle", "can", "cereal", "milk", "bread", "lemon"])
    lemon = meshes["lemon"]
    assert lemon.scale == (1.5, 1.0, 1.0) and lemon.path.suffix == ".stl"  # .msh → the shipped STL
    raw, _ = mesh_points_and_volume(lemon.path, 1.0)
    scaled, _ = mesh_points_and_volume(lemon.path, lemon.scale)
    np.testing.assert_allclose(np.ptp(scaled, 0), np.ptp(raw, 0) * [1.5, 1.0, 1.0], rtol=1e-6)
    for name, m in meshes.items():  # household sizes in metres: 3–25 cm
        ext = np.ptp(mesh_points_and_volume(m.path, m.scale)[0], 0)
        assert 0.03 <= ext.max() <= 0.25, (name, ext)


def test_missing_library_package_is_a_clear_error(monkeypatch):
    import grasp_core.objects as objects

    monkeypatch.setattr(objects, "_package_dir", lambda module: None)  # as on a runtime-profile install
    monkeypatch.delenv("GRASP_ROBOSUITE_OBJECTS", raising=False)
    with pytest.raises(ObjectSourceError, match=r"pip install pybullet==3\.2\.7"):
        library_meshes("pybullet:random_urdfs:test")
    if objects.robosuite_objects_dir() is None:
        with pytest.raises(ObjectSourceError, match="fetch_robosuite_objects"):
            library_meshes("robosuite:household")
    assert math.isfinite(STROKE)


def test_dataset_generator_takes_the_named_sources():
    pytest.importorskip("mujoco")
    from grasp_core.objects import source_makers
    from grasp_core.synth.scene import SceneConfig, make_scene

    cfg = SceneConfig(min_objects=3, max_objects=3, mesh_fraction=1.0, settle_steps=50)
    scene = make_scene(5, cfg, source_makers("procedural:household"))
    assert {o.kind for o in scene.objects} <= set(HOUSEHOLD_KINDS) and len(scene.objects) == 3
    if robosuite_objects_dir() is not None:
        scene = make_scene(5, cfg, source_makers("robosuite:household"))
        assert all(o.kind == "mesh" for o in scene.objects)


def test_a_multi_object_obj_becomes_its_convex_pieces(tmp_path):
    """A convex decomposition in one OBJ (as pybullet's random_urdfs): every piece is a geom of the body."""
    pytest.importorskip("mujoco")
    from grasp_core.objects import mesh_object, obj_parts, object_volume

    lines = []
    for k, x0 in enumerate((0.0, 0.05)):  # two 2 cm cubes, 3 cm apart
        lines.append(f"o convex_{k}")
        lines += [f"v {x0 + x} {y} {z}" for x in (0, 0.02) for y in (0, 0.02) for z in (0, 0.02)]
        b = 8 * k + 1
        quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
        lines += [f"f {b + a} {b + c} {b + d}\nf {b + a} {b + d} {b + e}" for a, c, d, e in quads]
    path = tmp_path / "two.obj"
    path.write_text("\n".join(lines) + "\n")
    parts = obj_parts(path, cache=tmp_path / "cache")
    assert len(parts) == 2 and obj_parts(path, cache=tmp_path / "cache") == parts  # written once
    spec = mesh_object(path, "two", 1.0, split_parts=True)
    assert len(spec.geoms) == 2
    assert object_volume(spec) == pytest.approx(2 * 0.02 ** 3, rel=1e-3)
    assert np.ptp(object_points(spec), 0) == pytest.approx([0.07, 0.02, 0.02], abs=1e-6)
