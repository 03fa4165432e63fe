"""glassnet's own watch through the stated interface (glassnet._engine.observing).

Truth here is independent: every step's parameters and gradients as a second watcher
reads them (copied at that very step), summarised with np.mean/np.std/np.histogram;
the engine's source and objects, for the attributes that must not be there; and fit
without any watcher, for the training numerics.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet._engine import blas
from glassnet._engine.observing import Ask, Observed, StepWatcher
from glassnet.callbacks import Callback
from glassnet.layers import Dense, Input
from glassnet.track import init

ENGINE = Path(gn.__file__).parent
WATCHER_ATTRIBUTES = ("profile_layers", "last_step_timing", "last_batch_loss",
                      "last_update_seconds", "reads_gradients")


class Copies(Callback):
    """A second watcher: copies parameters and gradients at the steps in ``steps``."""

    def __init__(self, steps):
        super().__init__()
        self.steps, self.kept, self.step = set(steps), {}, 0

    def observe_begin(self, observed):
        assert isinstance(observed, Observed)
        return self._ask(0)

    def _ask(self, step):
        return Ask.PARAMETERS | Ask.GRADIENTS if step in self.steps else Ask.NOTHING

    def observe_step(self, step, loss, logs, observed):
        if observed is not None and self.step in self.steps:
            self.kept[self.step] = (
                {p: np.array(a, dtype=np.float64) for p, a in observed.parameters().items()},
                {p: np.array(a, dtype=np.float64) for p, a in observed.gradients().items()})
        self.step += 1
        return self._ask(self.step)


def _model(seed=0, optimizer="adam"):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([Input(shape=(64,)), Dense(25, activation="relu", name="hidden"),
                           Dense(10, activation="softmax", name="out")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def digits():
    x, y = gn.datasets.load_digits()
    x = ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)).astype(np.float32)
    return x[:320], y[:320]


def test_the_watch_and_the_trainer_meet_the_stated_interface(store):
    model = _model()
    run = init("p", store=store)
    assert isinstance(run.watch(), StepWatcher)
    run.finish()
    view = model._get_trainer().view
    assert isinstance(view, Observed)
    assert view.layers() == {"hidden": ["hidden/kernel", "hidden/bias"],
                             "out": ["out/kernel", "out/bias"]}
    flat = view.flat("parameters")  # the parameters dict, flattened in its order
    np.testing.assert_array_equal(
        flat, np.concatenate([a.ravel() for a in view.parameters().values()]))
    assert view.flat("update") is None  # nothing kept: no step asked for it


def test_recorded_statistics_equal_numpy_at_the_same_steps(store, digits):
    x, y = digits
    run = init("stats", store=store)
    log_freq = 3
    logged = range(0, 20, log_freq)  # 320 / 32 = 10 steps an epoch, 2 epochs
    copies = Copies(list(logged) + [s - 1 for s in logged if s])  # and W before each
    model = _model()
    model.fit(x, y, epochs=2, batch_size=32, verbose=0,
              callbacks=[run.watch(log_freq=log_freq), copies])
    run.finish()
    assert [r["step"] for r in store.param_stats(run.id, "hidden/kernel")] == list(logged)
    for record in store.param_stats(run.id):
        step, path = record["step"], record["path"]
        values, grads = (kept[path] for kept in copies.kept[step])
        assert record["count"] == values.size
        np.testing.assert_allclose(
            [record[k] for k in ("mean", "std", "min", "max", "l2", "neg_share")],
            [values.mean(), np.std(values), values.min(), values.max(),
             np.linalg.norm(values), np.mean(values < 0)], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            [record[k] for k in ("grad_mean", "grad_std", "grad_l2")],
            [grads.mean(), np.std(grads), np.linalg.norm(grads)], rtol=1e-9, atol=1e-15)
        counts, edges = record["histogram"]
        expected, expected_edges = np.histogram(values, bins=64)
        np.testing.assert_array_equal(counts, expected)
        np.testing.assert_allclose(edges, expected_edges, rtol=1e-12)
        if step:  # ΔW: the values against those the copier kept one step before
            before = copies.kept[step - 1][0][path]
            assert record["update_ratio"] == pytest.approx(
                np.linalg.norm(values - before) / np.linalg.norm(values), rel=1e-6)


@pytest.mark.parametrize("name", WATCHER_ATTRIBUTES)
def test_the_engine_has_no_attribute_for_watchers(name, digits):
    x, y = digits
    model = _model()
    model.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)
    functional_input = gn.Input(shape=(3,))
    functional = gn.Model(functional_input, Dense(2)(functional_input))
    for thing in (model, functional, model._get_trainer(), model.layers[0],
                  gn.callbacks.Callback(), gn.callbacks.History()):
        assert not hasattr(thing, name), (type(thing).__name__, name)
    for folder in ("models", "layers", "_engine"):
        for source in (ENGINE / folder).glob("*.py"):
            assert not re.search(rf"\b{name}\b", source.read_text()), (source.name, name)
    assert not re.search(rf"\b{name}\b", (ENGINE / "callbacks.py").read_text())


class CountsFusedSteps:
    """Which steps of fit ran plain SGD fused into the products (blas.matmul_add)."""

    def __init__(self, monkeypatch, watcher):
        self.fused_steps, self.watcher = set(), watcher
        original = blas.matmul_add

        def counting(*args):
            self.fused_steps.add(watcher.step)
            return original(*args)
        monkeypatch.setattr(blas, "matmul_add", counting)


class AsksGradientsAt(Callback):
    """A watcher reading gradients at the steps in ``steps`` only."""

    def __init__(self, steps):
        super().__init__()
        self.steps, self.step, self.seen = set(steps), 0, {}

    def observe_begin(self, observed):
        return Ask.GRADIENTS if 0 in self.steps else Ask.NOTHING

    def observe_step(self, step, loss, logs, observed):
        if observed is not None:
            self.seen[self.step] = observed.gradients()["hidden/kernel"].copy()
        self.step += 1
        return Ask.GRADIENTS if self.step in self.steps else Ask.NOTHING


def test_fused_sgd_is_off_exactly_on_the_steps_whose_gradients_are_asked_for(
        digits, monkeypatch, float64):
    x, y = digits
    monkeypatch.setattr(blas, "FUSED_SGD_MIN_PARAMS", 0)
    asked = {0, 3, 4, 7}
    watcher = AsksGradientsAt(asked)
    counter = CountsFusedSteps(monkeypatch, watcher)
    model = _model(optimizer=gn.optimizers.SGD(0.1))
    reference = _model(optimizer=gn.optimizers.SGD(0.1))
    reference.set_weights(model.get_weights())
    model.fit(x[:320], y[:320], epochs=1, batch_size=32, verbose=0, shuffle=False,
              callbacks=[watcher])
    # each epoch's last step (9) runs unfused as well
    assert counter.fused_steps == set(range(10)) - asked - {9}
    # the gradients offered are those of the step; the weights those of plain SGD
    by_hand = _trained_by_hand(reference, x, y, 10, 0.1)
    assert sorted(watcher.seen) == sorted(asked)
    for step in asked:
        np.testing.assert_allclose(watcher.seen[step], by_hand[step], rtol=1e-10, atol=1e-13)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def _trained_by_hand(model, x, y, steps, rate):
    """``steps`` steps of w -= rate * g on consecutive batches of 32; each step's
    gradient of the hidden kernel (through inspect.gradients, not fit)."""
    kernel_grads = []
    for step in range(steps):
        grads = gn.inspect.gradients(model, x[32 * step:32 * step + 32],
                                     y[32 * step:32 * step + 32])
        kernel_grads.append(grads["hidden/kernel"])
        model.set_weights([v.value - rate * grads[v.path] for v in model.trainable_variables])
    return kernel_grads


def test_a_watch_that_reads_no_gradients_leaves_training_unchanged(store, digits,
                                                                   monkeypatch):
    x, y = digits
    monkeypatch.setattr(blas, "FUSED_SGD_MIN_PARAMS", 0)
    runs = []
    for watched in (False, True):
        model = _model(seed=4, optimizer=gn.optimizers.SGD(0.05))
        callbacks = []
        if watched:
            run = init("same", store=store)
            callbacks = [run.watch(log_freq=1000, snapshots=None)]  # logs step 0 only
        gn.utils.set_random_seed(11)
        model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=callbacks)
        runs.append(model.get_weights())
        if watched:
            run.finish()
            assert [r["step"] for r in store.param_stats(run.id, "out/bias")] == [0]
    # Step 0 runs unfused under the watch (its gradients are logged): w -= lr * g
    # inside the GEMM and after it may round apart in float32's last bit (OpenBLAS
    # 0.3.31's Haswell kernels do); every other step is the same fused step.
    for a, b in zip(*runs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
