"""ROS parameters declared from the typed configuration (:mod:`grasp_core.config`).

:func:`declare_config` declares one parameter per leaf field of a config dataclass (dotted names for
nested sections, the field default as the parameter default, the field's ``doc`` as description)
and returns the dataclass built from the values the node got (parameter file overrides included).
Fields without ``live=True`` metadata are declared read-only (``ParameterDescriptor(read_only=True)``):
``SetParameters`` on them fails with a reason instead of reporting success while the node keeps
using the start-up value.
"""
from __future__ import annotations

from typing import TypeVar

from grasp_core.config import flat_fields, from_flat
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

T = TypeVar("T")


def _param_value(v):
    return list(v) if isinstance(v, tuple) else v


def declare_config(node, cls: type[T], prefix: str = "", plugin_sections: bool = True) -> T:
    """Declare ``cls``'s fields as parameters of ``node`` (under ``prefix``) and return the typed config.

    ``plugin_sections=False`` leaves the nested sections (plugins' parameters, e.g. ``replay.*``)
    undeclared: each plugin declares its own (Nav2 style) and they keep their defaults here.

    Raises:
        ValueError: a value of the wrong type or out of range (``cls.validate``), naming the parameter.
    """
    values = {}
    for key, (default, f) in flat_fields(cls).items():
        if not plugin_sections and "." in key:
            continue
        desc = ParameterDescriptor(description=str(f.metadata.get("doc", "")),
                                   read_only=not f.metadata.get("live", False))
        try:
            values[key] = node.declare_parameter(prefix + key, _param_value(default), desc).value
        except Exception as exc:  # noqa: BLE001 - rclpy raises its own InvalidParameterTypeException
            raise ValueError(f"parameter {prefix + key}: {exc}") from exc
    return from_flat(cls, values)


def refuse_use_sim_time_change(node) -> None:
    """Refuse run-time changes of ``use_sim_time`` (the node's clock must not jump under it)."""
    start = node.get_parameter("use_sim_time").value

    def check(params):
        for p in params:
            if p.name == "use_sim_time" and p.value != start:
                return SetParametersResult(successful=False,
                                           reason="use_sim_time cannot change while the node runs")
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(check)


def declare_layout(node):
    """Declare the cell layout's ``cell.*`` parameters (read-only; config/grasp.yaml's ``/**`` section)
    and return the :class:`grasp_core.layout.CellLayout` they describe.

    Raises:
        ValueError: a bad layout value (the message names it).
    """
    from grasp_core.layout import CellLayout

    values = {}
    for key, default in CellLayout().to_parameters().items():
        desc = ParameterDescriptor(description="cell layout (base_link, m / rad)", read_only=True)
        values[key] = node.declare_parameter(key, default, desc).value
    return CellLayout.from_parameters({k: list(v) if isinstance(v, (list, tuple)) or hasattr(v, "tolist")
                                       else v for k, v in values.items()})
