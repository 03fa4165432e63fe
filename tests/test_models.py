"""Sequential: summary, count_params, get_layer, save/load round trip, the digits network,
and a light ``import glassnet``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import NotFoundError
from glassnet.layers import Dense, Dropout, Flatten, Input, Normalization


def _mixed_model():
    norm = Normalization(name="norm")
    norm.adapt(np.random.default_rng(0).normal(size=(30, 4)))
    return gn.Sequential([Input(shape=(4,)), norm, Dense(3, activation="relu", name="hidden"),
                          Dropout(0.2, name="drop"), Dense(2, activation="softmax", name="out")],
                         name="mixed")


def test_count_params_counts_every_weight_bias_and_statistic():
    model = _mixed_model()
    # norm: mean 4 + variance 4 + count 1; hidden: 4*3 + 3; out: 3*2 + 2
    assert model.count_params() == 9 + 15 + 8
    assert model.get_layer("hidden").count_params() == 15


def test_summary_counts_weights_and_biases_apart_and_trainable_vs_not(capsys):
    model = _mixed_model()
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "mixed"' in text
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in text.splitlines() if line.startswith("│")}
    # columns: output shape, activation, weights, biases, params
    assert rows["hidden (Dense)"] == ["(None, 3)", "relu", "12", "3", "15"]
    assert rows["out (Dense)"] == ["(None, 2)", "softmax", "6", "2", "8"]
    assert rows["norm (Normalization)"][2:] == ["0", "0", "9"]
    assert rows["drop (Dropout)"][2:] == ["0", "0", "0"]
    assert "Total params: 32 (128.00 B)" in text
    assert "Trainable params: 23 (92.00 B)" in text
    assert "Non-trainable params: 9 (36.00 B)" in text
    assert "Weights (kernels): 18   Biases: 5" in text


def test_summary_print_fn_receives_the_text():
    lines = []
    gn.Sequential([Input(shape=(2,)), Dense(1)]).summary(print_fn=lines.append)
    assert "Total params: 3" in lines[0]


def test_get_layer_by_name_and_index():
    model = _mixed_model()
    assert model.get_layer("out") is model.layers[-1]
    assert model.get_layer(index=1).name == "hidden"
    with pytest.raises(NotFoundError, match="no layer named 'nope' in model 'mixed'; layers: "
                                            "norm, hidden, drop, out"):
        model.get_layer("nope")
    assert [layer.name for layer in model.layers] == ["norm", "hidden", "drop", "out"]


def test_weights_are_listed_kernel_then_bias_layer_by_layer():
    model = _mixed_model()
    assert [v.path for v in model.trainable_variables] == [
        "hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    assert [v.path for v in model.weights][:3] == ["norm/mean", "norm/variance", "norm/count"]


def test_save_and_load_model_round_trip_predicts_exactly_equal(tmp_path):
    model = _mixed_model()
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 4)), rng.integers(0, 2, 40)
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "mixed.glassnet"
    model.save(path)
    loaded = gn.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.get_config()["layers"] == model.get_config()["layers"]
    assert type(loaded.optimizer) is gn.optimizers.Adam
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_config_round_trip_builds_the_same_architecture():
    model = gn.Sequential([Input(shape=(2, 3)), Flatten(), Dense(4, activation="elu"),
                           Dense(1, activation="sigmoid")])
    copy = gn.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert copy.get_config()["layers"] == model.get_config()["layers"]
    assert copy.output_shape == (None, 1) and copy.input_shape == (None, 2, 3)


@pytest.mark.slow
def test_digits_64_25_15_10_network_with_adam_reaches_95_percent():
    model_selection = pytest.importorskip("sklearn.model_selection")
    x, y = gn.datasets.load_digits()
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0  # pixels that are always blank stay 0 after centring
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    accuracies = []
    for seed in (0, 1, 2):
        gn.utils.set_random_seed(seed)
        model = gn.Sequential([Input(shape=(64,)), Dense(25, activation="relu"),
                               Dense(15, activation="relu"), Dense(10)])
        model.compile(optimizer=gn.optimizers.Adam(learning_rate=1e-3),
                      loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
        accuracies.append(float((model.predict(x_test).argmax(axis=1) == y_test).mean()))
        _, reported = model.evaluate(x_test, y_test, verbose=0)
        assert reported == pytest.approx(accuracies[-1])
    # Seeds move test accuracy by about one point; the typical run (median) must reach 95%.
    assert np.median(accuracies) >= 0.95, accuracies
    assert min(accuracies) >= 0.93, accuracies


HEAVY = ["scipy", "sklearn", "matplotlib", "h5py", "onnx", "onnxruntime", "fastapi",
         "uvicorn", "plotly", "httpx", "rich", "click", "safetensors", "sqlite3", "_sqlite3",
         "dask", "joblib", "pandas", "torch", "keras"]


@pytest.mark.slow
def test_import_glassnet_imports_numpy_and_nothing_heavier():
    code = ("import json, sys, glassnet; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules] + "
            "['numpy' if 'numpy' in sys.modules else 'NO NUMPY']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == ["numpy"]


@pytest.mark.slow
def test_training_a_model_still_imports_nothing_heavier():
    code = ("import json, sys, numpy as np, glassnet as gn; "
            "m = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(3, 'relu'), "
            "gn.layers.Dense(1, 'sigmoid')]); m.compile('adam', 'binary_crossentropy', "
            "metrics=['accuracy', 'auc']); m.fit(np.ones((4, 2)), np.ones(4), verbose=0); "
            "m.summary(print_fn=lambda s: None); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def test_build_creates_the_weights_for_the_given_input_shape():
    model = gn.Sequential([Dense(3), Dense(1)])
    model.build((None, 4))
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 1), (1,)]
    assert model.count_params() == 4 * 3 + 3 + 3 + 1


def test_predict_in_batches_equals_predict_in_one_go():
    model = _mixed_model()
    x = np.random.default_rng(3).normal(size=(70, 4))
    np.testing.assert_array_equal(model.predict(x, batch_size=8), model.predict(x))
    np.testing.assert_array_equal(model(x), model.predict(x))
    assert model.predict(np.empty((0, 4))).shape == (0, 2)


def test_evaluate_does_not_depend_on_the_batch_size(float64):
    model = _mixed_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(4)
    x, y, w = rng.normal(size=(50, 4)), rng.integers(0, 2, 50), rng.uniform(0, 2, 50)
    whole = model.evaluate(x, y, batch_size=50, sample_weight=w, verbose=0)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=7, sample_weight=w, verbose=0),
                               whole, rtol=1e-12)
    p = model.predict(x)
    cross_entropy = -np.log(p[np.arange(50), y])
    assert whole[0] == pytest.approx(float(np.sum(w * cross_entropy) / 50), rel=1e-12)
