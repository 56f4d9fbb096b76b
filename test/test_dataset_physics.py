"""grasp-dataset with physics validation: determinism, worker independence, trial replay, masks, CLI errors."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
mujoco = pytest.importorskip("mujoco")

from grasp_core.cli.dataset import main  # noqa: E402
from grasp_core.synth import jacquard  # noqa: E402
from grasp_core.synth.generate import NEAR_CLIP_M, build_scene, project_grasp  # noqa: E402
from grasp_core.synth.physics import GraspTrials, WorldGrasp, replay_trial, top_camera  # noqa: E402
from grasp_core.synth.scene import Camera, render_view  # noqa: E402

# dataset seed 0, scenes 0-1: scene 0 has both kept and rejected candidates at 4 trials per object
ARGS = ["--scenes", "2", "--views-per-scene", "2", "--seed", "0", "--trials-per-object", "4", "--samples", "4"]


def _meta(folder: Path, k: int) -> dict:
    return json.loads((folder / ".meta" / f"scene_{k:06d}.json").read_text())


def _trials(meta: dict) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "seconds"} for t in meta["trials"]]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("phys") / "a"
    try:
        rc = main(["--output", str(out), "--workers", "1", *ARGS])
    except Exception as exc:  # no OpenGL context on this machine
        pytest.skip(f"MuJoCo rendering unavailable: {exc}")
    assert rc == 0
    return out


def test_manifest_records_validation(dataset):
    man = json.loads((dataset / "manifest.json").read_text())
    val = man["validation"]
    trials = [t for k in range(2) for t in _meta(dataset, k)["trials"]]
    assert man["physics"] is True and val["candidates_tried"] == len(trials) > 0
    assert val["kept"] == sum(t["kept"] for t in trials)
    assert 0 < val["kept"] < val["candidates_tried"]
    assert sum(v["tried"] for v in val["per_kind"].values()) == len(trials)
    assert sum(val["outcomes"].values()) == len(trials) and val["outcomes"]["held"] == val["kept"]
    g = val["gripper"]
    assert g["stroke"] == 0.085 and g["pad_friction"] == 1.4 and g["pad_condim"] == 4
    assert g["pad_size"] == pytest.approx([0.022, 0.008, 0.037]) and g["grip_force"] == 100.0
    assert g["lift_height"] == 0.15 and val["seconds_per_trial"] > 0
    assert (dataset / "samples.png").is_file()
    # every written label comes from a kept trial: no more rectangles per view than kept grasps
    for k in range(2):
        meta = _meta(dataset, k)
        n_kept = sum(t["kept"] for t in meta["trials"])
        for i, info in meta["images"].items():
            assert len(jacquard.read_jacquard(dataset, i)[2]) == info["grasps"] <= n_kept


def test_same_seed_same_files_any_workers(dataset, tmp_path):
    again = tmp_path / "b"
    assert main(["--output", str(again), "--workers", "2", *ARGS]) == 0
    ids = jacquard.list_jacquard(dataset)
    assert ids == jacquard.list_jacquard(again) and len(ids) == 4
    for i in ids:
        for suffix in ("_grasps.txt", "_mask.png"):
            assert (dataset / (i + suffix)).read_bytes() == (again / (i + suffix)).read_bytes(), i + suffix
    for k in range(2):
        assert _trials(_meta(dataset, k)) == _trials(_meta(again, k))
    other = tmp_path / "c"
    assert main(["--output", str(other), "--workers", "1", "--scenes", "1", "--views-per-scene", "1",
                 "--seed", "7", "--trials-per-object", "4", "--samples", "1"]) == 0
    assert (other / "000000_0_grasps.txt").read_bytes() != (dataset / "000000_0_grasps.txt").read_bytes()
    assert _trials(_meta(other, 0)) != _trials(_meta(dataset, 0))


def test_replay_kept_lifts_and_rejected_does_not(dataset):
    meta = _meta(dataset, 0)
    kept = next(t for t in meta["trials"] if t["kept"])
    rejected = next(t for t in meta["trials"] if not t["kept"])
    scene = build_scene(meta["seed"])
    trials = GraspTrials(scene)
    for record, should_hold in ((kept, True), (rejected, False), (kept, True)):  # order does not matter
        g = WorldGrasp.from_dict(record["grasp"])
        res = trials.run(g)
        assert res.kept is should_hold and res.reason == record["reason"]
        assert abs(res.lift - record["lift"]) < 1e-4  # the logged trial, replayed
        if should_hold:
            assert res.lift > 0.08  # the object rose with the 0.15 m lift
        else:
            assert res.lift < 0.08
    # a fresh process-independent rebuild from the seed gives the same verdict
    assert replay_trial(meta["seed"], kept["grasp"]).kept
    assert not replay_trial(meta["seed"], rejected["grasp"]).kept


def test_rejected_when_closing_on_air(dataset):
    meta = _meta(dataset, 0)
    kept = WorldGrasp.from_dict(next(t for t in meta["trials"] if t["kept"])["grasp"])
    trials = GraspTrials(build_scene(meta["seed"]))
    # the same grasp 0.3 m away from every object: the fingers close on nothing
    far = WorldGrasp(kept.obj, (kept.centre[0] + 0.3, kept.centre[1] + 0.3, kept.centre[2]), kept.yaw,
                     kept.opening, kept.fingertip_z)
    res = trials.run(far)
    assert not res.kept and res.reason == "missed" and abs(res.lift) < 0.01


def test_mask_matches_depth_above_table(dataset):
    man = json.loads((dataset / "manifest.json").read_text())
    for i in jacquard.list_jacquard(dataset):
        cam = man["per_image"][i]["camera"]
        d, _, grasps = jacquard.read_jacquard(dataset, i, depth="perfect")
        mask = jacquard.read_jacquard_mask(dataset, i)
        assert mask.shape == d.shape and mask.max() >= 1
        h, w = d.shape
        u, v = np.meshgrid(np.arange(w), np.arange(h))
        x, y = (u - cam["cx"]) * d / cam["fx"], -(v - cam["cy"]) * d / cam["fy"]
        zc = np.cross(cam["xaxis"], cam["yaxis"])
        height = cam["position"][2] + x * cam["xaxis"][2] + y * cam["yaxis"][2] - d * zc[2]
        obj, above = mask > 0, height > 0.004
        # object pixels are above the table, and what stands above the table is an object
        assert np.mean(height[obj] > -0.002) > 0.995
        assert (obj & above).sum() / max(1, (obj | above).sum()) > 0.97  # IoU; edges differ
        for g in grasps:  # each label's centre is on an object
            assert mask[int(round(g.v)), int(round(g.u))] > 0


def test_projection_into_the_candidate_camera(dataset):
    """A world grasp projected back into the top camera has the candidate's direction and opening."""
    meta = _meta(dataset, 0)
    scene = build_scene(meta["seed"])
    assert scene.model.vis.map.znear * scene.model.stat.extent == pytest.approx(NEAR_CLIP_M)
    cam = top_camera(scene)
    view = render_view(scene, cam)
    for t in meta["trials"][:4]:
        g = WorldGrasp.from_dict(t["grasp"])
        r = project_grasp(g, cam, view.labels, 0.022)
        assert r is not None
        assert abs(math.cos(r.angle) * math.cos(g.yaw) + math.sin(r.angle) * math.sin(g.yaw)) > 0.999
        z = cam.pos[2] - g.centre[2]
        assert r.width_px * z / cam.fx == pytest.approx(g.opening, rel=0.01)
    up = Camera(cam.pos + np.array([0.0, 0.0, 5.0]), cam.xaxis, -cam.yaxis)  # looking up: the grasp is behind it
    assert project_grasp(g, up, view.labels, 0.022) is None


def test_no_physics_keeps_silhouette_labels(tmp_path):
    out = tmp_path / "np"
    assert main(["--output", str(out), "--no-physics", "--scenes", "1", "--views-per-scene", "1",
                 "--workers", "1", "--seed", "0"]) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["physics"] is False and "validation" not in man and _meta(out, 0)["trials"] == []
    assert man["grasps"] > 0


@pytest.mark.parametrize("argv", [
    ["--scenes", "0"], ["--trials-per-object", "0"], ["--scenes", "two"], ["--workers", "-1"],
    ["--objects", "/nonexistent/meshes"], [], ["--physics", "yes"], ["--physic"],
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, argv):
    full = argv if argv == [] else ["--output", str(tmp_path / "o"), *argv]
    assert main(full) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("grasp-dataset: error: ")
    assert not (tmp_path / "o").exists()


def test_cli_output_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["--output", str(f), "--scenes", "1"]) == 2
    assert capsys.readouterr().err.startswith("grasp-dataset: error: ")
