"""Small gaps the course-and-tutorial corpus met, each against the real Keras 3.

- ``metrics=[tf.keras.losses.BinaryCrossentropy(from_logits=True, name=...)]`` (the
  overfit-and-underfit tutorial): Keras takes a loss object as a metric, named as the loss.
- ``kernel_initializer="normal"`` (the blogs' regression MLPs): Keras's alias of
  ``random_normal`` ("uniform", "one", "zero" likewise).
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")

RS = np.random.RandomState(3)
X = RS.standard_normal((70, 5)).astype(np.float32)
Y = (X[:, 0] - X[:, 1] > 0.2).astype(np.float32).reshape(-1, 1)
W1 = RS.standard_normal((5, 4)).astype(np.float32)
B1 = RS.standard_normal(4).astype(np.float32) * 0.1
W2 = RS.standard_normal((4, 1)).astype(np.float32)
B2 = np.array([0.3], np.float32)


def _evaluate_with_loss_metric(library):
    model = library.Sequential([library.layers.Input(shape=(5,)),
                                library.layers.Dense(4, activation="relu"),
                                library.layers.Dense(1)])
    model.set_weights([W1, B1, W2, B2])
    model.compile(optimizer="sgd",
                  loss=library.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[library.losses.BinaryCrossentropy(from_logits=True,
                                                             name="binary_crossentropy")])
    # batch 32 over 70 rows: Keras averages the loss per batch, so the last short batch
    # weighs as much as a full one
    return model.evaluate(X, Y, batch_size=32, verbose=0, return_dict=True)


def test_a_loss_object_is_a_metric_as_keras_takes_it():
    keras = need("keras")
    ours = _evaluate_with_loss_metric(gn)
    theirs = _evaluate_with_loss_metric(keras)
    assert sorted(ours) == sorted(theirs) == ["binary_crossentropy", "loss"]
    assert ours["binary_crossentropy"] == pytest.approx(theirs["binary_crossentropy"],
                                                        rel=1e-5)


def test_a_loss_metric_reports_under_its_name_and_is_the_loss_per_batch():
    model = gn.Sequential([gn.layers.Input(shape=(5,)), gn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse",
                  metrics=[gn.losses.MeanAbsoluteError(name="m")])
    history = model.fit(X, Y, epochs=1, batch_size=70, verbose=0, validation_data=(X, Y))
    assert sorted(history.history) == ["loss", "m", "val_loss", "val_m"]
    model.set_weights([np.ones((5, 1), np.float32), np.zeros(1, np.float32)])
    error = np.abs(X.sum(axis=1, keepdims=True) - Y)
    whole = model.evaluate(X, Y, batch_size=70, verbose=0, return_dict=True)
    assert whole["m"] == pytest.approx(error.mean(), rel=1e-6)
    # batches of 32, 32 and 6: the mean of the three batch means, as Keras
    batches = model.evaluate(X, Y, batch_size=32, verbose=0, return_dict=True)
    expected = np.mean([error[:32].mean(), error[32:64].mean(), error[64:].mean()])
    assert batches["m"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("alias, cls", [("normal", "RandomNormal"),
                                        ("uniform", "RandomUniform"),
                                        ("one", "Ones"), ("zero", "Zeros")])
def test_keras_initializer_aliases(alias, cls):
    keras = need("keras")
    assert type(keras.initializers.get(alias)).__name__ == cls
    ours = gn.initializers.get(alias)
    assert isinstance(ours, getattr(gn.initializers, cls))
    assert ours.get_config() == {k: v for k, v in keras.initializers.get(alias).get_config(
    ).items() if k in ours.get_config()}


def test_dense_with_kernel_initializer_normal_draws_as_random_normal():
    gn.random.set_random_seed(5)
    kernel = gn.layers.Dense(400, kernel_initializer="normal")
    kernel.build((None, 50))
    values = kernel.get_weights()[0]
    # RandomNormal(mean=0, stddev=0.05): 20,000 draws pin the mean and stddev closely
    assert abs(values.mean()) < 0.002 and values.std() == pytest.approx(0.05, rel=0.03)


def _merged(lib):
    """A residual ``add`` and a ``concatenate``, in their functional forms."""
    deep = lib.Input(shape=(2,), name="deep")
    wide = lib.layers.Dense(3, activation="tanh", name="wide")(deep)
    x = lib.layers.Dense(4, activation="relu", name="d1")(deep)
    shortcut = lib.layers.Dense(4, name="shortcut")(deep)
    x = lib.layers.add([x, shortcut], name="sum")
    x = lib.layers.concatenate([wide, x], name="join")
    outputs = lib.layers.Dense(2, name="out")(x)
    return lib.Model(inputs=deep, outputs=outputs)


def test_functional_add_and_concatenate_compute_as_keras():
    keras = need("keras")
    ours, theirs = _merged(gn), _merged(keras)
    assert type(ours.get_layer("sum")) is gn.layers.Add
    assert ours.get_layer("join").axis == -1
    rng = np.random.default_rng(4)
    for name in ("wide", "d1", "shortcut", "out"):  # layer by layer: orders may differ
        weights = [rng.normal(size=w.shape).astype(np.float32)
                   for w in theirs.get_layer(name).get_weights()]
        ours.get_layer(name).set_weights(weights)
        theirs.get_layer(name).set_weights(weights)
    deep = rng.normal(size=(6, 2)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(deep, verbose=0), theirs.predict(deep, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_functional_merges_on_arrays_and_their_axis():
    a = np.arange(6.0).reshape(2, 3)
    b = np.ones((2, 3))
    np.testing.assert_array_equal(gn.layers.add([a, b]), a + 1)
    np.testing.assert_array_equal(gn.layers.concatenate([a, b]), np.hstack([a, b]))
    joined = gn.layers.concatenate([a[:, None, :], b[:, None, :]], axis=1)
    np.testing.assert_array_equal(joined, np.stack([a, b], axis=1))


def test_tf_linspace_as_the_regression_tutorial_calls_it():
    import glassnet as tf

    keras = need("keras")
    x = tf.linspace(0.0, 250, 251)
    assert x.dtype == np.float32 and x.shape == (251,)
    assert x[0] == 0.0 and x[-1] == 250.0 and x[100] == 100.0
    np.testing.assert_array_equal(x.numpy(), keras.ops.convert_to_numpy(
        keras.ops.linspace(0.0, 250, 251)))
    assert tf.linspace(0.0, np.array(1.0), 3).dtype == np.float64  # an array keeps its dtype
    assert tf.linspace(np.zeros(2), np.ones(2), 3).shape == (3, 2)


def test_tf_add_n_sums_the_regularization_losses():
    import glassnet as tf

    model = tf.keras.Sequential([
        tf.keras.layers.Input(shape=(3,)),
        tf.keras.layers.Dense(2, kernel_regularizer=tf.keras.regularizers.l2(0.01)),
        tf.keras.layers.Dense(1, kernel_regularizer=tf.keras.regularizers.l2(0.1))])
    model(np.ones((1, 3)))
    k1, _, k2, _ = model.get_weights()
    total = tf.add_n(model.losses)
    assert float(total.numpy()) == pytest.approx(0.01 * (k1 ** 2).sum() + 0.1 * (k2 ** 2).sum(),
                                                 rel=1e-6)
    np.testing.assert_array_equal(tf.add_n([np.ones(2), np.arange(2.0)]), [1.0, 2.0])
    with pytest.raises(gn.errors.DataError, match="non-empty list"):
        tf.add_n([])
    with pytest.raises(gn.errors.DataError, match=r"one shape, got shapes \[\(2,\), \(3,\)\]"):
        tf.add_n([np.ones(2), np.ones(3)])
