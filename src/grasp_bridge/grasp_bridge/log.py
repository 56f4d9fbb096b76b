"""Logging a problem once per cause: the stack's rule for bad input ("log once per cause, keep running")."""
from __future__ import annotations


class OncePerCause:
    """Log ``message`` at WARN the first time ``cause`` is seen, at DEBUG afterwards.

    Args:
        logger: an rclpy logger (``node.get_logger()``).

    Calling ``log(cause, message)`` is thread-safe enough for callbacks: a cause racing on two
    threads may be warned twice, never lost.
    """

    def __init__(self, logger) -> None:
        self.logger = logger
        self.seen: set[str] = set()

    def __call__(self, cause: str, message: str) -> None:
        if cause not in self.seen:
            self.seen.add(cause)
            self.logger.warning(message)
        else:
            self.logger.debug(message)
