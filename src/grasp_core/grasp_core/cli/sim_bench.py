"""``grasp-sim-bench``: score grasp models on the simulated pick cell (ROS-free, ground truth).

Every model clears the same N scenes (seeds S .. S+N-1, K objects each) with the executor's
automatic mode (:func:`grasp_core.picking.clear_table`); an attempt counts as a success when the
ground truth saw one more object land in the bin. One line per trial, a comparison table when
several models are given, and last one summary line per model::

    success_rate=<0..1> attempts=<n> mean_cycle_s=<s> collisions=<c> mpph=<m>                (one model)
    model=<name> success_rate=<0..1> attempts=<n> mean_cycle_s=<s> collisions=<c> mpph=<m>   (several models)

``success_rate`` = placed / attempts; ``mean_cycle_s`` = mean simulated cycle time of the placed
picks (``nan`` when none); ``collisions`` = unexpected contacts of the arm or gripper (anything but
the pads on objects and the gripper on the object it holds; simulation ground truth,
:meth:`grasp_core.sim.SimCell.robot_contacts`) over all attempts, also printed per trial;
``mpph`` = mean picks per hour, the figure Dex-Net and AnyGrasp publish:
placed picks / the simulated time of all trials' pick loops (from the first frame to the stop:
failed attempts, declined objects and frames without a candidate included; the detector's compute
time is not simulated, so it is not in it) × 3600. ``--json`` writes every trial and attempt record and the summaries; a
bar chart (PNG) goes beside the JSON file, or to ``out/sim_bench/``. Bad input exits 2 with one
line ``grasp-sim-bench: error: ...`` on stderr.

``--target-class CLASS`` runs the class-targeted automatic mode (the executor's ``target_class``:
only candidates labelled ``CLASS`` are tried; a model that segments, ``decoding.type`` ``detseg``,
labels them itself; any other model's candidates are labelled by the few-shot shape classifier with its
default features, taught the families of ``--objects`` from 10 images of each alone in the cell,
:class:`grasp_core.shapes.support.ShapeLabelledDetector`, as the ``grasp_shape_classifier`` node does in
the stack; the support folder is written once to ``<json folder or out/sim_bench>/support/<families>``)
and scores it by ground truth: ``right`` = picks that put an object of the
class in the bin, ``wrong`` = picks that put another object there (must be 0), with the objects of
the class spawned; the summary line adds ``right=<n> wrong=<n> of_class=<n>``.

A trial depends only on its model, seed and settings: it runs on a cell of its own whose simulation
clock starts at 0 (:func:`run_trial_job`; until issue 21 one cell ran all trials and each trial's
clock began where the previous one stopped, which changed the later trials' cycle times in the
last digits). So the trials run anywhere, in any order, with the same records: in this process
(the default), on a local process pool (``--workers N``) or as Ray tasks on a cluster
(``--ray ADDRESS``: ``auto``, ``local``, ``ray://host:10001``; :mod:`grasp_core.parallel`; the
workers need the same installed packages and the ``--config`` / mesh paths). ``test/test_parallel.py``
checks that a local Ray instance writes the same trial records as this process. An unreachable
cluster is one line, exit 2. ``wall_s`` (per trial: the pick loop; per model: the sum of its
trials' reset and pick-loop seconds, wherever they ran) is the only field that differs between runs.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

PROG = "grasp-sim-bench"


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


class _BenchError(Exception):
    """Reported as one line on stderr; exit status ``code`` (2: bad input)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump), exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise _BenchError(message)


def find_repo_file(rel: str) -> Path | None:
    """``rel`` under ``$GRASP_ROOT``, a parent folder of this package (source checkout), or the current folder."""
    cands = []
    if os.environ.get("GRASP_ROOT"):
        cands.append(Path(os.environ["GRASP_ROOT"]) / rel)
    cands += [p / rel for p in Path(__file__).resolve().parents]
    cands.append(Path.cwd() / rel)
    return next((c for c in cands if c.is_file()), None)


def default_out_dir() -> Path:
    """``out/sim_bench`` under the repository root ($GRASP_ROOT, the checkout holding config/), else the cwd."""
    cfg = find_repo_file("config/grasp.yaml")
    root = cfg.parent.parent if cfg is not None else Path.cwd()
    return root / "out" / "sim_bench"


def build_parser() -> argparse.ArgumentParser:
    from ..model_card import DEFAULT_MODEL

    p = _Parser(prog=PROG, description="Score grasp models on the simulated pick cell (ground truth): every model "
                                       "clears the same scenes; success_rate = placed / attempts.")
    p.add_argument("--model", action="append", metavar="NAME_OR_PATH",
                   help=f"model card name or .json/.onnx path (a robustness classifier's card, e.g. gqcnn_synth: "
                        f"Prop+GQ-CNN's sampling; PRIMARY+FALLBACK[@P]: GQ-STN's fallback chain, e.g. "
                        f"gqstn_synth+gqcnn_synth); repeat to compare models on the same scenes "
                        f"(default: {DEFAULT_MODEL})")
    p.add_argument("--trials", type=int, required=True, metavar="N", help="scenes per model (>= 1)")
    p.add_argument("--objects", required=True, metavar="SOURCE",
                   help="'procedural' shapes; 'procedural:household' (tall, handled, thin flat and too-wide "
                        "objects) or 'procedural:<family>'; 'pybullet:random_urdfs[:train|:test]' or "
                        "'robosuite:household' (dev profile); or a folder of *.obj / *.stl meshes in metres")
    p.add_argument("--mesh-scale", type=float, default=1.0, metavar="S",
                   help="scale of the meshes' units to metres (0.001 for CAD files in millimetres)")
    p.add_argument("--clutter", type=int, required=True, metavar="K", help="objects per scene (>= 1)")
    p.add_argument("--seed", type=int, required=True, metavar="S", help="scene i uses seed S+i")
    p.add_argument("--json", type=Path, metavar="FILE", help="write trial records and summaries here")
    p.add_argument("--config", type=Path, metavar="PATH",
                   help="parameters file (grasp_detector / grasp_executor sections; "
                        "default: the repository's config/grasp.yaml)")
    p.add_argument("--max-attempts", type=int, metavar="M", help="attempts per scene (default 2K+2)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="local processes running the trials (default 1: this process)")
    p.add_argument("--target-class", default="", metavar="CLASS",
                   help="pick only candidates labelled CLASS (by a segmenting model, e.g. detseg_synth, or by "
                        "the shape classifier taught the families of --objects); scores right/wrong-object "
                        "picks by ground truth")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the trials as Ray tasks on this cluster (auto, local, ray://host:10001); "
                        "same records as the local run")
    return p


def _check_args(args: argparse.Namespace) -> tuple[list[str], Path, str, int]:
    """(model names/paths without repeats, config path, objects source, max attempts); raises _BenchError."""
    from ..sim.spawn import check_source

    if args.trials < 1:
        raise _BenchError(f"--trials must be >= 1, got {args.trials}")
    if args.workers < 1:
        raise _BenchError(f"--workers must be >= 1, got {args.workers}")
    if args.clutter < 1:
        raise _BenchError(f"--clutter must be >= 1, got {args.clutter}")
    max_attempts = args.max_attempts if args.max_attempts is not None else 2 * args.clutter + 2
    if max_attempts < 1:
        raise _BenchError(f"--max-attempts must be >= 1, got {max_attempts}")
    if not (args.mesh_scale > 0 and math.isfinite(args.mesh_scale)):
        raise _BenchError(f"--mesh-scale must be a positive number, got {args.mesh_scale}")
    try:
        objects = check_source(args.objects)
    except ValueError as exc:
        raise _BenchError(f"--objects: {exc}") from exc
    config = args.config if args.config is not None else find_repo_file("config/grasp.yaml")
    if config is None:
        raise _BenchError("config/grasp.yaml not found: pass --config or set GRASP_ROOT to the repository")
    if not Path(config).is_file():
        raise _BenchError(f"--config {config} is not a file")
    models = list(dict.fromkeys(args.model or [None]))
    if args.target_class:
        from ..datasets.semantic import CLASS_NAMES

        if args.target_class not in CLASS_NAMES[1:]:
            raise _BenchError(f"--target-class {args.target_class!r} is not an object class "
                              f"({', '.join(CLASS_NAMES[1:])})")
    return models, Path(config), objects, max_attempts


def _fmt(x: float, nd: int) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


def _jsonable(x):
    """NaN/inf → None, numpy scalars/tuples → plain Python, recursively."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str | bytes):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def failure_kind(stage: str, reason: str) -> str:
    """A failure's category: stage + reason with its numbers replaced by ``#`` (so like failures group)."""
    return f"{stage}: {_NUMBER.sub('#', reason)}" if reason else stage


def model_summary(name: str, trials: list[dict], wall_s: float) -> dict:
    """Scores of one model over its trials (see the module docstring)."""
    from ..picking import AttemptRecord, summarise

    recs = [AttemptRecord(**a) for t in trials for a in t["attempts"]]
    s = summarise(recs)
    spawned = sum(t["objects"] for t in trials)
    sim_s = sum(t["sim_s"] for t in trials)
    placed = sum(r.placed for r in recs)
    cleared = sum(t["in_bin"] for t in trials)
    fails = Counter(failure_kind(r.stage, r.reason) for r in recs if not r.placed and not r.success)
    false_pos = sum(r.success and not r.placed for r in recs)
    missed = sum(r.placed and not r.success for r in recs)
    return {"model": name, "trials": len(trials), "success_rate": s["success_rate"], "attempts": s["attempts"],
            "placed": placed, "mean_cycle_s": s["mean_cycle_s"], "sim_s": sim_s,
            "mpph": placed / sim_s * 3600.0 if sim_s > 0 else math.nan,
            "collisions": s["collisions"], "attempts_with_collision": sum(r.collisions > 0 for r in recs),
            "executor_agrees": s["executor_agrees"], "executor_success_not_placed": false_pos,
            "executor_failure_but_placed": missed, "objects_spawned": spawned, "objects_cleared": cleared,
            "clear_rate": cleared / spawned if spawned else math.nan,
            "objects_left_on_table": sum(t["left_on_table"] for t in trials),
            "objects_off_table": sum(t["off_table"] for t in trials),
            "scenes_cleared": sum(t["left_on_table"] == 0 and t["off_table"] == 0 for t in trials),
            "failures": dict(fails.most_common()),
            "stop_reasons": dict(Counter(re.sub(r"\d+", "#", t["stop"]) for t in trials).most_common()),
            "wall_s": wall_s, **target_summary(trials, recs)}


def target_summary(trials: list[dict], recs) -> dict:
    """Class-targeted scores (empty without ``target_class``): right / wrong-object picks by ground truth
    (the class of the object that reached the bin), objects of the class spawned and cleared."""
    cls = trials[0].get("target_class", "") if trials else ""
    if not cls:
        return {}
    right = sum(r.placed and r.placed_class == cls for r in recs)
    wrong = sum(r.placed and r.placed_class != cls for r in recs)
    return {"target_class": cls, "right_picks": right, "wrong_picks": wrong,
            "target_success_rate": right / len(recs) if recs else 0.0,
            "objects_of_class": sum(t["objects_of_class"] for t in trials),
            "scenes_without_class": sum(t["objects_of_class"] == 0 for t in trials)}


def comparison_table(summaries: list[dict]) -> str:
    """Fixed-width text table, one row per model."""
    cols = [("model", "{}"), ("success", "{:.3f}"), ("placed/att", "{}"), ("cleared", "{}"),
            ("scenes", "{}"), ("cycle_s", "{}"), ("mpph", "{}"), ("agree", "{}"), ("wall_s", "{:.1f}")]
    rows = []
    for s in summaries:
        rows.append([s["model"], f"{s['success_rate']:.3f}", f"{s['placed']}/{s['attempts']}",
                     f"{s['objects_cleared']}/{s['objects_spawned']}", f"{s['scenes_cleared']}/{s['trials']}",
                     _fmt(s["mean_cycle_s"], 2), _fmt(s["mpph"], 1), _fmt(s["executor_agrees"], 3),
                     f"{s['wall_s']:.1f}"])
    widths = [max(len(c[0]), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    out = [line([c[0] for c in cols]), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def write_plot(summaries: list[dict], path: Path, title: str) -> Path:
    """Bar chart: success rate (and clear rate) and mean cycle time per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["model"] for s in summaries]
    x = list(range(len(names)))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(max(7.0, 2.2 * len(names) + 3), 4.2))
    w = 0.38
    a1.bar([i - w / 2 for i in x], [s["success_rate"] for s in summaries], w, label="success rate (placed/attempts)")
    a1.bar([i + w / 2 for i in x], [s["clear_rate"] for s in summaries], w, label="objects cleared/spawned")
    for i, s in enumerate(summaries):
        a1.text(i - w / 2, s["success_rate"] + 0.01, f"{s['success_rate']:.2f}", ha="center", fontsize=8)
    a1.set_ylim(0, 1.3)
    a1.set_ylabel("rate")
    a1.legend(fontsize=8, loc="upper right")
    cyc = [s["mean_cycle_s"] if math.isfinite(s["mean_cycle_s"]) else 0.0 for s in summaries]
    a2.bar(x, cyc, 0.6, color="tab:green")
    a2.set_ylabel("mean cycle time of placed picks, s (sim)")
    for a in (a1, a2):
        a.set_xticks(x)
        a.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_trial(cell, detector, settings, extrinsics, objects: str, clutter: int, seed: int,
              max_attempts: int) -> dict:
    """One scene: reset with ``seed``, clear the table (of ``settings.target_class`` only, when set),
    score by ground truth."""
    from ..picking import clear_table, object_class

    names = cell.reset(clutter, objects=objects, seed=seed)
    t0, sim0 = time.perf_counter(), cell.time
    records, stop = clear_table(cell, detector, settings, extrinsics, max_attempts)
    wall, sim_s = time.perf_counter() - t0, cell.time - sim0
    in_bin, on_table = cell.objects_in_bin(), cell.objects_on_table()
    return {"seed": seed, "objects": len(names), "object_names": names,
            "attempts": [asdict(r) for r in records], "n_attempts": len(records),
            "placed": sum(r.placed for r in records), "in_bin": len(in_bin), "left_on_table": len(on_table),
            "off_table": len(names) - len(in_bin) - len(on_table), "stop": stop, "wall_s": wall,
            "sim_s": sim_s, "collisions": sum(r.collisions for r in records),
            "target_class": settings.target_class,
            "objects_of_class": sum(object_class(cell.object_spec(nm).kind) == settings.target_class for nm in names)
            if settings.target_class else 0}


@dataclass(frozen=True)
class TrialJob:
    """One trial's inputs (picklable; what a worker needs to run :func:`run_trial_job`).

    ``model`` is the card name or path as given (None: the default model), ``name`` its label in the
    output, ``config`` the parameters file (grasp_detector / grasp_executor / cell sections), ``trial``
    the trial's index (scene ``seed``), ``threads`` the detector's ONNX Runtime threads (0: its default,
    in this process; 1 on pool and Ray workers, one CPU per trial; ONNX Runtime's output of the
    default network was bit-identical for 1, 2 and the default number on this machine's CPU, so the
    records do not depend on it; CPUs of other instruction sets may round differently).
    """

    model: str | None
    name: str
    config: str
    mesh_scale: float
    objects: str
    clutter: int
    seed: int
    trial: int
    max_attempts: int
    threads: int = 0
    target_class: str = ""
    support: str = ""  # a support folder: the shape classifier labels the model's candidates


_OPEN: dict = {}  # this process's opened detectors and parsed settings (a worker keeps them between trials)


def _detector(model: str | None, threads: int = 0, support: str = "", config: str = ""):
    """The detector of ``model`` with ``threads`` ONNX Runtime threads, opened once per process; with a
    ``support`` folder, its candidates labelled by the shape classifier fitted on it, with the
    ``grasp_shape_classifier`` section of the parameters file ``config`` (model, PCA dims, features: the
    node's settings)."""
    from ..detectors import open_detector

    key = ("detector", model, threads, support, config)
    if key not in _OPEN:
        det = open_detector(model, threads=threads)
        if support:
            from ..config import load_section
            from ..shapes.support import ShapeClassifier, ShapeLabelledDetector

            cfg = load_section(config, "grasp_shape_classifier")
            clf = ShapeClassifier(cfg.model, pca_dims=cfg.pca_dims, threads=max(threads, 1), variant=cfg.variant)
            clf.fit_folder(support)
            det = ShapeLabelledDetector(det, clf)
        _OPEN[key] = det
    return _OPEN[key]


def _settings(config: str):
    """(settings, cell layout) of the parameters file ``config``, parsed once per process."""
    key = ("config", config)
    if key not in _OPEN:
        from ..layout import CellLayout
        from ..picking import settings_from_config

        _OPEN[key] = (settings_from_config(config), CellLayout.from_yaml(config))
    return _OPEN[key]


def _shape_support(args, objects: str) -> str:
    """The support folder that teaches the shape classifier the families of ``objects`` (written once; see
    the module docstring), checked: ``--target-class`` must be one of them, PyTorch and scikit-learn present
    (the folder itself is checked by fitting the labeller, :func:`_run`)."""
    from ..sim.spawn import source_families

    fams = source_families(objects)
    if args.target_class not in fams:
        raise _BenchError(f"--target-class {args.target_class!r}: the shape classifier labels the families of "
                          f"--objects ({', '.join(fams)}); use one of them or a segmenting model")
    try:
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise _BenchError(f"--target-class with a model that does not segment needs the shape classifier, "
                          f"which needs PyTorch and scikit-learn ({exc}); use the dev profile") from exc
    from ..shapes.support import cell_support_for

    root = (args.json.parent if args.json else default_out_dir()) / "support"
    return str(cell_support_for(root, fams).resolve())


def run_trial_job(job: TrialJob) -> dict:
    """One trial on a fresh cell (clock from 0): its record (:func:`run_trial`) with ``trial`` and
    ``reset_wall_s`` (building and settling the scene) added, or ``{"error": one line}`` when the seed
    drew a mesh MuJoCo cannot load.

    Depends only on the job, so any process (the local one, a pool worker, a Ray worker) returns the
    same record but for the wall-clock fields.
    """
    os.environ.setdefault("MUJOCO_GL", "egl")  # a Ray worker on another node has not run main()
    from ..robot import Extrinsics
    from ..sim import CellConfig, SimCell

    detector = _detector(job.model, job.threads, job.support, job.config)
    settings, layout = _settings(job.config)
    if job.target_class:
        settings = replace(settings, target_class=job.target_class)
    t0 = time.perf_counter()
    cell = SimCell(CellConfig(mesh_scale=job.mesh_scale, layout=layout))
    try:
        # the executor's hand-eye calibration: here the exact camera pose the cell renders from
        extrinsics = Extrinsics.from_matrix(cell.t_base_camera)
        try:
            tr = run_trial(cell, detector, settings, extrinsics, job.objects, job.clutter, job.seed,
                           job.max_attempts)
        except ValueError as exc:  # a mesh of the folder MuJoCo cannot load (drawn by this seed)
            return {"error": f"seed {job.seed}: {str(exc).splitlines()[0]}"}
    finally:
        cell.close()
    tr["reset_wall_s"] = time.perf_counter() - t0 - tr["wall_s"]
    tr["trial"] = job.trial
    return tr


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        args = build_parser().parse_args(argv)
        models, config, objects, max_attempts = _check_args(args)
        return _run(args, models, config, objects, max_attempts)
    except _BenchError as exc:
        msg = " ".join(str(exc).split())
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, models: list[str | None], config: Path, objects: str, max_attempts: int) -> int:
    from tqdm import tqdm

    from ..model_card import ModelCardError
    from ..parallel import RayUnavailable, connect_ray, ordered_map
    from ..sim import CellConfig, SimCell

    if args.ray:
        try:
            connect_ray(args.ray)  # fail before anything is loaded
        except RayUnavailable as exc:
            raise _BenchError(str(exc)) from exc
    try:
        _, layout = _settings(str(config))
    except ValueError as exc:
        raise _BenchError(str(exc)) from exc
    detectors = []
    for m in models:
        try:
            detectors.append(_detector(m))
        except (ModelCardError, ValueError, OSError) as exc:
            raise _BenchError(f"model {m!r}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - e.g. onnxruntime refusing the file: still bad input
            raise _BenchError(f"model {m!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    # a mesh that MuJoCo refuses is bad input, and no OpenGL context is one line: find both here,
    # before the progress bar starts (the cell's table, bin, home joints and camera: the config's cell:)
    cell = SimCell(CellConfig(mesh_scale=args.mesh_scale, layout=layout))
    try:
        try:
            cell.reset(args.clutter, objects=objects, seed=args.seed)
        except ValueError as exc:
            raise _BenchError(str(exc).splitlines()[0]) from exc
        try:
            cell.render()
        except Exception as exc:  # noqa: BLE001 - no OpenGL context: say so in one line
            raise _BenchError(f"cannot render the cell ({type(exc).__name__}: {exc}); "
                              "set MUJOCO_GL=egl or osmesa", code=1) from exc
    finally:
        cell.close()

    n = args.trials
    src = objects if not Path(objects).is_absolute() else Path(objects).name
    names = [d.name for d in detectors]
    if len(set(names)) != len(names):  # two paths to cards of the same name: keep them apart
        names = [f"{nm}#{i}" for i, nm in enumerate(names)]
    threads = 0 if args.workers == 1 and not args.ray else 1  # elsewhere: one CPU per trial
    unlabelled = [m for m, d in zip(models, detectors, strict=True) if not getattr(d, "segments", False)]
    support = _shape_support(args, objects) if args.target_class and unlabelled else ""
    supports = {m: support if m in unlabelled else "" for m in models}
    for m, folder in supports.items():  # fit the labeller here: an unusable folder is one line, not a worker's
        if folder:                      # error (and this process's trials reuse it)
            try:
                _detector(m, threads, folder, str(config))
            except ValueError as exc:
                raise _BenchError(f"shape classifier on {folder}: {exc}") from exc
    jobs = [TrialJob(m, nm, str(config), args.mesh_scale, objects, args.clutter, args.seed + i, i, max_attempts,
                     threads, args.target_class, supports[m])
            for m, nm in zip(models, names, strict=True) for i in range(n)]
    results: dict[str, list[dict]] = {nm: [] for nm in names}
    where = f" (Ray {args.ray})" if args.ray else (f" ({args.workers} workers)" if args.workers > 1 else "")
    bar = tqdm(total=len(jobs), desc=PROG + where, unit="trial", dynamic_ncols=True)
    try:
        for job, tr in zip(jobs, ordered_map(run_trial_job, jobs, args.workers, ray=args.ray, chunksize=1),
                           strict=True):
            if "error" in tr:
                raise _BenchError(tr["error"])
            results[job.name].append(tr)
            bar.update(1)
            tqdm.write(f"model={job.name} trial={job.trial + 1}/{n} seed={job.seed} objects={tr['objects']} "
                       f"attempts={tr['n_attempts']} placed={tr['placed']} left={tr['left_on_table']} "
                       f"collisions={tr['collisions']} "
                       f"stop=\"{tr['stop']}\"")
    except RayUnavailable as exc:
        raise _BenchError(str(exc)) from exc
    finally:
        bar.close()
    walls = {nm: sum(t["wall_s"] + t["reset_wall_s"] for t in results[nm]) for nm in names}

    summaries = [model_summary(nm, results[nm], walls[nm]) for nm in names]
    title = (f"{src}: {n} trial(s) x {args.clutter} object(s), seeds {args.seed}..{args.seed + n - 1}, "
             f"max {max_attempts} attempts")
    print(f"== {PROG}: {title}")
    for s in summaries:
        fails = ", ".join(f"{k} x{v}" for k, v in s["failures"].items()) or "none"
        print(f"{s['model']}: placed {s['placed']}/{s['attempts']} attempts, cleared "
              f"{s['objects_cleared']}/{s['objects_spawned']} objects ({s['scenes_cleared']}/{s['trials']} "
              f"scenes clear, {s['objects_off_table']} off the table), executor agrees with ground truth "
              f"{_fmt(s['executor_agrees'], 3)} ({s['executor_success_not_placed']} judged success but not "
              f"placed, {s['executor_failure_but_placed']} judged failed but placed), wall {s['wall_s']:.1f} s")
        print(f"{s['model']}: failures: {fails}")
        if s.get("target_class"):
            print(f"{s['model']}: target '{s['target_class']}': right-object picks {s['right_picks']}/"
                  f"{s['attempts']} attempts, wrong-object picks {s['wrong_picks']}, {s['objects_of_class']} "
                  f"objects of the class spawned ({s['scenes_without_class']} scenes without one)")
    if args.json is not None:
        doc = {"command": {"models": [m or names[0] for m in models], "trials": n, "objects": objects,
                           "clutter": args.clutter, "seed": args.seed, "max_attempts": max_attempts,
                           "config": str(config), "target_class": args.target_class},
               "summaries": summaries, "trials": {nm: results[nm] for nm in names}}
        try:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(_jsonable(doc), indent=1) + "\n")
        except OSError as exc:
            raise _BenchError(f"cannot write {args.json}: {exc}") from exc
        print(f"json: {args.json}")
        plot = args.json.with_suffix(".png")
    else:
        plot = default_out_dir() / f"sim_bench_{re.sub(r'[^A-Za-z0-9_.-]', '_', src)}_k{args.clutter}_n{n}" \
                                   f"_s{args.seed}.png"
    try:
        print(f"plot: {write_plot(summaries, plot, title)}")
    except Exception as exc:  # noqa: BLE001 - the plot is for people; the numbers above stand without it
        print(f"plot: not written ({type(exc).__name__}: {exc})")
    if len(summaries) > 1:
        print(comparison_table(summaries))
    for s in summaries:
        prefix = f"model={s['model']} " if len(summaries) > 1 else ""
        print(f"{prefix}success_rate={s['success_rate']:.3f} attempts={s['attempts']} "
              f"mean_cycle_s={_fmt(s['mean_cycle_s'], 2)} collisions={s['collisions']} mpph={_fmt(s['mpph'], 1)}"
              + (f" right={s['right_picks']} wrong={s['wrong_picks']} of_class={s['objects_of_class']}"
                 if s.get("target_class") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
