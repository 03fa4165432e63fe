"""glassnet writes Keras 3 files that the real Keras reads, and reads them back.

The real Keras 3 (torch backend) is the independent truth: a glassnet model saved
as ``.keras`` must load in ``keras.saving.load_model`` and predict what glassnet
predicts; its optimizer state must be Keras's (the same next training steps); a
``.weights.h5`` from ``save_weights`` must load in Keras's ``load_weights``; and a
file Keras writes again from it must come back into glassnet unchanged.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet.errors import FileFormatError, ShapeError
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Normalization

h5py = pytest.importorskip("h5py")
ATOL = 2e-6
# Keras's own torch Variables trip NumPy 2's __array__(copy=) deprecation inside Keras.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _data(seed=0):
    rs = np.random.RandomState(seed)
    x = (rs.standard_normal((24, 2, 3)) * [1.0, 4.0, 0.5] + [0.0, 3.0, -1.0]).astype(np.float32)
    y = (np.tanh(x.reshape(24, 6) @ rs.standard_normal((6, 1)))).astype(np.float32)
    return x, y


def _model(dropout=True):
    layers = [Input((2, 3)), Flatten(), Normalization(), Dense(5, "relu"),
              Dropout(0.25) if dropout else Activation("linear"), Activation("tanh"),
              Dense(4, "sigmoid"), Dense(1)]
    model = gn.Sequential(layers)
    x, _ = _data()
    model.layers[1].adapt(x.reshape(len(x), -1))
    return model


OPTIMIZERS = {"sgd": lambda: gn.optimizers.SGD(0.05, momentum=0.9),
              "adam": lambda: gn.optimizers.Adam(0.01)}


def _keras_predict(keras, model, x):
    # A torch tensor on the torch backend; .numpy() avoids NumPy 2's __array__ warning.
    return model(x, training=False).detach().cpu().numpy()


def _trained(optimizer, dropout=True):
    model = _model(dropout)
    model.compile(OPTIMIZERS[optimizer](), "mse", metrics=["mae"])
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_keras_loads_a_glassnet_keras_file_and_predicts_the_same(optimizer, tmp_path):
    keras = need("keras")
    model = _trained(optimizer)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x, _ = _data(1)
    np.testing.assert_allclose(_keras_predict(keras, loaded, x), model.predict(x), atol=ATOL)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Flatten", "Normalization", "Dense", "Dropout", "Activation", "Dense", "Dense"]
    assert loaded.layers[3].rate == 0.25
    assert type(loaded.optimizer).__name__ == {"sgd": "SGD", "adam": "Adam"}[optimizer]
    assert int(loaded.optimizer.iterations) == model.optimizer.iterations == 6
    assert loaded.loss in ("mse", "mean_squared_error") or \
        type(loaded.loss).__name__ == "MeanSquaredError"


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_keras_continues_training_exactly_where_glassnet_stopped(optimizer, tmp_path):
    keras = need("keras")
    model = _trained(optimizer, dropout=False)  # no dropout: both runs are deterministic
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x, y = _data(2)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    # Without the saved slots and step count, the first steps would differ by ~1e-2.
    for want, got in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow
def test_keras_load_weights_reads_glassnet_weights_h5(tmp_path):
    keras = need("keras")
    model = _trained("adam")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = keras.models.clone_model(keras.saving.load_model(tmp_path / "m.keras"))
    fresh.load_weights(tmp_path / "w.weights.h5")
    for want, got in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_files_keras_writes_again_come_back_into_glassnet(tmp_path):
    keras = need("keras")
    model = _trained("adam")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    loaded.save(tmp_path / "by_keras.keras")
    loaded.save_weights(tmp_path / "by_keras.weights.h5")
    back = gn.models.load_model(tmp_path / "by_keras.keras")
    x, y = _data(3)
    np.testing.assert_allclose(back.predict(x), model.predict(x), atol=ATOL)
    assert back.optimizer.iterations == 6
    for name, slot in model.optimizer.slots.items():
        np.testing.assert_allclose(back.optimizer.slots[name], slot, atol=1e-7)
    fresh = _model()
    fresh.load_weights(tmp_path / "by_keras.weights.h5")
    np.testing.assert_allclose(fresh.predict(x), model.predict(x), atol=ATOL)


@pytest.mark.slow
def test_uncompiled_model_writes_a_keras_file_without_compile_settings(tmp_path):
    keras = need("keras")
    model = _model()
    model.save(tmp_path / "plain.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json",
                                              "model.weights.h5"]
        assert "compile_config" not in json.loads(archive.read("config.json"))
    loaded = keras.saving.load_model(tmp_path / "plain.keras")
    x, _ = _data(4)
    np.testing.assert_allclose(_keras_predict(keras, loaded, x), model.predict(x), atol=ATOL)
    assert getattr(loaded, "optimizer", None) is None


def test_glassnet_reads_its_own_keras_file_exactly(tmp_path):
    model = _trained("adam")
    model.save(tmp_path / "m.keras")
    back = gn.models.load_model(tmp_path / "m.keras")
    for want, got in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    for name, slot in model.optimizer.slots.items():
        np.testing.assert_array_equal(back.optimizer.slots[name], slot)
    assert [layer.name for layer in back.layers] == [layer.name for layer in model.layers]


def test_a_keras_file_holds_no_pickle_and_keras_own_layout(tmp_path):
    model = _trained("sgd")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        h5_bytes = archive.read("model.weights.h5")
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["keras_version"].startswith("3.")
    import io
    with h5py.File(io.BytesIO(h5_bytes), "r") as h5:
        assert sorted(h5["layers"]) == ["activation", "dense", "dense_1", "dense_2",
                                        "dropout", "flatten", "normalization"]
        assert h5["layers/dense_1/vars"].attrs["name"] == model.layers[5].name
        np.testing.assert_array_equal(h5["layers/dense_1/vars/0"][()],
                                      model.layers[5].kernel.value)
        assert len(h5["optimizer/vars"]) == 2 + 6  # step, rate, one momentum per variable
        assert int(h5["optimizer/vars/0"][()]) == 6


# -- loading weights into a fresh model, by position ---------------------------------------

@pytest.mark.parametrize("name", ["w.weights.safetensors", "w.weights.h5", "m.glassnet",
                                  "m.keras"])
def test_weights_load_into_a_fresh_model_of_the_same_layers_by_position(name, tmp_path):
    model = _trained("adam")
    (model.save_weights if "weights" in name else model.save)(tmp_path / name)
    fresh = _model()  # same layers, other generated names (dense_3, ...)
    assert [layer.name for layer in fresh.layers] != [layer.name for layer in model.layers]
    fresh.load_weights(tmp_path / name)
    for want, got in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["w.weights.safetensors", "m.glassnet"])
def test_a_fresh_model_of_other_shapes_names_the_layer_and_variable(name, tmp_path):
    model = _trained("adam")
    (model.save_weights if "weights" in name else model.save)(tmp_path / name)
    other = gn.Sequential([Input((2, 3)), Flatten(), Normalization(), Dense(6, "relu"),
                           Dropout(0.25), Activation("tanh"), Dense(4, "sigmoid"), Dense(1)])
    before = other.get_weights()
    with pytest.raises(ShapeError, match=rf"{name}: weight array 3 \('dense(_\d+)?/kernel'\) "
                                         rf"has shape \(6, 5\), layer '{other.layers[2].name}' "
                                         rf"variable 'kernel' needs \(6, 6\)") as caught:
        other.load_weights(tmp_path / name)
    assert isinstance(caught.value, FileFormatError)
    for want, got in zip(before, other.get_weights(), strict=True):  # nothing half-loaded
        np.testing.assert_array_equal(got, want)


def test_weights_h5_into_a_model_of_other_shapes_names_the_layer(tmp_path):
    _trained("adam").save_weights(tmp_path / "w.weights.h5")
    other = gn.Sequential([Input((2, 3)), Flatten(), Normalization(), Dense(6, "relu"),
                           Dropout(0.25), Activation("tanh"), Dense(4, "sigmoid"), Dense(1)])
    with pytest.raises(ShapeError, match=rf"has shape \(6, 5\), '\w+/kernel' \(layer "
                                         rf"'{other.layers[2].name}', variable 'kernel'\) "
                                         rf"needs \(6, 6\)"):
        other.load_weights(tmp_path / "w.weights.h5")


def _newer_layers(noise=True):
    from glassnet import layers as gl

    rs = np.random.RandomState(5)
    x = (rs.standard_normal((32, 3)) * 3).astype(np.float32)
    y = rs.uniform(0, 1, (32, 2)).astype(np.float32)
    model = gn.Sequential([Input((3,)), gl.Rescaling(0.5, offset=0.1), Dense(6),
                           gl.BatchNormalization(), gl.ReLU(), Dense(5), gl.LeakyReLU()]
                          + ([gl.GaussianNoise(0.1)] if noise else []) + [Dense(2), gl.Softmax()])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    return model, x, y


@pytest.mark.slow
def test_keras_loads_batch_normalization_relu_softmax_and_friends(tmp_path):
    keras = need("keras")
    model, x, _ = _newer_layers()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Rescaling", "Dense", "BatchNormalization", "ReLU", "Dense", "LeakyReLU",
        "GaussianNoise", "Dense", "Softmax"]
    np.testing.assert_allclose(_keras_predict(keras, loaded, x), model.predict(x), atol=ATOL)
    loaded.save(tmp_path / "again.keras")
    back = gn.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(back.predict(x), model.predict(x), atol=ATOL)


@pytest.mark.slow
def test_keras_continues_training_a_batch_normalized_model(tmp_path):
    keras = need("keras")
    model, x, y = _newer_layers(noise=False)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for want, got in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
