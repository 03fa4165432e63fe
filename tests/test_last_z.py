"""Dense.last_z is the pre-activation z = x @ W + b, not the activation a = g(z).

The regression: activations that differentiate from their output (relu, sigmoid,
tanh, softmax) used to run in place over z, so last_z returned a.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.inspect import diagnose, propagation
from glassnet.inspect.trace import _num
from glassnet.layers import Dense, Input

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax", "elu", "gelu")


def _data(rs):
    x = rs.normal(size=(16, 5))
    y = rs.randint(0, 3, size=16)
    return x, y


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_last_z_is_x_w_plus_b_after_a_training_forward(activation):
    rs = np.random.RandomState(0)
    x, _ = _data(rs)
    layer = Dense(4, activation=activation)
    layer.build((None, 5))
    layer.kernel.assign(rs.normal(size=(5, 4)))
    layer.bias.assign(rs.normal(size=4))
    W, b = layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    a = layer.forward(x.astype(layer.dtype), training=True)
    expected_z = x @ W + b
    np.testing.assert_allclose(layer.last_z, expected_z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.last_output, a)
    if activation == "relu":  # a differs from z wherever z < 0: the two are not the same array
        assert (expected_z < 0).any()
        np.testing.assert_allclose(a, np.maximum(expected_z, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_last_z_after_train_on_batch_and_untouched_by_inference(activation):
    rs = np.random.RandomState(1)
    x, y = _data(rs)
    x = x.astype(np.float32)
    model = gn.Sequential([Input(shape=(5,)), Dense(6, activation=activation),
                           Dense(3, activation="softmax")])
    model.compile(optimizer=gn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    hidden, output = model.layers[0], model.layers[-1]
    W, b = (v.astype(np.float64) for v in hidden.get_weights())  # before the update
    model.train_on_batch(x, y)
    expected_z = x.astype(np.float64) @ W + b
    np.testing.assert_allclose(hidden.last_z, expected_z, rtol=1e-5, atol=1e-5)
    # the fused softmax output layer keeps its logits too
    assert not np.allclose(output.last_z.sum(axis=1), 1.0)
    kept = hidden.last_z.copy()
    model.predict(rs.normal(size=(7, 5)).astype(np.float32), verbose=0)
    hidden(rs.normal(size=(9, 5)).astype(np.float32))  # inference keeps nothing
    np.testing.assert_array_equal(hidden.last_z, kept)


def test_trace_and_diagnose_show_z_where_they_say_z():
    rs = np.random.RandomState(2)
    x = rs.normal(size=(20, 5))
    model = gn.Sequential([Input(shape=(5,)), Dense(6, activation="relu"),
                           Dense(4, activation="sigmoid"), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    for layer in model.layers:  # fixed weights, whatever the global seed
        layer.kernel.assign(rs.normal(size=layer.kernel.shape) * 0.5)
    model.layers[1].bias.assign([30.0, -30.0, 0.0, 0.0])  # two units saturated
    h, zs = x, []
    for layer in model.layers:
        W, b = (v.astype(np.float64) for v in layer.get_weights())
        zs.append(h @ W + b)
        h = {"relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
             "linear": lambda z: z}[layer.activation_name](zs[-1])
    for p, z in zip(propagation.forward(model, x), zs, strict=True):
        np.testing.assert_allclose(p.z, z, rtol=1e-6, atol=1e-9)
    one = gn.inspect.trace(model, x[:1])
    np.testing.assert_allclose(one[model.layers[0].name].z, zs[0][:1], rtol=1e-6, atol=1e-9)
    line = next(line for line in str(one).splitlines() if "z = xW + b" in line)
    z = zs[0][:1]  # the large-layer form: z's statistics, not a's
    assert z.min() < 0  # so a = relu(z) would show a different minimum
    assert line.split()[-8:] == ["mean", _num(z.mean()), "std", _num(z.std()),
                                 "min", _num(z.min()), "max", _num(z.max())], line
    saturated = [f for f in diagnose(model, x) if "mean_abs_z" in f.evidence]
    assert [f.layer for f in saturated] == [model.layers[1].name]
    assert saturated[0].evidence["mean_abs_z"] == pytest.approx(np.abs(zs[1]).mean(), rel=1e-6)
