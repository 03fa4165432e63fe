"""importance(): three methods against their closed forms; the example where weights mislead."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError, UnknownNameError
from glassnet.inspect import importance
from glassnet.layers import Dense, Input

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "importance_scales.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("importance_scales", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    X, y = module.make_data()
    return module, X, y, module.fitted_model(X, y)


def test_raw_weights_rank_wrongly_and_permutation_rightly(example, capsys):
    module, *_ = example
    rankings = module.main()
    assert rankings["weights"][0] == "bedrooms"          # the misconception
    assert rankings["permutation"] == ["size_sqft", "bedrooms", "noise"]
    assert rankings["gradient_x_input"] == ["size_sqft", "bedrooms", "noise"]
    assert "ranked by permutation:      size_sqft > bedrooms > noise" in capsys.readouterr().out


def test_permutation_importance_of_a_linear_model_is_2_w2_var(example):
    # shuffling x_j adds w_j (x'_j - x_j) to the error: E = 2 w_j² var(x_j) for MSE
    _, X, y, model = example
    w = model.get_layer("price").kernel.numpy()[:, 0]
    table = importance(model, X, y, method="permutation", n_repeats=10,
                       feature_names=["size", "bedrooms", "noise"])
    got = dict(zip(table["feature"], table["importance"], strict=True))
    assert got["size"] == pytest.approx(2 * w[0] ** 2 * X[:, 0].var(), rel=0.05)
    assert got["bedrooms"] == pytest.approx(2 * w[1] ** 2 * X[:, 1].var(), rel=0.05)
    assert table["rank"] == [1, 2, 3] and sum(table["share"]) == pytest.approx(1.0)


def test_gradient_x_input_of_a_linear_model_is_mean_abs_x_w(example):
    _, X, y, model = example
    w = model.get_layer("price").kernel.numpy()[:, 0]
    table = importance(model, X, method="gradient_x_input")
    got = dict(zip(table["feature"], table["importance"], strict=True))
    for j in range(3):
        assert got[f"x{j}"] == pytest.approx(np.mean(np.abs(X[:, j] * w[j])), rel=1e-9)


def test_weight_paths_are_row_sums_of_abs_weight_products():
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="relu"), Dense(2)])
    W1, W2 = model.get_layer(index=0).kernel.numpy(), model.get_layer(index=1).kernel.numpy()
    expected = [sum(abs(W1[i, h]) * abs(W2[h, o]) for h in range(4) for o in range(2))
                for i in range(3)]
    table = importance(model, np.zeros((1, 3)), method="weights")
    got = dict(zip(table["feature"], table["importance"], strict=True))
    for i in range(3):
        assert got[f"x{i}"] == pytest.approx(expected[i], rel=1e-6)


def test_blank_pixels_of_the_digits_have_zero_permutation_importance(trained_digits, digits):
    # a pixel that is blank in every image cannot change anything when shuffled
    X, y = digits
    X, y = X[:300], y[:300]
    blank = {f"x{j}" for j in np.flatnonzero(X.std(axis=0) == 0)}
    assert "x0" in blank
    table = importance(trained_digits, X, y, method="permutation", n_repeats=2)
    scores = dict(zip(table["feature"], table["importance"], strict=True))
    assert all(scores[f] == 0.0 for f in blank)
    assert all(scores[f] > 0 for f in table["feature"][:5])
    assert set(table["feature"][:5]).isdisjoint(blank)


def test_bad_method_and_missing_target():
    model = gn.Sequential([Input(shape=(2,)), Dense(1)])
    with pytest.raises(UnknownNameError, match="gradient_x_input, permutation, weights"):
        importance(model, np.zeros((2, 2)), method="shap")
    with pytest.raises(ConfigError, match="needs y"):
        importance(model, np.zeros((2, 2)), method="permutation")
