"""Accuracy metrics, with Keras's rules for the shapes of labels and outputs."""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError
from glassnet.metrics.base import MeanMetricWrapper, sample_weights


class Accuracy(MeanMetricWrapper):
    """Share of predictions exactly equal to the labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return y_true == y_pred

    def get_config(self):
        return {"name": self.name}


class BinaryAccuracy(MeanMetricWrapper):
    """Share of ``(y_pred > threshold) == y_true``; threshold 0.5."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise ConfigError(f"BinaryAccuracy threshold must be a number, got {threshold!r}")
        self.threshold = float(threshold)
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return y_true == (y_pred > self.threshold)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """Share of argmax(y_pred) == argmax(y_true) (one-hot labels)."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)

    def get_config(self):
        return {"name": self.name}


def _sparse_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim == y_pred.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    return y


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Share of argmax(y_pred) == y_true (integer labels)."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return _sparse_labels(y_true, y_pred) == y_pred.argmax(axis=-1)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        labels = _sparse_labels(y_true, y_pred)
        # fit calls this once per batch: count the hits directly, without building
        # a float64 array of ones and zeros to sum.
        hits = np.equal(labels.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]).argmax(-1))
        w = sample_weights(sample_weight, labels.shape[0]) if labels.ndim == 1 else None
        if sample_weight is not None and w is None:
            return super().update_state(y_true, y_pred, sample_weight)
        if w is None:
            self._total += float(np.count_nonzero(hits))
            self._count += hits.size
        else:
            self._total += float(hits @ w)
            self._count += float(w.sum())

    def get_config(self):
        return {"name": self.name}


def _in_top_k(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    # As Keras: right when the label's score is at least the k-th largest score.
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    target = np.take_along_axis(scores, labels.reshape(-1, 1).astype(np.intp), axis=-1)
    return ((scores > target).sum(axis=-1) < k).reshape(labels.shape)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Share of one-hot labels whose class is among the ``k`` highest scores (k=5)."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = int(k)
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return _in_top_k(y_true.argmax(axis=-1), y_pred, self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Share of integer labels among the ``k`` highest scores (k=5)."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        self.k = int(k)
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, self.k)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred)
        self.add(self.values(np.asarray(y_true), y_pred).astype(np.float64), sample_weight)

    def get_config(self):
        return {"name": self.name, "k": self.k}


__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy"]
