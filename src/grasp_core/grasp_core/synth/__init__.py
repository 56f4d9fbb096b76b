"""Synthetic grasp data: seeded MuJoCo table-top scenes, antipodal labels, physics trials, dataset files.

The modules are imported by name (``grasp_core.synth.scene`` and so on); this file makes the folder a
regular package, so that ``find_packages()`` includes it in wheels and in non-symlink colcon installs
(test/test_install.py checks both).
"""
