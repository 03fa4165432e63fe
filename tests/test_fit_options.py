"""fit's validation_freq, initial_epoch and steps_per_epoch (with arrays), and model.losses,
side by side with the real Keras 3: the same weights, batches and settings must give the
same history, the same epoch and batch numbers to callbacks, and the same losses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet._engine.fit_steps import EpochBatches
from glassnet.errors import ConfigError


def _recorder(base):
    class Recorder(base):
        def __init__(self):
            super().__init__()
            self.events = []

        def on_epoch_begin(self, epoch, logs=None):
            self.events.append(("epoch_begin", epoch))

        def on_train_batch_end(self, batch, logs=None):
            self.events.append(("batch", batch))

        def on_epoch_end(self, epoch, logs=None):
            self.events.append(("epoch_end", epoch, tuple(sorted(logs))))

    return Recorder()


def _twins(keras):
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, "tanh"),
                               keras.layers.Dense(1)])
    ours = gn.Sequential([gn.layers.Input(shape=(3,)), gn.layers.Dense(4, "tanh"),
                          gn.layers.Dense(1)])
    ours.set_weights(theirs.get_weights())
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    ours.compile(optimizer=gn.optimizers.SGD(0.05), loss="mse")
    return theirs, ours


def _data(n=100):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, (x @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float32).reshape(-1, 1)


def _fit_both(keras, expect_warning=False, **options):
    theirs, ours = _twins(keras)
    x, y = _data()
    results = []
    for model, lib in ((theirs, keras), (ours, gn)):
        recorder = _recorder(lib.callbacks.Callback)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, shuffle=False, verbose=0, callbacks=[recorder],
                                **options)
        ran_out = [w for w in caught if "ran out" in str(w.message)]
        assert bool(ran_out) == expect_warning, [str(w.message) for w in caught]
        results.append((history, recorder.events, model))
    return results


def _assert_same(results):
    (k_history, k_events, k_model), (g_history, g_events, g_model) = results
    assert g_events == k_events
    assert g_history.epoch == k_history.epoch
    assert set(g_history.history) == set(k_history.history)
    for key, values in k_history.history.items():
        np.testing.assert_allclose(g_history.history[key], values, rtol=2e-5, err_msg=key)
    for mine, keras_value in zip(g_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(mine, keras_value, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("freq", [2, 3, [1, 4]])
def test_validation_freq_as_keras(freq):
    keras = need("keras")
    x, y = _data(20)
    results = _fit_both(keras, batch_size=16, epochs=5, validation_data=(x, y),
                        validation_freq=freq)
    _assert_same(results)
    expected = [e for e in range(1, 6) if (e in freq if isinstance(freq, list) else
                                           e % freq == 0)]
    assert len(results[1][0].history["val_loss"]) == len(expected)


@pytest.mark.slow
def test_initial_epoch_as_keras():
    keras = need("keras")
    x, y = _data(20)
    results = _fit_both(keras, batch_size=32, epochs=5, initial_epoch=2,
                        validation_data=(x, y), validation_freq=2)
    _assert_same(results)
    assert results[1][0].epoch == [2, 3, 4]


@pytest.mark.slow
@pytest.mark.parametrize("steps, warns", [(3, True), (4, False), (2, False), (6, True)])
def test_steps_per_epoch_with_arrays_as_keras(steps, warns):
    # 100 samples in batches of 32: passes of 4 batches (32, 32, 32, 4) that run across
    # epochs; an epoch the pass runs out in ends early, as Keras 3 does it.
    keras = need("keras")
    _assert_same(_fit_both(keras, expect_warning=warns, batch_size=32, epochs=5,
                           steps_per_epoch=steps))


def test_steps_per_epoch_walks_passes_across_epochs():
    batches = EpochBatches(10, 4, 2, shuffle=False, rng=np.random.default_rng(0))
    with pytest.warns(UserWarning, match="ran out after 1 of steps_per_epoch=2"):
        epochs = [[(start, stop) for _, start, stop, _ in batches.epoch()] for _ in range(3)]
    assert epochs == [[(0, 4), (4, 8)], [(8, 10)], [(0, 4), (4, 8)]]


@pytest.mark.parametrize("option, value", [("validation_freq", 0), ("validation_freq", "2"),
                                           ("initial_epoch", -1), ("steps_per_epoch", 0)])
def test_bad_fit_options_are_refused_by_name(option, value):
    model = gn.Sequential([gn.layers.Input(shape=(3,)), gn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data(8)
    with pytest.raises(ConfigError, match=option):
        model.fit(x, y, verbose=0, validation_data=(x, y), **{option: value})


@pytest.mark.slow
def test_model_losses_are_keras_regularization_losses():
    keras = need("keras")
    keras.utils.set_random_seed(0)
    regularizers = keras.regularizers
    theirs = keras.Sequential([
        keras.Input(shape=(3,)),
        keras.layers.Dense(4, kernel_regularizer=regularizers.L2(0.01),
                           bias_regularizer=regularizers.L1(0.1),
                           bias_initializer="random_normal"),
        keras.layers.BatchNormalization(gamma_regularizer=regularizers.L1L2(0.01, 0.02)),
        keras.layers.Dense(1, kernel_regularizer=regularizers.L1(0.05))])
    ours = gn.Sequential([
        gn.layers.Input(shape=(3,)),
        gn.layers.Dense(4, kernel_regularizer=gn.regularizers.L2(0.01),
                        bias_regularizer=gn.regularizers.L1(0.1)),
        gn.layers.BatchNormalization(gamma_regularizer=gn.regularizers.L1L2(0.01, 0.02)),
        gn.layers.Dense(1, kernel_regularizer=gn.regularizers.L1(0.05))])
    ours.set_weights(theirs.get_weights())
    expected = [float(keras.ops.convert_to_numpy(v)) for v in theirs.losses]
    assert len(ours.losses) == len(expected) == 4
    np.testing.assert_allclose([float(v) for v in ours.losses], expected, rtol=1e-6)
    # fit adds their sum to the data loss, as Keras does
    ours.compile(optimizer="sgd", loss="mse")
    x, y = _data(8)
    data_loss = float(np.mean((ours.predict(x) - y) ** 2))
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(data_loss + sum(expected), rel=1e-5)
    assert gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(1)]).losses == []
