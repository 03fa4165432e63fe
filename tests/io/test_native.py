"""The native ``.glassnet`` file: exact round trips, training that continues, atomic saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.activations import ACTIVATIONS
from glassnet.errors import FileFormatError, NotBuiltError
from glassnet.layers import Activation, Dense, Dropout, Flatten, Input, Normalization


def _data(n=24, shape=(4,), seed=0):
    rng = np.random.default_rng(seed)
    return (2.0 * rng.standard_normal((n,) + shape)).astype(gn.backend.floatx())


def _round_trip(model, tmp_path, **load_kwargs):
    path = tmp_path / "model.glassnet"
    model.save(path)
    return gn.models.load_model(path, **load_kwargs)


def _assert_same_model(original, loaded, x):
    assert loaded.get_config() == original.get_config()
    assert [v.path for v in loaded.weights] == [v.path for v in original.weights]
    for before, after in zip(original.weights, loaded.weights, strict=True):
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after.value, before.value, err_msg=before.path)
    # Exact: the same weights and the same arithmetic give the same bits.
    np.testing.assert_array_equal(loaded.predict(x), original.predict(x))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_dense_with_each_activation_round_trips_exactly(activation, tmp_path):
    model = gn.Sequential([Input((4,)), Dense(5, activation, name="hidden"),
                           Dense(3, activation, name="out")])
    for layer in model.layers:  # non-zero biases, so a dropped bias would show
        layer.bias.assign(np.linspace(-0.5, 0.5, layer.units))
    loaded = _round_trip(model, tmp_path)
    _assert_same_model(model, loaded, _data())
    assert loaded.get_layer("out").activation_name == activation


def test_every_layer_type_round_trips_exactly(tmp_path):
    x = _data(shape=(2, 3))
    norm = Normalization(name="norm")
    model = gn.Sequential([
        Input((2, 3)), Flatten(name="flat"), norm,
        Dense(4, "tanh", use_bias=False, name="nobias"), Activation("sigmoid", name="act"),
        Dropout(0.25, seed=3, name="drop"), Dense(2, "softmax", name="out")])
    norm.adapt(x.reshape(len(x), -1))
    loaded = _round_trip(model, tmp_path)
    _assert_same_model(model, loaded, x)
    assert loaded.get_layer("nobias").bias is None
    assert loaded.get_layer("drop").rate == 0.25
    mean = x.reshape(len(x), -1).astype(np.float64).mean(axis=0)  # adapt works in float64
    np.testing.assert_array_equal(loaded.get_layer("norm").mean.value, mean.astype(np.float32))
    assert float(loaded.get_layer("norm").count.value) == len(x)


def test_float64_model_keeps_its_dtype(float64, tmp_path):
    model = gn.Sequential([Input((4,)), Dense(3, "elu")])
    loaded = _round_trip(model, tmp_path)
    assert loaded.weights[0].dtype == np.float64
    _assert_same_model(model, loaded, _data())


def test_regularizers_initializers_and_constraints_survive(tmp_path):
    model = gn.Sequential([Input((4,)), Dense(
        3, "relu", kernel_initializer=gn.initializers.HeNormal(seed=7),
        bias_initializer=gn.initializers.Constant(0.25),
        kernel_regularizer=gn.regularizers.L1L2(l1=0.01, l2=0.02),
        bias_regularizer=gn.regularizers.L2(0.5),
        kernel_constraint=gn.constraints.MaxNorm(1.5), bias_constraint="non_neg",
        name="d")])
    loaded = _round_trip(model, tmp_path).get_layer("d")
    assert loaded.get_config() == model.get_layer("d").get_config()
    assert (loaded.kernel_regularizer.l1, loaded.kernel_regularizer.l2) == \
        pytest.approx((0.01, 0.02))
    assert loaded.bias_regularizer.l2 == pytest.approx(0.5)
    assert loaded.kernel_constraint.max_value == 1.5
    assert type(loaded.bias_constraint).__name__ == "NonNeg"
    assert type(loaded.kernel_initializer).__name__ == "HeNormal"


def test_compile_settings_survive(tmp_path):
    model = gn.Sequential([Input((4,)), Dense(3, "softmax")])
    model.compile(optimizer=gn.optimizers.RMSprop(learning_rate=0.02, rho=0.8, centered=True),
                  loss=gn.losses.SparseCategoricalCrossentropy(from_logits=False),
                  metrics=["accuracy"])
    loaded = _round_trip(model, tmp_path)
    assert loaded.compiled
    assert loaded.get_compile_config() == model.get_compile_config()
    assert isinstance(loaded.optimizer, gn.optimizers.RMSprop)
    assert loaded.optimizer.learning_rate == pytest.approx(0.02)
    assert not _round_trip(model, tmp_path, compile=False).compiled


def _training_model(optimizer):
    gn.utils.set_random_seed(5)
    gn.utils.clear_session()
    model = gn.Sequential([Input((4,)), Dense(6, "tanh", kernel_regularizer="l2"),
                           Dense(3)])
    model.compile(optimizer=optimizer, loss=gn.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("optimizer", [
    lambda: gn.optimizers.Adam(learning_rate=0.01),
    lambda: gn.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    lambda: gn.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    lambda: gn.optimizers.Adagrad(learning_rate=0.05),
    lambda: gn.optimizers.AdamW(learning_rate=0.01, amsgrad=True),
], ids=["adam", "sgd_nesterov", "rmsprop_centered", "adagrad", "adamw_amsgrad"])
def test_training_continues_identically_after_save_and_load(optimizer, float64, tmp_path):
    x = _data(n=30)
    y = gn.utils.to_categorical((x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1), 3)
    reference = _training_model(optimizer())
    reference.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)

    resumed = _training_model(optimizer())
    resumed.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    resumed.save(tmp_path / "half.glassnet")
    loaded = gn.models.load_model(tmp_path / "half.glassnet")
    assert loaded.optimizer.iterations == resumed.optimizer.iterations == 8
    history = loaded.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)

    for want, got in zip(reference.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(got.value, want.value, err_msg=want.path)
    np.testing.assert_array_equal(history.history["loss"], reference.history.history["loss"][2:])


def test_without_optimizer_state_training_restarts_the_optimizer(float64, tmp_path):
    x = _data(n=16)
    y = gn.utils.to_categorical(x[:, 0] > 0, 3)
    model = _training_model(gn.optimizers.Adam(0.01))
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "m.glassnet", include_optimizer=False)
    config = json.loads(zipfile.ZipFile(tmp_path / "m.glassnet").read("config.json"))
    assert config["optimizer_state"] is None
    loaded = gn.models.load_model(tmp_path / "m.glassnet")
    assert loaded.optimizer.iterations == 0
    assert all(not slot.any() for slot in loaded.optimizer.slots.values())


def test_file_holds_exactly_the_two_documented_members(tmp_path):
    model = gn.Sequential([Input((4,)), Dense(2)])
    model.save(tmp_path / "m.glassnet")
    with zipfile.ZipFile(tmp_path / "m.glassnet") as archive:
        assert archive.namelist() == ["config.json", "model.safetensors"]
        config = json.loads(archive.read("config.json"))
    assert config["format"] == "glassnet" and config["format_version"] == 1
    assert config["glassnet_version"] == gn.__version__
    assert config["variables"] == [
        {"path": "dense/kernel", "shape": [4, 2], "dtype": "float32", "trainable": True},
        {"path": "dense/bias", "shape": [2], "dtype": "float32", "trainable": True}]


def test_new_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        gn.Sequential([Input((4,)), Dense(2)]).save(tmp_path / "m.glassnet")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.glassnet").stat().st_mode & 0o777 == 0o644


def test_saving_under_a_legacy_keras_h5_name_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match=r"m\.glassnet"):
        gn.Sequential([Input((4,)), Dense(2)]).save(tmp_path / "m.h5")
    assert list(tmp_path.iterdir()) == []


def test_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotBuiltError):
        gn.Sequential([Dense(2)]).save(tmp_path / "m.glassnet")


# -- weights only ----------------------------------------------------------------------

def test_save_weights_and_load_weights_round_trip(tmp_path):
    x = _data()
    model = gn.Sequential([Input((4,)), Normalization(), Dense(3, "silu"), Dense(2)])
    model.layers[0].adapt(x)
    model.save_weights(tmp_path / "w.weights.safetensors")
    gn.utils.set_random_seed(99)
    gn.utils.clear_session()
    other = gn.Sequential([Input((4,)), Normalization(), Dense(3, "silu"), Dense(2)])
    assert not np.array_equal(other.predict(x), model.predict(x))
    other.load_weights(tmp_path / "w.weights.safetensors")
    for before, after in zip(model.weights, other.weights, strict=True):
        np.testing.assert_array_equal(after.value, before.value)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_load_weights_names_path_and_both_shapes_on_mismatch(tmp_path):
    gn.Sequential([Input((4,)), Dense(3, name="d")]).save_weights(tmp_path / "w.safetensors")
    wider = gn.Sequential([Input((5,)), Dense(3, name="d")])
    with pytest.raises(FileFormatError, match=r"'d/kernel' has shape \(4, 3\).*expects \(5, 3\)"):
        wider.load_weights(tmp_path / "w.safetensors")


def test_load_weights_refuses_tensors_for_another_model(tmp_path):
    gn.Sequential([Input((4,)), Dense(3, name="a"), Dense(1, name="b")]).save_weights(
        tmp_path / "w.safetensors")
    smaller = gn.Sequential([Input((4,)), Dense(3, name="a")])
    before = smaller.get_weights()
    with pytest.raises(FileFormatError, match=r"'b/bias', 'b/kernel' match no Variable"):
        smaller.load_weights(tmp_path / "w.safetensors")
    for want, got in zip(before, smaller.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_save_weights_wants_a_safetensors_name(tmp_path):
    with pytest.raises(FileFormatError, match="safetensors"):
        gn.Sequential([Input((4,)), Dense(2)]).save_weights(tmp_path / "w.npz")


# -- atomic writes -----------------------------------------------------------------------

def _good_and_changed(tmp_path):
    path = tmp_path / "m.glassnet"
    model = gn.Sequential([Input((4,)), Dense(3)])
    model.save(path)
    good = path.read_bytes()
    model.layers[0].kernel.assign(np.ones((4, 3)))
    return model, path, good


def test_crash_while_writing_a_member_keeps_the_previous_file(tmp_path, monkeypatch):
    model, path, good = _good_and_changed(tmp_path)
    listing = sorted(os.listdir(tmp_path))
    real_writestr = zipfile.ZipFile.writestr

    def crash_on_weights(self, name, data, *args, **kwargs):
        if getattr(name, "filename", name) == "model.safetensors":
            real_writestr(self, name, data[: len(data) // 2], *args, **kwargs)
            raise OSError("disk full (simulated)")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash_on_weights)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == listing  # no temporary file left behind
    monkeypatch.undo()
    assert not np.array_equal(gn.models.load_model(path).layers[0].kernel.value, np.ones((4, 3)))


def test_crash_at_the_rename_keeps_the_previous_file(tmp_path, monkeypatch):
    model, path, good = _good_and_changed(tmp_path)
    listing = sorted(os.listdir(tmp_path))

    def no_rename(src, dst):
        raise OSError("power cut (simulated)")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    with pytest.raises(OSError, match="simulated"):
        model.save_weights(tmp_path / "w.safetensors")
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == listing


def test_a_good_save_replaces_the_file(tmp_path):
    model, path, good = _good_and_changed(tmp_path)
    model.save(path)
    assert path.read_bytes() != good
    np.testing.assert_array_equal(gn.models.load_model(path).layers[0].kernel.value,
                                  np.ones((4, 3)))
    assert sorted(os.listdir(tmp_path)) == ["m.glassnet"]


@pytest.mark.slow
def test_io_exports_its_documented_names_and_imports_nothing_heavy():
    assert gn.io.__all__ == ["NonFiniteWeightsWarning", "export_onnx", "load_keras",
                             "load_model", "load_torch_state", "load_weights",
                             "load_weights_h5", "save_keras", "save_model", "save_weights",
                             "save_weights_h5"]
    assert all(callable(getattr(gn.io, name)) for name in gn.io.__all__)
    # Importing every io module must not import the optional dependencies.
    code = ("import sys, glassnet.io.native, glassnet.io.keras, glassnet.io.torch, "
            "glassnet.io.onnx, glassnet.io.keras_write, glassnet.io.dispatch; "
            "print(sorted(m for m in ('h5py', 'onnx', 'onnxruntime', "
            "'torch', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ,
                                          "PYTHONPATH": str(Path(gn.__file__).parents[1])})
    assert out.stdout.strip() == "[]"


def test_numpy_scalars_in_settings_are_saved_as_numbers(tmp_path):
    model = gn.Sequential([Input((4,)), Dropout(0.5, seed=np.int64(3), name="d"),
                           Dense(np.int64(2))])
    loaded = _round_trip(model, tmp_path)
    assert (loaded.get_layer("d").rate, loaded.get_layer("d").seed) == (0.5, 3)
