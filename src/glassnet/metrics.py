"""Metrics: stateful, as Keras's (``update_state``, ``result``, ``reset_state``).

Each metric accumulates over the batches of an epoch; ``fit`` reports its
``result()`` per epoch (and running values per batch). Strings resolve as Keras:
``"accuracy"`` becomes binary, categorical or sparse categorical accuracy by the
shapes of the labels and the output.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError
from glassnet.resolve import resolve, serialize


class Metric:
    """Base class of stateful metrics."""

    def __init__(self, name=None):
        self.name = name or _default_name(type(self).__name__)
        self.reset_state()

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = self.values(np.asarray(y_true), np.asarray(y_pred))
        if sample_weight is None:
            self._total += float(values.sum())
            self._count += values.size
        else:
            w = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64).reshape(
                (-1,) + (1,) * (values.ndim - 1)), values.shape)
            self._total += float((values * w).sum())
            self._count += float(w.sum())

    def values(self, y_true, y_pred) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        self.reset_state()
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _default_name(class_name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _column(y: np.ndarray) -> np.ndarray:
    return y.reshape(y.shape[0], -1) if y.ndim > 1 else y.reshape(-1, 1)


class Accuracy(Metric):
    """Share of predictions exactly equal to the labels."""

    def values(self, y_true, y_pred):
        return (_column(y_true) == _column(y_pred)).mean(axis=-1)


class BinaryAccuracy(Metric):
    """Share of ``(y_pred > threshold) == y_true``; threshold 0.5."""

    def __init__(self, name="binary_accuracy", threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name)

    def values(self, y_true, y_pred):
        return (_column(y_true) == (_column(y_pred) > self.threshold)).mean(axis=-1)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """Share of argmax(y_pred) == argmax(y_true) (one-hot labels)."""

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float64)


class SparseCategoricalAccuracy(Metric):
    """Share of argmax(y_pred) == y_true (integer labels)."""

    def values(self, y_true, y_pred):
        return (y_true.reshape(-1) == y_pred.argmax(axis=-1)).astype(np.float64)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        # fit calls this once per batch: without weights, count the hits directly
        # instead of building a float64 array of ones and zeros to sum.
        if sample_weight is not None or not isinstance(y_pred, np.ndarray) or y_pred.ndim != 2:
            return super().update_state(y_true, y_pred, sample_weight)
        hits = np.equal(np.asarray(y_true).reshape(-1), y_pred.argmax(axis=-1))
        self._total += float(np.count_nonzero(hits))
        self._count += hits.size


class MeanAbsoluteError(Metric):
    """mean(|y_true - y_pred|)."""

    def values(self, y_true, y_pred):
        return np.abs(_column(y_pred) - _column(y_true).astype(np.float64)).mean(axis=-1)


class MeanSquaredError(Metric):
    """mean((y_true - y_pred)**2)."""

    def values(self, y_true, y_pred):
        return np.square(_column(y_pred) - _column(y_true).astype(np.float64)).mean(axis=-1)


class _Confusion(Metric):
    """Counts of true/false positives at a threshold, for Precision and Recall."""

    def __init__(self, name=None, thresholds=0.5):
        if not 0.0 <= float(thresholds) <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {thresholds!r}")
        self.threshold = float(thresholds)
        super().__init__(name)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = _column(np.asarray(y_true)) > 0.5
        predicted = _column(np.asarray(y_pred)) > self.threshold
        w = (np.ones(truth.shape[0]) if sample_weight is None
             else np.asarray(sample_weight, dtype=np.float64).reshape(-1))[:, None]
        self.tp += float((w * (truth & predicted)).sum())
        self.fp += float((w * (~truth & predicted)).sum())
        self.fn += float((w * (truth & ~predicted)).sum())

    def get_config(self):
        return {"name": self.name, "thresholds": self.threshold}


class Precision(_Confusion):
    """tp / (tp + fp) at threshold 0.5 (0 when nothing is predicted positive)."""

    def result(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0


class Recall(_Confusion):
    """tp / (tp + fn) at threshold 0.5 (0 when there are no positives)."""

    def result(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


class AUC(Metric):
    """Area under the ROC curve from confusion counts at ``num_thresholds`` thresholds.

    As Keras: thresholds at i / (num_thresholds - 1) plus -eps and 1 + eps, and the
    trapezoidal rule over (false positive rate, true positive rate).
    """

    def __init__(self, num_thresholds=200, name="auc"):
        if num_thresholds < 2:
            raise ConfigError(f"AUC num_thresholds must be > 1, got {num_thresholds!r}")
        self.num_thresholds = int(num_thresholds)
        inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self.thresholds = np.array([-1e-7] + inner + [1.0 + 1e-7])
        super().__init__(name)

    def reset_state(self):
        self.tp = np.zeros(self.num_thresholds)
        self.fp = np.zeros(self.num_thresholds)
        self.positives = self.negatives = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = _column(np.asarray(y_true)).reshape(-1) > 0.5
        scores = _column(np.asarray(y_pred)).reshape(-1)
        w = (np.ones_like(scores, dtype=np.float64) if sample_weight is None
             else np.repeat(np.asarray(sample_weight, np.float64).reshape(-1),
                            scores.size // max(len(np.atleast_1d(sample_weight)), 1)))
        above = scores[None, :] > self.thresholds[:, None]
        self.tp += (above & truth) @ w
        self.fp += (above & ~truth) @ w
        self.positives += float(w[truth].sum())
        self.negatives += float(w[~truth].sum())

    def result(self):
        tpr = self.tp / self.positives if self.positives else np.zeros_like(self.tp)
        fpr = self.fp / self.negatives if self.negatives else np.zeros_like(self.fp)
        return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2.0))

    def get_config(self):
        return {"num_thresholds": self.num_thresholds, "name": self.name}


METRICS = {
    "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "precision": Precision, "recall": Recall, "auc": AUC,
}


def get(identifier, loss=None, output_units: int | None = None) -> Metric:
    """Resolve a metric; ``"accuracy"`` picks its kind from the loss and output size."""
    if identifier in ("accuracy", "acc"):
        return _accuracy_kind(loss, output_units)(name="accuracy")
    # A metric asked for by its short name reports under that name ("mae", "auc").
    return resolve(identifier, kind="metric", base=Metric, names=METRICS,
                   make=lambda cls, name: cls(name=name))


def _accuracy_kind(loss, output_units):
    from glassnet import losses

    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return SparseCategoricalAccuracy
    if isinstance(loss, losses.CategoricalCrossentropy):
        return CategoricalAccuracy
    if isinstance(loss, losses.BinaryCrossentropy) or output_units == 1:
        return BinaryAccuracy
    return CategoricalAccuracy if output_units and output_units > 1 else Accuracy


__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "METRICS",
           "MeanAbsoluteError", "MeanSquaredError", "Metric", "Precision", "Recall",
           "SparseCategoricalAccuracy", "get", "serialize"]
