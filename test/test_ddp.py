"""PyTorch DDP training (``torchrun``): a real 2-process run of grasp-train, and the averaged gradient.

Specification (:mod:`grasp_core.nn.distributed`): started by torchrun with 2 processes (gloo on
this CPU), ``grasp-train`` trains one epoch of a tiny generated dataset and only rank 0 writes: one
epoch checkpoint, one report line; the DDP gradient of a global batch split over 2 processes is the
single-process gradient of that whole batch (DDP averages; a sum, or no all-reduce, fails); without
torchrun ``train`` runs in this process alone.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

HERE = Path(__file__).resolve().parent


def _torchrun(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                             "MASTER_PORT")}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """10 generated scenes, 1 view each (scene 9 held out), no physics check: a few seconds."""
    pytest.importorskip("mujoco")
    from grasp_core.cli.dataset import main

    os.environ.setdefault("MUJOCO_GL", "egl")
    out = tmp_path_factory.mktemp("ddp") / "tiny"
    rc = main(["--output", str(out), "--scenes", "10", "--views-per-scene", "1", "--seed", "5", "--no-physics",
               "--samples", "2", "--workers", "1"])
    if rc != 0:
        pytest.skip("grasp-dataset could not render here")
    return out


TRAIN = ["--input-size", "48", "--batch-size", "2", "--epochs", "1", "--threads", "1", "--no-augment"]


def test_torchrun_two_processes_train_one_epoch_and_rank_0_writes_once(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    res = _torchrun(["-m", "grasp_core.cli.train", "--data", str(tiny_dataset), *TRAIN, "--out", str(run)], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in (run / "ckpt").iterdir()) == ["epoch_001.pt"]
    assert all((run / f).is_file() for f in ("best.pt", "last.pt", "state.pt", "curves.png", "summary.json"))
    assert res.stdout.count("epoch 1:") == 1  # one report line: rank 0's
    summary = json.loads((run / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["epochs"] == 1 and summary["train_images"] == 9
    state = torch.load(run / "state.pt", map_location="cpu", weights_only=False)
    # 9 training images on 2 processes: shards of ceil(9/2) = 5, batch 2 → 2 steps per process
    assert state["scheduler"]["last_epoch"] == 2
    assert np.isfinite(summary["best_val_acc"]) or summary["heldout_images"] == 0


@pytest.mark.parametrize("loss", ["l", "lp"])
def test_ddp_gradient_is_the_single_process_gradient_of_the_global_batch(tmp_path, loss):
    from grasp_core.nn.augment import Sample
    from grasp_core.nn.frames import batch_loss
    from grasp_core.nn.mtgcnn import build_model
    from grasp_core.nn.train_config import TrainConfig

    res = _torchrun([str(HERE / "ddp_gradient_check.py"), str(tmp_path), loss], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    g0, g1 = (torch.load(tmp_path / f"grad_rank{r}.pt") for r in (0, 1))
    inp = torch.load(tmp_path / "inputs.pt", weights_only=False)
    assert all(torch.equal(g0[k], g1[k]) for k in g0)  # every replica applies the same averaged gradient

    def grads(samples):
        net = build_model("ggcnn2", "depth", "none")
        net.load_state_dict(inp["state"])  # rank 0's start, which DDP broadcast to rank 1
        net.zero_grad()
        batch_loss(net, samples, TrainConfig(input_size=48, loss=loss))[0].backward()
        return {k: p.grad for k, p in net.named_parameters()}

    torch.set_num_threads(1)
    batch = [Sample(x, t, None, []) for x, t in zip(inp["x"], inp["targets"], strict=True)]
    full, half = grads(batch), grads(batch[:3])

    def rel(a, b):
        return max(float((a[k] - b[k]).abs().max()) / max(float(b[k].abs().max()), 1e-12) for k in b)

    assert rel(g0, full) < 1e-4
    assert rel(g0, half) > 1e-2  # rank 0's own half-batch gradient is not it: the all-reduce matters
    assert rel({k: 2 * v for k, v in g0.items()}, full) > 0.5  # a sum instead of the mean would fail


def test_without_torchrun_train_runs_alone(tiny_dataset, tmp_path, monkeypatch):
    from grasp_core.nn.train import TrainConfig, train

    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    cfg = TrainConfig(data=str(tiny_dataset), input_size=48, batch_size=2, epochs=1, threads=1, augment=False,
                      out_dir=str(tmp_path / "run"))
    summary = train(cfg)
    assert "processes" not in summary and summary["epochs"] == 1
    state = torch.load(tmp_path / "run" / "state.pt", map_location="cpu", weights_only=False)
    assert state["scheduler"]["last_epoch"] == 4  # 9 images, batch 2, one process: 4 steps
    assert not torch.distributed.is_initialized()
