"""``grasp-quantize``: INT8 static quantisation of a grasp network, calibrated on the cell's own frames.

ONNX Runtime's quantisation tools (``onnxruntime.quantization.quantize_static``): QDQ format,
weights int8 per output channel, quantised to 7 bits by default (``reduce_range``: ONNX Runtime's
uint8 × int8 kernels on x86 CPUs without VNNI add pairs of products in int16, which saturates with
8-bit weights — measured on an AVX2-only machine of this project: a tiny network's maps off by a mean
0.018 on a cell frame instead of the unoptimised QDQ graph's 0.0019; ``--full-range`` for CPUs with
VNNI, or ARM), activations uint8 (the first convolution and the output heads stay fp32,
:func:`fp32_nodes`), ranges by min–max calibration over network inputs made exactly as the detector
makes them (:meth:`grasp_core.inference.GraspDetector.preprocess`) from depth (and colour) frames
rendered by the simulated cell — procedural scenes of 1–5 objects with the Kinect noise model,
seeds ``--seed`` … ``--seed + N − 1`` (never the benchmark's or the held-out sets' seeds). Writes
``<output>.onnx`` and its card ``<output>.json``: the parent card's input, outputs and decoding, a
``quantization`` block (tool, format, weights, calibration, parent name and sha256) and empty
``metrics`` — a quantised model is measured on its own (``grasp-eval``, ``grasp-sim-bench``) before
it is used.

Example::

    grasp-quantize --model ggcnn2_synth --output models/ggcnn2_synth_int8 --calibration-frames 64

Exit status 2 with one line on bad arguments or a model that cannot be loaded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

PROG = "grasp-quantize"


def calibration_inputs(detector, n: int, seed: int) -> list[np.ndarray]:
    """``n`` network inputs (1, C, S, S) float32 from rendered procedural scenes of the cell (module docstring)."""
    from tqdm import tqdm

    from grasp_core.sim import CellConfig, SimCell

    rng = np.random.default_rng(seed)
    out = []
    with SimCell(CellConfig()) as cell:
        for k in tqdm(range(n), desc="calibration frames", unit="frame"):
            cell.reset(int(rng.integers(1, 6)), objects="procedural", seed=seed + k)
            depth, rgb = cell.render()
            x, _ = detector.preprocess(depth, rgb if detector.needs_rgb else None)
            out.append(np.ascontiguousarray(x, dtype=np.float32))
    return out


def fp32_nodes(path) -> list[str]:
    """Names of the nodes kept in fp32: the first convolution (it reads the normalised depth, whose
    fine steps are the signal) and the nodes that write the network's outputs (the grasp-map heads:
    Φ = ½·atan2(sin, cos) is sensitive to their rounding). Measured on ggcnn2_synth, held-out
    procedural set: all nodes int8 0.731, heads fp32 0.731, first conv and heads fp32 0.754
    (fp32 network 0.758)."""
    import onnx

    m = onnx.load(str(path))
    outs = {o.name for o in m.graph.output}
    first = [n.name for n in m.graph.node if n.op_type in ("Conv", "ConvTranspose")][:1]
    return first + [n.name for n in m.graph.node if set(n.output) & outs and n.name not in first]


def quantize(model: str, output: Path, frames: int, seed: int, keep_fp32: bool = True,
             reduce_range: bool = True) -> dict:
    """Quantise ``model`` into ``output``.onnx / .json (module docstring); returns the new card dict.

    ``reduce_range``: int8 weights quantised to 7 bits (the module docstring says why; False: 8 bits).

    Raises:
        ValueError: the model cannot be loaded or quantised.
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from grasp_core.inference import GraspDetector
    from grasp_core.model_card import CARD_FORMAT, sha256_file

    det = GraspDetector(model)
    card = det.card
    inputs = calibration_inputs(det, frames, seed)
    name = card.input.get("name", "depth")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {name: x}

    output.parent.mkdir(parents=True, exist_ok=True)
    onnx_out = output.with_suffix(".onnx")
    with tempfile.TemporaryDirectory(prefix="grasp_quant_") as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(card.model_file), str(pre), skip_symbolic_shape=True)
        kept = fp32_nodes(card.model_file) if keep_fp32 else []
        quantize_static(str(pre), str(onnx_out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, nodes_to_exclude=kept,
                        reduce_range=reduce_range)
    data = {k: v for k, v in card.data.items() if k not in ("metrics", "sha256", "file", "name")}
    data.update({
        "format": CARD_FORMAT, "name": output.name, "file": onnx_out.name, "sha256": sha256_file(onnx_out),
        "quantization": {
            "tool": "onnxruntime.quantization.quantize_static (ONNX Runtime "
                    f"{__import__('onnxruntime').__version__})",
            "format": "QDQ", "weights": "int8, per output channel", "activations": "uint8",
            "reduce_range": bool(reduce_range),  # True: weights quantised to 7 bits (module docstring)
            "kept_fp32": kept,
            "calibration": f"min-max over {frames} inputs from GraspDetector.preprocess of simulated-cell renders "
                           f"(procedural, 1-5 objects, Kinect noise, seeds {seed}-{seed + frames - 1})",
            "parent": card.name, "parent_sha256": card.data.get("sha256", ""),
        },
        "metrics": {},
        "description": f"INT8 static quantisation of {card.name}; see quantization and metrics.",
    })
    output.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model card name or path (default: the project's default)")
    p.add_argument("--output", required=True, help="output path without suffix, e.g. models/ggcnn2_synth_int8")
    p.add_argument("--calibration-frames", type=int, default=64)
    p.add_argument("--seed", type=int, default=7000, help="first calibration scene seed (default 7000)")
    p.add_argument("--all-int8", action="store_true",
                   help="quantise every node (default: the first convolution and the output heads stay fp32)")
    p.add_argument("--full-range", action="store_true",
                   help="int8 weights in the full range (only for CPUs with VNNI or ARM: without VNNI ONNX "
                        "Runtime's x86 kernels saturate; default: the 7-bit range)")
    args = p.parse_args(argv)
    if args.calibration_frames < 1:
        print(f"{PROG}: error: --calibration-frames must be >= 1", file=sys.stderr)
        return 2
    os.environ.setdefault("MUJOCO_GL", "egl")
    from grasp_core.model_card import ModelCardError

    try:
        card = quantize(args.model, Path(args.output), args.calibration_frames, args.seed,
                        keep_fp32=not args.all_int8, reduce_range=not args.full_range)
    except (ModelCardError, ValueError, OSError) as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(f"{PROG}: wrote {Path(args.output).with_suffix('.onnx')} and its card (sha256 {card['sha256'][:12]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
