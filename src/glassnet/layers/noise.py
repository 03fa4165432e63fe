"""GaussianNoise: adds N(0, stddev²) noise to its input in training, nothing at inference."""

from __future__ import annotations

import numbers

from glassnet import random as gnrandom
from glassnet.errors import ConfigError
from glassnet.layers.base import Layer


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` while training.

    A regularizer, as Keras: ``predict`` and ``evaluate`` pass the input through
    unchanged. The noise does not depend on x, so the backward pass is the identity.
    ``seed`` gives the layer its own generator (else glassnet's global one).
    """

    trains_differently = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or \
                not 0 <= stddev <= 1:
            raise ConfigError(f"GaussianNoise stddev must be a number in [0, 1] (as Keras), "
                              f"got {stddev!r}")
        self.stddev = float(stddev)
        self.seed = seed
        self._rng = gnrandom.generator(seed) if seed is not None else None

    def forward(self, x, training=False, keep=None):
        if not training or self.stddev == 0.0:
            return x
        rng = self._rng or gnrandom.generator()
        return x + rng.normal(0.0, self.stddev, size=x.shape).astype(x.dtype, copy=False)

    def backward(self, dy, need_dx=True):
        return dy if need_dx else None

    def onnx_nodes(self, graph, x: str, scope: str) -> str:
        return x  # the identity at inference

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
