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

ACTIVATIONS = tuple(gn.activations.ACTIVATIONS)  # every one: linear, relu, ..., silu


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


def test_every_activation_is_listed():
    assert {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "gelu", "leaky_relu",
            "softplus", "silu"} <= set(ACTIVATIONS)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_trace_z_is_x_w_plus_b_and_a_is_g_of_z(activation):
    rs = np.random.RandomState(3)
    x = rs.normal(size=(9, 5))
    model = gn.Sequential([Input(shape=(5,)), Dense(4, activation=activation)])
    layer = model.layers[0]
    layer.bias.assign(rs.normal(size=4))
    W, b = (v.astype(np.float64) for v in layer.get_weights())
    traced = gn.inspect.trace(model, x)
    z = x @ W + b
    np.testing.assert_allclose(traced.layers[0].z, z, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(traced.layers[0].a, layer.activation(z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: gn.layers.ReLU(max_value=1.0, threshold=0.1),
                                  lambda: gn.layers.LeakyReLU(0.2), gn.layers.Softmax,
                                  lambda: gn.layers.Activation("tanh")])
def test_an_activation_layer_keeps_its_input_as_z(make):
    rs = np.random.RandomState(4)
    x = rs.normal(size=(8, 5)).astype(np.float32)
    y = rs.randint(0, 3, size=8)
    model = gn.Sequential([Input(shape=(5,)), Dense(6), make(), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    dense, activation = model.layers[0], model.layers[1]
    W, b = (v.astype(np.float64) for v in dense.get_weights())
    model.train_on_batch(x, y)
    kept = activation.kept()
    np.testing.assert_allclose(kept["z"], x.astype(np.float64) @ W + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(kept["z"], dense.last_z)  # linear: a is z
    np.testing.assert_allclose(kept["a"], activation.activation(kept["z"]), rtol=1e-6)
    assert not np.shares_memory(kept["a"], kept["z"])


def test_last_z_in_fused_sgd_steps():
    """Big enough for SGD fused into the products: z is still x·W + b of the step's W."""
    from glassnet._engine import blas

    rs = np.random.RandomState(5)
    x = rs.normal(size=(256, 128)).astype(np.float32)
    y = rs.randint(0, 10, size=256)
    model = gn.Sequential([Input(shape=(128,)), Dense(256, activation="relu"),
                           Dense(10, activation="softmax")])
    model.compile(optimizer=gn.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    hidden = model.layers[0]
    assert model.count_params() >= blas.FUSED_SGD_MIN_PARAMS
    seen = []

    class Check(gn.callbacks.Callback):
        reads_gradients = False  # leaves fused SGD on

        def on_train_batch_begin(self, batch, logs=None):
            self.weights = [v.astype(np.float64) for v in hidden.get_weights()]

        def on_train_batch_end(self, batch, logs=None):
            W, b = self.weights
            rows = x[batch * 64:(batch + 1) * 64].astype(np.float64)
            np.testing.assert_allclose(hidden.last_z, rows @ W + b, rtol=1e-4, atol=1e-4)
            # A fused step writes no gradient (grads start at zero; the last step unfused).
            seen.append((batch, bool(hidden.kernel.grad.any())))

    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0, callbacks=[Check()])
    if blas.fusion_available():
        assert seen == [(0, False), (1, False), (2, False), (3, True)]
    else:
        assert [batch for batch, _ in seen] == [0, 1, 2, 3]
