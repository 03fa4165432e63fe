"""Misuse that used to pass silently or fail unclearly (issue 15, items 10 and 12-16).

Each test gives the engine what a careless user gives it and checks the error type and
the words that tell them what was expected and what they gave.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from glassnet.errors import ConfigError, DataError, ShapeError, ValueTypeError
from glassnet.layers import Dense, Input, Normalization


def _binary_model(n_features=2):
    model = gn.Sequential([Input(shape=(n_features,)), Dense(3, activation="relu"),
                           Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model


def _data(n=16, n_features=2):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.float32)


# -- 10. Normalization statistics beyond float32 ---------------------------------------
def test_normalization_refuses_a_variance_float32_cannot_hold():
    x = (np.random.default_rng(0).normal(size=(100, 2)) * 1e30).astype(np.float32)
    layer = Normalization(name="norm")
    # var ~ 1e60 > float32's 3.4e38: stored, it would be inf and every output 0
    with pytest.raises(DataError, match=r"Normalization 'norm': feature 0 has variance "
                                        r"\S+e\+59, beyond float32's range .* "
                                        r"Normalization\(dtype='float64'\)"):
        layer.adapt(x)


def test_float64_normalization_standardizes_data_near_1e30():
    x = (np.random.default_rng(1).normal(3.0, 2.0, size=(200, 2)) * 1e30).astype(np.float32)
    layer = Normalization(dtype="float64")
    layer.adapt(x)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(layer.variance.value, exact.var(axis=0), rtol=1e-12)
    out = layer(x)
    np.testing.assert_allclose(out, (exact - exact.mean(0)) / exact.std(0), rtol=1e-5,
                               atol=1e-6)


# -- 12. 1-D input ---------------------------------------------------------------------
def test_dense_refuses_a_1d_array_as_keras_does():
    with pytest.raises(ShapeError, match=r"Dense layer 'd' expects input of shape "
                                         r"\(n_samples, n_features\).*got \(3,\)"):
        Dense(1, name="d")(np.ones(3))


def test_1d_x_is_reported_with_the_shape_the_user_gave():
    model = _binary_model(n_features=3)
    with pytest.raises(ShapeError, match=r"expects input of shape \(n_samples, 3\), got "
                                         r"\(64,\) \(a 1-D array is taken as one feature"):
        model.fit(np.ones(64), np.ones(64), verbose=0)


def test_1d_x_still_trains_a_one_feature_model_as_tf_keras_did():
    model = _binary_model(n_features=1)
    history = model.fit(np.linspace(-1, 1, 8), np.arange(8) % 2, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1


# -- 13. callbacks monitoring a key that never appears ----------------------------------
@pytest.mark.parametrize("callback, words", [
    (EarlyStopping(monitor="val_loss", patience=5), "Early stopping"),
    (ReduceLROnPlateau(monitor="val_loss"), "Learning rate reduction"),
])
def test_a_monitor_missing_from_the_logs_is_warned_once_naming_the_keys(callback, words):
    model = _binary_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    x, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=3, verbose=0, callbacks=[callback])
    texts = [str(w.message) for w in caught]
    assert texts == [f"{words} conditioned on metric `val_loss` which is not available. "
                     f"Available metrics are: loss, accuracy (val_ metrics need "
                     f"validation_data or validation_split)"]


def test_model_checkpoint_save_best_only_warns_when_its_monitor_is_missing(tmp_path):
    model = _binary_model()
    x, y = _data()
    checkpoint = ModelCheckpoint(tmp_path / "m.glassnet", monitor="val_accuracy",
                                 save_best_only=True)
    with pytest.warns(UserWarning, match=r"Saving the best model conditioned on metric "
                                         r"`val_accuracy` which is not available\. "
                                         r"Available metrics are: loss"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    assert not (tmp_path / "m.glassnet").exists()


def test_a_monitor_that_is_present_gives_no_warning():
    model = _binary_model()
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
                  callbacks=[EarlyStopping(monitor="val_loss")])


# -- 14. labels ------------------------------------------------------------------------
def test_binary_crossentropy_refuses_labels_outside_0_1():
    model = _binary_model()
    x, _ = _data()
    y = np.where(x[:, 0] > 0, 255, 0)
    with pytest.raises(DataError, match=r"binary_crossentropy expects labels "
                                        r"\(probabilities\) in \[0, 1\], got 255 \(labels "
                                        r"range from 0 to 255\)"):
        model.fit(x, y, verbose=0)
    with pytest.raises(DataError, match=r"in \[0, 1\], got -1"):
        gn.losses.BinaryCrossentropy()(np.array([[-1.0]]), np.array([[0.5]]))


def test_binary_crossentropy_takes_soft_labels_in_0_1():
    loss = gn.losses.BinaryCrossentropy()(np.array([[0.25]]), np.array([[0.5]]))
    assert loss == pytest.approx(math.log(2), rel=1e-6)  # -(.25 ln .5 + .75 ln .5)


def test_class_weight_naming_a_class_that_is_not_in_y():
    model = _binary_model()
    x, y = _data()
    with pytest.raises(DataError, match=r"class_weight names class 2, which is not in y: "
                                        r"the model predicts classes 0\.\.1 \(classes in y: "
                                        r"0, 1\)"):
        model.fit(x, y, verbose=0, class_weight={0: 1.0, 2: 5.0})
    with pytest.raises(ConfigError, match=r"class_weight keys must be class indices"):
        model.fit(x, y, verbose=0, class_weight={"yes": 2.0})


def test_class_weight_still_weights_each_sample_by_its_class(float64):
    model = gn.Sequential([Input(shape=(2,)), Dense(1, activation="sigmoid")])
    model.set_weights([np.zeros((2, 1)), np.zeros(1)])  # p = 1/2: each loss is ln 2
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    loss = model.train_on_batch(np.ones((4, 2)), np.array([0, 1, 1, 1]),
                                class_weight={0: 3.0, 1: 1.0})
    assert loss == pytest.approx((3 + 1 + 1 + 1) * math.log(2) / 4, rel=1e-9)


# -- 15. non-bool options --------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    ({"shuffle": "no"}, r"shuffle must be True or False, got 'no'"),
    ({"verbose": "yes"}, r"verbose must be 'auto', 0, 1 or 2, got 'yes'"),
    ({"verbose": 3}, r"verbose must be 'auto', 0, 1 or 2, got 3"),
])
def test_fit_refuses_options_that_are_not_what_they_say(options, message):
    model = _binary_model()
    x, y = _data()
    with pytest.raises(ConfigError, match=message):
        model.fit(x, y, **{"verbose": 0, **options})


# -- 16. callbacks, generators, dicts, pandas -------------------------------------------
def test_a_single_callback_is_taken_as_a_list_of_one():
    model = _binary_model()
    x, y = _data()
    stop = EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # nothing improves 1e9
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=stop)
    assert len(history.history["loss"]) == 2  # epoch 1 sets the best, epoch 2 stops
    assert stop.stopped_epoch == 1


@pytest.mark.parametrize("callbacks, message", [
    (42, r"callbacks must be a list of Callback objects, got int"),
    ([EarlyStopping(), "early"], r"callbacks\[1\] must be a Callback .*got 'early'"),
])
def test_callbacks_that_are_not_callbacks(callbacks, message):
    model = _binary_model()
    x, y = _data()
    with pytest.raises(ValueTypeError, match=message):
        model.fit(x, y, verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("make_x, message", [
    (lambda x: (row for row in x), r"x must be an array .*got a generator: fit takes "
                                   r"arrays, not generators"),
    (lambda x: {"a": x[:, 0], "b": x[:, 1]}, r"x must be an array .*got a dict"),
])
def test_generators_and_dicts_as_x_say_what_is_accepted(make_x, message):
    model = _binary_model()
    x, y = _data()
    with pytest.raises(ValueTypeError, match=message):
        model.fit(make_x(x), y, verbose=0)


def test_pandas_text_and_missing_columns_are_named():
    pd = pytest.importorskip("pandas")
    model = _binary_model(n_features=2)
    y = np.array([0, 1, 0], dtype=np.float32)
    text = pd.DataFrame({"size": [1.0, 2.0, 3.0], "city": ["Paris", "Oslo", "Rome"]})
    with pytest.raises(DataError, match=r"x column 'city' must be numeric, got dtype \S+ "
                                        r"\(e\.g\. 'Paris'\)"):
        model.fit(text, y, verbose=0)
    missing = pd.DataFrame({"size": [1.0, 2.0, 3.0],
                            "age": pd.array([4, None, 6], dtype="Int64")})
    with pytest.raises(DataError, match=r"x column 'age' has 1 missing value\(s\) \(NaN or "
                                        r"pd\.NA; first at index 1\)"):
        model.fit(missing, y, verbose=0)
    with pytest.raises(DataError, match=r"y column 'label' must be numeric"):
        model.fit(text[["size"]].assign(b=1.0), pd.Series(["a", "b", "a"], name="label"),
                  verbose=0)
    numeric = pd.DataFrame({"size": [1.0, 2.0, 3.0], "age": [4, 5, 6]})
    history = model.fit(numeric, pd.Series(y), epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])


def test_a_checkpoint_path_naming_a_missing_key_says_which(tmp_path):
    model = _binary_model()
    x, y = _data()
    checkpoint = ModelCheckpoint(str(tmp_path / "m-{val_loss:.3f}.glassnet"))
    with pytest.raises(ConfigError, match=r"ModelCheckpoint filepath .* names \{val_loss\}, "
                                          r"which is not in this epoch's logs; available: "
                                          r"epoch, loss"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])


@pytest.mark.slow
def test_keras_also_refuses_1d_input_and_warns_in_the_same_words():
    from frameworks import need

    keras = need("keras")
    with pytest.raises(ValueError):
        keras.layers.Dense(1)(np.ones(3, dtype="float32"))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss")])
    ours = ("Early stopping conditioned on metric `val_loss` which is not available. "
            "Available metrics are: ")
    assert any(str(w.message).startswith(ours) for w in caught)
