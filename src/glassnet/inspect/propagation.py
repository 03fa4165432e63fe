"""Forward and backward propagation written out layer by layer, in float64, keeping every number.

The engine's training loop reuses buffers and fuses steps for speed; inspection wants
the opposite: every x, z, a, dz, dW and db of every layer kept and in full precision.
This module recomputes them from the layers' current weights with the textbook
formulas (z = xW + b, a = g(z); dz = da * g'(z), dW = xᵀdz, db = Σ dz, dx = dz Wᵀ),
so it is also an independent check of the engine's own backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.errors import ConfigError, NotBuiltError, NotCompiledError
from glassnet.losses import _reduce


@dataclass
class LayerPass:
    """One layer's numbers for a batch: inputs, weights, pre-activation, output, gradients."""

    name: str
    kind: str                   # "Dense", "Activation", "Dropout", "Flatten", "Normalization"
    activation: str | None
    x: np.ndarray               # (n_samples, n_in)
    a: np.ndarray               # (n_samples, n_out)
    z: np.ndarray | None = None  # pre-activation (Dense, Activation)
    W: np.ndarray | None = None
    b: np.ndarray | None = None
    da: np.ndarray | None = None
    dz: np.ndarray | None = None
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)  # passes this one reads; -1 is the input


def require_one_input_and_output(model, what: str) -> None:
    """Refuse, by name, a functional model with several inputs or outputs."""
    if getattr(model, "multi_input", False) or getattr(model, "multi_output", False):
        ins, outs = len(model.inputs), len(model.outputs)
        raise ConfigError(f"model {model.name!r} has {ins} input{'s' * (ins != 1)} and "
                          f"{outs} output{'s' * (outs != 1)}; {what} follows models of one "
                          f"input and one output (branches and merges between them are "
                          f"fine); glassnet.inspect.gradients works on it")


def forward(model, x) -> list[LayerPass]:
    """Run ``x`` through every layer in inference mode (Dropout off); keep every number.

    A functional model's layers are visited in graph order, a nested model's layers
    in place of it; each pass's ``sources`` lists the passes it reads (-1: the input).
    """
    if not getattr(model, "built", False):
        raise NotBuiltError(f"model {model.name!r} is not built: give it an Input or call it "
                            f"on data before inspecting it")
    require_one_input_and_output(model, "the layer-by-layer trace")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1) if model.input_shape[-1] == x.shape[0] else x.reshape(-1, 1)
    passes: list[LayerPass] = []
    _forward_model(model, x, -1, passes)
    return passes


def _forward_model(model, x, source: int, passes: list[LayerPass]) -> tuple[np.ndarray, int]:
    """Append the passes of ``model`` on ``x`` (made by pass ``source``); return its
    output and the index of the pass that made it."""
    nodes = getattr(model, "nodes", None)
    if nodes is None:  # a Sequential: each layer reads the one before
        for layer in model.layers:
            x, source = _forward_layer(layer, [x], [source], passes, False)
        return x, source
    made = {id(nodes[0].output): (x, source)}
    for node in nodes[1:]:
        inputs = [made[id(t)] for t in node.inputs]
        made[id(node.output)] = _forward_layer(node.layer, [v for v, _ in inputs],
                                               [i for _, i in inputs], passes,
                                               node.takes_list)
    return made[id(nodes[-1].output)]


def _forward_layer(layer, inputs, sources, passes, takes_list) -> tuple[np.ndarray, int]:
    if hasattr(layer, "nodes"):  # a model nested as a layer: its layers, in place
        return _forward_model(layer, inputs[0], sources[0], passes)
    if takes_list:  # a merge layer computes from the list (its merge() is stateless)
        a = np.asarray(layer.merge(inputs), dtype=np.float64)
        p = LayerPass(layer.name, type(layer).__name__, None, np.concatenate(inputs, -1), a,
                      extra={"inputs": inputs})
    else:
        p = _single_pass(layer, inputs[0])
    p.sources = list(sources)
    passes.append(p)
    return p.a, len(passes) - 1


def _single_pass(layer, x) -> LayerPass:
    kind = type(layer).__name__
    trace_forward = getattr(layer, "trace_forward", None)
    if trace_forward is not None:
        # The layer writes out its own textbook math (BatchNormalization, ReLU...).
        a, extra = trace_forward(x)
        return LayerPass(layer.name, kind, getattr(layer, "activation_name", None), x, a,
                         extra={**extra, "traced": True})
    if kind == "Dense":
        W = layer.kernel.value.astype(np.float64)
        b = layer.bias.value.astype(np.float64) if layer.bias is not None else None
        z = x @ W if b is None else x @ W + b
        a = _activate(layer.activation, z)
        return LayerPass(layer.name, kind, layer.activation_name, x, a, z, W, b)
    if kind == "Activation":
        a = _activate(layer.activation, x)
        return LayerPass(layer.name, kind, layer.activation_name, x, a, z=x)
    if kind in ("Dropout", "InputLayer"):
        return LayerPass(layer.name, kind, None, x, x)
    if kind == "Flatten":
        return LayerPass(layer.name, kind, None, x, x.reshape(x.shape[0], -1))
    if kind == "Normalization":
        scale = np.asarray(layer._denominator(), dtype=np.float64)
        mean = layer.mean.value.astype(np.float64)
        a = x * scale + mean if layer.invert else (x - mean) / scale
        return LayerPass(layer.name, kind, None, x, a, extra={"scale": scale})
    raise ConfigError(f"inspection supports Dense, Activation, Dropout, Flatten, "
                      f"Normalization, Add and Concatenate layers; layer {layer.name!r} is "
                      f"a {kind}")


def output_gradient(model, passes: list[LayerPass], y, sample_weight=None) -> tuple[float, bool]:
    """Loss of the last output against ``y``; fill the last pass's ``dz`` (fused) or ``da``.

    Returns ``(loss, fused)``. As in the engine, sigmoid/softmax + cross-entropy give
    dL/dz = w (p - y) / n directly; any other pair goes through dL/da then g'(z).
    """
    loss = getattr(model, "loss", None)
    if loss is None:
        raise NotCompiledError(f"model {model.name!r} has no loss: compile it (or pass "
                               f"loss=) before tracing the backward pass")
    last = passes[-1]
    output = last.a
    targets = loss.prepare_targets(np.asarray(y), output.shape)
    if targets.dtype.kind == "f":
        targets = targets.astype(np.float64)
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(-1)
    value = _reduce(loss.per_sample(targets, output), weights)
    value += sum(float(v.regularizer.penalty(v.value)) for v in model.weights
                 if v.regularizer is not None)
    wanted = loss.fuses_with
    if wanted is not None and loss.from_logits:
        wanted = "linear"
    if wanted is not None and last.kind == "Dense" and last.activation == wanted:
        dz = np.empty_like(output)
        loss.fused_value_and_grad(targets, output, weights, dz)
        last.dz = dz
        return value, True
    last.da = np.asarray(loss.gradient(targets, output, weights), dtype=np.float64)
    return value, False


def backward(model, passes: list[LayerPass]) -> np.ndarray:
    """Propagate the last pass's ``dz`` or ``da`` back to the input; return dL/dx.

    Fills ``da, dz, dW, db`` of every Dense pass (regularizer gradients included, as the
    engine does) and ``da``/``dz`` of the others. Where a pass feeds several others,
    its ``da`` is the sum of the gradients they send back.
    """
    layers = _layers_by_name(model)
    arriving: dict[int, np.ndarray] = {}
    for i in range(len(passes) - 1, -1, -1):
        p = passes[i]
        if p.dz is None and p.da is None:
            p.da = arriving.pop(i, None)
            if p.da is None:  # this pass does not reach the loss
                continue
        layer = layers[p.name]
        if p.extra.get("traced"):  # the layer writes out its own backward math
            grad, p.extra["grads"] = layer.trace_backward(p.x, p.a, p.da, p.extra)
            for source in p.sources or [i - 1]:
                arriving[source] = grad if source not in arriving else arriving[source] + grad
            continue
        if p.dz is None and p.kind in ("Dense", "Activation"):
            p.dz = _derivative(layer.activation, p.z, p.a, p.da)
        if p.kind == "Dense":
            p.dW = p.x.T @ p.dz
            if layer.kernel.regularizer is not None:
                p.dW += _regularizer_gradient(layer.kernel)
            if p.b is not None:
                p.db = p.dz.sum(axis=0)
                if layer.bias.regularizer is not None:
                    p.db += _regularizer_gradient(layer.bias)
            grads = [p.dz @ p.W.T]
        elif p.kind == "Activation":
            grads = [p.dz]
        elif "inputs" in p.extra:  # a merge layer: one gradient per input
            grads = layer.split_gradient(p.extra["inputs"], p.da)
        elif p.kind == "Flatten":
            grads = [p.da.reshape(p.x.shape)]
        elif p.kind == "Normalization":
            grads = [p.da * p.extra["scale"] if layer.invert else p.da / p.extra["scale"]]
        else:
            grads = [p.da]
        for source, grad in zip(p.sources or [i - 1], grads):
            arriving[source] = grad if source not in arriving else arriving[source] + grad
    return arriving.get(-1)


def _layers_by_name(model) -> dict:
    """Every layer of ``model`` by name, a nested model's layers included."""
    found = {}
    for layer in model.layers:
        if hasattr(layer, "nodes") or hasattr(layer, "_layers"):
            found.update(_layers_by_name(layer))
        found[layer.name] = layer
    return found


def _activate(activation, z: np.ndarray) -> np.ndarray:
    return activation.forward(z, np.empty_like(z))


def _derivative(activation, z, a, da) -> np.ndarray:
    return activation.backward(z, a, da, np.empty_like(da))


def _regularizer_gradient(variable) -> np.ndarray:
    value = variable.value.astype(np.float64)
    grad = np.zeros_like(value)
    variable.regularizer.add_gradient(value, grad)
    return grad
