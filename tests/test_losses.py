"""Losses: values against Keras 3's formulas written out here, weighting and reduction,
stability for logits of any size, and the fused path agreeing with the plain one."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses
from glassnet.errors import ConfigError

EPS = 1e-7  # Keras's backend epsilon
RNG = np.random.default_rng(0)
N, K = 6, 4
LOGITS = RNG.normal(scale=2.0, size=(N, K))
LABELS = RNG.integers(0, K, N)
ONE_HOT = np.eye(K)[LABELS]
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
WEIGHTS = RNG.uniform(0.1, 2.0, N)


def _mean_over_batch(per_sample, w=None):
    # Keras's "sum_over_batch_size": sum(w * loss) / n.
    return float(np.sum(per_sample * (1.0 if w is None else w)) / len(per_sample))


def test_mean_squared_and_absolute_error():
    y, p = RNG.normal(size=(N, 3)), RNG.normal(size=(N, 3))
    assert losses.MeanSquaredError()(y, p) == pytest.approx(np.mean((y - p) ** 2), rel=1e-12)
    assert losses.MeanAbsoluteError()(y, p, WEIGHTS) == pytest.approx(
        _mean_over_batch(np.abs(y - p).mean(axis=1), WEIGHTS), rel=1e-12)


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    y = np.zeros((4, 1))
    p = np.array([[0.5], [-1.0], [3.0], [-4.0]])
    # delta 1: 0.5 * 0.25, 0.5 * 1, 1 * (3 - 0.5), 1 * (4 - 0.5)
    assert losses.Huber()(y, p) == pytest.approx((0.125 + 0.5 + 2.5 + 3.5) / 4)
    # delta 2: 0.5 * 0.25, 0.5 * 1, 2 * (3 - 1), 2 * (4 - 1)
    assert losses.Huber(delta=2.0)(y, p) == pytest.approx((0.125 + 0.5 + 4.0 + 6.0) / 4)


def test_binary_crossentropy_on_probabilities_clips_like_keras():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.9], [0.2], [0.0], [1.0]])  # the last two would be log(0) unclipped
    clipped = np.clip(p, EPS, 1 - EPS)
    expected = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean(axis=1)
    assert losses.BinaryCrossentropy()(y, p) == pytest.approx(expected.mean(), rel=1e-9)
    assert np.isfinite(losses.BinaryCrossentropy()(y, p))


@pytest.mark.parametrize("scale", [1.0, 50.0, 1e4])
def test_binary_crossentropy_from_logits_is_stable_at_any_size(scale):
    z = np.array([[-1.0], [2.0], [-3.0], [0.5]]) * scale
    y = np.array([[1.0], [0.0], [0.0], [1.0]])
    # log(1 + e^z) - y z, evaluated without overflow: max(z, 0) - y z + log1p(e^-|z|)
    expected = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))
    value = losses.BinaryCrossentropy(from_logits=True)(y, z)
    assert np.isfinite(value)
    assert value == pytest.approx(expected.mean(), rel=1e-12)
    if scale == 1e4:  # two badly wrong samples cost |z| each
        assert value == pytest.approx((1e4 + 2e4) / 4, rel=1e-9)


def test_categorical_crossentropy_on_probabilities_and_on_logits():
    expected = -(ONE_HOT * np.log(PROBS)).sum(axis=1)
    assert losses.CategoricalCrossentropy()(ONE_HOT, PROBS) == pytest.approx(
        expected.mean(), rel=1e-9)
    assert losses.CategoricalCrossentropy(from_logits=True)(ONE_HOT, LOGITS, WEIGHTS) == \
        pytest.approx(_mean_over_batch(expected, WEIGHTS), rel=1e-9)
    # Keras renormalises unnormalised probabilities before the log.
    assert losses.CategoricalCrossentropy()(ONE_HOT, 3 * PROBS) == pytest.approx(
        expected.mean(), rel=1e-9)


def test_sparse_categorical_equals_categorical_on_one_hot_labels():
    for from_logits, output in ((False, PROBS), (True, LOGITS)):
        sparse = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        dense = losses.CategoricalCrossentropy(from_logits=from_logits)
        assert sparse(LABELS, output, WEIGHTS) == pytest.approx(
            dense(ONE_HOT, output, WEIGHTS), rel=1e-12)
        assert sparse(LABELS.reshape(-1, 1), output) == pytest.approx(dense(ONE_HOT, output))


def test_categorical_from_logits_is_stable_for_huge_logits():
    z = np.array([[1e4, 0.0, -1e4], [0.0, 5e3, 0.0]])
    y = np.eye(3)[[2, 1]]
    value = losses.CategoricalCrossentropy(from_logits=True)(y, z)
    assert value == pytest.approx((2e4 + 0.0) / 2, rel=1e-9)
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([2, 1]), z)
    assert sparse == pytest.approx(value, rel=1e-12)


def test_label_smoothing_follows_keras():
    y = np.array([[1.0], [0.0]])
    p = np.array([[0.8], [0.3]])
    smoothed = y * 0.8 + 0.5 * 0.2  # binary: y (1 - s) + s / 2
    expected = -(smoothed * np.log(p) + (1 - smoothed) * np.log(1 - p)).mean()
    assert losses.BinaryCrossentropy(label_smoothing=0.2)(y, p) == pytest.approx(expected)
    smooth_onehot = ONE_HOT * 0.9 + 0.1 / K  # categorical: y (1 - s) + s / k
    assert losses.CategoricalCrossentropy(label_smoothing=0.1)(ONE_HOT, PROBS) == \
        pytest.approx(-(smooth_onehot * np.log(PROBS)).sum(axis=1).mean(), rel=1e-9)


@pytest.mark.parametrize("loss, output, target", [
    (losses.BinaryCrossentropy(), "sigmoid", "binary"),
    (losses.BinaryCrossentropy(from_logits=True), "linear", "binary"),
    (losses.CategoricalCrossentropy(), "softmax", "onehot"),
    (losses.CategoricalCrossentropy(from_logits=True), "linear", "onehot"),
    (losses.SparseCategoricalCrossentropy(), "softmax", "sparse"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "linear", "sparse"),
])
def test_fused_training_loss_equals_the_plain_loss_and_stays_finite(float64, loss, output,
                                                                    target):
    units = 1 if target == "binary" else K
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(units, output)])
    # Huge weights: logits of about +-1e4, where a naive softmax or log(sigmoid) overflows.
    model.set_weights([np.array([[5e3] * units, [-5e3] * units]) * np.arange(1, units + 1),
                       np.zeros(units)])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss=loss)
    x = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.2]])
    y = {"binary": np.array([[0.0], [1.0], [1.0]]), "onehot": np.eye(K)[[0, 3, 1]],
         "sparse": np.array([0, 3, 1])}[target]
    assert model._get_trainer().fused == "dense"
    trained = model.train_on_batch(x, y)
    evaluated = model.evaluate(x, y, verbose=0)
    plain = loss(y, model.predict(x))
    assert np.isfinite(trained) and trained == pytest.approx(evaluated, rel=1e-9)
    assert evaluated == pytest.approx(plain, rel=1e-9)
    assert all(np.isfinite(v.grad).all() for v in model.trainable_variables)


@pytest.mark.parametrize("name, cls", [
    ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("mae", losses.MeanAbsoluteError), ("huber", losses.Huber),
    ("binary_crossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("BinaryCrossentropy", losses.BinaryCrossentropy)])
def test_names_resolve_as_in_keras(name, cls):
    assert type(losses.get(name)) is cls


def test_config_round_trip():
    original = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    copy = losses.get(losses.serialize(original))
    assert type(copy) is losses.BinaryCrossentropy
    assert copy.get_config() == original.get_config()
    assert losses.get(losses.serialize(losses.Huber(delta=2.5))).delta == 2.5


def test_bad_loss_settings():
    with pytest.raises(ConfigError, match="Huber delta must be positive, got 0"):
        losses.Huber(delta=0)
    with pytest.raises(ConfigError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        losses.BinaryCrossentropy(label_smoothing=1.5)


def test_to_categorical_makes_one_hot_targets_for_categorical_crossentropy():
    np.testing.assert_array_equal(gn.utils.to_categorical([0, 2, 1]),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert gn.utils.to_categorical([1], num_classes=4).tolist() == [[0, 1, 0, 0]]
    assert gn.utils.to_categorical([1]).dtype == np.float32
    with pytest.raises(gn.errors.DataError, match="label 3 does not fit num_classes=3"):
        gn.utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(gn.errors.DataError, match="non-negative integer labels"):
        gn.utils.to_categorical([0.5])


def test_regularizer_penalties_follow_keras():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert gn.regularizers.L1(0.1)(w) == pytest.approx(0.1 * 3.5)
    assert gn.regularizers.L2(0.1)(w) == pytest.approx(0.1 * 5.25)  # no 1/2, as Keras
    assert gn.regularizers.L1L2(l1=0.1, l2=0.2)(w) == pytest.approx(0.35 + 0.2 * 5.25)
    assert (gn.regularizers.L1().l1, gn.regularizers.L2().l2) == (0.01, 0.01)  # Keras defaults
    assert type(gn.regularizers.get("l2")) is gn.regularizers.L2
    with pytest.raises(ConfigError, match="L2 l2 must be >= 0, got -1"):
        gn.regularizers.L2(-1)


@pytest.mark.parametrize("name", ["BinaryCrossentropy", "MeanSquaredError",
                                  "MeanAbsoluteError", "CategoricalCrossentropy", "Huber"])
def test_a_loss_object_called_on_vectors_treats_them_as_one_sample_as_keras(name):
    """keras.io's examples call losses on plain lists: ``bce(y_true=[0, 1, 0, 0],
    y_pred=[...])``; a vector is one sample whose entries are the last axis."""
    from frameworks import need

    keras = need("keras")
    y_true, y_pred = [0.0, 1.0, 1.0, 0.0], [0.1, 0.8, 0.6, 0.3]
    ours = getattr(gn.losses, name)()(y_true, y_pred)
    theirs = float(getattr(keras.losses, name)()(np.float32(y_true), np.float32(y_pred)))
    np.testing.assert_allclose(float(ours), theirs, rtol=1e-6)
    np.testing.assert_allclose(float(ours.numpy()), float(ours), rtol=1e-6)  # float32
    logits = gn.losses.BinaryCrossentropy(from_logits=True)(
        y_true=[0, 1, 0, 0], y_pred=[-18.6, 0.51, 2.94, -12.8])
    np.testing.assert_allclose(float(logits), 0.865, atol=5e-4)  # keras.io's value
