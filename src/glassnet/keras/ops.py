"""Keras 3's ``keras.ops`` on NumPy, for ``from glassnet.keras import ops``.

Each function takes Keras 3's argument names and defaults (``axis=None``,
``keepdims=False``, ``dtype="float32"`` as a string or a NumPy dtype) and returns a
:class:`~glassnet.tensor.Tensor` (an ndarray that answers ``.numpy()``). Like Keras,
Python floats become ``float32`` and Python ints ``int32``; ``ones`` / ``zeros`` /
``one_hot`` default to ``float32``; ``argmax`` / ``argmin`` return ``int32``; ``mean``
and ``divide`` of integers give ``float32``. The activations are glassnet's own
(:mod:`glassnet.nn`), so there is one copy of their math.
"""

from __future__ import annotations

import builtins
import difflib
import functools

import numpy as np

from glassnet import nn
from glassnet.errors import ConfigError, ShapeError
from glassnet.tensor import Tensor

FLOATX = "float32"


def _dtype(dtype):
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise ConfigError(f"ops: dtype should be a name such as 'float32' or 'int32'; "
                          f"got {dtype!r}") from None


def _shaped(op):
    """Turn NumPy's shape mismatch into a ShapeError naming the op and the shapes."""
    @functools.wraps(op)
    def checked(*args, **kwargs):
        try:
            return op(*args, **kwargs)
        except ValueError as exc:
            shapes = ", ".join(str(np.shape(a)) if not isinstance(a, (list, tuple)) else
                               "[" + ", ".join(str(np.shape(v)) for v in a) + "]"
                               for a in args[:2])
            raise ShapeError(f"ops.{op.__name__}: the shapes do not fit "
                             f"({shapes}): {exc}") from None
    return checked


def _array(x) -> np.ndarray:
    """``x`` as an ndarray, Python numbers and lists as Keras types them (32-bit)."""
    if isinstance(x, np.ndarray):
        return np.asarray(x)
    array = np.asarray(x)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64:
        return array.astype(np.int32)
    return array


def _weak(scalar, other: np.ndarray):
    """(scalar, other) typed as Keras does: a Python number takes the other operand's
    type, and a float against integers makes both float32."""
    if isinstance(scalar, float) and other.dtype.kind in "iub":
        return np.asarray(scalar, dtype=FLOATX), other.astype(FLOATX)
    return np.asarray(scalar, dtype=other.dtype), other


def _pair(x1, x2):
    a, b = _array(x1), _array(x2)
    if np.isscalar(x1) and isinstance(x2, np.ndarray):
        a, b = _weak(x1, b)
    elif np.isscalar(x2) and isinstance(x1, np.ndarray):
        b, a = _weak(x2, a)
    return a, b


def _out(value) -> Tensor:
    return np.asarray(value).view(Tensor)


def _float_of(x: np.ndarray) -> np.ndarray:
    return x if x.dtype.kind in "fc" else x.astype(FLOATX)


# -- conversion and creation -------------------------------------------------------

def convert_to_tensor(x, dtype=None, sparse=None) -> Tensor:
    """``x`` as a Tensor, cast to ``dtype`` when given."""
    array = _array(x)
    return _out(array if dtype is None else array.astype(_dtype(dtype)))


def convert_to_numpy(x) -> np.ndarray:
    """``x`` as a plain ndarray."""
    return np.array(x.numpy() if isinstance(x, Tensor) else x)


def cast(x, dtype) -> Tensor:
    return _out(_array(x).astype(_dtype(dtype)))


def shape(x) -> tuple:
    """The shape as a tuple of ints."""
    return tuple(np.shape(x))


def ones(shape, dtype=None) -> Tensor:
    return _out(np.ones(shape, dtype=_dtype(dtype) or FLOATX))


def zeros(shape, dtype=None) -> Tensor:
    return _out(np.zeros(shape, dtype=_dtype(dtype) or FLOATX))


def ones_like(x, dtype=None) -> Tensor:
    return _out(np.ones_like(_array(x), dtype=_dtype(dtype)))


def zeros_like(x, dtype=None) -> Tensor:
    return _out(np.zeros_like(_array(x), dtype=_dtype(dtype)))


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """Like ``np.arange``; ``int32`` for ints, ``float32`` once any bound is a float."""
    if dtype is None:
        bounds = [v for v in (start, stop, step) if v is not None]
        floats = builtins.any(isinstance(v, float) for v in bounds)
        dtype = FLOATX if floats else "int32"
    if stop is None:
        start, stop = 0, start
    return _out(np.arange(start, stop, step, dtype=_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    out = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, axis=axis)
    values, step = out if retstep else (out, None)
    values = _out(values.astype(_dtype(dtype) or FLOATX))
    return (values, step) if retstep else values


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False) -> Tensor:
    """Row ``i`` of the identity for each class ``i``; all zeros for an out-of-range id."""
    labels = _array(x).astype(np.int64)
    hot = (labels[..., None] == np.arange(num_classes)).astype(_dtype(dtype) or FLOATX)
    return _out(np.moveaxis(hot, -1, axis))


# -- elementwise -------------------------------------------------------------------

def _unary(ufunc, floats=False):
    def op(x) -> Tensor:
        array = _array(x)
        return _out(ufunc(_float_of(array) if floats else array))
    op.__name__ = ufunc.__name__
    op.__doc__ = f"Elementwise ``np.{ufunc.__name__}``."
    return op


exp = _unary(np.exp, floats=True)
log = _unary(np.log, floats=True)
sqrt = _unary(np.sqrt, floats=True)
square = _unary(np.square)
abs = absolute = _unary(np.absolute)  # noqa: A001 - Keras's name
negative = _unary(np.negative)
sign = _unary(np.sign)
logical_not = _unary(np.logical_not)


def _binary(ufunc):
    def op(x1, x2) -> Tensor:
        a, b = _pair(x1, x2)
        return _out(ufunc(a, b))
    op.__name__ = ufunc.__name__
    op.__doc__ = f"Elementwise ``np.{ufunc.__name__}``, broadcasting."
    return op


add = _binary(np.add)
subtract = _binary(np.subtract)
multiply = _binary(np.multiply)
power = _binary(np.power)
maximum = _binary(np.maximum)
minimum = _binary(np.minimum)
equal = _binary(np.equal)
not_equal = _binary(np.not_equal)
greater = _binary(np.greater)
greater_equal = _binary(np.greater_equal)
less = _binary(np.less)
less_equal = _binary(np.less_equal)
logical_and = _binary(np.logical_and)
logical_or = _binary(np.logical_or)


def divide(x1, x2) -> Tensor:
    """x1 / x2; integers divide to ``float32``."""
    a, b = _pair(x1, x2)
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        a, b = a.astype(FLOATX), b.astype(FLOATX)
    return _out(np.true_divide(a, b))


true_divide = divide


def clip(x, x_min, x_max) -> Tensor:
    array = _array(x)
    return _out(np.clip(array, x_min, x_max).astype(array.dtype))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; alone, the indices where it holds."""
    if x1 is None and x2 is None:
        return [_out(i.astype(np.int32)) for i in np.nonzero(_array(condition))]
    a, b = _pair(x1, x2)
    return _out(np.where(_array(condition), a, b))


# -- activations (glassnet's own) ----------------------------------------------------

def sigmoid(x) -> Tensor:
    return nn.sigmoid(_array(x))


def relu(x) -> Tensor:
    return nn.relu(_array(x))


def tanh(x) -> Tensor:
    return nn.tanh(_array(x))


def softmax(x, axis=-1) -> Tensor:
    return nn.softmax(_array(x), axis=axis)


def log_softmax(x, axis=-1) -> Tensor:
    return nn.log_softmax(_array(x), axis=axis)


# -- reductions --------------------------------------------------------------------

def sum(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001 - Keras's name
    array = _array(x)
    dtype = "int32" if array.dtype.kind in "iub" and array.dtype.itemsize <= 4 else None
    return _out(np.sum(array, axis=axis, keepdims=keepdims, dtype=dtype))


def mean(x, axis=None, keepdims=False) -> Tensor:
    array = _float_of(_array(x))
    return _out(np.mean(array, axis=axis, keepdims=keepdims, dtype=array.dtype))


def max(x, axis=None, keepdims=False, initial=None) -> Tensor:  # noqa: A001
    kwargs = {} if initial is None else {"initial": initial}
    return _out(np.max(_array(x), axis=axis, keepdims=keepdims, **kwargs))


def min(x, axis=None, keepdims=False, initial=None) -> Tensor:  # noqa: A001
    kwargs = {} if initial is None else {"initial": initial}
    return _out(np.min(_array(x), axis=axis, keepdims=keepdims, **kwargs))


def argmax(x, axis=None, keepdims=False) -> Tensor:
    """Index of the largest value (over the flattened array when ``axis`` is None)."""
    return _out(np.argmax(_array(x), axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False) -> Tensor:
    return _out(np.argmin(_array(x), axis=axis, keepdims=keepdims).astype(np.int32))


def norm(x, ord=None, axis=None, keepdims=False) -> Tensor:  # noqa: A002 - Keras's name
    """``np.linalg.norm`` (Frobenius / 2-norm by default), in the input's float type."""
    array = _float_of(_array(x))
    return _out(np.linalg.norm(array, ord=ord, axis=axis, keepdims=keepdims)
                .astype(array.dtype))


# -- linear algebra and shapes --------------------------------------------------------

@_shaped
def matmul(x1, x2) -> Tensor:
    return _out(np.matmul(_array(x1), _array(x2)))


@_shaped
def dot(x1, x2) -> Tensor:
    return _out(np.dot(_array(x1), _array(x2)))


@_shaped
def expand_dims(x, axis) -> Tensor:
    return _out(np.expand_dims(_array(x), axis))


@_shaped
def squeeze(x, axis=None) -> Tensor:
    return _out(np.squeeze(_array(x), axis=axis))


@_shaped
def reshape(x, newshape) -> Tensor:
    return _out(np.reshape(_array(x), newshape))


def transpose(x, axes=None) -> Tensor:
    return _out(np.transpose(_array(x), axes))


@_shaped
def concatenate(xs, axis=0) -> Tensor:
    return _out(np.concatenate([_array(x) for x in xs], axis=axis))


@_shaped
def stack(x, axis=0) -> Tensor:
    return _out(np.stack([_array(v) for v in x], axis=axis))


__all__ = [
    "abs", "absolute", "add", "arange", "argmax", "argmin", "cast", "clip", "concatenate",
    "convert_to_numpy", "convert_to_tensor", "divide", "dot", "equal", "exp", "expand_dims",
    "greater", "greater_equal", "less", "less_equal", "linspace", "log", "log_softmax",
    "logical_and", "logical_not", "logical_or", "matmul", "max", "maximum", "mean", "min",
    "minimum", "multiply", "negative", "norm", "not_equal", "one_hot", "ones", "ones_like",
    "power", "relu", "reshape", "shape", "sigmoid", "sign", "softmax", "sqrt", "square",
    "squeeze", "stack", "subtract", "sum", "tanh", "transpose", "true_divide", "where",
    "zeros", "zeros_like"]


def __getattr__(name):
    close = difflib.get_close_matches(name, __all__, n=5)
    hint = f" Close names: {', '.join(close)}." if close else ""
    raise AttributeError(
        f"module 'glassnet.keras.ops' has no attribute {name!r}: glassnet has a subset "
        f"of keras.ops.{hint}")
