"""Run by ``test/test_ddp.py`` under ``torchrun --nproc_per_node 2``: one DDP backward pass.

Each rank builds GG-CNN2 from its own seed (DDP must broadcast rank 0's parameters when it wraps),
takes its half of one generated global batch (rank r: samples r·B .. r·B + B - 1) through
:func:`grasp_core.nn.frames.batch_loss` and backward, and saves its parameters' gradients;
rank 0 also saves the starting parameters and the whole batch, so that the test can compute the
single-process gradient of the same global batch itself. Usage: ``ddp_gradient_check.py OUT_DIR LOSS``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from grasp_core.nn import distributed
from grasp_core.nn.augment import Sample
from grasp_core.nn.frames import batch_loss
from grasp_core.nn.mtgcnn import build_model
from grasp_core.nn.train_config import TrainConfig

PER_RANK, SIZE = 3, 48


def global_batch() -> list[Sample]:
    """2·PER_RANK generated samples: depth-like inputs and target maps in their ranges."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(2 * PER_RANK):
        x = rng.standard_normal((1, SIZE, SIZE)).astype(np.float32)
        q = rng.uniform(0, 1, (SIZE, SIZE))
        ang = rng.uniform(-np.pi / 2, np.pi / 2, (SIZE, SIZE))
        t = np.stack([q, np.cos(2 * ang), np.sin(2 * ang), rng.uniform(0, 0.5, (SIZE, SIZE))]).astype(np.float32)
        out.append(Sample(x, t, None, []))
    return out


def main(out_dir: str, loss: str) -> int:
    ctx = distributed.setup()
    assert ctx.world_size == 2, ctx
    torch.set_num_threads(1)
    torch.manual_seed(100 + ctx.rank)  # different replicas until DDP broadcasts rank 0's
    net = build_model("ggcnn2", "depth", "none")
    model = ctx.wrap(net)
    batch = global_batch()
    cfg = TrainConfig(input_size=SIZE, loss=loss)
    value, _, _ = batch_loss(model, batch[ctx.rank * PER_RANK:(ctx.rank + 1) * PER_RANK], cfg)
    value.backward()
    out = Path(out_dir)
    torch.save({k: p.grad.detach().clone() for k, p in net.named_parameters()}, out / f"grad_rank{ctx.rank}.pt")
    if ctx.main:
        torch.save({"state": net.state_dict(), "x": np.stack([s.x for s in batch]),
                    "targets": np.stack([s.targets for s in batch])}, out / "inputs.pt")
    distributed.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
