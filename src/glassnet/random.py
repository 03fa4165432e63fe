"""Seeding: one global generator feeds initializers, shuffling and dropout.

``set_random_seed(s)`` resets it, so two runs seeded alike are identical. An
initializer or layer given its own ``seed=`` uses a private generator instead.
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


def generator(seed: int | None = None) -> np.random.Generator:
    """The global generator, or a private one when a seed is given."""
    if seed is None:
        return _global
    return np.random.default_rng(int(seed))
