"""Training a functional Model with several outputs, as Keras 3 does.

Truth: the real Keras 3 (torch backend) from the same weights, one epoch of SGD on the
same batches: the same history keys, values, evaluate lists and weights; and, without
Keras, the total loss worked out by hand from each output's own loss.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet.errors import ConfigError, DataError, ValueTypeError


def _three_heads(lib):
    """A trunk with three outputs: a softmax head, a regression head, and the trunk's
    hidden layer itself, which is an output and feeds both heads (fan-out at an output)."""
    inputs = lib.Input(shape=(4,), name="x")
    hidden = lib.layers.Dense(5, activation="tanh", name="hidden")(inputs)
    cls = lib.layers.Dense(3, activation="softmax", name="cls")(hidden)
    reg = lib.layers.Dense(2, name="reg")(lib.layers.Dense(4, activation="relu",
                                                           name="r1")(hidden))
    return lib.Model(inputs=inputs, outputs=[cls, reg, hidden])


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    return x, {"cls": labels, "reg": rng.normal(size=(n, 2)).astype("float32"),
               "hidden": rng.uniform(-0.5, 0.5, size=(n, 5)).astype("float32")}


def _weights(model, seed=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=v.shape).astype(v.dtype) for v in model.weights]


def _keras_weights(model, like):
    """Keras's weights in ``like``'s (glassnet's) layer order, by layer name."""
    return [v.value.detach().cpu().numpy().copy() for layer in like.layers
            for v in model.get_layer(layer.name).weights]


def _twin(keras, ours):
    """The Keras model holding ``ours``'s weights, layer by layer (by name: Keras orders
    the layers of a branched graph its own way)."""
    theirs = _three_heads(keras)
    for layer in ours.layers:
        theirs.get_layer(layer.name).set_weights(layer.get_weights())
    return theirs


# The compile settings each side gets, in the three spellings Keras 3 takes.
SETTINGS = {
    "one loss for all": dict(loss="mse", metrics=[["mae"], ["mae"], None]),
    "lists": dict(loss=["sparse_categorical_crossentropy", "mse", "mae"],
                  loss_weights=[0.5, 2.0, 1.5], metrics=[["accuracy"], ["mae"], ["mse"]]),
    "dicts": dict(loss={"cls": "sparse_categorical_crossentropy", "reg": "mse",
                        "hidden": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.3, "hidden": 2.0},
                  metrics={"cls": "accuracy", "reg": ["mse", "mae"]}),
}


def _targets(name, y):
    if name == "one loss for all":  # mse on the softmax head: one-hot targets
        return {**y, "cls": np.eye(3, dtype="float32")[y["cls"]]}
    return y


@pytest.mark.slow
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("y_as", ["list", "dict"])
def test_one_epoch_of_sgd_matches_real_keras(setting, y_as):
    keras = need("keras")
    x, y = _data()
    y = _targets(setting, y)
    x_val, y_val = _data(12, seed=1)
    y_val = _targets(setting, y_val)
    ours = _three_heads(gn)
    ours.set_weights(_weights(ours))
    theirs = _twin(keras, ours)
    names = ["cls", "reg", "hidden"]
    fit_y = [y[n] for n in names] if y_as == "list" else y
    val_y = [y_val[n] for n in names] if y_as == "list" else y_val
    for model, lib in ((ours, gn), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), **SETTINGS[setting])
    history = ours.fit(x, fit_y, batch_size=8, epochs=1, shuffle=False, verbose=0,
                       validation_data=(x_val, val_y))
    expected = theirs.fit(x, fit_y, batch_size=8, epochs=1, shuffle=False, verbose=0,
                          validation_data=(x_val, val_y))
    assert sorted(history.history) == sorted(expected.history)
    assert "cls_loss" in history.history and "val_reg_loss" in history.history
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    for w_ours, w_theirs in zip(ours.get_weights(), _keras_weights(theirs, ours)):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x_val, val_y, verbose=0),
                               theirs.evaluate(x_val, val_y, verbose=0), rtol=1e-4, atol=1e-6)
    assert ours.evaluate(x_val, val_y, verbose=0, return_dict=True).keys() == \
        theirs.evaluate(x_val, val_y, verbose=0, return_dict=True).keys()
    for a, b in zip(ours.predict(x_val, verbose=0), theirs.predict(x_val, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_train_on_batch_and_sample_weights_match_real_keras():
    keras = need("keras")
    x, y = _data(16)
    weights = np.random.default_rng(5).uniform(0.2, 2.0, size=16).astype("float32")
    ours = _three_heads(gn)
    ours.set_weights(_weights(ours, 4))
    theirs = _twin(keras, ours)
    for model, lib in ((ours, gn), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.05),
                      **SETTINGS["dicts"])
    ours_logs = ours.train_on_batch(x, y, sample_weight=weights)
    theirs_logs = theirs.train_on_batch(x, y, sample_weight=weights)
    np.testing.assert_allclose(ours_logs, theirs_logs, rtol=1e-4, atol=1e-6)
    listed = [y["cls"], y["reg"], y["hidden"]]  # Keras's fit takes a dict y with weights badly
    history = ours.fit(x, listed, sample_weight=weights, batch_size=4, epochs=1,
                       shuffle=False, verbose=0)
    expected = theirs.fit(x, listed, sample_weight=weights, batch_size=4, epochs=1,
                          shuffle=False, verbose=0)
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-4, err_msg=key)
    for w_ours, w_theirs in zip(ours.get_weights(), _keras_weights(theirs, ours)):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-4, atol=1e-6)


def test_the_total_loss_is_the_weighted_sum_of_each_outputs_own_loss():
    x, y = _data(20)
    model = _three_heads(gn)
    model.set_weights(_weights(model))
    model.compile(optimizer="sgd", **SETTINGS["lists"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    cls, reg, hidden = model.predict(x, verbose=0)
    by_hand = {"cls_loss": -np.log(cls[np.arange(20), y["cls"]]).mean(),
               "reg_loss": ((reg - y["reg"]) ** 2).mean(),
               "hidden_loss": np.abs(hidden - y["hidden"]).mean()}
    for key, value in by_hand.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], 0.5 * by_hand["cls_loss"] + 2.0 * by_hand[
        "reg_loss"] + 1.5 * by_hand["hidden_loss"], rtol=1e-5)
    assert list(logs) == ["loss", "cls_loss", "reg_loss", "hidden_loss", "cls_accuracy",
                          "hidden_mse", "reg_mae"]
    assert model.metrics_names == list(logs)


def test_a_gradient_step_matches_finite_differences_of_the_weighted_loss():
    x, y = _data(6)
    model = _three_heads(gn)
    model.set_weights(_weights(model))
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=1.0), **SETTINGS["dicts"])
    before = model.get_weights()
    model.train_on_batch(x, y)
    step = [b - a for a, b in zip(model.get_weights(), before)]  # = the gradient (lr 1)

    def loss(weights):
        model.set_weights(weights)
        return model.evaluate(x, y, verbose=0)[0]

    eps = 1e-3
    for layer in (0, 4):  # the shared kernel, and the regression head's kernel
        for index in [(0, 0), (1, 1)]:
            plus = [w.astype("float64") for w in before]
            minus = [w.astype("float64") for w in before]
            plus[layer][index] += eps
            minus[layer][index] -= eps
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            np.testing.assert_allclose(step[layer][index], numeric, rtol=2e-2, atol=2e-4)


@pytest.mark.parametrize("settings, message", [
    (dict(loss=["mse", "mse"]), "3 outputs.*lists 2"),
    (dict(loss={"cls": "mse", "reg": "mse"}), "missing \\['hidden'\\]"),
    (dict(loss="mse", loss_weights={"clss": 1.0, "reg": 1.0, "hidden": 1.0}),
     "unknown \\['clss'\\]"),
    (dict(loss="mse", metrics=["mae"]), "3 outputs.*lists 1"),
    (dict(loss="mse", metrics="mae"), "as a list with one entry per output"),
    (dict(loss="mse", metrics={"nope": "mae"}), "outputs \\['nope'\\]"),
    (dict(loss=["mse", None, "mse"]), "needs a loss; none for \\['reg'\\]"),
    (dict(loss="mse", weighted_metrics=[["mae"], [], []]), "weighted_metrics"),
])
def test_compile_settings_that_do_not_fit_the_outputs_are_refused_by_name(settings, message):
    model = _three_heads(gn)
    with pytest.raises(ConfigError, match=message):
        model.compile(optimizer="sgd", **settings)


def test_targets_that_do_not_fit_the_outputs_are_refused_by_name():
    x, y = _data(8)
    model = _three_heads(gn)
    model.compile(optimizer="sgd", **SETTINGS["dicts"])
    with pytest.raises(ValueTypeError, match="3 outputs"):
        model.fit(x, y["reg"], verbose=0)
    with pytest.raises(DataError, match="missing \\['hidden'\\]"):
        model.fit(x, {"cls": y["cls"], "reg": y["reg"]}, verbose=0)
    with pytest.raises(DataError, match="output 'reg' has 5 samples.*'cls' has 8"):
        model.fit(x, {**y, "reg": y["reg"][:5]}, verbose=0)
    with pytest.raises(ConfigError, match="class_weight.*one output"):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)


def test_one_output_models_take_the_several_output_spelling_as_keras_does():
    inputs = gn.Input(shape=(4,), name="x")
    model = gn.Model(inputs, gn.layers.Dense(2, name="out")(inputs))
    x, y = _data(8)
    model.compile(optimizer="sgd", loss={"out": "mse"}, metrics=[["mae"]])
    assert model.metrics_names == ["loss", "mae"]
    logs = model.evaluate(x, y["reg"], verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], ((model.predict(x, verbose=0) - y["reg"]) ** 2)
                               .mean(), rtol=1e-5)
    model.compile(optimizer="sgd", loss=["mse"])
    assert isinstance(model.loss, gn.losses.MeanSquaredError)
