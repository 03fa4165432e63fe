"""Learning-rate schedules: Keras's values step by step, and Keras's weights after fit."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from frameworks import need
from glassnet.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
                          "staircase": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 5, "decay_rate": 1.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 5, "decay_rate": 1.5,
                          "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [4, 10, 20], "values": [1.0, 0.5, 0.1, 0.01]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 12, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 12, "cycle": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.2}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 20, "alpha": 0.1,
                     "warmup_target": 0.3, "warmup_steps": 6}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5,
                             "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_schedule_values_match_keras_at_every_step(name, kwargs):
    keras = need("keras")
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    ours = getattr(gn.optimizers.schedules, name)(**kwargs)
    steps = range(0, 60)
    expected = [float(keras.ops.convert_to_numpy(theirs(step))) for step in steps]
    np.testing.assert_allclose([ours(step) for step in steps], expected, rtol=2e-6, atol=1e-9)


def test_piecewise_constant_by_hand():
    schedule = gn.optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [schedule(s) for s in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]


def test_bad_schedules_are_refused_clearly():
    with pytest.raises(ConfigError, match="one value more than boundaries"):
        gn.optimizers.schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ConfigError, match="decay_steps must be a positive number"):
        gn.optimizers.schedules.ExponentialDecay(0.1, 0, 0.9)


OPTIMIZERS = [
    ("SGD", {"momentum": 0.9}, "ExponentialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True}),
    ("SGD", {}, "PiecewiseConstantDecay", {"boundaries": [4, 8], "values": [0.2, 0.05, 0.01]}),
    ("Adam", {}, "CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10,
                                 "warmup_target": 0.05, "warmup_steps": 4}),
    ("RMSprop", {}, "InverseTimeDecay", {"initial_learning_rate": 0.01, "decay_steps": 2,
                                         "decay_rate": 0.5}),
    ("Adagrad", {}, "ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4,
                                         "decay_rate": 0.7}),
    ("AdamW", {}, "PolynomialDecay", {"initial_learning_rate": 0.02, "decay_steps": 9}),
]


def _train(library, weights, optimizer, optimizer_kwargs, schedule, schedule_kwargs, x, y):
    model = library.Sequential([library.Input(shape=(3,)),
                                library.layers.Dense(4, activation="tanh"),
                                library.layers.Dense(1)])
    model.set_weights(weights)
    rate = getattr(library.optimizers.schedules, schedule)(**schedule_kwargs)
    model.compile(optimizer=getattr(library.optimizers, optimizer)(learning_rate=rate,
                                                                   **optimizer_kwargs),
                  loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()], history.history["loss"]


@pytest.mark.slow
@pytest.mark.parametrize(("optimizer", "optimizer_kwargs", "schedule", "schedule_kwargs"),
                         OPTIMIZERS, ids=[f"{o[0]}-{o[2]}" for o in OPTIMIZERS])
def test_training_with_a_schedule_ends_at_keras_weights(optimizer, optimizer_kwargs,
                                                        schedule, schedule_kwargs):
    keras = need("keras")
    rs = np.random.RandomState(5)
    x = rs.standard_normal((30, 3)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2]).astype(np.float32)
    keras.utils.set_random_seed(1)
    start = [np.asarray(w) for w in keras.Sequential([
        keras.Input(shape=(3,)), keras.layers.Dense(4, activation="tanh"),
        keras.layers.Dense(1)]).get_weights()]
    args = (optimizer, optimizer_kwargs, schedule, schedule_kwargs, x, y)
    expected, expected_loss = _train(keras, start, *args)
    got, loss = _train(gn, start, *args)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-4)  # float32, as the fixtures
    assert not np.allclose(got[0], start[0])  # it trained


def test_optimizer_with_a_schedule_round_trips_its_config_and_reports_the_rate():
    schedule = gn.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = gn.optimizers.SGD(learning_rate=schedule)
    optimizer.iterations = 10
    assert optimizer.learning_rate == pytest.approx(0.05)
    again = gn.optimizers.SGD.from_config(optimizer.get_config())
    assert again._schedule.get_config() == schedule.get_config()
    with pytest.raises(ConfigError, match="schedule"):
        optimizer.learning_rate = 0.3


def test_import_paths_of_keras_code():
    from glassnet.keras.optimizers.schedules import CosineDecay  # noqa: F401
    from glassnet.optimizers.schedules import ExponentialDecay  # noqa: F401
