"""``grasp-dataset``: generate a synthetic Jacquard-layout grasp dataset with MuJoCo.

Example::

    grasp-dataset --output data/synth_v2 --scenes 2000 --views-per-scene 3 --seed 0 --workers 2

Each scene's top-down antipodal grasp candidates are tried by a free-floating
2F-85-like gripper (close, lift 0.15 m, shake; :mod:`grasp_core.synth.physics`)
and only those that hold are written, projected into every view
(``--no-physics``: the unvalidated silhouette labels of each view).

``--robustness-trials N`` (physics only) also tries every candidate N more times, at a random
grasp depth (3-45 mm below the top) and under small gripper-pose perturbations (σ 4 mm in x and
y, 6° yaw, 4 mm height), and writes, per candidate,
its grasp-aligned 32 × 32 depth crop, the gripper depth z and the robustness label with the trial
counts to ``<output>/robustness/`` (compressed .npz shards + manifest.json, no pickle;
:mod:`grasp_core.datasets.robustness`), the training data of ``grasp-gqcnn-train``.

Resumable: scenes whose images are all complete (with the same physics setting)
are skipped. Scene k uses seed S + k, so the result does not depend on ``--workers``.

Scale-out: ``--ray ADDRESS`` runs the scenes as Ray tasks (:mod:`grasp_core.parallel`; ``auto`` for
the cluster this machine joined with ``ray start``, ``ray://head:10001`` for a remote head) and
writes the same files as the local pool; the output folder must be shared by the nodes::

    ray start --head                       # on the head; `ray start --address HEAD:6379` on the others
    grasp-dataset --output /shared/synth_big --scenes 18000 --ray auto
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

PROG = "grasp-dataset"
#: Default number of scenes: about 60 minutes on 2 workers of a 2-core machine with physics validation.
DEFAULT_SCENES = 1500


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2 (raised to main)
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--output", required=True, help="output folder (created)")
    p.add_argument("--objects", default=None,
                   help="folder of *.obj/*.stl meshes (metres) to mix in, or a source: procedural:household, "
                        "pybullet:random_urdfs:train, robosuite:household (dev profile)")
    p.add_argument("--mesh-scale", type=float, default=1.0,
                   help="scale of the meshes' units to metres (0.001 for CAD files in millimetres)")
    p.add_argument("--mesh-fraction", type=float, default=0.5,
                   help="share of the objects taken from --objects (the rest procedural; 1 = meshes only)")
    p.add_argument("--scenes", type=int, default=DEFAULT_SCENES)
    p.add_argument("--views-per-scene", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="local processes (default 2)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the scenes as Ray tasks on this cluster (auto, local, ray://host:10001); "
                        "same files as the local pool")
    p.add_argument("--physics", action=argparse.BooleanOptionalAction, default=True,
                   help="keep only grasps that a free-floating gripper holds through lift and shake (default on)")
    p.add_argument("--trials-per-object", type=int, default=8,
                   help="grasp candidates tried per object (physics only)")
    p.add_argument("--robustness-trials", type=int, default=0, metavar="N",
                   help="also write grasp-aligned crops with robustness labels from N perturbed trials per "
                        "candidate to <output>/robustness/ (physics only; default 0: off)")
    p.add_argument("--domain-randomisation", action="store_true",
                   help="random textures, lights with shadows and camera noise on the RGB renders "
                        "(grasp_core.synth.scene.SceneConfig.domain_randomisation; depth and labels unchanged)")
    p.add_argument("--samples", type=int, default=12, help="images on samples.png")
    return p


def _crop_box(mask, polys, w: int, h: int, margin: int = 40) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the objects and grasps, 4:3, at least 160 × 120 px, inside the image."""
    import numpy as np

    ys, xs = np.nonzero(mask)
    pts = [np.stack([xs, ys], 1)] if len(xs) else []
    pts += [p for p in polys]
    if not pts:
        return 0, 0, w, h
    p = np.concatenate(pts, 0)
    x0, y0 = p.min(0) - margin
    x1, y1 = p.max(0) + margin
    bw = max(x1 - x0, (y1 - y0) * 4 / 3, 160.0)
    bw = min(bw, float(w), h * 4 / 3)
    bh = bw * 3 / 4
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    x0 = int(round(min(max(cx - bw / 2, 0), w - bw)))
    y0 = int(round(min(max(cy - bh / 2, 0), h - bh)))
    return x0, y0, x0 + int(round(bw)), y0 + int(round(bh))


def samples_sheet(out_dir: Path, ids: list[str], path: Path, n: int = 12) -> None:
    """Write a sheet of ``n`` RGB images, each cropped around its objects, with their grasp rectangles
    (jaws in red, opening in blue), the image id and the number of grasps."""
    import cv2
    import numpy as np

    from grasp_core.datasets import read_jacquard, read_jacquard_mask

    tiles = []
    for i in ids[:n]:
        _, rgb, grasps = read_jacquard(out_dir, i, rgb=True)
        img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        h, w = img.shape[:2]
        polys = [g.polygon() for g in grasps]
        try:
            mask = read_jacquard_mask(out_dir, i) > 0
        except Exception:  # an older folder without masks
            mask = np.zeros((h, w), bool)
        x0, y0, x1, y1 = _crop_box(mask, polys, w, h)
        scale = 2 if (x1 - x0) <= w / 2 else 1  # draw on an upsampled crop: lines stay thin
        crop = cv2.resize(img[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        for p in polys:
            q = np.round((p - (x0, y0)) * scale).astype(np.int32)
            cv2.line(crop, tuple(q[0]), tuple(q[1]), (0, 0, 255), 1)
            cv2.line(crop, tuple(q[2]), tuple(q[3]), (0, 0, 255), 1)
            cv2.line(crop, tuple(q[1]), tuple(q[2]), (255, 0, 0), 1)
            cv2.line(crop, tuple(q[3]), tuple(q[0]), (255, 0, 0), 1)
        tile = cv2.resize(crop, (320, 240), interpolation=cv2.INTER_AREA)
        for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):  # white on a black outline
            cv2.putText(tile, f"{i}: {len(grasps)} grasps", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, thick)
        tiles.append(tile)
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[r:r + 4]) for r in range(0, len(tiles), 4)]
    cv2.imwrite(str(path), np.vstack(rows))


def validation_stats(metas: list[dict]) -> dict:
    """Trial statistics over scene metadata: tried, kept, kept rate, outcomes, per object kind, cost.

    Args:
        metas: scene metadata from :func:`grasp_core.synth.generate.generate_scene_to_disk`.
    """
    tried = kept = 0
    secs = 0.0
    reasons: dict[str, int] = {}
    kinds: dict[str, dict] = {}
    for m in metas:
        for t in m.get("trials", []):
            tried += 1
            kept += bool(t["kept"])
            secs += float(t.get("seconds", 0.0))
            reasons[t["reason"]] = reasons.get(t["reason"], 0) + 1
            k = kinds.setdefault(t["kind"], {"tried": 0, "kept": 0})
            k["tried"] += 1
            k["kept"] += bool(t["kept"])
    for k in kinds.values():
        k["kept_rate"] = round(k["kept"] / k["tried"], 4)
    return {"candidates_tried": tried, "kept": kept, "kept_rate": round(kept / tried, 4) if tried else None,
            "outcomes": dict(sorted(reasons.items())), "per_kind": dict(sorted(kinds.items())),
            "seconds_per_trial": round(secs / tried, 4) if tried else None}


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if args.scenes <= 0 or args.views_per_scene <= 0 or args.workers <= 0 or args.trials_per_object <= 0:
        print(f"{PROG}: error: --scenes, --views-per-scene, --workers and --trials-per-object must be positive",
              file=sys.stderr)
        return 2
    if args.robustness_trials < 0 or (args.robustness_trials and not args.physics):
        print(f"{PROG}: error: --robustness-trials must be >= 0 and needs --physics", file=sys.stderr)
        return 2
    if not (args.mesh_scale > 0 and math.isfinite(args.mesh_scale)):
        print(f"{PROG}: error: --mesh-scale must be a positive number, got {args.mesh_scale}", file=sys.stderr)
        return 2
    if not 0.0 <= args.mesh_fraction <= 1.0:
        print(f"{PROG}: error: --mesh-fraction must be within [0, 1], got {args.mesh_fraction}", file=sys.stderr)
        return 2
    if args.objects:
        from grasp_core.objects import find_mesh_files, is_named_source, mesh_object, source_makers
        try:
            if is_named_source(args.objects):  # a library or household families: resolve it (not every mesh)
                source_makers(args.objects, args.mesh_scale)
            else:
                for f in find_mesh_files(args.objects):
                    mesh_object(f, "check", args.mesh_scale)  # MuJoCo must load every mesh
        except (FileNotFoundError, ValueError) as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        print(f"{PROG}: error: {out} exists and is not a folder", file=sys.stderr)
        return 2
    os.environ.setdefault("MUJOCO_GL", "egl")
    from tqdm import tqdm

    from grasp_core.datasets import write_manifest
    from grasp_core.synth.generate import generate_scene_to_disk
    from grasp_core.synth.physics import GripperParams

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"{PROG}: error: cannot create {out}: {exc}", file=sys.stderr)
        return 2
    tail = ((args.robustness_trials, args.domain_randomisation) if args.domain_randomisation
            else (args.robustness_trials,) if args.robustness_trials else ())
    jobs = [(str(out), k, args.seed, args.views_per_scene, args.objects, args.physics, args.trials_per_object,
             args.mesh_scale, args.mesh_fraction) + tail for k in range(args.scenes)]
    t0 = time.time()
    metas = []
    from grasp_core.parallel import RayUnavailable, connect_ray, ordered_map

    try:  # the same files whichever runner: every scene carries its own seed
        if args.ray:
            connect_ray(args.ray)  # fail before the progress bar
        for m in tqdm(ordered_map(generate_scene_to_disk, jobs, args.workers, ray=args.ray), total=len(jobs),
                      desc="scenes" + (f" (Ray {args.ray})" if args.ray else ""), unit="scene"):
            metas.append(m)
    except RayUnavailable as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    images = {i: v for m in metas for i, v in m["images"].items()}
    manifest = {
        "generator": f"grasp_core.synth (MuJoCo {__import__('mujoco').__version__})",
        "seed": args.seed, "scenes": args.scenes, "views_per_scene": args.views_per_scene,
        "images": len(images), "grasps": sum(v["grasps"] for v in images.values()),
        "objects_dir": args.objects, "mesh_scale": args.mesh_scale,
        "mesh_fraction": args.mesh_fraction if args.objects else 0.0, "layout": "jacquard",
        "angle_convention": "theta_deg clockwise on screen; Grasp.angle = -theta*pi/180",
        "mask": "<id>_mask.png: 0 background, k+1 object k",
        "classes": {"files": "<id>_classes.png (class index per pixel), <id>_grasp_classes.txt (class per rectangle)",
                    "names": list(__import__("grasp_core.datasets.semantic", fromlist=["CLASS_NAMES"]).CLASS_NAMES)},
        "domain_randomisation": args.domain_randomisation,
        "physics": args.physics,
    }
    if args.physics:
        manifest["validation"] = {
            "method": "top-down antipodal candidates (silhouette of a camera straight above), each tried by a "
                      "free-floating 2F-85-like gripper: descend, close, lift, shake; kept if still between "
                      "both pads and lifted >= min_lift; kept grasps projected into every view where visible",
            "trials_per_object": args.trials_per_object,
            "gripper": GripperParams().as_dict(),
            **validation_stats(metas),
        }
    if args.robustness_trials:
        from grasp_core.datasets.robustness import write_manifest as write_robustness_manifest
        from grasp_core.synth.robustness import DEPTH_RANGE, ROBUST_FRACTION, Perturbation

        rpath = write_robustness_manifest(out, {
            "seed": args.seed, "scenes": args.scenes, "trials": args.robustness_trials,
            "robust_fraction": ROBUST_FRACTION, "perturbation": Perturbation().as_dict(),
            "grasp_depth_range_m": list(DEPTH_RANGE),
            "candidates": "top-down antipodal sampler (grasp_core.synth.physics.world_candidates_view), "
                          f"{args.trials_per_object} per object; positives and negatives from the same sampler",
            "camera": "top-down candidate camera 0.75 m above the scene target, fx = fy = 525 px",
            "gripper": GripperParams().as_dict()})
        import json as _json

        rman = _json.loads(rpath.read_text())
        manifest["robustness"] = {"folder": "robustness", "n": rman["n"], "robust": rman["robust"],
                                  "trials": args.robustness_trials}
    manifest["generation_seconds"] = round(time.time() - t0, 1)
    manifest["per_image"] = images
    write_manifest(out, manifest)
    samples_sheet(out, sorted(images)[:: max(1, len(images) // args.samples)], out / "samples.png",
                  args.samples)
    extra = ""
    if args.physics:
        v = manifest["validation"]
        extra = f", {v['kept']}/{v['candidates_tried']} trials kept"
    print(f"{PROG}: {len(images)} images, {manifest['grasps']} grasps in {out}{extra} "
          f"({manifest['generation_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
