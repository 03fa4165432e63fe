"""A recorded run's layers in model order, read from its ``model.get_config()``.

The watch records the config (``store.model_config(run_id)``); tables, the dashboard's
diagram and the model rebuild read layer order, class names, units and activations
from it here, instead of guessing the order from layer names or kernel shapes.
"""

from __future__ import annotations


def layer_specs(config: dict | None) -> list[dict]:
    """Layers of a recorded model config, first to last: ``[{name, class_name, units,
    activation}]`` (units and activation None for layers without them); [] for None."""
    if not config:
        return []
    specs = []
    for layer in config.get("layers", []):
        settings = layer.get("config", {})
        specs.append({"name": settings.get("name"), "class_name": layer.get("class_name"),
                      "units": settings.get("units"), "activation": settings.get("activation")})
    return specs


def layer_names(config: dict | None) -> list[str]:
    """Names of the layers of a recorded model config, in model order; [] for None."""
    return [spec["name"] for spec in layer_specs(config)]


def activations(config: dict | None) -> dict[str, str]:
    """``{layer name: activation name}`` of the layers that have one."""
    return {spec["name"]: spec["activation"] for spec in layer_specs(config)
            if isinstance(spec["activation"], str)}


def in_model_order(names, config: dict | None, fallback_key) -> list[str]:
    """``names`` sorted as the recorded model orders its layers.

    Names the config does not know (or every name, when there is no config) follow,
    sorted by ``fallback_key``."""
    position = {name: i for i, name in enumerate(layer_names(config))}
    known = sorted((n for n in names if n in position), key=position.__getitem__)
    rest = sorted((n for n in names if n not in position), key=fallback_key)
    return known + rest
