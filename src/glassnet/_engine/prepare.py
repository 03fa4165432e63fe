"""Data preparation for fit, evaluate, predict and train_on_batch: checked once, before a loop.

x, y, sample and class weights and validation data are converted to the model's dtype
and shapes here, with a clear ``glassnet.errors`` exception for what cannot be.
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.data_checks import (
    as_float_array,
    check_features,
    check_same_length,
    class_weights,
    numeric_targets,
)
from glassnet.errors import ConfigError, DataError


def _prepare_x(model, x, name="x") -> np.ndarray:
    if model.multi_input:  # a functional model: see multi_io
        return model.pack_inputs(x, name)
    dtype = model.weights[0].dtype if model.built and model.weights else _floatx()
    x = as_float_array(x, name, dtype)
    given_shape = x.shape
    if x.ndim == 1:
        # tf.keras expanded 1-D inputs to a column; course code relies on it.
        x = x.reshape(-1, 1)
    if not model.built:
        model.build((None,) + x.shape[1:])
    check_features(x, model.input_shape[1:], f"model {model.name!r}", given_shape)
    return x


def _floatx():
    from glassnet.backend import floatx

    return floatx()


def _prepare_y(model, y, name="y") -> np.ndarray:
    if y is None:
        raise DataError(f"{name} is required to train or evaluate, got None")
    if model.multi_output:  # several arrays laid side by side: see models.multi_output
        return model.loss.prepare_targets(y, name)
    raw = numeric_targets(y, name)
    prepared = model.loss.prepare_targets(raw, model.output_shape)
    if prepared.dtype.kind == "f":
        prepared = np.ascontiguousarray(prepared, dtype=model.weights[0].dtype)
    return prepared


def _prepare_sample_weight(sample_weight, class_weight, y, n,
                           n_classes=2) -> np.ndarray | None:
    weights = None
    if sample_weight is not None:
        weights = as_float_array(sample_weight, "sample_weight", np.float64).reshape(-1)
        if weights.shape[0] != n:
            raise DataError(f"sample_weight must have one weight per sample: expected {n}, "
                            f"got {weights.shape[0]}")
        if (weights < 0).any():
            raise DataError("sample_weight must be >= 0")
    if class_weight:
        per_class = class_weights(class_weight, y, n_classes)
        weights = per_class if weights is None else weights * per_class
    return weights


def _prepare_data(model, x, y, sample_weight, class_weight, training: bool):
    """Check and convert (x, y, weights) once, before any loop; build what training needs."""
    model._require_compiled()
    x = _prepare_x(model, x)
    if training:
        model._flatten_variables()
    if not model.metrics and model._metric_specs:
        model._resolve_metrics()
    y = _prepare_y(model, y)
    n = check_same_length(x=x, y=y)
    if model.multi_output:
        if class_weight:  # as Keras: which output's classes would it weigh?
            raise ConfigError(f"class_weight is only supported for models with one output; "
                              f"model {model.name!r} has {len(model.outputs)}")
        return x, y, _prepare_sample_weight(sample_weight, None, y, n)
    n_classes = max(2, model.output_shape[-1])  # one sigmoid unit: classes 0 and 1
    return x, y, _prepare_sample_weight(sample_weight, class_weight, y, n, n_classes)


def _check_positive_int(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            value < (0 if allow_zero else 1):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ConfigError(f"{name} must be {kind} int, got {value!r}")


def _prepare_validation(model, validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise DataError("validation_data must be a tuple (x_val, y_val) or "
                        "(x_val, y_val, sample_weight)")
    x_val = _prepare_x(model, validation_data[0], "validation x")
    y_val = _prepare_y(model, validation_data[1], "validation y")
    n = check_same_length(**{"validation x": x_val, "validation y": y_val})
    w_val = None
    if len(validation_data) == 3 and validation_data[2] is not None:
        w_val = _prepare_sample_weight(validation_data[2], None, y_val, n)
    return x_val, y_val, w_val
