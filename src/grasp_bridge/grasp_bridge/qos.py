"""QoS profiles of the grasp stack.

Images and camera_info use the sensor-data profile (best effort, keep last 5,
volatile), as camera drivers do; a best-effort subscriber also matches a
reliable publisher, so the nodes subscribe best effort. Results
(``/grasp_candidates``) are reliable, keep last 10: a reliable subscriber would
receive nothing from a best-effort publisher.
"""
from __future__ import annotations

from rclpy.qos import QoSProfile, qos_profile_sensor_data
from rclpy.qos import QoSReliabilityPolicy as Reliability


def sensor_qos(depth: int = 5) -> QoSProfile:
    """Sensor-data QoS: best effort, keep last ``depth``, volatile."""
    q = QoSProfile(depth=depth)
    q.reliability = Reliability.BEST_EFFORT
    q.history = qos_profile_sensor_data.history
    q.durability = qos_profile_sensor_data.durability
    return q


def result_qos(depth: int = 10) -> QoSProfile:
    """Reliable, keep last ``depth``, volatile: for detection results."""
    q = QoSProfile(depth=depth)
    q.reliability = Reliability.RELIABLE
    return q
