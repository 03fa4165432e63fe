"""Error and cross-entropy metrics: a loss averaged over every sample of an epoch.

Each is a mean over samples of the per-sample loss, with Keras's formulas (the
cross-entropies are the losses of :mod:`glassnet.losses`); unlike a loss, the
weighted mean divides by the sum of the weights.
"""

from __future__ import annotations

import numpy as np

from glassnet import losses as gnlosses
from glassnet.backend import epsilon
from glassnet.metrics.base import Mean, MeanMetricWrapper, per_sample, same_rank
from glassnet.tensor import as_result


def _floats(y_true, y_pred):
    return np.asarray(y_true, dtype=np.result_type(y_pred.dtype, np.float32)), y_pred


class MeanSquaredError(MeanMetricWrapper):
    """mean((y_true - y_pred)**2)."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return np.square(y_pred - np.asarray(y_true, dtype=np.float64))

    def get_config(self):
        return {"name": self.name}


class MeanAbsoluteError(MeanMetricWrapper):
    """mean(|y_true - y_pred|)."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return np.abs(y_pred - np.asarray(y_true, dtype=np.float64))

    def get_config(self):
        return {"name": self.name}


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        y_true = np.asarray(y_true, dtype=np.float64)
        return 100.0 * np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), epsilon()))

    def get_config(self):
        return {"name": self.name}


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))**2)."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        y_true = np.asarray(y_true, dtype=np.float64)
        return np.square(np.log1p(np.maximum(y_pred, epsilon()))
                         - np.log1p(np.maximum(y_true, epsilon())))

    def get_config(self):
        return {"name": self.name}


class RootMeanSquaredError(Mean):
    """sqrt(mean((y_true - y_pred)**2)) over every sample seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred))
        self.add(per_sample(np.square(y_pred - np.asarray(y_true, np.float64))), sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def result(self):
        return as_result(np.sqrt(self._total / self._count) if self._count else 0.0)


class _LossMetric(MeanMetricWrapper):
    """The mean of a :mod:`glassnet.losses` loss's per-sample values."""

    def values(self, y_true, y_pred):
        y_true, y_pred = _floats(y_true, y_pred)
        return self.loss.per_sample(y_true, y_pred)


class BinaryCrossentropy(_LossMetric):
    """Binary cross-entropy, -(y log p + (1 - y) log(1 - p)), averaged over samples."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        self.loss = gnlosses.BinaryCrossentropy(from_logits=from_logits,
                                                label_smoothing=label_smoothing)
        super().__init__(name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "from_logits": self.loss.from_logits,
                "label_smoothing": self.loss.label_smoothing}


class CategoricalCrossentropy(_LossMetric):
    """Categorical cross-entropy with one-hot labels, averaged over samples."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        self.loss = gnlosses.CategoricalCrossentropy(from_logits=from_logits,
                                                     label_smoothing=label_smoothing)
        super().__init__(name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "from_logits": self.loss.from_logits,
                "label_smoothing": self.loss.label_smoothing}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Categorical cross-entropy with integer labels, averaged over samples."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        self.loss = gnlosses.SparseCategoricalCrossentropy(from_logits=from_logits)
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        labels = self.loss.prepare_targets(y_true, y_pred.shape)
        self.add(per_sample(self.loss.per_sample(labels, y_pred)), sample_weight)

    def get_config(self):
        return {"name": self.name, "from_logits": self.loss.from_logits}


class LogCoshError(MeanMetricWrapper):
    """mean(log(cosh(y_pred - y_true)))."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        e = y_pred - np.asarray(y_true, dtype=np.float64)
        # log(cosh(e)) = e + softplus(-2 e) - log 2, finite for any e (as Keras).
        return e + np.logaddexp(0.0, -2.0 * e) - np.log(2.0)

    def get_config(self):
        return {"name": self.name}


class KLDivergence(MeanMetricWrapper):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        t = np.clip(np.asarray(y_true, dtype=np.float64), epsilon(), 1.0)
        p = np.clip(y_pred, epsilon(), 1.0)
        return (t * np.log(t / p)).sum(axis=-1)

    def get_config(self):
        return {"name": self.name}


__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "KLDivergence", "LogCoshError",
           "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
           "MeanSquaredLogarithmicError", "RootMeanSquaredError",
           "SparseCategoricalCrossentropy"]
