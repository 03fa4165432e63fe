"""How many numbers a model described in a file would allocate, from its settings alone.

A reader calls these before it builds anything, so a tampered file (a ``units`` of a
billion) is refused before it allocates: ``planned_weight_count`` for a chain of
layers, ``graph_weight_count`` for a functional model's config (along its graph).
"""

from __future__ import annotations

import numpy as np


def planned_weight_count(input_shape, layers) -> int:
    """How many numbers building ``layers`` for ``input_shape`` would allocate (none are)."""
    from glassnet.layers import Dense, Flatten, Normalization

    shape, total = tuple(input_shape), 0
    for layer in layers:
        if isinstance(layer, Dense):
            total += int(shape[-1]) * layer.units + (layer.units if layer.use_bias else 0)
            shape = shape[:-1] + (layer.units,)
        elif isinstance(layer, Flatten):
            shape = (shape[0], int(np.prod([int(d) for d in shape[1:]], dtype=object)))
        elif isinstance(layer, Normalization):
            total += 2 * (1 if layer.axis is None else int(shape[-1])) + 1
    return total


def graph_weight_count(config: dict) -> int:
    """How many numbers building a functional config would allocate, computed from the
    layers' settings and shapes alone (so a tampered file is refused before it)."""
    from glassnet.layers import InputLayer, deserialize
    from glassnet.models.functional_config import _history_names

    shapes: dict[str, tuple] = {}
    total = 0
    for entry in config["layers"]:
        layer = deserialize(entry)
        name = entry.get("name") or layer.name
        if isinstance(layer, InputLayer):
            shapes[name] = layer._declared_input_shape
            continue
        nodes = entry.get("inbound_nodes") or [{}]
        args = nodes[0].get("args", [])
        inputs = [shapes[n] for n in _history_names(args)]
        if len(args) == 1 and isinstance(args[0], list):
            shapes[name] = layer.compute_output_shape(inputs)
        else:
            total += planned_weight_count(inputs[0], [layer])
            shapes[name] = layer.compute_output_shape(inputs[0])
    return total
