"""Arithmetic cost of an ONNX network: multiply-accumulates of its convolutions and matrix products.

Used by the detector benchmark to turn a latency into achieved GFLOP/s (``bench/bench_detector.py``)
and compare it with the machine's GEMM ceiling measured in the same run.

Counted (batch 1, shapes from ONNX shape inference with the batch dimension set to 1):

* ``Conv``: MACs = N · C_out · H_out · W_out · (C_in / group) · k_h · k_w (+ bias adds, ignored);
* ``ConvTranspose``: MACs = N · C_in · H_in · W_in · (C_out / group) · k_h · k_w;
* ``Gemm`` / ``MatMul``: MACs = the product of the output shape and the reduced dimension.

FLOPs = 2 · MACs (one multiply and one add per MAC, the convention of GEMM benchmarks). Element-wise
operators (ReLU, Resize, pooling) are left out: they are memory-bound and well under 1 % here.

Needs the ``onnx`` package (dev profile).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: the operators whose multiply-accumulates are counted
COUNTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _shapes(model) -> dict[str, tuple[int, ...]]:
    import onnx
    from onnx import shape_inference

    model = onnx.ModelProto.FromString(model.SerializeToString())
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].ClearField("dim_param")
            dims[0].dim_value = 1
    inferred = shape_inference.infer_shapes(model)
    out: dict[str, tuple[int, ...]] = {}
    for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            out[vi.name] = tuple(int(d.dim_value) for d in dims)
    for init in inferred.graph.initializer:
        out[init.name] = tuple(int(d) for d in init.dims)
    wanted = {n for node in model.graph.node if node.op_type in COUNTED for n in (node.input[0], node.output[0])}
    if wanted - set(out):  # shapes ONNX's inference leaves open (e.g. a Resize with computed sizes): run it once
        out.update(_run_shapes(model, sorted(wanted - set(out))))
    return out


def _run_shapes(model, names: list[str]) -> dict[str, tuple[int, ...]]:
    """Shapes of the tensors ``names`` from one ONNX Runtime pass on zeros (batch 1)."""
    import onnx
    import onnxruntime as ort

    m = onnx.ModelProto.FromString(model.SerializeToString())
    for n in names:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    inits = {i.name for i in m.graph.initializer}
    feeds = {}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = np.zeros(dims, dtype=np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    res = sess.run(names, feeds)
    return {n: tuple(int(d) for d in r.shape) for n, r in zip(names, res, strict=True)}


def network_macs(path: str | Path) -> int:
    """Multiply-accumulates of one batch-1 forward pass of the ONNX file at ``path`` (module docstring).

    Raises:
        ValueError: a counted operator's shapes cannot be inferred.
        OSError: the file cannot be read.
    """
    import onnx

    model = onnx.load(str(path))
    shapes = _shapes(model)
    macs = 0
    for node in model.graph.node:
        if node.op_type not in COUNTED:
            continue
        try:
            x, w, y = shapes[node.input[0]], shapes[node.input[1]], shapes[node.output[0]]
        except KeyError as exc:
            raise ValueError(f"{path}: no inferred shape for {exc} of {node.op_type} {node.name!r}") from None
        # the weights' second dimension is already per group (C_in/group or C_out/group)
        if node.op_type == "Conv":  # w: (C_out, C_in/group, kh, kw)
            macs += int(np.prod(y)) * int(np.prod(w[1:]))
        elif node.op_type == "ConvTranspose":  # w: (C_in, C_out/group, kh, kw)
            macs += int(np.prod(x)) * int(np.prod(w[1:]))
        else:
            trans_a = next((a.i for a in node.attribute if a.name == "transA"), 0)
            k = x[-2] if trans_a else x[-1]
            macs += int(np.prod(y)) * int(k)
    return macs


def gemm_ceiling_gflops(n: int = 1024, repeats: int = 5) -> float:
    """Best fp32 GEMM rate of this process, GFLOP/s: ``np.matmul`` of two (n, n) float32 matrices
    (OpenBLAS with its own threads), the best of ``repeats`` after one warm-up; 2·n³ FLOPs each."""
    import time

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


__all__ = ["gemm_ceiling_gflops", "network_macs"]
