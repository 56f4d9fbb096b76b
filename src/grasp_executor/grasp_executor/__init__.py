"""Executor of the grasp stack: /grasp_candidates → validated base_link grasps → UR5 + 2F-85 pick."""
