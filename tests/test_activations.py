"""Activations: values against their formulas (Keras 3 defaults), derivatives against
central differences, and finite results for inputs of any size."""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations
from glassnet.errors import UnknownNameError

Z = np.array([[-3.0, -1.2, -0.3, 0.2, 0.9, 2.5], [1.5, -2.2, 0.05, -0.7, 3.1, -0.01]])


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


FORMULAS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
    "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),  # Keras 3: negative_slope=0.2
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1.0),  # alpha=1
    # Keras 3's gelu defaults to the exact form, approximate=False.
    "gelu": np.vectorize(lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "silu": lambda z: z * _sigmoid(z),
}


@pytest.mark.parametrize("name", list(FORMULAS))
def test_value_matches_the_formula(name):
    got = activations.get(name)(Z)
    np.testing.assert_allclose(got, FORMULAS[name](Z), rtol=1e-12, atol=1e-15)
    assert getattr(activations, name) is activations.get(name)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_backward_matches_central_differences(name):
    fn = activations.get(name)
    rng = np.random.default_rng(0)
    da = rng.normal(size=Z.shape)  # an upstream gradient, so softmax's full Jacobian is used
    a = fn.forward(Z, np.empty_like(Z))
    analytic = fn.backward(Z, a, da, np.empty_like(Z))
    h = 1e-6
    numeric = np.zeros_like(Z)
    for index in np.ndindex(Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = ((fn(plus) - fn(minus)) * da).sum() / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_huge_inputs_give_finite_values_and_gradients(name):
    for dtype in (np.float32, np.float64):
        z = np.array([[-1e4, -800.0, -90.0, 0.0, 90.0, 800.0, 1e4]], dtype=dtype)
        fn = activations.get(name)
        a = fn.forward(z, np.empty_like(z))
        dz = fn.backward(z, a, np.ones_like(z), np.empty_like(z))
        assert np.isfinite(a).all() and np.isfinite(dz).all(), (name, dtype, a, dz)
        assert a.dtype == dtype


def test_limits_at_the_tails():
    z = np.array([-1000.0, 1000.0])
    np.testing.assert_array_equal(activations.sigmoid(z), [0.0, 1.0])
    np.testing.assert_array_equal(activations.softplus(z), [0.0, 1000.0])
    np.testing.assert_array_equal(activations.silu(z), [-0.0, 1000.0])
    np.testing.assert_allclose(activations.softmax(np.array([[1000.0, 0.0, -1000.0]])),
                               [[1.0, 0.0, 0.0]])


def test_softmax_rows_sum_to_one():
    p = activations.softmax(np.random.default_rng(1).normal(scale=20, size=(50, 7)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_float32_stays_float32_and_ints_become_floats():
    assert activations.relu(np.ones(3, dtype=np.float32)).dtype == np.float32
    np.testing.assert_array_equal(activations.relu(np.array([-2, 3])), [0.0, 3.0])


def test_none_means_linear_and_unknown_names_are_refused():
    assert activations.get(None) is activations.linear
    assert gn.layers.Dense(1).activation_name == "linear"
    with pytest.raises(UnknownNameError, match="Unknown activation 'swish2'"):
        activations.get("swish2")


def test_every_listed_activation_is_in_the_table():
    assert sorted(activations.ACTIVATIONS) == sorted(FORMULAS)
