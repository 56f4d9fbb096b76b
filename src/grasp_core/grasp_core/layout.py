"""The pick cell's layout: table, pick area, bin, place pose, home joints and camera mount, in one place.

Every consumer reads one :class:`CellLayout`: the simulator (:class:`grasp_core.sim.SimCell` builds
its table and bin from it and spawns objects in its pick area), the collision check
(:func:`grasp_core.motion.bin_walls`, :func:`grasp_core.motion.default_cell_checker`), the pick
sequence's named configurations (:data:`grasp_core.motion.HOME_JOINTS` / :data:`PLACE_JOINTS`, the
latter derived here by closed-form IK) and, through the parameters file, the nodes and the launch file.

Source of the values: the ``cell:`` entry of the wildcard section of ``config/grasp.yaml``::

    /**:
      ros__parameters:
        cell:
          table_z: 0.0
          ...

``/**`` is the rcl parameters-file wildcard (it applies to every node); the section stays after the
node sections, since rclpy applies a file's sections in order and files command-line ``-p``
overrides under ``/**`` (a node section after it would beat them). A node may declare the
``cell.*`` parameters (:meth:`CellLayout.to_parameters` gives their names and defaults) and rebuild
the layout with :meth:`CellLayout.from_parameters`. :data:`CELL_LAYOUT` is the repository file's
layout when that file is found (``$GRASP_ROOT``, the source checkout, the current folder), else the
dataclass defaults, which equal the shipped file (``test_layout`` checks it).

Frame: ``base_link`` (REP 103, z up; the robot at the origin). Units: metres, radians.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from .robot import UR5_JOINT_LIMITS, nearest_solution

#: The wildcard section of a ROS 2 parameters file and the parameter prefix of the layout.
WILDCARD, PREFIX = "/**", "cell"


@dataclass(frozen=True)
class CellLayout:
    """Geometry of the pick cell in ``base_link`` (metres, radians).

    Attributes:
        table_z: height of the table top, m (0: the robot stands on the table).
        table_x, table_y: (min, max) extents of the table top along x and y, m.
        table_thickness: thickness of the table slab below ``table_z``, m (simulation only).
        pick_centre: (x, y) centre of the pick area where objects lie, m.
        pick_half: (x, y) half extents of the pick area, m.
        bin_centre: (x, y) centre of the place bin (an open box on the table), m.
        bin_inner: (x, y) inner size of the bin, m.
        bin_height: height of the bin walls above the table top, m.
        bin_wall_thickness: thickness of the bin walls, m (the collision check's wall boxes and the
            simulated walls).
        place_height: height of ``tool0`` above the table top in the place pose (tool pointing down
            over the bin centre), m. 0.30: TCP 0.15 m, fingertips 0.13 m, 5 cm above the walls.
        place_yaw: rotation of the place pose about the vertical, rad: ``tool0`` x axis at
            (cos, sin) of it in the table plane (−π/2: x along −y, the jaws close along −x).
        home_joints: (6,) home configuration, rad, :data:`grasp_core.robot.JOINT_NAMES` order: the
            arm folded on the +y side of the base, tool pointing down, out of the camera's view.
        camera_extrinsics: camera mount = path of the hand-eye extrinsics file
            (T_base_link_camera_depth_optical_frame); "" = the repository's
            ``config/camera_extrinsics.yaml``.

    Raises:
        ValueError: non-finite values, empty extents, wrong lengths, home joints outside the UR5 limits.
    """

    table_z: float = 0.0
    table_x: tuple[float, float] = (-0.35, 0.95)
    table_y: tuple[float, float] = (-0.8, 0.8)
    table_thickness: float = 0.04
    pick_centre: tuple[float, float] = (0.50, 0.00)
    pick_half: tuple[float, float] = (0.12, 0.12)
    bin_centre: tuple[float, float] = (0.25, -0.60)
    bin_inner: tuple[float, float] = (0.30, 0.30)
    bin_height: float = 0.08
    bin_wall_thickness: float = 0.008
    place_height: float = 0.30
    place_yaw: float = -math.pi / 2
    home_joints: tuple[float, ...] = (math.pi / 2, -1.9, 2.3, -1.97, -1.5708, 0.0)
    camera_extrinsics: str = ""

    def __post_init__(self) -> None:
        lengths = {"table_x": 2, "table_y": 2, "pick_centre": 2, "pick_half": 2, "bin_centre": 2, "bin_inner": 2,
                   "home_joints": 6}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "camera_extrinsics":
                object.__setattr__(self, f.name, str(v))
            elif f.name in lengths:
                t = tuple(float(x) for x in np.asarray(v, dtype=np.float64).reshape(-1))
                if len(t) != lengths[f.name] or not all(math.isfinite(x) for x in t):
                    raise ValueError(f"cell.{f.name} must be {lengths[f.name]} finite numbers, got {v!r}")
                object.__setattr__(self, f.name, t)
            else:
                try:
                    x = float(v)
                except (TypeError, ValueError):
                    raise ValueError(f"cell.{f.name} must be a number, got {v!r}") from None
                if not math.isfinite(x):
                    raise ValueError(f"cell.{f.name} must be finite, got {v!r}")
                object.__setattr__(self, f.name, x)
        for name in ("table_x", "table_y"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ValueError(f"cell.{name} must be (min, max) with min < max, got {(lo, hi)}")
        for name in ("pick_half", "bin_inner"):
            if min(getattr(self, name)) <= 0:
                raise ValueError(f"cell.{name} must be positive, got {getattr(self, name)}")
        for name in ("table_thickness", "bin_height", "bin_wall_thickness"):
            if getattr(self, name) <= 0:
                raise ValueError(f"cell.{name} must be positive, got {getattr(self, name)}")
        if not UR5_JOINT_LIMITS.within(np.asarray(self.home_joints)):
            raise ValueError(f"cell.home_joints {self.home_joints} are outside the UR5 joint limits")

    # ------------------------------------------------------------------ derived geometry
    def place_pose(self) -> np.ndarray:
        """(4, 4) T_base_link_tool0 of the place pose: tool0 z pointing down, ``place_height`` above the
        table at the bin centre, x axis at ``place_yaw``."""
        c, s = math.cos(self.place_yaw), math.sin(self.place_yaw)
        t = np.eye(4)
        # columns: tool0 x = (c, s, 0), y = (s, −c, 0), z = (0, 0, −1) (right-handed, z down)
        t[:3, :3] = [[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]]
        t[:3, 3] = (self.bin_centre[0], self.bin_centre[1], self.table_z + self.place_height)
        return t

    def place_joints(self, decimals: int | None = 4) -> np.ndarray:
        """(6,) float64 joints of :meth:`place_pose`, rad: the closed-form IK solution
        (:func:`grasp_core.robot.nearest_solution`, Hawkins 2013) nearest to ``home_joints``.

        Args:
            decimals: round the angles to this many decimals (default 4: 1e-4 rad, the resolution
                of the hand-entered values this replaces, which the rounded IK solution reproduces
                exactly; tool0 moves < 0.1 mm); None: unrounded.

        Raises:
            grasp_core.robot.IKError: the place pose is out of the UR5's reach or limits.
        """
        q = nearest_solution(self.place_pose(), np.asarray(self.home_joints))
        return q if decimals is None else np.round(q, decimals)

    def table_contains(self, x: float, y: float) -> bool:
        """Whether (x, y) lies over the table top (extents inclusive)."""
        return self.table_x[0] <= x <= self.table_x[1] and self.table_y[0] <= y <= self.table_y[1]

    # ------------------------------------------------------------------ parameters
    def to_parameters(self) -> dict[str, object]:
        """Flat ``{"cell.<field>": value}`` (floats, lists of floats, strings): ROS parameter names and
        defaults for ``declare_parameter``."""
        return {f"{PREFIX}.{k}": (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_parameters(cls, params: dict) -> CellLayout:
        """A layout from flat ``"cell.<field>"`` keys (as :meth:`to_parameters` gives, e.g. a node's
        parameter values; other keys are ignored) or from a nested ``{"cell": {...}}`` / plain
        ``{<field>: ...}`` mapping; missing fields keep their defaults.

        Raises:
            ValueError: an unknown ``cell.*`` key or a bad value.
        """
        if isinstance(params.get(PREFIX), dict):
            params = params[PREFIX]
        flat = any(str(k).startswith(PREFIX + ".") for k in params)
        names = {f.name for f in fields(cls)}
        kw = {}
        for key, v in params.items():
            key = str(key)
            if flat and not key.startswith(PREFIX + "."):
                continue  # another parameter of the node
            name = key[len(PREFIX) + 1:] if flat else key
            if name not in names:
                raise ValueError(f"unknown cell layout parameter {key!r} (known: {sorted(names)})")
            kw[name] = v
        return cls(**kw)

    @classmethod
    def from_yaml(cls, path: str | Path) -> CellLayout:
        """The layout in a parameters file's ``/**: ros__parameters: cell:`` section (defaults for what
        it leaves out; all defaults when the file has no such section).

        Raises:
            ValueError: the file cannot be read or parsed, or a value is bad (the message names the file).
        """
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
            section = ((data.get(WILDCARD) or {}).get("ros__parameters") or {}).get(PREFIX) or {}
            if not isinstance(section, dict):
                raise ValueError(f"{WILDCARD}.ros__parameters.{PREFIX} must be a mapping")
            return cls.from_parameters(section)
        except (OSError, yaml.YAMLError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"cannot read the cell layout from {path}: {exc}") from exc


def repository_file(relpath: str) -> Path | None:
    """``relpath`` (e.g. ``config/grasp.yaml``) under ``$GRASP_ROOT``, a parent folder of this package
    (source checkout) or the current folder; None when there is none."""
    cands = []
    if os.environ.get("GRASP_ROOT"):
        cands.append(Path(os.environ["GRASP_ROOT"]) / relpath)
    cands += [p / relpath for p in Path(__file__).resolve().parents]
    cands.append(Path.cwd() / relpath)
    return next((c for c in cands if c.is_file()), None)


def repository_config() -> Path | None:
    """The checkout's ``config/grasp.yaml`` (:func:`repository_file`), or None."""
    return repository_file("config/grasp.yaml")


def default_layout() -> CellLayout:
    """The repository's layout (:func:`repository_config`), else the :class:`CellLayout` defaults."""
    path = repository_config()
    return CellLayout.from_yaml(path) if path is not None else CellLayout()


#: The cell's layout, read once at import (module docstring).
CELL_LAYOUT = default_layout()

__all__ = ["CELL_LAYOUT", "CellLayout", "default_layout", "repository_config", "repository_file"]
