"""Initializers: how a kernel or a bias starts, with Keras's formulas.

Glorot, He and LeCun are one rule, :class:`VarianceScaling`, with different
arguments. For a kernel of shape (fan_in, fan_out):

- uniform:            U(-limit, limit), limit = sqrt(3 * scale / n)
- truncated_normal:   N(0, stddev) cut at 2 stddev, stddev = sqrt(scale / n) / 0.8796...
- untruncated_normal: N(0, sqrt(scale / n))

where n is fan_in, fan_out or their mean, by ``mode``. The defaults are Keras's:
a Dense kernel starts GlorotUniform, a bias starts at Zeros.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import random as gnrandom
from glassnet._engine.resolve import resolve, serialize
from glassnet.errors import ConfigError, unknown_name

# Stddev of a unit normal truncated to [-2, 2]; dividing by it restores the wanted variance.
_TRUNCATED_STD = 0.87962566103423978


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = float(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, mean, stddev, shape):
    values = rng.standard_normal(shape)
    bad = np.abs(values) > 2.0
    while bad.any():  # resample outside two standard deviations, as Keras does
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2.0
    return mean + stddev * values


class Initializer:
    """Base class: ``init(shape, dtype)`` returns a new array."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        from glassnet.backend import standardize_dtype

        return np.asarray(self.sample(tuple(int(s) for s in shape)),
                          dtype=standardize_dtype(dtype))

    def sample(self, shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class Zeros(Initializer):
    """All zeros (the default bias)."""

    def sample(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones."""

    def sample(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    """Every entry equal to ``value``; an array value is broadcast to the shape, as
    Keras (``Constant(np.log([pos / neg]))`` for an output bias)."""

    def __init__(self, value=0.0):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"Constant value must be a number or a numeric array, got "
                              f"{value!r}") from None
        self.value = float(array.reshape(-1)[0]) if array.size == 1 else array

    def sample(self, shape):
        try:
            return np.broadcast_to(self.value, shape).copy()
        except ValueError:
            from glassnet.errors import ShapeError

            raise ShapeError(f"Constant value of shape {np.shape(self.value)} does not fit "
                             f"a weight of shape {shape}") from None

    def get_config(self):
        value = self.value
        return {"value": value.tolist() if isinstance(value, np.ndarray) else value}


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return gnrandom.generator(self.seed)


class RandomNormal(_Seeded):
    """N(mean, stddev); Keras default stddev 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return self._rng().normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    """U(minval, maxval); Keras default [-0.05, 0.05]."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Seeded):
    """N(mean, stddev) with values beyond two stddev drawn again; default stddev 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return _truncated_normal(self._rng(), self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Seeded):
    """Scale the variance to the layer's fans: the rule behind Glorot, He and LeCun."""

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ConfigError(f"VarianceScaling scale must be positive, got {scale!r}")
        if mode not in self.MODES:
            raise unknown_name("mode", mode, self.MODES)
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise unknown_name("distribution", distribution, self.DISTRIBUTIONS)
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, 0.0, math.sqrt(variance) / _TRUNCATED_STD, shape)
        return rng.normal(0.0, math.sqrt(variance), shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


def _variance_scaling(name, scale, mode, distribution, formula):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    doc = f"{name}: {formula}."
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc})


GlorotUniform = _variance_scaling(
    "GlorotUniform", 1.0, "fan_avg", "uniform",
    "U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))")
GlorotNormal = _variance_scaling(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal",
    "truncated N(0, sqrt(2 / (fan_in + fan_out)))")
HeNormal = _variance_scaling(
    "HeNormal", 2.0, "fan_in", "truncated_normal", "truncated N(0, sqrt(2 / fan_in))")
HeUniform = _variance_scaling(
    "HeUniform", 2.0, "fan_in", "uniform", "U(-limit, limit), limit = sqrt(6 / fan_in)")
LecunNormal = _variance_scaling(
    "LecunNormal", 1.0, "fan_in", "truncated_normal", "truncated N(0, sqrt(1 / fan_in))")
LecunUniform = _variance_scaling(
    "LecunUniform", 1.0, "fan_in", "uniform", "U(-limit, limit), limit = sqrt(3 / fan_in)")

INITIALIZERS: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
}


# Keras's aliases ("normal" in the blogs' kernel_initializer="normal").
_ALIASES = {"normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros}


def get(identifier) -> Initializer:
    """Resolve a name (``"he_normal"``), a class name, a config dict or an instance."""
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()]()  # an unknown name lists the canonical ones
    return resolve(identifier, kind="initializer", base=Initializer, names=INITIALIZERS)


__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
           "INITIALIZERS", "Initializer", "LecunNormal", "LecunUniform", "Ones",
           "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros",
           "get", "serialize"]
