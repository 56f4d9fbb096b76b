"""The cell layout (grasp_core.layout): one definition read by the simulator, the collision check
and the named configurations, from config/grasp.yaml's ``/**: ros__parameters: cell:``."""
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from grasp_core.layout import CELL_LAYOUT, CellLayout
from grasp_core.motion import (
    BIN_CENTER,
    BIN_HEIGHT,
    BIN_INNER,
    HOME_JOINTS,
    PLACE_JOINTS,
    bin_walls,
    default_cell_checker,
)
from grasp_core.robot import forward_kinematics

ROOT = Path(__file__).resolve().parents[1]


def test_repository_yaml_is_the_default_layout():
    data = yaml.safe_load((ROOT / "config" / "grasp.yaml").read_text())
    section = data["/**"]["ros__parameters"]["cell"]
    assert CellLayout.from_yaml(ROOT / "config" / "grasp.yaml") == CellLayout() == CELL_LAYOUT
    assert {f"cell.{k}" for k in section} == set(CellLayout().to_parameters())  # every field is in the file


def test_motion_names_come_from_the_layout():
    assert BIN_CENTER == CELL_LAYOUT.bin_centre and BIN_INNER == CELL_LAYOUT.bin_inner[0]
    assert BIN_HEIGHT == CELL_LAYOUT.bin_height
    np.testing.assert_array_equal(HOME_JOINTS, CELL_LAYOUT.home_joints)
    np.testing.assert_array_equal(PLACE_JOINTS, CELL_LAYOUT.place_joints())


def test_place_joints_by_ik_reach_the_place_pose_near_home():
    lay = CellLayout()
    exact = lay.place_joints(decimals=None)
    t = forward_kinematics(exact)
    np.testing.assert_allclose(t, lay.place_pose(), atol=1e-9)
    np.testing.assert_allclose(t[:3, 3], [0.25, -0.60, 0.30], atol=1e-12)
    assert np.max(np.abs(lay.place_joints() - exact)) <= 5e-5  # rounded to 1e-4 rad
    # rounding moves tool0 by less than 0.1 mm
    assert np.linalg.norm(forward_kinematics(lay.place_joints())[:3, 3] - t[:3, 3]) < 1e-4
    # same IK branch as home: the wrist_2 sign and the elbow's side agree
    assert np.sign(exact[4]) == np.sign(HOME_JOINTS[4]) and np.sign(exact[2]) == np.sign(HOME_JOINTS[2])
    moved = CellLayout(bin_centre=(0.30, -0.55), place_height=0.35)
    np.testing.assert_allclose(forward_kinematics(moved.place_joints(None))[:3, 3], [0.30, -0.55, 0.35], atol=1e-9)


def test_parameters_round_trip_and_errors(tmp_path):
    lay = CellLayout(bin_centre=(0.2, -0.5), camera_extrinsics="/tmp/x.yaml")
    params = lay.to_parameters()
    assert params["cell.bin_centre"] == [0.2, -0.5] and params["cell.camera_extrinsics"] == "/tmp/x.yaml"
    assert all(isinstance(v, (float, str, list)) for v in params.values())
    assert CellLayout.from_parameters({**params, "use_sim_time": True}) == lay  # other node parameters ignored
    assert CellLayout.from_parameters({"cell": {"table_z": 0.01}}).table_z == 0.01
    with pytest.raises(ValueError, match="unknown cell layout parameter 'cell.bin_size'"):
        CellLayout.from_parameters({"cell.bin_size": 0.3})
    with pytest.raises(ValueError, match="pick_half"):
        CellLayout(pick_half=(0.1, -0.1))
    with pytest.raises(ValueError, match="home_joints"):
        CellLayout(home_joints=(0.0, 0.0, 4.0, 0.0, 0.0, 0.0))  # elbow beyond ±π
    with pytest.raises(ValueError, match="table_x"):
        CellLayout(table_x=(1.0, 0.0))
    bad = tmp_path / "bad.yaml"
    bad.write_text("/**:\n  ros__parameters:\n    cell:\n      bin_height: tall\n")
    with pytest.raises(ValueError, match=r"bad\.yaml.*bin_height"):
        CellLayout.from_yaml(bad)
    (tmp_path / "none.yaml").write_text("grasp_sim:\n  ros__parameters: {}\n")
    assert CellLayout.from_yaml(tmp_path / "none.yaml") == CellLayout()
    with pytest.raises(ValueError, match="missing.yaml"):
        CellLayout.from_yaml(tmp_path / "missing.yaml")


def test_collision_check_follows_the_layout():
    lay = CellLayout(bin_centre=(0.3, -0.5), bin_inner=(0.2, 0.3), bin_height=0.1, bin_wall_thickness=0.01,
                     table_z=0.02)
    walls = bin_walls(layout=lay)
    lo = np.min([w.lo for w in walls], axis=0)
    hi = np.max([w.hi for w in walls], axis=0)
    np.testing.assert_allclose(lo, [0.3 - 0.11, -0.5 - 0.16, 0.02])
    np.testing.assert_allclose(hi, [0.3 + 0.11, -0.5 + 0.16, 0.12])
    assert not any(w.contains(np.array([[0.3, -0.5, 0.05]])).any() for w in walls)
    checker = default_cell_checker(layout=lay)
    assert checker.table_z == 0.02 and len(checker.obstacles) == 4
    # the default layout's checker keeps the home and place poses free
    assert default_cell_checker().check_configuration(HOME_JOINTS) is None
    assert math.isclose(default_cell_checker(table_z=0.1).table_z, 0.1)


def test_simulated_cell_is_built_from_the_layout():
    pytest.importorskip("mujoco")
    from grasp_core.sim import CellConfig, SimCell

    lay = CellLayout(bin_centre=(0.3, -0.5), bin_inner=(0.2, 0.24), pick_centre=(0.45, 0.05),
                     pick_half=(0.05, 0.05))
    with SimCell(CellConfig(layout=lay, depth_noise=False, depth_holes=False)) as cell:
        assert cell.config.bin_centre == (0.3, -0.5) and cell.config.home_q == lay.home_joints
        cell.reset(3, "procedural", seed=2)
        for name in cell.object_names:
            x, y, _ = cell.object_poses()[name][:3, 3]
            assert abs(x - 0.45) < 0.05 + 0.06 and abs(y - 0.05) < 0.05 + 0.06  # spawned in the pick area
        m = cell.model
        import mujoco

        walls = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, f"bin_wall_{s}") for s in ("px", "nx", "py", "ny")]
        lo = np.min([cell.data.geom_xpos[g] - m.geom_size[g] for g in walls], axis=0)
        hi = np.max([cell.data.geom_xpos[g] + m.geom_size[g] for g in walls], axis=0)
        boxes = bin_walls(layout=lay)
        np.testing.assert_allclose(lo, np.min([b.lo for b in boxes], axis=0), atol=1e-9)  # the checker's walls
        np.testing.assert_allclose(hi, np.max([b.hi for b in boxes], axis=0), atol=1e-9)
        table = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "table")
        top = cell.data.geom_xpos[table] + m.geom_size[table]
        np.testing.assert_allclose(top, [lay.table_x[1], lay.table_y[1], lay.table_z], atol=1e-9)
        # ground truth judges the bin by the layout's bin
        t = np.eye(4)
        t[:3, 3] = [0.39, -0.40, 0.03]  # in this bin, beside the default one
        from grasp_core.sim.ground_truth import objects_in_bin, objects_on_table

        assert objects_in_bin({"a": t}, lay) == ["a"] and objects_on_table({"a": t}, lay) == []
        assert objects_in_bin({"a": t}, CellLayout()) == []


def test_nodes_see_the_cell_parameters_and_command_line_overrides_still_win():
    """rclpy reading config/grasp.yaml: any node gets the cell.* values from the /** section, and a
    ``-p`` override beats the file's node section (the /** section must stay after the node sections)."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.node import Node

    ctx = rclpy.Context()
    rclpy.init(args=["--ros-args", "--params-file", str(ROOT / "config" / "grasp.yaml"),
                     "-p", "replay.folder:=/frames", "-p", "cell.bin_height:=0.1"], context=ctx)
    try:
        node = Node("grasp_camera", context=ctx)
        try:
            assert node.declare_parameter("replay.folder", "").value == "/frames"
            values = {k: node.declare_parameter(k, v).value for k, v in CellLayout().to_parameters().items()}
            values = {k: (list(v) if isinstance(v, (list, tuple)) or hasattr(v, "tolist") else v)
                      for k, v in values.items()}
            assert CellLayout.from_parameters(values) == CellLayout(bin_height=0.1)
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
