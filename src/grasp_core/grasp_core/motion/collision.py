"""Collision checks for the UR5 + 2F-85 cell: table, fixed boxes (bin walls) and the sensed depth.

Three checks, all in ``base_link`` (z up, table top at ``table_z``, default 0):

* :class:`CellCollisionChecker` — per trajectory sample: points along the arm's kinematic centre
  line (DH frame origins 1…6, :func:`grasp_core.robot.link_frames`) must stay
  ``link_radius + link_margin`` above the table, the gripper's finger boxes and body box
  ``fingertip_margin`` above it; optionally no gripper point inside a fixed obstacle box
  (:func:`bin_walls`) and no link centre-line point within ``link_radius`` of one.
* :class:`DepthCollisionMap` — the scene as the camera sees it (a depth image → point cloud in
  ``base_link``, read into a coal occupancy octree); :meth:`DepthCollisionMap.gripper_hits` counts,
  with coal's collision queries, the occupied leaves each part of the 2F-85 (the simulator's shapes,
  :func:`grasp_core.robot.gripper.gripper_boxes`) meets swept from the pre-grasp to the grasp pose,
  and the parts that reach below the table plane. The object being grasped lies between the pads,
  not inside the swept parts, so a clear grasp has (almost) no hits. Built from sensed depth only —
  the executor never sees ground truth.
* :class:`HeightMap` — the same points read as a height field (occupied from the table up to each
  sensed point), for the arm's links and the gripper on free-space moves (the move to the pre-grasp).

Gripper envelope of the cell and free-space checks (:class:`FingerGeometry`, derived from
:func:`~grasp_core.robot.gripper.gripper_boxes`; tool0 frame: z = approach, y = jaw closing): each finger is
a box ``pad_width`` (x) × (``pad_thickness`` + ``body_width``) (y, outward from the inner pad face at
±opening/2) × ``finger_length`` (z, up from the fingertip at ``tip_reach``); the gripper body is a box
around the tool0 z axis from the flange down to ``body_length``.

Units: metres, radians.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import coal
import numpy as np

from ..camera import CameraIntrinsics
from ..layout import CELL_LAYOUT, CellLayout
from ..robot import FINGERTIP_REACH, STROKE, TCP_OFFSET, forward_kinematics, link_frames
from ..robot.arm import arm_distance, arm_surface_points
from ..robot.gripper import (
    BODY_PARTS,
    FINGER_LINK_HALF_Y,
    FINGER_LINK_Y,
    PAD_HALF,
    PALM_BOTTOM,
    USABLE_FINGER_LENGTH,
    gripper_boxes,
)
from .trajectory import JointTrajectory

#: Leaf edge of the occupancy octree (coal) the sensed points are read into for the gripper sweep, m:
#: well below the depth points' spacing (one per 4 × 4 px block, ~5 mm at the cell's 0.66 m), so each
#: leaf holds one point and a leaf reaches at most 1 mm past its point.
OCTREE_RESOLUTION = 0.001
#: Contacts a query reports at most (more than any swept part can meet at this resolution).
_MAX_CONTACTS = 100_000


@dataclass(frozen=True)
class FingerGeometry:
    """The 2F-85's envelope for the cell and free-space checks, in the ``tool0`` frame, m: two finger
    boxes and one body box that enclose :func:`grasp_core.robot.gripper.gripper_boxes` (the one
    description of the gripper's geometry, which the simulator's 2F-85 and the approach sweep use);
    the defaults are derived from it, not typed twice.

    Attributes:
        tcp_offset: tool0 → pad centre (TCP) along z. Default ``TCP_OFFSET`` (0.150).
        tip_reach: tool0 → fingertips along z. Default :data:`grasp_core.robot.FINGERTIP_REACH`
            (0.1685: tips 0.0185 below the TCP, the simulated 2F-85's pads).
        pad_width: pad size along x (0.022). pad_thickness: pad size along y (0.008).
        body_width: finger link beyond the pad along y, outward (0.008).
        finger_length: height of the finger box above the tip along z: the usable finger length,
            fingertip → palm underside (0.0615).
        body_half_x, body_half_y: half extents of the box around coupling, housing and palm (x, y)
            (0.0375, 0.065).
        body_length: the body box spans z ∈ [0, body_length] from the flange: the palm's underside (0.107).
    """

    tcp_offset: float = TCP_OFFSET
    tip_reach: float = FINGERTIP_REACH
    pad_width: float = 2 * PAD_HALF[0]
    pad_thickness: float = 2 * PAD_HALF[1]
    body_width: float = FINGER_LINK_Y + FINGER_LINK_HALF_Y - 2 * PAD_HALF[1]
    finger_length: float = USABLE_FINGER_LENGTH
    body_half_x: float = max(p[2][0] for p in BODY_PARTS)
    body_half_y: float = max(p[2][0] if p[1] == "cylinder" else p[2][1] for p in BODY_PARTS)
    body_length: float = PALM_BOTTOM

    @property
    def tip_below_tcp(self) -> float:
        """How far the fingertips reach past the TCP along the approach, m (0.02 by default)."""
        return self.tip_reach - self.tcp_offset

    def finger_boxes(self, opening: float, margin: float = 0.0) -> np.ndarray:
        """(2, 2, 3) float64: [finger (−y, +y)][lo, hi] corners of the two finger boxes in tool0, m.

        The inner faces stay at ±opening/2 (the object lies between them); ``margin`` grows the
        other faces (x both sides, y outward, z both ends).
        """
        h = opening / 2.0
        out_y = h + self.pad_thickness + self.body_width + margin
        x = self.pad_width / 2.0 + margin
        z0, z1 = self.tip_reach - self.finger_length - margin, self.tip_reach + margin
        return np.array([[[-x, -out_y, z0], [x, -h, z1]],
                         [[-x, h, z0], [x, out_y, z1]]], dtype=np.float64)

    def envelope_boxes(self, opening: float = STROKE) -> list[np.ndarray]:
        """The (2, 3) [lo, hi] tool0 corners of both finger boxes and the body box, m."""
        boxes = list(self.finger_boxes(opening))
        boxes.append(np.array([[-self.body_half_x, -self.body_half_y, 0.0],
                               [self.body_half_x, self.body_half_y, self.body_length]]))
        return boxes

    def gripper_points(self, opening: float = STROKE, n: int = 3) -> np.ndarray:
        """(M, 3) float64 points (tool0 frame) on a grid over both finger boxes and the body box."""
        pts = []
        for lo, hi in self.envelope_boxes(opening):
            axes = [np.linspace(lo[i], hi[i], n) for i in range(3)]
            g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
            pts.append(g)
        return np.concatenate(pts)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in ``base_link``: ``lo`` (3,) and ``hi`` (3,) corners, m; ``name`` for messages."""

    lo: np.ndarray
    hi: np.ndarray
    name: str = "box"

    def __post_init__(self) -> None:
        lo = np.asarray(self.lo, dtype=np.float64).reshape(3)
        hi = np.asarray(self.hi, dtype=np.float64).reshape(3)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo <= hi)):
            raise ValueError(f"box corners must be finite with lo <= hi, got {lo}, {hi}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """(M,) bool: which of the (M, 3) points lie inside the box grown by ``margin`` m."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return np.all((p >= self.lo - margin) & (p <= self.hi + margin), axis=1)


#: The cell's bin (place target), from :data:`grasp_core.layout.CELL_LAYOUT`: centre (x, y) in
#: base_link, inner side (x; the bin is square), wall height, m.
BIN_CENTER = CELL_LAYOUT.bin_centre
BIN_INNER = CELL_LAYOUT.bin_inner[0]
BIN_HEIGHT = CELL_LAYOUT.bin_height


def bin_walls(center=None, inner_size=None, height: float | None = None, thickness: float | None = None,
              floor_z: float | None = None, layout: CellLayout | None = None) -> tuple[Box, ...]:
    """The four walls of the place bin as boxes in ``base_link``.

    Every argument left None comes from ``layout`` (default :data:`grasp_core.layout.CELL_LAYOUT`).

    Args:
        center: (x, y) of the bin centre, m (layout ``bin_centre``, (0.25, −0.60)).
        inner_size: inner size, m: a side length (square) or (x, y) (layout ``bin_inner``).
        height: wall height above ``floor_z``, m (layout ``bin_height``).
        thickness: wall thickness, m (layout ``bin_wall_thickness``).
        floor_z: table height, m (layout ``table_z``).
        layout: the cell layout.
    """
    lay = layout or CELL_LAYOUT
    center = lay.bin_centre if center is None else center
    inner = np.broadcast_to(np.asarray(lay.bin_inner if inner_size is None else inner_size, dtype=np.float64),
                            (2,))
    height = lay.bin_height if height is None else height
    t = lay.bin_wall_thickness if thickness is None else thickness
    floor_z = lay.table_z if floor_z is None else floor_z
    cx, cy = float(center[0]), float(center[1])
    hx, hy = float(inner[0]) / 2.0, float(inner[1]) / 2.0
    z0, z1 = floor_z, floor_z + height
    return (Box([cx - hx - t, cy - hy - t, z0], [cx + hx + t, cy - hy, z1], "bin wall -y"),
            Box([cx - hx - t, cy + hy, z0], [cx + hx + t, cy + hy + t, z1], "bin wall +y"),
            Box([cx - hx - t, cy - hy, z0], [cx - hx, cy + hy, z1], "bin wall -x"),
            Box([cx + hx, cy - hy, z0], [cx + hx + t, cy + hy, z1], "bin wall +x"))


def link_points(q, spacing: float = 0.05) -> np.ndarray:
    """(M, 3) float64 points in ``base_link`` along the arm's centre line, DH frame 1 (shoulder) → tool0.

    Consecutive DH frame origins 1…6 joined by straight segments, sampled at most ``spacing`` m apart
    (both ends included). The base column (frame 0 → 1) is fixed on the table and left out.
    """
    origins = link_frames(q)[1:, :3, 3]
    pts = [origins[:1]]
    for a, b in zip(origins[:-1], origins[1:], strict=True):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / spacing)))
        lam = np.linspace(0.0, 1.0, n + 1)[1:, None]
        pts.append(a + lam * (b - a))
    return np.concatenate(pts)


def _to_base(t: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ t[:3, :3].T + t[:3, 3]


@dataclass(frozen=True)
class CellCollisionChecker:
    """Table and fixed-obstacle check of arm configurations and trajectories (module docstring).

    Attributes:
        table_z: table top height in ``base_link``, m (:data:`grasp_core.layout.CELL_LAYOUT`'s, 0).
        link_radius: radius of the UR5 links around their centre line, m (0.05).
        link_margin: extra clearance of the links above the table, m (0.03).
        fingertip_margin: clearance of the finger and body boxes above the table, m (0.005).
        obstacle_margin: clearance of gripper points from obstacle boxes, m (0.01).
        fingers: gripper volumes. opening: finger opening assumed while moving, m (the stroke:
            conservative).
        obstacles: fixed boxes (e.g. :func:`bin_walls`); empty by default.
        spacing: sample spacing along the links, m.
    """

    table_z: float = CELL_LAYOUT.table_z
    link_radius: float = 0.05
    link_margin: float = 0.03
    fingertip_margin: float = 0.005
    obstacle_margin: float = 0.01
    fingers: FingerGeometry = field(default_factory=FingerGeometry)
    opening: float = STROKE
    obstacles: tuple[Box, ...] = ()
    spacing: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "obstacles", tuple(self.obstacles))
        object.__setattr__(self, "_gripper", self.fingers.gripper_points(self.opening))

    def check_configuration(self, q, table_floor: float | None = None) -> str | None:
        """None when (6,) joints ``q`` (rad) are collision-free, else a one-line reason.

        Args:
            q: joints, rad.
            table_floor: lowest gripper z accepted, m (default ``table_z + fingertip_margin``).

        Raises:
            ValueError: q not 6 finite values.
        """
        links = link_points(q, self.spacing)
        tool0 = link_frames(q)[6]
        grip = _to_base(tool0, self._gripper)
        z_link = float(np.min(links[:, 2]))
        if z_link < self.table_z + self.link_radius + self.link_margin - 1e-6:
            return (f"arm link centre line {z_link:.3f} m above the table, needs "
                    f"{self.link_radius + self.link_margin:.3f} m")
        z_grip = float(np.min(grip[:, 2]))
        floor = self.table_z + self.fingertip_margin if table_floor is None else table_floor
        if z_grip < floor - 1e-6:
            return f"gripper/fingertips at z = {z_grip:.4f} m, below the table + {self.fingertip_margin} m"
        for box in self.obstacles:
            if np.any(box.contains(grip, self.obstacle_margin)):
                return f"gripper inside {box.name}"
            if np.any(box.contains(links, self.link_radius)):
                return f"arm link inside {box.name}"
        return None

    def gripper_min_z(self, q) -> float:
        """Lowest z of the gripper volumes at joints ``q``, m in ``base_link``."""
        return float(np.min(_to_base(link_frames(q)[6], self._gripper)[:, 2]))

    def check_trajectory(self, traj: JointTrajectory | np.ndarray) -> str | None:
        """None when every sample of a trajectory (or (N, 6) array of joints) is free, else a reason
        naming the first colliding sample (index and time).

        The first sample is where the arm already is: a trajectory that starts with the fingertips
        closer to the table than the margin (tracking error at a low grasp) may still leave; its
        gripper only has to stay no lower than it starts.
        """
        positions = traj.positions if isinstance(traj, JointTrajectory) else np.asarray(traj, dtype=np.float64)
        positions = positions.reshape(-1, 6)
        floor = min(self.table_z + self.fingertip_margin, self.gripper_min_z(positions[0]))
        for k, q in enumerate(positions):
            why = self.check_configuration(q, table_floor=floor)
            if why is not None:
                when = f" at t = {traj.times[k]:.2f} s" if isinstance(traj, JointTrajectory) else ""
                return f"collision at sample {k}{when}: {why}"
        return None


def default_cell_checker(with_bin: bool = True, layout: CellLayout | None = None, **kwargs) -> CellCollisionChecker:
    """The cell's checker: the table at the layout's ``table_z`` and (``with_bin``) the bin walls of
    :func:`bin_walls`; ``layout`` default :data:`grasp_core.layout.CELL_LAYOUT`, ``kwargs`` go to
    :class:`CellCollisionChecker`."""
    lay = layout or CELL_LAYOUT
    kwargs.setdefault("table_z", lay.table_z)
    return CellCollisionChecker(obstacles=bin_walls(layout=lay) if with_bin else (), **kwargs)


def in_view_cone(points, camera, layout: CellLayout | None = None, margin: float = 0.08) -> np.ndarray:
    """(M,) bool: which (M, 3) ``base_link`` points lie in the pyramid between the camera and the pick area.

    The pyramid has its apex at the camera's optical centre and its base the cell's pick area
    (``layout.pick_centre`` ± ``layout.pick_half`` + ``margin``, on the table plane ``layout.table_z``);
    a point inside it hides part of that area from the camera (the arm must leave it before an image
    of the table is used).

    Args:
        points: (M, 3) points in ``base_link``, m.
        camera: the camera's position (3,) in ``base_link``, m, or its (4, 4) pose
            T_base_link_camera_optical_frame (the hand-eye calibration).
        layout: the cell (default :data:`grasp_core.layout.CELL_LAYOUT`).
        margin: the area grown by this much on every side, m (0.08: the ±0.12 m pick area becomes
            0.40 × 0.40 m, room for objects on its border).

    Raises:
        ValueError: the camera is not above the table.
    """
    lay = layout or CELL_LAYOUT
    c = np.asarray(camera, dtype=np.float64)
    c = c[:3, 3] if c.shape == (4, 4) else c.reshape(3)
    if not c[2] > lay.table_z:
        raise ValueError(f"camera at z = {c[2]:.3f} m is not above the table (z = {lay.table_z} m)")
    lo = np.asarray(lay.pick_centre) - np.asarray(lay.pick_half) - margin
    hi = np.asarray(lay.pick_centre) + np.asarray(lay.pick_half) + margin
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    lam = (c[2] - p[:, 2]) / (c[2] - lay.table_z)  # 0 at the camera's height, 1 on the table
    ok = (lam > 0.0) & (lam <= 1.0)
    safe = np.where(ok, lam, 1.0)
    for a in range(2):  # the ray camera → point meets the table at c + (p − c)/lam
        hit = c[a] + (p[:, a] - c[a]) / safe
        ok &= (hit >= lo[a]) & (hit <= hi[a])
    return ok


def arm_in_view(q, camera, layout: CellLayout | None = None, opening: float = STROKE,
                spacing: float = 0.02) -> bool:
    """Whether the UR5 at joints ``q`` hides part of the pick area from the camera (:func:`in_view_cone`).

    Tested: points every ``spacing`` m along the arm's kinematic centre line (:func:`link_points`)
    and on the 2F-85's finger and body boxes at ``opening`` (:meth:`FingerGeometry.gripper_points`).
    The links' own radius is covered by the cone's margin (0.08 m around the pick area).

    Args:
        q: (6,) joints, rad. camera: (3,) position or (4, 4) pose of the camera in ``base_link``.
        layout: the cell (default :data:`grasp_core.layout.CELL_LAYOUT`).
    """
    t = forward_kinematics(np.asarray(q, dtype=np.float64))
    grip = FingerGeometry().gripper_points(opening, n=3) @ t[:3, :3].T + t[:3, 3]
    pts = np.concatenate([link_points(q, spacing=spacing), grip])
    return bool(np.any(in_view_cone(pts, camera, layout)))


class DepthCollisionMap:
    """The sensed scene as a point cloud in ``base_link``, for checking finger volumes (module docstring).

    Args:
        points: (M, 3) float64 points in ``base_link``, m (use :meth:`from_depth` for a depth image).
    """

    def __init__(self, points) -> None:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        p = p[np.all(np.isfinite(p), axis=1)]
        p.setflags(write=False)
        self.points = p

    def __len__(self) -> int:
        return len(self.points)

    def without_robot(self, q, margin: float = 0.02, opening: float = STROKE) -> DepthCollisionMap:
        """The map less the points on the robot itself at joints ``q`` (a robot self-filter, as MoveIt's
        occupancy-map updater applies): the camera sees the arm when it stands over the bin or beside
        the pick area, and the arm would otherwise "collide" with its own image where it stands.

        Removed: points within ``margin`` m of the arm's collision shapes
        (:func:`grasp_core.robot.arm.arm_distance`) or inside the gripper's parts at ``opening``
        (:func:`grasp_core.robot.gripper.gripper_boxes`) or its envelope (:class:`FingerGeometry`, what
        the cell check and :meth:`HeightMap.arm_meets` use), grown by ``margin``.

        Args:
            q: (6,) joints, rad, at the image's time (the arm is at rest while a frame is judged).
            margin: m. opening: jaw opening assumed, m (default the stroke: the widest).

        Raises:
            ValueError: q not 6 finite values.
        """
        p = self.points
        if len(p) == 0:
            return self
        # only points inside the robot's bounding box (grown by the margin) are looked at closely
        t = forward_kinematics(np.asarray(q, dtype=np.float64))
        boxes = [(lo, hi) for _name, lo, hi in gripper_boxes(opening)] + list(FingerGeometry().envelope_boxes(opening))
        corners = [np.stack(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij"), -1).reshape(-1, 3)
                   for lo, hi in boxes]
        robot = np.vstack([arm_surface_points(q, spacing=0.05)] + [c @ t[:3, :3].T + t[:3, 3] for c in corners])
        grow = margin + 0.07  # the sampled surface points lie within a link radius of every surface point
        near = np.all((p >= robot.min(axis=0) - grow) & (p <= robot.max(axis=0) + grow), axis=1)
        if not np.any(near):
            return self
        idx = np.flatnonzero(near)
        close = arm_distance(p[idx], q) <= margin
        local = (p[idx] - t[:3, 3]) @ t[:3, :3]
        for lo, hi in boxes:
            close |= np.all((local >= lo - margin) & (local <= hi + margin), axis=1)
        if not np.any(close):
            return self
        keep = np.ones(len(p), dtype=bool)
        keep[idx[close]] = False
        return DepthCollisionMap(p[keep])

    @cached_property
    def height_map(self) -> HeightMap:
        """The points read as a height field (:class:`HeightMap`), built once: every candidate of a frame
        is checked against the same map (and its per-radius dilations)."""
        return HeightMap(self.points)

    @classmethod
    def from_depth(cls, depth, intrinsics: CameraIntrinsics, t_base_camera, stride: int = 4,
                   floor_z: float | None = 0.004, max_depth: float = 5.0) -> DepthCollisionMap:
        """Back-project a depth image to ``base_link``.

        Args:
            depth: (H, W) float32/float64 depth, m; NaN, ≤ 0 or > ``max_depth`` are holes (skipped).
            intrinsics: pinhole intrinsics of that image (H, W must match).
            t_base_camera: (4, 4) pose of the camera optical frame in ``base_link`` (extrinsics).
            stride: one point per ``stride`` × ``stride`` block of pixels (4: 1/16 of the pixels):
                the block's nearest valid pixel (smallest depth: the highest surface under a
                top-down camera), at its own (u, v). Plain subsampling missed thin peaks — a 5 mm
                spike between two sampled pixels let the palm touch a random_urdfs object whose
                sensed top lay 6 mm below the true one (sim-bench seed 10).
            floor_z: points at or below this height are the table and are dropped (None keeps all).
            max_depth: far limit, m.

        Raises:
            ValueError: wrong image shape, bad transform or stride.
        """
        d = np.asarray(depth, dtype=np.float64)
        if d.ndim != 2 or d.shape != (intrinsics.height, intrinsics.width):
            raise ValueError(f"depth image shape {d.shape} does not match the intrinsics "
                             f"({intrinsics.height}, {intrinsics.width})")
        if int(stride) < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        t = np.asarray(t_base_camera, dtype=np.float64)
        if t.shape != (4, 4) or not np.all(np.isfinite(t)):
            raise ValueError("t_base_camera must be a finite (4, 4) transform")
        s = int(stride)
        h, w = d.shape
        valid = np.where(np.isfinite(d) & (d > 0) & (d <= max_depth), d, np.inf)
        hp, wp = -(-h // s) * s, -(-w // s) * s  # pad to whole blocks with holes
        padded = np.full((hp, wp), np.inf)
        padded[:h, :w] = valid
        blocks = padded.reshape(hp // s, s, wp // s, s).transpose(0, 2, 1, 3).reshape(hp // s, wp // s, s * s)
        k = np.argmin(blocks, axis=2)  # the nearest pixel of each block
        z = np.take_along_axis(blocks, k[..., None], axis=2)[..., 0]
        bv, bu = np.mgrid[0:hp // s, 0:wp // s]
        v, u = bv * s + k // s, bu * s + k % s
        ok = np.isfinite(z)
        u, v, z = u[ok].astype(np.float64), v[ok].astype(np.float64), z[ok]
        cam = np.stack([(u - intrinsics.cx) * z / intrinsics.fx, (v - intrinsics.cy) * z / intrinsics.fy, z], axis=1)
        pts = _to_base(t, cam)
        if floor_z is not None:
            pts = pts[pts[:, 2] > floor_z]
        return cls(pts)

    @cached_property
    def octree(self):
        """The points as a coal (hpp-fcl) occupancy octree with :data:`OCTREE_RESOLUTION` leaves, built
        once (``coal.OcTree``; None when the map is empty): the scene of :meth:`gripper_hits`."""
        if len(self.points) == 0:
            return None
        return coal.makeOctree(np.ascontiguousarray(self.points), OCTREE_RESOLUTION)

    def gripper_hits(self, t_base_tool0_grasp, t_base_tool0_pregrasp, opening: float,
                     margin: float = 0.003, table_z: float | None = None) -> dict[str, int]:
        """What each part of the whole simulated 2F-85 meets when swept along the approach pre-grasp → grasp.

        The parts are :func:`grasp_core.robot.gripper.gripper_boxes` at ``opening`` — the same
        shapes the simulator's gripper is built from (coupling, housing, palm, both finger links and
        pads). Each part, grown by ``margin`` on every face, is swept along the translation between
        the two poses: the swept volume is the convex hull of the box at both ends (exact for a
        translation), a ``coal.Convex``; coal's collision query against :attr:`octree` counts the
        occupied leaves it meets (one per sensed point at this resolution: the depth points are
        ≥ 4 px, ~5 mm, apart). The orientations must agree (a pure translation).

        Args:
            t_base_tool0_grasp, t_base_tool0_pregrasp: (4, 4) tool0 poses in ``base_link``, m.
            opening: jaw opening during the approach (the pre-open width), m.
            margin: growth of every part against the sensed points, m.
            table_z: table top in ``base_link``, m; given, the entry ``"table"`` counts the parts whose
                swept volume (not grown: the plane is calibrated, not sensed) reaches below it (a coal
                ``Halfspace``).

        Returns:
            {geom name: occupied octree leaves its swept volume meets}, every part listed, plus
            ``"table"`` when ``table_z`` is given.

        Raises:
            ValueError: bad transforms or differing orientations.
        """
        rg, origin, d = self._grasp_frame(t_base_tool0_grasp, t_base_tool0_pregrasp)
        pose = coal.Transform3s(rg, origin)
        octree = self.octree
        hits = {}
        table = 0
        for name, lo, hi in gripper_boxes(opening):
            hits[name] = 0 if octree is None else _leaves_met(_swept_box(lo - margin, hi + margin, d), pose, octree)
            if table_z is not None:
                table += _leaves_met(_swept_box(lo, hi, d), pose, coal.Halfspace(np.array([0.0, 0.0, 1.0]),
                                                                                 float(table_z)))
        if table_z is not None:
            hits["table"] = table
        return hits

    def in_grasp_frame(self, t_base_tool0_grasp) -> np.ndarray:
        """(M, 3) the sensed points in the tool0 frame of a grasp pose (z = approach), m."""
        tg = np.asarray(t_base_tool0_grasp, dtype=np.float64)
        return (self.points - tg[:3, 3]) @ tg[:3, :3]

    @staticmethod
    def _grasp_frame(t_base_tool0_grasp, t_base_tool0_pregrasp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(grasp tool0 rotation (3, 3), its origin (3,), the pre-grasp's offset (3,) in that frame), m.

        Raises:
            ValueError: non-finite or non-(4, 4) poses, or orientations that differ (not a translation).
        """
        tg = np.asarray(t_base_tool0_grasp, dtype=np.float64)
        tp = np.asarray(t_base_tool0_pregrasp, dtype=np.float64)
        if tg.shape != (4, 4) or tp.shape != (4, 4) or not (np.all(np.isfinite(tg)) and np.all(np.isfinite(tp))):
            raise ValueError("grasp and pre-grasp must be finite (4, 4) transforms")
        rg = tg[:3, :3]
        if np.max(np.abs(rg.T @ tp[:3, :3] - np.eye(3))) > 1e-4:
            raise ValueError("pre-grasp and grasp orientations differ: the sweep needs a pure translation")
        return rg.copy(), tg[:3, 3].copy(), rg.T @ (tp[:3, 3] - tg[:3, 3])


class HeightMap:
    """The sensed scene as a height field in ``base_link``: everything under a sensed point is occupied.

    A camera above the table sees the tops of objects, not their sides; the arm passing beside a
    tall object meets the unseen side below the sensed top (a procedural bottle's forearm contact on
    the move to the pre-grasp, sim-bench household seed 3). So a sensed point (x, y, z) stands for
    the column from the table up to z — the conservative reading of a single top-down view.

    The field is a grid of ``cell`` m squares over the points' extent holding the highest sensed z
    (−inf where nothing was sensed); a sphere of radius r at p meets the scene iff some column whose
    cell lies within r (horizontally) of p rises above p.z − r (:meth:`meets`; a disc maximum filter,
    :func:`scipy.ndimage.maximum_filter`, per radius).

    Args:
        points: (M, 3) sensed points in ``base_link``, m (e.g. :attr:`DepthCollisionMap.points`: the
            table already dropped).
        cell: grid resolution, m (0.005).
    """

    def __init__(self, points, cell: float = 0.005) -> None:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        p = p[np.all(np.isfinite(p), axis=1)]
        if not cell > 0:
            raise ValueError(f"cell must be > 0, got {cell}")
        self.cell = float(cell)
        self.top = float(np.max(p[:, 2])) if len(p) else -np.inf
        if len(p) == 0:
            self.origin, self.grid = np.zeros(2), np.full((1, 1), -np.inf)
        else:
            self.origin = p[:, :2].min(axis=0)
            ij = np.floor((p[:, :2] - self.origin) / self.cell).astype(np.int64)
            grid = np.full(tuple(ij.max(axis=0) + 1), -np.inf)
            np.maximum.at(grid, (ij[:, 0], ij[:, 1]), p[:, 2])
            self.grid = grid
        self._dilated: dict[float, np.ndarray] = {}

    def _field(self, radius: float) -> tuple[np.ndarray, int]:
        from scipy.ndimage import maximum_filter

        n = int(np.ceil(radius / self.cell)) + 1  # +1: a point anywhere in its own cell
        key = round(float(radius), 6)
        if key not in self._dilated:
            yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
            disc = np.hypot(xx, yy) * self.cell <= radius + self.cell * 1.5
            padded = np.pad(self.grid, n, constant_values=-np.inf)
            self._dilated[key] = maximum_filter(padded, footprint=disc, mode="constant", cval=-np.inf)
        return self._dilated[key], n

    def meets(self, points, radius: float) -> np.ndarray:
        """(N,) bool: which (N, 3) ``base_link`` points, as spheres of ``radius`` m, meet the scene."""
        q = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if not np.isfinite(self.top):
            return np.zeros(len(q), dtype=bool)
        field, n = self._field(float(radius))
        ij = np.floor((q[:, :2] - self.origin) / self.cell).astype(np.int64) + n
        inside = np.all((ij >= 0) & (ij < np.array(field.shape)), axis=1)
        h = np.full(len(q), -np.inf)
        h[inside] = field[ij[inside, 0], ij[inside, 1]]
        return h > q[:, 2] - radius

    def arm_meets(self, q, opening: float = STROKE, margin: float = 0.01, gripper: bool = True,
                  fingers: FingerGeometry | None = None) -> str | None:
        """None when the UR5 at joints ``q`` (6,) rad keeps ``margin`` m from the scene, else which part meets it.

        Links: points on the surfaces of the arm's collision shapes (:func:`grasp_core.robot.arm.arm_surface_points`,
        the simulator's own), as spheres of ``margin``; gripper (``gripper``): the 2F-85's finger and body points
        (:meth:`FingerGeometry.gripper_points` at ``opening``), likewise.

        Raises:
            ValueError: q not 6 finite values.
        """
        if np.any(self.meets(arm_surface_points(q, spacing=min(0.014, 1.4 * margin)), margin)):
            return "an arm link meets the sensed scene"
        if gripper:
            t = forward_kinematics(np.asarray(q, dtype=np.float64))
            g = (fingers or FingerGeometry()).gripper_points(opening, n=4) @ t[:3, :3].T + t[:3, 3]
            if np.any(self.meets(g, margin)):
                return "the gripper meets the sensed scene"
        return None

    def check_path(self, positions, opening: float = STROKE, margin: float = 0.01, step: int = 1) -> str | None:
        """None when every ``step``-th of the (N, 6) joint samples (and the last) is clear (:meth:`arm_meets`)."""
        pos = np.asarray(positions, dtype=np.float64).reshape(-1, 6)
        idx = sorted(set(range(0, len(pos), max(1, int(step)))) | {len(pos) - 1})
        for k in idx:
            why = self.arm_meets(pos[k], opening, margin)
            if why:
                return f"sample {k} of {len(pos)}: {why}"
        return None


def _swept_box(lo: np.ndarray, hi: np.ndarray, d: np.ndarray):
    """The volume the box [lo, hi] covers when moved by λ·d, λ ∈ [0, 1]: the convex hull of its corners
    at both ends (``coal.Convex``, qhull), in the box's frame, m."""
    corners = np.stack(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij"), -1).reshape(-1, 3)
    vertices = coal.StdVec_Vec3s()
    for v in np.vstack([corners, corners + np.asarray(d, dtype=np.float64)]):
        vertices.append(v)
    return coal.Convex.convexHull(vertices, False, "")


def _leaves_met(shape, pose, scene) -> int:
    """How many contacts coal's collision query finds between ``shape`` at ``pose`` (coal.Transform3s) and
    ``scene`` at the identity (an OcTree: one per occupied leaf met; a Halfspace: 0 or 1)."""
    request = coal.CollisionRequest()
    request.num_max_contacts = _MAX_CONTACTS
    result = coal.CollisionResult()
    return int(coal.collide(shape, pose, scene, coal.Transform3s(), request, result))


__all__ = ["BIN_CENTER", "BIN_HEIGHT", "BIN_INNER", "Box", "CellCollisionChecker", "DepthCollisionMap",
           "FingerGeometry", "HeightMap", "arm_in_view", "bin_walls", "default_cell_checker", "in_view_cone",
           "link_points"]
