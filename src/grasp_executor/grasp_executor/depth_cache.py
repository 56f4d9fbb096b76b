"""The recent depth images the executor checks finger sweeps against, keyed by stamp."""
from __future__ import annotations

import threading

import numpy as np

from grasp_core import motion


class DepthCache:
    """The last ``size`` depth images (float32 m, (H, W)) with their frame, and the latest intrinsics.

    :meth:`collision_map` builds the :class:`grasp_core.motion.DepthCollisionMap` of the image a
    candidate array was detected on (same stamp), in ``base_link``; for candidates from other
    software (their own stamps), of the image nearest in time within ``max_dt``.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = int(size)
        self._lock = threading.Lock()
        self._depth: dict[float, tuple[np.ndarray, str]] = {}
        self.info = None
        self._scene = None  # (stamp, layout, TableScene) of the last table_scene call

    def add(self, stamp: float, depth: np.ndarray, frame_id: str) -> None:
        with self._lock:
            self._depth.pop(stamp, None)
            self._depth[stamp] = (depth, frame_id)
            while len(self._depth) > self.size:  # the oldest received, not the smallest stamp: after a
                self._depth.pop(next(iter(self._depth)))  # clock jump back (restarted simulator) new stamps are small

    def missing(self) -> str:
        """What the collision check still lacks: "" once camera_info and one depth image have come."""
        if self.info is None:
            return "no depth camera_info received"
        with self._lock:
            return "" if self._depth else "no depth image received"

    def collision_map(self, stamp: float, t_base, max_dt: float = 0.0) -> tuple[motion.DepthCollisionMap | None,
                                                                                  str]:
        """(map, "") for the image with this stamp (else the one nearest to it within ``max_dt``),
        or (None, why not).

        Args:
            stamp: candidates' stamp, s. t_base: callable frame_id → (4, 4) T_base_frame or None.
            max_dt: largest |image stamp − stamp| accepted when no image has the stamp itself, s.
        """
        if self.info is None:
            return None, "no depth camera_info received"
        with self._lock:
            entry = self._depth.get(stamp)
            if entry is None and self._depth:
                nearest = min(self._depth, key=lambda s: abs(s - stamp))
                if abs(nearest - stamp) <= max_dt:
                    entry = self._depth[nearest]
        if entry is None:
            return None, (f"no depth image with the candidates' stamp {stamp:.3f} s"
                          + (f" or within {max_dt:g} s of it" if max_dt > 0 else ""))
        depth, frame = entry
        t = t_base(frame or self.info.frame_id)
        if t is None:
            return None, f"no transform for the depth frame {frame!r}"
        try:
            return motion.DepthCollisionMap.from_depth(depth, self.info, t), ""
        except ValueError as exc:
            return None, f"depth image unusable: {exc}"

    def table_scene(self, stamp: float, t_base, layout):
        """The :class:`grasp_core.tabletop.TableScene` of the image with this stamp (what stands on the
        table in the pick area of ``layout``), or None when that image, the intrinsics or the transform is missing."""
        from grasp_core.tabletop import table_regions

        if self.info is None:
            return None
        with self._lock:
            entry = self._depth.get(stamp)
        if entry is None:
            return None
        cached = self._scene
        if cached is not None and cached[0] == stamp and cached[1] is layout:
            return cached[2]  # choose() and the loop's stop judgement ask for the same frame
        depth, frame = entry
        t = t_base(frame or self.info.frame_id)
        if t is None:
            return None
        try:
            scene = table_regions(depth, self.info, t, layout)
        except ValueError:
            return None
        self._scene = (stamp, layout, scene)
        return scene
