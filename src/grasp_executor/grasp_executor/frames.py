"""Which frames the executor can transform to ``base_link``: the hand-eye calibration file and tf2.

:class:`FrameResolver` answers ``T_base_frame`` for a candidate's frame: the base frame itself
(identity), the calibrated camera frame of the extrinsics YAML, and — where tf2_ros is importable
and ``use_tf`` allows it — any frame tf2 knows. ``use_tf``: ``auto`` (tf2 when importable, the
file for its own camera frame when tf2 has no transform), ``true`` (tf2 only), ``false`` (the
file only).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from grasp_core.layout import repository_file
from grasp_core.robot import load_extrinsics
from scipy.spatial.transform import Rotation


def default_extrinsics_path() -> Path:
    """config/camera_extrinsics.yaml: the installed grasp_bringup share copy, else the checkout's.

    Raises:
        ValueError: neither exists.
    """
    try:
        from ament_index_python.packages import get_package_share_directory

        p = Path(get_package_share_directory("grasp_bringup")) / "config" / "camera_extrinsics.yaml"
        if p.is_file():
            return p
    except Exception:  # noqa: BLE001 - ament index absent or package not installed
        pass
    p = repository_file("config/camera_extrinsics.yaml")
    if p is not None:
        return p
    raise ValueError("config/camera_extrinsics.yaml not found; set the 'extrinsics' parameter")


class FrameResolver:
    """(4, 4) T_base_frame lookups for the executor (module docstring).

    Args:
        node: for tf2's listener. base_frame: ``base_link``. use_tf: auto | true | false.
        extrinsics: path of the hand-eye calibration YAML ("" = the default file).

    Raises:
        ValueError: ``use_tf`` is true but tf2_ros is missing; the extrinsics file is unreadable.
    """

    def __init__(self, node, base_frame: str, use_tf: str, extrinsics: str) -> None:
        self.base_frame = base_frame
        self.tf_buffer = None
        if use_tf != "false":
            try:
                import tf2_ros

                self.tf_buffer = tf2_ros.Buffer()
                self._tf_listener = tf2_ros.TransformListener(self.tf_buffer, node)
            except ImportError as exc:
                if use_tf == "true":
                    raise ValueError("use_tf is true but tf2_ros is not importable (pip path: use the "
                                     "extrinsics file, use_tf:=auto or false)") from exc
        self.extrinsics = None
        if use_tf != "true":
            path = Path(extrinsics) if extrinsics else default_extrinsics_path()
            self.extrinsics = load_extrinsics(path, parent_frame=base_frame)

    def describe(self) -> str:
        parts = (["tf2"] if self.tf_buffer is not None else []) + (
            [f"extrinsics file ({self.extrinsics.child_frame})"] if self.extrinsics is not None else [])
        return " then ".join(parts)

    def known_frames(self) -> list[str]:
        """Frames a candidate may be stamped in (tf2's current frames included where available)."""
        frames = [self.base_frame]
        if self.extrinsics is not None:
            frames.append(self.extrinsics.child_frame)
        if self.tf_buffer is not None:
            try:
                import yaml

                frames.extend(sorted((yaml.safe_load(self.tf_buffer.all_frames_as_yaml()) or {}).keys()))
            except Exception:  # noqa: BLE001 - tf2's listing is best effort
                pass
        return list(dict.fromkeys(frames))

    def camera_frame(self) -> str:
        return self.extrinsics.child_frame if self.extrinsics is not None else "(tf2 only)"

    def t_base(self, frame_id: str):
        """(4, 4) float64 T_base_frame for ``frame_id``, or None when no transform is known."""
        if frame_id == self.base_frame:
            return np.eye(4)
        if self.tf_buffer is not None:
            from rclpy.time import Time

            try:
                tf = self.tf_buffer.lookup_transform(self.base_frame, frame_id, Time())
                t, r = tf.transform.translation, tf.transform.rotation
                m = np.eye(4)
                m[:3, :3] = Rotation.from_quat([r.x, r.y, r.z, r.w]).as_matrix()
                m[:3, 3] = [t.x, t.y, t.z]
                return m
            except Exception:  # noqa: BLE001 - tf2 raises several lookup exceptions; fall back to the file
                pass
        if self.extrinsics is not None and frame_id == self.extrinsics.child_frame:
            return self.extrinsics.matrix
        return None
