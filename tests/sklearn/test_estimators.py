"""GlassClassifier / GlassRegressor in scikit-learn's machinery, checked against truth."""

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.sklearn import GlassClassifier, GlassRegressor


@pytest.fixture(scope="module")
def digits():
    return gn.datasets.load_digits()


@pytest.mark.slow
def test_pipeline_cross_val_on_digits_scores_at_least_090(digits):
    X, y = digits
    pipeline = make_pipeline(StandardScaler(),
                             GlassClassifier(hidden=(25, 15), epochs=30, random_state=0))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() >= 0.90, scores


def test_fitted_attributes_are_the_models_weights(digits):
    X, y = digits
    clf = GlassClassifier(hidden=(8,), epochs=3, random_state=0).fit(X / 16, y)
    weights = clf.model_.get_weights()
    assert [c.shape for c in clf.coefs_] == [(64, 8), (8, 10)]
    np.testing.assert_array_equal(clf.coefs_[0], weights[0])
    np.testing.assert_array_equal(clf.intercepts_[1], weights[3])
    assert len(clf.loss_curve_) == clf.n_iter_ == 3
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    # predict_proba is the softmax of the model's logits, columns in classes_ order.
    logits = clf.model_.predict(X[:5] / 16).astype(np.float64)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X[:5] / 16), expected, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X[:5] / 16), clf.classes_[logits.argmax(1)])


def test_string_labels_round_trip():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-2, 1, (40, 2)), rng.normal(2, 1, (40, 2))])
    y = np.array(["cat"] * 40 + ["dog"] * 40)
    clf = GlassClassifier(hidden=(4,), epochs=40, learning_rate=1e-2, random_state=0).fit(X, y)
    assert set(clf.predict(X)) <= {"cat", "dog"}
    assert clf.score(X, y) > 0.95


def test_same_random_state_same_weights(digits):
    X, y = digits
    a = GlassClassifier(hidden=(8,), epochs=2, random_state=3).fit(X / 16, y)
    b = GlassClassifier(hidden=(8,), epochs=2, random_state=3).fit(X / 16, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.slow
def test_grid_search_picks_the_better_learning_rate(digits):
    X, y = digits
    search = GridSearchCV(GlassClassifier(hidden=(16,), epochs=5, random_state=0),
                          {"learning_rate": [1e-5, 1e-2]}, cv=3)
    search.fit(X / 16, y)
    # 5 epochs at 1e-5 barely move the weights: 1e-2 must win by far.
    assert search.best_params_ == {"learning_rate": 1e-2}
    assert search.best_score_ > 0.85


def test_regressor_recovers_a_linear_map():
    X, y, coef = make_regression(n_samples=200, n_features=3, noise=0.0, coef=True,
                                 random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y / 100, random_state=0)
    reg = GlassRegressor(hidden=(16,), epochs=300, learning_rate=1e-2, random_state=0)
    reg.fit(X_train, y_train)
    assert reg.predict(X_test).shape == (len(X_test),)
    assert reg.score(X_test, y_test) > 0.99


def test_regressor_multi_output_shape():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    Y = np.column_stack([X.sum(1), X[:, 0] - X[:, 1]])
    reg = GlassRegressor(hidden=(8,), epochs=5, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (50, 2)
    assert reg.coefs_[-1].shape == (8, 2)


def test_partial_fit_continues_training(digits):
    X, y = digits
    clf = GlassClassifier(hidden=(16,), random_state=0)
    clf.partial_fit(X / 16, y, classes=np.arange(10))
    first = clf.loss_curve_[-1]
    for _ in range(4):
        clf.partial_fit(X / 16, y)
    assert clf.n_iter_ == 5
    assert clf.loss_curve_[-1] < first
    with pytest.raises(ValueError, match="classes must be passed"):
        GlassClassifier().partial_fit(X, y)


def test_early_stopping_records_validation_scores(digits):
    X, y = digits
    clf = GlassClassifier(hidden=(8,), epochs=200, early_stopping=True, patience=2,
                          learning_rate=5e-2, random_state=0).fit(X / 16, y)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_


def test_track_records_each_fit_as_a_run(tmp_path, digits):
    X, y = digits
    clf = GlassClassifier(hidden=(8,), epochs=2, random_state=0,
                          track={"project": "est", "store": str(tmp_path)})
    clf.fit(X / 16, y)
    store = gn.track.open_store(tmp_path)
    (record,) = store.runs(project="est")
    assert record["id"] == clf.run_id_
    assert record["status"] == "finished"
    assert record["config"]["hidden"] == [8]
    steps, losses = store.metrics(record["id"], "epoch/loss")
    np.testing.assert_allclose(losses, clf.loss_curve_, rtol=1e-6)
    final = store.snapshot(record["id"], "end")
    np.testing.assert_array_equal(final["hidden_1/kernel"], clf.coefs_[0])


def test_bad_hyperparameters_are_named():
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with pytest.raises(ConfigError, match="hidden must be positive ints"):
        GlassClassifier(hidden=(0,)).fit(X, y)
    with pytest.raises(ConfigError, match="epochs must be a positive int"):
        GlassClassifier(epochs=0).fit(X, y)
    with pytest.raises(gn.errors.UnknownNameError, match="Valid activation names"):
        GlassClassifier(activation="swishy").fit(X, y)
