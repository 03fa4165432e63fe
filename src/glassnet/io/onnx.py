"""ONNX out: ``export_onnx(model, "model.onnx")`` writes a model onnxruntime runs alike.

Each layer becomes standard ONNX operators, for inference:

- Dense: ``MatMul`` + ``Add`` (no ``Add`` without a bias), then its activation;
- activations: ``Relu``, ``Sigmoid``, ``Tanh``, ``Softmax(axis=-1)``,
  ``LeakyRelu(alpha=0.2)``, ``Elu(alpha=1)``, ``Softplus``, silu as ``x * Sigmoid(x)``,
  gelu exactly as ``0.5 x (1 + erf(x / sqrt 2))`` (``Gelu`` from opset 20, else from
  ``Erf``), linear as nothing;
- Normalization: ``Sub`` the mean, ``Div`` by ``max(sqrt(variance), epsilon)``
  computed here once (``Mul``/``Add`` when ``invert``);
- Dropout: nothing (it is the identity at inference); Flatten: ``Flatten(axis=1)``;
- layers with an ``onnx_nodes(graph, x, scope)`` method write their own nodes:
  BatchNormalization as ``Mul``/``Add`` of its inference affine map, ReLU as
  ``Where(x > threshold, Min(x, max_value), slope (x - threshold))``, LeakyReLU as
  ``LeakyRelu(alpha=negative_slope)``, Softmax, Rescaling as ``Mul``/``Add``,
  GaussianNoise as nothing.

The batch axis is dynamic (``"batch"``). Initializers are named by Variable path
(``"hidden/kernel"``), and the model's metadata records glassnet's version, the
layers and the Variable paths. The model passes ``onnx.checker`` (full check, with
shape inference) before it is written, atomically.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from glassnet.errors import ConfigError, require

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax over one axis (-1) is opset 13 semantics


class _Graph:
    """Collects nodes and constants while layers are translated in order."""

    def __init__(self, helper, numpy_helper, dtype, opset):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype, self.opset = dtype, opset
        self.nodes, self.initializers = [], []
        self._count = 0

    def constant(self, name: str, value) -> str:
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name=name))
        return name

    def node(self, op: str, inputs: list[str], scope: str, **attributes) -> str:
        self._count += 1
        output = f"{scope}/{op}_{self._count}"
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output,
                                                **attributes))
        return output


def _activation(graph: _Graph, name: str, x: str, scope: str) -> str:
    if name == "linear":
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}
    if name in simple:
        return graph.node(simple[name], [x], scope)
    if name == "softmax":
        return graph.node("Softmax", [x], scope, axis=-1)
    if name == "leaky_relu":
        from glassnet.activations import LEAKY_RELU_SLOPE

        return graph.node("LeakyRelu", [x], scope, alpha=LEAKY_RELU_SLOPE)
    if name == "elu":
        from glassnet.activations import ELU_ALPHA

        return graph.node("Elu", [x], scope, alpha=ELU_ALPHA)
    if name == "silu":
        return graph.node("Mul", [x, graph.node("Sigmoid", [x], scope)], scope)
    if name == "gelu":
        if graph.opset >= 20:
            return graph.node("Gelu", [x], scope, approximate="none")
        scaled = graph.node("Div", [x, graph.constant(f"{scope}/sqrt2", math.sqrt(2.0))], scope)
        one_plus = graph.node("Add", [graph.node("Erf", [scaled], scope),
                                      graph.constant(f"{scope}/one", 1.0)], scope)
        half_x = graph.node("Mul", [x, graph.constant(f"{scope}/half", 0.5)], scope)
        return graph.node("Mul", [half_x, one_plus], scope)
    raise ConfigError(f"activation {name!r} has no ONNX translation")


def _layer(graph: _Graph, layer, x: str, input_rank: int) -> str:
    from glassnet import layers as gnlayers

    scope = layer.name
    declared = getattr(layer, "onnx_nodes", None)
    if declared is not None:  # the layer says its own translation (BatchNormalization...)
        return declared(graph, x, scope)
    if isinstance(layer, gnlayers.Dense):
        z = graph.node("MatMul", [x, graph.constant(layer.kernel.path, layer.kernel.value)],
                       scope)
        if layer.use_bias:
            z = graph.node("Add", [z, graph.constant(layer.bias.path, layer.bias.value)], scope)
        return _activation(graph, layer.activation_name, z, scope)
    if isinstance(layer, gnlayers.Activation):
        return _activation(graph, layer.activation_name, x, scope)
    if isinstance(layer, (gnlayers.Dropout, gnlayers.InputLayer)):
        return x
    if isinstance(layer, gnlayers.Flatten):
        return graph.node("Flatten", [x], scope, axis=1) if input_rank > 2 else x
    if isinstance(layer, gnlayers.Normalization):
        mean = graph.constant(layer.mean.path, layer.mean.value)
        denominator = graph.constant(f"{scope}/denominator", layer.denominator())
        if layer.invert:
            return graph.node("Add", [graph.node("Mul", [x, denominator], scope), mean], scope)
        return graph.node("Div", [graph.node("Sub", [x, mean], scope), denominator], scope)
    raise ConfigError(f"layer {layer.name!r} ({type(layer).__name__}) has no ONNX translation")


def to_onnx(model, opset: int = DEFAULT_OPSET, dtype="float32"):
    """The ``onnx.ModelProto`` for ``model`` (checked), without writing it."""
    onnx = require("onnx", "io")
    from onnx import TensorProto, helper, numpy_helper

    from glassnet import __version__

    model._require_built()
    if not model.is_chain:
        raise ConfigError(f"model {model.name!r} is a branched functional model; ONNX export "
                          f"translates chains of layers only")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ConfigError(f"ONNX opset must be an int from {MIN_OPSET} to {newest} (the newest "
                          f"this onnx knows), got {opset!r}")
    elements = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}
    if str(dtype) not in elements:
        raise ConfigError(f"ONNX export dtype must be 'float32' or 'float64', got {dtype!r}")
    elem, dtype = elements[str(dtype)], np.dtype(str(dtype))
    graph = _Graph(helper, numpy_helper, dtype, opset)
    shape = model.input_shape
    x = "input"
    for layer in model.layers:
        x = _layer(graph, layer, x, len(shape))
        shape = layer.compute_output_shape(shape)
    if x == "input" or graph.nodes[-1].output[0] != x:  # e.g. a model of Dropout alone
        x = graph.node("Identity", [x], "output")
    graph.nodes[-1].output[0] = "output"
    inputs = [helper.make_tensor_value_info("input", elem, ["batch", *model.input_shape[1:]])]
    outputs = [helper.make_tensor_value_info("output", elem, ["batch", *shape[1:]])]
    onnx_graph = helper.make_graph(graph.nodes, model.name, inputs, outputs,
                                   initializer=graph.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="glassnet",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    proto.doc_string = f"glassnet model {model.name!r}, exported for inference"
    helper.set_model_props(proto, {
        "glassnet_version": __version__,
        "model_name": model.name,
        "layers": json.dumps([{"name": layer.name, "class": type(layer).__name__}
                              for layer in model.layers]),
        "layer_paths": json.dumps([v.path for v in model.weights]),
    })
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, opset: int = DEFAULT_OPSET, dtype="float32") -> None:
    """Write ``model`` as an ONNX file at ``path`` (atomically), for onnxruntime and others.

    ``opset`` is the ONNX operator set version, from 13 up; gelu uses the ``Gelu``
    operator from opset 20 and is built from ``Erf`` below it. The file computes in
    ``dtype``: float32 by default, whatever the model's floatx, because
    onnxruntime's CPU kernels for Erf, Elu and Softplus exist in float32 only.
    """
    from glassnet.io.native import atomic_write

    data = to_onnx(model, opset=opset, dtype=dtype).SerializeToString()
    with atomic_write(Path(path)) as tmp:
        tmp.write_bytes(data)
