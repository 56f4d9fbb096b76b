"""Kinematics of the classic (CB3) Universal Robots UR5: forward, closed-form inverse, joint limits.

Frames (ur_description / Universal_Robots_ROS2_Driver names):

* ``base``: the robot controller's base frame, the base frame of the standard DH
  parameters below (frame 0 of the DH chain).
* ``base_link``: the ROS base frame that MoveIt's ``ur_manipulator`` group and the
  URDF use. It is rotated by π about z relative to ``base`` (same origin), i.e.
  ``T_base_link_base = diag(-1, -1, 1, 1)`` (:data:`T_BASE_LINK_BASE`).
* ``tool0``: the flange tool frame, identical to DH frame 6 (z out of the flange).

:func:`forward_kinematics` / :func:`inverse_kinematics` work in ``base_link``
(the frame ROS poses and MoveIt goals use); :func:`forward_kinematics_dh` /
:func:`inverse_kinematics_dh` work in the DH ``base`` frame (the one the UR
teach pendant and URScript report).

DH convention (standard / distal, Denavit–Hartenberg 1955):
``A_i = Rot_z(θ_i) · Trans_z(d_i) · Trans_x(a_i) · Rot_x(α_i)``, with for the UR5
(Universal Robots, "DH parameters for calculations of kinematics and dynamics"):

====  ==========  ==========  ======
 i     d_i (m)     a_i (m)     α_i
====  ==========  ==========  ======
 1     0.089159    0           π/2
 2     0           -0.425      0
 3     0           -0.39225    0
 4     0.10915     0           π/2
 5     0.09465     0           -π/2
 6     0.0823      0           0
====  ==========  ==========  ======

The inverse kinematics is the closed-form solution of K. P. Hawkins, "Analytic
Inverse Kinematics for the Universal Robots UR-5/UR-10 Arms", Georgia Tech
technical report, 2013 (derived again in the comments of
:func:`inverse_kinematics_dh`): θ1 (shoulder left/right), θ5 (wrist up/down) and
θ3 (elbow up/down) each have two branches, so a generic pose has 8 solutions.

All angles are radians, lengths metres, arrays float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

#: Joint names of the UR driver / ur_description, in chain order (prefix with ``tf_prefix`` if used).
JOINT_NAMES: tuple[str, ...] = (
    "shoulder_pan_joint",
    "shoulder_lift_joint",
    "elbow_joint",
    "wrist_1_joint",
    "wrist_2_joint",
    "wrist_3_joint",
)

#: (4, 4) T_base_link_base: ``base_link`` is rotated by π about z relative to the DH ``base`` frame.
T_BASE_LINK_BASE = np.diag([-1.0, -1.0, 1.0, 1.0])
T_BASE_LINK_BASE.setflags(write=False)

TWO_PI = 2.0 * math.pi


class IKError(ValueError):
    """No inverse-kinematics solution: pose out of reach, or every solution outside the joint limits."""


class JointLimitsError(ValueError):
    """A joint limits file or array that cannot be used."""


@dataclass(frozen=True)
class DHParameters:
    """Non-zero standard DH parameters of a UR arm (m); α = (π/2, 0, 0, π/2, -π/2, 0) is fixed.

    The defaults are the classic UR5's (Universal Robots' published DH table, equal
    to ur_description's ``config/ur5/default_kinematics.yaml``).
    """

    d1: float = 0.089159
    a2: float = -0.425
    a3: float = -0.39225
    d4: float = 0.10915
    d5: float = 0.09465
    d6: float = 0.0823

    def table(self) -> np.ndarray:
        """(6, 3) float64 rows (d_i, a_i, α_i) of the DH table."""
        h = math.pi / 2
        return np.array([[self.d1, 0.0, h], [0.0, self.a2, 0.0], [0.0, self.a3, 0.0],
                         [self.d4, 0.0, h], [self.d5, 0.0, -h], [self.d6, 0.0, 0.0]])


#: The classic UR5's DH parameters.
UR5_DH = DHParameters()


# --------------------------------------------------------------------------------------------
# Joint limits
# --------------------------------------------------------------------------------------------

class _LimitsLoader(yaml.SafeLoader):
    """SafeLoader that understands ur_description's ``!degrees`` / ``!radians`` scalar tags."""


def _degrees(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    return math.radians(float(loader.construct_scalar(node)))


def _radians(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    return float(loader.construct_scalar(node))


_LimitsLoader.add_constructor("!degrees", _degrees)
_LimitsLoader.add_constructor("!radians", _radians)


def _vec6(values, name: str) -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)
    if arr.shape != (6,):
        raise JointLimitsError(f"{name} needs 6 values, got shape {np.shape(values)}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class JointLimits:
    """Position, velocity and acceleration limits of the 6 arm joints, in :data:`JOINT_NAMES` order.

    Attributes:
        lower, upper: (6,) float64 position limits, rad (±inf for a joint without position limits).
        max_velocity: (6,) float64 rad/s (inf when the file gives none).
        max_acceleration: (6,) float64 rad/s² (NaN when the file gives none: UR does not
            publish acceleration limits, so a trajectory generator must be given its own).
        names: joint names, in order.

    Raises:
        JointLimitsError: wrong shapes, or a lower limit above its upper limit.
    """

    lower: np.ndarray
    upper: np.ndarray
    max_velocity: np.ndarray = field(default_factory=lambda: np.full(6, np.inf))
    max_acceleration: np.ndarray = field(default_factory=lambda: np.full(6, np.nan))
    names: tuple[str, ...] = JOINT_NAMES

    def __post_init__(self) -> None:
        for attr in ("lower", "upper", "max_velocity", "max_acceleration"):
            object.__setattr__(self, attr, _vec6(getattr(self, attr), attr))
        if len(self.names) != 6:
            raise JointLimitsError(f"need 6 joint names, got {len(self.names)}")
        if np.any(self.lower > self.upper):
            bad = [n for n, lo, hi in zip(self.names, self.lower, self.upper, strict=True) if lo > hi]
            raise JointLimitsError(f"lower limit above upper limit for {bad}")

    def within(self, q: np.ndarray, tol: float = 1e-9) -> bool:
        """Whether (6,) joint positions q (rad) lie within [lower - tol, upper + tol]."""
        q = np.asarray(q, dtype=np.float64)
        return bool(np.all(q >= self.lower - tol) and np.all(q <= self.upper + tol))

    @classmethod
    def from_yaml(cls, path: str | Path, names: tuple[str, ...] = JOINT_NAMES) -> JointLimits:
        """Read a ur_description ``joint_limits.yaml`` (``joint_limits: {<joint>: {...}}``).

        Per joint: ``min_position``/``max_position`` (used when ``has_position_limits``
        is true or absent, else ±inf), ``max_velocity`` (when ``has_velocity_limits``
        is true or absent, else inf), ``max_acceleration`` (when
        ``has_acceleration_limits`` is true, else NaN). Values may carry the
        ``!degrees`` or ``!radians`` tags of ur_description; untagged numbers are rad.

        Raises:
            JointLimitsError: missing/unreadable file, missing joint or key, bad values.
        """
        path = Path(path)
        try:
            data = yaml.load(path.read_text(), Loader=_LimitsLoader)  # noqa: S506 - SafeLoader subclass
        except (OSError, yaml.YAMLError) as exc:
            raise JointLimitsError(f"cannot read joint limits {path}: {exc}") from exc
        table = data.get("joint_limits") if isinstance(data, dict) else None
        if not isinstance(table, dict):
            raise JointLimitsError(f"{path}: no 'joint_limits' mapping")
        lo, hi, vel, acc = [], [], [], []
        for name in names:
            j = table.get(name)
            if not isinstance(j, dict):
                raise JointLimitsError(f"{path}: no limits for joint {name!r}")
            try:
                if j.get("has_position_limits", True):
                    lo.append(float(j["min_position"]))
                    hi.append(float(j["max_position"]))
                else:
                    lo.append(-np.inf)
                    hi.append(np.inf)
                vel.append(float(j["max_velocity"]) if j.get("has_velocity_limits", True) else np.inf)
                acc.append(float(j["max_acceleration"]) if j.get("has_acceleration_limits", False) else np.nan)
            except (KeyError, TypeError, ValueError) as exc:
                raise JointLimitsError(f"{path}: joint {name!r}: missing or bad value: {exc}") from exc
        return cls(np.array(lo), np.array(hi), np.array(vel), np.array(acc), tuple(names))


#: The classic UR5 limits of ur_description's ``config/ur5/joint_limits.yaml``: ±2π for all
#: joints except the elbow (±π there, as ur_description limits it), 180°/s, no acceleration limits.
UR5_JOINT_LIMITS = JointLimits(
    lower=np.array([-TWO_PI, -TWO_PI, -math.pi, -TWO_PI, -TWO_PI, -TWO_PI]),
    upper=np.array([TWO_PI, TWO_PI, math.pi, TWO_PI, TWO_PI, TWO_PI]),
    max_velocity=np.full(6, math.pi),
)


#: Joint acceleration limit, rad/s², every joint: ur_moveit_config's ``config/joint_limits.yaml``
#: (Universal_Robots_ROS2_Driver: "the robot does not inherently have any limits on joint accelerations
#: (only on torques) ... chosen conservatively"); ur_description gives none.
UR5_MAX_ACCELERATION = 5.0


# --------------------------------------------------------------------------------------------
# Forward kinematics
# --------------------------------------------------------------------------------------------

def dh_transform(theta: float, d: float, a: float, alpha: float) -> np.ndarray:
    """(4, 4) float64 standard DH link transform Rot_z(θ)·Trans_z(d)·Trans_x(a)·Rot_x(α)."""
    ct, st = math.cos(theta), math.sin(theta)
    ca, sa = math.cos(alpha), math.sin(alpha)
    return np.array([[ct, -st * ca, st * sa, a * ct],
                     [st, ct * ca, -ct * sa, a * st],
                     [0.0, sa, ca, d],
                     [0.0, 0.0, 0.0, 1.0]])


def _check_q(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    if q.shape != (6,) or not np.all(np.isfinite(q)):
        raise ValueError(f"joint positions must be 6 finite values (rad), got {q!r}")
    return q


def forward_kinematics_dh(q, dh: DHParameters = UR5_DH) -> np.ndarray:
    """T_base_tool0: pose of ``tool0`` in the DH ``base`` frame (the UR controller's base).

    Args:
        q: (6,) joint positions, rad, in :data:`JOINT_NAMES` order.
        dh: DH parameters (default: classic UR5).

    Returns:
        (4, 4) float64 homogeneous transform, metres: the product A_1…A_6 of
        :func:`dh_transform` over the DH table.

    Raises:
        ValueError: q not 6 finite values.
    """
    q = _check_q(q)
    t = np.eye(4)
    for theta, (d, a, alpha) in zip(q, dh.table(), strict=True):
        t = t @ dh_transform(theta, d, a, alpha)
    return t


def forward_kinematics(q, dh: DHParameters = UR5_DH) -> np.ndarray:
    """T_base_link_tool0: pose of ``tool0`` in ROS ``base_link`` (what MoveIt and TF report).

    ``T_base_link_tool0 = T_BASE_LINK_BASE · forward_kinematics_dh(q)``. At q = 0 the
    classic UR5's ``tool0`` is at (−(a2+a3), d4+d6, d1−d5) = (0.81725, 0.19145, −0.005491) m.

    Args, raises: as :func:`forward_kinematics_dh`. Returns (4, 4) float64.
    """
    return T_BASE_LINK_BASE @ forward_kinematics_dh(q, dh)


def link_frames(q, dh: DHParameters = UR5_DH) -> np.ndarray:
    """Poses of all DH frames 0…6 in ROS ``base_link`` (for collision and visibility checks).

    Frame 0 is the DH ``base`` (origin of ``base_link``, rotated by π about z), frame i the
    distal frame of joint i (A_1…A_i), frame 6 = ``tool0``. The consecutive origins trace the
    arm's kinematic centre line: 0→1 the base column (d1), 1→2 the upper arm (a2), 2→3 the
    forearm (a3), 3→4→5→6 the wrist (d4, d5, d6). The real links are offset sideways from this
    line along the joint axes (shoulder and elbow offsets of ur_description), which is
    horizontal for joints 2–4, so heights along the line are those of the link axes.

    Args:
        q: (6,) joint positions, rad, :data:`JOINT_NAMES` order.
        dh: DH parameters (default: classic UR5).

    Returns:
        (7, 4, 4) float64, T_base_link_frame_i, metres; ``[6]`` equals :func:`forward_kinematics`.

    Raises:
        ValueError: q not 6 finite values.
    """
    q = _check_q(q)
    out = np.empty((7, 4, 4))
    t = np.array(T_BASE_LINK_BASE)
    out[0] = t
    for i, (theta, (d, a, alpha)) in enumerate(zip(q, dh.table(), strict=True)):
        t = t @ dh_transform(theta, d, a, alpha)
        out[i + 1] = t
    return out


# --------------------------------------------------------------------------------------------
# Inverse kinematics
# --------------------------------------------------------------------------------------------

def _check_pose(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if t.shape != (4, 4) or not np.all(np.isfinite(t)):
        raise ValueError(f"pose must be a finite (4, 4) homogeneous transform, got shape {t.shape}")
    r = t[:3, :3]
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
        raise ValueError("pose rotation block is not a proper rotation matrix")
    return t


def _wrap(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to [−π, π)."""
    return (np.asarray(a) + math.pi) % TWO_PI - math.pi


def _pose_error(t_a: np.ndarray, t_b: np.ndarray) -> tuple[float, float]:
    """(position error m, rotation angle error rad) between two (4, 4) poses."""
    dp = float(np.linalg.norm(t_a[:3, 3] - t_b[:3, 3]))
    c = (np.trace(t_a[:3, :3].T @ t_b[:3, :3]) - 1.0) / 2.0
    return dp, float(math.acos(min(1.0, max(-1.0, c))))


def _acos_branches(c: float, eps: float) -> list[float] | None:
    """±acos(c) (one value when |c| = 1), c clamped when it exceeds ±1 by at most eps; None beyond."""
    if abs(c) > 1.0 + eps:
        return None
    v = math.acos(min(1.0, max(-1.0, c)))
    return [v, -v] if v > 0.0 else [v]


def _shift_into_limits(theta: float, lo: float, hi: float) -> list[float]:
    """All θ + 2πk inside [lo, hi], sorted by |value| (θ + 2πk for |k| ≤ 2 on an unbounded side)."""
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return [theta]
    k0 = math.ceil((lo - theta) / TWO_PI - 1e-12) if np.isfinite(lo) else None
    k1 = math.floor((hi - theta) / TWO_PI + 1e-12) if np.isfinite(hi) else None
    k0 = min(0, k1) - 2 if k0 is None else k0
    k1 = max(0, k0) + 2 if k1 is None else k1
    vals = [min(max(theta + k * TWO_PI, lo), hi) for k in range(k0, k1 + 1)]
    return sorted(vals, key=abs)


def _singular_theta6(t16: np.ndarray, p15: np.ndarray, flipped: bool, seed: float,
                     dh: DHParameters) -> float | None:
    """θ6 at a wrist singularity (θ5 = 0 or π): the reachable member of the family nearest to ``seed``.

    With φ = θ2 + θ3 + θ4, frame 1 coordinates and standard DH: R_16 = Rot_z(φ + θ6) at θ5 = 0
    and R_16 = Rot_y(π)·Rot_z(θ6 − φ) at θ5 = π, so θ6 = ψ ∓ φ for a known ψ. The frame-4
    origin is p_14,xy = p_15,xy − d5·(sin φ, −cos φ), which joints 2-3 reach iff
    ||a2| − |a3|| ≤ |p_14,xy| ≤ |a2| + |a3|; with γ = φ − π/2 − atan2(p_15,y, p_15,x) this is
    cos γ ∈ [c_lo, c_hi] (law of cosines). Returns None when no φ is reachable.
    """
    r16 = t16[:3, :3]
    if flipped:
        m = np.diag([-1.0, 1.0, -1.0]) @ r16
        psi = math.atan2(m[1, 0], m[0, 0])
        phi_seed = seed - psi
    else:
        psi = math.atan2(r16[1, 0], r16[0, 0])
        phi_seed = psi - seed
    px, py = float(p15[0]), float(p15[1])
    rho = math.hypot(px, py)
    r_min, r_max = abs(abs(dh.a2) - abs(dh.a3)), abs(dh.a2) + abs(dh.a3)
    if rho < 1e-12:  # |p_14,xy| = d5 whatever φ
        return seed if r_min <= dh.d5 <= r_max else None
    c_lo = (rho * rho + dh.d5 ** 2 - r_max ** 2) / (2.0 * dh.d5 * rho)
    c_hi = (rho * rho + dh.d5 ** 2 - r_min ** 2) / (2.0 * dh.d5 * rho)
    if c_lo > 1.0 or c_hi < -1.0:
        return None
    alpha = math.atan2(py, px)
    gamma = float(_wrap(phi_seed - math.pi / 2 - alpha))
    c = math.cos(gamma)
    if c > c_hi:
        gamma = math.copysign(math.acos(max(-1.0, c_hi)), gamma)
    elif c < c_lo:
        gamma = math.copysign(math.acos(min(1.0, c_lo)), gamma)
    else:
        return seed
    phi = gamma + math.pi / 2 + alpha
    return float(_wrap(psi + phi if flipped else psi - phi))


def inverse_kinematics_dh(t_base_tool0, dh: DHParameters = UR5_DH, limits: JointLimits | None = UR5_JOINT_LIMITS,
                          q6_singular: float = 0.0, tol: float = 1e-6) -> np.ndarray:
    """All closed-form IK solutions for a ``tool0`` pose in the DH ``base`` frame.

    Method (Hawkins 2013, re-derived): with X, Y, Z the columns of R_06 and p = p_06,

    1. Frame-5 origin p5 = p − d6·Z. Joints 2–4 share the axis z1 = (sin θ1, −cos θ1, 0),
       and p5·z1 = d4, so with p5 = r(cos ψ, sin ψ): θ1 = ψ + π/2 ± acos(d4/r)  (needs r ≥ |d4|).
    2. z1 in frame 6 is (sin θ5 cos θ6, −sin θ5 sin θ6, cos θ5), hence
       cos θ5 = (p_x sin θ1 − p_y cos θ1 − d4)/d6,  θ5 = ±acos(·).
    3. θ6 = atan2(−(Y_x sin θ1 − Y_y cos θ1)/sin θ5, (X_x sin θ1 − X_y cos θ1)/sin θ5);
       when |sin θ5| < 1e-6 (wrist singularity: the axes of joints 2, 3, 4 and 6 are
       parallel and the solutions form a one-parameter family) one member per branch is
       returned: θ6 = ``q6_singular`` if joints 2–4 can then reach, else the computed
       value, else the reachable family member nearest to ``q6_singular``.
    4. T_14 = A_1⁻¹ · T_06 · A_6⁻¹ · A_5⁻¹ is the planar 3R chain of joints 2–4:
       cos θ3 = (|p_14,xy|² − a2² − a3²)/(2 a2 a3), θ3 = ±acos(·),
       θ2 = atan2(p_14,y, p_14,x) − atan2(a3 sin θ3, a2 + a3 cos θ3),
       θ4 = atan2(R_14[1,0], R_14[0,0]) − θ2 − θ3.

    Every candidate is checked by forward kinematics (position ≤ ``tol`` m, rotation ≤
    ``tol`` rad); duplicates (singular branches) are removed.

    Args:
        t_base_tool0: (4, 4) pose of ``tool0`` in DH ``base``, m.
        dh: DH parameters (default: classic UR5).
        limits: each joint is moved by a multiple of 2π into its limits (the in-limit
            value of smallest magnitude: the principal angle whenever it is inside) and
            solutions that cannot be are dropped (default: the classic UR5's limits, under
            which every principal angle is inside); None: angles in [−π, π).
        q6_singular: θ6 used at a wrist singularity (sin θ5 ≈ 0), rad.
        tol: acceptance tolerance of the FK check, m and rad.

    Returns:
        (N, 6) float64, 0 ≤ N ≤ 8, rad, :data:`JOINT_NAMES` order. N = 0 means
        unreachable (or nothing within ``limits``); use :func:`nearest_solution` for an error.

    Raises:
        ValueError: not a finite (4, 4) rigid transform.
    """
    t = _check_pose(t_base_tool0)
    eps = 1e-9
    x_axis, y_axis, z_axis, p = t[:3, 0], t[:3, 1], t[:3, 2], t[:3, 3]
    d1, a2, a3, d4, d6 = dh.d1, dh.a2, dh.a3, dh.d4, dh.d6
    table = dh.table()

    p5 = p - d6 * z_axis
    r = math.hypot(p5[0], p5[1])
    if r < 1e-12:
        return np.zeros((0, 6))
    branches1 = _acos_branches(d4 / r, eps)
    if branches1 is None:
        return np.zeros((0, 6))
    psi = math.atan2(p5[1], p5[0])

    def accept(q: np.ndarray) -> np.ndarray | None:
        """q wrapped (and shifted into limits), or None if its FK misses the pose or limits exclude it."""
        dp, dr = _pose_error(forward_kinematics_dh(q, dh), t)
        if dp > tol or dr > tol:
            return None
        if limits is None:
            return q
        shifted = [_shift_into_limits(float(v), lo, hi) for v, lo, hi in zip(q, limits.lower, limits.upper,
                                                                            strict=True)]
        return None if any(not v for v in shifted) else np.array([v[0] for v in shifted])

    out: list[np.ndarray] = []
    for phi in branches1:
        th1 = psi + phi + math.pi / 2
        s1, c1 = math.sin(th1), math.cos(th1)
        branches5 = _acos_branches((p[0] * s1 - p[1] * c1 - d4) / d6, eps)
        if branches5 is None:
            continue
        a1_inv = np.linalg.inv(dh_transform(th1, d1, 0.0, table[0, 2]))
        for th5 in branches5:
            s5 = math.sin(th5)
            # Wrist singularity (sin θ5 ≈ 0, where θ5 itself is only known to ~1e-8 through the acos):
            # joints 2, 3, 4 and 6 are parallel and the solutions form a one-parameter family; step 3
            # is undefined (or noise). Try θ6 = seed, then the computed value, then the family member
            # nearest to the seed that joints 2-4 can reach (_singular_theta6).
            singular = abs(s5) < 1e-6
            th6_options = [q6_singular] if singular else []
            if abs(s5) > 1e-12:
                th6_options.append(math.atan2(-(y_axis[0] * s1 - y_axis[1] * c1) / s5,
                                              (x_axis[0] * s1 - x_axis[1] * c1) / s5))
            if singular:
                th6 = _singular_theta6(a1_inv @ t, a1_inv @ np.append(p5, 1.0), math.cos(th5) < 0,
                                       q6_singular, dh)
                if th6 is not None:
                    th6_options.append(th6)
            a5_inv = np.linalg.inv(dh_transform(th5, table[4, 0], 0.0, table[4, 2]))
            for th6 in th6_options:
                t14 = a1_inv @ t @ np.linalg.inv(dh_transform(th6, d6, 0.0, 0.0)) @ a5_inv
                px, py = t14[0, 3], t14[1, 3]
                branches3 = _acos_branches((px * px + py * py - a2 * a2 - a3 * a3) / (2.0 * a2 * a3), eps)
                found = []
                for th3 in branches3 or []:
                    th2 = math.atan2(py, px) - math.atan2(a3 * math.sin(th3), a2 + a3 * math.cos(th3))
                    th4 = math.atan2(t14[1, 0], t14[0, 0]) - th2 - th3
                    q = accept(_wrap(np.array([th1, th2, th3, th4, th5, th6])))
                    if q is not None:
                        found.append(q)
                for q in found:  # drop duplicates (coinciding branches at singularities)
                    if all(np.max(np.abs(_wrap(q - o))) > 1e-9 for o in out):
                        out.append(q)
                if found:
                    break
    return np.array(out, dtype=np.float64).reshape(-1, 6)


def inverse_kinematics(t_base_link_tool0, dh: DHParameters = UR5_DH, limits: JointLimits | None = UR5_JOINT_LIMITS,
                       q6_singular: float = 0.0, tol: float = 1e-6) -> np.ndarray:
    """All closed-form IK solutions for a ``tool0`` pose in ROS ``base_link``.

    Converts to the DH ``base`` frame (T_base_tool0 = T_BASE_LINK_BASE⁻¹ · T) and calls
    :func:`inverse_kinematics_dh` (see there for the method, args and errors).

    Returns:
        (N, 6) float64, 0 ≤ N ≤ 8, rad.
    """
    t = _check_pose(t_base_link_tool0)
    return inverse_kinematics_dh(T_BASE_LINK_BASE.T @ t, dh, limits, q6_singular, tol)


def nearest_solution(t_base_link_tool0, q_current, limits: JointLimits | None = UR5_JOINT_LIMITS,
                     weights=None, dh: DHParameters = UR5_DH, tol: float = 1e-6) -> np.ndarray:
    """The IK solution closest to the current joints, within limits.

    Every closed-form solution is expanded over its 2π-equivalents inside ``limits``
    (a joint with ±2π limits has two or three), and the one minimising the weighted
    joint distance sqrt(Σ w_i (q_i − q_current,i)²) is returned. The distance is
    separable, so per joint the in-limit equivalent closest to q_current,i is taken.
    At a wrist singularity θ6 is seeded with q_current's wrist_3 value.

    Args:
        t_base_link_tool0: (4, 4) target pose of ``tool0`` in ``base_link``, m.
        q_current: (6,) current joint positions, rad.
        limits: joint limits (default: the classic UR5's); None = unlimited.
        weights: (6,) non-negative weights (default: all 1).
        dh, tol: as :func:`inverse_kinematics_dh`.

    Returns:
        (6,) float64 joint positions, rad, within ``limits``.

    Raises:
        IKError: the pose is out of reach, or every solution violates ``limits``.
        ValueError: bad pose, q_current or weights.
    """
    q_cur = _check_q(q_current)
    w = np.ones(6) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (6,) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be 6 finite non-negative values, got {weights!r}")
    sols = inverse_kinematics(t_base_link_tool0, dh, None, q6_singular=float(q_cur[5]), tol=tol)
    if len(sols) == 0:
        p = np.asarray(t_base_link_tool0, dtype=np.float64)[:3, 3]
        raise IKError(f"tool0 pose at {np.round(p, 4).tolist()} m in base_link is out of reach of the UR5")
    best, best_d = None, math.inf
    for q in sols:
        pick = np.empty(6)
        ok = True
        for i in range(6):
            lo, hi = (limits.lower[i], limits.upper[i]) if limits is not None else (-np.inf, np.inf)
            if np.isfinite(lo) and np.isfinite(hi):
                vals = _shift_into_limits(float(q[i]), lo, hi)
            else:  # unbounded on a side: the equivalents around the current joint
                k = round((q_cur[i] - q[i]) / TWO_PI)
                vals = [float(q[i]) + TWO_PI * (k + dk) for dk in (-1, 0, 1)]
                vals = [v for v in vals if lo <= v <= hi]
            if not vals:
                ok = False
                break
            pick[i] = min(vals, key=lambda v, c=q_cur[i]: abs(v - c))
        if not ok:
            continue
        dist = math.sqrt(float(np.sum(w * (pick - q_cur) ** 2)))
        if dist < best_d:
            best, best_d = pick, dist
    if best is None:
        raise IKError(f"all {len(sols)} IK solutions violate the joint limits "
                      f"(lower {np.round(limits.lower, 3).tolist()}, upper {np.round(limits.upper, 3).tolist()})")
    return best


# --------------------------------------------------------------------------------------------
# ur_description kinematics file
# --------------------------------------------------------------------------------------------

def dh_parameters_from_yaml(path: str | Path, tol: float = 1e-6) -> DHParameters:
    """Read DH parameters from a ur_description ``default_kinematics.yaml``.

    That file gives each joint's origin as x, y, z, roll, pitch, yaw (URDF convention);
    for the nominal UR geometry: shoulder z = d1, forearm x = a2, wrist_1 x = a3 and
    z = d4, wrist_2 y = −d5, wrist_3 y = d6, and the other offsets and the rolls follow
    the α column (upper_arm roll = π/2, wrist_2 roll = π/2, wrist_3 roll = π/2,
    pitch = yaw = π). A factory-calibrated file (``ur_calibration`` output) deviates
    from this pattern; the closed-form IK here does not model those corrections.

    Returns:
        :class:`DHParameters` (m).

    Raises:
        ValueError: unreadable file, missing keys, or a geometry that departs from
            the nominal pattern by more than ``tol`` (m / rad).
    """
    path = Path(path)
    try:
        k = yaml.safe_load(path.read_text())["kinematics"]
        g = {n: {a: float(k[n][a]) for a in ("x", "y", "z", "roll", "pitch", "yaw")}
             for n in ("shoulder", "upper_arm", "forearm", "wrist_1", "wrist_2", "wrist_3")}
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a ur_description kinematics file: {exc}") from exc
    dh = DHParameters(d1=g["shoulder"]["z"], a2=g["forearm"]["x"], a3=g["wrist_1"]["x"], d4=g["wrist_1"]["z"],
                      d5=-g["wrist_2"]["y"], d6=g["wrist_3"]["y"])
    h, pi = math.pi / 2, math.pi
    expected_zero = {
        "shoulder": ("x", "y", "roll", "pitch", "yaw"), "upper_arm": ("x", "y", "z", "pitch", "yaw"),
        "forearm": ("y", "z", "roll", "pitch", "yaw"), "wrist_1": ("y", "roll", "pitch", "yaw"),
        "wrist_2": ("x", "z", "pitch", "yaw"), "wrist_3": ("x", "z"),
    }
    expected = {("upper_arm", "roll"): h, ("wrist_2", "roll"): h, ("wrist_3", "roll"): h,
                ("wrist_3", "pitch"): pi, ("wrist_3", "yaw"): pi}
    bad = [f"{n}.{a}={g[n][a]}" for n, attrs in expected_zero.items() for a in attrs if abs(g[n][a]) > tol]
    bad += [f"{n}.{a}={g[n][a]}" for (n, a), v in expected.items() if abs(_wrap(g[n][a] - v)) > tol]
    if bad:
        raise ValueError(f"{path}: not the nominal UR geometry (calibrated file?): {', '.join(bad)}")
    return dh
