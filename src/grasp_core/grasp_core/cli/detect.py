"""``grasp-detect``: run a grasp network on every depth frame in a folder.

Writes ``candidates.jsonl`` (one JSON object per candidate) and one annotated
PNG per frame to the output folder. Exits non-zero with a one-line reason on
bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from ..camera import CameraInfoError, CameraIntrinsics, load_camera_info_yaml
from ..depth import DepthError
from ..frames import FrameError, find_colour, list_depth_frames, load_depth, load_rgb
from ..inference import Detection, GraspDetector
from ..model_card import DEFAULT_MODEL, ModelCardError
from ..visualise import depth_to_bgr, draw_grasps


def candidate_records(frame: str, det: Detection, model_id: str) -> list[dict]:
    """JSON-ready records of a detection, best first.

    Keys: frame, rank, u, v (px), angle (rad), width_px, length_px, quality,
    depth (m, null if unknown), model_id, and with intrinsics: opening (m),
    position [x, y, z] (m) and orientation [x, y, z, w] in ``frame_id``.
    """
    out = []
    for i, (g, z, pose) in enumerate(zip(det.grasps, det.depths, det.poses, strict=True)):
        rec = {"frame": frame, "rank": i, "u": round(g.u, 2), "v": round(g.v, 2),
               "angle": round(g.angle, 4), "width_px": round(g.width_px, 2),
               "length_px": round(g.length_px, 2), "quality": round(g.quality, 4),
               "depth": round(float(z), 4) if np.isfinite(z) else None, "model_id": model_id}
        if pose is not None:
            rec["opening"] = round(pose.opening, 4)
            rec["position"] = [round(float(x), 4) for x in pose.position]
            rec["orientation"] = [round(float(x), 5) for x in pose.quaternion]
        out.append(rec)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grasp-detect", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"model card name or path to a .json/.onnx (default: {DEFAULT_MODEL})")
    p.add_argument("--input", required=True, type=Path, help="folder of depth frames (.npy, .tiff, 16-bit .png)")
    p.add_argument("--output", required=True, type=Path, help="output folder (created)")
    p.add_argument("--intrinsics", type=Path, help="camera_info YAML; adds 3-D pose and opening (m)")
    p.add_argument("--top-k", type=int, default=5, help="grasps per frame (default 5)")
    p.add_argument("--min-distance", type=float, default=20.0, help="px between grasp centres (default 20)")
    p.add_argument("--threshold", type=float, default=0.1, help="minimum quality (default 0.1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.top_k < 1:
            raise ValueError("--top-k must be >= 1")
        frames = list_depth_frames(args.input)
        intr: CameraIntrinsics | None = load_camera_info_yaml(args.intrinsics) if args.intrinsics else None
        detector = GraspDetector(args.model)
        args.output.mkdir(parents=True, exist_ok=True)
    except (FrameError, CameraInfoError, ModelCardError, ValueError, OSError) as exc:
        print(f"grasp-detect: error: {exc}", file=sys.stderr)
        return 2
    n_ok, n_bad = 0, 0
    with open(args.output / "candidates.jsonl", "w") as out:
        for path in frames:
            try:
                depth = load_depth(path)
                rgb = None
                colour = find_colour(path)
                if detector.needs_rgb:
                    if colour is None:
                        raise FrameError(f"{path.name}: model {detector.name} needs a colour image beside it")
                    rgb = load_rgb(colour)
                if intr is not None and (intr.width, intr.height) != (depth.shape[1], depth.shape[0]):
                    raise FrameError(f"{path.name}: size {depth.shape[1]}x{depth.shape[0]} disagrees "
                                     f"with intrinsics {intr.width}x{intr.height}")
                det = detector.detect(depth, rgb=rgb, intrinsics=intr, top_k=args.top_k,
                                      min_distance_px=args.min_distance, quality_threshold=args.threshold)
            except (FrameError, DepthError, ValueError, OSError) as exc:
                print(f"grasp-detect: skipping {path.name}: {exc}", file=sys.stderr)
                n_bad += 1
                continue
            for rec in candidate_records(path.name, det, detector.name):
                out.write(json.dumps(rec) + "\n")
            if colour is not None:  # draw on the colour image when there is one, beside the depth relief
                bgr = cv2.imread(str(colour), cv2.IMREAD_COLOR)
                if bgr is None or bgr.shape[:2] != depth.shape:
                    bgr = None
                img = draw_grasps(depth_to_bgr(depth), det.grasps)
                if bgr is not None:
                    img = np.hstack([draw_grasps(bgr, det.grasps), img])
            else:
                img = draw_grasps(depth_to_bgr(depth), det.grasps)
            cv2.imwrite(str(args.output / f"{path.stem}_grasps.png"), img)
            best = det.grasps[0] if det.grasps else None
            desc = (f"top grasp u={best.u:.0f} v={best.v:.0f} angle={np.degrees(best.angle):.0f}° "
                    f"width={best.width_px:.0f}px Q={best.quality:.2f}") if best else "no grasp"
            print(f"{path.name}: {desc}")
            n_ok += 1
    print(f"grasp-detect: {n_ok} frame(s) processed, {n_bad} skipped; wrote {args.output / 'candidates.jsonl'}")
    if n_ok == 0:
        print("grasp-detect: error: no frame could be processed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
