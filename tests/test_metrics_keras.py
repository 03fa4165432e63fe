"""Every metric class against the real Keras 3 on the same model, data and calls.

The same weights go into a glassnet and a Keras model; both are compiled with the
same metric, then evaluated on data A, then B, then A again, fitted for two epochs
(with and without class weights) and evaluated twice more. Keras resets every
metric at the start of each epoch and each evaluate, so each number is the metric
on that call's data alone: glassnet must report the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need

# Keras 3's Variable.numpy() trips NumPy 2's __array__(copy=) deprecation: not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")

RS = np.random.RandomState(7)
X_A = RS.standard_normal((60, 4)).astype(np.float32)
X_B = (RS.standard_normal((45, 4)) + 0.7).astype(np.float32)


def _binary(x):
    return (x[:, 0] + 0.5 * x[:, 1] > 0.6).astype(np.float32).reshape(-1, 1)


def _classes(x):
    return (np.digitize(x[:, 0] - x[:, 2], [-0.5, 0.5])).astype(np.int64)


# (metric spec, task) — a spec is (class name, kwargs), made in both libraries alike.
BINARY = [
    ("BinaryAccuracy", {}), ("BinaryAccuracy", {"threshold": 0.3}),
    ("Precision", {}), ("Recall", {}), ("Precision", {"thresholds": [0.3, 0.5, 0.7]}),
    ("TruePositives", {}), ("FalsePositives", {}), ("TrueNegatives", {}),
    ("FalseNegatives", {}), ("TruePositives", {"thresholds": 0.3}),
    ("AUC", {}), ("AUC", {"curve": "PR"}), ("AUC", {"num_thresholds": 11}),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}),
    ("AUC", {"thresholds": [0.2, 0.4, 0.9]}),
    ("BinaryCrossentropy", {}), ("BinaryCrossentropy", {"label_smoothing": 0.1}),
    ("MeanSquaredError", {}), ("MeanAbsoluteError", {}), ("RootMeanSquaredError", {}),
    ("MeanAbsolutePercentageError", {}), ("MeanSquaredLogarithmicError", {}),
    ("LogCoshError", {}), ("Accuracy", {}),
]
LOGITS = [("BinaryCrossentropy", {"from_logits": True}), ("AUC", {"from_logits": True})]
SPARSE = [
    ("SparseCategoricalAccuracy", {}), ("SparseCategoricalCrossentropy", {}),
    ("SparseTopKCategoricalAccuracy", {"k": 2}),
]
ONE_HOT = [
    ("CategoricalAccuracy", {}), ("CategoricalCrossentropy", {}),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}),
    ("TopKCategoricalAccuracy", {"k": 2}), ("KLDivergence", {}),
    ("Precision", {"class_id": 1}), ("Recall", {"top_k": 1}),
]
CASES = ([(spec, "binary") for spec in BINARY] + [(spec, "logits") for spec in LOGITS]
         + [(spec, "sparse") for spec in SPARSE] + [(spec, "one_hot") for spec in ONE_HOT])


def _task(task):
    if task in ("binary", "logits"):
        activation = "sigmoid" if task == "binary" else None
        return 1, activation, "binary_crossentropy" if task == "binary" else "bce_logits", \
            _binary
    if task == "sparse":
        return 3, "softmax", "sparse_categorical_crossentropy", _classes
    return 3, "softmax", "categorical_crossentropy", lambda x: np.eye(3, dtype=np.float32)[
        _classes(x)]


def _loss(library, name):
    if name == "bce_logits":
        return library.losses.BinaryCrossentropy(from_logits=True)
    return name


def _run(library, spec, task, weights, weighted=False):
    units, activation, loss, target = _task(task)
    cls, kwargs = spec
    model = library.Sequential([library.Input(shape=(4,)),
                                library.layers.Dense(5, activation="tanh"),
                                library.layers.Dense(units, activation=activation)])
    model.set_weights(weights)
    model.compile(optimizer=library.optimizers.SGD(0.1), loss=_loss(library, loss),
                  **{"weighted_metrics" if weighted else "metrics":
                     [getattr(library.metrics, cls)(**kwargs)]})
    y_a, y_b = target(X_A), target(X_B)
    out = [model.evaluate(X_A, y_a, verbose=0), model.evaluate(X_B, y_b, verbose=0),
           model.evaluate(X_A, y_a, verbose=0)]
    history = model.fit(X_A, y_a, epochs=2, batch_size=16, shuffle=False, verbose=0)
    out += [history.history[key] for key in sorted(history.history)]
    # Keras's training history of a count metric (TruePositives...) holds a view of the
    # count that its validation pass then overwrites: compare only val_* and the loss.
    history = model.fit(X_A, y_a, epochs=2, batch_size=16, shuffle=False, verbose=0,
                        validation_data=(X_B, y_b))
    out += [history.history[key] for key in sorted(history.history)
            if key == "loss" or key.startswith("val_")]
    class_weight = {0: 1.0, 1: 5.0} if task in ("binary", "logits") else {0: 1, 1: 4, 2: 2}
    history = model.fit(X_A, y_a, epochs=1, batch_size=16, shuffle=False, verbose=0,
                        class_weight=class_weight)
    out += [history.history[key] for key in sorted(history.history)]
    out += [model.evaluate(X_B, y_b, verbose=0), model.evaluate(X_B, y_b, verbose=0)]
    sample_weight = np.linspace(0.2, 3.0, len(X_B))
    out += [model.evaluate(X_B, y_b, sample_weight=sample_weight, verbose=0)]
    return out


def _flat(values):
    flat = []
    for value in values:
        if isinstance(value, (list, tuple)):
            flat.extend(_flat(value))
        else:
            flat.extend(np.asarray(value, dtype=np.float64).reshape(-1).tolist())
    return np.array(flat)


def _keras_weights(keras, task):
    units = _task(task)[0]
    keras.utils.set_random_seed(3)
    reference = keras.Sequential([keras.Input(shape=(4,)),
                                  keras.layers.Dense(5, activation="tanh"),
                                  keras.layers.Dense(units)])
    return [np.asarray(w) for w in reference.get_weights()]


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "task"), CASES,
                         ids=[f"{s[0]}{s[1] or ''}-{t}" for s, t in CASES])
def test_metric_matches_keras_across_evaluate_and_fit_calls(spec, task):
    keras = need("keras")
    weights = _keras_weights(keras, task)
    expected = _flat(_run(keras, spec, task, weights))
    got = _flat(_run(gn, spec, task, weights))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


WEIGHTED = [(("BinaryAccuracy", {}), "binary"), (("Precision", {}), "binary"),
            (("AUC", {}), "binary"), (("MeanSquaredError", {}), "binary"),
            (("SparseCategoricalAccuracy", {}), "sparse")]


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "task"), WEIGHTED, ids=[s[0] for s, _ in WEIGHTED])
def test_weighted_metrics_take_class_and_sample_weights_as_keras(spec, task):
    keras = need("keras")
    weights = _keras_weights(keras, task)
    expected = _flat(_run(keras, spec, task, weights, weighted=True))
    got = _flat(_run(gn, spec, task, weights, weighted=True))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


def test_the_issue_example_evaluate_a_then_b_then_a_again_gives_a_again():
    """The regression of issue 18: Precision and BinaryAccuracy accumulated across calls."""
    model = gn.Sequential([gn.Input(shape=(4,)), gn.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[1.5], [0.8], [0.0], [0.0]], np.float32),
                       np.array([-1.0], np.float32)])
    model.compile(loss="binary_crossentropy",
                  metrics=[gn.metrics.Precision(), gn.metrics.BinaryAccuracy()])
    y_a, y_b = _binary(X_A), 1.0 - _binary(X_B)
    first = model.evaluate(X_A, y_a)
    model.evaluate(X_B, y_b)
    assert model.evaluate(X_A, y_a) == first
    p = model.predict(X_B) > 0.5
    truth = y_b > 0.5
    precision = (p & truth).sum() / p.sum()
    assert model.evaluate(X_B, y_b)[1] == pytest.approx(precision, rel=1e-12)
    assert model.evaluate(X_B, y_b)[2] == pytest.approx((p == truth).mean(), rel=1e-12)


def test_evaluate_after_class_weighted_fit_counts_only_its_own_data():
    model = gn.Sequential([gn.Input(shape=(4,)), gn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[gn.metrics.Precision()])
    y_a = _binary(X_A)
    model.fit(X_A, y_a, epochs=2, verbose=0, class_weight={0: 1.0, 1: 20.0})
    p = model.predict(X_A) > 0.5
    precision = (p & (y_a > 0.5)).sum() / max(p.sum(), 1)
    assert model.evaluate(X_A, y_a)[1] == pytest.approx(precision, rel=1e-12)
    assert model.evaluate(X_A, y_a)[1] == pytest.approx(precision, rel=1e-12)


@pytest.mark.slow
def test_unnamed_metrics_are_named_as_keras_names_them():
    keras = need("keras")
    keras.utils.clear_session()
    gn.utils.clear_session()
    make = [("AUC", {}), ("AUC", {"curve": "PR"}), ("Precision", {}), ("Precision", {}),
            ("Recall", {}), ("TruePositives", {}), ("BinaryAccuracy", {}),
            ("BinaryCrossentropy", {}), ("MeanSquaredError", {})]
    expected = [getattr(keras.metrics, cls)(**kw).name for cls, kw in make]
    assert [getattr(gn.metrics, cls)(**kw).name for cls, kw in make] == expected


def test_two_unnamed_aucs_in_one_model_both_reach_the_history():
    model = gn.Sequential([gn.Input(shape=(4,)), gn.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy",
                  metrics=[gn.metrics.AUC(), gn.metrics.AUC(curve="PR")])
    history = model.fit(X_A, _binary(X_A), epochs=1, verbose=0)
    assert sorted(history.history) == ["auc", "auc_1", "loss"]
    assert history.history["auc"] != history.history["auc_1"]
