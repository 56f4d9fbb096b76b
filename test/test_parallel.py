"""Scale-out on Ray: grasp-dataset and grasp-sim-bench on a local Ray instance write what the local runs write.

Specification: the same command with ``--ray`` (a Ray instance of 2 CPUs started by the test) and
with ``--workers 2`` (the local process pool) produces byte-identical image, label and mask files
and the same manifest apart from its wall-clock time; ``grasp-sim-bench --ray`` writes the same
trial records and summaries as the run in this process apart from their wall-clock seconds; an
unreachable cluster is one line, exit 2 (both commands).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")


def _files(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, except the JSON records (manifest, per-scene .meta), which carry wall-clock times."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".json"}


WALL_CLOCK = ("seconds", "seconds_per_trial", "generation_seconds")


def _strip(x, keys: tuple[str, ...]):
    """A JSON value with every dict key in ``keys`` removed, at any depth."""
    if isinstance(x, dict):
        return {k: _strip(v, keys) for k, v in x.items() if k not in keys}
    if isinstance(x, list):
        return [_strip(v, keys) for v in x]
    return x


def _records(folder: Path) -> dict[str, object]:
    """The JSON records with their wall-clock fields (``seconds``, ``seconds_per_trial``, ``generation_seconds``)
    removed."""
    return {str(p.relative_to(folder)): _strip(json.loads(p.read_text()), WALL_CLOCK)
            for p in sorted(folder.rglob("*.json"))}


def test_ray_and_the_local_pool_write_identical_datasets(tmp_path, monkeypatch):
    from grasp_core.cli.dataset import main

    monkeypatch.setenv("MUJOCO_GL", "egl")
    common = ["--scenes", "4", "--views-per-scene", "2", "--seed", "321", "--trials-per-object", "2", "--samples", "4"]
    assert main(["--output", str(tmp_path / "pool"), "--workers", "2", *common]) == 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MUJOCO_GL": os.environ["MUJOCO_GL"]}})
    try:
        assert main(["--output", str(tmp_path / "ray"), "--ray", "auto", *common]) == 0
    finally:
        ray.shutdown()
    a, b = _files(tmp_path / "pool"), _files(tmp_path / "ray")
    assert set(a) == set(b) and len(a) > 8
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, differ
    ra, rb = _records(tmp_path / "pool"), _records(tmp_path / "ray")
    assert set(ra) == set(rb) and "manifest.json" in ra
    assert [k for k in ra if ra[k] != rb[k]] == []


def test_an_unreachable_cluster_is_one_line(tmp_path, capsys, monkeypatch):
    from grasp_core.cli.dataset import main

    assert not ray.is_initialized()
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "ray_tmp"))  # no cluster of this machine's to find
    rc = main(["--output", str(tmp_path / "x"), "--scenes", "1", "--ray", "auto"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("grasp-dataset: error:"), err


SIM_WALL_CLOCK = ("wall_s", "reset_wall_s")


def _bench_records(path: Path) -> dict:
    """The sim-bench JSON without its wall-clock fields (``wall_s``, ``reset_wall_s``) and the command's
    own echo (it names the runner)."""
    doc = json.loads(path.read_text())
    return {"summaries": _strip(doc["summaries"], SIM_WALL_CLOCK), "trials": _strip(doc["trials"], SIM_WALL_CLOCK)}


def test_sim_bench_on_ray_writes_the_trial_records_of_the_local_run(tmp_path, monkeypatch):
    """Two trials of the default model in this process and as Ray tasks: the same trial and attempt
    records (grasp poses, cycle times, ground truth) and summaries, but for the wall-clock seconds."""
    pytest.importorskip("mujoco")
    from grasp_core.cli.sim_bench import main

    monkeypatch.setenv("MUJOCO_GL", "egl")
    common = ["--trials", "2", "--objects", "procedural", "--clutter", "1", "--seed", "11"]
    rc = main([*common, "--json", str(tmp_path / "local.json")])
    if rc == 1:
        pytest.skip("MuJoCo rendering unavailable")
    assert rc == 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MUJOCO_GL": os.environ["MUJOCO_GL"]}})
    try:
        assert main([*common, "--ray", "auto", "--json", str(tmp_path / "ray.json")]) == 0
    finally:
        ray.shutdown()
    a, b = _bench_records(tmp_path / "local.json"), _bench_records(tmp_path / "ray.json")
    (trials,) = a["trials"].values()
    assert [t["seed"] for t in trials] == [11, 12] and all(t["n_attempts"] >= 1 for t in trials)
    assert a == b


def test_sim_bench_with_an_unreachable_cluster_is_one_line(tmp_path, capsys, monkeypatch):
    from grasp_core.cli.sim_bench import main

    assert not ray.is_initialized()
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "ray_tmp"))
    rc = main(["--trials", "1", "--objects", "procedural", "--clutter", "1", "--seed", "0", "--ray", "auto"])
    out, err = capsys.readouterr()
    err = err.strip().splitlines()
    assert rc == 2 and out == "" and len(err) == 1 and err[0].startswith("grasp-sim-bench: error:"), err
