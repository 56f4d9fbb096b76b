"""Grasp detector node of the grasp stack; detectors are plugins (see :mod:`grasp_detector.detectors`)."""
