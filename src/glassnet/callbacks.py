"""Callbacks: code that runs at points of ``fit`` (Keras's hooks and classes).

``fit`` calls only the hooks a callback overrides, so a callback list without
per-batch hooks costs nothing per batch.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from glassnet.errors import ConfigError

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end")


class Callback:
    """Base class. ``self.model`` is set by ``fit``; ``self.params`` holds epochs, steps.

    A callback that reads each step's gradients is a watcher instead
    (:mod:`glassnet._engine.observing`): it asks for them at the steps it reads them,
    and ``fit`` offers them there. Elsewhere plain SGD may be applied inside the
    gradient products (see ``glassnet._engine.blas``), leaving ``Variable.grad``
    unwritten, except at each epoch's last batch.
    """

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def implements(self, hook: str) -> bool:
        """Whether this callback does something at ``hook`` (the base hooks do nothing)."""
        return getattr(type(self), hook, None) is not getattr(Callback, hook, None)

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...


class CallbackList:
    """Dispatches each hook to the callbacks that implement it."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        self._by_hook = {hook: [getattr(c, hook) for c in self.callbacks if c.implements(hook)]
                         for hook in _HOOKS}
        self.wants_batch_end = bool(self._by_hook["on_train_batch_end"])
        self.wants_batch_begin = bool(self._by_hook["on_train_batch_begin"])

    def call(self, hook: str, *args) -> None:
        for method in self._by_hook[hook]:
            method(*args)


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is one float per epoch."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def _repr_html_(self) -> str:  # the loss chart and final values (glassnet.report.display)
        from glassnet.report.display import history_html
        return history_html(self)

    def _repr_markdown_(self) -> str:
        from glassnet.report.display import history_markdown
        return history_markdown(self)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython in a terminal
        from glassnet.report.display import history_text
        printer.text(history_text(self))


def _monitor_op(mode: str, monitor: str):
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "max" or (mode == "auto" and any(k in monitor for k in ("acc", "auc", "precision",
                                                                        "recall"))):
        return np.greater
    return np.less


def _warn_missing(callback, logs, what: str) -> None:
    """Warn, once per fit, that ``callback.monitor`` is not in the logs (Keras's words)."""
    if getattr(callback, "_warned_missing", False):
        return
    callback._warned_missing = True
    import warnings

    available = ", ".join(logs) or "none"
    hint = (" (val_ metrics need validation_data or validation_split)"
            if callback.monitor.startswith("val_") and not any(k.startswith("val_")
                                                                for k in logs) else "")
    warnings.warn(f"{what} conditioned on metric `{callback.monitor}` which is not "
                  f"available. Available metrics are: {available}{hint}", stacklevel=3)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` stops improving for ``patience`` epochs.

    With ``restore_best_weights=True`` the best epoch's weights are restored when
    training ends, whether it stopped early or ran out of epochs.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if patience < 0:
            raise ConfigError(f"EarlyStopping patience must be >= 0, got {patience!r}")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.monitor_op = _monitor_op(mode, monitor)
        self.min_delta = abs(min_delta) if self.monitor_op is np.greater else -abs(min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf
        self.best_weights = None
        self.best_epoch = 0
        self._warned_missing = False

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            _warn_missing(self, logs or {}, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _improved(self, value, reference):
        return bool(self.monitor_op(value - self.min_delta, reference))

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after epochs, optionally only when it improves.

    ``filepath`` may hold format fields: ``"ckpt-{epoch:02d}-{val_loss:.3f}.glassnet"``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch"):
        super().__init__()
        if save_freq != "epoch":
            raise ConfigError(f"ModelCheckpoint save_freq must be 'epoch', got {save_freq!r}")
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.monitor_op = _monitor_op(mode, monitor)
        self.best = np.inf if self.monitor_op is np.less else -np.inf

    def on_train_begin(self, logs=None):
        self._warned_missing = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise ConfigError(f"ModelCheckpoint filepath {self.filepath!r} names "
                              f"{{{exc.args[0]}}}, which is not in this epoch's logs; "
                              f"available: epoch, {', '.join(logs) or 'none'}") from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                _warn_missing(self, logs, "Saving the best model")
            if current is None or not self.monitor_op(current, self.best):
                return
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        unknown = set(given) - set(_HOOKS)
        if unknown:
            raise ConfigError(f"LambdaCallback got unknown hook(s): {', '.join(sorted(unknown))}")
        self._functions = {hook: fn for hook, fn in given.items() if fn is not None}
        for hook, fn in self._functions.items():
            setattr(self, hook, fn)

    def implements(self, hook):
        return hook in self._functions


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor!r}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.verbose, self.min_delta = verbose, float(min_delta)
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.monitor_op = _monitor_op(mode, monitor)

    def on_train_begin(self, logs=None):
        self.wait = self.cooldown_counter = 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf
        self._warned_missing = False

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            _warn_missing(self, logs or {}, "Learning rate reduction")
            return
        # Improvement means beating the best by more than min_delta, in the monitored direction.
        margin = -self.min_delta if self.monitor_op is np.less else self.min_delta
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best + margin):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                optimizer = self.model.optimizer
                old = optimizer.learning_rate
                if old > self.min_lr:
                    optimizer.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {optimizer.learning_rate:g}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ProgbarLogger(Callback):
    """The Keras-style progress bar that ``fit(verbose=1)`` prints (one line per epoch at 2)."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self._last_draw = time.perf_counter()
        self.steps = self.params.get("steps", 0)
        if self.verbose == 1:
            self.stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs')}\n")

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose != 1:
            return
        now = time.perf_counter()
        if now - self._last_draw < 0.05 and batch + 1 < self.steps:
            return  # redraw at most 20 times a second: the bar must not slow training
        self._last_draw = now
        self.stream.write("\r" + self._line(batch + 1, now, logs or {}))
        self.stream.flush()

    def _line(self, done, now, logs):
        width = 20
        filled = int(width * done / max(self.steps, 1))
        bar = "━" * filled + "╸" * (filled < width) + " " * max(width - filled - 1, 0)
        elapsed = now - self.epoch_start
        per_step = elapsed / max(done, 1)
        metrics = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        return (f"{done:>{len(str(self.steps))}}/{self.steps} {bar} {elapsed:.0f}s "
                f"{time_per_step(per_step)} - {metrics}")

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        line = self._line(self.steps, now, logs or {})
        if self.verbose == 1:
            self.stream.write("\r" + line + "\n")
        else:
            self.stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs')} - " +
                              line.split(" ", 2)[2] + "\n")
        self.stream.flush()


def time_per_step(seconds: float) -> str:
    """``2s/step``, ``15ms/step`` or ``850us/step``: Keras's Progbar units, never ``0ms``."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "TerminateOnNaN"]
