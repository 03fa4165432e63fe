"""The loop behind ``fit`` (epochs, batches, callbacks, watchers) and ``train_on_batch``.

Everything is checked once, before the loop (``prepare``); each step is one
``Trainer.train_step``. Callbacks get Keras's hooks; a watcher (``observing``) gets
one ``observe_step`` call per step and is offered, at the steps it asks about, what
it asked for.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import random as gnrandom
from glassnet._engine import blas
from glassnet._engine.data_checks import check_fit_options
from glassnet._engine.evaluation import _evaluate_arrays, _weighted_flags
from glassnet._engine.fit_steps import EpochBatches, check_validation_freq, should_validate
from glassnet._engine.observing import Ask, watchers_in
from glassnet._engine.prepare import _check_positive_int, _prepare_data, _prepare_validation
from glassnet.callbacks import CallbackList, History, ProgbarLogger
from glassnet.errors import ConfigError, DataError

_GRADIENTS = int(Ask.GRADIENTS)


@blas.quiet_invalid_flag
def fit(model, x, y, *, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch,
        validation_batch_size, validation_freq):
    model._require_compiled()
    callbacks = check_fit_options(verbose, shuffle, callbacks)
    batch_size = 32 if batch_size is None else batch_size
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(epochs, "epochs", allow_zero=True)
    if not 0.0 <= validation_split < 1.0:
        raise ConfigError(f"validation_split must be in [0, 1), got {validation_split!r}")
    x, y, weights = _prepare_data(model, x, y, sample_weight, class_weight, training=True)
    n = len(x)

    if validation_data is not None:
        val = _prepare_validation(model, validation_data)
    elif validation_split:
        # As Keras: the last fraction of the data, taken before any shuffling.
        split = int(math.floor(n * (1.0 - validation_split)))
        if split == 0 or split == n:
            raise DataError(f"validation_split={validation_split} leaves no data to train or "
                            f"validate on with {n} samples")
        val = (x[split:], y[split:], None if weights is None else weights[split:])
        x, y = x[:split], y[:split]
        weights = None if weights is None else weights[:split]
        n = split
    else:
        val = None
    if n == 0:
        raise DataError("fit needs at least one sample, got an empty x")

    trainer = model._get_trainer()
    _check_positive_int(initial_epoch, "initial_epoch", allow_zero=True)
    check_validation_freq(validation_freq)
    rng = gnrandom.generator()
    batches = EpochBatches(n, batch_size, steps_per_epoch, shuffle, rng)
    steps = batches.steps
    history = History()
    callback_list = [history]
    verbose = 1 if verbose == "auto" else verbose
    if verbose:
        callback_list.append(ProgbarLogger(verbose))
    callback_list.extend(callbacks)
    hooks = CallbackList(callback_list, model,
                         {"epochs": epochs, "steps": steps, "verbose": verbose})
    watchers = watchers_in(hooks.callbacks)
    model.history = history
    model.stop_training = False
    # Fused steps leave Variable.grad unwritten; each epoch's last batch runs unfused, so
    # after fit every grad holds the last batch's gradient, as without fusion; so does
    # every step whose gradients a watcher asks for.
    fuse = trainer.can_fuse_sgd()
    metrics = model.metrics
    weighted = _weighted_flags(model, metrics)
    full = np.arange(n)
    logs: dict = {}
    warned_nonfinite = False
    hooks.call("on_train_begin", logs)
    ask = 0  # what the watchers ask of the next step (Ask flags, as an int: cheaper)
    for watcher in watchers:  # after on_train_begin: a watcher may set itself up there
        ask |= int(watcher.observe_begin(trainer.view))
    optimizer = model.optimizer
    for epoch in range(initial_epoch, epochs):
        hooks.call("on_epoch_begin", epoch, {})
        epoch_steps = batches.epoch()
        last_step = len(epoch_steps) - 1
        for metric in metrics:
            metric.reset_state()
        loss_sum, seen = 0.0, 0
        for step, start, stop, order in epoch_steps:
            if order is not None:
                index = order[start:stop]
                xb = trainer.gather(x, index, "x")
                yb = trainer.gather(y, index, "y")
                wb = None if weights is None else weights[index]
            else:
                xb, yb = x[start:stop], y[start:stop]
                wb = None if weights is None else weights[start:stop]
                index = full[start:stop]
            if hooks.wants_batch_begin:
                hooks.call("on_train_batch_begin", step, {})
            fuse_step = fuse and step != last_step and not ask & _GRADIENTS
            value, output = trainer.train_step(xb, yb, wb, fuse_step, ask)
            if not (warned_nonfinite or math.isfinite(value)):  # free while finite
                from glassnet._engine.nonfinite import warn_nonfinite

                warned_nonfinite = warn_nonfinite(model, value, epoch, step, xb,
                                                  hooks.callbacks)
            size = stop - start
            loss_sum += value * size
            seen += size
            for metric, weigh in zip(metrics, weighted):
                metric.update_state(yb, output, wb if weigh else None)
            batch_logs = None
            if hooks.wants_batch_end or ask:  # metrics as they stand: only when read
                batch_logs = {"loss": loss_sum / seen}
                for metric in metrics:
                    batch_logs[metric.name] = metric.result()
            if watchers:  # the stated interface: one call per watcher per step
                observed = trainer.view if ask else None
                number = optimizer.iterations - 1
                if len(watchers) == 1:
                    ask = int(watchers[0].observe_step(number, value, batch_logs, observed))
                else:
                    ask = 0
                    for watcher in watchers:
                        ask |= int(watcher.observe_step(number, value, batch_logs, observed))
            if hooks.wants_batch_end:
                hooks.call("on_train_batch_end", step, batch_logs)
            if model.stop_training:
                break
        logs = {"loss": loss_sum / max(seen, 1)}
        for metric in metrics:
            logs[metric.name] = metric.result()
        if val is not None and should_validate(epoch, validation_freq):
            val_logs = _evaluate_arrays(model, *val,
                                        batch_size=validation_batch_size or batch_size)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        hooks.call("on_epoch_end", epoch, logs)
        if model.stop_training:
            break
    hooks.call("on_train_end", logs)
    return history


@blas.quiet_invalid_flag
def train_on_batch(model, x, y, sample_weight=None, class_weight=None, return_dict=False):
    x, y, weights = _prepare_data(model, x, y, sample_weight, class_weight, training=True)
    value, output = model._get_trainer().train_step(x, y, weights)
    logs = {"loss": value}
    for metric, weigh in zip(model.metrics, _weighted_flags(model, model.metrics)):
        metric.reset_state()
        metric.update_state(y, output, weights if weigh else None)
        logs[metric.name] = metric.result()
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
