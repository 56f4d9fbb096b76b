"""The ``main()`` every node of the stack shares: init, build, spin, clean up."""
from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def spin_node(make_node: Callable[[], Node], prog: str, args: list[str] | None = None,
              threads: int = 0) -> int:
    """Run one node until shutdown, as a console script's ``main()``.

    ``rclpy.init(args)``, build the node with ``make_node()``, spin it (on a
    ``MultiThreadedExecutor`` with ``threads`` threads when ``threads`` > 0: nodes whose
    callbacks wait on other callbacks, e.g. action servers that poll, need it), then
    ``destroy_node()`` and ``rclpy.try_shutdown()`` whatever happened. Ctrl-C and
    an external shutdown end it normally.

    Returns:
        0, or 2 after one line ``<prog>: error: ...`` on stderr when the node
        raised ``ValueError`` (bad parameters: unknown plugin, missing model card,
        bad intrinsics, ...).
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        if threads > 0:
            from rclpy.executors import MultiThreadedExecutor

            rclpy.spin(node, executor=MultiThreadedExecutor(num_threads=threads))
        else:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def stop_spinning(executor, spinner=None, timeout_s: float = 5.0) -> bool:
    """Shut ``executor`` down and join ``spinner``, the thread that runs ``executor.spin``.

    Call it before the nodes are destroyed. A spinning thread still inside the executor's wait
    when the interpreter exits aborts the process ("terminate called without an active
    exception", exit status -6; ros2/rclpy#1484), seen under load when the 2 s shutdown wait
    passed while a callback still ran.

    Args:
        executor: an rclpy executor, or None (nothing to stop).
        spinner: ``threading.Thread`` spinning it, or None.
        timeout_s: s, for the executor's shutdown and, again, for the join.

    Returns:
        True when the thread ended (or there was none).
    """
    if executor is not None:
        executor.shutdown(timeout_sec=timeout_s)
    if spinner is None or not spinner.is_alive():
        return True
    spinner.join(timeout_s)
    return not spinner.is_alive()
