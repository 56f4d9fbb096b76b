"""Settings of the simulated cell (:class:`CellConfig`) and where its camera's extrinsics file is.

The geometry (table, pick area, bin, home joints, camera mount) is the cell's
:class:`grasp_core.layout.CellLayout`; this holds the simulator's own settings (image, noise,
physics, gripper drive, spawned objects, calibration plate).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..layout import CELL_LAYOUT, CellLayout, repository_file
from ..robot import UR5_JOINT_LIMITS
from ..robot.gripper import MAX_FORCE

#: Nominal extrinsics (the shipped ``config/camera_extrinsics.yaml``), used only when that file cannot be found.
NOMINAL_EXTRINSICS = ((0.5, 0.0, 0.7), (0.7071067811865476, -0.7071067811865476, 0.0, 0.0))

#: Home pose (rad): the layout's ``home_joints`` = :data:`grasp_core.motion.HOME_JOINTS` (one
#: definition for the cell and the executor): arm folded up on the +y side of the base, tool pointing
#: down, outside the camera's whole image (test_sim checks it by rendering the empty cell: the table only).
HOME_Q = tuple(float(v) for v in CELL_LAYOUT.home_joints)


def default_extrinsics_path() -> Path | None:
    """``config/camera_extrinsics.yaml`` under ``$GRASP_ROOT``, the source checkout, or the current folder
    (:func:`grasp_core.layout.repository_file`); None when there is none."""
    return repository_file("config/camera_extrinsics.yaml")


@dataclass
class CellConfig:
    """Settings of the simulated cell (metres, seconds, radians, newtons, pixels).

    Attributes:
        layout: table, pick area, bin, home joints and camera mount (default
            :data:`grasp_core.layout.CELL_LAYOUT`, ``config/grasp.yaml``'s ``cell:``).
        extrinsics: camera extrinsics YAML (T_base_link_camera_depth_optical_frame); None: the
            layout's ``camera_extrinsics``, and when that is "" the repository's
            ``config/camera_extrinsics.yaml`` (found via ``$GRASP_ROOT``, the source tree or the current
            folder; the nominal values of that file when none is found).
        width, height, fx, fy, cx, cy: the depth/RGB camera's image size and pinhole intrinsics.
        depth_noise: Kinect-like axial noise on the depth image. depth_holes: Kinect-like holes (0.0).
        noise_level: scale of both (1 = typical Kinect).
        timestep: physics step, s.
        gripper_max_force: default grip force limit, N (Robotiq 2F-85: 20-235 N).
        gripper_speed: opening/closing rate of the fingers' setpoint, m/s of opening.
        max_object_width: procedural objects must be at most this wide in some horizontal direction, m.
        mesh_scale: scale of mesh files' units to metres (0.001: CAD files in millimetres).
        settle_time: physics time spent settling the dropped objects at reset, s.
        board: optional ChArUco calibration plate on the flange
            (:class:`grasp_core.calibration.BoardSpec`); None (default): no plate.
        board_mount: (4, 4) T_tool0_board of that plate; None: :func:`grasp_core.calibration.default_board_mount`.

    Read-only views of the layout: :attr:`pick_centre`, :attr:`pick_half` (spawn area, m),
    :attr:`bin_centre`, :attr:`bin_inner`, :attr:`bin_height` (the placing bin, m), :attr:`home_q`
    ((6,) arm joints at reset, rad).
    """

    extrinsics: str | Path | None = None
    width: int = 640
    height: int = 480
    fx: float = 525.0
    fy: float = 525.0
    cx: float = 319.5
    cy: float = 239.5
    depth_noise: bool = True
    depth_holes: bool = True
    noise_level: float = 1.0
    timestep: float = 0.002
    gripper_max_force: float = 100.0
    gripper_speed: float = 0.15
    max_object_width: float = 0.08
    mesh_scale: float = 1.0
    settle_time: float = 1.0
    board: object | None = None
    board_mount: object | None = None
    layout: CellLayout = field(default_factory=lambda: CELL_LAYOUT)

    def __post_init__(self) -> None:
        if not isinstance(self.layout, CellLayout):
            raise ValueError(f"layout must be a grasp_core.layout.CellLayout, got {self.layout!r}")
        if not UR5_JOINT_LIMITS.within(np.asarray(self.home_q, dtype=float)):
            raise ValueError(f"home_q must be 6 joint positions within the UR5 limits, got {self.home_q}")
        if not (self.width > 0 and self.height > 0 and self.fx > 0 and self.fy > 0):
            raise ValueError("image size and focal lengths must be positive")
        if not (0 < self.gripper_max_force <= MAX_FORCE):
            raise ValueError(f"gripper_max_force must be in (0, {MAX_FORCE:g}] N, got {self.gripper_max_force}")
        if not (0.0 < self.timestep <= 0.01):
            raise ValueError(f"timestep must be in (0, 0.01] s, got {self.timestep}")
        if self.board is not None and not hasattr(self.board, "cv_board"):
            raise ValueError(f"board must be a grasp_core.calibration.BoardSpec or None, got {self.board!r}")
        if self.board_mount is not None:
            t = np.asarray(self.board_mount, dtype=np.float64)
            if t.shape != (4, 4) or not np.all(np.isfinite(t)) or not np.allclose(t[:3, :3].T @ t[:3, :3], np.eye(3),
                                                                                   atol=1e-6):
                raise ValueError("board_mount must be a (4, 4) rigid transform T_tool0_board")

    @property
    def pick_centre(self) -> tuple[float, float]:
        """(x, y) centre of the spawn area, m (the layout's)."""
        return self.layout.pick_centre

    @property
    def pick_half(self) -> tuple[float, float]:
        """(x, y) half extents of the spawn area, m (the layout's)."""
        return self.layout.pick_half

    @property
    def bin_centre(self) -> tuple[float, float]:
        """(x, y) centre of the placing bin, m (the layout's)."""
        return self.layout.bin_centre

    @property
    def bin_inner(self) -> tuple[float, float]:
        """(x, y) inner size of the placing bin, m (the layout's)."""
        return self.layout.bin_inner

    @property
    def bin_height(self) -> float:
        """Wall height of the placing bin, m (the layout's)."""
        return self.layout.bin_height

    @property
    def home_q(self) -> tuple[float, ...]:
        """(6,) arm joint positions at reset, rad (the layout's ``home_joints``: out of the camera's view)."""
        return self.layout.home_joints

    def extrinsics_path(self) -> Path | None:
        """The extrinsics file the camera is placed from (:attr:`extrinsics`, else the layout's
        ``camera_extrinsics``, else :func:`default_extrinsics_path`); None when none is found."""
        if self.extrinsics:
            return Path(self.extrinsics)
        if self.layout.camera_extrinsics:
            return Path(self.layout.camera_extrinsics)
        return default_extrinsics_path()


__all__ = ["CellConfig", "HOME_Q", "NOMINAL_EXTRINSICS", "default_extrinsics_path"]
