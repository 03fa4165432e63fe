"""Metrics against scikit-learn's, and their accumulation over batches."""

from __future__ import annotations

import numpy as np
import pytest

sk = pytest.importorskip("sklearn.metrics")

import glassnet as gn  # noqa: E402
from glassnet import metrics  # noqa: E402

RNG = np.random.default_rng(0)
N = 1000
Y_BINARY = RNG.integers(0, 2, N)
# Scores that carry signal but overlap, so every metric is away from 0 and 1.
SCORES = np.clip(0.35 * Y_BINARY + RNG.uniform(0, 0.65, N), 0, 1)
WEIGHTS = RNG.uniform(0.1, 3.0, N)
Y_CLASSES = RNG.integers(0, 4, N)
PROBS = RNG.dirichlet(np.ones(4), N) + 0.3 * np.eye(4)[Y_CLASSES]


def _in_batches(metric, y, p, w=None, size=64):
    metric.reset_state()
    for start in range(0, len(y), size):
        stop = start + size
        metric.update_state(y[start:stop], p[start:stop],
                            None if w is None else w[start:stop])
    return metric.result()


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_accuracy_precision_recall_match_sklearn(weighted):
    w = WEIGHTS if weighted else None
    predicted = (SCORES > 0.5).astype(int)
    y, p = Y_BINARY.reshape(-1, 1), SCORES.reshape(-1, 1)
    assert _in_batches(metrics.BinaryAccuracy(), y, p, w) == pytest.approx(
        sk.accuracy_score(Y_BINARY, predicted, sample_weight=w), rel=1e-12)
    assert _in_batches(metrics.Precision(), y, p, w) == pytest.approx(
        sk.precision_score(Y_BINARY, predicted, sample_weight=w), rel=1e-12)
    assert _in_batches(metrics.Recall(), y, p, w) == pytest.approx(
        sk.recall_score(Y_BINARY, predicted, sample_weight=w), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_roc_auc_score_within_the_200_threshold_approximation(weighted):
    w = WEIGHTS if weighted else None
    exact = sk.roc_auc_score(Y_BINARY, SCORES, sample_weight=w)
    approx = _in_batches(metrics.AUC(), Y_BINARY.reshape(-1, 1), SCORES.reshape(-1, 1), w)
    # 200 thresholds bin the scores in steps of 1/199; the trapezoid over the bins is
    # within ~1/199 of the exact area, and much closer for scores spread like these.
    assert approx == pytest.approx(exact, abs=2e-3)
    assert 0.6 < exact < 0.99


@pytest.mark.slow
def test_auc_with_many_thresholds_converges_to_the_exact_value():
    exact = sk.roc_auc_score(Y_BINARY, SCORES)
    fine = metrics.AUC(num_thresholds=5000)(Y_BINARY, SCORES)
    assert fine == pytest.approx(exact, abs=2e-4)


@pytest.mark.parametrize("weighted", [False, True])
def test_categorical_and_sparse_accuracy_match_sklearn(weighted):
    w = WEIGHTS if weighted else None
    expected = sk.accuracy_score(Y_CLASSES, PROBS.argmax(axis=1), sample_weight=w)
    assert _in_batches(metrics.SparseCategoricalAccuracy(), Y_CLASSES, PROBS, w) == \
        pytest.approx(expected, rel=1e-12)
    assert _in_batches(metrics.CategoricalAccuracy(), np.eye(4)[Y_CLASSES], PROBS, w) == \
        pytest.approx(expected, rel=1e-12)
    assert 0.3 < expected < 0.95


def test_regression_metrics_match_sklearn():
    y = RNG.normal(size=(N, 1))
    p = y + RNG.normal(scale=0.5, size=(N, 1))
    assert _in_batches(metrics.MeanAbsoluteError(), y, p) == pytest.approx(
        sk.mean_absolute_error(y, p), rel=1e-12)
    assert _in_batches(metrics.MeanSquaredError(), y, p, WEIGHTS) == pytest.approx(
        sk.mean_squared_error(y, p, sample_weight=WEIGHTS), rel=1e-12)


def test_accuracy_string_resolves_by_the_loss_like_keras():
    assert type(metrics.get("accuracy", gn.losses.get("binary_crossentropy"), 1)) is \
        metrics.BinaryAccuracy
    assert type(metrics.get("accuracy", gn.losses.get("categorical_crossentropy"), 4)) is \
        metrics.CategoricalAccuracy
    assert type(metrics.get("accuracy", gn.losses.get("sparse_categorical_crossentropy"),
                            4)) is metrics.SparseCategoricalAccuracy
    assert metrics.get("accuracy", gn.losses.get("binary_crossentropy"), 1).name == "accuracy"


def test_fit_reports_accuracy_equal_to_sklearn_on_the_epoch_predictions(float64):
    # With learning rate 0 the weights never move, so the epoch metric is the metric of
    # predict() on the whole set.
    x = RNG.normal(size=(50, 2))
    y = (x[:, 0] + 0.3 * RNG.normal(size=50) > 0).astype(int)
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(1, "sigmoid")])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy",
                  metrics=["accuracy", "auc"])
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    p = model.predict(x).ravel()
    assert history.history["accuracy"][0] == pytest.approx(
        sk.accuracy_score(y, p > 0.5), rel=1e-12)
    assert history.history["auc"][0] == pytest.approx(sk.roc_auc_score(y, p), abs=1e-2)
