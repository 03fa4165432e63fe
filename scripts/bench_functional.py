"""Milliseconds per epoch on digits (batch 32, Adam), best of 5: a Sequential, the same
chain as a functional Model (it trains through the Sequential's trainer), and a
branched Model of about the same size (the graph trainer).

    KERAS_BACKEND=torch .venv/bin/python scripts/bench_functional.py
"""

from __future__ import annotations

import time

import glassnet as gn
from glassnet import layers


def sequential():
    return gn.Sequential([gn.Input(shape=(64,)), layers.Dense(25, "relu"),
                          layers.Dense(15, "relu"), layers.Dense(10, "softmax")])


def chain():
    inputs = gn.Input(shape=(64,))
    hidden = layers.Dense(15, "relu")(layers.Dense(25, "relu")(inputs))
    return gn.Model(inputs, layers.Dense(10, "softmax")(hidden))


def branched():
    inputs = gn.Input(shape=(64,))
    a = layers.Dense(25, "relu")(inputs)
    joined = layers.Concatenate()([a, layers.Dense(15, "relu")(a)])
    return gn.Model(inputs, layers.Dense(10, "softmax")(joined))


def main() -> None:
    X, y = gn.datasets.load_digits()
    X = (X / 16.0).astype("float32")
    for build in (sequential, chain, branched):
        model = build()
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(X, y, epochs=1, verbose=0)  # warm: buffers, BLAS bindings
        times = []
        for _ in range(5):
            start = time.perf_counter()
            model.fit(X, y, epochs=1, verbose=0)
            times.append(time.perf_counter() - start)
        print(f"{build.__name__:10s} {min(times) * 1e3:6.1f} ms/epoch  "
              f"({model.count_params()} params)")


if __name__ == "__main__":
    main()
