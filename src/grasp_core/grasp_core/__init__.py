"""ROS-free algorithms of the UR5 grasping stack.

numpy in, numpy out; no rclpy import anywhere in this package. PyTorch is
imported only by the training and export modules (``grasp_core.nn``).
"""

__version__ = "0.1.0"


def preload_before_gl() -> None:
    """Load Triton's LLVM (when torch's Triton is installed) before the first MuJoCo OpenGL context.

    The CUDA build of torch (``torch==2.14.1``, the build torchvision's ops load with; the dev profile
    pins the CPU ``torch==2.13.0``) ships ``triton``, whose ``libtriton.so``
    carries its own LLVM. Mesa's EGL/OSMesa (llvmpipe) loads another LLVM; when Mesa's comes first,
    the later ``import triton`` (by ``torch._dynamo``, e.g. from ``torch.optim``) crashes the process
    with a segmentation fault. Loaded in the other order, both work. Idempotent, ~0.3 s the first
    time, nothing when Triton is not installed.
    """
    import importlib.util

    try:
        if importlib.util.find_spec("triton") is not None:
            import triton  # noqa: F401
    except ImportError:  # a broken Triton: torch treats it as absent as well
        pass
