"""ROS 2 message ↔ grasp_core conversions, without cv_bridge, plus QoS helpers.

No algorithm lives here: only data layout conversions.

* :mod:`grasp_bridge.image`: ``sensor_msgs/Image`` ↔ numpy (16UC1, mono16, 32FC1, rgb8, bgr8).
* :mod:`grasp_bridge.camera_info`: ``sensor_msgs/CameraInfo`` ↔ :class:`grasp_core.camera.CameraIntrinsics`.
* :mod:`grasp_bridge.candidates`: :class:`grasp_core.inference.Detection` → ``grasp_interfaces/GraspCandidateArray``.
* :mod:`grasp_bridge.qos`: QoS profiles for sensor streams and results.
* :mod:`grasp_bridge.runtime`: :func:`spin_node`, the shared ``main()`` of the nodes.
* :mod:`grasp_bridge.plugins`: :class:`~grasp_bridge.plugins.Plugin`, the plugin contract (Nav2's
  configure → activate → deactivate → cleanup), and plugin lookup by name.
"""
from .camera_info import camera_info_to_intrinsics, intrinsics_to_camera_info
from .candidates import detection_to_msg
from .image import IMAGE_ENCODINGS, image_to_numpy, numpy_to_image
from .qos import result_qos, sensor_qos

__all__ = [
    "IMAGE_ENCODINGS",
    "camera_info_to_intrinsics",
    "detection_to_msg",
    "image_to_numpy",
    "intrinsics_to_camera_info",
    "numpy_to_image",
    "result_qos",
    "sensor_qos",
]
