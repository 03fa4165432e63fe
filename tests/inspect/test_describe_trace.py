"""describe and trace: the numbers, checked against NumPy and hand-worked arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import NotBuiltError, NotCompiledError
from glassnet.inspect import describe, gradients, summarize, trace
from glassnet.layers import Dense, Input


def lab_unit(w=200.0, b=100.0):
    model = gn.Sequential([Input(shape=(1,)), Dense(1, activation="linear", name="L1")])
    model.get_layer("L1").set_weights([np.array([[w]]), np.array([b])])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_summarize_matches_numpy():
    x = np.random.default_rng(0).normal(0.3, 2.0, size=(40, 7)).astype(np.float32)
    s = summarize(x)
    x64 = x.astype(np.float64)
    assert s["count"] == 280
    assert s["mean"] == pytest.approx(x64.mean(), rel=1e-12)
    assert s["std"] == pytest.approx(x64.std(), rel=1e-12)
    assert (s["min"], s["max"]) == (x64.min(), x64.max())
    assert s["l2"] == pytest.approx(np.linalg.norm(x64), rel=1e-12)
    assert s["neg_share"] == np.count_nonzero(x < 0) / 280


def test_summarize_constant_and_empty():
    assert summarize(np.full(1000, 0.1))["std"] == 0.0
    assert summarize(np.zeros(4))["neg_share"] == 0.0  # zero is not negative
    empty = summarize(np.array([]))
    assert empty["count"] == 0 and np.isnan(empty["mean"])


@pytest.mark.slow
def test_describe_gives_kernel_and_bias_apart(trained_digits):
    table = describe(trained_digits)
    assert [(r["layer"], r["variable"]) for r in table.to_records()] == [
        ("hidden1", "kernel"), ("hidden1", "bias"), ("hidden2", "kernel"), ("hidden2", "bias"),
        ("output", "kernel"), ("output", "bias")]
    row = table.to_records()[2]
    W = trained_digits.get_layer("hidden2").kernel.numpy().astype(np.float64)
    assert row["shape"] == "25×15" and row["count"] == 375
    assert row["mean"] == pytest.approx(W.mean(), rel=1e-9)
    assert row["std"] == pytest.approx(W.std(), rel=1e-9)
    assert row["l2"] == pytest.approx(np.sqrt((W ** 2).sum()), rel=1e-9)
    assert row["neg_share"] == np.mean(W < 0)
    assert "1600 + 375 + 150" not in table.notes[0]
    assert table.notes[0].startswith(f"{1600 + 375 + 150} weights and {25 + 15 + 10} biases")


def test_describe_needs_a_built_model():
    with pytest.raises(NotBuiltError, match="no weights yet"):
        describe(gn.Sequential([Dense(3)]))


def test_trace_lab_unit_shows_the_arithmetic():
    # the course lab: w = 200, b = 100, x = 1.0 -> z = 300 (price in $1000s)
    text = str(trace(lab_unit(), np.array([1.0])))
    assert "z = 1.0 × 200.0 + 100.0 = 300.0" in text
    assert "a = linear(300.0) = 300.0" in text
    assert "backward" not in text


def test_trace_lab_unit_backward_by_hand():
    # MSE on one sample: L = (300 - 250)^2 = 2500; dL/da = 2 (a - y) = 100;
    # linear: dz = 100; dW = x dz = 2 * 100 = 200 (x = 2: z = 500); db = 100
    t = trace(lab_unit(w=200.0, b=100.0), np.array([2.0]), np.array([450.0]))
    assert t.loss == pytest.approx(2500.0)
    layer = t["L1"]
    assert layer.z[0, 0] == 500.0
    assert layer.dz[0, 0] == pytest.approx(100.0)
    assert layer.dW[0, 0] == pytest.approx(200.0)
    assert layer.db[0] == pytest.approx(100.0)
    text = str(t)
    assert "dW[0,0] = x[0] × dz = 2.0 × 100.0 = 200.0" in text
    assert "db[0] = dz = 100.0" in text


def test_trace_two_layer_sigmoid_matches_numpy_by_hand():
    W1 = np.array([[0.5, -1.0, 0.25], [2.0, 0.1, -0.3]])
    b1 = np.array([0.1, -0.2, 0.0])
    W2 = np.array([[1.0], [-2.0], [0.5]])
    b2 = np.array([0.3])
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="sigmoid"),
                           Dense(1, activation="sigmoid")])
    model.set_weights([W1, b1, W2, b2])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x, y = np.array([[1.5, -0.5]]), np.array([[1.0]])
    t = trace(model, x, y)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    a1 = sig(x @ W1.astype(np.float32) + b1.astype(np.float32))
    p = sig(a1 @ W2 + b2)
    np.testing.assert_allclose(t.layers[0].a, a1, rtol=1e-6)
    np.testing.assert_allclose(t.output, p, rtol=1e-6)
    assert t.loss == pytest.approx(-np.log(p[0, 0]), rel=1e-6)
    # sigmoid + cross-entropy: dz2 = p - y; dz1 = dz2 W2^T * a1 (1 - a1)
    dz2 = p - y
    np.testing.assert_allclose(t.layers[1].dz, dz2, rtol=1e-6)
    np.testing.assert_allclose(t.layers[0].dz, (dz2 @ W2.T) * a1 * (1 - a1), rtol=1e-5)
    text = str(t)
    assert "unit 2: z = 1.5 × 0.25 + (-0.5) × (-0.3) + 0.0 = 0.525" in text
    assert "fused" in text


def test_trace_of_digits_network_is_summarised_and_agrees_with_the_engine(trained_digits,
                                                                          digits):
    X, y = digits
    t = trace(trained_digits, X[:1], y[:1])
    text = str(t)
    assert "unit 0: z =" not in text  # 1600 weights: statistics, not arithmetic
    assert "(64, 25)" in text and "dW = xᵀ dz" in text
    engine = gradients(trained_digits, X[:1], y[:1])
    for p in t.layers:
        np.testing.assert_allclose(p.dW, engine[f"{p.name}/kernel"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(p.db, engine[f"{p.name}/bias"], rtol=1e-4, atol=1e-6)
    records = t.to_records()
    assert {(r["layer"], r["quantity"]) for r in records} >= {("hidden1", "W"), ("output", "db")}
    tables = t.tables()
    assert len(tables["forward"]) == 15 and len(tables["backward"]) == 11


def test_trace_with_target_needs_a_loss():
    model = gn.Sequential([Input(shape=(1,)), Dense(1)])
    with pytest.raises(NotCompiledError, match="has no loss"):
        trace(model, np.array([1.0]), np.array([1.0]))


def test_trace_does_not_change_the_model(trained_digits, digits):
    before = trained_digits.get_weights()
    trace(trained_digits, digits[0][:5], digits[1][:5])
    for a, b in zip(before, trained_digits.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
