"""``grasp-dataset``: generate a synthetic Jacquard-layout grasp dataset with MuJoCo.

Example::

    grasp-dataset --output data/synth_v1 --scenes 1000 --views-per-scene 3 --seed 0 --workers 2

Resumable: scenes whose images are all complete are skipped. Scene k uses seed
S + k, so the result does not depend on ``--workers``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grasp-dataset", description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True, help="output folder (created)")
    p.add_argument("--objects", default=None, help="folder of *.obj/*.stl meshes (metres) to mix in")
    p.add_argument("--scenes", type=int, default=1000)
    p.add_argument("--views-per-scene", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--samples", type=int, default=12, help="images on samples.png")
    return p


def samples_sheet(out_dir: Path, ids: list[str], path: Path, n: int = 12) -> None:
    """Write a sheet of ``n`` RGB images with their grasp rectangles (jaws in red, opening in blue)."""
    import cv2
    import numpy as np

    from grasp_core.synth.jacquard import read_jacquard

    tiles = []
    for i in ids[:n]:
        _, rgb, grasps = read_jacquard(out_dir, i, rgb=True)
        img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        for g in grasps:
            p = g.polygon().astype(np.int32)
            cv2.line(img, tuple(p[0]), tuple(p[1]), (0, 0, 255), 1)
            cv2.line(img, tuple(p[2]), tuple(p[3]), (0, 0, 255), 1)
            cv2.line(img, tuple(p[1]), tuple(p[2]), (255, 0, 0), 1)
            cv2.line(img, tuple(p[3]), tuple(p[0]), (255, 0, 0), 1)
        tiles.append(cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA))
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[r:r + 4]) for r in range(0, len(tiles), 4)]
    cv2.imwrite(str(path), np.vstack(rows))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.scenes <= 0 or args.views_per_scene <= 0 or args.workers <= 0:
        print("grasp-dataset: --scenes, --views-per-scene and --workers must be positive", file=sys.stderr)
        return 2
    if args.objects:
        from grasp_core.synth.objects import find_mesh_files
        try:
            find_mesh_files(args.objects)
        except FileNotFoundError as exc:
            print(f"grasp-dataset: {exc}", file=sys.stderr)
            return 2
    os.environ.setdefault("MUJOCO_GL", "egl")
    from tqdm import tqdm

    from grasp_core.synth.generate import generate_scene_to_disk
    from grasp_core.synth.jacquard import write_manifest

    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"grasp-dataset: cannot create {out}: {exc}", file=sys.stderr)
        return 2
    jobs = [(str(out), k, args.seed, args.views_per_scene, args.objects) for k in range(args.scenes)]
    t0 = time.time()
    metas = []
    if args.workers == 1:
        for j in tqdm(jobs, desc="scenes", unit="scene"):
            metas.append(generate_scene_to_disk(j))
    else:
        with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=200) as pool:
            for m in tqdm(pool.imap(generate_scene_to_disk, jobs, chunksize=2), total=len(jobs),
                          desc="scenes", unit="scene"):
                metas.append(m)
    images = {i: v for m in metas for i, v in m["images"].items()}
    manifest = {
        "generator": f"grasp_core.synth (MuJoCo {__import__('mujoco').__version__})",
        "seed": args.seed, "scenes": args.scenes, "views_per_scene": args.views_per_scene,
        "images": len(images), "grasps": sum(v["grasps"] for v in images.values()),
        "objects_dir": args.objects, "layout": "jacquard",
        "angle_convention": "theta_deg clockwise on screen; Grasp.angle = -theta*pi/180",
        "generation_seconds": round(time.time() - t0, 1),
        "per_image": images,
    }
    write_manifest(out, manifest)
    samples_sheet(out, sorted(images)[:: max(1, len(images) // args.samples)], out / "samples.png",
                  args.samples)
    print(f"grasp-dataset: {len(images)} images, {manifest['grasps']} grasps in {out} "
          f"({manifest['generation_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
