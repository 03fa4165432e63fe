"""Data for a functional Model with several inputs: many arrays in, one array of rows.

``fit``, ``evaluate`` and ``predict`` batch, shuffle and split one array of rows. A
model with several inputs takes its ``x`` as a list (in the order of ``Model(inputs=
[...])``) or a dict by input name, as Keras does; :func:`pack_inputs` checks each array
against its input, naming the one that is wrong, and lays them side by side (each
flattened) so the rows of all inputs stay together; ``Model.forward`` splits them.
"""

from __future__ import annotations

import numpy as np

from glassnet._engine.data_checks import as_float_array, check_features
from glassnet.errors import DataError, ValueTypeError


def _by_position(model, x, name: str) -> list:
    names = model.input_names
    if isinstance(x, dict):
        missing = [n for n in names if n not in x]
        extra = sorted(str(k) for k in x if k not in names)
        if missing or extra:
            raise DataError(f"{name} for model {model.name!r} is a dict keyed by input name "
                            f"{names}; missing {missing}, unknown {extra}")
        return [x[n] for n in names]
    if not isinstance(x, (list, tuple)):
        raise ValueTypeError(f"model {model.name!r} has {len(names)} inputs {names}: pass "
                             f"{name} as a list of {len(names)} arrays or a dict by input "
                             f"name, got {type(x).__name__}")
    if len(x) != len(names):
        raise DataError(f"model {model.name!r} has {len(names)} inputs {names}, but {name} "
                        f"holds {len(x)} arrays")
    return list(x)


def pack_inputs(model, x, name: str = "x") -> np.ndarray:
    """``x`` for a several-input model as one (n, total features) array."""
    dtype = model.weights[0].dtype if model.weights else np.float32
    arrays, rows = [], None
    for tensor, data in zip(model.inputs, _by_position(model, x, name)):
        what = f"{name} for input {tensor.node.layer.name!r}"
        array = as_float_array(data, what, dtype)
        given_shape = array.shape
        if array.ndim == 1:  # a 1-D array is a column, as for one input
            array = array.reshape(-1, 1)
        check_features(array, tuple(tensor.shape[1:]), f"input {tensor.node.layer.name!r}",
                       given_shape)
        if rows is not None and len(array) != rows[1]:
            raise DataError(f"{name}: input {tensor.node.layer.name!r} has {len(array)} "
                            f"samples but input {rows[0]!r} has {rows[1]}")
        rows = rows or (tensor.node.layer.name, len(array))
        arrays.append(array.reshape(len(array), -1))
    return np.concatenate(arrays, axis=1)
