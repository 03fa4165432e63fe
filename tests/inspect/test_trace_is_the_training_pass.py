"""trace runs the layers' own math: it equals, array for array, what the layers compute
in ``train_on_batch``, and both equal the textbook formulas worked out here by hand.

Each model is float64, so the two runs of one code path must agree exactly. The trace
is taken first (it must change nothing: not the weights, not the gradients, not what
the layers kept, not the global generator), then ``train_on_batch`` on the same sample
is the reference: x, z, a and dz as each layer kept them, dW and db in each Variable's
``grad``.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.inspect import propagation
from glassnet.models.functional import Model
from glassnet.models.sequential import Sequential


def _sequential(*layers, loss, n_in=4):
    model = gn.Sequential([L.Input(shape=(n_in,), dtype="float64"), *layers])
    model.compile(optimizer=gn.optimizers.SGD(0.1), loss=loss)
    return model


def _softmax_cce():
    return _sequential(L.Dense(5, activation="relu", bias_initializer="random_normal",
                               dtype="float64"),
                       L.Dense(3, activation="softmax", dtype="float64"),
                       loss="sparse_categorical_crossentropy")


def _sigmoid_bce():
    return _sequential(L.Dense(5, activation="tanh", dtype="float64"),
                       L.Dense(1, activation="sigmoid", dtype="float64"),
                       loss="binary_crossentropy")


def _normalization_relu_mse():
    norm = L.Normalization(dtype="float64")
    norm.adapt(np.random.default_rng(5).normal(3.0, 2.0, size=(50, 4)))
    return _sequential(norm, L.Dense(6, activation="relu", dtype="float64"),
                       L.Dense(2, dtype="float64"), loss="mse")


def _dropout_training():
    return _sequential(L.Dense(8, activation="relu", dtype="float64"),
                       L.Dropout(0.5, dtype="float64"),
                       L.Dense(3, activation="softmax", dtype="float64"),
                       loss="sparse_categorical_crossentropy")


def _seeded_noise_and_dropout():
    # Layers with generators of their own: the trace draws what the model's would next.
    return _sequential(L.Dense(8, activation="relu", dtype="float64"),
                       L.GaussianNoise(0.3, seed=2, dtype="float64"),
                       L.Dropout(0.4, seed=4, dtype="float64"),
                       L.Dense(3, activation="softmax", dtype="float64"),
                       loss="sparse_categorical_crossentropy")


def _activation_layers():
    # LeakyReLU and a Softmax layer fused with the loss (the "activation" fusion).
    return _sequential(L.Dense(6, dtype="float64"), L.LeakyReLU(0.2, dtype="float64"),
                       L.Dense(3, dtype="float64"), L.Softmax(dtype="float64"),
                       loss="sparse_categorical_crossentropy")


def _batch_norm_training():
    return _sequential(L.Dense(6, dtype="float64"),
                       L.BatchNormalization(gamma_initializer="random_uniform",
                                            dtype="float64"),
                       L.Activation("sigmoid", dtype="float64"),
                       L.Dense(3, activation="softmax", dtype="float64"),
                       loss="sparse_categorical_crossentropy")


def _functional_branches():
    inputs = L.Input(shape=(4,), dtype="float64")
    a = L.Dense(5, activation="relu", name="a", dtype="float64")(inputs)
    b = L.Dense(3, activation="tanh", name="b", dtype="float64")(inputs)
    joined = L.Concatenate(name="join", dtype="float64")([a, b])
    c = L.Dense(8, activation="elu", name="c", dtype="float64")(joined)
    summed = L.Add(name="sum", dtype="float64")([c, L.Dense(8, name="skip",
                                                              dtype="float64")(joined)])
    out = L.Dense(3, activation="softmax", name="out", dtype="float64")(summed)
    model = Model(inputs, out)
    model.compile(optimizer=gn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def _nested_sequential():
    inner = gn.Sequential([L.Input(shape=(4,), dtype="float64"),
                           L.Dense(5, activation="relu", name="inner_dense",
                                   dtype="float64")], name="inner")
    return _sequential(inner, L.Dense(3, activation="softmax", name="head", dtype="float64"),
                       loss="sparse_categorical_crossentropy")


MODELS = {"softmax_cce": _softmax_cce, "sigmoid_bce": _sigmoid_bce,
          "normalization": _normalization_relu_mse, "dropout": _dropout_training,
          "seeded": _seeded_noise_and_dropout,
          "activation_layers": _activation_layers, "batch_norm": _batch_norm_training,
          "functional": _functional_branches, "nested": _nested_sequential}
# The pass train_on_batch runs: Dropout masks, batch statistics.
TRAINING = {"dropout", "seeded", "batch_norm"}


def _data(kind, n=7):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4))
    if kind == "sigmoid_bce":
        return x, rng.integers(0, 2, size=(n, 1)).astype(np.float64)
    if kind == "normalization":
        return x * 2.0 + 3.0, rng.normal(size=(n, 2))
    return x, rng.integers(0, 3, size=n)


def _layers(model) -> dict:
    """Every computing layer by name, a nested model's layers in place of it."""
    found = {}
    for layer in model.layers:
        if isinstance(layer, Model) and not isinstance(layer, Sequential):
            found.update(_layers(layer))
        elif not isinstance(layer, L.InputLayer):
            found[layer.name] = layer
    return found


def _state(model) -> dict:
    """Copies of everything a pass could touch: values, grads, what the layers kept."""
    state = {}
    for v in model.weights:
        state[f"{v.path}:value"] = v.numpy()
        state[f"{v.path}:grad"] = np.array(v.grad)
    for name, layer in _layers(model).items():
        for key, value in layer.kept().items():
            state[f"{name}:{key}"] = np.array(value)
        if layer.generator is not None:
            state[f"{name}:generator"] = np.array(str(layer.generator.bit_generator.state))
    return state


@pytest.mark.parametrize("kind", list(MODELS))
def test_trace_equals_what_the_layers_computed_in_train_on_batch(kind):
    gn.utils.set_random_seed(3)
    model = MODELS[kind]()
    x, y = _data(kind)
    weights = np.linspace(0.5, 1.5, len(x)) if kind == "softmax_cce" else None
    model.train_on_batch(x[:3], y[:3])  # the layers hold an older step's arrays
    before = _state(model)
    state = gn.random.generator().bit_generator.state

    traced = gn.inspect.trace(model, x, y, sample_weight=weights, training=kind in TRAINING)

    after = _state(model)  # the trace changed nothing, not even the next Dropout mask
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert gn.random.generator().bit_generator.state == state

    loss = model.train_on_batch(x, y, sample_weight=weights)
    assert traced.loss == loss
    layers = _layers(model)
    assert [p.name for p in traced.layers] == list(layers)
    compared = 0
    for p in traced.layers:
        layer = layers[p.name]
        kept = layer.kept()
        for key in ("x", "z", "a", "dz"):
            if key in kept:
                np.testing.assert_array_equal(getattr(p, key), kept[key], err_msg=f"{p.name} {key}")
                compared += 1
        for key, value in kept.items():
            if key not in ("x", "z", "a", "dz"):
                np.testing.assert_array_equal(p.extra[key], value, err_msg=f"{p.name} {key}")
        if isinstance(layer, L.Dense):
            np.testing.assert_array_equal(p.dW, layer.kernel.grad, err_msg=f"{p.name} dW")
            np.testing.assert_array_equal(p.db, layer.bias.grad, err_msg=f"{p.name} db")
            compared += 2
        for variable in layer.weights_and_biases()[0] + layer.weights_and_biases()[1]:
            np.testing.assert_array_equal(p.extra["grads"][variable.name], variable.grad)
    assert compared >= 8
    output = model.layers[-1]
    if isinstance(output, L.Layer) and "a" in output.kept():
        np.testing.assert_array_equal(traced.output, output.kept()["a"])
    if kind == "dropout":  # training=True really drew a mask, the one train_on_batch drew
        mask = traced.layers[1].extra["mask"]
        assert {0.0, 2.0} == set(np.unique(mask))
        np.testing.assert_array_equal(traced.layers[1].a, traced.layers[1].x * mask)
    if kind == "seeded":  # noise and mask really drawn (the loop above: as in training)
        noise, dropout = traced.layers[1], traced.layers[2]
        assert np.abs(noise.a - noise.x).min() > 0
        assert 0 < np.count_nonzero(dropout.extra["mask"]) < dropout.extra["mask"].size


def test_the_trace_is_the_textbook_pass():
    """softmax + cross-entropy over a relu layer, every array worked out by hand."""
    model = _softmax_cce()
    x, y = _data("softmax_cce")
    W1, b1, W2, b2 = model.get_weights()
    n = len(x)
    z1 = x @ W1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    p = np.exp(z2 - z2.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(3)[y]
    dz2 = (p - onehot) / n
    da1 = dz2 @ W2.T
    dz1 = da1 * (z1 > 0)
    traced = gn.inspect.trace(model, x, y)
    hidden, out = traced.layers
    assert traced.fused and out.da is None
    assert traced.loss == pytest.approx(-np.log(p[np.arange(n), y]).mean(), rel=1e-12)
    for got, want in ((hidden.z, z1), (hidden.a, a1), (out.z, z2), (out.a, p), (out.dz, dz2),
                      (out.dW, a1.T @ dz2), (out.db, dz2.sum(axis=0)), (hidden.da, da1),
                      (hidden.dz, dz1), (hidden.dW, x.T @ dz1), (hidden.db, dz1.sum(axis=0))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_a_float32_model_is_traced_in_float64_and_left_alone():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([L.Input(shape=(4,)), L.Dense(5, activation="sigmoid"),
                           L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    y = np.ones((6, 1), np.float32)
    traced = gn.inspect.trace(model, x, y)
    assert all(p.a.dtype == np.float64 and p.dW.dtype == np.float64 for p in traced.layers)
    assert model.layers[0].last_z is None  # nothing ran on the model itself
    np.testing.assert_allclose(traced.output, model.predict(x, verbose=0), rtol=1e-6)


def test_backward_refuses_passes_made_stale_by_a_later_forward():
    model = _softmax_cce()
    x, y = _data("softmax_cce")
    first = propagation.forward(model, x)
    propagation.output_gradient(model, first, y)
    second = propagation.forward(model, x[:2])
    with pytest.raises(gn.errors.ConfigError, match="stale"):
        propagation.backward(model, first)
    propagation.output_gradient(model, second, y[:2])
    assert propagation.backward(model, second).shape == (2, 4)
