"""A Sequential nested in a Sequential, and a Sequential's symbolic inputs and outputs.

Truth: the real Keras 3 (the TensorFlow beginner tutorials' ``probability_model``
trained and predicted from the same weights), hand-worked SGD steps for the shared
weights, file round trips (.glassnet and .keras, the latter loaded by Keras), and
closed forms for a hidden layer's activations.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet import layers
from glassnet.errors import NotBuiltError


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, 3)).astype(np.float32)
    return x, rng.integers(0, 4, n)


def _tutorial(lib, dropout=0.2):
    """quickstart for beginners, small: Flatten, Dense relu, Dropout, Dense logits."""
    return lib.Sequential([lib.Input(shape=(2, 3)), lib.layers.Flatten(name="flat"),
                           lib.layers.Dense(5, activation="relu", name="hidden"),
                           lib.layers.Dropout(dropout, name="drop"),
                           lib.layers.Dense(4, name="logits")],
                          name="inner")


def _random_weights(model, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=v.shape).astype(v.dtype) for v in model.weights]


def _keras_weights(model):
    return [v.value.detach().cpu().numpy().copy() for v in model.weights]  # torch backend


def _keras_call(model, x):
    # Keras's predict() trips a torch pytree deprecation warning; calling it does not.
    return model(x, training=False).detach().cpu().numpy()


def _pair(keras, dropout=0.2):
    ours = _tutorial(gn, dropout)
    ours.set_weights(_random_weights(ours))
    theirs = _tutorial(keras, dropout)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def test_probability_model_predicts_as_keras_does():
    keras = need("keras")
    x, _ = _data()
    inner, twin = _pair(keras)
    ours = gn.Sequential([inner, layers.Softmax()])
    theirs = keras.Sequential([twin, keras.layers.Softmax()])
    expected = _keras_call(theirs, x)
    np.testing.assert_allclose(ours.predict(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours(x[:5]).numpy(), expected[:5], rtol=1e-5, atol=1e-6)
    assert ours.layers[0].name == "inner" and ours.output_shape == (None, 4)
    assert ours.count_params() == inner.count_params() == 6 * 5 + 5 + 5 * 4 + 4


def test_training_the_outer_model_trains_the_inner_weights_as_keras_does():
    keras = need("keras")
    x, y = _data(48, seed=3)
    inner, twin = _pair(keras, dropout=0.0)  # Dropout's draws differ between the two
    ours = gn.Sequential([inner, layers.Dense(4, name="head")])
    theirs = keras.Sequential([twin, keras.layers.Dense(4, name="head")])
    head = _random_weights(ours.layers[1], seed=7)
    ours.layers[1].set_weights(head)
    theirs.layers[1].set_weights(head)
    for model, lib in ((ours, gn), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01),
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), _keras_weights(theirs), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # the inner model's own Variables moved: they are the outer model's
    for a, b in zip(inner.get_weights(), _keras_weights(twin), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(inner.predict(x), _keras_call(twin, x), rtol=1e-4, atol=1e-5)


def test_the_inner_sequential_trains_on_its_own_after_being_nested():
    inner = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2, name="d")])
    inner.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse")
    outer = gn.Sequential([inner, layers.Activation("linear")])
    outer.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    inner.set_weights([np.full((3, 2), 0.5, np.float32), np.zeros(2, np.float32)])
    outer.fit(x, y, epochs=1, batch_size=4, verbose=0)  # out 1.5: dL/dW = 1.5, dL/db = 1.5
    np.testing.assert_allclose(inner.get_weights()[0], np.full((3, 2), 0.35), rtol=1e-6)
    inner.fit(x, y, epochs=1, batch_size=4, verbose=0)  # out 3*.35-.15 = .9
    np.testing.assert_allclose(inner.get_weights()[0], np.full((3, 2), 0.35 - 0.09),
                               rtol=1e-6)
    np.testing.assert_allclose(inner.get_weights()[1], np.full(2, -0.15 - 0.09), rtol=1e-6)
    np.testing.assert_allclose(outer.predict(x), inner.predict(x))


def test_freezing_the_inner_model_after_nesting_freezes_it_in_the_outer():
    x, y = _data(16)
    inner = _tutorial(gn)
    outer = gn.Sequential([inner, layers.Dense(4, name="head")])
    inner.trainable = False  # the transfer-learning order: nest, then freeze
    outer.compile(optimizer="sgd",
                  loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = inner.get_weights()
    outer.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, inner.get_weights()))
    assert len(outer.trainable_weights) == 2 and not outer.layers[0].trainable


def test_an_unbuilt_inner_sequential_builds_for_the_outer_input_or_says_why_not():
    inner = gn.Sequential([layers.Dense(3, name="d")])
    outer = gn.Sequential([gn.Input(shape=(5,)), inner, layers.Softmax()])
    assert inner.input_shape == (None, 5) and outer.output_shape == (None, 3)
    with pytest.raises(NotBuiltError, match="'lost' is nested before it knows its input"):
        gn.Sequential([gn.Sequential([layers.Dense(3)], name="lost")])


@pytest.mark.parametrize("suffix", [".glassnet", ".keras"])
def test_save_and_load_keep_the_nested_sequential(tmp_path, suffix):
    x, y = _data(16)
    inner = _tutorial(gn)
    outer = gn.Sequential([inner, layers.Softmax(name="soft")], name="probability")
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    outer.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    outer.save(tmp_path / f"m{suffix}")
    loaded = gn.models.load_model(tmp_path / f"m{suffix}")
    assert [layer.name for layer in loaded.layers] == ["inner", "soft"]
    assert [layer.name for layer in loaded.layers[0].layers][-4:] == \
        [layer.name for layer in inner.layers]
    np.testing.assert_allclose(loaded.predict(x), outer.predict(x), rtol=1e-6)


def test_a_keras_file_of_the_nested_model_loads_in_keras(tmp_path):
    keras = need("keras")
    x, _ = _data(8)
    outer = gn.Sequential([_tutorial(gn), layers.Softmax(name="soft")])
    outer.save(tmp_path / "m.keras")
    theirs = keras.models.load_model(tmp_path / "m.keras")
    assert [layer.__class__.__name__ for layer in theirs.layers] == ["Sequential", "Softmax"]
    np.testing.assert_allclose(_keras_call(theirs, x), outer.predict(x), rtol=1e-5,
                               atol=1e-6)


def test_summary_describe_and_trace_see_the_inner_layers():
    x, y = _data(8)
    outer = gn.Sequential([_tutorial(gn), layers.Softmax(name="soft")])
    lines = []
    outer.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "inner (Sequential)" in text and "Total params: 59" in text
    outer.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    trace = gn.inspect.trace(outer, x[:2], y[:2])
    assert [p.name for p in trace.layers] == ["flat", "hidden", "drop", "logits",
                                              "soft"]
    np.testing.assert_allclose(trace.layers[-1].a, outer.predict(x[:2]), rtol=1e-5)
    assert trace.loss == pytest.approx(outer.evaluate(x[:2], y[:2], verbose=0), rel=1e-5)
    table = gn.inspect.describe(outer)
    assert [row[:3] for row in table.rows] == [
        ("inner/hidden", "kernel", "6×5"), ("inner/hidden", "bias", "5"),
        ("inner/logits", "kernel", "5×4"), ("inner/logits", "bias", "4")]


# -- Sequential.inputs / outputs and layer.output ----------------------------------------
def test_a_hidden_layer_of_a_sequential_is_read_through_its_symbolic_output():
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(4, "relu", name="h"),
                           layers.Dense(2, name="out")])
    model.set_weights(_random_weights(model, seed=2))
    assert model.inputs[0] is model.input and model.outputs[0] is model.output
    assert model.input.shape == (None, 3) and model.output.shape == (None, 2)
    hidden = gn.Model(inputs=model.inputs, outputs=model.get_layer("h").output)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    h = model.get_layer("h")
    np.testing.assert_allclose(hidden.predict(x),
                               np.maximum(x @ h.kernel.numpy() + h.bias.numpy(), 0),
                               rtol=1e-5, atol=1e-6)
    whole = gn.Model(inputs=model.inputs, outputs=model.outputs)
    np.testing.assert_allclose(whole.predict(x), model.predict(x), rtol=1e-6)
    every = gn.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    first, last = every.predict(x)  # several outputs: a list, in the order given
    np.testing.assert_array_equal(first, hidden.predict(x))
    np.testing.assert_allclose(last, model.predict(x), rtol=1e-6)


def test_a_sequentials_graph_follows_its_layers_when_they_change():
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(4, name="h")])
    first = model.output
    assert model.output is first  # made once
    model.add(layers.Dense(1, name="out"))
    assert model.output.shape == (None, 1) and model.output.node.layer.name == "out"
    assert model.get_layer("h").output.shape == (None, 4)
    with pytest.raises(NotBuiltError, match="not built"):
        _ = gn.Sequential([layers.Dense(2)]).inputs
