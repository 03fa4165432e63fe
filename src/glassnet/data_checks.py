"""Checks on user data, done once before a loop: clear errors instead of NumPy tracebacks."""

from __future__ import annotations

import numpy as np

from glassnet.errors import DataError, ShapeError


def as_float_array(data, name: str, dtype) -> np.ndarray:
    """Convert ``data`` to a float array of ``dtype``, or say what was wrong with it."""
    if data is None:
        raise DataError(f"{name} is required, got None")
    try:
        array = np.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise DataError(f"{name} must be a rectangular numeric array: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name} must be numeric, got an array of dtype {array.dtype}")
    if array.ndim == 0:
        raise DataError(f"{name} must have a samples axis, got a scalar")
    array = np.ascontiguousarray(array, dtype=dtype)
    check_finite(array, name)
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    # A sum is NaN or inf whenever any element is, and reads the data once without
    # isfinite's boolean copy (47 MB for 60,000 x 784); only a non-finite sum (a
    # NaN, an inf, or a mere overflow) pays for the exact element-wise check.
    if array.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(array, axis=None)
    if not np.isfinite(total) and not np.isfinite(array).all():
        where = np.argwhere(~np.isfinite(array))[0]
        kind = "NaN" if np.isnan(array[tuple(where)]) else "inf"
        position = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
        raise DataError(f"{name} contains {kind} (first at {position}); "
                        f"remove or impute missing values before training")


def check_same_length(**arrays) -> int:
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise DataError(f"{' and '.join(lengths)} must have the same number of samples: {given}")
    return next(iter(lengths.values()))


def check_features(x: np.ndarray, expected: tuple, what: str = "model") -> None:
    if tuple(x.shape[1:]) != tuple(expected):
        shape = ", ".join(map(str, expected))
        hint = ""
        if len(expected) == 1 and x.ndim == 2 and x.shape[0] == expected[0]:
            hint = " — transposed?"
        raise ShapeError(f"{what} expects input of shape (n_samples, {shape}), "
                         f"got {x.shape}{hint}")
