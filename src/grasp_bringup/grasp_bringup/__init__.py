"""Bringup of the grasp stack: parameters, launch files, the candidate logger and the pip-path runner."""
