"""Bad input to the engine gets a glassnet.errors exception that says what was expected
and what was given.

(Named test_engine_errors.py: tests/cli/test_errors.py takes the basename test_errors.)

Each message is pinned on a stable fragment; each exception is also the built-in type
a Python user would catch (ValueError, TypeError, RuntimeError).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import (
    ConfigError,
    DataError,
    GlassnetError,
    NotCompiledError,
    ShapeError,
    UnknownNameError,
)
from glassnet.layers import Dense, Dropout, Input


def _classifier(compiled=True):
    model = gn.Sequential([Input(shape=(3,)), Dense(3, activation="softmax")])
    if compiled:
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_x_and_y_of_different_lengths():
    with pytest.raises(DataError, match="x and y must have the same number of samples: "
                                        "x has 5, y has 4"):
        _classifier().fit(np.ones((5, 3)), np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="x has 2, y has 3"):
        _classifier().evaluate(np.ones((2, 3)), np.zeros(3), verbose=0)


def test_wrong_feature_count_at_predict():
    model = _classifier()
    with pytest.raises(ShapeError, match=r"model 'sequential' expects input of shape "
                                         r"\(n_samples, 3\), got \(2, 4\)"):
        model.predict(np.ones((2, 4)))
    with pytest.raises(ShapeError, match=r"got \(3, 5\) — transposed\?"):
        model.predict(np.ones((3, 5)))


@pytest.mark.parametrize("bad, kind, where", [(np.nan, "NaN", "row 1, column 2"),
                                              (np.inf, "inf", "row 1, column 2"),
                                              (-np.inf, "inf", "row 1, column 2")])
def test_nan_or_inf_in_the_inputs(bad, kind, where):
    x = np.ones((4, 3))
    x[1, 2] = bad
    model = _classifier()
    with pytest.raises(DataError, match=rf"x contains {kind} \(first at {where}\)"):
        model.fit(x, np.zeros(4), verbose=0)
    with pytest.raises(DataError, match=rf"x contains {kind}"):
        model.predict(x)
    with pytest.raises(DataError, match=r"y contains NaN \(first at row 3\)"):
        model.fit(np.ones((4, 3)), np.array([0, 1, 2, np.nan]), verbose=0)
    with pytest.raises(DataError, match=r"validation x contains"):
        model.fit(np.ones((4, 3)), np.zeros(4), validation_data=(x, np.zeros(4)), verbose=0)


@pytest.mark.parametrize("labels, bad", [([0, 1, 3, 0], 3), ([0, -1, 2, 0], -1)])
def test_sparse_labels_out_of_range(labels, bad):
    with pytest.raises(DataError, match=rf"label {bad} is out of range for 3 classes "
                                        r"\(expected 0 <= label < 3\)"):
        _classifier().fit(np.ones((4, 3)), np.array(labels), verbose=0)


def test_non_integer_sparse_labels():
    with pytest.raises(DataError, match="expects integer class labels"):
        _classifier().fit(np.ones((2, 3)), np.array([0.5, 1.0]), verbose=0)


@pytest.mark.parametrize("resolve, kind, valid", [
    (lambda: Dense(2, activation="relux"), "activation",
     "elu, gelu, leaky_relu, linear, relu, sigmoid, silu, softmax, softplus, tanh"),
    (lambda: gn.losses.get("msee"), "loss",
     "binary_crossentropy, categorical_crossentropy, huber, huber_loss, mae, "
     "mean_absolute_error, mean_squared_error, mse, sparse_categorical_crossentropy"),
    (lambda: gn.optimizers.get("adamx"), "optimizer", "adagrad, adam, adamw, rmsprop, sgd"),
    (lambda: Dense(2, kernel_initializer="glorot"), "initializer",
     "constant, glorot_normal, glorot_uniform, he_normal, he_uniform, lecun_normal, "
     "lecun_uniform, ones, random_normal, random_uniform, truncated_normal, "
     "variance_scaling, zeros"),
])
def test_unknown_names_list_the_valid_names_sorted(resolve, kind, valid):
    with pytest.raises(UnknownNameError, match=rf"Unknown {kind} '\w+'\. "
                                               rf"Valid {kind} names: {valid}\.$"):
        resolve()


def test_unknown_names_through_compile():
    model = _classifier(compiled=False)
    with pytest.raises(ValueError, match="Unknown optimizer 'sgdd'"):
        model.compile(optimizer="sgdd", loss="mse")
    with pytest.raises(ValueError, match="Unknown loss 'mse2'"):
        model.compile(optimizer="sgd", loss="mse2")
    with pytest.raises(ValueError, match="Unknown metric 'acc2'"):
        model.compile(optimizer="sgd", loss="mse", metrics=["acc2"])


def test_fit_or_evaluate_before_compile():
    model = _classifier(compiled=False)
    with pytest.raises(NotCompiledError, match="must be compiled before training or "
                                               r"evaluation: call model.compile\("):
        model.fit(np.ones((2, 3)), np.zeros(2), verbose=0)
    with pytest.raises(RuntimeError, match="must be compiled"):
        model.evaluate(np.ones((2, 3)), np.zeros(2))
    with pytest.raises(RuntimeError, match="must be compiled"):
        model.train_on_batch(np.ones((2, 3)), np.zeros(2))
    assert model.predict(np.ones((2, 3))).shape == (2, 3)  # predicting needs no compile


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True])
def test_dense_units_must_be_a_positive_int(units):
    with pytest.raises(ConfigError, match="Dense units must be a positive int, got "
                                          + re.escape(repr(units))):
        Dense(units)


@pytest.mark.parametrize("make, fragment", [
    (lambda: gn.optimizers.SGD(learning_rate=-0.1),
     r"SGD learning_rate must be in \[0, inf\], got -0.1"),
    (lambda: gn.optimizers.Adam(learning_rate=-1e-3),
     r"Adam learning_rate must be in \[0, inf\], got -0.001"),
    (lambda: gn.optimizers.RMSprop(learning_rate=-1),
     r"RMSprop learning_rate must be in \[0, inf\], got -1"),
])
def test_negative_learning_rate(make, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make()


def test_learning_rate_set_later_is_checked_too():
    optimizer = gn.optimizers.SGD()
    with pytest.raises(ConfigError, match=r"learning_rate must be in \[0, inf\], got -2"):
        optimizer.learning_rate = -2


@pytest.mark.parametrize("momentum", [-0.1, 1.5])
def test_momentum_outside_0_1(momentum):
    with pytest.raises(ConfigError, match=rf"SGD momentum must be in \[0, 1\], got {momentum}"):
        gn.optimizers.SGD(momentum=momentum)
    with pytest.raises(ConfigError, match=rf"RMSprop momentum must be in \[0, 1\], got "
                                          rf"{momentum}"):
        gn.optimizers.RMSprop(momentum=momentum)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rate_outside_0_1(rate):
    with pytest.raises(ConfigError, match=rf"Dropout rate must be in \[0, 1\), got {rate}"):
        Dropout(rate)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
    ({"epochs": -1}, "epochs must be a non-negative int, got -1"),
    ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\), got 1.0"),
])
def test_fit_arguments(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        _classifier().fit(np.ones((4, 3)), np.zeros(4), verbose=0, **kwargs)


def test_non_numeric_and_ragged_inputs():
    model = _classifier()
    with pytest.raises(DataError, match="x must be numeric, got an array of dtype <U1"):
        model.predict(np.array([["a", "b", "c"]]))
    with pytest.raises(DataError, match="x must be a rectangular numeric array"):
        model.predict([[1.0, 2.0, 3.0], [1.0]])


def test_targets_of_the_wrong_width():
    model = gn.Sequential([Input(shape=(2,)), Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ShapeError, match=r"mean_squared_error expects targets of shape "
                                         r"\(n, 3\) to match the model output, got \(4, 2\)"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)


def test_errors_are_the_builtin_types_users_catch():
    assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(ShapeError, ValueError) and issubclass(UnknownNameError, ValueError)
    assert issubclass(NotCompiledError, RuntimeError)
    assert all(issubclass(e, GlassnetError) for e in (ConfigError, DataError, ShapeError,
                                                       NotCompiledError))


def test_missing_dependency_names_the_extra():
    with pytest.raises(gn.errors.MissingDependencyError,
                       match=r"no_such_module_xyz is needed .* pip install 'glassnet\[ui\]'"):
        gn.errors.require("no_such_module_xyz", "ui")


def test_integer_labels_with_categorical_crossentropy_suggest_the_sparse_loss():
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ShapeError, match=r"expects targets of shape \(n, 3\) to match the "
                                         r"model output, got \(4,\) — integer class labels\? "
                                         r"use sparse_categorical_crossentropy"):
        model.fit(np.ones((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"sample_weight": np.ones(3)}, DataError,
     "sample_weight must have one weight per sample: expected 4, got 3"),
    ({"sample_weight": np.array([1.0, -1.0, 1.0, 1.0])}, DataError,
     "sample_weight must be >= 0"),
    ({"sample_weight": np.array([1.0, np.nan, 1.0, 1.0])}, DataError,
     r"sample_weight contains NaN \(first at row 1\)"),
    ({"class_weight": [1.0, 2.0]}, ConfigError,
     r"class_weight must be a dict \{class: weight\}, got list"),
])
def test_bad_sample_and_class_weights(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        _classifier().fit(np.ones((4, 3)), np.zeros(4), verbose=0, **kwargs)
