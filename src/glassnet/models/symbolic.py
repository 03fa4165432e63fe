"""The functional API's symbolic side: ``KerasTensor``, ``Node``, and calling a layer on them.

Calling a layer on a :class:`KerasTensor` computes nothing: it builds the layer for
the tensor's shape and records a :class:`Node` (the layer, its input tensors, its
output tensor). ``Model`` (``glassnet.models.functional``) walks back from its outputs
to collect the nodes in the order they were made, which is a topological order.
"""

from __future__ import annotations

import itertools

import numpy as np

from glassnet.errors import ConfigError, ShapeError, ValueTypeError
from glassnet.layers.base import InputLayer, Layer

_node_counter = itertools.count()


class KerasTensor:
    """A symbolic tensor: the shape (None, ...) of what a layer will output, and its origin."""

    def __init__(self, shape, dtype, node: Node):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        # Keras's name for (layer, node index, tensor index); each layer here has one node.
        self._keras_history = (node.layer, 0, 0)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self.shape} dtype={self.dtype.name} "
                f"from={self.node.layer.name!r}>")

    def __array__(self, dtype=None, copy=None):
        raise ValueTypeError(f"{self!r} is symbolic: it has no values until a Model built "
                             f"from it is called on data")


class Node:
    """One call of a layer in a graph: ``output = layer(inputs)``."""

    def __init__(self, layer: Layer, inputs: list[KerasTensor], takes_list: bool):
        self.layer = layer
        self.inputs = inputs
        self.takes_list = takes_list
        self.order = next(_node_counter)
        self.output: KerasTensor | None = None

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]


def is_symbolic(x) -> bool:
    return isinstance(x, KerasTensor)


def input_tensor(layer: InputLayer) -> KerasTensor:
    """The tensor ``keras.Input`` returns: the output of an InputLayer's node."""
    node = Node(layer, [], takes_list=False)
    layer.built = True
    layer.input_shape = layer._declared_input_shape
    node.output = KerasTensor((None,) + layer.shape, layer.dtype, node)
    layer._graph_node = node
    return node.output


def symbolic_call(layer: Layer, x) -> KerasTensor:
    """Record ``layer(x)`` for a KerasTensor (or, for merge layers, a list of them)."""
    takes_list = isinstance(x, list)
    inputs = x if takes_list else [x]
    if not all(is_symbolic(t) for t in inputs):
        raise ValueTypeError(f"layer {layer.name!r} got a mix of symbolic tensors and "
                             f"arrays: pass only keras.Input-derived tensors")
    if getattr(layer, "_graph_node", None) is not None:
        raise ConfigError(f"layer {layer.name!r} is already called in a graph; glassnet "
                          f"does not share a layer between calls: make a second layer")
    shapes = [t.shape for t in inputs]
    shape = shapes if takes_list else shapes[0]
    if not layer.built:
        layer.build(shape)
    elif not takes_list and tuple(layer.input_shape[1:]) != tuple(shape[1:]):
        raise ShapeError(f"layer {layer.name!r} was built for input {layer.input_shape}, "
                         f"but is called on {shape}")
    node = Node(layer, inputs, takes_list)
    node.output = KerasTensor(layer.compute_output_shape(shape), layer.dtype, node)
    layer._graph_node = node
    return node.output


def _as_single(tensors, what: str) -> KerasTensor:
    if isinstance(tensors, (list, tuple)):
        if len(tensors) != 1:
            raise ConfigError(f"glassnet models have one {what} for now; got {len(tensors)}")
        tensors = tensors[0]
    if isinstance(tensors, dict):
        raise ConfigError(f"glassnet models take one {what} tensor, not a dict")
    if not is_symbolic(tensors):
        raise ValueTypeError(f"Model {what} must be a KerasTensor (from keras.Input and "
                             f"layer calls), got {type(tensors).__name__}")
    return tensors


def _as_tensors(tensors, what: str) -> list[KerasTensor]:
    """The model's inputs or outputs as a list: one tensor, or a list or tuple of them."""
    if isinstance(tensors, dict):
        raise ConfigError(f"glassnet models take their {what}s as a tensor or a list of "
                          f"tensors, not a dict")
    listed = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if not listed:
        raise ConfigError(f"a Model needs at least one {what}, got an empty list")
    for tensor in listed:
        if not is_symbolic(tensor):
            raise ValueTypeError(f"Model {what}s must be KerasTensors (from keras.Input "
                                 f"and layer calls), got {type(tensor).__name__}")
    if len({id(t) for t in listed}) != len(listed):
        raise ConfigError(f"the same tensor is given twice as a model {what}")
    return listed


def _nodes_between(starts: list[KerasTensor], ends: list[KerasTensor]) -> list[Node]:
    """The nodes ``ends`` depend on, in creation order; every path must begin at one of
    ``starts``, and every start must be used."""
    seen: dict[int, Node] = {}
    start_nodes = {id(t.node) for t in starts}
    stack = [t.node for t in ends]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        if not node.inputs and id(node) not in start_nodes:
            names = [t.node.layer.name for t in starts]
            raise ConfigError(f"the model's output depends on Input {node.layer.name!r}, "
                              f"which is not among the model's inputs {names}")
        stack.extend(t.node for t in node.inputs)
    for start in starts:
        if id(start.node) not in seen:
            raise ConfigError(f"the model's outputs do not depend on its input "
                              f"{start.node.layer.name!r}")
    return sorted(seen.values(), key=lambda node: node.order)


__all__ = ["KerasTensor", "Node", "input_tensor", "is_symbolic", "symbolic_call"]
