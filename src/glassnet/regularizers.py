"""Weight penalties added to the loss: L1, L2 and both (Keras's formulas).

- L1(l1):  penalty = l1 * sum(|w|),   gradient = l1 * sign(w)
- L2(l2):  penalty = l2 * sum(w**2),  gradient = 2 * l2 * w     (no 1/2, as in Keras)
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.resolve import resolve, serialize
from glassnet.errors import ConfigError


class Regularizer:
    """Base class: ``penalty(w)`` is added to the loss, ``gradient(w)`` to w's gradient."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if not np.isfinite(value) or value < 0:
                raise ConfigError(f"{type(self).__name__} {name} must be >= 0, got {value!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w) -> float:
        return self.penalty(np.asarray(w))

    def penalty(self, w: np.ndarray) -> float:
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w).sum())
        if self.l2:
            total += self.l2 * float(np.square(w).sum())
        return total

    def add_gradient(self, w: np.ndarray, grad: np.ndarray) -> None:
        """Add d(penalty)/dw to ``grad`` in place."""
        if self.l1:
            grad += self.l1 * np.sign(w)
        if self.l2:
            grad += (2.0 * self.l2) * w

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w**2); Keras defaults l1 = l2 = 0."""


class L1(Regularizer):
    """l1 * sum(|w|); Keras default l1 = 0.01."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 * sum(w**2); Keras default l2 = 0.01."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


REGULARIZERS = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}
# Keras exports the classes under these names too: regularizers.l2(0.001).
l1, l2, l1_l2 = L1, L2, L1L2


def get(identifier) -> Regularizer | None:
    """Resolve ``"l2"``, a class, a config dict or an instance; None stays None."""
    if identifier is None:
        return None
    return resolve(identifier, kind="regularizer", base=Regularizer, names=REGULARIZERS)


__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]
