"""Make glassnet's Keras test fixtures with the real Keras 3 (torch backend).

Run by hand in the peer environment, then commit the small files it writes::

    KERAS_BACKEND=torch .venv-bench/bin/python scripts/make_keras_fixtures.py

Two kinds of fixture come out of it:

``tests/data/keras_numerics/<case>.safetensors``
    Training runs that glassnet must reproduce. Each file holds the data (``X``,
    ``y``), the weights Keras started from (``init/<i>``) and ended with
    (``final/<i>``), both in ``model.get_weights()`` order (kernel, bias, layer by
    layer), the per-epoch loss Keras reported (``history/loss``) and the running
    loss Keras reported after every batch (``history/batch_loss``, shape
    (epochs, n_batches)). The safetensors metadata key ``case`` is a JSON object
    naming the layers, the loss, the optimizer and its full ``get_config()``,
    batch size, epochs and versions: everything needed to build and train the
    same model in glassnet.

``tests/data/keras/<name>.keras`` (and one ``.weights.h5``)
    Model files saved by Keras, for ``gn.io.load_keras`` and ``load_weights``.
    Beside each is ``<name>.io.safetensors`` with an input batch ``x``, Keras's
    ``model.predict(x)`` as ``y``, and each layer's output as ``layer/<name>``,
    so a test can locate the first layer where glassnet and Keras disagree.

``--check`` makes nothing: it replays every numerics fixture in float64 NumPy
with the formulas written down in scripts/README.md and fails if the replay and
Keras disagree by more than 1e-5 (they agree within about 2e-6).

Everything is deterministic: data and weights come from NumPy ``RandomState``
with fixed seeds, and training uses ``shuffle=False``. No pickle is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NUMERICS_DIR = ROOT / "tests" / "data" / "keras_numerics"
MODELS_DIR = ROOT / "tests" / "data" / "keras"

N_ROWS = 36  # batch_size 8 -> four full batches and a final partial batch of 4
BATCH_SIZE = 8
EPOCHS = 3
WEIGHT_SEED = 42


# --------------------------------------------------------------------------
# Data and initial weights
# --------------------------------------------------------------------------


def make_inputs() -> np.ndarray:
    """X of shape (36, 4): the first 36 rows of RandomState(0).standard_normal((40, 4))."""
    return np.random.RandomState(0).standard_normal((40, 4)).astype(np.float32)[:N_ROWS]


def make_targets(kind: str, X: np.ndarray) -> np.ndarray:
    """Targets that depend on X, so training has something to learn.

    ``regression``: float32 of shape (n, 1), roughly unit scale with errors both
    below and above Huber's delta of 1. ``sparse``: int64 class ids in {0, 1, 2},
    shape (n,). ``onehot``: float32 (n, 3). ``binary``: float32 0/1, shape (n, 1).
    """
    rs = np.random.RandomState(1)
    if kind == "regression":
        w = rs.standard_normal((4, 1))
        y = np.sin(X @ w) * 2.0 + 0.1 * rs.standard_normal((len(X), 1))
        return y.astype(np.float32)
    if kind in ("sparse", "onehot"):
        w = rs.standard_normal((4, 3))
        labels = np.argmax(X @ w + 0.5 * rs.standard_normal((len(X), 3)), axis=1)
        if kind == "sparse":
            return labels.astype(np.int64)
        return np.eye(3, dtype=np.float32)[labels]
    if kind == "binary":
        w = rs.standard_normal((4, 1))
        return ((X @ w + 0.5 * rs.standard_normal((len(X), 1))) > 0).astype(np.float32)
    raise ValueError(f"unknown target kind {kind!r}")


def make_weights(layer_sizes: list[int], use_bias: list[bool], seed: int) -> list[np.ndarray]:
    """Initial weights in Keras order, float32, from RandomState(seed).

    Kernels are uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot's limit), biases
    uniform in +-0.1 (not zero, so the bias path is exercised from step one).
    """
    rs = np.random.RandomState(seed)
    weights = []
    for fan_in, fan_out, bias in zip(layer_sizes[:-1], layer_sizes[1:], use_bias, strict=True):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rs.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        if bias:
            weights.append(rs.uniform(-0.1, 0.1, (fan_out,)).astype(np.float32))
    return weights


# --------------------------------------------------------------------------
# Numerics cases
# --------------------------------------------------------------------------


def _dense(units, activation, use_bias=True, regularizer=None):
    return {"units": units, "activation": activation, "use_bias": use_bias,
            "kernel_regularizer": regularizer}


REG_LAYERS = [_dense(5, "tanh"), _dense(1, "linear")]
CLS_LOGITS = [_dense(6, "relu"), _dense(3, "linear")]
CLS_SOFTMAX = [_dense(6, "relu"), _dense(3, "softmax")]
BIN_LOGITS = [_dense(3, "sigmoid"), _dense(1, "linear")]
BIN_SIGMOID = [_dense(3, "sigmoid"), _dense(1, "sigmoid")]
MSE = ("MeanSquaredError", {})


def _cases():
    """Every case: (name, layers, targets, (loss class, kwargs), (optimizer class, kwargs))."""
    sgd = ("SGD", {"learning_rate": 0.05})
    adam = ("Adam", {"learning_rate": 0.01})
    return [
        ("regression_sgd", REG_LAYERS, "regression", MSE, sgd),
        ("regression_sgd_momentum", REG_LAYERS, "regression", MSE,
         ("SGD", {"learning_rate": 0.05, "momentum": 0.9})),
        ("regression_sgd_nesterov", REG_LAYERS, "regression", MSE,
         ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True})),
        ("regression_adam", REG_LAYERS, "regression", MSE, adam),
        ("regression_adamw", REG_LAYERS, "regression", MSE,
         ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.004})),
        ("regression_rmsprop", REG_LAYERS, "regression", MSE,
         ("RMSprop", {"learning_rate": 0.01})),
        ("regression_rmsprop_centered_momentum", REG_LAYERS, "regression", MSE,
         ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True})),
        ("regression_adagrad", REG_LAYERS, "regression", MSE,
         ("Adagrad", {"learning_rate": 0.05})),
        ("regression_l2_adam",
         [_dense(5, "tanh", regularizer={"class": "L2", "l2": 0.01}), _dense(1, "linear")],
         "regression", MSE, adam),
        ("regression_mae_sgd", REG_LAYERS, "regression", ("MeanAbsoluteError", {}), sgd),
        ("regression_huber_sgd", REG_LAYERS, "regression", ("Huber", {"delta": 1.0}), sgd),
        ("classify_sparse_logits_adam", CLS_LOGITS, "sparse",
         ("SparseCategoricalCrossentropy", {"from_logits": True}), adam),
        ("classify_sparse_softmax_adam", CLS_SOFTMAX, "sparse",
         ("SparseCategoricalCrossentropy", {"from_logits": False}), adam),
        ("classify_onehot_softmax_adam", CLS_SOFTMAX, "onehot",
         ("CategoricalCrossentropy", {"from_logits": False}), adam),
        ("classify_onehot_logits_adam", CLS_LOGITS, "onehot",
         ("CategoricalCrossentropy", {"from_logits": True}), adam),
        ("binary_logits_sgd", BIN_LOGITS, "binary",
         ("BinaryCrossentropy", {"from_logits": True}), ("SGD", {"learning_rate": 0.1})),
        ("binary_sigmoid_sgd", BIN_SIGMOID, "binary",
         ("BinaryCrossentropy", {"from_logits": False}), ("SGD", {"learning_rate": 0.1})),
    ]


def _jsonable(value):
    """Optimizer/loss configs hold NumPy scalars; JSON wants plain Python."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if hasattr(value, "numpy"):  # a backend scalar
        return np.asarray(value).item()
    return value


class _BatchLosses(keras.callbacks.Callback):
    """Keeps the running loss Keras reports in ``logs`` after every batch."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[float]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rows.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.rows[-1].append(float(logs["loss"]))


def make_numerics_case(name, layer_specs, target_kind, loss_spec, optimizer_spec):
    """Train one small model with Keras and write its safetensors fixture."""
    keras.utils.set_random_seed(0)
    X = make_inputs()
    y = make_targets(target_kind, X)

    layers = [keras.Input(shape=(X.shape[1],))]
    for i, spec in enumerate(layer_specs):
        reg = spec["kernel_regularizer"]
        layers.append(keras.layers.Dense(
            spec["units"], activation=spec["activation"], use_bias=spec["use_bias"],
            kernel_regularizer=keras.regularizers.L2(reg["l2"]) if reg else None,
            name=f"dense_{i}"))
    model = keras.Sequential(layers, name=name)

    sizes = [X.shape[1]] + [s["units"] for s in layer_specs]
    init = make_weights(sizes, [s["use_bias"] for s in layer_specs], WEIGHT_SEED)
    model.set_weights(init)

    loss = getattr(keras.losses, loss_spec[0])(**loss_spec[1])
    optimizer = getattr(keras.optimizers, optimizer_spec[0])(**optimizer_spec[1])
    model.compile(optimizer=optimizer, loss=loss)
    batch_losses = _BatchLosses()
    history = model.fit(X, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False,
                        verbose=0, callbacks=[batch_losses])
    final = model.get_weights()

    case = {
        "name": name,
        "input_shape": [int(X.shape[1])],
        "layers": [dict(spec, name=f"dense_{i}") for i, spec in enumerate(layer_specs)],
        "weights": [w.path for w in model.weights],
        # args: what the constructor got (Huber's get_config() leaves out delta)
        "loss": {"class": loss_spec[0], "from_logits": loss_spec[1].get("from_logits"),
                 "args": loss_spec[1], "config": _jsonable(loss.get_config())},
        "optimizer": {"class": optimizer_spec[0], "args": optimizer_spec[1],
                      "config": _jsonable(optimizer.get_config())},
        "targets": target_kind,
        "n_samples": int(len(X)),
        "batch_size": BATCH_SIZE,
        "epochs": EPOCHS,
        "shuffle": False,
        "weight_seed": WEIGHT_SEED,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "torch_version": torch.__version__,
        "floatx": keras.backend.floatx(),
    }
    tensors = {"X": X, "y": y,
               "history/loss": np.asarray(history.history["loss"], dtype=np.float64),
               "history/batch_loss": np.asarray(batch_losses.rows, dtype=np.float64)}
    for i, w in enumerate(init):
        tensors[f"init/{i}"] = np.ascontiguousarray(w)
    for i, w in enumerate(final):
        tensors[f"final/{i}"] = np.ascontiguousarray(w)
    NUMERICS_DIR.mkdir(parents=True, exist_ok=True)
    path = NUMERICS_DIR / f"{name}.safetensors"
    save_file(tensors, str(path), metadata={"case": json.dumps(case, sort_keys=True)})
    moved = max(float(np.abs(a - b).max()) for a, b in zip(init, final, strict=True))
    print(f"{path.relative_to(ROOT)}: loss {history.history['loss']}, max |dw| {moved:.3g}")


# --------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu",
               "gelu", "softplus", "silu"]


def _set_dense_weights(model, seed):
    """Give every Dense layer non-trivial weights (non-zero biases included)."""
    rs = np.random.RandomState(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            values = [rs.uniform(-1.0, 1.0, w.shape).astype(np.float32) for w in layer.weights]
            layer.set_weights(values)


def _save_io(model, x, name):
    """Write x, Keras's predict(x) and every layer's output beside the model file."""
    tensors = {"x": np.ascontiguousarray(x, dtype=np.float32),
               "y": np.ascontiguousarray(model.predict(x, verbose=0), dtype=np.float32)}
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    outs = probe.predict(x, verbose=0)
    if not isinstance(outs, (list, tuple)):  # a one-layer model gives one array
        outs = [outs]
    for layer, out in zip(model.layers, outs, strict=True):
        tensors[f"layer/{layer.name}"] = np.ascontiguousarray(out, dtype=np.float32)
    meta = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
            "layers": json.dumps([layer.name for layer in model.layers])}
    save_file(tensors, str(MODELS_DIR / f"{name}.io.safetensors"), metadata=meta)


def make_model_files():
    """The .keras / .weights.h5 files a glassnet loader must read (or refuse)."""
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    rs = np.random.RandomState(7)

    # (a) Normalization (adapted) -> Dense relu -> Dropout -> Dense softmax
    keras.utils.set_random_seed(0)
    adapt_data = (rs.standard_normal((50, 3)) * [1.0, 5.0, 0.5] + [0.0, 10.0, -2.0])
    norm = keras.layers.Normalization(name="normalization")
    norm.adapt(adapt_data.astype(np.float32))
    model = keras.Sequential([
        keras.Input(shape=(3,)),
        norm,
        keras.layers.Dense(4, activation="relu", name="hidden"),
        keras.layers.Dropout(0.2, name="dropout"),
        keras.layers.Dense(2, activation="softmax", name="out"),
    ], name="norm_mlp")
    _set_dense_weights(model, 1)
    x = (rs.standard_normal((6, 3)) * [1.0, 5.0, 0.5] + [0.0, 10.0, -2.0]).astype(np.float32)
    model.save(MODELS_DIR / "norm_mlp.keras")
    model.save_weights(MODELS_DIR / "norm_mlp.weights.h5")  # (d)
    _save_io(model, x, "norm_mlp")

    # (b) Flatten -> Dense tanh without bias -> Activation sigmoid -> Dense linear
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(2, 2)),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, activation="tanh", use_bias=False, name="dense_nobias"),
        keras.layers.Activation("sigmoid", name="activation"),
        keras.layers.Dense(1, name="dense_out"),
    ], name="flatten_activation")
    _set_dense_weights(model, 2)
    model.save(MODELS_DIR / "flatten_activation.keras")
    _save_io(model, rs.standard_normal((5, 2, 2)).astype(np.float32), "flatten_activation")

    # (c) one Dense layer per activation, chained; inputs wide enough to hit
    # negative pre-activations (leaky_relu, elu, silu, gelu) and both tails.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(shape=(3,))]
        + [keras.layers.Dense(3, activation=a, name=f"dense_{a}") for a in ACTIVATIONS],
        name="activations")
    _set_dense_weights(model, 3)
    model.save(MODELS_DIR / "activations.keras")
    _save_io(model, (2.0 * rs.standard_normal((8, 3))).astype(np.float32), "activations")

    # One single-layer file per activation too, so a failure names its activation.
    for act in ACTIVATIONS:
        keras.utils.set_random_seed(0)
        single = keras.Sequential([keras.Input(shape=(3,)),
                                   keras.layers.Dense(3, activation=act, name="dense")],
                                  name=f"activation_{act}")
        _set_dense_weights(single, 4)
        single.save(MODELS_DIR / f"activation_{act}.keras")
        _save_io(single, (2.0 * rs.standard_normal((8, 3))).astype(np.float32),
                 f"activation_{act}")

    # A model compiled and trained before saving, as a course notebook leaves it:
    # its config.json has a compile_config and its weights file an optimizer group.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(2,)),
        keras.layers.Dense(4, activation="relu", name="hidden"),
        keras.layers.Dense(1, activation="sigmoid", name="out"),
    ], name="trained_mlp")
    _set_dense_weights(model, 5)
    x = rs.standard_normal((32, 2)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, (x[:, :1] > x[:, 1:]).astype(np.float32), batch_size=8, epochs=2,
              shuffle=False, verbose=0)
    model.save(MODELS_DIR / "trained_mlp.keras")
    _save_io(model, x[:6], "trained_mlp")

    # (e) unsupported layers: the loader must refuse them, naming the class
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(3,)),
        keras.layers.Dense(4, activation="relu", name="dense"),
        keras.layers.BatchNormalization(name="batch_normalization"),
        keras.layers.Dense(1, name="out"),
    ], name="unsupported_batchnorm")
    model.save(MODELS_DIR / "unsupported_batchnorm.keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(6, 2)),
        keras.layers.Conv1D(2, 3, name="conv1d"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(1, name="out"),
    ], name="unsupported_conv1d")
    model.save(MODELS_DIR / "unsupported_conv1d.keras")

    for path in sorted(MODELS_DIR.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


# --------------------------------------------------------------------------
# Independent check: replay every numerics case in float64 NumPy
# --------------------------------------------------------------------------
#
# The replay follows the formulas written down in scripts/README.md ("Keras 3
# update formulas", "Losses", "What history["loss"] is"). If Keras changes one of
# them, --check fails here, before a glassnet test does.

_ACT = {
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, a: a * (1.0 - a)),
}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _loss_and_delta(case, z, a, y):
    """Batch loss (mean over rows) and dL/dz of the output layer."""
    n = len(z)
    loss = case["loss"]["class"]
    if loss in ("SparseCategoricalCrossentropy", "CategoricalCrossentropy"):
        target = np.eye(z.shape[1])[y] if y.ndim == 1 else y
        p = _softmax(z) if case["loss"]["from_logits"] else a
        return -np.mean(np.sum(target * np.log(p), axis=1)), (p - target) / n
    if loss == "BinaryCrossentropy":
        p = 1.0 / (1.0 + np.exp(-z)) if case["loss"]["from_logits"] else a
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), (p - y) / n
    e = a - y
    if loss == "MeanSquaredError":
        value, da = np.mean(e * e), 2.0 * e / e.size
    elif loss == "MeanAbsoluteError":
        value, da = np.mean(np.abs(e)), np.sign(e) / e.size
    elif loss == "Huber":
        delta = case["loss"]["args"].get("delta", 1.0)
        small = np.abs(e) <= delta
        value = np.mean(np.where(small, 0.5 * e * e, delta * np.abs(e) - 0.5 * delta**2))
        da = np.where(small, e, delta * np.sign(e)) / e.size
    else:
        raise ValueError(f"no replay for loss {loss}")
    return value, da * _ACT[case["layers"][-1]["activation"]][1](z, a)


def _optimizer_step(name, config, weights, grads, slots, step):
    """One Keras 3 optimizer step, in place; step counts from 1."""
    lr = config["learning_rate"]
    if config.get("weight_decay"):  # decoupled decay first, on every variable
        for w in weights:
            w -= w * config["weight_decay"] * lr
    for i, (w, g) in enumerate(zip(weights, grads, strict=True)):
        slot = slots.setdefault(i, {})
        if name == "SGD":
            mu = config["momentum"]
            if mu:
                slot["m"] = mu * slot.get("m", 0.0) - lr * g
                w += mu * slot["m"] - lr * g if config["nesterov"] else slot["m"]
            else:
                w -= lr * g
        elif name in ("Adam", "AdamW"):
            b1, b2 = config["beta_1"], config["beta_2"]
            slot["m"] = slot.get("m", 0.0) + (g - slot.get("m", 0.0)) * (1 - b1)
            slot["v"] = slot.get("v", 0.0) + (g * g - slot.get("v", 0.0)) * (1 - b2)
            alpha = lr * np.sqrt(1 - b2**step) / (1 - b1**step)
            w -= alpha * slot["m"] / (np.sqrt(slot["v"]) + config["epsilon"])
        elif name == "RMSprop":
            rho, mu = config["rho"], config["momentum"]
            slot["v"] = rho * slot.get("v", 0.0) + (1 - rho) * g * g
            denominator = slot["v"] + config["epsilon"]
            if config["centered"]:
                slot["a"] = rho * slot.get("a", 0.0) + (1 - rho) * g
                denominator = denominator - slot["a"] ** 2
            increment = lr * g / np.sqrt(denominator)
            if mu > 0:
                slot["m"] = mu * slot.get("m", 0.0) + increment
                w -= slot["m"]
            else:
                w -= increment
        elif name == "Adagrad":
            slot["acc"] = slot.get("acc", config["initial_accumulator_value"]) + g * g
            w -= lr * g / np.sqrt(slot["acc"] + config["epsilon"])
        else:
            raise ValueError(f"no replay for optimizer {name}")


def replay_case(path):
    """Train a fixture's two-layer model in float64 NumPy; return (final weights, history)."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    with safe_open(str(path), "np") as f:
        case = json.loads(f.metadata()["case"])
    X, y = tensors["X"].astype(np.float64), tensors["y"]
    y = y if y.dtype == np.int64 else y.astype(np.float64)
    W1, b1, W2, b2 = (tensors[f"init/{i}"].astype(np.float64) for i in range(4))
    (hidden, output), batch = case["layers"], case["batch_size"]
    l2 = (hidden["kernel_regularizer"] or {}).get("l2", 0.0)
    slots, step, history = {}, 0, []
    for _ in range(case["epochs"]):
        total = 0.0
        for start in range(0, len(X), batch):
            x, t = X[start:start + batch], y[start:start + batch]
            z1 = x @ W1 + b1
            a1 = _ACT[hidden["activation"]][0](z1)
            z2 = a1 @ W2 + b2
            a2 = _softmax(z2) if output["activation"] == "softmax" else \
                _ACT[output["activation"]][0](z2)
            loss, dz2 = _loss_and_delta(case, z2, a2, t)
            loss += l2 * np.sum(W1 * W1)
            total += loss * len(x)  # history: batch losses weighted by batch size
            dz1 = (dz2 @ W2.T) * _ACT[hidden["activation"]][1](z1, a1)
            grads = [x.T @ dz1 + 2 * l2 * W1, dz1.sum(0), a1.T @ dz2, dz2.sum(0)]
            step += 1
            _optimizer_step(case["optimizer"]["class"], case["optimizer"]["config"],
                            [W1, b1, W2, b2], grads, slots, step)
        history.append(total / len(X))
    return [W1, b1, W2, b2], np.array(history), tensors


def check_numerics(tolerance=1e-5):
    """Replay every numerics fixture; exit non-zero if Keras and the replay disagree."""
    worst = 0.0
    for path in sorted(NUMERICS_DIR.glob("*.safetensors")):
        final, history, tensors = replay_case(path)
        dw = max(float(np.abs(w - tensors[f"final/{i}"]).max()) for i, w in enumerate(final))
        dh = float(np.abs(history - tensors["history/loss"]).max())
        worst = max(worst, dw, dh)
        print(f"{path.stem:40s} max |w - keras| {dw:.1e}   max |loss - keras| {dh:.1e}")
    if worst > tolerance:
        sys.exit(f"replay and Keras differ by {worst:.2e} > {tolerance}")
    print(f"all cases agree within {tolerance}")


UNTRAINED_OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "adamw": lambda: keras.optimizers.AdamW(0.01),
}


def make_untrained_optimizer_files():
    """``untrained_<optimizer>.keras``: compiled, never trained, as a course notebook saves.

    Keras writes only the step count and learning rate for an optimizer that never
    took a step. Beside each file, ``<name>.io.safetensors`` holds data (``x``,
    ``y``) and the weights Keras reaches (``final/<i>``) after loading that file
    itself and training 2 epochs (batch 8, no shuffle): glassnet must reach them too.
    """
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    rs = np.random.RandomState(13)
    x = rs.standard_normal((32, 3)).astype(np.float32)
    y = (np.sin(x @ np.array([[1.0], [-2.0], [0.5]])) + 0.1 * x[:, :1]).astype(np.float32)
    for name, make in UNTRAINED_OPTIMIZERS.items():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input(shape=(3,)),
            keras.layers.Dense(4, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="out"),
        ], name=f"untrained_{name}")
        _set_dense_weights(model, 6)
        model.compile(optimizer=make(), loss="mse")
        path = MODELS_DIR / f"untrained_{name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)  # Keras's own reading of the file
        loaded.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        tensors = {"x": x, "y": y}
        for i, weight in enumerate(loaded.get_weights()):
            tensors[f"final/{i}"] = np.ascontiguousarray(weight)
        save_file(tensors, str(MODELS_DIR / f"untrained_{name}.io.safetensors"), metadata={
            "keras_version": keras.__version__, "backend": keras.backend.backend(),
            "optimizer": json.dumps(_jsonable(loaded.optimizer.get_config()))})
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["numerics", "models", "untrained"], default=None,
                        help="make one kind of fixture only")
    parser.add_argument("--check", action="store_true",
                        help="make nothing; replay the numerics fixtures in float64 "
                             "NumPy with the documented formulas and compare")
    args = parser.parse_args(argv)
    if args.check:
        check_numerics()
        return
    if keras.backend.backend() != "torch":
        sys.exit("run with KERAS_BACKEND=torch (the fixtures record the torch backend)")
    torch.set_num_threads(1)  # single-threaded reductions: the same bits every run
    if args.only in (None, "numerics"):
        for case in _cases():
            make_numerics_case(*case)
    if args.only in (None, "models"):
        make_model_files()
    if args.only in (None, "untrained"):
        make_untrained_optimizer_files()


if __name__ == "__main__":
    main()
