"""Seeding: one global generator feeds initializers, shuffling and dropout.

``set_random_seed(s)`` resets it, so two runs seeded alike are identical. An
initializer or layer given its own ``seed=`` uses a private generator instead.
``set_seed``, ``normal`` and ``uniform`` are ``tf.random``'s spelling of the same
(``import glassnet as tf; tf.random.set_seed(1234)``).
"""

from __future__ import annotations

import random as _pyrandom

import numpy as np

_global = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Seed glassnet's generator (and Python's and NumPy's legacy ones, like Keras)."""
    global _global
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        from glassnet.errors import ConfigError

        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    _global = np.random.default_rng(int(seed))
    _pyrandom.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def set_seed(seed: int) -> None:
    """``tf.random.set_seed``: the same as :func:`set_random_seed`."""
    set_random_seed(seed)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
    """Samples of N(mean, stddev) of ``shape``, a Tensor of ``floatx`` (as tf.random.normal)."""
    from glassnet.backend import standardize_dtype
    from glassnet.tensor import Tensor

    values = generator(seed).normal(mean, stddev, tuple(shape))
    return values.astype(standardize_dtype(dtype)).view(Tensor)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None, name=None):
    """Samples of U[minval, maxval) of ``shape``, a Tensor of ``floatx``."""
    from glassnet.backend import standardize_dtype
    from glassnet.tensor import Tensor

    values = generator(seed).uniform(minval, maxval, tuple(shape))
    return values.astype(standardize_dtype(dtype)).view(Tensor)


def generator(seed: int | None = None) -> np.random.Generator:
    """The global generator, or a private one when a seed is given."""
    if seed is None:
        return _global
    return np.random.default_rng(int(seed))


class seeded:
    """Within ``with seeded(s):`` glassnet draws from a generator seeded with ``s``.

    The global generator is put back afterwards, so a library call (an estimator's
    ``fit``) can be repeatable without disturbing the caller's random state.
    """

    def __init__(self, seed: int | None):
        self.seed = seed

    def __enter__(self):
        global _global
        self._saved = _global
        if self.seed is not None:
            _global = np.random.default_rng(int(self.seed))
        return _global

    def __exit__(self, *exc):
        global _global
        _global = self._saved
        return False


__all__ = ["generator", "normal", "seeded", "set_random_seed", "set_seed", "uniform"]
