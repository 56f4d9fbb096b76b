"""The plugin contract of the stack (Nav2's lifecycle) and plugin lookup by name (the analogue of pluginlib).

Camera sources (:class:`grasp_camera.sources.CameraSource`), detectors
(:class:`grasp_detector.detectors.DetectorPlugin`) and motion backends derive from
:class:`Plugin`, whose lifecycle is the one of Nav2's ``nav2_core`` plugin
interfaces (``nav2_core::Controller``, ``GlobalPlanner``, ...): the host node calls

1. ``configure(node, name, ...)`` once, while the node is built: declare the plugin's
   parameters under ``<name>.``, create its publishers/subscriptions/clients, load
   models; raise ``ValueError`` with a one-line reason when it cannot work (the node
   then exits 2 with that line, :func:`grasp_bridge.runtime.spin_node`);
2. ``activate()`` when the node starts serving: start timers, begin delivering data;
3. ``deactivate()`` when it stops serving (node shutdown): stop timers, stop delivering;
4. ``cleanup()`` after ``deactivate()``: release what ``configure`` acquired (sessions,
   files, ROS entities the plugin created).

Each method is called at most once per cycle, in this order; ``deactivate`` and
``cleanup`` run even when the node shuts down on an error, and only when ``configure``
succeeded (``deactivate`` only after ``activate``). Hosts use :func:`shutdown_plugin`
for steps 3–4.
"""
from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points


class Plugin:
    """Base of every plugin of the stack: Nav2's configure → activate → deactivate → cleanup.

    Subclasses override :meth:`configure` with their own extra arguments (as Nav2's
    interfaces do: a camera source gets the frame callback, a detector its model) and
    call ``super().configure(node, name)``; the other three hooks are no-ops by default.

    Attributes:
        node: the host ``rclpy.node.Node`` (None before :meth:`configure`).
        name: the plugin's instance name; its parameters live under ``<name>.``.
        state: ``"unconfigured"``, ``"inactive"`` (configured) or ``"active"``, kept by
            :meth:`configure` and the lifecycle helpers of this module.
    """

    node = None
    name: str = ""
    state: str = "unconfigured"

    def configure(self, node, name: str, *args, **kwargs) -> None:
        """Remember the host ``node`` and instance ``name``; subclasses declare parameters here.

        Raises:
            ValueError: the plugin cannot work with its parameters (one-line reason).
        """
        self.node, self.name = node, name

    def activate(self) -> None:
        """Start working (timers, delivery). Default: nothing."""

    def deactivate(self) -> None:
        """Stop working; the plugin may be activated again. Default: nothing."""

    def cleanup(self) -> None:
        """Release what :meth:`configure` acquired. Default: nothing."""


def configure_plugin(plugin: Plugin, node, name: str, *args, **kwargs) -> None:
    """``plugin.configure(node, name, ...)`` and mark it configured (state ``"inactive"``)."""
    plugin.configure(node, name, *args, **kwargs)
    plugin.state = "inactive"


def activate_plugin(plugin: Plugin) -> None:
    """``plugin.activate()`` on a configured plugin (state ``"active"``); no-op when already active."""
    if plugin.state == "inactive":
        plugin.activate()
        plugin.state = "active"


def shutdown_plugin(plugin: Plugin | None) -> None:
    """Deactivate (when active) then clean up (when configured) ``plugin``; None and unconfigured are no-ops."""
    if plugin is None:
        return
    if plugin.state == "active":
        plugin.deactivate()
        plugin.state = "inactive"
    if plugin.state == "inactive":
        plugin.cleanup()
        plugin.state = "unconfigured"


def load_plugin(group: str, name: str, builtin: dict[str, type] | None = None) -> type:
    """The class registered as ``name`` in entry-point ``group``.

    Lookup order: installed entry points, then ``builtin`` (the package's own
    plugins, so a source checkout without installed metadata still works), then
    ``name`` as ``module:Class``.

    Raises:
        ValueError: no such plugin (the message lists the known names).
    """
    builtin = builtin or {}
    eps = entry_points(group=group)
    for ep in eps:
        if ep.name == name:
            return ep.load()
    if name in builtin:
        return builtin[name]
    if ":" in name:
        mod, _, attr = name.partition(":")
        try:
            return getattr(import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot load plugin {name!r}: {exc}") from exc
    known = sorted({ep.name for ep in eps} | set(builtin))
    raise ValueError(f"unknown plugin {name!r} in {group} (known: {', '.join(known)})")
