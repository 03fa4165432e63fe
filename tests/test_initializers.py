"""Initializers: the statistics of their samples match Keras's formulas.

A (400, 600) kernel gives 240,000 draws: sample standard deviations are within
~0.3% of their expectation, so a 2% tolerance is far from flaky and far tighter
than any mistake in a formula (a wrong fan or a missing factor 2 is >= 20%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import initializers as init

FAN_IN, FAN_OUT = 400, 600
SHAPE = (FAN_IN, FAN_OUT)
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def _draw(initializer):
    return initializer(SHAPE, dtype="float64")


@pytest.mark.parametrize("cls, limit", [
    (init.GlorotUniform, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.HeUniform, math.sqrt(6 / FAN_IN)),
    (init.LecunUniform, math.sqrt(3 / FAN_IN)),
])
def test_uniform_variance_scaling_limits(cls, limit):
    w = _draw(cls(seed=1))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.999 * limit  # fills the interval
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)  # U(-a, a): a / sqrt 3
    assert abs(w.mean()) < 0.01 * limit


@pytest.mark.parametrize("cls, std", [
    (init.GlorotNormal, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.HeNormal, math.sqrt(2 / FAN_IN)),
    (init.LecunNormal, math.sqrt(1 / FAN_IN)),
])
def test_normal_variance_scaling_std_after_truncation(cls, std):
    # Keras draws a truncated normal with stddev std / 0.8796, whose std is then std.
    w = _draw(cls(seed=2))
    assert w.std() == pytest.approx(std, rel=0.02)
    assert np.abs(w).max() <= 2 * std / TRUNCATED_STD  # cut at 2 of the drawn stddevs


def test_truncated_normal_stays_within_two_stddev_of_the_mean():
    w = _draw(init.TruncatedNormal(mean=1.0, stddev=0.5, seed=3))
    assert w.min() >= 0.0 and w.max() <= 2.0
    assert w.mean() == pytest.approx(1.0, abs=0.005)
    assert w.std() == pytest.approx(0.5 * TRUNCATED_STD, rel=0.02)


def test_random_normal_and_uniform_use_their_arguments():
    w = _draw(init.RandomNormal(mean=-2.0, stddev=3.0, seed=4))
    assert w.mean() == pytest.approx(-2.0, abs=0.03) and w.std() == pytest.approx(3.0, rel=0.02)
    u = _draw(init.RandomUniform(minval=2.0, maxval=5.0, seed=5))
    assert u.min() >= 2.0 and u.max() < 5.0 and u.mean() == pytest.approx(3.5, abs=0.01)


def test_keras_defaults_of_random_initializers():
    assert (init.RandomNormal().stddev, init.TruncatedNormal().stddev) == (0.05, 0.05)
    assert (init.RandomUniform().minval, init.RandomUniform().maxval) == (-0.05, 0.05)


def test_constant_initializers():
    np.testing.assert_array_equal(init.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.Ones()((4,)), np.ones(4))
    np.testing.assert_array_equal(init.Constant(2.5)((2,)), [2.5, 2.5])
    assert init.Zeros()((2,)).dtype == np.float32


def test_variance_scaling_is_the_general_rule():
    w = _draw(init.VarianceScaling(scale=3.0, mode="fan_out", distribution="uniform", seed=6))
    assert np.abs(w).max() <= math.sqrt(3 * 3.0 / FAN_OUT)
    assert w.std() == pytest.approx(math.sqrt(3.0 / FAN_OUT), rel=0.02)
    normal = _draw(init.VarianceScaling(scale=2.0, distribution="untruncated_normal", seed=7))
    assert normal.std() == pytest.approx(math.sqrt(2.0 / FAN_IN), rel=0.02)


def test_same_seed_same_values_and_set_random_seed_repeats_runs():
    np.testing.assert_array_equal(init.HeNormal(seed=9)((3, 3)), init.HeNormal(seed=9)((3, 3)))
    draws = []
    for _ in range(2):
        gn.utils.set_random_seed(11)
        draws.append([init.GlorotUniform()((3, 4)), init.RandomNormal()((5,))])
    for a, b in zip(*draws, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(draws[0][0], init.GlorotUniform()((3, 4)))


def test_set_random_seed_makes_two_models_identical():
    kernels = []
    for _ in range(2):
        gn.utils.set_random_seed(7)
        model = gn.Sequential([gn.layers.Input(shape=(4,)), gn.layers.Dense(3)])
        kernels.append(model.get_weights()[0])
    np.testing.assert_array_equal(*kernels)


@pytest.mark.parametrize("name, cls", [("glorot_uniform", init.GlorotUniform),
                                       ("he_normal", init.HeNormal), ("zeros", init.Zeros),
                                       ("GlorotNormal", init.GlorotNormal),
                                       ("truncated_normal", init.TruncatedNormal)])
def test_names_resolve_as_in_keras(name, cls):
    assert type(init.get(name)) is cls


def test_serialize_round_trip():
    original = init.TruncatedNormal(mean=0.5, stddev=0.2, seed=3)
    copy = init.get(init.serialize(original))
    np.testing.assert_array_equal(copy((4, 4)), original((4, 4)))
