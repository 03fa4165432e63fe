"""Normalization: standardises each feature with a mean and variance from ``adapt``.

``axis=None`` uses one mean and one variance for every value, over all features
(Keras's choice for a single input column: ``Normalization(axis=None)``).
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import epsilon
from glassnet.errors import ConfigError, DataError
from glassnet.layers.base import Layer


class Normalization(Layer):
    """Standardises each feature: ``(x - mean) / max(sqrt(variance), epsilon)``.

    Call ``adapt(data)`` to compute the mean and variance, or pass them. A feature
    with zero variance is divided by epsilon (as Keras), so it never gives inf or NaN.
    ``axis=-1`` (the default) keeps a mean and variance per feature; ``axis=None``
    keeps one of each, over all values (scalars, as Keras's).
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is not None and (isinstance(axis, bool) or
                                 not isinstance(axis, (int, np.integer))):
            raise ConfigError(f"Normalization normalizes each feature of the last axis "
                              f"(axis=-1, or the last axis' index) or all values alike "
                              f"(axis=None), got axis={axis!r}")
        if (mean is None) != (variance is None):
            raise ConfigError("Normalization needs both mean and variance, or neither")
        self.axis = axis
        self.invert = bool(invert)
        self._given = (mean, variance)
        self.mean = self.variance = self.count = None

    def build(self, input_shape):
        if self.axis is not None and self.axis not in (-1, len(input_shape) - 1):
            raise ConfigError(f"Normalization {self.name!r} normalizes the last axis of input "
                              f"{tuple(input_shape)}: axis must be -1 or "
                              f"{len(input_shape) - 1}, got {self.axis}")
        features = () if self.axis is None else (input_shape[-1],)
        self.mean = self.add_weight("mean", features, "zeros", trainable=False)
        self.variance = self.add_weight("variance", features, "ones", trainable=False)
        self.count = self.add_weight("count", (), "zeros", trainable=False)
        if self._given[0] is not None:
            for variable, given in zip((self.mean, self.variance), self._given):
                value = np.asarray(given, float)
                if self.axis is None and value.size != 1:
                    raise ConfigError(f"Normalization {self.name!r} with axis=None takes one "
                                      f"{variable.name}, got {value.size} values")
                variable.assign(np.broadcast_to(value.reshape(()) if self.axis is None
                                                else value, features))
        super().build(input_shape)

    def adapt(self, data) -> None:
        """Compute the per-feature mean and (population) variance of ``data``."""
        data = np.asarray(data, dtype=np.float64)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.shape[0] == 0:
            raise DataError("Normalization.adapt needs at least one sample, got an empty array")
        if not np.isfinite(data).all():
            raise DataError("Normalization.adapt got NaN or inf in its data")
        if not self.built:
            self.build((None,) + data.shape[1:])
        flat = data.reshape(-1) if self.axis is None else data.reshape(-1, data.shape[-1])
        # float64 statistics: a float32 sum of squares overflows for values near 1e19.
        with np.errstate(over="ignore", invalid="ignore"):
            mean, variance = flat.mean(axis=0), flat.var(axis=0)
        self._check_representable("mean", mean)
        self._check_representable("variance", variance)
        self.mean.assign(mean)
        self.variance.assign(variance)
        self.count.assign(flat.shape[0])

    def _check_representable(self, what: str, values: np.ndarray) -> None:
        """Refuse a statistic the layer's dtype would store as inf (its output: zeros)."""
        limit = np.finfo(self.dtype).max
        values = np.atleast_1d(values)
        too_big = ~(np.abs(values) <= limit)
        if too_big.any():
            feature = int(np.argmax(too_big))
            which = "the data" if self.axis is None else f"feature {feature}"
            raise DataError(
                f"Normalization {self.name!r}: {which} has {what} "
                f"{values[feature]:.3g}, beyond {np.dtype(self.dtype).name}'s range "
                f"({limit:.3g}); scale the data down first, or use "
                f"Normalization(dtype='float64')")

    def denominator(self) -> np.ndarray:
        """σ = max(√variance, epsilon), per feature (one value for ``axis=None``)."""
        return np.maximum(np.sqrt(self.variance.value), epsilon()).astype(self.dtype)

    def forward(self, x, training=False, keep=None):
        """a = (x − μ) / σ (``invert``: a = x · σ + μ)."""
        # A float64 layer (for statistics beyond float32's range) gives x's dtype back.
        if self.invert:
            out = x * self.denominator() + self.mean.value
        else:
            out = (x - self.mean.value) / self.denominator()
        return out.astype(x.dtype, copy=False)

    def backward(self, dy, need_dx=True):
        """dx = dy / σ (``invert``: dy · σ)."""
        if not need_dx:
            return None
        return dy * self.denominator() if self.invert else dy / self.denominator()

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert})
        return config
