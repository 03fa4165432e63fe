"""``keras.backend``: glassnet's numeric settings, and ``clear_session``."""

from __future__ import annotations

from glassnet.backend import epsilon, floatx, set_epsilon, set_floatx, standardize_dtype
from glassnet.utils import clear_session


def backend() -> str:
    """The name of the array library computing everything: NumPy."""
    return "numpy"


__all__ = ["backend", "clear_session", "epsilon", "floatx", "set_epsilon", "set_floatx",
           "standardize_dtype"]
