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


def forward(model, x) -> list[LayerPass]:
    """Run ``x`` through every layer in inference mode (Dropout off); keep every number."""
    if not getattr(model, "built", False):
        raise NotBuiltError(f"model {model.name!r} is not built: give it an Input or call it "
                            f"on data before inspecting it")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1) if model.input_shape[-1] == x.shape[0] else x.reshape(-1, 1)
    passes = []
    for layer in model.layers:
        kind = type(layer).__name__
        trace_forward = getattr(layer, "trace_forward", None)
        if trace_forward is not None:
            # The layer writes out its own textbook math (BatchNormalization, ReLU...).
            a, extra = trace_forward(x)
            passes.append(LayerPass(layer.name, kind, getattr(layer, "activation_name", None),
                                    x, a, extra={**extra, "traced": True}))
        elif kind == "Dense":
            W = layer.kernel.value.astype(np.float64)
            b = layer.bias.value.astype(np.float64) if layer.bias is not None else None
            z = x @ W if b is None else x @ W + b
            a = _activate(layer.activation, z)
            passes.append(LayerPass(layer.name, kind, layer.activation_name, x, a, z, W, b))
        elif kind == "Activation":
            a = _activate(layer.activation, x)
            passes.append(LayerPass(layer.name, kind, layer.activation_name, x, a, z=x))
        elif kind in ("Dropout", "InputLayer"):
            passes.append(LayerPass(layer.name, kind, None, x, x))
        elif kind == "Flatten":
            passes.append(LayerPass(layer.name, kind, None, x, x.reshape(x.shape[0], -1)))
        elif kind == "Normalization":
            scale = np.asarray(layer._denominator(), dtype=np.float64)
            mean = layer.mean.value.astype(np.float64)
            a = x * scale + mean if layer.invert else (x - mean) / scale
            passes.append(LayerPass(layer.name, kind, None, x, a, extra={"scale": scale}))
        else:
            raise ConfigError(f"inspection supports Dense, Activation, Dropout, Flatten and "
                              f"Normalization layers; layer {layer.name!r} is a {kind}")
        x = passes[-1].a
    return passes


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
    engine does) and ``da``/``dz`` of the others.
    """
    layers = {layer.name: layer for layer in model.layers}
    grad = None
    for i in range(len(passes) - 1, -1, -1):
        p = passes[i]
        if p.extra.get("traced"):
            if p.da is None:
                p.da = grad
            grad, p.extra["grads"] = layers[p.name].trace_backward(p.x, p.a, p.da, p.extra)
            continue
        if p.dz is None:
            if p.da is None:
                p.da = grad
            if p.kind in ("Dense", "Activation"):
                p.dz = _derivative(layers[p.name].activation, p.z, p.a, p.da)
        if p.kind == "Dense":
            p.dW = p.x.T @ p.dz
            layer = layers[p.name]
            if layer.kernel.regularizer is not None:
                p.dW += _regularizer_gradient(layer.kernel)
            if p.b is not None:
                p.db = p.dz.sum(axis=0)
                if layer.bias.regularizer is not None:
                    p.db += _regularizer_gradient(layer.bias)
            grad = p.dz @ p.W.T
        elif p.kind == "Activation":
            grad = p.dz
        elif p.kind == "Flatten":
            grad = p.da.reshape(p.x.shape)
        elif p.kind == "Normalization":
            grad = p.da * p.extra["scale"] if layers[p.name].invert else p.da / p.extra["scale"]
        else:
            grad = p.da
    return grad


def _activate(activation, z: np.ndarray) -> np.ndarray:
    return activation.forward(z, np.empty_like(z))


def _derivative(activation, z, a, da) -> np.ndarray:
    return activation.backward(z, a, da, np.empty_like(da))


def _regularizer_gradient(variable) -> np.ndarray:
    value = variable.value.astype(np.float64)
    grad = np.zeros_like(value)
    variable.regularizer.add_gradient(value, grad)
    return grad
