"""ROS-free algorithms of the UR5 grasping stack.

numpy in, numpy out; no rclpy import anywhere in this package. PyTorch is
imported only by the training and export modules (``grasp_core.nn``).
"""

__version__ = "0.1.0"
