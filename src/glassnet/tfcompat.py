"""What TF course code reaches for beside ``tf.keras``, so ``import glassnet as tf`` runs it.

``tf.constant``, ``tf.convert_to_tensor`` and ``tf.cast`` make Tensors (ndarrays that
answer ``.numpy()``); ``tf.float32``... are NumPy's dtypes; ``tf.get_logger()`` is
the ``"glassnet"`` logger and ``tf.autograph.set_verbosity`` does nothing (there is
no graph to trace); ``tf.config.list_physical_devices("GPU")`` is empty. The package
resolves these names on first use (see ``glassnet.__getattr__``).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np

from glassnet.errors import DataError
from glassnet.tensor import Tensor

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, bool_ = np.uint8, np.bool_
DTYPES = {"float16": float16, "float32": float32, "float64": float64, "int8": int8,
          "int16": int16, "int32": int32, "int64": int64, "uint8": uint8, "bool": bool_}


def _dtype(dtype):
    if dtype is None or not isinstance(dtype, str):
        return dtype
    return DTYPES.get(dtype, dtype)


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """A Tensor holding ``value`` (a Python number, list or array); floats default to
    float32, as TF's."""
    try:
        array = np.array(value, dtype=_dtype(dtype))
    except (TypeError, ValueError) as exc:
        raise DataError(f"constant expects a number or a rectangular array, got "
                        f"{type(value).__name__}: {exc}") from None
    if dtype is None and array.dtype == np.float64 and not isinstance(value, np.ndarray):
        array = array.astype(np.float32)
    if shape is not None:
        array = np.broadcast_to(array, tuple(shape)).copy() if array.size == 1 else \
            array.reshape(tuple(shape))
    return array.view(Tensor)


def convert_to_tensor(value, dtype=None, name=None) -> Tensor:
    """``value`` as a Tensor (no copy when it already is an array of that dtype)."""
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=_dtype(dtype)).view(Tensor)
    return constant(value, dtype=dtype)


def cast(x, dtype, name=None) -> Tensor:
    """``x`` converted to ``dtype`` (``tf.float32``, ``"int32"``...)."""
    return np.asarray(x).astype(_dtype(dtype)).view(Tensor)


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop``, both included (float32 for
    Python numbers, as TF's; the tutorials' ``tf.linspace(0.0, 250, 251)``)."""
    dtype = np.result_type(np.float32, *(np.asarray(v).dtype for v in (start, stop)
                                        if isinstance(v, np.ndarray)))
    return np.linspace(start, stop, int(num), dtype=dtype, axis=axis).view(Tensor)


def add_n(inputs, name=None) -> Tensor:
    """The element-wise sum of a list of same-shaped tensors (``tf.add_n(model.losses)``)."""
    arrays = [np.asarray(x) for x in inputs]
    if not arrays:
        raise DataError("add_n expects a non-empty list of tensors, got an empty list")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(f"add_n expects tensors of one shape, got shapes {sorted(shapes)}")
    return np.asarray(sum(arrays[1:], arrays[0])).view(Tensor)


def get_logger() -> logging.Logger:
    """The ``glassnet`` logger (``tf.get_logger().setLevel("ERROR")`` quiets it)."""
    return logging.getLogger("glassnet")


def _set_verbosity(level, alsologtostdout=False) -> None:
    """Accepted and ignored: glassnet runs eagerly, there is no graph code to log."""


autograph = SimpleNamespace(set_verbosity=_set_verbosity)


def _list_physical_devices(device_type=None) -> list:
    """glassnet computes on the CPU with NumPy: one CPU device, no GPU."""
    if device_type not in (None, "CPU"):
        return []
    return [SimpleNamespace(name="/physical_device:CPU:0", device_type="CPU")]


config = SimpleNamespace(list_physical_devices=_list_physical_devices,
                         list_logical_devices=_list_physical_devices)

NAMES = ("add_n", "autograph", "bool_", "cast", "config", "constant", "convert_to_tensor",
         "float16", "float32", "float64", "get_logger", "int16", "int32", "int64", "int8",
         "linspace", "uint8")

__all__ = ["DTYPES", "NAMES", "add_n", "autograph", "cast", "config", "constant",
           "convert_to_tensor", "get_logger", "linspace"]
