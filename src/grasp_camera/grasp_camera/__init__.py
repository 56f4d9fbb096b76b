"""Camera node of the grasp stack: depth in metres, hole-free, on ``depth/image``.

Sources are plugins (entry-point group ``grasp_camera.sources``) chosen by the
node's ``source`` parameter; see :mod:`grasp_camera.sources`.
"""
