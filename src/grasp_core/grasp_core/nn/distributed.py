"""Data-parallel training on several processes or nodes (PyTorch DDP), started by ``torchrun``.

``torchrun --nproc_per_node N -m grasp_core.cli.train ...`` (or ``torchrun ... $(which grasp-train)``)
starts N processes and sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT`` in each; :func:`setup` then joins the process group: ``nccl`` with one CUDA device per
process (``cuda:LOCAL_RANK``) where CUDA is available, else ``gloo`` on the CPU. Without those
variables (a plain ``grasp-train``) :func:`setup` returns the single-process context and nothing
changes.

In a group every process keeps a replica of the network wrapped in
:class:`torch.nn.parallel.DistributedDataParallel` (:meth:`DistContext.wrap`), which averages the
gradients over the processes during ``backward()`` (an all-reduce of the sum, divided by the world
size; Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel Training", PVLDB
13(12), 2020). Each
process trains on its own shard of every epoch's permutation (:meth:`DistContext.epoch_order`,
:class:`torch.utils.data.DistributedSampler`); with equal shards of B images each, the averaged
gradient is the gradient of the mean loss over the global batch of N·B images
(``test/test_ddp.py`` checks it against one process). Only rank 0 writes checkpoints, curves,
summaries, exports and progress bars (:attr:`DistContext.main`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the training group.

    rank: 0 .. world_size - 1 (0 = the main process, the only one that writes);
    local_rank: index on this node (the CUDA device with ``nccl``); world_size: processes in all;
    device: the torch device the replica lives on (``cpu`` with ``gloo``).
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: str = "cpu"

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """The process that writes files and shows progress (rank 0)."""
        return self.rank == 0

    def wrap(self, net: torch.nn.Module) -> torch.nn.Module:
        """``net`` moved to :attr:`device` and, in a group, wrapped in DistributedDataParallel (which
        broadcasts rank 0's parameters to every replica); alone, ``net`` itself."""
        net = net.to(self.device)
        if not self.distributed:
            return net
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.device(self.device).index] if self.device.startswith("cuda") else None
        return DistributedDataParallel(net, device_ids=ids)

    def epoch_order(self, items: list, epoch: int, seed: int) -> list:
        """This process's shard of epoch ``epoch``'s shuffled ``items`` (DistributedSampler with
        ``seed``: every rank draws the same permutation and takes every world_size-th item from its
        rank on, the list padded by wrapping around so that all shards have the same length)."""
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(range(len(items)), num_replicas=self.world_size, rank=self.rank,
                                     shuffle=True, seed=seed, drop_last=False)
        sampler.set_epoch(epoch)
        return [items[i] for i in sampler]

    def any(self, flag: bool) -> bool:
        """True when ``flag`` is true on any process (all ranks must call it; alone: ``flag``)."""
        if not self.distributed:
            return bool(flag)
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the processes (all ranks must call it; alone: ``value``)."""
        if not self.distributed:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item()) / self.world_size

    def barrier(self) -> None:
        """Wait for every process (alone: return)."""
        if self.distributed:
            dist.barrier()


def launched_by_torchrun() -> bool:
    """``WORLD_SIZE`` and ``RANK`` are in the environment (torchrun, or a launcher setting them)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def setup() -> DistContext:
    """Join the process group torchrun describes (module docstring); without torchrun, the
    single-process context. Calling it again returns the context of the group already joined.

    Raises:
        RuntimeError: the rendezvous fails (torch.distributed's reason).
    """
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) <= 1:
        return DistContext()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    return DistContext(dist.get_rank(), local, dist.get_world_size(), f"cuda:{local}" if cuda else "cpu")


def teardown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


__all__ = ["DistContext", "launched_by_torchrun", "setup", "teardown"]
