"""Constraints applied to a weight after each optimizer step (Keras's formulas)."""

from __future__ import annotations

import numpy as np

from glassnet._engine.resolve import resolve, serialize


class Constraint:
    """Base class: ``apply(w)`` projects w back into the allowed set, in place."""

    def apply(self, w: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, w):
        w = np.array(w, dtype=float)
        self.apply(w)
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class NonNeg(Constraint):
    """Weights are clipped at zero from below."""

    def apply(self, w):
        np.maximum(w, 0, out=w)


class MaxNorm(Constraint):
    """Each unit's incoming weight vector (along ``axis``) has norm at most ``max_value``."""

    def __init__(self, max_value=2.0, axis=0):
        self.max_value, self.axis = float(max_value), axis

    def apply(self, w):
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, self.max_value)
        w *= desired / (1e-7 + norms)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Each unit's incoming weight vector has norm 1."""

    def __init__(self, axis=0):
        self.axis = axis

    def apply(self, w):
        w /= 1e-7 + np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Each unit's incoming norm is pulled into [min_value, max_value] at ``rate``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.rate, self.axis = float(rate), axis

    def apply(self, w):
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        w *= desired / (1e-7 + norms)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


CONSTRAINTS = {"non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm,
               "min_max_norm": MinMaxNorm}


def get(identifier) -> Constraint | None:
    """Resolve ``"max_norm"``, a class, a config dict or an instance; None stays None."""
    if identifier is None:
        return None
    return resolve(identifier, kind="constraint", base=Constraint, names=CONSTRAINTS)


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize"]
