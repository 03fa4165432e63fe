"""Real recorded runs for the report tests: digits networks trained with run.watch()."""

from __future__ import annotations

import pytest

import glassnet as gn
from glassnet.layers import Dense, Input

EPOCHS = 4
BATCH = 32


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """Two digits runs (relu and tanh hidden layers), snapshots every epoch, in one store.

    Returns ``{"store": path, "runs": {activation: (run_id, model, history)}, "X", "y"}``.
    """
    store = tmp_path_factory.mktemp("store")
    X, y = gn.datasets.load_digits()
    X = X / 16.0
    runs = {}
    for seed, activation in enumerate(("relu", "tanh")):
        gn.utils.set_random_seed(seed)
        run = gn.track.init(project="digits", config={"activation": activation, "lr": 1e-3},
                            store=store)
        model = gn.Sequential([Input(shape=(64,)),
                               Dense(25, activation=activation, name=f"{activation}_hidden1"),
                               Dense(15, activation=activation, name=f"{activation}_hidden2"),
                               Dense(10, activation="softmax", name=f"{activation}_output")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(X, y, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                            validation_split=0.2,
                            callbacks=[run.watch(log_freq=5, snapshots="epoch")])
        run.finish()
        runs[activation] = (run.id, model, history)
    return {"store": store, "runs": runs, "X": X, "y": y}
