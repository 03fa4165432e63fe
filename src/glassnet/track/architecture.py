"""A recorded run's layers in model order, read from its ``model.get_config()``.

The watch records the config (``store.model_config(run_id)``); tables, the dashboard's
diagram and the model rebuild read layer order, class names, units and activations
from it here, instead of guessing the order from layer names or kernel shapes.
A model nested as a layer contributes its own layers in its place; a functional
model's config also says which layers each layer reads (``inbound``).
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
        if isinstance(settings.get("layers"), list):  # a nested model: its layers in place
            specs.extend(layer_specs(settings))
            continue
        specs.append({"name": settings.get("name"), "class_name": layer.get("class_name"),
                      "units": settings.get("units"), "activation": settings.get("activation")})
    return specs


def inbound(config: dict | None) -> dict[str, list[str]] | None:
    """``{layer name: [names of the layers it reads]}`` of a functional model's config
    (Keras's ``inbound_nodes``, first call); None for a Sequential (a chain) or None."""
    if not config:
        return None
    if "input_layers" not in config:
        return _sequential_inbound(config)
    links = {}
    for layer in config.get("layers", []):
        nodes = layer.get("inbound_nodes") or [{}]
        names = []
        for arg in nodes[0].get("args", []):
            for ref in arg if isinstance(arg, list) else [arg]:
                history = ref.get("config", {}).get("keras_history") if isinstance(
                    ref, dict) else None
                if history:
                    names.append(history[0])
        links[layer.get("name") or layer.get("config", {}).get("name")] = names
    return links


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


def _sequential_inbound(config: dict) -> dict[str, list[str]] | None:
    """A Sequential holding a functional model: each layer reads the one before, the
    nested model's input reads the layer before it; None when nothing is nested."""
    entries = config.get("layers", [])
    if not any("input_layers" in entry.get("config", {}) for entry in entries):
        return None
    links: dict[str, list[str]] = {}
    previous: list[str] = []
    for entry in entries:
        settings = entry.get("config", {})
        nested = inbound(settings) if "input_layers" in settings else None
        if nested is not None:
            links.update(nested)
            first = settings["input_layers"]
            first = first[0] if isinstance(first[0], list) else first
            links[first[0]] = previous
            last = settings["output_layers"]
            previous = [(last[0] if isinstance(last[0], list) else last)[0]]
            continue
        links[settings.get("name")] = previous
        previous = [settings.get("name")]
    return links
