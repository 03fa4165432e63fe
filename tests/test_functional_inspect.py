"""Every weight and bias of a functional (or nested) model stays in plain view.

summary, describe, trace, check_gradients, run.watch and the ten tables read such
models; values are checked against the model's own arrays and predictions.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers
from glassnet.report import TABLE_NAMES, tables
from glassnet.track.architecture import inbound, layer_names


def _branched(dtype="float32", head="softmax"):
    inputs = gn.Input(shape=(4,), dtype=dtype)
    a = layers.Dense(3, activation="relu", name="a", dtype=dtype)(inputs)
    b = layers.Dense(2, activation="tanh", name="b", dtype=dtype)(inputs)
    joined = layers.Concatenate(name="join", dtype=dtype)([a, b])
    h = layers.Dense(3, name="h", dtype=dtype)(joined)
    summed = layers.Add(name="sum", dtype=dtype)([h, layers.Dense(3, name="skip",
                                                                   dtype=dtype)(inputs)])
    outputs = layers.Dense(3, activation=head, name="out", dtype=dtype)(summed)
    return gn.Model(inputs, outputs, name="branched")


def _data(n=12):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, rng.integers(0, 3, size=n)


def test_summary_counts_weights_and_biases_and_says_who_reads_whom(capsys):
    model = _branched()
    model.summary()
    text = capsys.readouterr().out
    assert "join (Concatenate)" in text and "(None, 5)" in text
    assert "join ← a, b" in text and "sum ← h, skip" in text
    kernels = sum(v.size for v in model.weights if v.name == "kernel")
    biases = sum(v.size for v in model.weights if v.name == "bias")
    assert f"Weights (kernels): {kernels:,}   Biases: {biases:,}" in text
    nested = gn.Sequential([_branched(), layers.Activation("linear")])
    nested.summary()
    text = capsys.readouterr().out
    assert "branched (Functional)" in text
    assert f"Weights (kernels): {kernels:,}   Biases: {biases:,}" in text


def test_describe_lists_every_kernel_and_bias_of_the_graph():
    model = _branched()
    rows = {(r["layer"], r["variable"]): r for r in gn.inspect.describe(model).to_records()}
    for name in ("a", "b", "h", "skip", "out"):
        kernel = model.get_layer(name).kernel.numpy()
        assert rows[(name, "kernel")]["count"] == kernel.size
        assert rows[(name, "kernel")]["mean"] == pytest.approx(kernel.mean(), rel=1e-5)
        assert (name, "bias") in rows


@pytest.mark.parametrize("nest", [False, True])
def test_trace_follows_the_graph_and_agrees_with_the_engine(nest):
    x, y = _data()
    inner = _branched("float64")
    model = gn.Sequential([inner, layers.Activation("linear", dtype="float64")]) if nest \
        else inner
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    traced = gn.inspect.trace(model, x, y)
    np.testing.assert_allclose(traced.output, model.predict(x), rtol=1e-12)
    assert traced["join"].sources == [traced.layers.index(traced["a"]),
                                      traced.layers.index(traced["b"])]
    np.testing.assert_allclose(traced["join"].a, np.hstack([traced["a"].a, traced["b"].a]))
    engine = gn.inspect.gradients(model, x, y)
    for name in ("a", "b", "h", "skip", "out"):
        np.testing.assert_allclose(traced[name].dW, engine[f"{name}/kernel"], atol=1e-12)
    assert "layer join (Concatenate)" in str(traced)
    table = gn.inspect.check_gradients(model, x, y)
    assert len(table) == 10 and all(row[-1] for row in table.rows)


def test_watch_records_the_graph_and_the_ten_tables_read_it(tmp_path):
    x, y = _data(48)
    model = _branched()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    run = gn.track.init(project="graph", config={"activation": "relu"}, store=tmp_path)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25,
              callbacks=[run.watch(log_freq=1, snapshots="epoch", histograms=True)])
    run.finish()
    store = gn.track.open_store(tmp_path)
    config = store.model_config(run.id)
    assert inbound(config)["join"] == ["a", "b"]
    assert layer_names(config)[1:] == ["a", "b", "join", "h", "skip", "sum", "out"]
    made = tables([run.id], store=tmp_path)
    assert tuple(made) == TABLE_NAMES and all(len(t) for t in made.values())
    weights = {r["layer"]: r for r in made["weights"].to_records()}
    assert list(weights) == ["a", "b", "h", "skip", "out"]  # in the model's order
    for name, record in weights.items():
        assert record["mean"] == pytest.approx(
            float(model.get_layer(name).kernel.numpy().mean()), rel=1e-5, abs=1e-7)


def test_a_nested_models_layers_are_recorded_in_its_place():
    nested = gn.Sequential([_branched(), layers.Activation("softmax", name="final")])
    names = layer_names(nested.get_config())
    assert names[-1] == "final" and names[1:8] == ["a", "b", "join", "h", "skip", "sum", "out"]


def test_importance_by_weights_refuses_a_graph_the_others_follow_it():
    from glassnet.errors import ConfigError

    x, y = _data(30)
    model = _branched()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match="branched graph"):
        gn.inspect.importance(model, x, y, method="weights")
    # gradient × input: |x · ∂z_chosen/∂x| averaged, the derivative through both branches;
    # checked by central differences on a linear-headed twin (its output is z itself).
    model = _branched("float64", head="linear")
    model.compile(optimizer="sgd", loss="mse")
    x = x.astype(np.float64)
    chosen = model.predict(x).argmax(axis=1)
    rows = np.arange(len(x))
    numeric = np.empty_like(x)
    for j in range(x.shape[1]):
        step = np.zeros_like(x)
        step[:, j] = 1e-6
        numeric[:, j] = (model.predict(x + step)[rows, chosen]
                         - model.predict(x - step)[rows, chosen]) / 2e-6
    table = gn.inspect.importance(model, x, y, method="gradient_x_input")
    got = [r["importance"] for r in table.to_records()]
    expected = np.abs(x * numeric).mean(axis=0)
    assert sorted(got, reverse=True) == pytest.approx(sorted(expected, reverse=True),
                                                     rel=1e-5)


def test_watch_and_tables_on_a_model_nested_in_a_sequential(tmp_path):
    x, y = _data(48)
    model = gn.Sequential([_branched(head="linear"), layers.Softmax(name="soft")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    run = gn.track.init(project="nested", store=tmp_path)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[run.watch(log_freq=1, snapshots="epoch")])
    run.finish()
    made = tables([run.id], store=tmp_path)
    weights = {r["layer"]: r for r in made["weights"].to_records()}
    assert list(weights) == ["a", "b", "h", "skip", "out"]  # the nested model's, in order
    for name, record in weights.items():
        assert record["mean"] == pytest.approx(
            float(model.layers[0].get_layer(name).kernel.numpy().mean()), rel=1e-5, abs=1e-7)
    biases = {r["layer"] for r in made["biases"].to_records()}
    assert biases == set(weights)
