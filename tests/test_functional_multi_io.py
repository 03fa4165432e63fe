"""Functional models with several inputs or several outputs.

Truth: the real Keras 3 from the same weights (predictions, and SGD training on the
same batches), and hand-built sub-networks for which outputs come back in which order.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet.errors import ConfigError, DataError, ShapeError, ValueTypeError


def _two_inputs(lib):
    """keras.io's functional guide: two inputs, a residual Add and a Concatenate."""
    wide = lib.Input(shape=(5,), name="wide")
    deep = lib.Input(shape=(3,), name="deep")
    x = lib.layers.Dense(6, activation="tanh", name="d1")(deep)
    shortcut = lib.layers.Dense(6, name="short")(deep)
    x = lib.layers.add([x, shortcut])
    x = lib.layers.concatenate([wide, x])
    out = lib.layers.Dense(3, activation="softmax", name="priority")(x)
    return lib.Model(inputs=[wide, deep], outputs=out)


def _three_outputs(lib):
    """A feature extractor: every layer's output of a chain, and a side branch."""
    inputs = lib.Input(shape=(4,), name="x")
    h1 = lib.layers.Dense(5, activation="relu", name="h1")(inputs)
    h2 = lib.layers.Dense(3, activation="tanh", name="h2")(h1)
    side = lib.layers.Dense(2, name="side")(h1)
    return lib.Model(inputs=inputs, outputs=[h2, h1, side])


def _weights(model, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=v.shape).astype(v.dtype) for v in model.weights]


def _keras_weights(model):
    return [v.value.detach().cpu().numpy().copy() for v in model.weights]  # torch backend


def _twin(keras, model, build):
    twin = build(keras)
    twin.set_weights(model.get_weights())
    return twin


def _two_input_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 5)).astype("float32")
    b = rng.normal(size=(n, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[(a[:, 0] + b[:, 1] > 0).astype(int) + (b[:, 2] > 1)]
    return a, b, y


# -- several outputs -----------------------------------------------------------------------
def test_several_outputs_come_back_as_a_list_in_the_order_given():
    model = _three_outputs(gn)
    model.set_weights(_weights(model, 1))
    x = np.random.default_rng(2).normal(size=(7, 4)).astype("float32")
    h2, h1, side = model.predict(x, verbose=0)
    k1, b1, k2, b2, ks, bs = model.get_weights()
    hidden = np.maximum(x @ k1 + b1, 0)  # by hand, layer by layer
    np.testing.assert_allclose(h1, hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, np.tanh(hidden @ k2 + b2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(side, hidden @ ks + bs, rtol=1e-5, atol=1e-6)
    called = model(x)
    assert isinstance(called, list) and len(called) == 3
    for a, b in zip(called, (h2, h1, side)):
        np.testing.assert_array_equal(a.numpy(), b)
    for a, b in zip(model.predict_on_batch(x), (h2, h1, side)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    batched = model.predict(x, batch_size=3, verbose=0)  # several batches, same answer
    for a, b in zip(batched, (h2, h1, side)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert model.output_shape == [(None, 3), (None, 5), (None, 2)]
    assert [t.shape for t in model.outputs] == [(None, 3), (None, 5), (None, 2)]


def test_a_feature_extractor_over_a_sequentials_layers_as_keras_io_builds_it():
    seq = gn.Sequential([gn.Input(shape=(6,)), gn.layers.Dense(4, activation="relu"),
                         gn.layers.Dense(2)])
    extractor = gn.Model(inputs=seq.inputs, outputs=[layer.output for layer in seq.layers])
    x = np.random.default_rng(3).normal(size=(5, 6)).astype("float32")
    first, last = extractor(x)
    np.testing.assert_allclose(last, seq.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(first, seq.layers[0](x), rtol=1e-6)


def test_summary_and_describe_list_every_layer_of_a_several_output_model(capsys):
    model = _three_outputs(gn)
    model.summary()
    text = capsys.readouterr().out
    for name in ("h1", "h2", "side"):
        assert name in text
    assert str(model.count_params()) in text.replace(",", "")
    table = gn.inspect.describe(model)
    assert {"h1", "h2", "side"} <= set(str(v) for row in table.rows for v in row)


@pytest.mark.slow
def test_several_outputs_match_real_keras_from_the_same_weights():
    keras = need("keras")
    model = _three_outputs(gn)
    model.set_weights(_weights(model, 5))
    twin = _twin(keras, model, _three_outputs)
    x = np.random.default_rng(6).normal(size=(9, 4)).astype("float32")
    theirs = [t.detach().cpu().numpy() for t in twin(x, training=False)]
    ours = model.predict(x, verbose=0)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- several inputs ------------------------------------------------------------------------
def test_x_as_a_list_or_a_dict_by_input_name_gives_the_same_predictions():
    model = _two_inputs(gn)
    model.set_weights(_weights(model, 7))
    a, b, _ = _two_input_data(9)
    as_list = model.predict([a, b], verbose=0)
    as_dict = model.predict({"deep": b, "wide": a}, verbose=0)
    np.testing.assert_array_equal(as_list, as_dict)
    np.testing.assert_allclose(model([a, b]), as_list, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch([a, b]), as_list, rtol=1e-6)
    k1, b1, ks, bs, ko, bo = model.get_weights()  # by hand
    merged = np.concatenate([a, np.tanh(b @ k1 + b1) + b @ ks + bs], axis=1)
    z = merged @ ko + bo
    expected = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(as_list, expected / expected.sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    assert model.input_shape == [(None, 5), (None, 3)]


def test_bad_inputs_name_the_input_that_is_wrong():
    model = _two_inputs(gn)
    a, b, _ = _two_input_data(6)
    with pytest.raises(ShapeError, match="'deep'.*3.*got \\(6, 4\\)"):
        model.predict([a, np.zeros((6, 4))], verbose=0)
    with pytest.raises(DataError, match="2 inputs.*holds 1"):
        model.predict([a], verbose=0)
    with pytest.raises(ValueTypeError, match="2 inputs"):
        model.predict(a, verbose=0)
    with pytest.raises(DataError, match="missing \\['deep'\\].*unknown \\['dep'\\]"):
        model.predict({"wide": a, "dep": b}, verbose=0)
    with pytest.raises(DataError, match="'deep' has 5 samples.*'wide' has 6"):
        model.predict([a, b[:5]], verbose=0)


def test_one_input_one_output_predict_on_batch_is_unchanged():
    inputs = gn.Input(shape=(2,))
    model = gn.Model(inputs=inputs, outputs=gn.layers.Dense(1)(inputs))
    x = np.ones((3, 2), "float32")
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))


def test_a_model_whose_output_ignores_an_input_is_refused():
    a, b = gn.Input(shape=(2,), name="a"), gn.Input(shape=(2,), name="b")
    with pytest.raises(ConfigError, match="do not depend on its input 'b'"):
        gn.Model(inputs=[a, b], outputs=gn.layers.Dense(1)(a))


@pytest.mark.slow
@pytest.mark.parametrize("as_dict", [False, True])
def test_two_input_training_matches_real_keras(as_dict):
    keras = need("keras")
    a, b, y = _two_input_data(48, seed=8)
    model = _two_inputs(gn)
    model.set_weights(_weights(model, 9))
    twin = _twin(keras, model, _two_inputs)
    np.testing.assert_allclose(model.predict([a, b], verbose=0),
                               twin([a, b], training=False).detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-6)
    x = {"wide": a, "deep": b} if as_dict else [a, b]
    for m, lib in ((model, gn), (twin, keras)):
        m.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1),
                  loss="categorical_crossentropy")
    ours = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    theirs = twin.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for w_ours, w_theirs in zip(model.get_weights(), _keras_weights(twin)):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.history["loss"], theirs.history["loss"], rtol=1e-4)
    predicted = twin([a, b], training=False).detach().cpu().numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), predicted, rtol=1e-4, atol=1e-5)
    keras_loss = float(keras.losses.categorical_crossentropy(y, predicted)
                       .detach().cpu().numpy().mean())
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), keras_loss, rtol=1e-4)


@pytest.mark.parametrize("build", [_two_inputs, _three_outputs])
def test_json_round_trip_keeps_every_input_and_output_in_order(build):
    model = build(gn)
    rebuilt = gn.models.model_from_json(model.to_json())
    assert [t.node.layer.name for t in rebuilt.inputs] == model.input_names
    assert rebuilt.output_names == model.output_names
    rebuilt.set_weights(model.get_weights())
    x = ([np.ones((2, 5), "float32"), np.ones((2, 3), "float32")] if model.multi_input
         else np.ones((2, 4), "float32"))
    ours, again = model.predict(x, verbose=0), rebuilt.predict(x, verbose=0)
    listed = isinstance(ours, list)
    for a, b in zip(again if listed else [again], ours if listed else [ours]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("build", [_two_inputs, _three_outputs])
def test_real_keras_reads_the_json_of_a_several_input_or_output_model(build):
    keras = need("keras")
    model = build(gn)
    theirs = keras.models.model_from_json(model.to_json())
    assert [len(theirs.inputs), len(theirs.outputs)] == [len(model.inputs),
                                                         len(model.outputs)]
    assert [t.shape for t in theirs.outputs] == [t.shape for t in model.outputs]


@pytest.mark.slow
def test_real_keras_loads_a_two_input_keras_file_with_the_same_predictions(tmp_path):
    keras = need("keras")
    model = _two_inputs(gn)
    model.set_weights(_weights(model, 11))
    model.save(tmp_path / "two.keras")
    theirs = keras.saving.load_model(tmp_path / "two.keras")
    a, b, _ = _two_input_data(6, seed=12)
    expected = model.predict([a, b], verbose=0)
    np.testing.assert_allclose(theirs([a, b], training=False).detach().cpu().numpy(),
                               expected, rtol=1e-5, atol=1e-6)
    again = gn.models.load_model(tmp_path / "two.keras")
    np.testing.assert_array_equal(again.predict([a, b], verbose=0), expected)


@pytest.mark.slow
def test_real_keras_loads_a_feature_extractor_keras_file_output_by_output(tmp_path):
    """Outputs that are also inner layers (h1 feeds h2 and side), listed out of call
    order: each comes back in its place (see tests/io/test_keras_multi_output.py)."""
    keras = need("keras")
    model = _three_outputs(gn)
    model.set_weights(_weights(model, 14))
    model.save(tmp_path / "three.keras")
    theirs = keras.saving.load_model(tmp_path / "three.keras")
    assert theirs.output_names == ["h2", "h1", "side"]
    x = np.random.default_rng(15).normal(size=(6, 4)).astype("float32")
    ours = model.predict(x, verbose=0)
    for a, b in zip([t.detach().cpu().numpy() for t in theirs(x, training=False)], ours,
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "back.keras")
    for a, b in zip(gn.models.load_model(tmp_path / "back.keras").predict(x, verbose=0),
                    ours, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("build", [_two_inputs, _three_outputs])
def test_the_native_file_round_trips_several_inputs_and_outputs(build, tmp_path):
    model = build(gn)
    model.set_weights(_weights(model, 13))
    model.save(tmp_path / "m.glassnet")
    again = gn.models.load_model(tmp_path / "m.glassnet")
    x = ([np.ones((2, 5), "float32"), np.ones((2, 3), "float32")] if model.multi_input
         else np.ones((2, 4), "float32"))
    ours, theirs = model.predict(x, verbose=0), again.predict(x, verbose=0)
    listed = isinstance(ours, list)
    for a, b in zip(theirs if listed else [theirs], ours if listed else [ours]):
        np.testing.assert_array_equal(a, b)
