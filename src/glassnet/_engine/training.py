"""The training loop behind ``Sequential.fit``, ``evaluate``, ``predict`` and ``train_on_batch``.

Everything is checked once, before the loop; inside it a step is forward through
the layers (writing into their reused buffers), the loss and its gradient (fused
with a softmax or sigmoid output), backward through the layers, and one optimizer
step over the flat parameter buffer. Batches are gathered with ``np.take(out=)`` into
buffers allocated once per batch size.
"""

from __future__ import annotations

import math
import time

import numpy as np

from glassnet import random as gnrandom
from glassnet._engine import blas
from glassnet._engine.data_checks import (
    as_float_array,
    check_array_like,
    check_features,
    check_finite,
    check_fit_options,
    check_same_length,
    class_weights,
)
from glassnet._engine.fit_steps import EpochBatches, check_validation_freq, should_validate
from glassnet.callbacks import CallbackList, History, ProgbarLogger
from glassnet.errors import ConfigError, DataError


class Trainer:
    """What one model needs to train fast: the backward plan and the batch buffers."""

    def __init__(self, model):
        self.model = model
        layers = model.layers
        self.layers = layers
        trainable_ids = {id(v) for v in model.trainable_variables}
        with_params = [i for i, layer in enumerate(layers)
                       if any(id(v) in trainable_ids for v in layer.weights)]
        # Layers before the first trainable one need no backward pass at all.
        self.first_backward = with_params[0] if with_params else len(layers)
        self.fused = _fused_output(model.loss, layers[-1])
        # As Keras, only trainable weights are penalised: a frozen layer's penalty is a
        # constant that Layer._get_regularization_losses leaves out of the loss.
        self.regularized = [v for v in model.trainable_variables if v.regularizer is not None]
        self.constrained = [v for v in model.trainable_variables if v.constraint is not None]
        self._dz: dict[int, np.ndarray] = {}
        self._gather: dict[tuple, np.ndarray] = {}
        # The backward pass as a fixed list of (layer, need_dx, has_weights), planned once:
        # with a fused output the last Dense (or Activation) is handled by the loss step;
        # has_weights says which layers a fused SGD step passes the rate to.
        last = len(layers) - 1 - (self.fused is not None)
        self._backward_plan = [(layers[i], i > self.first_backward, bool(layers[i].weights))
                               for i in range(last, self.first_backward - 1, -1)]
        self._output_needs_dx = len(layers) - 1 > self.first_backward

    def gather(self, array: np.ndarray, index: np.ndarray, slot: str) -> np.ndarray:
        key = (slot, index.shape[0])
        out = self._gather.get(key)
        if out is None or out.shape[1:] != array.shape[1:] or out.dtype != array.dtype:
            out = self._gather[key] = np.empty((index.shape[0],) + array.shape[1:], array.dtype)
        # mode="clip": take(mode="raise") writes into a temporary and then copies it to
        # out (to leave out untouched on a bad index); fit's indices are a permutation
        # of range(n), always valid, so clip's direct write is the same gather, faster.
        return array.take(index, 0, out, mode="clip")

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=True)
        return x

    def can_fuse_sgd(self, callbacks) -> bool:
        """Whether ``fit``'s steps can be plain SGD applied inside the gradient products.

        That needs NumPy's OpenBLAS (``blas.fusion_available``), an SGD step that is
        ``w -= lr * g`` alone, a model big enough for it to pay, every trainable Variable
        a Dense kernel or bias that no regularizer touches, every Dense in the backward
        pass trainable, and no callback reading ``Variable.grad``.
        """
        model = self.model
        optimizer = model.optimizer
        trainable = model.trainable_variables
        if not (optimizer.fusable()
                and not self.regularized and not model.profile_layers
                and not any(c.reads_gradients for c in callbacks)
                and sum(v.value.size for v in trainable) >= blas.FUSED_SGD_MIN_PARAMS
                and blas.fusion_available()):
            return False
        from glassnet.layers import Dense

        in_plan = [self.layers[-1]] if self.fused == "dense" else []
        in_plan += [layer for layer, _, _ in self._backward_plan]
        fused = {id(v) for layer in in_plan if isinstance(layer, Dense) for v in layer.weights}
        with_weights = [layer for layer in in_plan if layer.weights]
        return (all(isinstance(layer, Dense) for layer in with_weights)
                and fused == {id(v) for v in trainable})

    def loss_and_backward(self, y, sample_weight, output, sgd_rate=None) -> float:
        """Compute the loss of ``output`` and fill every trainable Variable's ``grad``.

        With ``sgd_rate`` (see ``can_fuse_sgd``), apply ``w -= sgd_rate * grad`` instead.
        """
        model = self.model
        profile = model.profile_layers
        grad = self._dz.get(output.shape[0])
        if grad is None or grad.dtype != output.dtype:
            grad = self._dz[output.shape[0]] = np.empty_like(output)
        if self.fused is not None:
            value = model.loss.fused_value_and_grad(y, output, sample_weight, grad)
            if self.fused == "dense":
                layer = self.layers[-1]
                start = time.perf_counter() if profile else 0.0
                grad = layer.backward_from_z(grad, self._output_needs_dx, sgd_rate)
                if profile:
                    model.last_step_timing[layer.name] = time.perf_counter() - start
            # else the output is an Activation layer: dz is its input's gradient
        else:
            value = model.loss.value_and_grad(y, output, sample_weight, grad)
        if profile:
            for layer, need_dx, _ in self._backward_plan:
                start = time.perf_counter()
                grad = layer.backward(grad, need_dx)
                model.last_step_timing[layer.name] = time.perf_counter() - start
        elif sgd_rate is None:
            for layer, need_dx, _ in self._backward_plan:
                grad = layer.backward(grad, need_dx)
        else:
            for layer, need_dx, has_weights in self._backward_plan:
                grad = (layer.backward(grad, need_dx, sgd_rate) if has_weights
                        else layer.backward(grad, need_dx))
        for variable in self.regularized:
            value += variable.regularizer.penalty(variable.value)
        return value

    def apply_update(self) -> None:
        model = self.model
        start = time.perf_counter() if model.profile_layers else 0.0
        model.optimizer.step()
        self.apply_constraints()
        if model.profile_layers:
            model.last_update_seconds = time.perf_counter() - start

    def apply_constraints(self) -> None:
        for variable in self.constrained:
            variable.constraint.apply(variable.value)

    def train_step(self, x, y, sample_weight, fuse_sgd=False) -> tuple[float, np.ndarray]:
        output = self.forward(x)
        if fuse_sgd:
            rate = self.model.optimizer.begin_fused_step()
            value = self.loss_and_backward(y, sample_weight, output, rate)
            self.apply_constraints()
        else:
            value = self.loss_and_backward(y, sample_weight, output)
            self.apply_update()
        return value, output


def _loss_value(loss, y, output, sample_weight) -> float:
    from glassnet.losses import _reduce

    return _reduce(loss.per_sample(y, output), sample_weight)


def _fused_output(loss, last_layer) -> str | None:
    """'dense' or 'activation' when the output activation fuses with the loss, else None."""
    if loss is None or loss.fuses_with is None:
        return None
    activation = getattr(last_layer, "activation_name", None)
    wanted = "linear" if loss.from_logits else loss.fuses_with
    if activation != wanted:
        return None
    if type(last_layer).__name__ == "Dense":
        return "dense"
    return "activation" if wanted != "linear" else None


# -- data preparation ------------------------------------------------------------------
def _prepare_x(model, x, name="x") -> np.ndarray:
    if model.multi_input:  # a functional model: see multi_io
        return model.pack_inputs(x, name)
    dtype = model.weights[0].dtype if model.built and model.weights else _floatx()
    x = as_float_array(x, name, dtype)
    given_shape = x.shape
    if x.ndim == 1:
        # tf.keras expanded 1-D inputs to a column; course code relies on it.
        x = x.reshape(-1, 1)
    if not model.built:
        model.build((None,) + x.shape[1:])
    check_features(x, model.input_shape[1:], f"model {model.name!r}", given_shape)
    return x


def _floatx():
    from glassnet.backend import floatx

    return floatx()


def _prepare_y(model, y, name="y") -> np.ndarray:
    if y is None:
        raise DataError(f"{name} is required to train or evaluate, got None")
    if model.multi_output:  # several arrays laid side by side: see models.multi_output
        return model.loss.prepare_targets(y, name)
    check_array_like(y, name)
    try:
        raw = np.asarray(y)
    except ValueError as exc:
        raise DataError(f"{name} must be a rectangular numeric array: {exc}") from None
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{name} must be numeric, got an array of dtype {raw.dtype}")
    check_finite(raw, name)
    prepared = model.loss.prepare_targets(raw, model.output_shape)
    if prepared.dtype.kind == "f":
        prepared = np.ascontiguousarray(prepared, dtype=model.weights[0].dtype)
    return prepared


def _prepare_sample_weight(sample_weight, class_weight, y, n,
                           n_classes=2) -> np.ndarray | None:
    weights = None
    if sample_weight is not None:
        weights = as_float_array(sample_weight, "sample_weight", np.float64).reshape(-1)
        if weights.shape[0] != n:
            raise DataError(f"sample_weight must have one weight per sample: expected {n}, "
                            f"got {weights.shape[0]}")
        if (weights < 0).any():
            raise DataError("sample_weight must be >= 0")
    if class_weight:
        per_class = class_weights(class_weight, y, n_classes)
        weights = per_class if weights is None else weights * per_class
    return weights


def _prepare_data(model, x, y, sample_weight, class_weight, training: bool):
    """Check and convert (x, y, weights) once, before any loop; build what training needs."""
    model._require_compiled()
    x = _prepare_x(model, x)
    if training:
        model._flatten_variables()
    if not model.metrics and model._metric_specs:
        model._resolve_metrics()
    y = _prepare_y(model, y)
    n = check_same_length(x=x, y=y)
    if model.multi_output:
        if class_weight:  # as Keras: which output's classes would it weigh?
            raise ConfigError(f"class_weight is only supported for models with one output; "
                              f"model {model.name!r} has {len(model.outputs)}")
        return x, y, _prepare_sample_weight(sample_weight, None, y, n)
    n_classes = max(2, model.output_shape[-1])  # one sigmoid unit: classes 0 and 1
    return x, y, _prepare_sample_weight(sample_weight, class_weight, y, n, n_classes)


def _check_positive_int(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            value < (0 if allow_zero else 1):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ConfigError(f"{name} must be {kind} int, got {value!r}")


# -- fit ---------------------------------------------------------------------------------
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
    model.history = history
    model.stop_training = False
    # Fused steps leave Variable.grad unwritten; each epoch's last batch runs unfused, so
    # after fit every grad holds the last batch's gradient, as without fusion.
    fuse = trainer.can_fuse_sgd(hooks.callbacks)
    metrics = model.metrics
    weighted = _weighted_flags(model, metrics)
    full = np.arange(n)
    logs: dict = {}
    warned_nonfinite = False

    hooks.call("on_train_begin", logs)
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
            value, output = trainer.train_step(xb, yb, wb, fuse and step != last_step)
            model.last_batch_loss = value
            if not (warned_nonfinite or math.isfinite(value)):  # free while finite
                from glassnet._engine.nonfinite import warn_nonfinite

                warned_nonfinite = warn_nonfinite(model, value, epoch, step, xb,
                                                  hooks.callbacks)
            size = stop - start
            loss_sum += value * size
            seen += size
            for metric, weigh in zip(metrics, weighted):
                metric.update_state(yb, output, wb if weigh else None)
            if hooks.wants_batch_end:
                batch_logs = {"loss": loss_sum / seen}
                for metric in metrics:
                    batch_logs[metric.name] = metric.result()
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


def _weighted_flags(model, metrics) -> list[bool]:
    """Which metrics take the sample (and class) weights (the model says)."""
    return model.weighted_metric_flags(metrics)


def _prepare_validation(model, validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise DataError("validation_data must be a tuple (x_val, y_val) or "
                        "(x_val, y_val, sample_weight)")
    x_val = _prepare_x(model, validation_data[0], "validation x")
    y_val = _prepare_y(model, validation_data[1], "validation y")
    n = check_same_length(**{"validation x": x_val, "validation y": y_val})
    w_val = None
    if len(validation_data) == 3 and validation_data[2] is not None:
        w_val = _prepare_sample_weight(validation_data[2], None, y_val, n)
    return x_val, y_val, w_val


# -- evaluate / predict -----------------------------------------------------------------
def _forward_inference(model, x: np.ndarray, reuse_buffers: bool = False) -> np.ndarray:
    """Inference through every layer; with ``reuse_buffers`` the result is only valid
    until the next call with the same batch size (the caller copies it out)."""
    if not model.is_chain:  # a branched functional model
        return model.infer(x)
    for layer in model.layers:
        forward_reusing = getattr(layer, "forward_reusing", None) if reuse_buffers else None
        x = forward_reusing(x) if forward_reusing else layer.forward(x, training=False)
    return x


@blas.quiet_invalid_flag
def predict(model, x, batch_size=None) -> np.ndarray:
    x = _prepare_x(model, x)
    if batch_size is None:
        batch_size = 32
    _check_positive_int(batch_size, "batch_size")
    n = x.shape[0]
    out_shape = model.packed_output_shape
    if n == 0:
        return np.empty((0,) + tuple(out_shape[1:]), dtype=x.dtype)
    if n <= batch_size:
        out = _forward_inference(model, x)
        # Layers without weights (Flatten, Dropout at inference) pass views through.
        return out.copy() if np.shares_memory(out, x) else out
    out = np.empty((n,) + tuple(out_shape[1:]), dtype=x.dtype)
    for start in range(0, n, batch_size):
        out[start:start + batch_size] = _forward_inference(model, x[start:start + batch_size],
                                                           reuse_buffers=True)
    return out


def _evaluate_arrays(model, x, y, weights, batch_size) -> dict:
    metrics = model.fresh_metrics()
    weighted = _weighted_flags(model, metrics)
    for metric in metrics:  # a metric object given to compile is the same every call
        metric.reset_state()
    n = x.shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        out = _forward_inference(model, x[start:stop])
        wb = None if weights is None else weights[start:stop]
        total += _loss_value(model.loss, y[start:stop], out, wb) * (stop - start)
        for metric, weigh in zip(metrics, weighted):
            metric.update_state(y[start:stop], out, wb if weigh else None)
    penalty = sum(v.regularizer.penalty(v.value) for v in model.trainable_variables
                  if v.regularizer)
    logs = {"loss": total / max(n, 1) + penalty}
    for metric in metrics:
        logs[metric.name] = metric.result()
    return logs


@blas.quiet_invalid_flag
def evaluate(model, x, y, batch_size=None, sample_weight=None, return_dict=False):
    x, y, weights = _prepare_data(model, x, y, sample_weight, None, training=False)
    batch_size = 32 if batch_size is None else batch_size
    _check_positive_int(batch_size, "batch_size")
    logs = _evaluate_arrays(model, x, y, weights, batch_size)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


@blas.quiet_invalid_flag
def train_on_batch(model, x, y, sample_weight=None, class_weight=None, return_dict=False):
    x, y, weights = _prepare_data(model, x, y, sample_weight, class_weight, training=True)
    value, output = model._get_trainer().train_step(x, y, weights)
    model.last_batch_loss = value
    logs = {"loss": value}
    for metric, weigh in zip(model.metrics, _weighted_flags(model, model.metrics)):
        metric.reset_state()
        metric.update_state(y, output, weights if weigh else None)
        logs[metric.name] = metric.result()
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
