"""The UR controller's safety mode as a stop condition of the executor (real robot, full installs).

Universal_Robots_ROS2_Driver's ``io_and_status_controller`` (ur_controllers GPIOController) publishes
``~/safety_mode`` (``ur_dashboard_msgs/msg/SafetyMode``, transient-local, on every change): 1 NORMAL,
2 REDUCED, 3 PROTECTIVE_STOP, 4 RECOVERY, 5 SAFEGUARD_STOP, 6 SYSTEM_EMERGENCY_STOP,
7 ROBOT_EMERGENCY_STOP, 8 VIOLATION, 9 FAULT, 10 VALIDATE_JOINT_ID, 11 UNDEFINED_SAFETY_MODE,
12 AUTOMATIC_MODE_SAFEGUARD_STOP, 13 SYSTEM_THREE_POSITION_ENABLING_STOP (ur_dashboard_msgs
SafetyMode.msg). Any mode but NORMAL and REDUCED means the robot will not follow a trajectory:
:class:`UrSafetyMonitor` sets :meth:`.safety.Safety.set_robot_fault`, which stops the running
motion and starts no pick until the mode is NORMAL or REDUCED again. A protective stop is the
robot's own contact detection (its force / torque limits): the motion ends as a collision.

``ur_dashboard_msgs`` is not installable on the pip path: there the monitor is not created (one log
line) and the simulated cell's contact stop is the tracking-error stop of :class:`.arm.RosArm`.
"""
from __future__ import annotations

#: ur_dashboard_msgs/msg/SafetyMode constants
SAFETY_MODES = {1: "NORMAL", 2: "REDUCED", 3: "PROTECTIVE_STOP", 4: "RECOVERY", 5: "SAFEGUARD_STOP",
                6: "SYSTEM_EMERGENCY_STOP", 7: "ROBOT_EMERGENCY_STOP", 8: "VIOLATION", 9: "FAULT",
                10: "VALIDATE_JOINT_ID", 11: "UNDEFINED_SAFETY_MODE", 12: "AUTOMATIC_MODE_SAFEGUARD_STOP",
                13: "SYSTEM_THREE_POSITION_ENABLING_STOP"}
#: modes in which the robot moves
MOVING_MODES = frozenset({1, 2})
#: the robot's own contact detection
PROTECTIVE_STOP = 3


def safety_mode_problem(mode: int) -> str:
    """"" when the UR moves in safety ``mode`` (NORMAL, REDUCED), else a one-line reason naming the mode."""
    mode = int(mode)
    if mode in MOVING_MODES:
        return ""
    name = SAFETY_MODES.get(mode, "unknown")
    hint = ("clear it on the teach pendant or with the dashboard client's unlock_protective_stop service"
            if mode == PROTECTIVE_STOP else "the robot must be brought back to NORMAL on the teach pendant")
    return f"UR safety mode {name} ({mode}): {hint}"


class SafetyModeWatch:
    """Applies UR safety modes to a :class:`.safety.Safety` (ROS-free: :class:`UrSafetyMonitor` feeds it).

    Args:
        safety: the executor's :class:`.safety.Safety`.
        log: a logger with ``info`` and ``error`` (the node's).
    """

    def __init__(self, safety, log) -> None:
        self.safety, self.log = safety, log
        self.mode: int | None = None

    def apply(self, mode: int) -> None:
        """Take the robot's safety ``mode`` (a SafetyMode value); logs each change once."""
        mode = int(mode)
        if mode == self.mode:
            return
        self.mode = mode
        why = safety_mode_problem(mode)
        self.safety.set_robot_fault(why, contact=mode == PROTECTIVE_STOP)
        if why:
            self.log.error(f"{why}; motion stopped, no pick starts until it is cleared")
        else:
            self.log.info(f"UR safety mode {SAFETY_MODES[mode]}: motion allowed")


class UrSafetyMonitor:
    """Subscribes to the UR driver's safety mode and feeds a :class:`SafetyModeWatch` (module docstring).

    Args:
        node: the executor node (its logger; the subscription lives on it).
        safety: the executor's :class:`.safety.Safety`.
        topic: ``ur_dashboard_msgs/msg/SafetyMode`` topic (ExecutorConfig ``ur_safety_mode_topic``).
        callback_group: one that a running pick does not block.

    Raises:
        ImportError: ``ur_dashboard_msgs`` is not installed (the pip path).
    """

    def __init__(self, node, safety, topic: str, callback_group=None) -> None:
        from rclpy.qos import DurabilityPolicy, QoSProfile
        from ur_dashboard_msgs.msg import SafetyMode

        self.watch = SafetyModeWatch(safety, node.get_logger())
        qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)  # the driver latches it
        self.sub = node.create_subscription(SafetyMode, topic, lambda msg: self.watch.apply(msg.mode), qos,
                                            callback_group=callback_group)
