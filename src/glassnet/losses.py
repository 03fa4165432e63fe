"""Losses with Keras's formulas, and the fused softmax/sigmoid cross-entropy.

Every loss computes one value per sample (the mean over the last axis), then
reduces as Keras's default ``"sum_over_batch_size"``: sum(w_i * loss_i) / n, with
w_i the sample weights (1 when none) and n the batch size.

When a model ends in softmax (or sigmoid) and its loss is categorical (or binary)
cross-entropy, or ends linear with ``from_logits=True``, the loss and the output
activation are one fused step: its gradient with respect to the logits is
``w * (p - y) / n``, which is exact and finite for logits of any size. Values with
``from_logits=False`` follow Keras: probabilities are clipped to [eps, 1 - eps].
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.resolve import resolve, serialize, snake_case
from glassnet.backend import epsilon
from glassnet.errors import ConfigError, DataError, ShapeError


def _reduce(per_sample: np.ndarray, sample_weight) -> float:
    n = per_sample.shape[0]
    if sample_weight is not None:
        per_sample = per_sample * sample_weight
    return float(per_sample.sum(dtype=np.float64) / max(n, 1))


def _scale(n: int, d: int, sample_weight) -> np.ndarray | float:
    """d(loss)/d(per-element term): 1 / (n d), times the sample weights."""
    if sample_weight is None:
        return 1.0 / (n * d)
    return (np.asarray(sample_weight) / (n * d)).reshape((n,) + (1,) * 1)


class Loss:
    """Base class. ``loss(y_true, y_pred, sample_weight=None)`` returns a float."""

    #: "softmax" or "sigmoid" when the loss can fuse with that output activation.
    fuses_with: str | None = None
    from_logits = False

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction != "sum_over_batch_size":
            raise ConfigError(f"only reduction='sum_over_batch_size' is supported, "
                              f"got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """The loss as a float that answers ``.numpy()`` (as TF's loss objects)."""
        from glassnet.tensor import Scalar

        y_pred = np.asarray(y_pred, dtype=np.float64)
        if y_pred.ndim < 2:  # as Keras: a vector is one sample, its entries the last axis
            given = np.asarray(y_true)
            if given.shape == y_pred.shape:
                y_true = given.reshape(1, -1)
            y_pred = y_pred.reshape(1, -1)
        y_true = self.prepare_targets(y_true, y_pred.shape)
        return Scalar(_reduce(self.per_sample(y_true, y_pred), sample_weight))

    def prepare_targets(self, y_true, pred_shape) -> np.ndarray:
        """Bring y_true to y_pred's shape (a 1-D target becomes a column), once per fit."""
        y = np.asarray(y_true)
        if y.ndim == len(pred_shape) - 1:
            y = y.reshape(y.shape + (1,))
        if y.shape[1:] != tuple(pred_shape[1:]):
            hint = ""
            if self.fuses_with == "softmax" and y.shape[1:] == (1,):
                hint = " — integer class labels? use sparse_categorical_crossentropy"
            raise ShapeError(f"{self.name} expects targets of shape (n, "
                             f"{', '.join(map(str, pred_shape[1:]))}) to match the model "
                             f"output, got {np.asarray(y_true).shape}{hint}")
        return y.astype(np.result_type(np.float32, y.dtype) if y.dtype.kind != "f" else y.dtype,
                        copy=False)

    def per_sample(self, y_true, y_pred) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def gradient(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        """d(loss)/d(y_pred), same shape as y_pred."""
        raise NotImplementedError  # pragma: no cover - abstract

    def value_and_grad(self, y_true, y_pred, sample_weight, out) -> float:
        """Loss value, and d(loss)/d(y_pred) written into ``out`` (the training step's path)."""
        value = _reduce(self.per_sample(y_true, y_pred), sample_weight)
        np.copyto(out, self.gradient(y_true, y_pred, sample_weight), casting="same_kind")
        return value

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(Loss):
    """mean((y_true - y_pred)**2) over the last axis."""

    def per_sample(self, y_true, y_pred):
        return np.square(y_pred - y_true).mean(axis=-1)

    def gradient(self, y_true, y_pred, sample_weight=None):
        n, d = y_pred.shape[0], int(np.prod(y_pred.shape[1:]))
        return 2.0 * (y_pred - y_true) * _scale(n, d, sample_weight)

    def value_and_grad(self, y_true, y_pred, sample_weight, out):
        # One subtraction serves both: the value from e = y_pred - y_true, then
        # the gradient 2 e / (n d) scaled in place (no temporaries per step).
        n = y_pred.shape[0]
        d = out.size // n if n else 1
        e = np.subtract(y_pred, y_true, out=out)
        per_sample = np.add.reduce(e * e, axis=-1) if e.ndim > 1 else e * e
        if e.ndim > 1 and d > 1:
            per_sample /= d
        value = _reduce(per_sample, sample_weight)
        out *= _scale(n, d, sample_weight) * 2.0
        return value


class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|) over the last axis."""

    def per_sample(self, y_true, y_pred):
        return np.abs(y_pred - y_true).mean(axis=-1)

    def gradient(self, y_true, y_pred, sample_weight=None):
        n, d = y_pred.shape[0], int(np.prod(y_pred.shape[1:]))
        return np.sign(y_pred - y_true) * _scale(n, d, sample_weight)


class Huber(Loss):
    """0.5 e**2 where |e| <= delta, else delta * (|e| - 0.5 delta); e = y_pred - y_true."""

    def __init__(self, delta=1.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name or "huber_loss", reduction)
        if delta <= 0:
            raise ConfigError(f"Huber delta must be positive, got {delta!r}")
        self.delta = float(delta)

    def per_sample(self, y_true, y_pred):
        e = np.abs(y_pred - y_true)
        quadratic = np.minimum(e, self.delta)
        return (0.5 * quadratic**2 + self.delta * (e - quadratic)).mean(axis=-1)

    def gradient(self, y_true, y_pred, sample_weight=None):
        n, d = y_pred.shape[0], int(np.prod(y_pred.shape[1:]))
        return np.clip(y_pred - y_true, -self.delta, self.delta) * _scale(n, d, sample_weight)

    def get_config(self):
        return {"delta": self.delta, "name": self.name}


class BinaryCrossentropy(Loss):
    """-(y log p + (1 - y) log(1 - p)), mean over the last axis; p = sigmoid(logits)."""

    fuses_with = "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None,
                 reduction="sum_over_batch_size"):
        super().__init__(name or "binary_crossentropy", reduction)
        _check_smoothing(label_smoothing)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def prepare_targets(self, y_true, pred_shape):
        y = super().prepare_targets(y_true, pred_shape)
        if y.size and (y.min() < 0 or y.max() > 1):
            bad = y[(y < 0) | (y > 1)].flat[0]
            raise DataError(f"{self.name} expects labels (probabilities) in [0, 1], got "
                            f"{bad:g} (labels range from {y.min():g} to {y.max():g}): scale "
                            f"them into [0, 1], or use sparse_categorical_crossentropy for "
                            f"class labels 0..k-1")
        return y

    def _smooth(self, y):
        if self.label_smoothing:
            return y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return y

    def per_sample(self, y_true, y_pred):
        y = self._smooth(y_true)
        if self.from_logits:
            # log(1 + e^z) - y z, written so no exp can overflow.
            z = y_pred
            return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
        p = np.clip(y_pred, epsilon(), 1.0 - epsilon())
        return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)).mean(axis=-1)

    def gradient(self, y_true, y_pred, sample_weight=None):
        n, d = y_pred.shape[0], int(np.prod(y_pred.shape[1:]))
        y = self._smooth(y_true)
        if self.from_logits:
            from glassnet.activations import _sigmoid

            return (_sigmoid(y_pred, np.empty_like(y_pred)) - y) * _scale(n, d, sample_weight)
        inside = (y_pred > epsilon()) & (y_pred < 1.0 - epsilon())
        p = np.clip(y_pred, epsilon(), 1.0 - epsilon())
        return np.where(inside, (p - y) / (p * (1.0 - p)), 0.0) * _scale(n, d, sample_weight)

    def fused_value_and_grad(self, y_true, output, sample_weight, dz):
        """Loss value, and dL/dlogits written into ``dz``; ``output`` is p or the logits."""
        n, d = output.shape[0], int(np.prod(output.shape[1:]))
        value = _reduce(self.per_sample(y_true, output), sample_weight)  # smooths y itself
        y = self._smooth(y_true)
        if self.from_logits:
            from glassnet.activations import _sigmoid

            _sigmoid(output, dz)
        else:
            np.copyto(dz, output)
        dz -= y
        dz *= _scale(n, d, sample_weight)
        return value

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "name": self.name}


def _check_smoothing(value):
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"label_smoothing must be in [0, 1], got {value!r}")


class CategoricalCrossentropy(Loss):
    """-sum(y log p) over classes, with one-hot ``y_true``; p = softmax(logits)."""

    fuses_with = "softmax"
    sparse = False

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None,
                 reduction="sum_over_batch_size"):
        super().__init__(name or "categorical_crossentropy", reduction)
        _check_smoothing(label_smoothing)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _one_hot(self, y_true, k):
        y = y_true
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + self.label_smoothing / k
        return y

    def per_sample(self, y_true, y_pred):
        y = self._one_hot(y_true, y_pred.shape[-1])
        if self.from_logits:
            shifted = y_pred - y_pred.max(axis=-1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
            return -(y * log_p).sum(axis=-1)
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return -(y * np.log(np.clip(p, epsilon(), 1.0 - epsilon()))).sum(axis=-1)

    def gradient(self, y_true, y_pred, sample_weight=None):
        n = y_pred.shape[0]
        y = self._one_hot(y_true, y_pred.shape[-1])
        if self.from_logits:
            from glassnet.activations import _softmax_f

            return (_softmax_f(y_pred, np.empty_like(y_pred)) - y) * _scale(n, 1, sample_weight)
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        inside = (q > epsilon()) & (q < 1.0 - epsilon())
        g = np.where(inside, -y / np.clip(q, epsilon(), 1.0), 0.0)  # dL/dq
        dp = g / total - (g * y_pred).sum(axis=-1, keepdims=True) / total**2
        return dp * _scale(n, 1, sample_weight)

    def fused_value_and_grad(self, y_true, output, sample_weight, dz):
        """Loss value, and dL/dlogits = w (p - y) / n written into ``dz``."""
        n = output.shape[0]
        if self.from_logits and self.sparse and output.ndim == 2:
            # The value's log-softmax and the gradient's softmax share one exp:
            # shifted = z - max(z); loss = log(sum(exp(shifted))) - shifted[label].
            np.subtract(output, np.maximum.reduce(output, axis=-1, keepdims=True), out=dz)
            flat = self._flat_targets(dz.shape, y_true)
            flat_dz = dz.reshape(-1)
            target = flat_dz.take(flat)
            np.exp(dz, out=dz)
            total = np.add.reduce(dz, axis=-1, keepdims=True)
            per_sample = np.log(total[:, 0])
            per_sample -= target
            dz /= total
            flat_dz[flat] -= 1.0  # p - y, y one-hot at the labels
            if sample_weight is None:  # the common case, without _reduce's and _scale's calls
                dz *= 1.0 / n
                return float(np.add.reduce(per_sample, dtype=np.float64) / n)
            dz *= _scale(n, 1, sample_weight)
            return _reduce(per_sample, sample_weight)
        else:
            value = _reduce(self.per_sample(y_true, output), sample_weight)
            if self.from_logits:
                from glassnet.activations import _softmax_f

                _softmax_f(output, dz)
            else:
                np.copyto(dz, output)
        self._subtract_targets(dz, y_true)
        dz *= _scale(n, 1, sample_weight)
        return value

    def _subtract_targets(self, dz, y_true):
        dz -= self._one_hot(y_true, dz.shape[-1])

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "name": self.name}


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer class labels, shape (n,) or (n, 1)."""

    sparse = True

    def __init__(self, from_logits=False, ignore_class=None, name=None,
                 reduction="sum_over_batch_size"):
        super().__init__(from_logits=from_logits, name=name or "sparse_categorical_crossentropy",
                         reduction=reduction)
        if ignore_class is not None:
            raise ConfigError("ignore_class is not supported")
        self.ignore_class = None

    def prepare_targets(self, y_true, pred_shape):
        y = np.asarray(y_true)
        if y.ndim == len(pred_shape) and y.shape[-1] == 1:
            y = y[..., 0]
        if y.ndim != len(pred_shape) - 1 or y.shape[1:] != tuple(pred_shape[1:-1]):
            raise ShapeError(f"{self.name} expects integer labels of shape (n,), got "
                             f"{np.asarray(y_true).shape}")
        if y.size and (np.any(y != np.round(y)) if y.dtype.kind == "f" else False):
            raise DataError(f"{self.name} expects integer class labels, got non-integer values")
        labels = y.astype(np.intp)
        k = pred_shape[-1]
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            bad = labels[(labels < 0) | (labels >= k)][0]
            raise DataError(f"{self.name}: label {bad} is out of range for {k} classes "
                            f"(expected 0 <= label < {k})")
        return labels

    def _one_hot(self, y_true, k):
        return np.eye(k)[y_true]

    def _rows(self, n: int) -> np.ndarray:
        """0..n-1, kept for the last batch size: the row half of a (row, label) index."""
        rows = getattr(self, "_row_index", None)
        if rows is None or rows.shape[0] != n:
            rows = self._row_index = np.arange(n)
        return rows

    def _flat_targets(self, shape, y_true) -> np.ndarray:
        """Positions of the labels in the flattened (n, k) output: row * k + label."""
        n, k = shape
        starts = getattr(self, "_row_starts", None)
        if starts is None or starts.shape[0] != n or self._row_starts_k != k:
            starts = self._row_starts = np.arange(n) * k
            self._row_starts_k = k
            self._flat_index = np.empty(n, dtype=np.intp)
        return np.add(starts, y_true, out=self._flat_index)

    def per_sample(self, y_true, y_pred):
        rows = self._rows(y_pred.shape[0])
        if self.from_logits:
            shifted = y_pred - y_pred.max(axis=-1, keepdims=True)
            return np.log(np.exp(shifted).sum(axis=-1)) - shifted[rows, y_true]
        p = y_pred[rows, y_true] / y_pred.sum(axis=-1)
        return -np.log(np.clip(p, epsilon(), 1.0 - epsilon()))

    def _subtract_targets(self, dz, y_true):
        dz[self._rows(dz.shape[0]), y_true] -= 1.0

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name}


LOSSES = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier) -> Loss:
    """Resolve ``"mse"``, ``"binary_crossentropy"``... a class, a config or an instance."""
    return resolve(identifier, kind="loss", base=Loss, names=LOSSES)


__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Huber", "LOSSES", "Loss",
           "MeanAbsoluteError", "MeanSquaredError", "SparseCategoricalCrossentropy", "get",
           "serialize"]
