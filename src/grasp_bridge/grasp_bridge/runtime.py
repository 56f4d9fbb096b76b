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
