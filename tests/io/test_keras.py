"""Keras 3 files made by the real Keras (scripts/make_keras_fixtures.py) load and predict alike.

Each ``tests/data/keras/<name>.keras`` has ``<name>.io.safetensors`` beside it with
an input batch ``x``, Keras's ``predict(x)`` as ``y`` and each layer's output as
``layer/<name>``: Keras is the independent truth here.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import glassnet as gn
from glassnet.activations import ACTIVATIONS
from glassnet.errors import FileFormatError
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Normalization

h5py = pytest.importorskip("h5py")

KERAS = Path(__file__).resolve().parents[1] / "data" / "keras"
ATOL = 1e-5
MODELS = ["norm_mlp", "flatten_activation", "activations", "trained_mlp"] + [
    f"activation_{name}" for name in sorted(ACTIVATIONS)]


def _io(name):
    return load_file(str(KERAS / f"{name}.io.safetensors"))


@pytest.mark.parametrize("name", MODELS)
def test_keras_file_predicts_what_keras_predicted(name):
    model = gn.io.load_keras(KERAS / f"{name}.keras")
    expected = _io(name)
    x = expected["x"]
    for layer in model.layers:  # layer by layer, so a failure names the first culprit
        x = layer.forward(x, training=False)
        np.testing.assert_allclose(x, expected[f"layer/{layer.name}"], rtol=0, atol=ATOL,
                                   err_msg=f"{name}: layer {layer.name!r}")
    np.testing.assert_allclose(model.predict(expected["x"]), expected["y"], rtol=0, atol=ATOL)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_each_keras_activation_maps_to_the_same_glassnet_activation(activation):
    model = gn.io.load_keras(KERAS / f"activation_{activation}.keras")
    assert model.layers[0].activation_name == activation


def test_layer_names_settings_and_structure_are_kept():
    model = gn.io.load_keras(KERAS / "flatten_activation.keras")
    assert model.name == "flatten_activation"
    assert [type(layer).__name__ for layer in model.layers] == [
        "Flatten", "Dense", "Activation", "Dense"]
    assert [layer.name for layer in model.layers] == [
        "flatten", "dense_nobias", "activation", "dense_out"]
    assert model.input_shape == (None, 2, 2)
    nobias = model.get_layer("dense_nobias")
    assert (nobias.use_bias, nobias.bias, nobias.units) == (False, None, 3)
    assert nobias.activation_name == "tanh"
    assert model.get_layer("activation").activation_name == "sigmoid"
    assert model.get_layer("dense_out").activation_name == "linear"


def test_normalization_statistics_are_keras_adapted_ones():
    # The script adapts on RandomState(7)'s first draw; recompute mean and variance here.
    rs = np.random.RandomState(7)
    data = (rs.standard_normal((50, 3)) * [1.0, 5.0, 0.5] + [0.0, 10.0, -2.0]).astype(np.float32)
    model = gn.io.load_keras(KERAS / "norm_mlp.keras")
    norm = model.get_layer("normalization")
    np.testing.assert_allclose(norm.mean.value, data.astype(np.float64).mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.variance.value, data.astype(np.float64).var(0), rtol=1e-4)
    assert float(norm.count.value) == 0  # Keras 3's adapt() leaves its count variable at 0
    assert model.get_layer("dropout").rate == pytest.approx(0.2)
    assert [layer.activation_name for layer in (model.get_layer("hidden"),
                                                model.get_layer("out"))] == ["relu", "softmax"]


def test_compile_settings_come_along_and_the_model_trains():
    model = gn.io.load_keras(KERAS / "trained_mlp.keras")
    assert model.compiled
    assert isinstance(model.optimizer, gn.optimizers.Adam)
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    assert isinstance(model.loss, gn.losses.BinaryCrossentropy)
    x = _io("trained_mlp")["x"]
    y = (x[:, :1] > x[:, 1:]).astype(np.float32)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    p = np.clip(_io("trained_mlp")["y"].astype(np.float64), 1e-7, 1 - 1e-7)
    assert loss == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-4)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == y))
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not gn.io.load_keras(KERAS / "trained_mlp.keras", compile=False).compiled


def test_load_model_reads_keras_files_too():
    model = gn.models.load_model(KERAS / "norm_mlp.keras")
    np.testing.assert_allclose(model.predict(_io("norm_mlp")["x"]), _io("norm_mlp")["y"],
                               rtol=0, atol=ATOL)


def _hand_built_norm_mlp(first_units=4):
    # Different names from the Keras model: weights files are matched by structure.
    return gn.Sequential([Input((3,)), Normalization(name="n"),
                          Dense(first_units, "relu", name="a"), Dropout(0.2, name="d"),
                          Dense(2, "softmax", name="b")])


def test_keras_weights_h5_loads_into_a_glassnet_model_of_the_same_layers():
    model = _hand_built_norm_mlp()
    model.load_weights(KERAS / "norm_mlp.weights.h5")
    expected = _io("norm_mlp")
    np.testing.assert_allclose(model.predict(expected["x"]), expected["y"], rtol=0, atol=ATOL)


def test_keras_weights_h5_into_a_different_model_names_shapes():
    model = _hand_built_norm_mlp(first_units=5)
    before = model.get_weights()
    with pytest.raises(FileFormatError, match=r"shape \(3, 4\), 'a/kernel' \(layer 'a', "
                                              r"variable 'kernel'\) needs \(3, 5\)"):
        model.load_weights(KERAS / "norm_mlp.weights.h5")
    for want, got in zip(before, model.get_weights(), strict=True):  # nothing half-loaded
        np.testing.assert_array_equal(got, want)


def test_keras_weights_h5_with_weights_for_a_missing_layer_is_refused():
    model = gn.Sequential([Input((3,)), Normalization(), Dense(4, "relu")])
    with pytest.raises(FileFormatError, match="layer group 'dense_1'"):
        model.load_weights(KERAS / "norm_mlp.weights.h5")


@pytest.mark.parametrize("name, keras_class", [("unsupported_conv1d", "Conv1D")])
def test_unsupported_keras_layer_names_its_class(name, keras_class):
    with pytest.raises(FileFormatError, match=rf"{name}\.keras: layer .* is a Keras "
                                              rf"{keras_class}, which glassnet cannot load"):
        gn.io.load_keras(KERAS / f"{name}.keras")


def test_the_batchnorm_file_once_refused_now_loads():
    model = gn.io.load_keras(KERAS / "unsupported_batchnorm.keras")
    assert "BatchNormalization" in [type(layer).__name__ for layer in model.layers]


def test_flatten_model_matches_a_hand_built_glassnet_model():
    # The same weights set by hand into a glassnet model give Keras's outputs too.
    loaded = gn.io.load_keras(KERAS / "flatten_activation.keras")
    model = gn.Sequential([Input((2, 2)), Flatten(), Dense(3, "tanh", use_bias=False),
                           Activation("sigmoid"), Dense(1)])
    model.set_weights(loaded.get_weights())
    expected = _io("flatten_activation")
    np.testing.assert_allclose(model.predict(expected["x"]), expected["y"], rtol=0, atol=ATOL)


def test_training_continues_where_keras_stopped():
    # tests/io/make_keras_resume_fixture.py: Keras trained trained_mlp.keras 2 more epochs.
    resume = load_file(str(Path(__file__).parent / "data" / "keras_resume.safetensors"))
    fit = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0}
    model = gn.io.load_keras(KERAS / "trained_mlp.keras")
    assert model.optimizer.iterations == 8  # 2 epochs of 32 rows in batches of 8
    model.fit(resume["x"], resume["y"], **fit)
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, resume[f"final/{i}"], rtol=0, atol=ATOL)
    # Without Adam's saved step count and slots the same training lands elsewhere.
    fresh = gn.io.load_keras(KERAS / "trained_mlp.keras", compile=False)
    fresh.compile(gn.optimizers.Adam(0.01), "binary_crossentropy")
    fresh.fit(resume["x"], resume["y"], **fit)
    assert max(np.abs(w - resume[f"final/{i}"]).max()
               for i, w in enumerate(fresh.get_weights())) > 100 * ATOL


def test_normalization_with_statistics_in_its_config_needs_no_stored_weights(tmp_path):
    # Keras's Normalization(mean=..., variance=...) keeps them in config.json and stores
    # no variables; make such a file from norm_mlp.keras by moving the statistics.
    with zipfile.ZipFile(KERAS / "norm_mlp.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    mean, variance = [0.5, 10.0, -2.0], [1.0, 25.0, 0.0]  # a zero variance: divided by 1e-7
    config["config"]["layers"][1]["config"].update(mean=mean, variance=variance)
    out = io.BytesIO()
    with h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as src, \
            h5py.File(out, "w") as dst:
        for name in ("dense", "dense_1"):
            src.copy(src[f"layers/{name}"], dst, f"layers/{name}")
        dst.create_group("layers/normalization/vars")
    members.update({"config.json": json.dumps(config).encode(),
                    "model.weights.h5": out.getvalue()})
    with zipfile.ZipFile(tmp_path / "given.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    model = gn.io.load_keras(tmp_path / "given.keras")
    norm, hidden, out_layer = (model.get_layer(n) for n in ("normalization", "hidden", "out"))
    np.testing.assert_array_equal(norm.mean.value, mean)
    np.testing.assert_array_equal(norm.variance.value, variance)
    x = _io("norm_mlp")["x"].astype(np.float64)
    z = ((x - mean) / np.maximum(np.sqrt(variance), 1e-7)) @ hidden.kernel.value + \
        hidden.bias.value
    logits = np.maximum(z, 0) @ out_layer.kernel.value + out_layer.bias.value
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x.astype(np.float32)), expected, rtol=0, atol=ATOL)


def _keras_with_layer_settings(tmp_path, **settings):
    with zipfile.ZipFile(KERAS / "activation_relu.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"].update(settings)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "settings.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return gn.io.load_keras(tmp_path / "settings.keras").layers[0]


def _spec(module, class_name, **config):  # how Keras 3 serializes an object
    return {"module": f"keras.{module}", "class_name": class_name, "config": config,
            "registered_name": None}


def test_keras_regularizers_constraints_and_initializers_carry_over(tmp_path):
    layer = _keras_with_layer_settings(
        tmp_path, trainable=False,
        kernel_regularizer=_spec("regularizers", "L1L2", l1=0.01, l2=0.02),
        bias_regularizer=_spec("regularizers", "L2", l2=0.5),
        kernel_constraint=_spec("constraints", "MaxNorm", max_value=1.5, axis=0),
        bias_constraint=_spec("constraints", "NonNeg"),
        kernel_initializer=_spec("initializers", "HeNormal", seed=3),
        bias_initializer=_spec("initializers", "Orthogonal", gain=1.0, seed=None))
    assert (layer.kernel_regularizer.l1, layer.kernel_regularizer.l2) == \
        pytest.approx((0.01, 0.02))
    assert layer.bias_regularizer.l2 == pytest.approx(0.5)
    assert layer.kernel_constraint.max_value == 1.5
    assert type(layer.bias_constraint).__name__ == "NonNeg"
    assert type(layer.kernel_initializer).__name__ == "HeNormal"
    # No glassnet Orthogonal: the default is used (the stored weights replace it anyway).
    assert type(layer.bias_initializer).__name__ == "Zeros"
    assert layer.trainable is False


@pytest.mark.parametrize("settings, match", [
    ({"kernel_regularizer": _spec("regularizers", "OrthogonalRegularizer", factor=0.01)},
     "regularizer 'OrthogonalRegularizer' has no glassnet counterpart"),
    ({"kernel_constraint": _spec("constraints", "Weird")}, "constraint 'Weird' has no"),
    ({"lora_rank": 4}, "Dense setting lora_rank=4 is not supported"),
    ({"dtype": _spec("", "DTypePolicy", name="mixed_float16")},
     "dtype policy 'mixed_float16' is not supported"),
])
def test_keras_settings_glassnet_lacks_are_refused_by_name(settings, match, tmp_path):
    with pytest.raises(FileFormatError, match=match):
        _keras_with_layer_settings(tmp_path, **settings)
