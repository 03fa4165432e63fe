"""glassnet's side of the benchmarks: W1, W2, W3 and predict, through the public API.

Each workload builds its model with ``Sequential``, ``compile`` and ``set_weights``
from the same initial weights the peers load, then times one ``fit`` (or
``predict``) call, exactly as a user would write it: ``verbose=0``, metrics and
History on, every check ``fit`` makes included in the time.

The data builders come from ``benchmarks/peers.py`` (NumPy and scikit-learn only),
so glassnet and the peers train on the very same arrays. The harness runs this
module as a subprocess, like the peers, so every side starts with the same thread
settings and a fresh process::

    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.workloads w2 \\
        --weights w2_init.safetensors --order w2_order.safetensors

and reads one JSON line from stdout.

Batch order: ``fit(shuffle=True)`` draws one permutation per epoch from
glassnet's global generator (``glassnet.random``). :class:`ReplayOrder` stands in
for that generator during the timed call and hands out the rows of the order
file instead, so glassnet sees the same batches as PyTorch and Keras.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from contextlib import contextmanager

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.peers import (  # noqa: E402
    WORKLOADS,
    load_order,
    load_weights,
    print_result,
    w1_data,
    w2_data,
    w3_data,
)

N_SAMPLES = {"w1": 2, "w2": 1437, "w3": 60000}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class ReplayOrder:
    """A stand-in for glassnet's generator whose ``permutation`` replays an order file."""

    def __init__(self, order: np.ndarray):
        self.order = order
        self.epoch = 0

    def permutation(self, n: int) -> np.ndarray:
        rows = self.order[self.epoch]
        if rows.shape[0] != n:
            raise ValueError(f"order rows have {rows.shape[0]} samples, fit asked for {n}")
        self.epoch += 1
        return rows


@contextmanager
def replayed_order(order: np.ndarray):
    """Make ``fit(shuffle=True)`` use ``order`` (one row per epoch) as its permutations."""
    from glassnet import random as gnrandom

    saved = gnrandom._global
    gnrandom._global = ReplayOrder(order)
    try:
        yield
    finally:
        gnrandom._global = saved


def build_model(workload: str, weights: list[np.ndarray]):
    """The workload's network as a compiled glassnet Sequential carrying ``weights``."""
    import glassnet as gn
    from glassnet.layers import Dense, Input

    sizes, hidden, _epochs, _batch, optimizer, lr = WORKLOADS[workload]
    layers = [Input(shape=(sizes[0],))]
    for i, units in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        layers.append(Dense(units, activation=None if last else hidden))
    model = gn.Sequential(layers)
    if workload == "w1":
        model.compile(optimizer=gn.optimizers.SGD(lr), loss="mse")
    elif workload == "w2":
        model.compile(optimizer=gn.optimizers.Adam(lr),
                      loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    else:
        model.compile(optimizer=gn.optimizers.SGD(lr or 0.01),
                      loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.set_weights(weights)
    return model


def w1(weights, order) -> dict:
    """The course lab: 1,000 full-batch epochs of one linear unit, each a whole fit epoch."""
    X, y = w1_data()
    model = build_model("w1", weights)
    epochs = len(order)
    start = time.perf_counter()
    history = model.fit(X, y, batch_size=2, epochs=epochs, shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    kernel, bias = model.get_weights()
    return {"seconds": seconds, "us_per_step": seconds / epochs * 1e6,
            "w": float(kernel[0, 0]), "b": float(bias[0]),
            "final_loss": float(history.history["loss"][-1])}


def w2(weights, order) -> dict:
    """Digits, 30 epochs of Adam with batch 32, following the order file; test accuracy."""
    X_train, y_train, X_test, y_test = w2_data()
    model = build_model("w2", weights)
    with replayed_order(order):
        start = time.perf_counter()
        history = model.fit(X_train, y_train, batch_size=32, epochs=len(order),
                            shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
    predicted = model.predict(X_test, batch_size=len(X_test)).argmax(axis=1)
    steps = len(order) * -(-len(X_train) // 32)
    return {"seconds": seconds, "accuracy": float((predicted == y_test).mean()),
            "us_per_step": seconds / steps * 1e6,
            "train_accuracy": float(history.history["accuracy"][-1])}


def w3(weights, order) -> dict:
    """One epoch over 60,000 x 784 with SGD and batch 128; peak memory of the process."""
    X, y = w3_data()
    model = build_model("w3", weights)
    rss_before = peak_rss_mb()
    with replayed_order(order):
        start = time.perf_counter()
        model.fit(X, y, batch_size=128, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "us_per_step": seconds / -(-len(X) // 128) * 1e6,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_before_train_mb": rss_before}


def predict(weights, batch_size) -> dict:
    """Inference on W3's network over W3's X, ``batch_size`` rows per forward pass."""
    X, _ = w3_data()
    model = build_model("w3", weights)
    start = time.perf_counter()
    model.predict(X, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_per_s": len(X) / seconds, "batch_size": batch_size}


def export_onnx(weights, path) -> bool:
    """W3's network exported with ``gn.io.export_onnx``; False when export is not there yet."""
    import glassnet as gn

    try:
        export = gn.io.export_onnx
    except (AttributeError, ModuleNotFoundError) as error:
        if isinstance(error, ModuleNotFoundError) and "glassnet" not in str(error):
            raise  # onnx itself missing is a real error, not "not landed yet"
        return False
    export(build_model("w3", weights), path)
    return True


def run(workload: str, weights_path=None, order_path=None, predict_batch=None) -> dict:
    """Run one workload with glassnet; the dict the command line prints."""
    import glassnet as gn

    weights = load_weights(weights_path, workload)
    if workload == "predict":
        result = predict(weights, predict_batch or WORKLOADS["predict"][3])
    else:
        order = load_order(order_path, workload, N_SAMPLES[workload])
        result = {"w1": w1, "w2": w2, "w3": w3}[workload](weights, order)
    result.setdefault("peak_rss_mb", peak_rss_mb())
    return {"workload": workload, "peer": "glassnet", **result,
            "threads": os.environ.get("OMP_NUM_THREADS"),
            "versions": {"glassnet": gn.__version__, "numpy": np.__version__,
                         "python": sys.version.split()[0]}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Run one benchmark workload with glassnet; print one JSON line.")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--weights", help="initial weights, safetensors, keys 0, 1, ...")
    parser.add_argument("--order", help="batch order, safetensors, tensor 'order'")
    parser.add_argument("--predict-batch", type=int, default=None)
    parser.add_argument("--export-onnx", metavar="FILE",
                        help="instead of a workload run: write W3's network as ONNX")
    args = parser.parse_args(argv)

    def measure():
        if args.export_onnx:
            return {"exported": export_onnx(load_weights(args.weights, "w3"), args.export_onnx)}
        return run(args.workload, args.weights, args.order, args.predict_batch)

    return print_result(measure)


if __name__ == "__main__":
    sys.exit(main())
