"""The stack's typed configuration: one frozen dataclass per node section of ``config/grasp.yaml``.

``config/grasp.yaml`` is the single source of truth for parameters. Its node sections
(``<node>: ros__parameters: {...}``) map one to one onto the dataclasses here; the nodes declare
their ROS parameters from the fields (``grasp_bridge.params.declare_config``: the field default is
the parameter default, nested dataclasses become dotted names ``builtin.speed_scale``), and
the ROS-free tools (``grasp-sim-bench``, :mod:`grasp_core.picking`) load the same sections with
:func:`load_section`. ``test/test_config.py`` keeps the YAML, these fields and the parameters the
nodes declare identical.

Plugins own their sections, as in Nav2: the executor's motion backends read ``builtin.*`` /
``moveit_py.*`` (:class:`BuiltinBackendConfig`, :class:`MoveItPyConfig`); they are fields of
:class:`ExecutorConfig` so that the YAML is checked whole, and each backend declares only its own.

Field metadata: ``doc`` (shown as the parameter's description) and ``live`` (True: may be changed at
run time through ``SetParameters``; every other parameter is declared read-only, so a remote
``ros2 param set`` on a safety limit is refused instead of reporting a success that changes nothing).

Units: metres, radians, seconds, newtons, unless a name says otherwise.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .robot.gripper import TCP_OFFSET

T = TypeVar("T")


def _f(default, doc: str = "", live: bool = False):
    """A dataclass field with a parameter description; tuples become immutable defaults."""
    return field(default=default, metadata={"doc": doc, "live": live})


def _nested(cls, doc: str = ""):
    return field(default_factory=cls, metadata={"doc": doc, "live": False})


# ----------------------------------------------------------------------------- executor
@dataclass(frozen=True)
class BuiltinBackendConfig:
    """``grasp_executor`` → ``builtin.*``: the built-in motion backend (closed-form IK + ruckig)."""

    trajectory_topic: str = _f("/scaled_joint_trajectory_controller/joint_trajectory",
                               "joint_trajectory_controller topic the trajectories are published on")
    tf_prefix: str = _f("", "prefix of the driver's joint names")
    speed_scale: float = _f(1.0, "fraction (0, 1] of the UR5's joint velocity (ur_description: pi rad/s) and "
                                 "acceleration (ur_moveit_config: 5 rad/s^2) limits the joint moves use")
    max_joint_jerk: float = _f(50.0, "rad/s^3, all joints")
    max_cartesian_speed: float = _f(0.15, "tool0 speed on straight-line segments near objects, m/s")
    clear_cartesian_speed: float = _f(0.30, "tool0 speed on straight lines away from contact (the lift, the "
                                            "retreat up from the release), m/s")
    clear_cartesian_acceleration: float = _f(1.0, "tool0 acceleration on those lines, m/s^2 (near objects: 0.5)")
    goal_tolerance: float = _f(0.01, "per-joint error accepted at the end of a motion, rad")
    start_tolerance: float = _f(0.02, "a trajectory is sent only when its first point is this close (rad, "
                                      "every joint) to the measured joint state")


@dataclass(frozen=True)
class MoveItPyConfig:
    """``grasp_executor`` → ``moveit_py.*``: the MoveItPy backend (full installs)."""

    group: str = _f("ur_manipulator", "MoveIt planning group")
    tool_link: str = _f("tool0", "link the pose goals are for")


@dataclass(frozen=True)
class ExecutorConfig:
    """``grasp_executor``: validation, safety and the pick loop (see ``config/grasp.yaml`` for each field)."""

    candidates_topic: str = _f("/grasp_candidates", "grasp_interfaces/GraspCandidateArray input")
    depth_topic: str = _f("/depth/image_unfilled", "depth image for the finger collision check (holes inpainted)")
    depth_info_topic: str = _f("/depth/camera_info", "camera_info of depth_topic")
    use_depth_collision: bool = _f(True, "check the fingers' swept volume against the sensed depth")
    allow_no_depth: bool = _f(False, "pick without a depth image for the collision check (unsafe)")
    extrinsics: str = _f("", "hand-eye calibration YAML; empty = config/camera_extrinsics.yaml")
    use_tf: str = _f("auto", "auto | true | false: tf2 for frames (auto: when tf2_ros is importable)")
    base_frame: str = _f("base_link", "robot base frame (REP 103)")
    max_age_s: float = _f(1.0, "candidates older than this (node clock) are stale, s")
    max_candidates: int = _f(20, "candidates validated per message, best quality first; the rest dropped")
    quaternion_tolerance: float = _f(0.01, "| |q| - 1 | above this is rejected (not normalised)")
    workspace_min: tuple[float, ...] = _f((0.25, -0.35, -0.02), "grasp point box in base_link, min corner, m")
    workspace_max: tuple[float, ...] = _f((0.80, 0.35, 0.30), "grasp point box in base_link, max corner, m")
    table_margin: float = _f(0.005, "grasp points lower than cell.table_z - table_margin are rejected, m")
    grasp_depth: float = _f(0.015, "TCP this far past the seen surface along the approach, m")
    height_fraction: float = _f(0.5, "or down to this fraction of the point's height above the table")
    palm_clearance: float = _f(0.005, "with depth: the palm's underside stays this far above the sensed object, m")
    min_pad_contact: float = _f(0.010, "with depth: the pads overlap the sensed object by at least this, m")
    min_tcp_z: float = _f(0.025, "lowest TCP height, m (the fingertips stay above the table)")
    pregrasp_clearance: float = _f(0.10, "pre-grasp backed off along the approach, m")
    lift_height: float = _f(0.15, "lift above the grasp, m")
    opening_margin: float = _f(0.02, "pre-open = opening + this, m")
    full_opening: bool = _f(False, "pre-open every grasp to the full stroke and take the stroke as its opening "
                                   "(the candidate's own opening ignored; Gariepy et al. 2019, §V-D)")
    approach_cone_deg: float = _f(30.0, "a 6-DoF candidate's own approach is executed within this angle of "
                                        "vertical (-z of base_link), deg; planar image grasps are top-down")
    project_approach_to_vertical: bool = _f(False, "make a 6-DoF approach outside the cone vertical (logged) "
                                                   "instead of rejecting it")
    motion_backend: str = _f("auto", "builtin | moveit_py | auto (moveit_py when importable)")
    builtin: BuiltinBackendConfig = _nested(BuiltinBackendConfig)
    moveit_py: MoveItPyConfig = _nested(MoveItPyConfig)
    gripper_action: str = _f("/robotiq_gripper_controller/gripper_cmd", "GripperCommand action")
    gripper_interface: str = _f("auto", "auto | control_msgs | control_msgs_parallel | grasp_interfaces")
    gripper_timeout_s: float = _f(15.0, "wall-clock limit of one gripper command, s")
    grip_effort: float = _f(100.0, "closing force, N")
    min_held_opening: float = _f(0.004, "held iff the closed jaws stay this far apart, m")
    home_joints: tuple[float, ...] = _f((0.0,), "rad; [0.0] = the cell layout's home_joints")
    place_joints: tuple[float, ...] = _f((0.0,), "rad; [0.0] = the cell layout's place joints (IK over the bin)")
    start_armed: bool = _f(False, "armed at start; otherwise nothing moves until ~/arm is called with true")
    max_joint_state_age_s: float = _f(0.1, "never plan or execute from joint state older than this, s")
    robot_timeout_s: float = _f(0.5, "no /joint_states for this long (node clock) during a motion aborts it, s")
    robot_clock_timeout_s: float = _f(5.0, "with use_sim_time: ... or for this long of wall time (the "
                                           "simulator's clock stopped too), s")
    max_tracking_error: float = _f(0.1, "a joint this far from the commanded sample during a motion is a "
                                         "collision: stop and retreat along the approach, rad")
    ur_safety_mode_topic: str = _f("/io_and_status_controller/safety_mode",
                                   "UR driver's ur_dashboard_msgs/SafetyMode: any mode but NORMAL/REDUCED stops "
                                   "motion (protective stop = collision); \"\" or no ur_dashboard_msgs: not watched")
    auto: bool = _f(False, "automatic mode: pick until the table is clear")
    max_consecutive_failures: int = _f(3, "automatic mode stops after this many failed picks in a row")
    max_empty_frames: int = _f(3, "... or this many fresh frames without a valid candidate")
    max_picks: int = _f(0, "... or this many attempts (0 = no limit)")
    settle_s: float = _f(0.3, "images must be taken this long after the arm left the camera's view, s")
    go_home_between_picks: bool = _f(False, "automatic mode: return home after every pick (false: after "
                                            "placing, detect again as soon as the arm is out of the camera's "
                                            "view and go from the bin straight to the next pre-grasp)")
    wait_timeout_s: float = _f(20.0, "wait this long (node clock) for fresh candidates, s")
    target_class: str = _f("", "pick only candidates whose shape_label is this class; empty = any candidate")
    min_class_confidence: float = _f(0.0, "... and whose shape_confidence is at least this, in [0, 1]")
    class_confirm_distance: float = _f(0.03, "... and that the previous candidate message confirms: a candidate "
                                             "of the class within this distance (m, same frame) in it; 0 = off")

    def validate(self) -> ExecutorConfig:
        """Check value ranges; returns self. Raises ValueError naming the parameter."""
        if self.max_age_s <= 0:
            raise ValueError(f"max_age_s must be > 0, got {self.max_age_s}")
        lo, hi = self.workspace_min, self.workspace_max
        if len(lo) != 3 or len(hi) != 3 or any(a >= b for a, b in zip(lo, hi, strict=True)):
            raise ValueError(f"workspace_min {list(lo)} / workspace_max {list(hi)}: need 3 values each, min < max")
        if not 0.0 <= self.approach_cone_deg <= 90.0:
            raise ValueError(f"approach_cone_deg must be in [0, 90], got {self.approach_cone_deg}")
        if self.use_tf not in ("auto", "true", "false"):
            raise ValueError(f"use_tf must be auto, true or false, got {self.use_tf!r}")
        for name in ("max_candidates", "max_empty_frames", "max_consecutive_failures"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_joint_state_age_s", "robot_timeout_s", "robot_clock_timeout_s", "quaternion_tolerance",
                     "max_tracking_error",
                     "wait_timeout_s",
                     "gripper_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.class_confirm_distance >= 0.0:
            raise ValueError(f"class_confirm_distance must be >= 0, got {self.class_confirm_distance}")
        if not 0.0 <= self.min_class_confidence <= 1.0:
            raise ValueError(f"min_class_confidence must be in [0, 1], got {self.min_class_confidence}")
        if not 0.0 < self.builtin.speed_scale <= 1.0:
            raise ValueError(f"builtin.speed_scale must be in (0, 1], got {self.builtin.speed_scale}")
        for name in ("home_joints", "place_joints"):
            v = getattr(self, name)
            if len(v) not in (1, 6):
                raise ValueError(f"{name} must have 6 values (rad) or be [0.0] for the default, got {list(v)}")
        return self

    def validation_config(self, layout=None, **overrides):
        """The :class:`grasp_core.motion.ValidationConfig` these parameters describe, on the cell ``layout``
        (:class:`grasp_core.layout.CellLayout`, default ``CELL_LAYOUT``): its table top ``table_z``, and
        the arm/table checker at that height."""
        from .layout import CELL_LAYOUT
        from .motion import CellCollisionChecker, ValidationConfig, Workspace

        lay = layout or CELL_LAYOUT
        ws = Workspace(*((float(a), float(b)) for a, b in zip(self.workspace_min, self.workspace_max, strict=True)))
        kw = dict(workspace=ws, max_age_s=self.max_age_s, grasp_depth=self.grasp_depth, min_tcp_z=self.min_tcp_z,
                  pregrasp_clearance=self.pregrasp_clearance, lift_height=self.lift_height,
                  opening_margin=self.opening_margin, full_opening=self.full_opening,
                  height_fraction=self.height_fraction, table_z=lay.table_z,
                  table_margin=self.table_margin, cell=CellCollisionChecker(table_z=lay.table_z),
                  approach_cone_deg=self.approach_cone_deg,
                  project_approach_to_vertical=self.project_approach_to_vertical,
                  palm_clearance=self.palm_clearance, min_pad_contact=self.min_pad_contact)
        kw.update(overrides)
        return ValidationConfig(**kw)

    def motion_limits(self):
        """The :class:`grasp_core.motion.MotionLimits` of the built-in backend."""
        from .motion import MotionLimits
        from .robot import UR5_JOINT_LIMITS, UR5_MAX_ACCELERATION

        b = self.builtin
        return MotionLimits(max_velocity=b.speed_scale * UR5_JOINT_LIMITS.max_velocity,
                            max_acceleration=b.speed_scale * UR5_MAX_ACCELERATION,
                            max_jerk=b.max_joint_jerk, max_linear_speed=b.max_cartesian_speed,
                            clear_linear_speed=b.clear_cartesian_speed,
                            clear_linear_acceleration=b.clear_cartesian_acceleration)

    def pick_config(self, layout=None, **overrides):
        """The :class:`grasp_core.motion.PickConfig` of the pick sequence in the cell ``layout`` (table and
        bin; default :data:`grasp_core.layout.CELL_LAYOUT`)."""
        from .layout import CELL_LAYOUT
        from .motion import PickConfig

        return PickConfig(**{"close_effort": self.grip_effort, "min_held_opening": self.min_held_opening,
                             "layout": layout or CELL_LAYOUT, **overrides})

    def joints(self, name: str, layout=None):
        """``home_joints`` / ``place_joints`` as (6,) float64 rad; ``[0.0]`` = the cell layout's home, or its
        place joints (closed-form IK over the bin), ``layout`` default :data:`grasp_core.layout.CELL_LAYOUT`."""
        import numpy as np

        from .layout import CELL_LAYOUT

        v = getattr(self, name)
        if len(v) == 6:
            return np.asarray(v, dtype=np.float64)
        layout = layout or CELL_LAYOUT
        return np.array(layout.home_joints if name == "home_joints" else layout.place_joints(), dtype=np.float64)


@dataclass(frozen=True)
class CandidateAdapterConfig:
    """``grasp_candidate_adapter``: other software's grasp messages → ``GraspCandidateArray``."""

    output_topic: str = _f("/grasp_candidates", "grasp_interfaces/GraspCandidateArray out")
    pose_array_topic: str = _f("/external_grasps/poses", "geometry_msgs/PoseArray in (\"\" = off)")
    pose_stamped_topic: str = _f("/external_grasps/pose", "geometry_msgs/PoseStamped in (\"\" = off)")
    moveit_grasp_topic: str = _f("/external_grasps/moveit_grasp",
                                 "moveit_msgs/Grasp in, full installs only (\"\" = off)")
    opening: float = _f(0.04, "jaw opening of PoseArray / PoseStamped grasps, m")
    quality: float = _f(0.5, "quality of PoseArray / PoseStamped grasps, [0, 1] (first pose of an array best)")
    model_id: str = _f("external", "model_id stamped on the adapted candidates")
    moveit_tcp_offset: float = _f(TCP_OFFSET, "moveit_msgs/Grasp grasp_pose link (tool0) → grasp point along its z, m")
    camera_info_topic: str = _f("/depth/camera_info", "camera_info for the image-space fields (\"\" = none)")
    extrinsics: str = _f("", "hand-eye calibration YAML; empty = config/camera_extrinsics.yaml")
    use_tf: str = _f("auto", "auto | true | false: tf2 for frames (as the executor)")
    base_frame: str = _f("base_link", "robot base frame (REP 103)")

    def validate(self) -> CandidateAdapterConfig:
        if not self.opening >= 0:
            raise ValueError(f"opening must be >= 0 m, got {self.opening}")
        if not 0.0 <= self.quality <= 1.0:
            raise ValueError(f"quality must be in [0, 1], got {self.quality}")
        if self.use_tf not in ("auto", "true", "false"):
            raise ValueError(f"use_tf must be auto, true or false, got {self.use_tf!r}")
        if not self.output_topic:
            raise ValueError("output_topic must not be empty")
        return self


# ----------------------------------------------------------------------------- simulator
@dataclass(frozen=True)
class SimConfig:
    """``grasp_sim``: the simulated UR5 + 2F-85 cell node."""

    objects: str = _f("procedural", "procedural | procedural:household | pybullet:random_urdfs[:train|:test] | "
                                    "robosuite:household | a folder of *.obj / *.stl meshes (m)", live=True)
    n_objects: int = _f(5, "objects spawned by a reset", live=True)
    seed: int = _f(0, "scene seed", live=True)
    extrinsics: str = _f("", "hand-eye calibration placing the camera; empty = config/camera_extrinsics.yaml")
    depth_noise: bool = _f(True, "Kinect-like depth noise")
    depth_holes: bool = _f(True, "depth holes (0) at edges and dark spots")
    camera_rate_hz: float = _f(3.0, "depth + colour frame rate, Hz (simulation time)")
    joint_state_rate_hz: float = _f(25.0, "/joint_states rate, Hz")
    clock_rate_hz: float = _f(25.0, "/clock rate, Hz")
    objects_rate_hz: float = _f(2.0, "ground-truth markers rate, Hz")
    real_time_factor: float = _f(1.0, "pace of the physics against wall time")
    trajectory_topic: str = _f("/scaled_joint_trajectory_controller/joint_trajectory", "JointTrajectory input")
    gripper_action: str = _f("/robotiq_gripper_controller/gripper_cmd", "GripperCommand action server")
    camera_namespace: str = _f("/camera/camera", "realsense2_camera-style topic namespace")
    gripper_max_effort: float = _f(0.0, "grip force when a command gives none, N (0 = model default)")
    gripper_timeout_s: float = _f(3.0, "simulated seconds a gripper command may take")
    start_tolerance: float = _f(0.05, "refuse a trajectory whose first point is farther than this from the "
                                      "current joints (rad; joint_trajectory_controller's start check)")
    velocity_limit_scale: float = _f(1.05, "refuse segments faster than this x the UR5's joint velocity limits")

    def validate(self) -> SimConfig:
        if self.real_time_factor <= 0:
            raise ValueError(f"real_time_factor must be > 0, got {self.real_time_factor}")
        if self.n_objects < 0:
            raise ValueError(f"n_objects must be >= 0, got {self.n_objects}")
        for name in ("camera_rate_hz", "joint_state_rate_hz", "clock_rate_hz", "objects_rate_hz", "start_tolerance",
                     "velocity_limit_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        return self


# ----------------------------------------------------------------------------- perception
@dataclass(frozen=True)
class TopicSourceConfig:
    """``grasp_camera`` → ``topic.*``: a driver's depth stream (realsense2_camera names by default)."""

    depth_topic: str = _f("/camera/camera/depth/image_rect_raw", "driver depth image")
    info_topic: str = _f("/camera/camera/depth/camera_info", "driver camera_info")
    color_topic: str = _f("", "driver colour image registered to depth (rgb8/bgr8), paired by exact stamp and "
                              "republished on color/image_raw for RGB models; empty = depth only")
    queue_size: int = _f(5, "keep-last depth of the depth and colour subscriptions; 1 = only the newest frame "
                            "when the node falls behind (no backlog of old frames)")


@dataclass(frozen=True)
class ReplaySourceConfig:
    """``grasp_camera`` → ``replay.*``: depth frames from a folder."""

    folder: str = _f("", "folder of .npy (m) / .tiff / 16-bit .png (mm) depth frames")
    intrinsics: str = _f("", "camera_info YAML; empty = Kinect v1 defaults for the size")
    rate_hz: float = _f(2.0, "frames per second")
    loop: bool = _f(False, "start again after the last frame")
    wait_for_subscribers: bool = _f(True, "hold the first frame until a depth topic has a subscriber")


@dataclass(frozen=True)
class CameraConfig:
    """``grasp_camera``: depth camera node."""

    source: str = _f("replay", "camera source plugin (entry points grasp_camera.sources)")
    frame_id: str = _f("camera_depth_optical_frame", "optical frame stamped when the source has none")
    inpaint: bool = _f(True, "fill holes of depth/image by Navier-Stokes inpainting (GG-CNN preprocessing)")
    publish_unfilled: bool = _f(True, "also publish depth/image_unfilled (holes NaN) before inpainting")
    publish_timings: bool = _f(False, "debug: publish each frame's stage instants on ~/timings")
    topic: TopicSourceConfig = _nested(TopicSourceConfig)
    replay: ReplaySourceConfig = _nested(ReplaySourceConfig)


@dataclass(frozen=True)
class OnnxDetectorConfig:
    """``grasp_detector`` → ``onnx_generative.*`` (each ONNX plugin's ``<name>.*``): ONNX Runtime session options."""

    threads: int = _f(0, "intra-op threads (0 = ONNX Runtime's default)")
    verify: bool = _f(True, "check the model file's sha256 against its card")
    execution_provider: str = _f("cpu", "cpu | cuda | tensorrt (onnxruntime-gpu); where this ONNX Runtime lacks "
                                        "it: one warning, the next provider, the CPU last")


@dataclass(frozen=True)
class PropSamplingConfig:
    """``grasp_detector`` → ``prop_gqcnn.*`` (and GQ-STN's fallback, ``onnx_gqstn_fallback.*``) beside
    :class:`OnnxDetectorConfig`'s: Prop+GQ-CNN's sampling budget (:class:`grasp_core.prop_gqcnn.PropConfig`,
    Mahler et al., Dex-Net 2.0: antipodal edge pairs, then cross-entropy-method refinement). Its run time
    grows with ``n_candidates`` + ``cem_iterations`` × ``cem_samples`` (classifier evaluations)."""

    n_edges: int = _f(500, "edge pixels sampled as first contacts")
    n_candidates: int = _f(150, "antipodal candidates ranked by the classifier")
    cem_iterations: int = _f(3, "cross-entropy-method refinement rounds (0 = ranking only)")
    cem_samples: int = _f(60, "grasps drawn per refinement round")
    seed: int = _f(0, "sampling seed (the same frame gives the same grasps)")


@dataclass(frozen=True)
class GQSTNFallbackConfig:
    """``grasp_detector`` → ``onnx_gqstn.*`` beside :class:`OnnxDetectorConfig`'s: GQ-STN's fallback chain
    (Gariépy et al., IROS 2019, §V-D: the fast one-shot GQ-STN first, a sampling method when its grasp is
    not robust)."""

    fallback: str = _f("prop_gqcnn", "detector plugin run when GQ-STN's P(robust) < fallback_threshold ('' = none)")
    fallback_model: str = _f("gqcnn_synth", "the fallback plugin's model card")
    fallback_threshold: float = _f(0.5, "P(robust) below which the fallback runs (the classifier's threshold)")
    fallback_max_opening_m: float = _f(0.085, "the fallback also runs when GQ-STN's grasp needs a wider opening, m "
                                              "(the Robotiq 2F-85's stroke; not in the paper)")


@dataclass(frozen=True)
class DetectorConfig:
    """``grasp_detector``: grasp detector node."""

    detector: str = _f("onnx_generative", "detector plugin (entry points grasp_detector.detectors)")
    model: str = _f("ggcnn2_synth", "model card name or path")
    top_k: int = _f(5, "candidates per frame")
    min_distance_px: float = _f(20.0, "non-maximum suppression distance, px")
    quality_threshold: float = _f(0.1, "lowest Q published")
    publish_annotated: bool = _f(True, "publish ~/annotated")
    queue_size: int = _f(1, "keep-last depth of the image and camera_info subscriptions; 1 = the newest frame "
                            "only when detection is slower than the camera (no backlog of old frames)")
    publish_timings: bool = _f(False, "debug: publish each frame's stage instants on ~/timings")
    onnx_generative: OnnxDetectorConfig = _nested(OnnxDetectorConfig)


@dataclass(frozen=True)
class CandidateLoggerConfig:
    """``grasp_candidate_logger``: writes candidates.jsonl and annotated PNGs."""

    output_dir: str = _f("out/run", "output folder (created)")
    save_annotated: bool = _f(True, "write the annotated PNGs")


@dataclass(frozen=True)
class ShapeClassifierConfig:
    """``grasp_shape_classifier``: few-shot shape labels for candidates (docs/shapes.md)."""

    image_topic: str = _f("depth/image", "depth image the candidates were detected on")
    candidates_topic: str = _f("/grasp_candidates", "candidates in")
    output_topic: str = _f("/grasp_candidates_labelled", "labelled candidates out")
    model: str = _f("ssd_shapes", "SSD model card whose refined activations are the features")
    state_file: str = _f("~/.local/share/grasp_stack/shape_classifier", "classifier state (.npz + .json)")
    support_folder: str = _f("", "support folder loaded at start when there is no state file")
    pca_dims: int = _f(20, "PCA dimensions")
    variant: str = _f("object_shape", "features: object_shape (the depth-segmented object's rotation-invariant "
                      "silhouette descriptor), object_depth (its height crop) or refined_roi (the SSD's "
                      "guided-backprop refined activations, grasp-aligned; the paper's)")
    match_radius_px: float = _f(12.0, "candidate ↔ SSD detection matching radius, network px")
    queue_size: int = _f(5, "image/candidates pairing queue")
    threads: int = _f(1, "torch threads")


#: Node name → its section's dataclass (the node sections of config/grasp.yaml).
SECTIONS: dict[str, type] = {
    "grasp_camera": CameraConfig,
    "grasp_detector": DetectorConfig,
    "grasp_candidate_logger": CandidateLoggerConfig,
    "grasp_sim": SimConfig,
    "grasp_executor": ExecutorConfig,
    "grasp_candidate_adapter": CandidateAdapterConfig,
    "grasp_shape_classifier": ShapeClassifierConfig,
}


# ----------------------------------------------------------------------------- conversion
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def flat_fields(cls, prefix: str = "") -> dict[str, tuple[Any, dataclasses.Field]]:
    """Dotted parameter name → (default value, field) for every leaf field of the dataclass ``cls``."""
    out: dict[str, tuple[Any, dataclasses.Field]] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        if dataclasses.is_dataclass(t):
            out.update(flat_fields(t, f"{prefix}{f.name}."))
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out[prefix + f.name] = (default, f)
    return out


def _coerce(value, t, name: str):
    origin = typing.get_origin(t)
    if t is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true/false, got {value!r}")
        return value
    if t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected an integer, got {value!r}")
        return int(value)
    if t is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if t is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected a string, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValueError(f"{name}: expected a list, got {value!r}")
        (elem,) = {a for a in typing.get_args(t) if a is not Ellipsis}
        return tuple(_coerce(v, elem, f"{name}[{i}]") for i, v in enumerate(value))
    raise TypeError(f"{name}: unsupported field type {t!r}")


def from_dict(cls: type[T], data: dict | None, name: str = "") -> T:
    """``cls`` from a nested dict (a YAML section's ``ros__parameters``); missing keys take the defaults.

    Raises:
        ValueError: an unknown key, or a value of the wrong type (the message names the key).
    """
    data = dict(data or {})
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        v = data.pop(f.name)
        t = hints[f.name]
        if dataclasses.is_dataclass(t):
            if not isinstance(v, dict):
                raise ValueError(f"{name}{f.name}: expected a mapping, got {v!r}")
            kwargs[f.name] = from_dict(t, v, f"{name}{f.name}.")
        else:
            kwargs[f.name] = _coerce(v, t, name + f.name)
    if data:
        raise ValueError(f"unknown parameter(s) {', '.join(name + k for k in sorted(data))} for {cls.__name__}")
    obj = cls(**kwargs)
    return obj.validate() if hasattr(obj, "validate") else obj


def from_flat(cls: type[T], values: dict[str, Any]) -> T:
    """``cls`` from dotted names → values (what a node read back from its declared parameters)."""
    nested: dict = {}
    for key, v in values.items():
        d = nested
        *parents, leaf = key.split(".")
        for p in parents:
            d = d.setdefault(p, {})
        d[leaf] = list(v) if not isinstance(v, (str, bytes, bool, int, float)) else v
    return from_dict(cls, nested)


def to_dict(obj) -> dict:
    """Nested dict of a config dataclass (tuples as lists), as it would stand in the YAML."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[f.name] = to_dict(v) if dataclasses.is_dataclass(v) else (list(v) if isinstance(v, tuple) else v)
    return out


def read_yaml(path: str | Path) -> dict:
    """The parameters file as a dict. Raises ValueError when unreadable or not a mapping."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read parameters file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"parameters file {path} is not a mapping of node sections")
    return data


def load_section(path: str | Path, node: str, cls: type[T] | None = None) -> T:
    """The typed config of node section ``node`` of a parameters file (default class: :data:`SECTIONS`).

    Raises:
        ValueError: unreadable file, unknown key or wrong type (the message names file and key).
    """
    cls = cls or SECTIONS[node]
    data = read_yaml(path)
    section = data.get(node) or {}
    params = section.get("ros__parameters", {}) if isinstance(section, dict) else {}
    try:
        return from_dict(cls, params, f"{node}.")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc

