"""Model cards: the JSON file beside every exported ``.onnx`` grasp network.

A card says everything the detector needs to run a network without new code:
input size, crop, modality, normalisation, output names and their decoding,
plus what a person needs to trust it: training data, metrics, sha256.

Schema (``"format": "grasp_model_card/1"``)::

    {
      "format": "grasp_model_card/1",
      "name": "ggcnn2_synth",                 # id used by --model / the `model` parameter
      "architecture": "GG-CNN2 (Morrison et al., IJRR 2020)",
      "file": "ggcnn2_synth.onnx",            # resolved beside the card, then on the search path
      "sha256": "<hex of the .onnx>",
      "input": {
        "name": "depth",                      # ONNX input name
        "modality": "depth",                  # depth | rgb | rgbd (channel order [depth, R, G, B])
        "size": 300,                          # network input side, px (N x C x size x size)
        "crop": {"mode": "centre", "size_px": 300},   # square crop of the source image, px
        "inpaint": "navier_stokes",           # or "none"
        "depth_normalisation": "mean_clip", "depth_clip": 1.0,
        "rgb_normalisation": "mean_unit"      # rgb/rgbd only
      },
      "outputs": {"quality": "pos", "cos": "cos", "sin": "sin", "width": "width"},
      "decoding": {
        "quality": "clip",                    # clip to [0,1] | sigmoid
        "angle": "half_atan2",                # Φ = ½·atan2(sin, cos)
        "width_scale_px": 150.0               # opening in network px = width_scale_px · width
      },
      "postprocess": {"quality_sigma": 2.0, "angle_sigma": 2.0, "width_sigma": 1.0,
                      "jaw_length_ratio": 0.5},   # jaw length px = ratio · opening px
      "training_data": {...}, "metrics": {...}, "license": "...", "description": "..."
    }
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CARD_FORMAT = "grasp_model_card/1"


#: ``execution_provider`` choice → ONNX Runtime execution providers, preferred first. CPU comes last
#: in every list: ONNX Runtime runs the nodes a provider cannot take on the next one.
EXECUTION_PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


def execution_providers(choice: str = "cpu", available=None) -> tuple[list[str], str]:
    """The providers for :meth:`ModelCard.session` of an ``execution_provider`` choice, and a warning.

    The providers this ONNX Runtime build lacks are dropped (``cuda`` and ``tensorrt`` need
    ``onnxruntime-gpu``: docker ``GPU=1``), so the session falls back to the next one, the CPU at
    the end; the warning says so in one line ("" when the first choice is available).

    Args:
        choice: ``cpu``, ``cuda`` or ``tensorrt`` (case-insensitive).
        available: the providers to assume (default ``onnxruntime.get_available_providers()``).

    Raises:
        ValueError: an unknown choice.
    """
    key = str(choice).strip().lower()
    if key not in EXECUTION_PROVIDERS:
        raise ValueError(f"execution_provider must be one of {', '.join(EXECUTION_PROVIDERS)}, got {choice!r}")
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    wanted = EXECUTION_PROVIDERS[key]
    have = [p for p in wanted if p in available or p == "CPUExecutionProvider"]
    if have[0] == wanted[0]:
        return have, ""
    return have, (f"execution_provider {key}: {wanted[0]} is not available in this ONNX Runtime "
                  f"(available: {', '.join(available)}); falling back to {have[0]} "
                  f"(install onnxruntime-gpu for cuda/tensorrt)")


def provider_fallback(session, providers: list[str]) -> str:
    """One-line warning when ``session`` does not run on ``providers[0]`` (ONNX Runtime could not start
    it, e.g. CUDA or cuDNN libraries missing: it then uses the next provider and logs its reason);
    "" when it does."""
    used = session.get_providers()
    if not providers or (used and used[0] == providers[0]):
        return ""
    return (f"ONNX Runtime could not start {providers[0]} (see its log above); the session runs on "
            f"{', '.join(used) or 'nothing'}")


class ModelCardError(ValueError):
    """A model card that is missing, malformed, or whose model file is absent or altered."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def repo_root() -> Path | None:
    """The source checkout this package runs from (the folder with ``models/``), if any."""
    env = os.environ.get("GRASP_ROOT")
    if env and (Path(env) / "models").is_dir():
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "models").is_dir() and (parent / "src").is_dir():
            return parent
    return None


def model_search_path() -> list[Path]:
    """Folders searched for model cards and model files, in order.

    ``$GRASP_MODEL_PATH`` (colon-separated), then the checkout's ``models/`` and
    ``models/peers/``, then ``../shared/anchors`` beside the checkout (peer
    networks used by benchmarks; never part of the repository).
    """
    dirs: list[Path] = []
    for p in os.environ.get("GRASP_MODEL_PATH", "").split(os.pathsep):
        if p:
            dirs.append(Path(p))
    root = repo_root()
    if root is not None:
        dirs += [root / "models", root / "models" / "peers", root.parent / "shared" / "anchors"]
    return dirs


#: Name of the project's default grasp network (the one with the best simulated pick success).
DEFAULT_MODEL = "ggcnn2_synth"


MODALITIES = ("depth", "rgb", "rgbd")


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _positive_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and 0 < v < float("inf")


@dataclass
class ModelCard:
    """A parsed model card. ``data`` is the raw JSON dict; ``path`` the card file.

    Raises:
        ModelCardError: the card is not a JSON object of this format, lacks a required
            field (``name``, ``file``, ``input`` with ``size``, ``outputs``, ``decoding``)
            or has one of the wrong type (e.g. ``input.size`` not a positive integer), or
            its model file is not found. The message is one line naming the card and field.
    """

    data: dict[str, Any]
    path: Path
    model_file: Path = field(init=False)

    def __post_init__(self) -> None:
        d = self.data
        if not isinstance(d, dict):
            raise ModelCardError(f"{self.path}: a model card is a JSON object, got {type(d).__name__}")
        if d.get("format") != CARD_FORMAT:
            raise ModelCardError(f"{self.path}: not a {CARD_FORMAT} card (format={d.get('format')!r})")
        for key in ("name", "file", "input", "outputs", "decoding"):
            if key not in d:
                raise ModelCardError(f"{self.path}: missing key {key!r}")
        self._check_fields()
        self.model_file = self._resolve_file(d["file"])

    def _check_fields(self) -> None:
        """Types of the fields the detectors read; one ModelCardError naming the first bad one."""
        d = self.data

        def bad(key: str, want: str) -> ModelCardError:
            return ModelCardError(f"{self.path}: {key} must be {want}")

        for key in ("name", "file"):
            if not isinstance(d[key], str) or not d[key]:
                raise bad(key, "a non-empty string")
        for key in ("input", "outputs", "decoding"):
            if not isinstance(d[key], dict):
                raise bad(key, "an object")
        if "postprocess" in d and not isinstance(d["postprocess"], dict):
            raise bad("postprocess", "an object")
        inp = d["input"]
        if "size" not in inp:
            raise ModelCardError(f"{self.path}: missing key 'input.size' (network input side, px)")
        if not _positive_int(inp["size"]):
            raise bad("input.size", f"a positive integer (px), got {inp['size']!r}")
        if inp.get("modality", "depth") not in MODALITIES:
            raise bad("input.modality", f"one of {', '.join(MODALITIES)}, got {inp.get('modality')!r}")
        if "name" in inp and not isinstance(inp["name"], str):
            raise bad("input.name", "a string (the ONNX input name)")
        if "crop" in inp:
            if not isinstance(inp["crop"], dict):
                raise bad("input.crop", "an object")
            if "size_px" in inp["crop"] and not _positive_int(inp["crop"]["size_px"]):
                raise bad("input.crop.size_px", f"a positive integer (px), got {inp['crop']['size_px']!r}")
        for key in ("depth_clip", "depth_scale_per_m"):
            if key in inp and not _positive_number(inp[key]):
                raise bad(f"input.{key}", f"a positive number, got {inp[key]!r}")
        for key, v in d["outputs"].items():
            if not isinstance(v, str) or not v:
                raise bad(f"outputs.{key}", "a non-empty string (an ONNX output name)")
        if "width_scale_px" in d["decoding"] and not _positive_number(d["decoding"]["width_scale_px"]):
            raise bad("decoding.width_scale_px", f"a positive number, got {d['decoding']['width_scale_px']!r}")
        for key, v in d.get("postprocess", {}).items():
            if key.endswith(("_sigma", "_ratio")) and not (_positive_number(v) or v == 0):
                raise bad(f"postprocess.{key}", f"a number >= 0, got {v!r}")

    def _resolve_file(self, name: str) -> Path:
        candidates = [self.path.parent / name] + [d / name for d in model_search_path()]
        for c in candidates:
            if c.is_file():
                return c
        raise ModelCardError(
            f"model file {name!r} of card {self.path.name} not found beside the card or in "
            f"{[str(d) for d in model_search_path()]}")

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def input(self) -> dict[str, Any]:
        return self.data["input"]

    @property
    def modality(self) -> str:
        return str(self.input.get("modality", "depth"))

    @property
    def input_size(self) -> int:
        return int(self.input["size"])

    @property
    def crop_size(self) -> int:
        return int(self.input.get("crop", {}).get("size_px", self.input_size))

    def session(self, threads: int = 0, providers: list[str] | None = None):
        """An ``onnxruntime.InferenceSession`` on the model file (warnings only, no info logs).

        Args:
            threads: intra-op threads (0 = ONNX Runtime's default, all cores).
            providers: execution providers (default ``["CPUExecutionProvider"]``).

        Raises:
            ModelCardError: ONNX Runtime cannot load the file (truncated or not ONNX, unknown
                operator, unreadable); one line with the file and ONNX Runtime's reason.
        """
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # every graph optimisation incl. the NCHWc layout transforms: by measurement (bench_detector.py
        # --sweep) about twice as fast as "extended" or "basic" for the GG-CNN family on x86 CPUs
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        # no spin-waiting of the thread pool between runs: with it, a detector at 3 Hz kept about half a
        # core busy doing nothing (measured: 2.0 s against 0.4 s of CPU for 30 runs 0.1 s apart), CPU the
        # composed cell's physics and pick loop need on 2 cores (bench/realtime.py); it costs < 0.5 ms a run
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            return ort.InferenceSession(str(self.model_file), opts, providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT's pybind errors share no base class but Exception
            reason = " ".join(str(exc).split())  # one line
            raise ModelCardError(f"{self.model_file}: ONNX Runtime cannot load the model of card "
                                 f"{self.path.name}: {reason}") from exc

    def decoding_section(self, kinds, section: str, what: str) -> tuple[str, dict]:
        """(``decoding.type``, a copy of the card's ``section``) of a decoder card (the STN detectors').

        Raises:
            ModelCardError: ``decoding.type`` not in ``kinds``, or no ``section`` key (``what`` says what
                it should hold).
        """
        kind = self.data["decoding"].get("type")
        if kind not in kinds:
            raise ModelCardError(f"{self.path}: decoding.type must be one of {', '.join(kinds)}, got {kind!r}")
        if section not in self.data:
            raise ModelCardError(f"{self.path}: missing key '{section}' ({what})")
        return kind, dict(self.data[section])

    def named_outputs(self, session) -> dict[str, str]:
        """The card's ``outputs`` ({key: graph output name}), checked against ``session``'s outputs.

        Raises:
            ModelCardError: an output the network lacks (one line, with those it has).
        """
        outputs = dict(self.data["outputs"])
        have = {o.name for o in session.get_outputs()}
        absent = [v for v in outputs.values() if v not in have]
        if absent:
            raise ModelCardError(f"{self.path.name} vs {self.model_file.name}: the network has no "
                                 f"output {', '.join(map(repr, absent))} (it has {', '.join(sorted(have))})")
        return outputs

    def verify(self) -> None:
        """Check the model file's sha256 against the card. Raises ModelCardError."""
        want = self.data.get("sha256")
        if not want:
            raise ModelCardError(f"{self.path.name}: card has no sha256")
        try:
            got = sha256_file(self.model_file)
        except OSError as exc:
            raise ModelCardError(f"{self.model_file}: cannot read the model file ({exc})") from exc
        if got != want:
            raise ModelCardError(
                f"{self.model_file} sha256 {got[:12]}… does not match its card ({want[:12]}…)")


def load_card(name_or_path: str | os.PathLike | None = None) -> ModelCard:
    """Find and parse a model card by name (e.g. ``ggcnn2_synth``) or by path.

    A path may name the ``.json`` card or the ``.onnx`` file (its card is the
    ``.json`` beside it). ``None`` loads :data:`DEFAULT_MODEL`.

    Raises:
        ModelCardError: no such card, or it is malformed.
    """
    name = str(name_or_path or DEFAULT_MODEL)
    p = Path(name).expanduser()
    candidates: list[Path] = []
    if p.suffix in (".json", ".onnx") or p.is_file() or os.sep in name:
        candidates.append(p.with_suffix(".json"))
    else:
        candidates += [d / f"{name}.json" for d in model_search_path()]
    for c in candidates:
        if c.is_file():
            try:
                data = json.loads(c.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ModelCardError(f"{c}: invalid JSON ({exc})") from exc
            except OSError as exc:
                raise ModelCardError(f"{c}: cannot read the card ({exc})") from exc
            return ModelCard(data, c.resolve())
    raise ModelCardError(f"no model card for {name!r} (looked at {[str(c) for c in candidates]})")


def write_card(onnx_path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write ``card`` as the JSON card beside ``onnx_path``, filling ``format``, ``file`` and ``sha256``.

    Returns the card's path.
    """
    onnx_path = Path(onnx_path)
    out = dict(card)
    out["format"] = CARD_FORMAT
    out["file"] = onnx_path.name
    out["sha256"] = sha256_file(onnx_path)
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(out, indent=2, sort_keys=False) + "\n")
    return path
