"""Re-export of :mod:`grasp_core.objects` (object specs, the procedural generator, mesh loading),
which the simulated cell and the dataset generator share."""
from ..objects import (  # noqa: F401
    KINDS,
    GeomSpec,
    ObjectSpec,
    find_mesh_files,
    make_object,
    mesh_object,
    mesh_points_and_volume,
    random_object,
)
