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
        self._z = self._a = self._dz = None

    @property
    def activation_name(self) -> str:
        return self.activation.name

    def forward(self, x, training=False, keep=None):
        """a = g(z), z being the input x."""
        if not (training if keep is None else keep):
            return self.activation.forward(x, np.empty_like(x))
        self._z = x
        self._a = self._workspace.activate(self.activation, x)      # a = g(z)
        self._dz = None
        return self._a

    def backward(self, da, need_dx=True):
        """dz = da·g′(z), which is dL/dx."""
        if not need_dx:
            return None
        # Into a buffer of its own: da is left as it was given.
        self._dz = self._workspace.activation_grad(self.activation, self._z, self._a, da,
                                                   overwrite_da=False)
        return self._dz

    def backward_from_z(self, dz, need_dx=True):
        """Given dL/dz (a loss fused with this activation): dL/dx is dz itself."""
        self._dz = dz
        return dz if need_dx else None

    def kept(self) -> dict[str, np.ndarray]:
        return {name: value for name, value in
                (("z", self._z), ("a", self._a), ("dz", self._dz))
                if value is not None}

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

    def forward(self, x, training=False, keep=None):
        """a = x · mask in training (mask 0 or 1/(1 − rate), drawn per element), else x."""
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        rng = self._rng or gnrandom.generator()
        self._mask, a = self._workspace.mask(x, self.rate, rng)
        return a

    def backward(self, dy, need_dx=True):
        """dx = dy · mask (dy itself when no mask was drawn)."""
        if not need_dx or self._mask is None:
            return dy if need_dx else None
        return self._workspace.times_mask(dy, self._mask)

    def kept(self) -> dict[str, np.ndarray]:
        return {} if self._mask is None else {"mask": self._mask}

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class Flatten(Layer):
    """Reshapes each sample to one dimension: (n, d1, d2, ...) -> (n, d1 * d2 * ...)."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def forward(self, x, training=False, keep=None):
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._in_shape) if need_dx else None
