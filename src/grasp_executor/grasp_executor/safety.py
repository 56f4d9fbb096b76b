"""The executor's arm/disarm switch and stop request (ROS-free state; the node exposes ``~/arm``).

Disarmed, nothing moves: :meth:`Safety.permit` returns the reason, which :class:`.arm.RosArm` and
:class:`GuardedGripper` check before sending anything; disarming also sets :attr:`Safety.abort`,
which stops a running motion at once. A Pick cancel sets :attr:`abort` for the running pick only
(:meth:`begin_pick` clears it for the next one). The robot controller's own stop (a UR protective
or emergency stop: :mod:`.ur_status`) blocks motion the same way until the robot reports it cleared.
"""
from __future__ import annotations

import threading


class Safety:
    """Arming state and the stop request shared by the node, its backend and its gripper.

    Args:
        armed: initial state (parameter ``start_armed``).

    Attributes:
        abort: threading.Event, set while a stop is requested (disarm, cancel).
    """

    def __init__(self, armed: bool = False) -> None:
        self._armed = bool(armed)
        self._lock = threading.Lock()
        self.abort = threading.Event()
        self.stop_reason = ""
        self.robot_fault = ""  # the robot controller's own stop (e.g. a UR protective stop), "" when none
        self.robot_fault_contact = False  # that stop was the robot's contact / force detection

    def set_robot_fault(self, reason: str, contact: bool = False) -> None:
        """The robot's controller reports it cannot move (``reason``) or can again (``""``).

        While set, :meth:`permit` and :meth:`begin_pick` return it: a running motion stops (the arm
        and gripper check :meth:`permit` while they wait) and no pick starts. ``contact``: the
        robot stopped on a contact (UR protective stop), reported as a collision.
        """
        with self._lock:
            self.robot_fault = str(reason)
            self.robot_fault_contact = bool(contact) and bool(reason)

    @property
    def armed(self) -> bool:
        return self._armed

    def set_armed(self, armed: bool) -> None:
        """Arm or disarm; disarming requests a stop of the running motion."""
        with self._lock:
            self._armed = bool(armed)
            if not armed:
                self.stop_reason = "disarmed"
                self.abort.set()

    def request_stop(self, why: str) -> None:
        """Stop the running motion (e.g. the Pick goal was cancelled)."""
        with self._lock:
            self.stop_reason = why
            self.abort.set()

    def begin_pick(self) -> str:
        """Clear a previous pick's stop request; returns "" when armed, else the reason not to move."""
        with self._lock:
            if not self._armed:
                return "disarmed (call ~/arm with data: true)"
            if self.robot_fault:
                return self.robot_fault
            self.abort.clear()
            self.stop_reason = ""
            return ""

    def permit(self) -> str:
        """"" when motion is allowed now, else the reason."""
        if not self._armed:
            return "disarmed"
        if self.robot_fault:
            return self.robot_fault
        if self.abort.is_set():
            return self.stop_reason or "stop requested"
        return ""


class GuardedGripper:
    """A :class:`grasp_core.motion.Gripper` that sends nothing unless :meth:`Safety.permit` allows it.

    Raises (from :meth:`command`):
        RuntimeError: with ``fatal = True`` when not permitted (run_pick then ends without recovery).
    """

    def __init__(self, gripper, safety: Safety) -> None:
        self.gripper, self.safety = gripper, safety

    def command(self, opening: float, max_effort: float):
        why = self.safety.permit()
        if why:
            exc = RuntimeError(f"gripper command not sent: {why}")
            exc.fatal = True
            raise exc
        return self.gripper.command(opening, max_effort)
