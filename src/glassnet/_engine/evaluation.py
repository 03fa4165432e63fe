"""predict and evaluate: inference through the layers, batch by batch."""

from __future__ import annotations

import numpy as np

from glassnet._engine import blas
from glassnet._engine.prepare import _check_positive_int, _prepare_data, _prepare_x


def _loss_value(loss, y, output, sample_weight) -> float:
    from glassnet.losses import _reduce

    return _reduce(loss.per_sample(y, output), sample_weight)


def _weighted_flags(model, metrics) -> list[bool]:
    """Which metrics take the sample (and class) weights (the model says)."""
    return model.weighted_metric_flags(metrics)


def _forward_inference(model, x: np.ndarray, reuse_buffers: bool = False) -> np.ndarray:
    """Inference through every layer; with ``reuse_buffers`` the result is only valid
    until the next call with the same batch size (the caller copies it out)."""
    if not model.is_chain:  # a branched functional model
        return model.infer(x)
    for layer in model.layers:
        forward_reusing = getattr(layer, "forward_reusing", None) if reuse_buffers else None
        x = forward_reusing(x) if forward_reusing else layer.forward(x, training=False)
    return x


@blas.quiet_invalid_flag
def predict(model, x, batch_size=None) -> np.ndarray:
    x = _prepare_x(model, x)
    if batch_size is None:
        batch_size = 32
    _check_positive_int(batch_size, "batch_size")
    n = x.shape[0]
    out_shape = model.packed_output_shape
    if n == 0:
        return np.empty((0,) + tuple(out_shape[1:]), dtype=x.dtype)
    if n <= batch_size:
        out = _forward_inference(model, x)
        # Layers without weights (Flatten, Dropout at inference) pass views through.
        return out.copy() if np.shares_memory(out, x) else out
    out = np.empty((n,) + tuple(out_shape[1:]), dtype=x.dtype)
    for start in range(0, n, batch_size):
        out[start:start + batch_size] = _forward_inference(model, x[start:start + batch_size],
                                                           reuse_buffers=True)
    return out


def _evaluate_arrays(model, x, y, weights, batch_size) -> dict:
    metrics = model.fresh_metrics()
    weighted = _weighted_flags(model, metrics)
    for metric in metrics:  # a metric object given to compile is the same every call
        metric.reset_state()
    n = x.shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        out = _forward_inference(model, x[start:stop])
        wb = None if weights is None else weights[start:stop]
        total += _loss_value(model.loss, y[start:stop], out, wb) * (stop - start)
        for metric, weigh in zip(metrics, weighted):
            metric.update_state(y[start:stop], out, wb if weigh else None)
    penalty = sum(v.regularizer.penalty(v.value) for v in model.trainable_variables
                  if v.regularizer)
    logs = {"loss": total / max(n, 1) + penalty}
    for metric in metrics:
        logs[metric.name] = metric.result()
    return logs


@blas.quiet_invalid_flag
def evaluate(model, x, y, batch_size=None, sample_weight=None, return_dict=False):
    x, y, weights = _prepare_data(model, x, y, sample_weight, None, training=False)
    batch_size = 32 if batch_size is None else batch_size
    _check_positive_int(batch_size, "batch_size")
    logs = _evaluate_arrays(model, x, y, weights, batch_size)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
