"""Plugin lookup by name through Python entry points (the analogue of pluginlib)."""
from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points


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
