"""Re-export of the dataset layouts now in :mod:`grasp_core.datasets` (Jacquard writer and readers,
Cornell readers), for callers of the old path."""
from ..datasets import (  # noqa: F401
    SUFFIXES,
    DatasetError,
    format_grasps,
    jacquard_complete,
    list_jacquard,
    parse_cornell_cpos,
    parse_jacquard_grasps,
    read_cornell,
    read_jacquard,
    read_jacquard_mask,
    write_cornell_cpos,
    write_jacquard_image,
    write_manifest,
)
