"""A Keras 3 callback that records a run: ``model.fit(..., callbacks=[Watch(run)])``.

::

    from glassnet.track.keras import Watch
    run = gn.track.init("digits")
    keras_model.fit(X, y, epochs=5, callbacks=[Watch(run, log_freq=100)])
    run.finish()

``Watch`` is a real ``keras.callbacks.Callback`` subclass, made when first asked for
(``import glassnet`` never imports Keras). It works on any Keras backend and records,
under the keys of glassnet's own watch (:mod:`glassnet.track.watch`):

- every step: ``loss``, the batch's loss. Keras hands callbacks the running mean of
  the epoch so far; the batch's own value is recovered from two consecutive means
  (exact when the batches are of equal size; the smaller last batch of an epoch is
  counted as a full one);
- every ``log_freq`` steps: each compiled metric as Keras reports it (its running
  value over the epoch); per weight, by its Keras path without the model's name
  (``dense/kernel``, ``dense/bias``: kernel and bias apart): count, mean, std, min,
  max, L2 norm, share negative, the update ratio ‖ΔW‖/‖W‖ of that step's update (W
  kept before the step, compared after it) and a 64-bin histogram;
- every epoch: ``epoch``, ``epoch/loss``, ``epoch/<metric>``, ``epoch/val_loss``,
  ``epoch/val_<metric>`` from Keras's logs;
- snapshots (``"end"``, ``"epoch"``, every N steps, or None; with any, one at step -1)
  and the architecture: a Sequential glassnet can read (Dense, Activation, Dropout,
  Normalization...) is recorded as the equivalent glassnet model, so the network
  picture, the ten tables and ``diagnose`` work on the run.

Not recorded: **gradients** (Keras gives callbacks none; computing them would change
the user's training, so the ``grad_*`` columns are NaN — the update ΔW is what is
measured) and per-layer timings. Dead-ReLU and saturated shares of Dense layers are
recorded on the torch backend only, from torch forward hooks on the Keras layers
attached for the forward of a logged step.
"""

from __future__ import annotations

import numpy as np

from glassnet.track.observe import (
    N_LAYER_COLUMNS,
    LoggedStep,
    Recorder,
    check_options,
    numpy_stats,
)

_DEAD = {"relu"}  # as glassnet's own watch (glassnet.track.watch) counts them
_SATURATED = {
    "sigmoid": lambda lo, hi: (lo > 0.99) | (hi < 0.01),
    "tanh": lambda lo, hi: (lo > 0.99) | (hi < -0.99),
}

_classes: dict[str, type] = {}


def __getattr__(name: str):
    if name == "Watch":
        if "Watch" not in _classes:
            _classes["Watch"] = _make_watch_class()
        return _classes["Watch"]
    raise AttributeError(f"module 'glassnet.track.keras' has no attribute {name!r}")


def _make_watch_class() -> type:
    import keras

    class Watch(keras.callbacks.Callback):
        """Records a glassnet run during a Keras 3 ``fit``; see :mod:`glassnet.track.keras`."""

        def __init__(self, run, log_freq: int = 100, histograms: bool = True,
                     snapshots="end"):
            super().__init__()
            self.log_freq = check_options(log_freq, snapshots)
            self.run, self.histograms, self.snapshots = run, bool(histograms), snapshots
            self._every = snapshots if isinstance(snapshots, int) and not isinstance(
                snapshots, bool) else 0
            self.step = 0  # the next optimizer step, counted over several fits
            self.recorder = None

        # -- setup ------------------------------------------------------------------
        def on_train_begin(self, logs=None):
            model = self.model
            self._variables = list(model.trainable_weights)
            self._paths = [_path(model, v) for v in self._variables]
            self._units = _unit_layers(model)  # [(layer name, activation, layer)]
            self._hooks, self._ranges = [], {}
            self.recorder = Recorder(self.run, self._paths, [n for n, _, _ in self._units])
            self.recorder.architecture(_glassnet_config(model))
            self.recorder.framework("Keras", f"{keras.__version__} "
                                             f"({keras.backend.backend()} backend)")
            self._previous = None
            self._mean, self._batches = 0.0, 0
            if self.snapshots is not None and self.step == 0:
                self._snapshot(-1, "init")

        def on_epoch_begin(self, epoch, logs=None):
            self._mean, self._batches = 0.0, 0  # Keras restarts its running means

        def on_train_batch_begin(self, batch, logs=None):
            if self.step % self.log_freq == 0:
                self._previous = [_numpy(v) for v in self._variables]
                self._ranges = {}
                if not self._hooks:  # still attached at log_freq 1
                    self._hooks = [layer.register_forward_hook(self._keep_range(name))
                                   for name, _, layer in self._units]

        def _keep_range(self, name: str):
            """A torch forward hook on a Keras layer: each unit's lowest and highest
            output over the batch (all that dead and saturated shares need)."""
            def keep_range(layer, inputs, output):
                if getattr(output, "ndim", 0) == 2 and output.shape[0]:
                    out = output.detach()
                    self._ranges[name] = torch_aminmax(out)
            return keep_range

        def _unhook(self) -> None:
            hooks, self._hooks = self._hooks, []
            for handle in hooks:
                handle.remove()

        def on_test_begin(self, logs=None):
            self._unhook()  # validation batches are not training steps

        def _layer_rows(self) -> np.ndarray | None:
            if not self._units:
                return None
            rows = np.full((len(self._units), N_LAYER_COLUMNS), np.nan)
            for i, (name, activation, _) in enumerate(self._units):
                if name not in self._ranges:
                    continue
                lo, hi = (np.asarray(a.cpu().numpy(), dtype=np.float64)
                          for a in self._ranges[name])
                if activation in _DEAD:
                    rows[i, 2] = np.mean(hi <= 0)
                else:
                    rows[i, 3] = np.mean(_SATURATED[activation](lo, hi))
            return rows

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            step = self.step
            self.step = step + 1
            if "loss" in logs:
                mean = float(logs["loss"])
                k = self._batches + 1
                self.recorder.loss(step, k * mean - (k - 1) * self._mean)
                self._mean, self._batches = mean, k
            if step % self.log_freq == 0:
                self._log(step, logs)
            if self._every and step % self._every == 0:
                self._snapshot(step, "step")

        def _log(self, step: int, logs: dict) -> None:
            values = [_numpy(v) for v in self._variables]
            if values:
                stats, counts, edges = numpy_stats(values, None, self._previous,
                                                   self.histograms)
            else:
                stats, counts, edges = np.empty((0, 14)), None, None
            self._previous = None
            metrics = {k: float(v) for k, v in logs.items() if k != "loss"
                       and np.ndim(v) == 0}
            layers = self._layer_rows()
            if self.log_freq > 1:
                self._unhook()
            self._ranges = {}
            self.recorder.logged(LoggedStep(step, stats, counts, edges, layers, metrics))

        def on_epoch_end(self, epoch, logs=None):
            last = self.step - 1
            values = {"epoch": float(epoch)}
            for key, value in (logs or {}).items():
                if np.ndim(value) == 0:
                    values[f"epoch/{key}"] = float(value)
                    if key != "loss" and not key.startswith("val_"):
                        self.run.summary[key] = float(value)
            self.recorder.metrics(max(last, 0), values)
            if self.snapshots == "epoch" and last >= 0:
                self._snapshot(last, "epoch")

        def on_train_end(self, logs=None):
            self._unhook()
            self.recorder.flush()
            if self.snapshots is not None and self.step > 0:
                self._snapshot(self.step - 1, "end")

        def _snapshot(self, step: int, label: str) -> None:
            model = self.model
            self.recorder.snapshot(step, label, {_path(model, v): _numpy(v).copy()
                                                 for v in model.weights})

    Watch.__module__ = __name__
    return Watch


def torch_aminmax(out):
    """(lowest, highest) output of each unit over the batch, with torch ops."""
    import torch

    with torch.no_grad():
        return torch.aminmax(out, dim=0)


def _unit_layers(model) -> list:
    """``[(name, activation, layer)]``: the layers whose units can be dead (ReLU) or
    saturated (sigmoid, tanh), as glassnet's own watch counts them — a Dense with that
    activation. Only on the torch backend, where a Keras layer is a ``torch.nn.Module``
    and a forward hook sees its output; elsewhere none (the shares are not recorded)."""
    import keras

    if keras.backend.backend() != "torch":
        return []
    found = []
    for layer in model.layers:
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if (activation in _DEAD or activation in _SATURATED) and layer.trainable_weights \
                and hasattr(layer, "units") and hasattr(layer, "register_forward_hook"):
            found.append((layer.name, activation, layer))
    return found


def _path(model, variable) -> str:
    """A Keras path without the model's name: ``sequential/dense/kernel`` -> ``dense/kernel``."""
    path = variable.path
    prefix = f"{model.name}/"
    return path[len(prefix):] if path.startswith(prefix) else path


def _numpy(variable) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(variable))


def _glassnet_config(model) -> dict | None:
    """The glassnet model config of a Keras model glassnet can read, else None."""
    from glassnet.errors import GlassnetError
    from glassnet.io.frameworks import from_keras

    try:
        return from_keras(model).get_config()
    except GlassnetError:
        return None  # recorded by Keras path, without a picture of the network


__all__ = ["Watch"]  # noqa: F822 (made on first access, by __getattr__)
