"""The functional API: Input tensors, Model(inputs, outputs), Concatenate and Add.

Truth: the same network as a Sequential (a chain must train identically), central
finite differences in float64 (branches, fan-out), and the real Keras 3 trained
from the same weights on the same batches.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet import layers
from glassnet.errors import ConfigError, ShapeError

N_FEATURES = 4


def _data(n=24, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x.astype(np.float32), np.eye(classes, dtype=np.float32)[labels % classes], labels


def _branched(lib, dtype="float32", head="softmax"):
    """input → (dense relu, dense tanh) → concatenate → dense; + dense(input) → add → head.

    The input fans out to three layers; built the same way in glassnet and Keras."""
    inputs = lib.Input(shape=(N_FEATURES,), dtype=dtype)
    a = lib.layers.Dense(5, activation="relu", name="a", dtype=dtype)(inputs)
    b = lib.layers.Dense(3, activation="tanh", name="b", dtype=dtype)(inputs)
    joined = lib.layers.Concatenate(name="join", dtype=dtype)([a, b])
    c = lib.layers.Dense(6, activation="sigmoid", name="c", dtype=dtype)(joined)
    skip = lib.layers.Dense(6, name="skip", dtype=dtype)(inputs)
    summed = lib.layers.Add(name="sum", dtype=dtype)([c, skip])
    outputs = lib.layers.Dense(3, activation=head, name="out", dtype=dtype)(summed)
    return lib.Model(inputs=inputs, outputs=outputs, name="branched")


def _chain(lib):
    inputs = lib.Input(shape=(N_FEATURES,))
    x = lib.layers.Dense(8, activation="relu")(inputs)
    outputs = lib.layers.Dense(3, activation="softmax")(x)
    return lib.Model(inputs=inputs, outputs=outputs)


def _random_weights(model, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(0.5, 1.5, size=v.shape) if "variance" in v.name
             else rng.normal(scale=0.5, size=v.shape)).astype(v.dtype) for v in model.weights]


# -- structure ---------------------------------------------------------------------------
def test_layers_are_listed_in_call_order_with_the_input_first_as_keras_does():
    model = _branched(gn)
    assert [layer.name for layer in model.layers][1:] == ["a", "b", "join", "c", "skip",
                                                          "sum", "out"]
    assert type(model.layers[0]).__name__ == "InputLayer"
    assert model.input_shape == (None, 4) and model.output_shape == (None, 3)
    assert not model.is_chain and _chain(gn).is_chain
    assert model.inbound_layers("sum") == ["c", "skip"]
    # 4*5+5 + 4*3+3 + 8*6+6 + 4*6+6 + 6*3+3
    assert model.count_params() == 25 + 15 + 54 + 30 + 21
    assert isinstance(gn.Sequential([layers.Dense(1)]), gn.Model)


def test_bad_graphs_are_refused_with_the_layer_named():
    inputs = gn.Input(shape=(3,))
    dense = layers.Dense(2, name="shared")
    dense(inputs)
    with pytest.raises(ConfigError, match="'shared' is already called"):
        dense(inputs)
    with pytest.raises(ShapeError, match="'cat'.*\\(None, 2, 3\\), \\(None, 2, 4\\)"):
        layers.Concatenate(axis=1, name="cat")([gn.Input(shape=(2, 3)), gn.Input(shape=(2, 4))])
    with pytest.raises(ConfigError, match="'cat2' merges a list of at least 2"):
        layers.Concatenate(name="cat2")(inputs)
    with pytest.raises(ShapeError, match="'plus' adds inputs of one shape"):
        layers.Add(name="plus")([inputs, layers.Dense(2)(inputs)])
    other = gn.Input(shape=(3,), name="other")
    with pytest.raises(ConfigError, match="depends on Input 'other'"):
        gn.Model(inputs=inputs, outputs=layers.Add()([layers.Dense(3)(inputs), other]))
    with pytest.raises(ConfigError, match="subclassing Model is not supported"):
        gn.Model()


# -- a chain trains exactly as the Sequential ------------------------------------------------
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_chain_model_trains_exactly_as_the_same_sequential(optimizer):
    x, y, _ = _data(64)
    functional = _chain(gn)
    sequential = gn.Sequential([gn.Input(shape=(N_FEATURES,)), layers.Dense(8, "relu"),
                                layers.Dense(3, "softmax")])
    start = _random_weights(sequential)
    results = []
    for model in (functional, sequential):
        model.set_weights(start)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy",
                      metrics=["accuracy"])
        gn.random.set_random_seed(7)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_split=0.25)
        results.append((model.get_weights(), history.history, model.predict(x)))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]
    np.testing.assert_array_equal(results[0][2], results[1][2])


@pytest.mark.slow
def test_a_large_chain_takes_the_fused_sgd_path_and_stays_identical():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(96, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=96)
    inputs = gn.Input(shape=(64,))
    hidden = layers.Dense(128, activation="relu")(layers.Dense(256, "relu")(inputs))
    functional = gn.Model(inputs, layers.Dense(10, activation="softmax")(hidden))
    sequential = gn.Sequential([gn.Input(shape=(64,)), layers.Dense(256, "relu"),
                                layers.Dense(128, "relu"), layers.Dense(10, "softmax")])
    sequential.set_weights(functional.get_weights())
    for model in (functional, sequential):
        model.compile(optimizer=gn.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
        assert model._get_trainer().can_fuse_sgd() == gn._engine.blas.fusion_available()
        gn.random.set_random_seed(3)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for a, b in zip(functional.get_weights(), sequential.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_layer_names_must_be_unique_in_a_graph():
    inputs = gn.Input(shape=(2,))
    twice = layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(inputs))
    with pytest.raises(ConfigError, match="unique in a model: 'twin' is used 2 times"):
        gn.Model(inputs, twice)


# -- branches: gradients against finite differences ------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("head, loss", [("softmax", "categorical_crossentropy"),
                                        ("linear", "mse")])
def test_branch_gradients_match_central_differences(head, loss):
    x, y, _ = _data(9)
    model = _branched(gn, dtype="float64", head=head)
    model.set_weights([w.astype(np.float64) for w in _random_weights(model)])
    model.compile(optimizer="sgd", loss=loss)
    x = x.astype(np.float64)
    analytic = gn.inspect.gradients(model, x, y)
    loss_fn = model.loss

    def loss_now():
        return float(np.mean(loss_fn.per_sample(y.astype(np.float64), model.predict(x))))

    for variable in model.trainable_variables:
        flat = variable.value.reshape(-1)
        numeric = np.empty(flat.size)
        for i in range(flat.size):
            kept = flat[i]
            flat[i] = kept + 1e-6
            plus = loss_now()
            flat[i] = kept - 1e-6
            minus = loss_now()
            flat[i] = kept
            numeric[i] = (plus - minus) / 2e-6
        exact = analytic[variable.path].reshape(-1)
        error = np.linalg.norm(exact - numeric) / (np.linalg.norm(exact) +
                                                   np.linalg.norm(numeric))
        assert error < 1e-6, (variable.path, error)
    # The float64 textbook pass of inspect agrees too, element by element.
    table = gn.inspect.check_gradients(model, x, y)
    assert all(row[-1] for row in table.rows), table
    traced = gn.inspect.trace(model, x, y)
    for name in ("a", "b", "c", "skip", "out"):
        np.testing.assert_allclose(traced[name].dW, analytic[f"{name}/kernel"], atol=1e-12)
        np.testing.assert_allclose(traced[name].db, analytic[f"{name}/bias"], atol=1e-12)


def test_a_tensor_added_to_itself_gets_twice_the_gradient():
    inputs = gn.Input(shape=(2,), dtype="float64")
    hidden = layers.Dense(2, name="h", dtype="float64")(inputs)
    outputs = layers.Add(dtype="float64")([hidden, hidden])
    model = gn.Model(inputs, outputs)
    model.set_weights([np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5])])
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[1.0, 1.0]])
    y = np.zeros((1, 2))
    # out = 2 (xW + b) = [9, 11]; L = mean(out²) = 101; dL/dout = out; dL/dz = 2 out
    np.testing.assert_allclose(model.predict(x), [[9.0, 11.0]])
    grads = gn.inspect.gradients(model, x, y)
    np.testing.assert_allclose(grads["h/bias"], [18.0, 22.0])
    np.testing.assert_allclose(grads["h/kernel"], [[18.0, 22.0], [18.0, 22.0]])


# -- against the real Keras ----------------------------------------------------------------
def _keras_weights(keras, model):
    # Keras's own get_weights() trips NumPy 2's __array__(copy=) deprecation.
    return [v.value.detach().cpu().numpy().copy() for v in model.weights]  # torch backend


def _keras_predict(twin, x):
    # Keras's predict() trips a torch pytree deprecation warning; calling it does not.
    return twin(x, training=False).detach().cpu().numpy()


def _keras_twin(keras, glassnet_model, build):
    twin = build(keras)
    twin.set_weights(glassnet_model.get_weights())
    return twin


@pytest.mark.slow
@pytest.mark.parametrize("build, loss", [(_chain, "categorical_crossentropy"),
                                         (_branched, "categorical_crossentropy"),
                                         (lambda lib: _branched(lib, head="linear"), "mse")])
def test_training_matches_real_keras(build, loss):
    keras = need("keras")
    x, y, _ = _data(48, seed=3)
    model = build(gn)
    model.set_weights(_random_weights(model, seed=4))
    twin = _keras_twin(keras, model, build)
    for m, lib in ((model, gn), (twin, keras)):
        m.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss=loss)
        m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), _keras_weights(keras, twin)):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-4, atol=1e-5)
    theirs = _keras_predict(twin, x)
    np.testing.assert_allclose(model.predict(x, verbose=0), theirs, rtol=1e-4, atol=1e-5)
    keras_loss = float(keras.losses.get(loss)(y, theirs).detach().cpu().numpy().mean())
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), keras_loss, rtol=1e-4)


def _nested(lib):
    inner = _branched(lib, head="linear")
    return lib.Sequential([inner, lib.layers.Activation("softmax")], name="outer")


def _nested_softmax(lib):
    """The tutorials' ``Sequential([model, layers.Softmax()])``, with BatchNormalization.

    d1 has no bias: before a BatchNormalization its gradient is 0 up to round-off, which
    Adam would scale into full steps in directions no two implementations share."""
    inputs = lib.Input(shape=(N_FEATURES,))
    x = lib.layers.BatchNormalization(name="bn")(
        lib.layers.Dense(6, use_bias=False, name="d1")(inputs))
    x = lib.layers.Add(name="plus")([lib.layers.ReLU(name="r")(x),
                                     lib.layers.Dense(6, name="d2")(inputs)])
    inner = lib.Model(inputs, lib.layers.Dense(3, name="logits")(x), name="inner")
    return lib.Sequential([inner, lib.layers.Softmax(name="soft")], name="outer")


@pytest.mark.slow
@pytest.mark.parametrize("build", [_nested, _nested_softmax])
def test_a_model_nested_in_a_sequential_trains_as_keras_does(build):
    keras = need("keras")
    x, y, _ = _data(32, seed=5)
    model = build(gn)
    model.set_weights(_random_weights(model, seed=6))
    twin = _keras_twin(keras, model, build)
    for m, lib in ((model, gn), (twin, keras)):
        m.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy")
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), _keras_weights(keras, twin)):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-4, atol=1e-5)
    probabilities = model.predict(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities, _keras_predict(twin, x), rtol=1e-4, atol=1e-5)
    assert model.layers[0].name in ("branched", "inner")


# -- files -------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [_branched, _nested, _chain])
def test_save_and_load_keep_the_graph_the_weights_and_the_optimizer(tmp_path, build):
    x, y, _ = _data(40)
    model = build(gn)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    model.save(tmp_path / "m.glassnet")
    loaded = gn.models.load_model(tmp_path / "m.glassnet")
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_to_json_round_trips_the_architecture():
    model = _branched(gn)
    text = model.to_json()
    again = gn.models.model_from_json(text)
    assert again.get_config() == model.get_config()
    again.set_weights(model.get_weights())
    x, _, _ = _data(5)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    sequential = gn.models.model_from_json(_nested(gn).to_json())
    assert sequential.layers[0].get_config()["layers"][-1]["name"] == "out"


@pytest.mark.slow
@pytest.mark.parametrize("build", [_chain, _branched, _nested])
def test_model_from_json_reads_what_real_keras_writes(build):
    keras = need("keras")
    twin = build(keras)
    model = gn.models.model_from_json(twin.to_json())
    assert model.count_params() == twin.count_params()
    model.set_weights(_keras_weights(keras, twin))
    x, _, _ = _data(6)
    np.testing.assert_allclose(model.predict(x), _keras_predict(twin, x), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("build", [_chain, _branched, _nested])
def test_real_keras_reads_what_to_json_writes(build):
    keras = need("keras")
    model = build(gn)
    twin = keras.models.model_from_json(model.to_json())
    assert [layer.name for layer in twin.layers] == [layer.name for layer in model.layers]
    twin.set_weights(model.get_weights())
    x, _, _ = _data(6)
    np.testing.assert_allclose(_keras_predict(twin, x), model.predict(x), rtol=1e-5,
                               atol=1e-6)


def test_model_from_json_refuses_what_it_cannot_build():
    from glassnet.errors import FileFormatError

    with pytest.raises(FileFormatError, match="not JSON"):
        gn.models.model_from_json("{")
    text = _branched(gn).to_json().replace('"Add"', '"Multiply"')
    with pytest.raises(Exception, match="Multiply"):
        gn.models.model_from_json(text)


def test_a_model_trained_after_being_nested_updates_its_own_weights():
    # Nesting re-seats the inner model's Variables into the outer model's flat buffer;
    # fitting the inner model afterwards used to step a stale copy of its weights.
    inputs = gn.Input(shape=(3,))
    inner = gn.Model(inputs, layers.Dense(2, name="d")(inputs))
    inner.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse")
    outer = gn.Sequential([inner, layers.Activation("linear")])
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    inner.set_weights([np.full((3, 2), 0.5, np.float32), np.zeros(2, np.float32)])
    inner.fit(x, y, epochs=1, batch_size=4, verbose=0)
    # one step of w -= 0.1 * dL/dw with out = 1.5 per unit: dL/dW = x^T (2 out / 2) / 4 * 4
    np.testing.assert_allclose(inner.get_weights()[0], np.full((3, 2), 0.5 - 0.1 * 1.5))
    np.testing.assert_allclose(outer.predict(x), inner.predict(x))


def test_a_sub_model_on_a_trained_models_tensors_shows_its_hidden_activations():
    # The tutorials' feature-extraction idiom: Model(model.input, layer.output).
    x, y, _ = _data(16)
    model = _branched(gn)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    hidden = gn.Model(inputs=model.input, outputs=model.get_layer("join").output)
    a, b = model.get_layer("a"), model.get_layer("b")
    relu = np.maximum(x @ a.kernel.numpy() + a.bias.numpy(), 0)
    tanh = np.tanh(x @ b.kernel.numpy() + b.bias.numpy())
    np.testing.assert_allclose(hidden.predict(x), np.hstack([relu, tanh]), rtol=1e-5,
                               atol=1e-6)
    assert hidden.count_params() == 25 + 15
    before = model.predict(x)
    model.fit(x, y, epochs=1, verbose=0)  # still trains its own (shared) weights
    assert not np.allclose(before, model.predict(x))
    np.testing.assert_allclose(hidden.predict(x)[:, :5], np.maximum(
        x @ a.kernel.numpy() + a.bias.numpy(), 0), rtol=1e-5, atol=1e-6)
