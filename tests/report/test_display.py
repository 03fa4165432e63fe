"""What a notebook shows of glassnet's objects: the numbers and shapes in the HTML are the model's.

Each test renders an object's ``_repr_html_``, parses the HTML back (stdlib parser) and
compares what is shown with numbers computed independently with NumPy.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from html_reading import Reader, numbers

import glassnet as gn
from glassnet._engine.table import Table, format_value
from glassnet.initializers import Constant
from glassnet.layers import Dense, Input


def small_model(name="h1"):
    """2 -> 3 (relu) -> 1 (sigmoid) with chosen weights, compiled for binary cross-entropy."""
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="relu", name=name),
                           Dense(1, activation="sigmoid", name="out")])
    model.get_layer(name).set_weights([np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]),
                                       np.array([0.1, 0.2, -0.3])])
    model.get_layer("out").set_weights([np.array([[1.0], [-2.0], [0.5]]), np.array([0.05])])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model


def body_rows(table):
    return table[1:]  # the first row is the header


# -- models ---------------------------------------------------------------------------
def test_model_html_counts_weights_and_biases_apart_as_the_model_has_them():
    model = gn.Sequential([Input(shape=(64,)), Dense(25, activation="relu", name="hidden"),
                           Dense(10, activation="softmax", name="output")])
    reader = Reader(model._repr_html_())
    header, *rows = reader.tables[0]
    assert header == ["Layer", "Type", "Output shape", "Activation", "Weights", "Biases",
                      "Params"]
    assert rows == [["hidden", "Dense", "(None, 25)", "relu", "1,600", "25", "1,625"],
                    ["output", "Dense", "(None, 10)", "softmax", "250", "10", "260"]]
    assert "Total params: 1,885 = 1,850 weights + 35 biases" in reader.text
    assert model.count_params() == 1885
    assert "trainable 1,885, non-trainable 0" in reader.text


def test_model_html_escapes_the_names_a_user_gave():
    model = small_model(name="<script>alert(1)<\\script>")
    html = model._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert Reader(html).tables[0][1][0] == "<script>alert(1)<\\script>"


def test_model_markdown_is_the_summary_text():
    from glassnet.models.summary import summary_text

    model = small_model()
    assert summary_text(model) in model._repr_markdown_()


def test_an_unbuilt_model_says_so():
    text = Reader(gn.Sequential([Dense(3)])._repr_html_()).text
    assert "Not built yet" in text


# -- Table ----------------------------------------------------------------------------
def test_table_html_shows_every_value_as_the_terminal_rounds_it():
    table = Table(["layer", "mean", "count"], [("a&b", 0.123456, 3), ("c", -2e-5, 10)],
                  title="Means <of> layers", notes=["std is the population std"])
    reader = Reader(table._repr_html_())
    assert reader.tables[0] == [["layer", "mean", "count"], ["a&b", "0.1235", "3"],
                                ["c", "-2.000e-05", "10"]]
    assert "Means <of> layers" in reader.text and "std is the population std" in reader.text
    assert "&lt;of&gt;" in table._repr_html_()
    assert table._repr_markdown_() == table.to_markdown()


def test_a_long_table_shows_its_first_rows_and_says_how_many_are_left_out():
    table = Table(["i"], [(i,) for i in range(100)], title="long")
    reader = Reader(table._repr_html_())
    assert [row[0] for row in body_rows(reader.tables[0])] == [str(i) for i in range(40)]
    assert "60 more rows (of 100)" in reader.text


# -- Variable -------------------------------------------------------------------------
def test_variable_html_shows_its_values_and_statistics():
    model = small_model()
    kernel = model.get_layer("h1").kernel
    reader = Reader(kernel._repr_html_())
    shown = reader.matrix("kernel")
    assert shown["shape"] == "2×3"
    np.testing.assert_allclose(numbers(shown["rows"]), kernel.numpy(), rtol=1e-3)
    values = kernel.numpy().astype(np.float64)
    stats = body_rows(reader.tables[0])[0]
    assert stats == ["6", format_value(values.mean()), format_value(values.std()),
                     format_value(values.min()), format_value(values.max())]
    assert "h1/kernel: 2×3 float32, trainable" in reader.text


def test_a_large_kernel_shows_its_corners():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([Input(shape=(64,)), Dense(25)])
    kernel = model.layers[0].kernel.numpy()
    shown = Reader(model.layers[0].kernel._repr_html_()).matrix("kernel")
    assert shown["shape"] == "64×25"
    rows = shown["rows"]
    assert len(rows) == 9 and all(len(r) == 9 for r in rows)   # 4 + … + 4 each way
    assert rows[4] == ["…"] * 9
    assert float(rows[0][0]) == pytest.approx(kernel[0, 0], rel=1e-3)
    assert float(rows[-1][-1]) == pytest.approx(kernel[-1, -1], rel=1e-3)
    assert float(rows[0][-1]) == pytest.approx(kernel[0, -1], rel=1e-3)


# -- traces ---------------------------------------------------------------------------
def test_trace_html_shows_the_forward_and_backward_matrices_computed_by_hand():
    model = small_model()
    x, y = np.array([[1.0, 2.0]]), np.array([[1.0]])
    reader = Reader(gn.inspect.trace(model, x, y)._repr_html_())
    W1, b1 = (v.astype(np.float64) for v in model.get_layer("h1").get_weights())
    W2, b2 = (v.astype(np.float64) for v in model.get_layer("out").get_weights())
    z1 = x @ W1 + b1                        # [3.6, -0.3, 0.7]
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    a2 = 1 / (1 + np.exp(-z2))
    dz2 = a2 - y                            # sigmoid + cross-entropy, one sample
    dW2 = a1.T @ dz2
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    dW1 = x.T @ dz1
    expected = {("x", 0): x, ("W", 0): W1, ("b", 0): b1, ("z", 0): z1, ("a", 0): a1,
                ("x", 1): a1, ("W", 1): W2, ("z", 1): z2, ("a", 1): a2,
                ("dz", 0): dz2, ("dW = xᵀ dz", 0): dW2, ("db = Σ dz", 0): dz2.sum(axis=0),
                ("dz", 1): dz1, ("dW = xᵀ dz", 1): dW1}
    for (label, index), value in expected.items():
        shown = reader.matrix(label, index)
        assert shown["shape"] == "×".join(map(str, value.shape)), label
        np.testing.assert_allclose(numbers(shown["rows"]).reshape(value.shape), value,
                                   rtol=1e-3, atol=1e-6, err_msg=label)
    loss = -np.log(a2[0, 0])
    assert f"loss (binary_crossentropy) = {format_value(loss)}" in reader.text
    assert "h1 (Dense, 2 → 3, relu)" in reader.text and "out backward" in reader.text


def test_trace_without_a_target_has_no_backward_section():
    reader = Reader(gn.inspect.trace(small_model(), np.array([[1.0, 2.0]]))._repr_html_())
    assert "Backward" not in reader.text
    assert [m["label"] for m in reader.matrices] == ["x", "W", "b", "z", "a"] * 2


# -- findings -------------------------------------------------------------------------
def test_findings_show_each_finding_and_stay_a_list():
    model = gn.Sequential([Input(shape=(4,)),
                           Dense(8, activation="relu", name="dead<layer>",
                                 bias_initializer=Constant(-100.0)),
                           Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    X = np.random.default_rng(0).uniform(0, 1, size=(32, 4))
    findings = gn.inspect.diagnose(model, X)
    assert isinstance(findings, list) and findings
    html = findings._repr_html_()
    reader = Reader(html)
    assert reader.classes.count("glassnet-finding") == len(findings)
    dead = next(f for f in findings if "dead" in f.what)
    assert dead.what in reader.text and "[dead<layer>]" in reader.text
    assert "dead_share=1" in reader.text
    assert "&lt;layer&gt;" in html


def test_no_findings_says_nothing_was_found():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([Input(shape=(2,)), Dense(8, activation="tanh"), Dense(1)])
    findings = gn.inspect.diagnose(model, np.random.default_rng(0).normal(size=(64, 2)))
    assert findings == []
    assert "nothing found" in Reader(findings._repr_html_()).text


# -- History --------------------------------------------------------------------------
def trained(epochs=6):
    gn.utils.set_random_seed(0)
    X = np.random.default_rng(0).normal(size=(64, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    model = small_model()
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model.fit(X, y, epochs=epochs, verbose=0, validation_split=0.25)


def polyline_points(html: str) -> list[np.ndarray]:
    import re

    return [np.array([[float(v) for v in p.split(",")] for p in points.split()])
            for points in re.findall(r'<polyline points="([^"]+)"', html)]


def test_history_html_has_the_final_values_and_a_loss_chart_of_every_epoch():
    history = trained()
    html = history._repr_html_()
    reader = Reader(html)
    rows = {row[0]: row[1:] for row in body_rows(reader.tables[0])}
    for key, values in history.history.items():
        best = min(values) if "loss" in key else max(values)
        assert rows[key] == [format_value(values[0]), format_value(best), format_value(values[-1])]
    lines = polyline_points(html)
    assert len(lines) == 2                      # loss and val_loss
    for line, key in zip(lines, ("loss", "val_loss"), strict=True):
        assert len(line) == 6
        # SVG y grows downwards: the drawn heights are in the order of the losses
        np.testing.assert_array_equal(np.argsort(-line[:, 1], kind="stable"),
                                      np.argsort(history.history[key], kind="stable"))
    assert "History: 6 epochs" in reader.text


def test_history_markdown_lists_the_final_values():
    history = trained(epochs=2)
    text = history._repr_markdown_()
    assert f"| loss | {format_value(history.history['loss'][0])} |" in text


# -- runs -----------------------------------------------------------------------------
def test_run_html_has_status_metrics_and_the_dashboard_command(tmp_path):
    run = gn.track.init(project="p<1>", name="first", config={"lr": 0.1}, store=tmp_path)
    run.log({"loss": 0.5, "epoch/loss": 0.25, "test/accuracy": 0.875})
    reader = Reader(run._repr_html_())
    assert "running" in reader.text
    rows = dict(body_rows(reader.tables[0]))
    assert rows == {"epoch/loss": "0.25", "test/accuracy": "0.875", "loss": "0.5"}
    assert f"glassnet ui --store {run.store.root}" in reader.text
    assert f"http://127.0.0.1:8765/runs/{run.id}" in reader.text
    assert "p<1>" in reader.text and "lr=0.1" in reader.text
    run.finish()
    assert "finished" in Reader(run._repr_html_()).text
    assert run.id in run._repr_markdown_()


# -- the notebook machinery -----------------------------------------------------------
def test_ipython_picks_the_html_of_every_object():
    formatters = pytest.importorskip("IPython.core.formatters")
    formatter = formatters.DisplayFormatter()
    model = small_model()
    objects = [model, model.get_layer("h1").bias, gn.inspect.describe(model),
               gn.inspect.trace(model, np.array([[1.0, 2.0]])), trained(epochs=2)]
    for obj in objects:
        data, _ = formatter.format(obj)
        assert 'class="glassnet glassnet-' in data["text/html"], type(obj)


@pytest.mark.slow
def test_import_glassnet_and_training_load_neither_the_display_module_nor_ipython():
    code = ("import sys, numpy as np, glassnet as gn\n"
            "m = gn.Sequential([gn.Input(shape=(2,)), gn.layers.Dense(1)])\n"
            "m.compile(optimizer='sgd', loss='mse')\n"
            "m.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)\n"
            "print(sorted(k for k in sys.modules if k.startswith(('IPython', "
            "'glassnet.report.display', 'matplotlib'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_model_html_counts_batch_normalization_gamma_as_weights_and_beta_as_biases():
    model = gn.Sequential([Input(shape=(4,)), Dense(3, name="d"),
                           gn.layers.BatchNormalization(name="bn")])
    reader = Reader(model._repr_html_())
    bn = next(row for row in reader.tables[0] if row[0] == "bn")
    assert bn[4:] == ["3", "3", "12"]       # gamma, beta; + moving mean and variance
    assert "Total params: 27 = 15 weights + 6 biases + 6 other" in reader.text
    assert model.count_params() == 27
