"""Trained networks shared by the inspection tests (trained once per session: seconds)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense, Input, Normalization


@pytest.fixture(scope="session")
def digits():
    X, y = gn.datasets.load_digits()
    return X / 16.0, y


@pytest.fixture(scope="session")
def trained_digits(digits):
    """The digits network 64-25-15-10, trained 30 epochs with Adam: healthy."""
    X, y = digits
    gn.utils.set_random_seed(7)
    model = gn.Sequential([Input(shape=(64,)), Dense(25, activation="relu", name="hidden1"),
                           Dense(15, activation="relu", name="hidden2"),
                           Dense(10, activation="softmax", name="output")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95  # it really is trained
    return model


@pytest.fixture(scope="session")
def coffee():
    return gn.datasets.load_coffee()


@pytest.fixture(scope="session")
def trained_coffee(coffee):
    """The course's coffee-roasting network: Normalization, 3 sigmoid units, 1 sigmoid."""
    X, y = coffee
    gn.utils.set_random_seed(3)
    norm = Normalization(name="norm")
    model = gn.Sequential([Input(shape=(2,)), norm, Dense(3, activation="sigmoid", name="layer1"),
                           Dense(1, activation="sigmoid", name="layer2")])
    norm.adapt(X)
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(np.tile(X, (50, 1)), np.tile(y, (50, 1)), epochs=10, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    return model
