"""The base of every metric: state that accumulates until ``reset_state()``.

As Keras: ``update_state(y_true, y_pred, sample_weight)`` adds a batch, ``result()``
reads the value so far, ``reset_state()`` starts again, and calling the metric is
``update_state`` then ``result`` (it accumulates too). ``fit`` resets every metric at
the start of each epoch, ``evaluate`` at its start.

A mean metric (accuracies, errors, cross-entropies) computes one value per sample,
the mean over the sample's other axes, and keeps sum(w * value) and sum(w).
"""

from __future__ import annotations

import re

import numpy as np

from glassnet.tensor import as_result


def _default_name(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def same_rank(y_true: np.ndarray, y_pred: np.ndarray):
    """Keras's squeeze_or_expand_to_same_rank: labels (n,) beside outputs (n, 1) and
    the like are brought to one rank by a trailing axis of 1."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    return y_true, y_pred


def per_sample(values: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first (a 0-d value is one sample)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        return values.reshape(1)
    return values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values


def sample_weights(sample_weight, n: int) -> np.ndarray | None:
    """One weight per sample (a weight per element is averaged over the sample)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        return np.full(n, float(w))
    return np.broadcast_to(per_sample(w), (n,))


class Metric:
    """Base class of stateful metrics (``update_state``, ``result``, ``reset_state``)."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _default_name(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # pragma: no cover
        raise NotImplementedError

    def result(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def reset_states(self) -> None:
        """Keras 2's name for :meth:`reset_state`."""
        self.reset_state()

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Add this batch to the state, then return the result so far (as Keras)."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values)``."""

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0.0

    def add(self, values: np.ndarray, sample_weight=None) -> None:
        """Add per-sample ``values`` (one per row), weighted."""
        w = sample_weights(sample_weight, values.shape[0])
        if w is None:
            self._total += float(values.sum())
            self._count += values.shape[0]
        else:
            self._total += float(values @ w)
            self._count += float(w.sum())

    def update_state(self, values, sample_weight=None) -> None:
        self.add(per_sample(values), sample_weight)

    def __call__(self, values, sample_weight=None):
        self.update_state(values, sample_weight)
        return self.result()

    def result(self):
        return as_result(self._total / self._count if self._count else 0.0)


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state(values)``."""

    def reset_state(self) -> None:
        self._total = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is not None:
            values = values * np.asarray(sample_weight, dtype=np.float64).reshape(
                np.shape(sample_weight) + (1,) * (values.ndim - np.ndim(sample_weight)))
        self._total += float(values.sum())

    def __call__(self, values, sample_weight=None):
        self.update_state(values, sample_weight)
        return self.result()

    def result(self):
        return as_result(self._total)


class MeanMetricWrapper(Mean):
    """A mean over samples of ``values(y_true, y_pred)``; subclasses define ``values``.

    ``fn`` (a function of ``(y_true, y_pred)`` returning per-sample values) makes one
    without a subclass, as ``keras.metrics.MeanMetricWrapper(fn)``.
    """

    def __init__(self, fn=None, name=None, dtype=None, **kwargs):
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(name=name or (getattr(fn, "__name__", None) if fn else None),
                         dtype=dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return np.asarray(self._fn(y_true, y_pred, **self._fn_kwargs))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred))
        values = np.asarray(self.values(y_true, y_pred))
        if sample_weight is not None or values.ndim == 0:
            return self.add(per_sample(values), sample_weight)
        # Unweighted (fit's usual case): the sum of per-sample means is the total / d,
        # without building the per-sample array.
        n = values.shape[0]
        if n:
            self._total += float(values.sum(dtype=np.float64)) * n / values.size
        self._count += n

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()


__all__ = ["Mean", "MeanMetricWrapper", "Metric", "Sum"]
