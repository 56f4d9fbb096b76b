"""``grasp_candidate_logger`` node: prints and records ``/grasp_candidates``.

Parameters (config/grasp.yaml, ``grasp_candidate_logger``):
    output_dir (str, "out/run"): folder for ``candidates.jsonl`` and annotated PNGs (created).
    save_annotated (bool, true): write ``/grasp_detector/annotated`` images as ``<index>_grasps.png``.

Per frame it prints one line with the top grasp, and appends one JSON object per
candidate to ``candidates.jsonl`` (keys: frame, stamp, rank, u, v, angle,
width_px, length_px, quality, depth, opening, position, orientation, pose_valid,
frame_id, model_id; lengths in m, image quantities in px, angles in rad).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import cv2
from grasp_bridge.image import image_to_numpy
from grasp_bridge.params import declare_config
from grasp_bridge.qos import result_qos
from grasp_bridge.runtime import spin_node
from grasp_bridge.sync import stamp_key
from grasp_core.config import CandidateLoggerConfig
from rclpy.node import Node
from sensor_msgs.msg import Image

from grasp_interfaces.msg import GraspCandidateArray


def _num(x: float, nd: int = 4) -> float | None:
    return round(float(x), nd) if math.isfinite(x) else None


def candidate_records(msg: GraspCandidateArray, index: int) -> list[dict]:
    """JSON-ready records of a candidates message, best first."""
    stamp = f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"
    out = []
    for rank, c in enumerate(msg.candidates):
        p, q = c.pose.position, c.pose.orientation
        out.append({
            "frame": index, "stamp": stamp, "rank": rank, "u": _num(c.center_u, 2), "v": _num(c.center_v, 2),
            "angle": _num(c.angle), "width_px": _num(c.width_px, 2), "length_px": _num(c.length_px, 2),
            "quality": _num(c.quality), "depth": _num(c.depth), "opening": _num(c.opening),
            "position": [_num(p.x), _num(p.y), _num(p.z)] if c.pose_valid else None,
            "orientation": [_num(q.x, 5), _num(q.y, 5), _num(q.z, 5), _num(q.w, 5)] if c.pose_valid else None,
            "pose_valid": bool(c.pose_valid), "frame_id": msg.header.frame_id, "model_id": c.model_id,
        })
    return out


class CandidateLogger(Node):
    """Records grasp candidates (and annotated images) of each frame; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_candidate_logger", **kwargs)
        cfg = declare_config(self, CandidateLoggerConfig)
        self.output_dir = Path(cfg.output_dir)
        self.save_annotated = cfg.save_annotated
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = open(self.output_dir / "candidates.jsonl", "w")  # closed in destroy_node
        self._index: dict[tuple[int, int], int] = {}
        self.frames = 0
        self.images = 0
        self.with_grasp = 0
        self.create_subscription(GraspCandidateArray, "/grasp_candidates", self.on_candidates, result_qos())
        if self.save_annotated:
            self.create_subscription(Image, "/grasp_detector/annotated", self.on_annotated, result_qos(2))

    def index_of(self, stamp) -> int:
        """Frame number (0, 1, ...) of a stamp, in order of first appearance on either topic."""
        return self._index.setdefault(stamp_key(stamp), len(self._index))

    def on_candidates(self, msg: GraspCandidateArray) -> None:
        i = self.index_of(msg.header.stamp)
        for rec in candidate_records(msg, i):
            self._jsonl.write(json.dumps(rec) + "\n")
        self._jsonl.flush()
        self.frames += 1
        if msg.candidates:
            self.with_grasp += 1
            c = msg.candidates[0]
            pos = (f" at ({c.pose.position.x:+.3f}, {c.pose.position.y:+.3f}, {c.pose.position.z:.3f}) m "
                   f"opening {c.opening * 1000:.0f} mm" if c.pose_valid else "")
            desc = (f"top grasp u={c.center_u:.0f} v={c.center_v:.0f} angle={math.degrees(c.angle):.0f}° "
                    f"width={c.width_px:.0f}px Q={c.quality:.2f}{pos}")
        else:
            desc = "no grasp"
        print(f"frame {i:04d} [{msg.header.frame_id}]: {len(msg.candidates)} candidate(s), {desc}", flush=True)

    def on_annotated(self, msg: Image) -> None:
        i = self.index_of(msg.header.stamp)
        try:
            img = image_to_numpy(msg)
        except ValueError as exc:
            self.get_logger().warning(f"cannot save annotated image: {exc}")
            return
        if msg.encoding == "rgb8":
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(self.output_dir / f"{i:04d}_grasps.png"), img)
        self.images += 1

    def destroy_node(self) -> None:
        self._jsonl.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return spin_node(CandidateLogger, "grasp_candidate_logger", args)


if __name__ == "__main__":
    sys.exit(main())
