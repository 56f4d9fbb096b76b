"""Robot-side geometry of the UR5 + Robotiq 2F-85 cell, ROS-free (numpy in, numpy out).

* :mod:`.ur5`: classic UR5 forward / closed-form inverse kinematics, joint names and limits.
* :mod:`.arm`: the UR5's collision shapes (cylinders, capsules per link), shared by the simulator and the checks.
* :mod:`.gripper`: Robotiq 2F-85 constants, TCP offset, opening ↔ knuckle-joint mapping.
* :mod:`.transforms`: hand-eye extrinsics files, camera-frame grasps → ``tool0`` targets.
"""
from .gripper import (
    FINGERTIP_REACH,
    KNUCKLE_CLOSED,
    KNUCKLE_JOINT,
    KNUCKLE_OPEN,
    ROBOTIQ_2F85,
    STROKE,
    TCP_OFFSET,
    ParallelGripper,
    knuckle_to_opening,
    opening_to_knuckle,
)
from .transforms import (
    Extrinsics,
    ExtrinsicsError,
    camera_pose_to_base,
    flip_jaws,
    grasp_pose_matrix,
    invert_transform,
    lift_pose,
    load_extrinsics,
    make_transform,
    offset_along_approach,
    pregrasp_pose,
    save_extrinsics,
    top_down_tcp_pose,
    vertical_grasp_frame,
)
from .ur5 import (
    JOINT_NAMES,
    T_BASE_LINK_BASE,
    UR5_DH,
    UR5_JOINT_LIMITS,
    UR5_MAX_ACCELERATION,
    DHParameters,
    IKError,
    JointLimits,
    JointLimitsError,
    dh_parameters_from_yaml,
    forward_kinematics,
    forward_kinematics_dh,
    inverse_kinematics,
    inverse_kinematics_dh,
    link_frames,
    nearest_solution,
)

__all__ = [
    "DHParameters", "Extrinsics", "ExtrinsicsError", "FINGERTIP_REACH", "IKError", "JOINT_NAMES", "JointLimits",
    "JointLimitsError",
    "KNUCKLE_CLOSED", "KNUCKLE_JOINT", "KNUCKLE_OPEN", "ParallelGripper", "ROBOTIQ_2F85", "STROKE",
    "TCP_OFFSET", "T_BASE_LINK_BASE", "UR5_DH", "UR5_JOINT_LIMITS", "UR5_MAX_ACCELERATION", "camera_pose_to_base",
    "dh_parameters_from_yaml", "flip_jaws", "forward_kinematics", "forward_kinematics_dh", "grasp_pose_matrix",
    "inverse_kinematics", "inverse_kinematics_dh", "invert_transform", "knuckle_to_opening", "lift_pose",
    "link_frames", "load_extrinsics", "make_transform", "nearest_solution", "offset_along_approach",
    "opening_to_knuckle", "pregrasp_pose", "save_extrinsics", "top_down_tcp_pose", "vertical_grasp_frame",
]
