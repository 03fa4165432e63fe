"""The peers' side of glassnet's benchmarks: PyTorch, Keras 3 and scikit-learn.

Runs in the peer environment ``.venv-bench`` (see requirements-peers.txt), never
in glassnet's own. The harness, running in glassnet's venv, calls it once per
measurement as a subprocess and reads one JSON line from stdout::

    KERAS_BACKEND=torch OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \\
        .venv-bench/bin/python benchmarks/peers.py w2 torch \\
        --weights w2_init.safetensors --order w2_order.safetensors

Workloads (issue 3):

``w1``       one linear unit, X = [[1], [2]], y = [[300], [500]], SGD lr 0.01,
             full batch, 1000 epochs. Reports ``us_per_step`` and the learned w, b.
``w2``       scikit-learn digits, standardised, stratified 80/20 split (random_state
             0); 64-25(relu)-15(relu)-10 logits, softmax cross-entropy, Adam 1e-3,
             batch 32, 30 epochs with shuffling. Reports ``accuracy`` on the test set.
``w3``       X 60000x784 float32 standard normal, 10 random classes (both from
             RandomState(0)); 784-512(relu)-256(relu)-10 logits; SGD 0.01; batch 128;
             one epoch. Reports ``peak_rss_mb``.
``predict``  inference on W3's network over W3's X; reports ``rows_per_s``.

Peers: ``torch`` (an eager CPU loop: zero_grad, forward, loss, backward, step),
``keras`` (Keras 3 ``fit``/``predict`` with the torch backend), ``sklearn``
(MLPRegressor for w1, MLPClassifier otherwise) and, for ``predict`` only,
``onnxruntime`` (``--onnx FILE``, e.g. glassnet's own export; without it, W3's
network exported from torch).

Same inputs for everyone:

* ``--weights FILE.safetensors``: tensors ``"0"``, ``"1"``, ... in Keras order
  (kernel of shape (n_in, n_out), then bias of shape (n_out,), layer by layer).
  Without it, :func:`default_weights` (Glorot-uniform from RandomState(0)).
* ``--order FILE.safetensors``: tensor ``"order"`` of shape (epochs, n_samples),
  one permutation of the training rows per epoch. Without it, :func:`default_order`.
  PyTorch and Keras follow it exactly (Keras through a ``PyDataset``, because
  ``fit`` on arrays can only shuffle with its own generator); scikit-learn cannot
  be given an order and shuffles with ``random_state=0``.

Only the training (or predict) call is timed: imports, data preparation, model
construction and weight loading happen before the clock starts. The data
builders (:func:`w1_data`, :func:`w2_data`, :func:`w3_data`) need only NumPy (and
scikit-learn for digits), so the harness can import them from glassnet's venv and
feed glassnet exactly the same arrays. No pickle is read or written.

Peer settings worth knowing when reading the numbers: torch's Adam gets
``eps=1e-7`` (Keras's default, torch's is 1e-8); scikit-learn gets ``alpha=0``
(no L2), ``momentum=0`` for SGD, ``learning_rate="constant"``, ``tol=0`` and a
huge ``n_iter_no_change`` so it runs every epoch; its squared-error loss is half
the MSE (``0.5 * mean``), so on w1 its gradient steps are half as long. Keras's
w2 model is compiled with ``metrics=["accuracy"]``, as glassnet's is (fit's full
behaviour); w3 has no metric. ``predict`` feeds 1024 rows per call by default
(``--predict-batch``), except scikit-learn, whose ``predict_proba`` takes all rows
at once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings

import numpy as np

THREADS = 2  # the harness also sets OMP/MKL/OPENBLAS_NUM_THREADS=2 for every process

WORKLOADS = {
    # name: (layer sizes, hidden activation, epochs, batch size, optimizer, lr)
    "w1": ([1, 1], None, 1000, 2, "sgd", 0.01),
    "w2": ([64, 25, 15, 10], "relu", 30, 32, "adam", 1e-3),
    "w3": ([784, 512, 256, 10], "relu", 1, 128, "sgd", 0.01),
    "predict": ([784, 512, 256, 10], "relu", 0, 1024, None, None),
}
PEERS = ("torch", "keras", "sklearn", "onnxruntime")


# --------------------------------------------------------------------------
# Data and initial state: the same for every peer and for glassnet
# --------------------------------------------------------------------------


def w1_data():
    """The course lab: X of shape (2, 1), y of shape (2, 1), float32."""
    X = np.array([[1.0], [2.0]], dtype=np.float32)
    y = np.array([[300.0], [500.0]], dtype=np.float32)
    return X, y


def w2_data():
    """Digits: (X_train, y_train, X_test, y_test), X standardised float32, y int64.

    Stratified 80/20 split with random_state 0; the scaler is fit on the training
    part only.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32), y_train.astype(np.int64),
            scaler.transform(X_test).astype(np.float32), y_test.astype(np.int64))


def w3_data():
    """X of shape (60000, 784) float32 standard normal, y int64 in [0, 10).

    Both come from one RandomState(0): X first, then y. X is drawn in chunks of
    rows, which gives exactly the values of one ``standard_normal((60000, 784))``
    call without its 376 MB float64 temporary, so peak memory reflects training,
    not data generation.
    """
    rs = np.random.RandomState(0)
    X = np.empty((60000, 784), dtype=np.float32)
    for start in range(0, 60000, 5000):
        X[start:start + 5000] = rs.standard_normal((5000, 784))
    y = rs.randint(0, 10, size=60000).astype(np.int64)
    return X, y


def default_weights(workload: str) -> list[np.ndarray]:
    """Glorot-uniform kernels and zero biases from RandomState(0), Keras order."""
    sizes = WORKLOADS[workload][0]
    rs = np.random.RandomState(0)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rs.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, dtype=np.float32))
    return weights


def default_order(workload: str, n_samples: int) -> np.ndarray:
    """One permutation per epoch from RandomState(0); w1 keeps rows in order."""
    epochs = WORKLOADS[workload][2]
    if workload == "w1":
        return np.tile(np.arange(n_samples), (epochs, 1))
    rs = np.random.RandomState(0)
    return np.stack([rs.permutation(n_samples) for _ in range(epochs)])


def load_weights(path: str | None, workload: str) -> list[np.ndarray]:
    """Weights from a safetensors file (keys "0", "1", ...), checked against the workload."""
    if path is None:
        return default_weights(workload)
    from safetensors.numpy import load_file

    tensors = load_file(path)
    weights = [tensors[str(i)].astype(np.float32) for i in range(len(tensors))]
    expected = [w.shape for w in default_weights(workload)]
    got = [w.shape for w in weights]
    if got != expected:
        raise ValueError(f"{path}: workload {workload} expects weight shapes {expected}, "
                         f"got {got}")
    return weights


def load_order(path: str | None, workload: str, n_samples: int) -> np.ndarray:
    """Batch order from a safetensors file (tensor "order", shape (epochs, n_samples))."""
    if path is None:
        return default_order(workload, n_samples)
    from safetensors.numpy import load_file

    order = load_file(path)["order"].astype(np.int64)
    epochs = WORKLOADS[workload][2]
    if order.shape != (epochs, n_samples):
        raise ValueError(f"{path}: workload {workload} expects order of shape "
                         f"({epochs}, {n_samples}), got {order.shape}")
    return order


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------
# PyTorch: an eager loop
# --------------------------------------------------------------------------


def _torch_model(weights, hidden_activation):
    """nn.Sequential of Linear layers carrying the given Keras-order weights."""
    import torch
    from torch import nn

    modules = []
    for i in range(0, len(weights), 2):
        kernel, bias = weights[i], weights[i + 1]
        linear = nn.Linear(kernel.shape[0], kernel.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(kernel.T.copy()))  # torch weight is (out, in)
            linear.bias.copy_(torch.from_numpy(bias))
        modules.append(linear)
        if i + 2 < len(weights) and hidden_activation == "relu":
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def _torch_train(model, X, y, order, batch_size, optimizer_name, lr, loss_name):
    """Train in an eager loop; returns seconds spent (data already in tensors)."""
    import torch

    if optimizer_name == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss() if loss_name == "ce" else torch.nn.MSELoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    # Rows are gathered batch by batch (as a DataLoader would), not a whole
    # permuted copy of X per epoch, which would double W3's memory. An epoch whose
    # order is the identity (w1's full batch) is sliced without a gather.
    identity = np.arange(len(X))
    epochs = [None if np.array_equal(row, identity) else torch.from_numpy(row) for row in order]
    n = len(X)
    model.train()
    start = time.perf_counter()
    for rows in epochs:
        for s in range(0, n, batch_size):
            if rows is None:
                xb, yb = X_t[s:s + batch_size], y_t[s:s + batch_size]
            else:
                batch = rows[s:s + batch_size]
                xb, yb = X_t[batch], y_t[batch]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def torch_w1(weights, order):
    X, y = w1_data()
    model = _torch_model(weights, None)
    seconds = _torch_train(model, X, y, order, 2, "sgd", 0.01, "mse")
    w = model[0].weight.detach().numpy().T
    b = model[0].bias.detach().numpy()
    return {"seconds": seconds, "us_per_step": seconds / len(order) * 1e6,
            "w": float(w[0, 0]), "b": float(b[0])}


def torch_w2(weights, order):
    import torch

    X_train, y_train, X_test, y_test = w2_data()
    model = _torch_model(weights, "relu")
    seconds = _torch_train(model, X_train, y_train, order, 32, "adam", 1e-3, "ce")
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(X_test)).argmax(1).numpy()
    steps = len(order) * -(-len(X_train) // 32)
    return {"seconds": seconds, "accuracy": float((predicted == y_test).mean()),
            "us_per_step": seconds / steps * 1e6}


def torch_w3(weights, order):
    X, y = w3_data()
    model = _torch_model(weights, "relu")
    rss_before = peak_rss_mb()
    seconds = _torch_train(model, X, y, order, 128, "sgd", 0.01, "ce")
    return {"seconds": seconds, "us_per_step": seconds / -(-len(X) // 128) * 1e6,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_before_train_mb": rss_before}


def torch_predict(weights, batch_size):
    import torch

    X, _ = w3_data()
    model = _torch_model(weights, "relu").eval()
    X_t = torch.from_numpy(X)
    start = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(X), batch_size):
            model(X_t[s:s + batch_size])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_per_s": len(X) / seconds, "batch_size": batch_size}


# --------------------------------------------------------------------------
# Keras 3 (torch backend): fit and predict
# --------------------------------------------------------------------------


def _keras_model(weights, hidden_activation, output_activation=None):
    import keras

    layers = [keras.Input(shape=(weights[0].shape[0],))]
    for i in range(0, len(weights), 2):
        last = i + 2 >= len(weights)
        layers.append(keras.layers.Dense(
            weights[i].shape[1], activation=output_activation if last else hidden_activation))
    model = keras.Sequential(layers)
    model.set_weights(weights)
    return model


def _keras_ordered(X, y, order, batch_size):
    """Data and a callback that make Keras ``fit`` serve epoch e's batches in order[e].

    Returns ``(dataset, callback)``: pass both to ``fit(dataset, shuffle=False,
    callbacks=[callback])``. The epoch comes from the training callback, not from
    the PyDataset's own epoch hooks, which Keras also calls around its initial
    peek at the data. With ``workers=1`` and no multiprocessing there is no
    prefetching thread, so a batch is fetched only after its epoch has begun.
    """
    import keras

    class OrderedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0

        def __len__(self):
            return -(-len(X) // batch_size)

        def __getitem__(self, index):
            rows = order[self.epoch, index * batch_size:(index + 1) * batch_size]
            return X[rows], y[rows]

    class FollowEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            dataset.epoch = epoch

    dataset = OrderedBatches()
    return dataset, FollowEpoch()


def keras_w1(weights, order):
    import keras

    X, y = w1_data()
    model = _keras_model(weights, None)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    start = time.perf_counter()
    model.fit(X, y, batch_size=2, epochs=len(order), shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    w, b = model.get_weights()
    return {"seconds": seconds, "us_per_step": seconds / len(order) * 1e6,
            "w": float(w[0, 0]), "b": float(b[0])}


def keras_w2(weights, order):
    import keras

    X_train, y_train, X_test, y_test = w2_data()
    model = _keras_model(weights, "relu")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    data, follow = _keras_ordered(X_train, y_train, order, 32)
    start = time.perf_counter()
    model.fit(data, epochs=len(order), shuffle=False, callbacks=[follow], verbose=0)
    seconds = time.perf_counter() - start
    predicted = model.predict(X_test, batch_size=len(X_test), verbose=0).argmax(1)
    steps = len(order) * len(data)
    return {"seconds": seconds, "accuracy": float((predicted == y_test).mean()),
            "us_per_step": seconds / steps * 1e6}


def keras_w3(weights, order):
    import keras

    X, y = w3_data()
    model = _keras_model(weights, "relu")
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data, follow = _keras_ordered(X, y, order, 128)
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    model.fit(data, epochs=1, shuffle=False, callbacks=[follow], verbose=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "us_per_step": seconds / len(data) * 1e6,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_before_train_mb": rss_before}


def keras_predict(weights, batch_size):
    X, _ = w3_data()
    model = _keras_model(weights, "relu")
    start = time.perf_counter()
    model.predict(X, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_per_s": len(X) / seconds, "batch_size": batch_size}


# --------------------------------------------------------------------------
# scikit-learn: MLPClassifier / MLPRegressor
# --------------------------------------------------------------------------


def _sklearn_model(kind, weights, **params):
    """An MLP whose first fit starts from the given weights instead of its own init.

    scikit-learn has no public way to set initial weights, so the subclass answers
    its per-layer ``_init_coef(fan_in, fan_out, dtype)`` hook from our list.
    """
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    base = MLPClassifier if kind == "classifier" else MLPRegressor
    pairs = iter([(weights[i], weights[i + 1]) for i in range(0, len(weights), 2)])

    class Seeded(base):
        def _init_coef(self, fan_in, fan_out, dtype):
            kernel, bias = next(pairs)
            if kernel.shape != (fan_in, fan_out):
                raise ValueError(f"expected kernel ({fan_in}, {fan_out}), got {kernel.shape}")
            return kernel.astype(dtype), bias.astype(dtype)

    hidden = tuple(w.shape[1] for w in weights[0:-2:2])
    return Seeded(hidden_layer_sizes=hidden, alpha=0.0, learning_rate="constant",
                  momentum=0.0, tol=0.0, n_iter_no_change=10**9, early_stopping=False,
                  random_state=0, **params)


def _sklearn_fit(model, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start


def sklearn_w1(weights, order):
    X, y = w1_data()
    model = _sklearn_model("regressor", weights, solver="sgd", learning_rate_init=0.01,
                           batch_size=2, max_iter=len(order), shuffle=False)
    seconds = _sklearn_fit(model, X, y.ravel())
    return {"seconds": seconds, "us_per_step": seconds / len(order) * 1e6,
            "w": float(model.coefs_[0][0, 0]), "b": float(model.intercepts_[0][0])}


def sklearn_w2(weights, order):
    X_train, y_train, X_test, y_test = w2_data()
    model = _sklearn_model("classifier", weights, activation="relu", solver="adam",
                           learning_rate_init=1e-3, epsilon=1e-7, batch_size=32,
                           max_iter=len(order), shuffle=True)
    seconds = _sklearn_fit(model, X_train, y_train)
    steps = len(order) * -(-len(X_train) // 32)
    return {"seconds": seconds, "accuracy": float(model.score(X_test, y_test)),
            "us_per_step": seconds / steps * 1e6}


def sklearn_w3(weights, order):
    X, y = w3_data()
    model = _sklearn_model("classifier", weights, activation="relu", solver="sgd",
                           learning_rate_init=0.01, batch_size=128, max_iter=1,
                           shuffle=True)
    rss_before = peak_rss_mb()
    seconds = _sklearn_fit(model, X, y)
    return {"seconds": seconds, "us_per_step": seconds / -(-len(X) // 128) * 1e6,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_before_train_mb": rss_before}


def sklearn_predict(weights, batch_size):
    """MLPClassifier.predict_proba on W3's network (it predicts all rows at once)."""
    X, _ = w3_data()
    # predict_proba needs a fitted estimator: fit one step on ten rows (one per
    # class, untimed), then put the requested weights back.
    model = _sklearn_model("classifier", weights, activation="relu", solver="sgd",
                           max_iter=1, batch_size=10)
    _sklearn_fit(model, X[:10], np.arange(10))
    model.coefs_ = [weights[i].astype(np.float32) for i in range(0, len(weights), 2)]
    model.intercepts_ = [weights[i].astype(np.float32) for i in range(1, len(weights), 2)]
    start = time.perf_counter()
    model.predict_proba(X)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_per_s": len(X) / seconds, "batch_size": len(X)}


# --------------------------------------------------------------------------
# onnxruntime: predict only
# --------------------------------------------------------------------------


def _torch_onnx(weights, path):
    """Export W3's network from torch (legacy exporter, dynamic batch axis)."""
    import torch

    model = _torch_model(weights, "relu").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, weights[0].shape[0]), path,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)


def onnxruntime_predict(onnx_path, weights, batch_size):
    """Run an ONNX model over W3's X in batches.

    With ``onnx_path`` (e.g. glassnet's own export) that file is run; without
    it, W3's network carrying ``weights`` is exported from torch first (untimed).
    """
    import tempfile

    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if onnx_path is None:
        with tempfile.TemporaryDirectory(prefix="peers-") as folder:
            onnx_path = os.path.join(folder, "w3.onnx")
            _torch_onnx(weights, onnx_path)
            session = onnxruntime.InferenceSession(onnx_path, options, providers=providers)
    else:
        session = onnxruntime.InferenceSession(onnx_path, options, providers=providers)
    X, _ = w3_data()
    name = session.get_inputs()[0].name
    start = time.perf_counter()
    for s in range(0, len(X), batch_size):
        session.run(None, {name: X[s:s + batch_size]})
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_per_s": len(X) / seconds, "batch_size": batch_size}


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def versions(peer: str) -> dict:
    """Versions of the libraries this peer used, for the results table."""
    out = {"python": platform.python_version(), "numpy": np.__version__}
    modules = {"torch": ["torch"], "keras": ["keras", "torch"], "sklearn": ["sklearn"],
               "onnxruntime": ["onnxruntime"]}[peer]
    for name in modules:
        out[name] = sys.modules[name].__version__ if name in sys.modules else None
    return out


def run(workload: str, peer: str, weights_path=None, order_path=None, onnx_path=None,
        predict_batch=None) -> dict:
    """Run one workload with one peer; the dict the CLI prints."""
    os.environ.setdefault("KERAS_BACKEND", "torch")  # read when keras is first imported
    if peer == "torch" or peer == "keras":
        import torch

        torch.set_num_threads(THREADS)
    weights = load_weights(weights_path, workload)
    if workload == "predict":
        batch_size = predict_batch or WORKLOADS["predict"][3]
        if peer == "onnxruntime":
            result = onnxruntime_predict(onnx_path, weights, batch_size)
        else:
            result = globals()[f"{peer}_predict"](weights, batch_size)
    else:
        if peer == "onnxruntime":
            raise ValueError("peer onnxruntime runs only the predict workload")
        n_samples = {"w1": 2, "w2": 1437, "w3": 60000}[workload]
        order = load_order(order_path, workload, n_samples)
        result = globals()[f"{peer}_{workload}"](weights, order)
    result.setdefault("peak_rss_mb", peak_rss_mb())
    return {"workload": workload, "peer": peer, **result, "threads": THREADS,
            "versions": versions(peer)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Run one benchmark workload with one peer library; print one JSON line.")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("peer", choices=PEERS)
    parser.add_argument("--weights", help="initial weights, safetensors, keys 0, 1, ...")
    parser.add_argument("--order", help="batch order, safetensors, tensor 'order'")
    parser.add_argument("--onnx", help="ONNX model for the onnxruntime predict peer "
                        "(default: W3's network exported from torch)")
    parser.add_argument("--predict-batch", type=int, default=None,
                        help="rows per predict call (default 1024)")
    args = parser.parse_args(argv)
    return print_result(lambda: run(args.workload, args.peer, args.weights, args.order,
                                    args.onnx, args.predict_batch))


def print_result(measure) -> int:
    """Print ``measure()`` as one JSON line (exit code 0), or the error for the harness."""
    try:
        result = measure()
    except Exception as error:  # the harness reads "ErrorType: message" and the exit code
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
