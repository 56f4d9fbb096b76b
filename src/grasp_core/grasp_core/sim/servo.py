"""The simulated drives' control laws: the arm's position servos and the gripper's ramped setpoint.

Arm (MuJoCo ``position`` actuators, stiffness kp and damping kv per joint, force-limited to the
UR5 efforts): force = kp·(q_ref − q) + kv·(qd_ref − qd) + τ_ff, obtained by commanding
ctrl = q_ref + (kv·qd_ref + τ_ff)/kp, with the acceleration feed-forward τ_ff = M(q)·qdd_ref.

Gripper (one force-limited position servo on the opening tendon): the setpoint moves towards the
target at most ``speed``·dt per step (the Robotiq behaviour: move at the set speed, squeeze with
at most the set force when blocked), with a velocity feed-forward of the ramp's rate.

Units: rad, rad/s, rad/s², N·m; m, m/s, N.
"""
from __future__ import annotations

import numpy as np


def arm_feedforward(model, data, dof_adr: np.ndarray, qdd_ref: np.ndarray, vec: np.ndarray,
                    res: np.ndarray) -> np.ndarray:
    """(6,) τ_ff = M(q)·qdd_ref on the arm joints, N·m (``vec``, ``res``: (nv,) scratch buffers);
    zeros when qdd_ref is zero."""
    if not np.any(qdd_ref):
        return np.zeros(6)
    import mujoco

    vec[:] = 0.0
    vec[dof_adr] = qdd_ref
    mujoco.mj_mulM(model, data, res, vec)
    return res[dof_adr]


def arm_ctrl(q_ref: np.ndarray, qd_ref: np.ndarray, tau_ff: np.ndarray, kp: np.ndarray, kv: np.ndarray) -> np.ndarray:
    """(6,) position-actuator controls giving kp(q_ref − q) + kv(qd_ref − qd) + τ_ff (module docstring)."""
    return q_ref + (kv * qd_ref + tau_ff) / kp


def ramp(target: float, ref: float, speed: float, dt: float) -> tuple[float, float]:
    """(new setpoint, its rate) after one step of ``dt`` s moving ``ref`` towards ``target`` at ≤ ``speed``."""
    step = speed * dt
    delta = float(np.clip(target - ref, -step, step))
    return ref + delta, delta / dt


def gripper_ctrl(ref: float, rate: float, kp: float, kv: float) -> float:
    """Tendon-actuator control for setpoint ``ref`` (m) moving at ``rate`` (m/s): ref + kv·rate/kp."""
    return ref + kv * rate / kp


__all__ = ["arm_ctrl", "arm_feedforward", "gripper_ctrl", "ramp"]
