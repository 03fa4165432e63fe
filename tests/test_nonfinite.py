"""A loss that turns NaN or inf: one warning naming where it began (the commands' exit
codes are in tests/cli/test_cli_misuse.py).

NumPy's own overflow RuntimeWarnings are expected on the way there, so these tests
record warnings instead of letting pytest turn the first one into an error.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

import glassnet as gn
from glassnet._engine.nonfinite import NonFiniteLossWarning
from glassnet.callbacks import TerminateOnNaN
from glassnet.layers import Dense, Input


def _fit_recording(model, x, y, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, verbose=0, **options)
    return history, [str(w.message) for w in caught if w.category is NonFiniteLossWarning]


def _classifier(learning_rate):
    model = gn.Sequential([Input(shape=(4,)), Dense(8, activation="relu", name="hidden"),
                           Dense(1, activation="sigmoid", name="output")])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate), loss="binary_crossentropy")
    return model


def _data(scale=1.0):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    return x * np.float32(scale), (x[:, 0] > 0).astype(np.float32)


def test_a_huge_learning_rate_is_warned_once_with_the_remedies():
    x, y = _data()
    history, messages = _fit_recording(_classifier(1e30), x, y, epochs=3, batch_size=16)
    assert np.isnan(history.history["loss"]).all()
    assert len(messages) == 1  # once, however many batches stay NaN
    message, = messages
    # step 1 makes the weights ~1e30; step 2's hidden activations (~1e29) times the
    # output layer's 1e30 weights leave float32: the output layer is where it broke
    assert message.startswith("the loss became nan at epoch 1, batch 2: layer 'output' is "
                              "the first whose activations hold NaN from finite inputs up "
                              "to ")
    assert "(its weights are NaN after this step): its weights or inputs are too large" \
        in message
    assert "a smaller learning rate (now 1e+30)" in message
    assert "scaled inputs (a Normalization layer adapted on X)" in message
    assert "Pass callbacks=[TerminateOnNaN()]" in message


def test_unscaled_inputs_name_the_first_layer_and_the_size_of_its_inputs():
    x, y = _data(scale=1e30)
    _, (message,) = _fit_recording(_classifier(0.01), x, y, epochs=3, batch_size=16)
    # step 1's gradient is ~1e30 x 1e30-sized: by step 2 the hidden layer's products
    # of ~1e30 inputs leave float32, the first non-finite values of the network
    assert re.match(r"the loss became nan at epoch 1, batch 2: layer 'hidden' is the first "
                    r"whose activations hold inf from finite inputs up to \S+e\+30 in size",
                    message)


def test_the_layer_named_is_the_one_whose_activations_broke_first():
    # x = 1 -> a: 1 -> b: 1e20 -> c: 1e40, beyond float32: c is where it broke
    model = gn.Sequential([Input(shape=(1,)), Dense(1, name="a"), Dense(1, name="b"),
                           Dense(1, name="c")])
    model.set_weights([np.ones((1, 1)), np.zeros(1), np.full((1, 1), 1e20), np.zeros(1),
                       np.full((1, 1), 1e20), np.zeros(1)])
    model.compile(optimizer=gn.optimizers.SGD(0.0), loss="mse")
    _, (message,) = _fit_recording(model, np.ones((4, 1)), np.zeros(4), epochs=1)
    assert message.startswith("the loss became inf at epoch 1, batch 1: layer 'c' is the "
                              "first whose activations hold inf from finite inputs up to "
                              "1e+20 in size")


def test_no_terminate_on_nan_advice_when_it_is_already_there():
    x, y = _data()
    history, (message,) = _fit_recording(_classifier(1e30), x, y, epochs=3, batch_size=16,
                                         callbacks=[TerminateOnNaN()])
    assert "TerminateOnNaN" not in message
    assert len(history.history["loss"]) == 1  # it stopped in the first epoch


def test_a_finite_loss_gives_no_warning():
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _classifier(0.1).fit(x, y, epochs=2, verbose=0)
