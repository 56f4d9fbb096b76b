"""Per-item work on a local process pool or a Ray cluster, results in input order.

:func:`ordered_map` is what the dataset generator (``grasp-dataset``) runs its scenes through.
Each item's result depends only on the item (every scene carries its own seed), so the output is
the same, byte for byte, whichever runner computed it and in whatever order the workers finished;
``test/test_parallel.py`` checks it for Ray against the local pool.

Runners:

* ``workers == 1``: this process, one item after the other;
* ``workers > 1``: a ``multiprocessing`` pool (``spawn`` context; the default);
* ``ray`` given: Ray tasks (one CPU each) on the cluster at that address — ``auto`` for the cluster
  this machine belongs to (``ray start --head`` / ``RAY_ADDRESS``), ``local`` for a Ray instance
  started in this process, ``ray://host:10001`` for a remote head; an already initialised Ray
  (``ray.init`` by the caller) is used as it is. Ray is an optional extra (dev profile), imported
  only here. The workers must see the same installed packages and the output folder (a shared
  file system on a multi-node cluster).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


class RayUnavailable(RuntimeError):
    """``ray`` was asked for but is not installed or the cluster cannot be reached (one-line reason)."""


def connect_ray(address: str):
    """The ``ray`` module, initialised for ``address`` unless Ray already is (module docstring).

    Raises:
        RayUnavailable: Ray is not installed, or the cluster cannot be reached (one line).
    """
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"Ray is not installed ({exc}); pip install 'ray==2.52.0' (an optional extra)") from exc
    if not ray.is_initialized():
        try:
            ray.init(address=None if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            reason = " ".join(str(exc).split())
            raise RayUnavailable(f"cannot connect to the Ray cluster at {address!r}: {reason}") from exc
    return ray


def _ray_map(fn: Callable[[Any], Any], items: list, address: str, window: int) -> Iterator[Any]:
    ray = connect_ray(address)
    task = ray.remote(num_cpus=1)(fn)
    refs: list = []
    nxt = 0
    for k in range(len(items)):
        while nxt < len(items) and nxt < k + window:  # keep a bounded number of tasks in flight
            refs.append(task.remote(items[nxt]))
            nxt += 1
        yield ray.get(refs[k])
        refs[k] = None  # let the object store drop the result


def ordered_map(fn: Callable[[Any], Any], items: Iterable, workers: int = 2, ray: str | None = None,
                chunksize: int = 2, window: int = 64) -> Iterator[Any]:
    """Yield ``fn(item)`` for every item, in the items' order (module docstring for the runners).

    Args:
        fn: a module-level function (pickled to the workers).
        items: picklable work items.
        workers: local processes (1 = this process); ignored with ``ray``.
        ray: Ray cluster address (``auto``, ``local``, ``ray://…``) or None for the local runners.
        chunksize: items per pool task (local pool only).
        window: Ray tasks in flight at most (bounds the driver's memory).

    Raises:
        RayUnavailable: ``ray`` given, but Ray is not installed or the cluster is unreachable.
        ValueError: ``workers`` < 1.
    """
    items = list(items)
    if ray:
        yield from _ray_map(fn, items, ray, max(1, window))
        return
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        for it in items:
            yield fn(it)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers, maxtasksperchild=200) as pool:
        yield from pool.imap(fn, items, chunksize=chunksize)


__all__ = ["RayUnavailable", "connect_ray", "ordered_map"]
