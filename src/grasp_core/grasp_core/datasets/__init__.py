"""Real and synthetic grasp datasets on disk, ROS-free: file layouts and the one image-file reader.

* :mod:`.files`: :func:`read_depth`, :func:`read_rgb`, :func:`read_mask` (one reader of depth /
  colour / mask files for every layout), :class:`DatasetError` (a ValueError naming the file).
* :mod:`.jacquard`: the Jacquard layout (Depierre et al., IROS 2018): reader and writer (the
  project's synthetic dataset is written in it).
* :mod:`.cornell`: the Cornell layout (Jiang et al., ICRA 2011): reader and ``cpos`` writer.
* :mod:`.robustness`: grasp-aligned 32 × 32 depth crops, gripper depth and physics robustness
  labels (``grasp-dataset --robustness-trials``; .npz shards + manifest), the GQ-CNN's data.
* :mod:`.dexnet`: reader of the Dex-Net 2.0 tensor layout into the same arrays.

Used by :mod:`grasp_core.nn` (training), :mod:`grasp_core.synth` (the dataset generator),
:mod:`grasp_core.frames` (frame folders) and the ``grasp-eval`` / ``grasp-dataset`` tools.
"""
from .cornell import list_cornell, parse_cornell_cpos, read_cornell, write_cornell_cpos
from .files import DEPTH_SUFFIXES, DatasetError, focal_lengths, read_depth, read_mask, read_rgb
from .jacquard import (
    SUFFIXES,
    format_grasps,
    jacquard_complete,
    list_jacquard,
    parse_jacquard_grasps,
    read_jacquard,
    read_jacquard_mask,
    write_jacquard_image,
    write_manifest,
)

__all__ = ["DEPTH_SUFFIXES", "DatasetError", "SUFFIXES", "focal_lengths", "format_grasps", "jacquard_complete",
           "list_cornell", "list_jacquard", "parse_cornell_cpos", "parse_jacquard_grasps", "read_cornell", "read_depth",
           "read_jacquard", "read_jacquard_mask", "read_mask", "read_rgb", "write_cornell_cpos",
           "write_jacquard_image", "write_manifest"]
