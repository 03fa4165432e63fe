"""``glassnet.keras.ops`` against the real ``keras.ops`` (Keras 3, torch backend).

Each case calls the same function with the same arguments on both and compares the
values (``keras.ops.convert_to_numpy`` of Keras's result) and the dtype.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet
from frameworks import need
from glassnet.keras import ops
from glassnet.tensor import Tensor

RNG = np.random.default_rng(7)
A = RNG.normal(size=(3, 4)).astype(np.float32)
B = RNG.normal(size=(3, 4)).astype(np.float32)
P = np.abs(A) + 0.1  # positive, for log and sqrt
M = RNG.normal(size=(4, 2)).astype(np.float32)
T3 = RNG.normal(size=(2, 3, 4)).astype(np.float32)
I = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int32)
LABELS = np.array([0, 2, 1, 2], dtype=np.int32)

# (function name, positional args, keyword args)
CASES = [
    ("ones", ((3, 3),), {}), ("ones", ((2,),), {"dtype": "int32"}),
    ("zeros", ((2, 3),), {}), ("zeros", ((2,),), {"dtype": "float64"}),
    ("ones_like", (A,), {}), ("ones_like", (I,), {"dtype": "float32"}),
    ("zeros_like", (I,), {}),
    ("arange", (5,), {}), ("arange", (1, 7, 2), {}), ("arange", (0.0, 1.0, 0.25), {}),
    ("arange", (4,), {"dtype": "float32"}),
    ("linspace", (0.0, 1.0, 5), {}), ("linspace", (0, 2, 4), {"endpoint": False}),
    ("one_hot", (LABELS, 3), {}), ("one_hot", (LABELS, 4), {"axis": 0}),
    ("cast", (A, "int32"), {}), ("cast", (I, "float32"), {}),
    ("convert_to_tensor", ([1.5, 2.0],), {}), ("convert_to_tensor", ([1, 2],), {}),
    ("convert_to_tensor", (I,), {"dtype": "float32"}),
    ("exp", (A,), {}), ("log", (P,), {}), ("sqrt", (P,), {}), ("square", (I,), {}),
    ("abs", (A,), {}), ("absolute", (I,), {}), ("negative", (A,), {}), ("sign", (I,), {}),
    ("sqrt", (np.array([4, 9], np.int32),), {}),
    ("add", (A, B), {}), ("add", (I, 2), {}), ("add", (I, 0.5), {}), ("add", (A, 1.0), {}),
    ("subtract", (A, B), {}), ("multiply", (A, 2.0), {}), ("multiply", (I, I), {}),
    ("divide", (A, B), {}), ("divide", (I, 2), {}), ("true_divide", (A, 4.0), {}),
    ("power", (P, 2.0), {}), ("maximum", (A, 0.0), {}), ("minimum", (A, B), {}),
    ("equal", (I, 1), {}), ("not_equal", (A, B), {}), ("greater", (A, B), {}),
    ("greater_equal", (I, 1), {}), ("less", (A, 0.0), {}), ("less_equal", (A, B), {}),
    ("logical_and", (A > 0, B > 0), {}), ("logical_or", (A > 0, B > 0), {}),
    ("logical_not", (A > 0,), {}),
    ("clip", (A, -0.5, 0.5), {}), ("clip", (I, 0, 3), {}),
    ("where", (A > 0, A, B), {}), ("where", (A > 0, A, 0.0), {}),
    ("sigmoid", (A,), {}), ("relu", (A,), {}), ("tanh", (A,), {}),
    ("softmax", (A,), {}), ("softmax", (A,), {"axis": 0}),
    ("log_softmax", (A,), {}), ("log_softmax", (T3,), {"axis": 1}),
    ("sum", (A,), {}), ("sum", (A,), {"axis": 1}), ("sum", (T3,), {"axis": (0, 2)}),
    ("sum", (A,), {"axis": 0, "keepdims": True}), ("sum", (I,), {"axis": 1}),
    ("mean", (A,), {}), ("mean", (T3,), {"axis": -1, "keepdims": True}),
    ("mean", (I,), {"axis": 0}),
    ("max", (A,), {}), ("max", (A,), {"axis": 1, "keepdims": True}), ("max", (I,), {"axis": 0}),
    ("min", (T3,), {"axis": 2}), ("min", (A,), {"axis": 0, "keepdims": True}),
    ("argmax", (A,), {}), ("argmax", (A,), {"axis": 1}),
    ("argmax", (T3,), {"axis": 0, "keepdims": True}),
    ("argmin", (A,), {"axis": 0}), ("argmin", (I,), {}),
    ("norm", (A,), {}), ("norm", (A,), {"axis": 1}), ("norm", (A,), {"ord": 1, "axis": 0}),
    ("norm", (A,), {"axis": -1, "keepdims": True}), ("norm", (A,), {"ord": "fro"}),
    ("matmul", (A, M), {}), ("matmul", (T3, M), {}), ("dot", (A, M), {}),
    ("dot", (A[0], B[0]), {}),
    ("expand_dims", (A, 0), {}), ("expand_dims", (A, -1), {}),
    ("squeeze", (A[None],), {}), ("squeeze", (T3[:, :1],), {"axis": 1}),
    ("reshape", (A, (2, 6)), {}), ("reshape", (T3, (-1, 4)), {}),
    ("transpose", (A,), {}), ("transpose", (T3,), {"axes": (1, 0, 2)}),
    ("concatenate", ([A, B],), {}), ("concatenate", ([A, B],), {"axis": -1}),
    ("stack", ([A, B],), {}), ("stack", ([A, B],), {"axis": 2}),
]


def _id(case):
    name, args, kwargs = case
    return f"{name}-{len(args)}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_each_op_computes_as_keras_ops(case):
    keras = need("keras")
    name, args, kwargs = case
    theirs = keras.ops.convert_to_numpy(getattr(keras.ops, name)(*args, **kwargs))
    ours = getattr(ops, name)(*args, **kwargs)
    assert isinstance(ours, Tensor)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


def test_shape_is_a_tuple_of_ints_as_keras_gives():
    keras = need("keras")
    assert ops.shape(T3) == tuple(keras.ops.shape(T3)) == (2, 3, 4)


def test_convert_to_numpy_gives_a_plain_ndarray():
    out = ops.convert_to_numpy(ops.ones((2, 2)))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.ones((2, 2), np.float32))


def test_where_with_only_a_condition_gives_indices_as_keras():
    keras = need("keras")
    ours = ops.where(I > 0)
    theirs = [keras.ops.convert_to_numpy(t) for t in keras.ops.where(I > 0)]
    assert len(ours) == len(theirs) == 2
    for mine, ref in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, ref)


def test_linspace_with_retstep_gives_the_step():
    values, step = ops.linspace(0.0, 1.0, 5, retstep=True)
    np.testing.assert_allclose(values, [0, 0.25, 0.5, 0.75, 1.0])
    assert step == pytest.approx(0.25)


def test_activations_are_glassnets_own(monkeypatch):
    # One copy of the math: ops.softmax is glassnet.nn.softmax on the same array.
    calls = []
    monkeypatch.setattr(glassnet.nn, "softmax", lambda x, axis=-1: calls.append(axis) or x)
    ops.softmax(A, axis=0)
    assert calls == [0]


def test_an_unknown_name_is_an_attribute_error_listing_close_names():
    with pytest.raises(AttributeError, match=r"'argmaxx'.*Close names: argmax"):
        ops.argmaxx  # noqa: B018
    with pytest.raises(ImportError):
        from glassnet.keras.ops import no_such_op  # noqa: F401


def test_ops_is_reachable_both_ways_and_import_glassnet_stays_light():
    import subprocess
    import sys

    import glassnet.keras

    assert glassnet.keras.ops is ops
    code = ("import sys, glassnet; import glassnet.keras; "
            "print('glassnet.keras.ops' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_a_bad_dtype_is_a_config_error_naming_it():
    with pytest.raises(glassnet.errors.ConfigError, match=r"dtype .*got 'flaot32'"):
        ops.ones((2,), dtype="flaot32")


@pytest.mark.parametrize("call", [lambda: ops.matmul(A, B), lambda: ops.reshape(A, (5,)),
                                  lambda: ops.concatenate([A, M])])
def test_mismatched_shapes_are_a_shape_error_naming_the_shapes(call):
    with pytest.raises(glassnet.errors.ShapeError, match=r"ops\.\w+: the shapes do not fit "
                                                         r"\(.*\(3, 4\)"):
        call()
