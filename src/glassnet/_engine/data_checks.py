"""Checks on user data, done once before a loop: clear errors instead of NumPy tracebacks."""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError, DataError, ShapeError, ValueTypeError


def as_float_array(data, name: str, dtype) -> np.ndarray:
    """Convert ``data`` to a float array of ``dtype``, or say what was wrong with it."""
    if data is None:
        raise DataError(f"{name} is required, got None")
    check_array_like(data, name)
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


def check_array_like(data, name: str) -> None:
    """Refuse what NumPy would turn into an object array: generators, dicts, text columns."""
    if isinstance(data, dict):
        raise ValueTypeError(f"{name} must be an array of shape (n_samples, ...) (a NumPy "
                             f"array, nested lists or a pandas DataFrame), got a dict: "
                             f"glassnet models have one input; stack the arrays first")
    lazy = hasattr(data, "__iter__") and not hasattr(data, "__len__") \
        and not hasattr(data, "__array__")
    if hasattr(data, "__next__") or lazy or isinstance(data, (set, frozenset)):
        raise ValueTypeError(f"{name} must be an array of shape (n_samples, ...) (a NumPy "
                             f"array, nested lists or a pandas DataFrame), got a "
                             f"{type(data).__name__}: fit takes arrays, not generators or "
                             f"datasets; collect it first, e.g. np.array(list(...))")
    if hasattr(data, "dtypes") and hasattr(data, "isna"):
        _check_frame(data, name)


def _check_frame(frame, name: str) -> None:
    """Name the pandas column (or Series) holding text or missing values (pd.NA, NaN)."""
    columns = frame.items() if hasattr(frame, "columns") else [(frame.name, frame)]
    for column, values in columns:
        label = f"{name} column {column!r}" if column is not None else name
        kind = getattr(values.dtype, "kind", "O")
        if kind not in "biuf":
            example = values.dropna().iloc[0] if values.notna().any() else None
            raise DataError(f"{label} must be numeric, got dtype {values.dtype}"
                            + (f" (e.g. {example!r})" if example is not None else "")
                            + ": encode text as numbers first (e.g. pd.get_dummies)")
        missing = values.isna().to_numpy()
        if missing.any():
            row = values.index[int(np.argmax(missing))]
            raise DataError(f"{label} has {int(missing.sum())} missing value(s) (NaN or "
                            f"pd.NA; first at index {row!r}); fill or drop them first")


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


def numeric_targets(data, name: str) -> np.ndarray:
    """``data`` as a finite numeric array (targets, before a loss shapes them)."""
    check_array_like(data, name)
    try:
        raw = np.asarray(data)
    except ValueError as exc:
        raise DataError(f"{name} must be a rectangular numeric array: {exc}") from None
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{name} must be numeric, got an array of dtype {raw.dtype}")
    check_finite(raw, name)
    return raw


def check_same_length(**arrays) -> int:
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise DataError(f"{' and '.join(lengths)} must have the same number of samples: {given}")
    return next(iter(lengths.values()))


def check_features(x: np.ndarray, expected: tuple, what: str = "model",
                   given_shape: tuple | None = None) -> None:
    """Check x's feature axes; ``given_shape`` is the shape the user passed (before a
    1-D array was taken as a column), the one the message reports."""
    if tuple(x.shape[1:]) != tuple(expected):
        shape = ", ".join(map(str, expected))
        given = tuple(x.shape if given_shape is None else given_shape)
        hint = ""
        if len(expected) == 1 and x.ndim == 2 and x.shape[0] == expected[0]:
            hint = " — transposed?"
        if len(given) == 1:
            hint = " (a 1-D array is taken as one feature per sample)"
        raise ShapeError(f"{what} expects input of shape (n_samples, {shape}), "
                         f"got {given}{hint}")


def check_fit_options(verbose, shuffle, callbacks) -> list:
    """Check ``fit``'s verbose and shuffle; the callbacks as a list (one may be given bare)."""
    from glassnet.callbacks import Callback

    if verbose != "auto" and (not isinstance(verbose, (int, np.integer)) or
                              verbose not in (0, 1, 2)):
        raise ConfigError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ConfigError(f"shuffle must be True or False, got {shuffle!r}")
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise ValueTypeError(f"callbacks must be a list of Callback objects, got "
                             f"{type(callbacks).__name__}")
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise ValueTypeError(f"callbacks[{i}] must be a Callback (e.g. EarlyStopping()), "
                                 f"got {callback!r}")
    return list(callbacks)


def class_weights(class_weight, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """One weight per sample from ``{class: weight}``; each class must be one the model
    predicts (0..n_classes-1: 0 and 1 for a single sigmoid unit)."""
    if not isinstance(class_weight, dict):
        raise ConfigError(f"class_weight must be a dict {{class: weight}}, got "
                          f"{type(class_weight).__name__}")
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = np.rint(labels.reshape(-1)).astype(int)
    for cls, weight in class_weight.items():
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or cls < 0:
            raise ConfigError(f"class_weight keys must be class indices (ints >= 0), got "
                              f"{cls!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) or \
                not np.isfinite(weight) or weight < 0:
            raise ConfigError(f"class_weight[{cls}] must be a number >= 0, got {weight!r}")
    absent = sorted(int(c) for c in class_weight if c >= n_classes)
    if absent:
        present = np.unique(labels)
        shown = ", ".join(map(str, present[:20].tolist())) + (", ..." if len(present) > 20
                                                             else "")
        raise DataError(f"class_weight names class {absent[0]}, which is not in y: the "
                        f"model predicts classes 0..{n_classes - 1} (classes in y: {shown})")
    table = np.ones(max(n_classes, labels.max() + 1))
    for cls, weight in class_weight.items():
        table[int(cls)] = float(weight)
    return table[labels]
