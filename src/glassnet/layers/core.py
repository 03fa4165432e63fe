"""Layers without weights: Activation, Dropout, Flatten."""

from __future__ import annotations

import numbers

import numpy as np

from glassnet import activations as gnactivations
from glassnet import random as gnrandom
from glassnet.errors import ConfigError
from glassnet.layers.base import Layer, _BufferedLayer


class Activation(_BufferedLayer):
    """Applies an activation function to its input (no weights)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = gnactivations.get(activation)
        self._z = self._a = None

    @property
    def activation_name(self) -> str:
        return self.activation.name

    def forward(self, x, training=False):
        if not training:
            return self.activation.forward(x, np.empty_like(x))
        buffers = self._buffers_for(x.shape[0])
        if buffers.a is None:
            buffers.a = np.empty_like(x)
        self._z, self._a = x, self.activation.forward(x, buffers.a)
        return self._a

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        buffers = self._buffers_for(dy.shape[0])
        if buffers.dz is None:
            buffers.dz = np.empty_like(dy)
        return self.activation.backward(self._z, self._a, dy, buffers.dz)

    def get_config(self):
        config = super().get_config()
        config["activation"] = self.activation.name
        return config


class Dropout(_BufferedLayer):
    """Zeroes a share ``rate`` of its inputs in training and scales the rest by 1/(1-rate).

    At inference (``predict``, ``evaluate``) it passes its input through unchanged.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ConfigError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = gnrandom.generator(seed) if seed is not None else None
        self._mask = None

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        buffers = self._buffers_for(x.shape[0])
        if buffers.mask is None:
            buffers.mask = np.empty_like(x)
            buffers.a = np.empty_like(x)
        rng = self._rng or gnrandom.generator()
        rng.random(out=buffers.mask, dtype=buffers.mask.dtype)
        np.greater_equal(buffers.mask, self.rate, out=buffers.mask)
        buffers.mask *= 1.0 / (1.0 - self.rate)
        self._mask = buffers.mask
        return np.multiply(x, buffers.mask, out=buffers.a)

    def backward(self, dy, need_dx=True):
        if not need_dx or self._mask is None:
            return dy if need_dx else None
        buffers = self._buffers_for(dy.shape[0])
        if buffers.dx is None:
            buffers.dx = np.empty_like(dy)
        return np.multiply(dy, self._mask, out=buffers.dx)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class Flatten(Layer):
    """Reshapes each sample to one dimension: (n, d1, d2, ...) -> (n, d1 * d2 * ...)."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def forward(self, x, training=False):
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._in_shape) if need_dx else None
