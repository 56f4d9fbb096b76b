"""The recent depth images the executor checks finger sweeps against, keyed by stamp."""
from __future__ import annotations

import threading

import numpy as np
from grasp_core.depth import inpaint_depth

from grasp_core import motion


class DepthCache:
    """The last ``size`` depth images (float32 m, (H, W)) with their frame, and the latest intrinsics.

    Images may have holes (NaN / ≤ 0: the camera's ``depth/image_unfilled``, or a driver's raw
    image): the image a check uses is inpainted first (:func:`grasp_core.depth.inpaint_depth`, once
    per image, when it is first used), so a hole is never taken as free space by the collision check
    nor as table by :meth:`table_scene`; an image that is all holes is unusable.

    :meth:`collision_map` builds the :class:`grasp_core.motion.DepthCollisionMap` of the image a
    candidate array was detected on (same stamp), in ``base_link``; for candidates from other
    software (their own stamps), of the image nearest in time within ``max_dt``.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = int(size)
        self._lock = threading.Lock()
        self._depth: dict[float, tuple[np.ndarray, str]] = {}  # stamp → (depth as received, frame)
        self._filled: dict[float, np.ndarray] = {}  # stamp → its inpainted depth, once used
        self.info = None
        self._scene = None  # (stamp, layout, TableScene) of the last table_scene call

    def add(self, stamp: float, depth: np.ndarray, frame_id: str) -> None:
        with self._lock:
            self._depth.pop(stamp, None)
            self._filled.pop(stamp, None)
            self._depth[stamp] = (depth, frame_id)
            while len(self._depth) > self.size:  # the oldest received, not the smallest stamp: after a
                oldest = next(iter(self._depth))  # clock jump back (restarted simulator) new stamps are small
                del self._depth[oldest]
                self._filled.pop(oldest, None)

    def _hole_free(self, stamp: float, depth: np.ndarray) -> np.ndarray:
        """The image of ``stamp`` inpainted (a copy when it has no hole), computed once.

        Raises:
            grasp_core.depth.DepthError: every pixel is a hole.
        """
        with self._lock:
            filled = self._filled.get(stamp)
        if filled is None:
            filled = inpaint_depth(depth)  # a copy when there is no hole
            with self._lock:
                if stamp in self._depth:
                    self._filled[stamp] = filled
        return filled

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
        key = stamp
        with self._lock:
            entry = self._depth.get(stamp)
            if entry is None and self._depth:
                nearest = min(self._depth, key=lambda s: abs(s - stamp))
                if abs(nearest - stamp) <= max_dt:
                    key, entry = nearest, self._depth[nearest]
        if entry is None:
            return None, (f"no depth image with the candidates' stamp {stamp:.3f} s"
                          + (f" or within {max_dt:g} s of it" if max_dt > 0 else ""))
        depth, frame = entry
        t = t_base(frame or self.info.frame_id)
        if t is None:
            return None, f"no transform for the depth frame {frame!r}"
        try:
            return motion.DepthCollisionMap.from_depth(self._hole_free(key, depth), self.info, t), ""
        except ValueError as exc:  # DepthError (all holes) included
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
            scene = table_regions(self._hole_free(stamp, depth), self.info, t, layout)
        except ValueError:  # DepthError (all holes) included
            return None
        self._scene = (stamp, layout, scene)
        return scene
