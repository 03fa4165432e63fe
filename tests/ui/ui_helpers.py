"""A store filled with real recorded runs, for the dashboard tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import warnings

import numpy as np

import glassnet as gn
from glassnet.layers import Dense, Input

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_KEY = "<b>key</b>"
XSS_VALUE = "<script>alert(2)</script>"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(store_path):
    """A real uvicorn server of the dashboard on 127.0.0.1 and a free port; yields its URL."""
    import uvicorn

    from glassnet.ui.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store_path), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_client(store_path):
    """A FastAPI TestClient of the dashboard over the store at ``store_path``."""
    from glassnet.ui.app import create_app

    # starlette warns (once, on import) that it prefers the httpx2 package to httpx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(store_path))


def digits_subset(n: int = 240):
    x, y = gn.datasets.load_digits()
    x = (x[:n] / 16.0).astype(np.float32)
    return x, y[:n]


def train_run(store, project, name, config, hidden, activation, optimizer, epochs=4,
              x=None, y=None, log_model=True):
    """Train a small digits network under ``run.watch`` and return the finished run."""
    if x is None:
        x, y = digits_subset()
    gn.utils.set_random_seed(config.get("seed", 0))
    model = gn.Sequential([Input(shape=(x.shape[1],)), Dense(hidden, activation=activation),
                           Dense(int(y.max()) + 1, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    run = gn.track.init(project=project, name=name, config=config, store=store)
    run.log_dataset("digits-small", X=x, y=y)
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, validation_split=0.25,
                        callbacks=[run.watch(log_freq=2, snapshots="epoch")])
    if log_model:
        run.log_model(model, "digits-mlp", aliases=["latest"])
    run.finish()
    return run, model, history


def fill_store(path) -> dict:
    """Three digits runs (relu/Adam, tanh/SGD, one failed) and one run with a hostile name."""
    store = gn.track.open_store(path)
    relu, relu_model, relu_history = train_run(store, "digits", "relu-adam",
                        {"learning_rate": 1e-2, "hidden": 16, "activation": "relu", "seed": 1},
                        16, "relu", gn.optimizers.Adam(learning_rate=1e-2))
    tanh, tanh_model, _ = train_run(store, "digits", "tanh-sgd",
                        {"learning_rate": 0.1, "hidden": 16, "activation": "tanh", "seed": 2},
                        16, "tanh", gn.optimizers.SGD(learning_rate=0.1), log_model=False)
    x, y = digits_subset(64)
    xss, _, _ = train_run(store, "xss", XSS_NAME, {XSS_KEY: XSS_VALUE, "seed": 3}, 3, "sigmoid",
                       "sgd", epochs=2, x=x[:, :4], y=(y % 2), log_model=False)
    failed = gn.track.init(project="digits", name="stopped-early", config={"learning_rate": 5.0},
                           store=store)
    failed.log({"loss": 2.0})
    failed.finish("failed", error="ValueError: stopped by the test")
    store.flush()
    return {"store": store, "relu": relu.id, "tanh": tanh.id, "xss": xss.id, "failed": failed.id,
            "relu_model": relu_model, "relu_history": history_of(relu_history),
            "tanh_model": tanh_model}


def history_of(history) -> dict:
    return {k: list(v) for k, v in history.history.items()}
