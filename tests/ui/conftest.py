"""Fixtures for the dashboard tests: one store of real runs per session, a live server."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the ui extra is not installed: pip install 'glassnet[ui]'")

from ui_helpers import fill_store, make_client, serve_in_thread  # noqa: E402


@pytest.fixture(scope="session")
def filled(tmp_path_factory):
    """Run ids by role, the store, and the relu and tanh models as trained (see fill_store)."""
    return fill_store(tmp_path_factory.mktemp("ui-store"))


@pytest.fixture(scope="session")
def client(filled):
    """A TestClient of the dashboard app over the filled store."""
    with make_client(filled["store"].root) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(filled):
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    with serve_in_thread(filled["store"].root) as url:
        yield url


@pytest.fixture(scope="session")
def five(tmp_path_factory):
    """Five digits runs of one sweep differing in learning rate and activation, each with
    snapshots per epoch and a single-value test accuracy."""
    from ui_helpers import digits_subset

    import glassnet as gn
    from glassnet.layers import Dense, Input

    store = gn.track.open_store(tmp_path_factory.mktemp("five-store"))
    x, y = digits_subset(160)
    ids = []
    for i, (rate, act) in enumerate([(0.01, "relu"), (0.03, "relu"), (0.1, "relu"),
                                     (0.01, "tanh"), (0.1, "tanh")]):
        gn.utils.set_random_seed(0)
        model = gn.Sequential([Input(shape=(64,)), Dense(8, activation=act),
                               Dense(10, activation="softmax")])
        model.compile(optimizer=gn.optimizers.SGD(learning_rate=rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        run = gn.track.init(project="five", name=f"trial-{i}", store=store, group="sweep-five",
                            config={"learning_rate": rate, "activation": act, "hidden": 8})
        model.fit(x, y, epochs=3, batch_size=32, verbose=0,
                  callbacks=[run.watch(log_freq=2, snapshots="epoch")])
        run.log({"test/accuracy": 0.5 + i / 10})  # one value: a bar, not a dot on a curve
        run.finish()
        ids.append(run.id)
    store.flush()
    return {"store": store, "ids": ids}
