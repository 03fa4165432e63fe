"""Numeric settings shared by the engine: the default float type and epsilon."""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError

_FLOATX = "float32"
_EPSILON = 1e-7


def floatx() -> str:
    """The default float type of new weights and inputs: ``"float32"`` or ``"float64"``."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type; float64 is useful for exact gradient checks."""
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ConfigError(f"floatx must be 'float32' or 'float64', got {value!r}")
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor Keras uses to keep logs and divisions finite (1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def standardize_dtype(dtype) -> np.dtype:
    """Resolve ``None`` to floatx and check that a dtype is a float type."""
    resolved = np.dtype(floatx() if dtype is None else dtype)
    if resolved.kind != "f":
        raise ConfigError(f"dtype must be a float type, got {resolved}")
    return resolved


__all__ = ["epsilon", "floatx", "set_epsilon", "set_floatx", "standardize_dtype"]
