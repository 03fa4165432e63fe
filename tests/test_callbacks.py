"""Callbacks: History, EarlyStopping (and restoring the best weights), ModelCheckpoint,
TerminateOnNaN, ReduceLROnPlateau, LambdaCallback."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet._engine.nonfinite import NonFiniteLossWarning
from glassnet.callbacks import (
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from glassnet.layers import Dense, Input

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 3))
Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


def _model(lr=0.05):
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="tanh"), Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=lr), loss="mse")
    return model


def _scripted(name, values):
    """A callback that writes values[epoch] into the epoch logs under ``name``."""
    def write(epoch, logs):
        logs[name] = values[epoch]
    return LambdaCallback(on_epoch_end=write)


def test_history_holds_one_loss_per_epoch_equal_to_the_loss_at_the_epoch_start(float64):
    # With one full batch per epoch, an epoch's loss is the loss of the weights it began with.
    model = _model()
    start_weights = []
    begin = LambdaCallback(on_epoch_begin=lambda epoch, logs: start_weights.append(
        model.get_weights()))
    history = model.fit(X, Y, epochs=4, batch_size=16, verbose=0, callbacks=[begin])
    assert history.epoch == [0, 1, 2, 3]
    twin = _model()
    for epoch, weights in enumerate(start_weights):
        twin.set_weights(weights)
        expected = float(np.mean((twin.predict(X) - Y) ** 2))
        assert history.history["loss"][epoch] == pytest.approx(expected, rel=1e-12)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.history is history


def _fit_with_score(model, scores, early, epochs):
    recorded = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: recorded.append(
        model.get_weights()))
    history = model.fit(X, Y, epochs=epochs, batch_size=4, verbose=0,
                        callbacks=[_scripted("score", scores), record, early])
    return history, recorded


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    model = _model()
    early = EarlyStopping(monitor="score", patience=2, mode="min")
    history, _ = _fit_with_score(model, [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 3.9], early, 8)
    # Best at epoch 2; epochs 3 and 4 do not improve; stop at the end of epoch 4.
    assert len(history.history["loss"]) == 5
    assert early.stopped_epoch == 4 and early.best == 3.0


def test_early_stopping_restores_the_best_weights_when_it_stops():
    model = _model()
    early = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    _, recorded = _fit_with_score(model, [5.0, 4.0, 3.0, 3.5, 3.6, 3.7], early, 6)
    for now, best in zip(model.get_weights(), recorded[2], strict=True):
        np.testing.assert_array_equal(now, best)
    assert not np.array_equal(recorded[2][0], recorded[4][0])


def test_early_stopping_restores_the_best_weights_when_epochs_run_out():
    model = _model()
    early = EarlyStopping(monitor="score", patience=10, restore_best_weights=True)
    history, recorded = _fit_with_score(model, [3.0, 2.0, 1.0, 2.0, 3.0], early, 5)
    assert len(history.history["loss"]) == 5 and early.stopped_epoch == 0
    for now, best in zip(model.get_weights(), recorded[2], strict=True):
        np.testing.assert_array_equal(now, best)


def test_early_stopping_on_accuracy_maximises():
    model = _model()
    early = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    recorded = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: recorded.append(
        model.get_weights()))
    model.fit(X, Y, epochs=4, verbose=0,
              callbacks=[_scripted("val_accuracy", [0.5, 0.9, 0.7, 0.6]), record, early])
    for now, best in zip(model.get_weights(), recorded[1], strict=True):
        np.testing.assert_array_equal(now, best)


def test_early_stopping_on_real_val_loss_keeps_the_minimum():
    model = _model(lr=0.5)  # large steps: val_loss goes up and down
    losses, recorded = [], []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: (
        losses.append(logs["val_loss"]), recorded.append(model.get_weights())))
    early = EarlyStopping(patience=100, restore_best_weights=True)
    model.fit(X[:12], Y[:12], validation_data=(X[12:], Y[12:]), epochs=6, verbose=0,
              callbacks=[record, early])
    best = int(np.argmin(losses))
    for now, then in zip(model.get_weights(), recorded[best], strict=True):
        np.testing.assert_array_equal(now, then)


def test_model_checkpoint_writes_models_that_load_back_equal(tmp_path):
    model = _model()
    saved = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: saved.append(model.get_weights()))
    path = tmp_path / "ckpt-{epoch:02d}.glassnet"
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[record, ModelCheckpoint(path)])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["ckpt-01.glassnet", "ckpt-02.glassnet", "ckpt-03.glassnet"]
    for epoch in (1, 3):
        loaded = gn.models.load_model(tmp_path / f"ckpt-{epoch:02d}.glassnet")
        for a, b in zip(loaded.get_weights(), saved[epoch - 1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_model_checkpoint_best_only_and_weights_only(tmp_path):
    model = _model()
    saved = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: saved.append(model.get_weights()))
    path = tmp_path / "best.weights.safetensors"
    checkpoint = ModelCheckpoint(path, monitor="score", save_best_only=True,
                                 save_weights_only=True)
    model.fit(X, Y, epochs=4, verbose=0,
              callbacks=[_scripted("score", [3.0, 1.0, 2.0, 4.0]), record, checkpoint])
    gn.utils.clear_session()  # the weights file names Variables by path: same layer names
    twin = _model()
    twin.load_weights(path)
    for a, b in zip(twin.get_weights(), saved[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_terminate_on_nan_stops_at_the_first_non_finite_batch_loss(capsys):
    model = gn.Sequential([Input(shape=(3,)), Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=1e30), loss="mse")
    batches = []
    count = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(logs["loss"]))
    with np.errstate(all="ignore"), pytest.warns(  # the divergence is the point of this test
            NonFiniteLossWarning, match=r"the loss became inf at epoch 1, batch \d+: every "
                                        r"layer's activations are finite \(the outputs "
                                        r"reach \S+\): the loss itself overflowed"):
        history = model.fit(X, Y * 1e3, epochs=50, batch_size=2, verbose=0,
                            callbacks=[count, TerminateOnNaN()])
    assert not np.isfinite(batches[-1]) and all(np.isfinite(batches[:-1]))
    assert len(batches) < 50 * 8 and len(history.history["loss"]) == 1
    assert "invalid loss, terminating training" in capsys.readouterr().out


def test_reduce_lr_on_plateau_lowers_the_learning_rate():
    model = _model(lr=0.1)
    rates = []
    reduce = ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, min_lr=0.02)
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: rates.append(
        model.optimizer.learning_rate))
    history = model.fit(X, Y, epochs=8, verbose=0, callbacks=[
        _scripted("score", [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]), reduce, record])
    # No improvement at epochs 1 and 2 -> halve at 2; improvement at 3; halve at 5;
    # then at 7 it would be 0.025 * 0.5 but min_lr keeps it at 0.02.
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.02])
    assert history.history["loss"]  # and training went on
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_lambda_callback_hooks_run_in_order():
    events = []
    model = _model()
    callback = LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: events.append(f"epoch_begin {epoch}"),
        on_train_batch_end=lambda batch, logs: events.append(f"batch {batch}"),
        on_epoch_end=lambda epoch, logs: events.append(f"epoch_end {epoch}"),
        on_train_end=lambda logs: events.append("train_end"))
    model.fit(X[:4], Y[:4], epochs=2, batch_size=2, verbose=0, callbacks=[callback])
    assert events == ["train_begin", "epoch_begin 0", "batch 0", "batch 1", "epoch_end 0",
                      "epoch_begin 1", "batch 0", "batch 1", "epoch_end 1", "train_end"]


def test_custom_callback_can_stop_training():
    class StopAfterTwo(gn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = _model().fit(X, Y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert len(history.history["loss"]) == 2
