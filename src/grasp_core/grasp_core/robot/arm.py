"""The UR5's collision geometry: one description for the simulator and the motion checks.

Each moving link of the arm is covered by cylinders and capsules (:class:`ArmPart`) given in its
ur_description link frame (``shoulder_link`` … ``wrist_3_link``): the joint housings as cylinders
around the joint axes, the upper-arm and forearm tubes as capsules, offset sideways from the
kinematic centre line by the shoulder and elbow offsets of ur_description's
``physical_parameters.yaml``. The simulator builds its arm geoms from :data:`ARM_PARTS`
(:func:`grasp_core.sim.model.arm_xml`) and the executor checks the same shapes against the sensed
scene (:func:`arm_surface_points`, :class:`grasp_core.motion.HeightMap`); test_robot compares the
two placements with MuJoCo's compiled geoms.

Link frames from the DH frames (:func:`grasp_core.robot.ur5.link_frames`, standard DH, frame i the
distal frame of joint i): shoulder = F1·Rx(−π/2), upper arm = F2·Tx(−a2), forearm = F3·Tx(−a3),
wrist 1 = F4·Rx(−π/2), wrist 2 = F5·Rx(π/2), wrist 3 = F6 (= ``tool0``'s origin and axes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .ur5 import UR5_DH, DHParameters, link_frames

#: physical_parameters.yaml offsets (upper arm / forearm tube offsets along the joint axes, m) and radii, m.
SHOULDER_OFFSET, ELBOW_OFFSET = 0.13585, 0.0165
UPPER_ARM_R, FOREARM_R, SHOULDER_R, WRIST_R = 0.054, 0.040, 0.060, 0.045

#: The moving links, base to flange.
ARM_LINKS = ("shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link", "wrist_3_link")


@dataclass(frozen=True)
class ArmPart:
    """A cylinder or capsule of radius ``radius`` m around the segment ``p0`` → ``p1`` (m, in ``link``'s frame).

    A capsule's hemispherical ends lie beyond p0 and p1; a cylinder ends flat at them.
    """

    link: str
    kind: str  # "cylinder" | "capsule"
    radius: float
    p0: tuple[float, float, float]
    p1: tuple[float, float, float]


def arm_parts(dh: DHParameters = UR5_DH) -> tuple[ArmPart, ...]:
    """The arm's collision shapes (module docstring) for DH parameters ``dh`` (tube lengths follow a2, a3)."""
    so, eo = SHOULDER_OFFSET, ELBOW_OFFSET
    return (
        ArmPart("shoulder_link", "cylinder", SHOULDER_R, (0.0, 0.0, -0.08), (0.0, 0.0, 0.04)),
        ArmPart("upper_arm_link", "cylinder", SHOULDER_R, (0.0, 0.0, so - 0.08), (0.0, 0.0, so + 0.06)),
        ArmPart("upper_arm_link", "capsule", UPPER_ARM_R, (-0.05, 0.0, so), (dh.a2 + 0.05, 0.0, so)),
        ArmPart("forearm_link", "cylinder", SHOULDER_R, (0.0, 0.0, -0.005), (0.0, 0.0, 0.125)),
        ArmPart("forearm_link", "capsule", FOREARM_R, (-0.05, 0.0, eo), (dh.a3 + 0.04, 0.0, eo)),
        ArmPart("wrist_1_link", "cylinder", WRIST_R, (0.0, 0.0, -0.1), (0.0, 0.0, 0.0)),
        ArmPart("wrist_2_link", "cylinder", WRIST_R, (0.0, 0.0, -0.09), (0.0, 0.0, 0.0)),
        ArmPart("wrist_3_link", "cylinder", WRIST_R, (0.0, 0.0, -0.07), (0.0, 0.0, 0.0)),
    )


#: The classic UR5's parts.
ARM_PARTS = arm_parts()


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])


def _tx(x: float) -> np.ndarray:
    t = np.eye(4)
    t[0, 3] = x
    return t


def link_poses(q, dh: DHParameters = UR5_DH) -> dict[str, np.ndarray]:
    """Poses of the ur_description link frames in ``base_link`` at joints ``q``.

    Args:
        q: (6,) joint positions, rad.
        dh: DH parameters.

    Returns:
        {link name: (4, 4) float64 T_base_link_link, m}, for :data:`ARM_LINKS`.

    Raises:
        ValueError: q not 6 finite values.
    """
    f = link_frames(q, dh)
    fixed = (_rx(-math.pi / 2), _tx(-dh.a2), _tx(-dh.a3), _rx(-math.pi / 2), _rx(math.pi / 2), np.eye(4))
    return {name: f[i + 1] @ fixed[i] for i, name in enumerate(ARM_LINKS)}


def _perpendicular(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = axis / np.linalg.norm(axis)
    ref = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(a, ref)
    u /= np.linalg.norm(u)
    return u, np.cross(a, u)


@lru_cache(maxsize=64)
def part_surface_points(part: ArmPart, spacing: float) -> np.ndarray:
    """(M, 3) points on the surface of ``part`` in its link frame, at most ~``spacing`` m apart (read-only).

    Cylinder: rings along the side and concentric rings on both end discs; capsule: rings along the
    side and latitude rings on both hemispheres.
    """
    p0, p1 = np.asarray(part.p0, dtype=np.float64), np.asarray(part.p1, dtype=np.float64)
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    a = axis / length
    u, v = _perpendicular(axis)
    r = part.radius

    def ring(centre: np.ndarray, rad: float) -> np.ndarray:
        n = max(1, int(math.ceil(2 * math.pi * rad / spacing)))
        phi = np.arange(n) * (2 * math.pi / n)
        return centre + rad * (np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v)

    pts = [ring(p0 + t * axis, r) for t in np.linspace(0.0, 1.0, max(2, int(math.ceil(length / spacing)) + 1))]
    if part.kind == "cylinder":
        for end in (p0, p1):
            pts.append(end[None])
            pts += [ring(end, rad) for rad in np.linspace(0.0, r, max(2, int(math.ceil(r / spacing)) + 1))[1:]]
    elif part.kind == "capsule":
        for end, sign in ((p0, -1.0), (p1, 1.0)):
            n_lat = max(2, int(math.ceil((math.pi / 2) * r / spacing)) + 1)
            for lat in np.linspace(0.0, math.pi / 2, n_lat)[1:]:
                pts.append(ring(end + sign * r * math.sin(lat) * a, r * math.cos(lat)) if lat < math.pi / 2 - 1e-9
                           else (end + sign * r * a)[None])
    else:
        raise ValueError(f"unknown part kind {part.kind!r}")
    out = np.concatenate(pts)
    out.setflags(write=False)
    return out


def arm_surface_points(q, spacing: float = 0.014, dh: DHParameters = UR5_DH,
                       parts: tuple[ArmPart, ...] | None = None) -> np.ndarray:
    """(M, 3) float64 points on the surface of the arm's collision shapes, in ``base_link``, m.

    Args:
        q: (6,) joint positions, rad.
        spacing: sample spacing on the surfaces, m.
        dh: DH parameters; parts: the shapes (default :func:`arm_parts` of ``dh``).

    Raises:
        ValueError: q not 6 finite values.
    """
    poses = link_poses(q, dh)
    out = []
    for part in parts if parts is not None else arm_parts(dh):
        t = poses[part.link]
        out.append(part_surface_points(part, spacing) @ t[:3, :3].T + t[:3, 3])
    return np.concatenate(out)


def arm_distance(points, q, dh: DHParameters = UR5_DH, parts: tuple[ArmPart, ...] | None = None) -> np.ndarray:
    """(N,) float64 distance of each (N, 3) ``base_link`` point from the arm's collision shapes at joints
    ``q``, m (negative inside).

    Every part is taken as the capsule around its segment (a cylinder's flat ends as hemispheres: the
    distance is at most the true one, never more), so a point with distance > 0 lies outside the arm.

    Raises:
        ValueError: q not 6 finite values.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    poses = link_poses(q, dh)
    best = np.full(len(p), np.inf)
    for part in parts if parts is not None else arm_parts(dh):
        t = poses[part.link]
        a = t[:3, :3] @ np.asarray(part.p0) + t[:3, 3]
        b = t[:3, :3] @ np.asarray(part.p1) + t[:3, 3]
        ab = b - a
        lam = np.clip((p - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0)
        d = np.linalg.norm(p - (a + lam[:, None] * ab), axis=1) - part.radius
        best = np.minimum(best, d)
    return best


__all__ = ["ARM_LINKS", "ARM_PARTS", "ELBOW_OFFSET", "FOREARM_R", "SHOULDER_OFFSET", "SHOULDER_R", "UPPER_ARM_R",
           "WRIST_R", "ArmPart", "arm_distance", "arm_parts", "arm_surface_points", "link_poses", "part_surface_points"]
