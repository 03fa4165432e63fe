"""The guided demos behind ``glassnet demo``: each trains something small and explains it.

Every demo hands what it shows to ``emit`` one item at a time (a line of text or a
:class:`~glassnet._engine.table.Table`), so the command prints them with rich and tests
collect them; each returns a dict of the numbers it found (accuracy, run ids...).

- :func:`digits_demo`: the 64-25-15-10 digits network, recorded, with every table.
- :func:`lab_demo`: the course lab: one linear unit, one sigmoid unit, the arithmetic.
- :func:`activations_demo`: the digits network with sigmoid, tanh and relu, side by side.
- :func:`imbalanced_demo`: starting the output bias at the prior's log-odds on fraud data.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import datasets
from glassnet._engine.table import Table
from glassnet.apps.train_job import build_model, compile_for_task
from glassnet.layers import Dense, Input
from glassnet.models import Sequential
from glassnet.utils import clear_session, set_random_seed

DIGITS_HIDDEN = (25, 15)
DIGITS_EPOCHS = 30
DEMO_EPOCH_STEP = 5
SEED = 0


def stratified_split(y, test_size: float = 0.2, seed: int = SEED):
    """``(train_index, test_index)``: ``test_size`` of each class to the test side, shuffled."""
    y = np.asarray(y).reshape(-1)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        index = np.flatnonzero(y == label)
        rng.shuffle(index)
        test.extend(index[:int(round(len(index) * test_size))])
    test = np.sort(np.asarray(test, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(y)), test)
    return rng.permutation(train), test


def _digits_model(activation: str, x_train):
    clear_session()
    set_random_seed(SEED)
    model = build_model(x_train.shape[1], DIGITS_HIDDEN, activation, "classification", 10,
                        x_train=x_train, name="digits-mlp")
    return compile_for_task(model, "classification", "adam", 1e-3)


def _train_digits(activation, split, store, project, name, epochs, callbacks=(),
                  log_freq=10, model_name="digits-mlp"):
    """Train and record one digits network; return (run, model, test loss, test accuracy).

    The model goes into the registry as ``model_name`` (``digits-mlp`` for the main demo).
    """
    from glassnet import track

    x, y = datasets.load_digits()
    train, test = split
    model = _digits_model(activation, x[train])
    config = {"dataset": "digits", "hidden": list(DIGITS_HIDDEN), "activation": activation,
              "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32, "epochs": epochs,
              "seed": SEED, "task": "classification", "standardize": True,
              "split": "stratified 80/20, seed 0", "n_features": 64, "n_outputs": 10,
              "loss": "sparse_categorical_crossentropy"}
    run = track.init(project=project, name=name, config=config, store=store)
    with run:
        run.log_dataset("digits", X=x[train], y=y[train])
        model.fit(x[train], y[train], epochs=epochs, batch_size=32, verbose=0,
                  callbacks=[run.watch(log_freq=log_freq, snapshots="epoch"), *callbacks])
        test_loss, test_accuracy = model.evaluate(x[test], y[test])
        run.log({"test/loss": test_loss, "test/accuracy": test_accuracy})
        run.log_model(model, model_name)
    return run, model, float(test_loss), float(test_accuracy)


def digits_demo(emit, store=None, callbacks=(), store_hint: str = "") -> dict:
    """The main job: train the digits network, record it, show its weights and tables."""
    from glassnet.inspect import describe
    from glassnet.models.summary_table import summary_table

    x, y = datasets.load_digits()
    split = stratified_split(y)
    emit(f"Training a 64-25-15-10 network on {len(split[0])} handwritten digits "
         f"(8x8 pixels, standardised; {len(split[1])} held out for the test), "
         f"Adam, batch 32, {DIGITS_EPOCHS} epochs, seed {SEED}.")
    run, model, _, accuracy = _train_digits("relu", split, store, "digits", "demo",
                                            DIGITS_EPOCHS, callbacks)
    emit(f"Recorded run {run.id} ({run.name}) in {run.store.root}")
    emit(summary_table(model))
    emit(describe(model))
    emit_run_tables(emit, run.id, run.store, epoch_step=DEMO_EPOCH_STEP)
    emit_findings(emit, model, x[split[0]], y[split[0]])
    emit(f"test accuracy: {accuracy * 100:.1f}%")
    emit(next_commands(run.id, store_hint))
    return {"run_id": run.id, "test_accuracy": accuracy, "model": model}


def emit_run_tables(emit, run_ids, store, epoch_step: int | None = None) -> None:
    """The ten report tables of recorded runs, each with its title.

    With ``epoch_step``, tables with a row per epoch keep every ``epoch_step``-th epoch
    and the last (the demo's 30 epochs x 3 layers would be 90 rows each). The loss
    table is already a sample of the steps: filtering it again would leave a few rows.
    """
    from glassnet.report import tables

    for name, table in tables(run_ids, store).items():
        emit(every_nth_epoch(table, epoch_step) if epoch_step and name != "loss" else table)


def every_nth_epoch(table: Table, step: int) -> Table:
    """The rows of epochs 0, step, 2*step... and the last epoch; other tables unchanged."""
    if "epoch" not in table.columns:
        return table
    epochs = table["epoch"]
    last = max((e for e in epochs if e is not None), default=None)
    keep = [row for row, epoch in zip(table.rows, epochs, strict=True)
            if epoch is None or epoch % step == 0 or epoch == last]
    if len(keep) == len(table.rows):
        return table
    return Table(table.columns, keep, title=table.title,
                 notes=[*table.notes, f"every {step}th epoch and the last shown here; "
                                      f"`glassnet report` prints them all"])


def emit_findings(emit, model, x, y) -> None:
    """Each finding of ``gn.inspect.diagnose`` as one line, or that there were none."""
    from glassnet.inspect import diagnose

    findings = diagnose(model, x, y)
    if not findings:
        emit("diagnostics: no problems found")
    for finding in findings:
        emit(f"diagnostic: {finding}")


def next_commands(run_id: str, store_hint: str = "") -> str:
    """The commands to try after the demo, with the real run id (and --store when given)."""
    s = f" --store {store_hint}" if store_hint else ""
    commands = [
        (f"glassnet runs{s}", "the runs recorded so far"),
        (f"glassnet show {run_id}{s}", "config, summary, weights and biases"),
        (f"glassnet report {run_id} --format markdown{s}", "the ten tables as Markdown"),
        (f"glassnet diagnose {run_id}{s}", "what may be wrong with the weights"),
        (f"glassnet demo activations{s}", "sigmoid vs tanh vs relu"),
        (f"glassnet ui{s}", "the dashboard in your browser"),
    ]
    width = max(len(c) for c, _ in commands) + 3
    return "\n".join(["Next, try:"] + [f"  {c.ljust(width)}{what}" for c, what in commands])


# -- the course lab ------------------------------------------------------------------------
def lab_demo(emit, epochs: int = 1000) -> dict:
    """A linear unit, known weights, its predictions; a sigmoid unit; a fit that finds w, b."""
    x_train, y_train = datasets.load_house_prices()
    clear_session()
    set_random_seed(SEED)
    emit("A linear unit: f(x) = w·x + b  (house size in 1000 sqft -> price in $1000s)")
    linear = Dense(units=1, activation="linear")
    first = linear(x_train[0:1])
    w, b = linear.get_weights()
    emit(f"built on its first call: kernel {w.shape} = {w.ravel()[0]:.4f} (random), "
         f"bias {b.shape} = {b[0]:.4f}; output for x = 1.0: {first[0, 0]:.4f}")
    linear.set_weights([np.array([[200.0]]), np.array([100.0])])
    emit("set_weights([[200]], [100]) -> w = 200, b = 100")
    predictions = linear(x_train)
    for xi, pi, yi in zip(x_train[:, 0], predictions[:, 0], y_train[:, 0], strict=True):
        emit(f"  x = {xi:g}: z = w·x + b = 200 × {xi:g} + 100 = {pi:g}   (target {yi:g})")
    _emit_trace(emit, Sequential([Input(shape=(1,)), linear]), x_train[0:1])

    emit("A sigmoid unit: g(z) = 1 / (1 + e^(−z)), z = w·x + b")
    clear_session()
    unit = Sequential([Dense(1, input_dim=1, activation="sigmoid", name="L1")])
    unit.get_layer("L1").set_weights([np.array([[2.0]]), np.array([-4.5])])
    emit("set_weights([[2]], [-4.5])")
    probs = unit.predict(np.array([[0.0], [5.0]]), verbose=0)
    for xi, p in zip((0.0, 5.0), probs[:, 0], strict=True):
        z = 2.0 * xi - 4.5
        emit(f"  x = {xi:g}: z = 2 × {xi:g} − 4.5 = {z:g};  g(z) = 1 / (1 + e^{-z:g}) = {p:.4f}")
    _emit_trace(emit, unit, np.array([[0.0]]))

    emit(f"A fit that recovers w and b: SGD on the two houses, {epochs} full-batch epochs")
    clear_session()
    set_random_seed(SEED)
    learner = Sequential([Dense(1, input_dim=1, activation="linear", name="house")])
    learner.compile(optimizer="sgd", loss="mse")
    learner.optimizer.learning_rate = 0.1
    history = learner.fit(x_train, y_train, epochs=epochs, batch_size=2, verbose=0)
    w_fit, b_fit = (float(v.ravel()[0]) for v in learner.get_weights())
    emit(f"learned w = {w_fit:.2f}, b = {b_fit:.2f} (the data's line: w = 200, b = 100); "
         f"final loss {history.history['loss'][-1]:.3g}")
    return {"first_output": float(first[0, 0]), "predictions": predictions[:, 0].tolist(),
            "sigmoid": probs[:, 0].tolist(), "w": w_fit, "b": b_fit}


def _emit_trace(emit, model, x_one) -> None:
    from glassnet.inspect import trace

    emit(trace(model, x_one))


# -- activations side by side --------------------------------------------------------------
def activations_demo(emit, store=None, epochs: int = DIGITS_EPOCHS, callbacks=()) -> dict:
    """The digits network with sigmoid, tanh and relu hidden units: one recorded run each."""
    x, y = datasets.load_digits()
    split = stratified_split(y)
    rows, run_ids = [], []
    for activation in ("sigmoid", "tanh", "relu"):
        emit(f"Training with {activation} hidden units ({epochs} epochs)...")
        run, _, loss, accuracy = _train_digits(activation, split, store, "digits-activations",
                                               activation, epochs, callbacks,
                                               model_name=f"digits-{activation}")
        run_ids.append(run.id)
        rows.append((activation, run.id, loss, accuracy))
    table = Table(["activation", "run", "test loss", "test accuracy"], rows,
                  title="Test results by hidden activation (same data, seed and optimizer)")
    emit(table)
    from glassnet.report import tables

    emit(tables(run_ids, run.store)["activations"])
    return {"run_ids": run_ids, "results": table}


# -- an imbalanced problem -----------------------------------------------------------------
def imbalanced_demo(emit, store=None, epochs: int = 5) -> dict:
    """Output bias at 0 vs at log(p / (1 - p)) on fraud-like data: loss, recall, precision."""
    from glassnet import track

    x, y = datasets.load_fraud()
    train, test = stratified_split(y)
    y_train = y[train].reshape(-1, 1).astype(np.float32)
    p = float(y_train.mean())
    log_odds = math.log(p / (1.0 - p))
    emit(f"Fraud-like data: {len(y)} transactions, {int(y.sum())} fraudulent "
         f"(p = {p:.4f} in the training part).")
    emit(f"Starting bias: b = log(p / (1 − p)) = log({p:.4f} / {1 - p:.4f}) = {log_odds:.4f},"
         f" so the untrained network already predicts sigmoid(b) = p for every transaction.")
    rows, results = [], {}
    for label, bias in (("zero", 0.0), ("log-odds", log_odds)):
        clear_session()
        set_random_seed(SEED)
        model = build_model(x.shape[1], (16,), "relu", "binary", 1, x_train=x[train],
                            name="fraud-mlp")
        compile_for_task(model, "binary", "adam", 1e-3)
        output = model.get_layer("output")
        output.bias.assign(np.array([bias]))
        initial_loss = float(model.evaluate(x[train], y_train)[0])
        run = track.init(project="fraud", name=f"bias-{label}", store=store,
                         config={"dataset": "fraud", "hidden": [16], "activation": "relu",
                                 "optimizer": "adam", "epochs": epochs, "batch_size": 32,
                                 "output_bias_init": bias, "seed": SEED})
        with run:
            # logged so that `glassnet diagnose RUN` finds the data the run trained on
            run.log_dataset("fraud", X=x[train], y=y_train)
            model.fit(x[train], y_train, epochs=epochs, batch_size=32, verbose=0,
                      callbacks=[run.watch(log_freq=50, snapshots="end")])
        predicted = model.predict(x[test], verbose=0)[:, 0] >= 0.5
        actual = y[test] == 1
        tp = int(np.sum(predicted & actual))
        recall = tp / max(int(actual.sum()), 1)
        precision = tp / int(predicted.sum()) if predicted.any() else float("nan")
        rows.append((label, bias, initial_loss, float(output.bias.numpy()[0]), recall,
                     precision, run.id))
        results[label] = {"initial_loss": initial_loss, "recall": recall,
                          "precision": precision, "run_id": run.id}
    emit(Table(["output bias start", "bias before", "loss before training", "bias after",
                "test recall", "test precision", "run"], rows,
               title=f"Output bias before and after {epochs} epochs (threshold 0.5)",
               notes=[f"A loss of {-(p * math.log(p) + (1 - p) * math.log(1 - p)):.4f} is what "
                      "predicting p for everyone costs; starting there skips the first "
                      "epochs spent only learning the base rate."]))
    return {"p": p, "log_odds": log_odds, **results}


__all__ = ["activations_demo", "digits_demo", "imbalanced_demo", "lab_demo", "next_commands",
           "stratified_split"]
