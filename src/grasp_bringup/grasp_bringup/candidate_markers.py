"""``grasp_candidate_markers`` node: ``/grasp_candidates`` → ``visualization_msgs/MarkerArray`` for RViz.

Parameters: ``input`` ("/grasp_candidates"), ``output`` ("/grasp_candidates_markers"),
``finger_length`` (m, 0.037: the 2F-85 pad height, drawn along the grasp x axis).

Each candidate with a valid pose becomes, in its message's frame (a camera optical frame):
a LINE_LIST with the two jaws (at ± opening/2 along the grasp y axis, the closing direction) and
the closing line between them, coloured from red (quality 0) to green (quality 1); and a
TEXT_VIEW_FACING with its rank and quality above the grasp. Markers of the previous message
are deleted first (DELETEALL), so RViz shows the latest candidates only.
"""
from __future__ import annotations

import sys

import numpy as np
from geometry_msgs.msg import Point
from grasp_bridge.qos import result_qos
from grasp_bridge.runtime import spin_node
from rclpy.node import Node
from scipy.spatial.transform import Rotation
from visualization_msgs.msg import Marker, MarkerArray

from grasp_interfaces.msg import GraspCandidateArray


def candidate_markers(msg: GraspCandidateArray, finger_length: float = 0.037) -> MarkerArray:
    """The MarkerArray for one candidates message (module docstring)."""
    out = MarkerArray()
    clear = Marker()
    clear.header = msg.header
    clear.action = Marker.DELETEALL
    out.markers.append(clear)
    for rank, c in enumerate(msg.candidates):
        if not c.pose_valid or not np.isfinite(c.opening):
            continue
        q = c.pose.orientation
        r = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
        p = np.array([c.pose.position.x, c.pose.position.y, c.pose.position.z])
        x, y = r[:, 0], r[:, 1]
        h, f = c.opening / 2.0, finger_length / 2.0
        ends = [p - h * y - f * x, p - h * y + f * x, p + h * y - f * x, p + h * y + f * x, p - h * y, p + h * y]
        m = Marker()
        m.header = msg.header
        m.ns, m.id, m.type, m.action = "grasp_candidates", 2 * rank, Marker.LINE_LIST, Marker.ADD
        m.pose.orientation.w = 1.0
        m.scale.x = 0.004 if rank else 0.007
        quality = float(np.clip(c.quality, 0.0, 1.0))
        m.color.r, m.color.g, m.color.b, m.color.a = 1.0 - quality, quality, 0.1, 1.0
        m.points = [Point(x=float(e[0]), y=float(e[1]), z=float(e[2])) for e in ends]
        t = Marker()
        t.header = msg.header
        t.ns, t.id, t.type, t.action = "grasp_candidates", 2 * rank + 1, Marker.TEXT_VIEW_FACING, Marker.ADD
        t.pose.position.x, t.pose.position.y, t.pose.position.z = float(p[0]), float(p[1]), float(p[2] - 0.03)
        t.pose.orientation.w = 1.0
        t.scale.z = 0.02
        t.color.r = t.color.g = t.color.b = t.color.a = 1.0
        t.text = f"{rank + 1}: {quality:.2f}"
        out.markers += [m, t]
    return out


class CandidateMarkers(Node):
    """See the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("grasp_candidate_markers", **kwargs)
        src = str(self.declare_parameter("input", "/grasp_candidates").value)
        dst = str(self.declare_parameter("output", "/grasp_candidates_markers").value)
        self.finger_length = float(self.declare_parameter("finger_length", 0.037).value)
        self.pub = self.create_publisher(MarkerArray, dst, 10)
        self.create_subscription(GraspCandidateArray, src, self.on_candidates, result_qos())

    def on_candidates(self, msg: GraspCandidateArray) -> None:
        self.pub.publish(candidate_markers(msg, self.finger_length))


def main(args: list[str] | None = None) -> int:
    return spin_node(CandidateMarkers, "candidate_markers", args)


if __name__ == "__main__":
    sys.exit(main())
