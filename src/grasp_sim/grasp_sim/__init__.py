"""ROS 2 front end of the simulated UR5 + Robotiq 2F-85 cell (:mod:`grasp_core.sim`)."""
