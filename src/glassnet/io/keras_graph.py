"""How Keras 3 walks a functional or nested model when it saves one, for files both ways.

Keras names each layer's group in a weights file by its class and its position in
``model.layers`` (``dense``, ``dense_1``...), and a nested model's layers sit under
its own group (``layers/functional/layers/dense/vars/0``). So reading or writing a
Keras file needs the order in which Keras lists the layers, which for a functional
model is not the order they were called: Keras (``ops.function.map_graph``) sorts
them by depth (the longest path to the output, deepest first) and, within a depth,
by when a depth-first walk back from the output first met them. ``keras_layers``
computes that order for a glassnet model; ``keras_groups`` pairs each layer with its
group name; ``keras_trainable_order`` gives the order of the trainable Variables
(the order of Keras's optimizer slots).
"""

from __future__ import annotations

from glassnet._engine.resolve import snake_case


def is_model(layer) -> bool:
    """A Sequential or functional Model (a layer that holds layers)."""
    from glassnet.models.functional import Model

    return isinstance(layer, Model)


def keras_class_name(layer) -> str:
    """The class Keras knows the layer as (a functional Model is ``Functional``; one read
    from a Sequential nested in a Keras model is a ``Sequential``)."""
    if getattr(layer, "keras_sequential", False):
        return "Sequential"
    return getattr(layer, "serialized_class_name", type(layer).__name__)


def keras_layers(model) -> list:
    """``model.layers`` as Keras 3 orders them (a functional model's InputLayer included)."""
    nodes = getattr(model, "nodes", None)
    if nodes is None:
        return list(model.layers)
    if getattr(model, "keras_sequential", False):  # Keras's Sequential lists no InputLayer
        return [node.layer for node in nodes[1:]]
    # Depth-first from each output in turn (as Keras's ``_build_map``), without
    # recursion (a long chain must not overflow): ``first_seen`` is Keras's traversal
    # index, ``finished`` its post-order; a node reached from an earlier output is done.
    first_seen: dict[int, int] = {}
    finished: list = []
    done: set[int] = set()
    for tensor in model.outputs:
        _walk_back(tensor.node, first_seen, finished, done)
    depth: dict[int, int] = {}
    for node in reversed(finished):
        here = depth.setdefault(id(node), 0)
        for tensor in node.inputs:
            depth[id(tensor.node)] = max(here + 1, depth.get(id(tensor.node), 0))
    ordered = sorted(finished, key=lambda n: (-depth[id(n)], first_seen[id(n)]))
    return [node.layer for node in ordered]


def _walk_back(output, first_seen: dict, finished: list, done: set) -> None:
    """Keras's depth-first walk from one output node back to the inputs."""
    if id(output) in done:
        return
    first_seen.setdefault(id(output), len(first_seen))
    stack = [(output, iter(output.inputs))]
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            done.add(id(node))
            finished.append(node)
            continue
        parent = child.node
        if id(parent) in done or any(parent is entry for entry, _ in stack):
            continue
        first_seen.setdefault(id(parent), len(first_seen))
        stack.append((parent, iter(parent.inputs)))


def keras_groups(model) -> list[tuple[str, object]]:
    """(group name in ``layers/``, layer) for each layer, in Keras's order."""
    used: dict[str, int] = {}
    groups = []
    for layer in keras_layers(model):
        base = snake_case(keras_class_name(layer))
        if base in used:
            used[base] += 1
            groups.append((f"{base}_{used[base]}", layer))
        else:
            used[base] = 0
            groups.append((base, layer))
    return groups


def _leaf_layers(model) -> list:
    leaves = []
    for layer in keras_layers(model):
        leaves += _leaf_layers(layer) if is_model(layer) else [layer]
    return leaves


def keras_trainable_order(model) -> list[int]:
    """Indices into ``model.trainable_variables`` in Keras's order of them."""
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    order = [index[id(v)] for layer in _leaf_layers(model) for v in layer.weights
             if id(v) in index]
    if sorted(order) != list(range(len(index))):  # every trainable Variable exactly once
        raise ValueError(f"model {model.name!r}: its layers do not hold its trainable "
                         f"variables once each")
    return order
