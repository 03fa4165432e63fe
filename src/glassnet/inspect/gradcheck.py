"""Gradients of the loss for every weight and bias, and their check against finite differences.

``gradients(model, X, y)`` asks the engine itself (the same forward and backward pass
``fit`` uses). ``check_gradients`` compares those analytic gradients with central
differences (L(w + ε) − L(w − ε)) / 2ε on a float64 copy of the model, so a float32
model is neither disturbed nor judged with float32 round-off.
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.table import Table
from glassnet.errors import ConfigError, NotCompiledError

# Relative error below which analytic and numeric gradients agree, in float64 with
# ε = 1e-6 (the truncation error is O(ε²), the round-off O(1e-16 / ε)).
TOLERANCE = 1e-6


def _require_loss(model) -> None:
    if getattr(model, "loss", None) is None:
        raise NotCompiledError(f"model {model.name!r} has no loss: compile it before asking "
                               f"for gradients")


def gradients(model, X, y, sample_weight=None) -> dict[str, np.ndarray]:
    """The gradient of the loss for every trainable Variable, by path: ``{"dense/kernel": dW}``.

    Computed by the engine's own training-mode forward and backward pass on all of
    ``X`` at once (regularizer penalties included); the model's weights are unchanged.
    """
    from glassnet._engine.prepare import _prepare_sample_weight, _prepare_x, _prepare_y

    _require_loss(model)
    x = _prepare_x(model, X)
    model._flatten_variables()
    targets = _prepare_y(model, y)
    weights = _prepare_sample_weight(sample_weight, None, targets, x.shape[0])
    trainer = model._get_trainer()
    output = trainer.forward(x)
    trainer.loss_and_backward(targets, weights, output)
    return {v.path: np.array(v.grad, copy=True) for v in model.trainable_variables}


def float64_copy(model):
    """A new model with the same layers, weights, loss and optimizer settings, in float64."""
    from glassnet import losses as gnlosses
    from glassnet import optimizers as gnoptimizers
    from glassnet.models import Sequential
    from glassnet.models.functional import Model

    config = _in_float64(model.get_config())
    config["name"] = f"{model.name}_float64"
    if "input_layers" in config:  # a functional model
        copy = Model.from_config(config)
    else:
        config["build_input_shape"] = list(model.input_shape)
        copy = Sequential.from_config(config)
    copy.set_weights([np.asarray(w, dtype=np.float64) for w in model.get_weights()])
    if getattr(model, "loss", None) is not None:
        optimizer = gnoptimizers.get(gnoptimizers.serialize(model.optimizer)) \
            if model.optimizer is not None else "sgd"
        copy.compile(optimizer=optimizer, loss=gnlosses.get(gnlosses.serialize(model.loss)))
    return copy


def _in_float64(config: dict) -> dict:
    """A model config whose every layer (nested models' too) is float64."""
    layers = []
    for entry in config["layers"]:
        settings = {**entry["config"], "dtype": "float64"}
        if "layers" in settings:
            settings = _in_float64(settings)
        layers.append({**entry, "config": settings})
    return {**config, "layers": layers}


def check_gradients(model, X, y, epsilon: float = 1e-6, max_per_variable: int = 64,
                    seed: int = 0) -> Table:
    """Analytic vs central-difference gradients per Variable, with their relative error.

    For each trainable Variable, up to ``max_per_variable`` of its elements (all of
    them when it has fewer; otherwise a seeded random choice) are nudged by ±ε on a
    float64 copy of the model. Relative error = ‖g_analytic − g_numeric‖ /
    max(‖g_analytic‖ + ‖g_numeric‖, 1e-12) over the checked elements; ``ok`` when it is
    below 1e-6. ReLU-like kinks inside ±ε can make single elements disagree.
    """
    from glassnet.inspect.propagation import forward, output_gradient

    _require_loss(model)
    if not (isinstance(epsilon, float) and 0 < epsilon < 1):
        raise ConfigError(f"check_gradients epsilon must be a float in (0, 1), got {epsilon!r}")
    from glassnet.layers import Dropout

    if any(isinstance(layer, Dropout) and layer.rate > 0 for layer in model.layers):
        raise ConfigError("check_gradients needs a deterministic loss: the model has Dropout, "
                          "whose random mask changes on every forward pass")
    different = [layer.name for layer in model.layers
                 if getattr(layer, "trains_differently", False)]
    if different:
        raise ConfigError(f"check_gradients compares the training pass with inference, but "
                          f"layer(s) {', '.join(different)} compute a different function "
                          f"in training (batch statistics or noise)")
    copy = float64_copy(model)
    X = np.asarray(X, dtype=np.float64)
    analytic = gradients(copy, X, y)

    def loss_now() -> float:
        return output_gradient(copy, forward(copy, X), y)[0]

    rng = np.random.default_rng(seed)
    rows = []
    for variable in copy.trainable_variables:
        flat = variable.value.reshape(-1)
        count = flat.size
        chosen = np.arange(count) if count <= max_per_variable else \
            np.sort(rng.choice(count, size=max_per_variable, replace=False))
        numeric = np.empty(chosen.size)
        for k, i in enumerate(chosen):
            kept = flat[i]
            flat[i] = kept + epsilon
            plus = loss_now()
            flat[i] = kept - epsilon
            minus = loss_now()
            flat[i] = kept
            numeric[k] = (plus - minus) / (2 * epsilon)
        exact = analytic[variable.path].reshape(-1)[chosen]
        error = float(np.linalg.norm(exact - numeric) /
                      max(np.linalg.norm(exact) + np.linalg.norm(numeric), 1e-12))
        rows.append((variable.path, int(chosen.size), count,
                     float(np.max(np.abs(exact - numeric))), error, error < TOLERANCE))
    return Table(["path", "checked", "count", "max_abs_diff", "relative_error", "ok"], rows,
                 title=f"Gradient check of {model.name!r}: analytic vs central differences "
                       f"(ε = {epsilon:g}, float64)",
                 notes=["relative_error = ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖); "
                        f"ok when below {TOLERANCE:g}"])
