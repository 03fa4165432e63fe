"""The functional API: ``Input`` tensors, layers called on them, and ``Model(inputs, outputs)``.

Calling a layer on a :class:`KerasTensor` records a :class:`Node`
(``glassnet.models.symbolic``). ``Model`` walks back from its outputs to collect the
nodes in the order they were made, which is a topological order; what it shares with
Sequential (weights, compile, fit, files) is ``ModelBase``. Forward runs the nodes in that
order, each layer keeping what its backward pass needs as in a Sequential; backward
runs them in reverse and sums the gradients of a tensor that feeds several layers.

A model whose nodes form a plain chain (one input each, each fed by the one before)
trains through the Sequential trainer itself, fused SGD and all; only branched
graphs take :class:`GraphTrainer`'s path.
"""

from __future__ import annotations

from abc import ABCMeta

import numpy as np

from glassnet.errors import ConfigError, ShapeError
from glassnet.layers.base import InputLayer, Layer, unique_name
from glassnet.models.base import ModelBase
from glassnet.models.sequential import Sequential
from glassnet.models.symbolic import (
    KerasTensor,
    Node,
    _as_single,
    _as_tensors,
    _nodes_between,
    input_tensor,
    is_symbolic,
    symbolic_call,
)


class Model(ModelBase, Layer, metaclass=ABCMeta):
    """A model of layers called on tensors: ``Model(inputs=inputs, outputs=outputs)``.

    ``layers`` lists the InputLayer and every layer in the order they were called,
    as Keras does. It trains, evaluates, predicts, saves and inspects as a Sequential
    does, and can itself be a layer of a Sequential or of another Model.
    """

    #: Keras's class name for a functional model in configs and JSON.
    serialized_class_name = "Functional"

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if inputs is None or outputs is None:
            raise ConfigError("Model(inputs=..., outputs=...) builds a functional model; "
                              "subclassing Model is not supported: use Sequential([...]) "
                              "or the functional API")
        Layer.__init__(self, name=name or unique_name("functional"), trainable=trainable,
                       **kwargs)
        self._inputs = _as_tensors(inputs, "input")
        # Keras 3 takes outputs as a dict too (keras.io's functional guide): its keys
        # name the outputs in compile, fit and the logs, in sorted order (Keras's
        # flattening); predict and calling the model then return a dict.
        self._output_keys = list(outputs) if isinstance(outputs, dict) else None
        self._outputs = _as_tensors([outputs[k] for k in sorted(outputs)] if isinstance(
            outputs, dict) else outputs, "output")
        self._input, self._output = self._inputs[0], self._outputs[0]
        for tensor in self._inputs:
            if not isinstance(tensor.node.layer, InputLayer):
                raise ConfigError(f"Model inputs must come from keras.Input, got the output "
                                  f"of layer {tensor.node.layer.name!r}")
        self._nodes = _nodes_between(self._inputs, self._outputs)
        input_nodes = {id(t.node) for t in self._inputs}
        # The layer calls that compute something (every node but the model's Inputs).
        self._compute_nodes = [n for n in self._nodes if id(n) not in input_nodes]
        self._layers = [node.layer for node in self._nodes]
        names = [layer.name for layer in self._layers]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"layer names must be unique in a model: {repeated[0]!r} is "
                              f"used {names.count(repeated[0])} times")
        self._graph_node = None
        # Several inputs or outputs take the graph's path: the packed form below.
        self.is_chain = not (self.multi_input or self.multi_output) and all(
            len(n.inputs) == 1 and not n.takes_list and n.inputs[0] is p.output
            for p, n in zip(self._nodes, self._nodes[1:]))
        self._input_shape = (self._input.shape if not self.multi_input
                             else [t.shape for t in self._inputs])
        self._declared_input_shape = self._input_shape  # as a Sequential's first layer
        self._init_compile_state()
        self.built = True
        self._flatten_variables()

    @property
    def input_shape(self):
        return self._input_shape

    @input_shape.setter
    def input_shape(self, shape):  # Layer.__init__ assigns it; the graph then fixes it
        self._input_shape = None if shape is None else tuple(shape)

    # -- the graph ---------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """The layer calls, in an order where each comes after the calls it reads."""
        return list(self._nodes)

    @property
    def multi_input(self) -> bool:
        return len(self._inputs) > 1

    @property
    def multi_output(self) -> bool:
        return len(self._outputs) > 1

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self):
        return self._input if not self.multi_input else list(self._inputs)

    @property
    def output(self):
        return self._output if not self.multi_output else list(self._outputs)

    @property
    def output_shape(self):
        if self.multi_output:
            return [t.shape for t in self._outputs]
        return self._output.shape

    @property
    def packed_output_shape(self) -> tuple:
        """The shape of what ``infer`` returns: several outputs side by side, flattened."""
        if not self.multi_output:
            return self._output.shape
        return (None, sum(_features(t) for t in self._outputs))

    @property
    def output_names(self) -> list[str]:
        return [t.node.layer.name for t in self._outputs]

    @property
    def output_keys(self) -> list[str]:
        """The names compile, fit and the logs know the outputs by: a dict's sorted keys
        for ``Model(outputs={...})``, else the output layers' names."""
        return sorted(self._output_keys) if self._output_keys else self.output_names

    def structure_outputs(self, values: list):
        """Per-output values as the model was given its outputs: a dict by key for
        ``outputs={...}`` (Keras's), else the list (or the one value)."""
        if self._output_keys:
            return dict(zip(self.output_keys, values, strict=True))
        return values if self.multi_output else values[0]

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self._inputs]

    def inbound_layers(self, layer_name: str) -> list[str]:
        """Names of the layers whose outputs ``layer_name`` reads ([] for the input)."""
        return self.get_node(layer_name).input_names

    def get_node(self, layer_name: str) -> Node:
        return self.get_layer(layer_name)._graph_node

    def output_shapes(self) -> dict[str, tuple]:
        """``{layer name: output shape}`` for every layer, for summaries."""
        return {node.layer.name: node.output.shape for node in self._nodes}

    # -- as a layer --------------------------------------------------------------------
    def weights_and_biases(self):
        """Its layers' weights and biases together (a nested model's summary row)."""
        kernels, biases = [], []
        for layer in self._layers:
            k, b = layer.weights_and_biases()
            kernels += k
            biases += b
        return kernels, biases

    def build(self, input_shape=None) -> None:
        if self.multi_input or self.multi_output:
            raise ConfigError(f"model {self.name!r} has several inputs or outputs; glassnet "
                              f"cannot use it as a layer of another model yet")
        if input_shape is not None and tuple(input_shape[1:]) != tuple(self._input_shape[1:]):
            raise ShapeError(f"model {self.name!r} takes input {self._input_shape}, got "
                             f"{tuple(input_shape)}")

    def compute_output_shape(self, input_shape):
        self.build(input_shape)
        return (input_shape[0],) + tuple(self._output.shape[1:])

    def __call__(self, x, training: bool = False):
        if is_symbolic(x) or (isinstance(x, list) and x and is_symbolic(x[0])):
            return symbolic_call(self, _as_single(x, "input"))
        from glassnet.tensor import Tensor

        outputs = self.predict(x)
        if isinstance(outputs, dict):
            return {key: out.view(Tensor) for key, out in outputs.items()}
        if not self.multi_output:
            return outputs.view(Tensor)  # answers .numpy(), as TF
        return [out.view(Tensor) for out in outputs]

    # -- several inputs and outputs: one packed array each way ---------------------------
    # fit, evaluate and predict batch and shuffle one array of rows; a model with several
    # inputs takes them side by side (each flattened) in one such array and splits it in
    # forward, so all of that runs unchanged. Several outputs come back the same way.
    def pack_inputs(self, x, name: str = "x") -> np.ndarray:
        """``x`` (a list of arrays in input order, or a dict by input name) as one array."""
        from glassnet.models.multi_io import pack_inputs

        return pack_inputs(self, x, name)

    def unpack_outputs(self, packed: np.ndarray) -> list[np.ndarray]:
        """The list of outputs (Keras's order) held side by side in ``packed``."""
        parts, start = [], 0
        for tensor in self._outputs:
            stop = start + _features(tensor)
            parts.append(packed[:, start:stop].reshape((-1,) + tuple(tensor.shape[1:])))
            start = stop
        return parts

    def _split_inputs(self, x) -> dict[int, np.ndarray]:
        if not self.multi_input:
            return {id(self._input): x}
        values, start = {}, 0
        for tensor in self._inputs:
            stop = start + _features(tensor)
            values[id(tensor)] = np.ascontiguousarray(
                x[:, start:stop]).reshape((-1,) + tuple(tensor.shape[1:]))
            start = stop
        return values

    def forward(self, x, training: bool = False, keep=None):
        """The output for ``x`` (packed, with several inputs); a list with several."""
        values = self._split_inputs(x)
        for node in self._compute_nodes:
            args = [values[id(t)] for t in node.inputs]
            values[id(node.output)] = node.layer.forward(
                args if node.takes_list else args[0], training=training, keep=keep)
        if self.multi_output:
            return [values[id(t)] for t in self._outputs]
        return values[id(self._output)]

    def backward(self, dy, need_dx: bool = True):
        if self.multi_input or self.multi_output:
            raise ConfigError(f"model {self.name!r} has several inputs or outputs: its "
                              f"backward runs only inside its own fit")
        grads = {id(self._output): dy}
        self.backward_nodes(grads, self._compute_nodes, need_dx)
        return grads.get(id(self._input)) if need_dx else None

    def backward_nodes(self, grads: dict, nodes: list[Node], need_input_grad: bool = False,
                       upstream: dict | None = None, timing: dict | None = None) -> None:
        """Backward through ``nodes`` (reversed), from ``grads`` {id(tensor): dL/dtensor};
        the gradient of a tensor that feeds several layers is the sum of theirs."""
        import time

        upstream = upstream if upstream is not None else self._upstream_trainable()
        for node in reversed(nodes):
            grad = grads.pop(id(node.output), None)
            if grad is None:  # this output does not reach the loss
                continue
            need = need_input_grad or any(upstream[id(t)] for t in node.inputs)
            start = time.perf_counter() if timing is not None else 0.0
            dx = node.layer.backward(grad, need)
            if timing is not None:
                timing[node.layer.name] = time.perf_counter() - start
            if not need:
                continue
            for tensor, part in zip(node.inputs, dx if node.takes_list else [dx]):
                key = id(tensor)
                grads[key] = part if key not in grads else grads[key] + part

    def _upstream_trainable(self) -> dict[int, bool]:
        """For each tensor: whether a trainable weight lies between the input and it."""
        trainable = {id(v) for v in self.trainable_variables}
        upstream = {id(t): False for t in self._inputs}
        for node in self._compute_nodes:
            upstream[id(node.output)] = any(upstream[id(t)] for t in node.inputs) or any(
                id(v) in trainable for v in node.layer.weights)
        return upstream

    def _get_trainer(self):
        if self._trainer is None:
            from glassnet._engine.graph_training import GraphTrainer
            from glassnet._engine.training import Trainer

            self._trainer = Trainer(self) if self.is_chain else GraphTrainer(self)
        return self._trainer

    def infer(self, x) -> np.ndarray:
        """Inference through the graph (the trainer's ``predict`` asks for it); several
        outputs come back side by side, flattened (``unpack_outputs`` splits them)."""
        out = self.forward(x, training=False)
        if not self.multi_output:
            return out
        return np.concatenate([o.reshape(len(o), -1) for o in out], axis=1)

    # -- config ------------------------------------------------------------------------
    def get_config(self) -> dict:
        from glassnet.models.functional_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Model:
        from glassnet.models.functional_config import functional_from_config

        return functional_from_config(config)

    def __repr__(self) -> str:
        return (f"<Model name={self.name!r} layers={len(self._layers)} "
                f"{'chain' if self.is_chain else 'graph'}>")


Model.register(Sequential)  # isinstance(Sequential(...), Model), as in Keras


def _features(tensor: KerasTensor) -> int:
    """How many numbers one sample of ``tensor`` holds."""
    return int(np.prod(tensor.shape[1:], dtype=np.int64))


__all__ = ["KerasTensor", "Model", "Node", "input_tensor", "is_symbolic", "symbolic_call"]
