"""Train a dense network from a :class:`~glassnet.apps.train_config.TrainConfig`, as a recorded run.

The task picks the output layer and the loss:

- ``binary`` (labels 0/1): one sigmoid unit, binary cross-entropy, accuracy;
- ``classification`` (integer labels 0..k-1, k >= 3): k linear units (logits), sparse
  categorical cross-entropy from logits, accuracy;
- ``regression``: one linear unit, mean squared error, mean absolute error.

With ``task = "auto"`` labels in {0, 1} are binary, other non-negative integer labels
with at most ``MAX_AUTO_CLASSES`` values are classification, anything else regression.
Features are standardised by a Normalization layer adapted on the training rows only,
so the saved model takes raw features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glassnet import datasets, losses, optimizers
from glassnet.apps.train_config import TrainConfig
from glassnet.errors import ConfigError, DataError
from glassnet.layers import Dense, Input, Normalization
from glassnet.models import Sequential
from glassnet.utils import clear_session, set_random_seed

MAX_AUTO_CLASSES = 50
MAX_CLASSES = 1000
BUILT_IN_TASKS = {"digits": "classification", "coffee": "binary", "fraud": "binary",
                  "house_prices": "regression"}


@dataclass
class TrainResult:
    """What one ``train`` call made: the run (finished), the model and its final metrics."""

    run: object
    model: Sequential
    history: dict
    task: str
    metrics: dict


def load_data(config: TrainConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, data set name)`` for the config: a built-in set or the CSV file."""
    if config.dataset is not None:
        x, y = datasets.load(config.dataset)
        return np.asarray(x, np.float32), np.asarray(y), config.dataset
    x, y, _ = datasets.load_csv(config.data, config.target)
    return x, y, Path(config.data).stem


def detect_task(y: np.ndarray, requested: str = "auto", source: str = "target") -> str:
    """The task for labels ``y``: the requested one (checked) or the one the labels imply."""
    y = np.asarray(y).reshape(-1)
    integral = bool(np.all(np.isfinite(y)) and np.all(np.floor(y) == y) and np.all(y >= 0))
    values = np.unique(y) if integral else None
    if requested == "regression":
        return requested
    if requested in ("binary", "classification") and not integral:
        raise DataError(f"{source}: a {requested} task needs integer labels 0..k-1, got "
                        f"values such as {y[np.floor(y) != y][:3].tolist() or y[:3].tolist()}")
    if requested == "binary" and not set(values.tolist()) <= {0, 1}:
        raise DataError(f"{source}: a binary task needs labels 0 and 1, got "
                        f"{values[:10].tolist()}")
    if requested == "classification" and values.max() >= MAX_CLASSES:
        raise DataError(f"{source}: classification labels must be 0..k-1 with k <= "
                        f"{MAX_CLASSES}, got labels up to {values.max():g}")
    if requested == "classification":
        return _check_all_classes(values, source)
    if requested == "binary":
        return requested
    if integral and set(values.tolist()) <= {0, 1}:
        return "binary"
    if integral and len(values) <= MAX_AUTO_CLASSES and values.max() < MAX_AUTO_CLASSES:
        return _check_all_classes(values, source)
    return "regression"


def _check_all_classes(values: np.ndarray, source: str) -> str:
    """Classes are 0..k-1, one output each: labels {3, 7} would train 8 outputs for 2."""
    k = int(values.max()) + 1
    if len(values) < k:
        missing = sorted(set(range(k)) - set(values.astype(int).tolist()))
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise DataError(f"{source}: classification labels must be 0..k-1, got "
                        f"{len(values)} classes "
                        f"({', '.join(f'{v:g}' for v in values[:10])}) that would train "
                        f"{k} outputs, with no sample of class {shown}; map the labels to "
                        f"0..{len(values) - 1} first (np.unique(y, return_inverse=True)), "
                        f"or set task = \"regression\"")
    return "classification"


#: optimizer -> Variables of state it keeps per weight (Adam: m and v)
_OPTIMIZER_SLOTS = {"sgd": 1, "adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1}


def check_memory(config: TrainConfig, n_features: int, n_outputs: int) -> None:
    """Refuse, before allocating anything, a network larger than this machine's memory."""
    import os

    units = [n_features, *config.hidden, n_outputs]
    n_params = sum((a + 1) * b for a, b in zip(units, units[1:]))
    # float32 weights, their gradients, and the optimizer's state, per weight
    copies = 2 + _OPTIMIZER_SLOTS.get(config.optimizer, 2)
    needed = 4 * n_params * copies
    try:
        available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on this platform: cannot tell
        return
    if needed > available:
        raise ConfigError(f"'hidden' = {list(config.hidden)} asks for {n_params:,} weights "
                          f"and biases ({n_features} features in, {n_outputs} out): "
                          f"{_gigabytes(4 * n_params)} as float32, about "
                          f"{_gigabytes(needed)} with gradients and {config.optimizer}'s "
                          f"state, more than this machine's {_gigabytes(available)} of memory")


def _gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def build_model(n_features: int, hidden, activation: str, task: str, n_classes: int,
                x_train: np.ndarray | None = None, name: str | None = None) -> Sequential:
    """Input -> [Normalization adapted on ``x_train``] -> hidden Dense layers -> output."""
    layers = [Input(shape=(n_features,))]
    if x_train is not None:
        norm = Normalization(name="standardize")
        norm.adapt(x_train)
        layers.append(norm)
    layers += [Dense(units, activation=activation) for units in hidden]
    if task == "classification":
        layers.append(Dense(n_classes, activation="linear", name="output"))
    elif task == "binary":
        layers.append(Dense(1, activation="sigmoid", name="output"))
    else:
        layers.append(Dense(1, activation="linear", name="output"))
    return Sequential(layers, name=name)


def compile_for_task(model: Sequential, task: str, optimizer: str, learning_rate: float):
    """Compile with the task's loss and metrics (see the module docstring)."""
    opt = optimizers.get(optimizer)
    opt.learning_rate = learning_rate
    if task == "classification":
        loss, metrics = losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"]
    elif task == "binary":
        loss, metrics = "binary_crossentropy", ["accuracy"]
    else:
        loss, metrics = "mse", ["mae"]
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    return model


def registry_name(project: str) -> str:
    """The registry name ``glassnet train`` gives its models: ``<project>-train``."""
    return f"{project}-train"


def train(config: TrainConfig, store=None, callbacks=(), verbose=0) -> TrainResult:
    """Load the data, build and compile the network, fit it while recording a run.

    The data is shuffled once with ``config.seed`` so that ``validation_split`` (the
    last fraction, as in Keras) is a random sample. The run records the config, the
    data set, per-step metrics, weight statistics, a snapshot per epoch and the model
    (registry name ``<project>-train``, apart from the demo's ``digits-mlp``).
    """
    from glassnet import track

    x, y, data_name = load_data(config)
    requested = BUILT_IN_TASKS.get(config.dataset, config.task) if config.task == "auto" \
        else config.task
    task = detect_task(y, requested, source=config.target or data_name)
    y = y.astype(np.int64) if task in ("binary", "classification") else y.astype(np.float32)
    if task == "binary":
        y = y.reshape(-1, 1).astype(np.float32)
    n_classes = int(y.max()) + 1 if task == "classification" else 1

    clear_session()  # layer names dense, dense_1...: what recorded.model_for_run rebuilds
    set_random_seed(config.seed)
    order = np.random.default_rng(config.seed).permutation(len(x))
    x, y = x[order], y[order]
    # the engine's split (Keras's): the first floor(n * (1 - split)) rows train
    n_train = int(np.floor(len(x) * (1.0 - config.validation_split)))
    if n_train < 1:
        raise DataError(f"validation_split={config.validation_split} leaves no rows to train "
                        f"on ({len(x)} rows)")
    project = config.project or data_name
    check_memory(config, x.shape[1], n_classes)
    try:
        model = build_model(x.shape[1], config.hidden, config.activation, task, n_classes,
                            x_train=x[:n_train] if config.standardize else None,
                            name=config.name or f"{project}-mlp")
    except MemoryError:
        raise ConfigError(f"'hidden' = {list(config.hidden)}: not enough memory for "
                          f"the weights of this network; use fewer units") from None
    compile_for_task(model, task, config.optimizer, config.learning_rate)

    run_config = {**config.to_dict(), "task": task, "n_samples": int(len(x)),
                  "n_features": int(x.shape[1]), "n_outputs": n_classes,
                  "loss": model.loss.name if hasattr(model.loss, "name") else str(model.loss)}
    run = track.init(project=project, name=config.name, config=run_config, store=store,
                     tags=config.tags)
    with run:
        run.log_dataset(data_name, X=x, y=y)
        history = model.fit(x, y, epochs=config.epochs, batch_size=config.batch_size,
                            validation_split=config.validation_split, verbose=verbose,
                            callbacks=[run.watch(log_freq=config.log_freq, snapshots="epoch"),
                                       *callbacks])
        # its own registry name: training on digits must not move the demo's digits-mlp
        run.log_model(model, registry_name(project))
        if config.save:
            model.save(config.save)
    final = {k: float(v[-1]) for k, v in history.history.items() if len(v)}
    return TrainResult(run=run, model=model, history=history.history, task=task, metrics=final)


__all__ = ["BUILT_IN_TASKS", "MAX_AUTO_CLASSES", "MAX_CLASSES", "TrainResult", "build_model",
           "compile_for_task", "detect_task", "load_data", "registry_name", "train"]
