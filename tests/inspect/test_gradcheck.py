"""gradients() and check_gradients(): the engine's dL/dW against closed forms and differences."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError, NotCompiledError
from glassnet.inspect import check_gradients, gradients
from glassnet.layers import Dense, Dropout, Input


def test_gradients_of_linear_unit_match_the_closed_form():
    # MSE of z = w x + b: dL/dw = mean(2 (z - y) x), dL/db = mean(2 (z - y))
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([[310.0], [480.0], [720.0]])
    model = gn.Sequential([Input(shape=(1,)), Dense(1, name="L1")])
    model.set_weights([np.array([[200.0]]), np.array([100.0])])
    model.compile(optimizer="sgd", loss="mse")
    g = gradients(model, X, y)
    residual = (X * 200.0 + 100.0) - y
    assert g["L1/kernel"][0, 0] == pytest.approx(np.mean(2 * residual * X), rel=1e-6)
    assert g["L1/bias"][0] == pytest.approx(np.mean(2 * residual), rel=1e-6)


def test_check_gradients_passes_for_every_activation_and_loss(digits):
    X, y = digits
    model = gn.Sequential([Input(shape=(64,)), Dense(12, activation="tanh"),
                           Dense(8, activation="sigmoid"), Dense(6, activation="elu"),
                           Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    table = check_gradients(model, X[:40], y[:40], max_per_variable=20)
    assert len(table) == 8
    assert all(table["ok"]), str(table)
    assert max(table["relative_error"]) < 1e-7
    assert table["checked"] == [20, 12, 20, 8, 20, 6, 20, 10]


def test_check_gradients_with_regularizer_and_binary_loss(coffee):
    X, y = coffee
    X = (X - X.mean(0)) / X.std(0)
    model = gn.Sequential([Input(shape=(2,)),
                           Dense(3, activation="relu", kernel_regularizer=gn.regularizers.L2(0.1)),
                           Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    table = check_gradients(model, X[:30], y[:30])
    assert all(table["ok"]), str(table)


@pytest.mark.slow
def test_check_gradients_leaves_a_float32_model_untouched(trained_coffee, coffee):
    before = trained_coffee.get_weights()
    check_gradients(trained_coffee, *coffee)
    after = trained_coffee.get_weights()
    assert all(w.dtype == np.float32 for w in after)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_check_gradients_refuses_dropout_and_uncompiled():
    model = gn.Sequential([Input(shape=(2,)), Dense(3), Dropout(0.5), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ConfigError, match="Dropout"):
        check_gradients(model, np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(NotCompiledError, match="has no loss"):
        gradients(gn.Sequential([Input(shape=(2,)), Dense(1)]), np.zeros((2, 2)), np.zeros(2))
