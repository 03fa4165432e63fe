"""The training callback that records a run: ``model.fit(..., callbacks=[run.watch()])``.

Per optimizer step (steps count from 0): ``loss`` (the batch's loss) and each compiled
metric (the engine's running value over the epoch so far, as Keras reports it).
Per epoch, at the epoch's last step: ``epoch``, ``epoch/loss``, ``epoch/<metric>``,
``epoch/val_loss``, ``epoch/val_<metric>``.
Every ``log_freq`` steps, for every trainable Variable (kernel and bias apart): count,
mean, std, min, max, L2 norm and share negative of the value and of its gradient, the
update ratio ‖ΔW‖/‖W‖ of that step's update, and a 64-bin histogram; per layer: seconds
in backward and in the update, share of dead ReLU units and of saturated sigmoid/tanh
units on the batch.

Cost: all Variables are summarised together from the model's flat parameter and
gradient buffers (see :mod:`glassnet.track.paramstats`), so a logged step costs a few
dozen NumPy calls whatever the number of Variables; an unlogged step costs two Python
calls and one appended row.
"""

from __future__ import annotations

import time

import numpy as np

from glassnet.callbacks import Callback
from glassnet.errors import ConfigError
from glassnet.track.paramstats import FlatStats
from glassnet.track.store import encode_histogram

# A unit is "saturated" when its activation sits where the derivative is below ~1% of
# its peak, for every sample of the batch; "dead" when a ReLU outputs 0 for every sample.
_SATURATION = {
    "sigmoid": lambda a: (a < 0.01) | (a > 0.99),
    "tanh": lambda a: np.abs(a) > 0.99,
}
_DEAD = {"relu"}
_SNAPSHOT_MODES = ("epoch", "end")


class Watch(Callback):
    """Records a :class:`~glassnet.track.run.Run` during ``fit``; make it with ``run.watch()``."""

    def __init__(self, run, log_freq: int = 100, histograms: bool = True, snapshots="end"):
        super().__init__()
        if isinstance(log_freq, bool) or not isinstance(log_freq, (int, np.integer)) or log_freq < 1:
            raise ConfigError(f"watch log_freq must be a positive int, got {log_freq!r}")
        if not (snapshots is None or snapshots in _SNAPSHOT_MODES or
                (isinstance(snapshots, (int, np.integer)) and not isinstance(snapshots, bool)
                 and snapshots > 0)):
            raise ConfigError(f"watch snapshots must be 'epoch', 'end', a positive int (every "
                              f"N steps) or None, got {snapshots!r}")
        self.run = run
        self.log_freq = int(log_freq)
        self.histograms = bool(histograms)
        self.snapshots = snapshots
        self.step = 0  # the next optimizer step; continues across fit() calls
        self._add = run.store.writer.add
        self._last_logs = None

    # -- setup ------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        model = self.model
        self._variables = list(model.trainable_variables)
        self._paths = [v.path for v in self._variables]
        self._stats = FlatStats([v.size for v in self._variables]) if self._variables else None
        self._flat_values, self._flat_grads = _flat_buffers(model, self._variables)
        n = self._stats.n if self._stats else 0
        self._previous = np.empty(n, dtype=np.float64)
        self._gather = np.empty(n, dtype=np.float64)
        self._layers = [layer for layer in model.layers if layer.trainable_weights]
        self._layer_sizes = np.array([sum(v.size for v in layer.trainable_weights)
                                      for layer in self._layers], dtype=np.float64)
        if self.snapshots is not None and self.step == 0:
            self._snapshot(-1, "init")

    # -- per step -----------------------------------------------------------------------
    def on_train_batch_begin(self, batch, logs=None):
        if self.step % self.log_freq == 0 and self._stats is not None:
            # keep W before this step's update, for ‖ΔW‖; only on steps that are logged
            np.copyto(self._previous, self._values(), casting="unsafe")
            self.model.profile_layers = True

    def on_train_batch_end(self, batch, logs=None):
        step = self.step
        now = time.time()
        add, run_id = self._add, self.run.id
        self._last_logs = logs
        add("metrics", (run_id, "loss", step, float(self.model.last_batch_loss), now))
        if logs:
            for key, value in logs.items():
                if key != "loss":
                    add("metrics", (run_id, key, step, float(value), now))
        if step % self.log_freq == 0 and self._stats is not None:
            self._log_variables(step, now)
            self.model.profile_layers = False
        if isinstance(self.snapshots, int) and not isinstance(self.snapshots, bool) \
                and step % self.snapshots == 0:
            self._snapshot(step, "step")
        self.step = step + 1

    def on_epoch_end(self, epoch, logs=None):
        last = self.step - 1
        values = {"epoch": float(epoch)}
        for key, value in (logs or {}).items():
            values[f"epoch/{key}"] = float(value)
        self._update_summary()
        self.run._log_floats(max(last, 0), values)
        if self.snapshots == "epoch" and last >= 0:
            self._snapshot(last, "epoch")

    def on_train_end(self, logs=None):
        self.model.profile_layers = False
        if self.snapshots is not None and self.step > 0:
            self._snapshot(self.step - 1, "end")
        if self.run._last_step < self.step - 1:
            self.run._last_step = self.step - 1
        self._update_summary()
        self.run.store.log_summary(self.run.id, self.run.summary)

    def _update_summary(self) -> None:
        """The per-step rows skip the run's summary (speed); bring it up to date."""
        if self.step == 0:
            return
        summary = self.run.summary
        summary["loss"] = float(self.model.last_batch_loss)
        for key, value in (self._last_logs or {}).items():
            if key != "loss":
                summary[key] = float(value)

    # -- statistics -------------------------------------------------------------------
    def _values(self) -> np.ndarray:
        if self._flat_values is not None:
            return self._flat_values
        return _concat([v.value for v in self._variables], self._gather)

    def _grads(self) -> np.ndarray:
        if self._flat_grads is not None:
            return self._flat_grads
        return _concat([v.grad for v in self._variables], self._gather)

    def _log_variables(self, step: int, now: float) -> None:
        stats = self._stats
        x = stats.load(self._values())
        value = stats.moments(x)
        ratio = stats.distance(x, self._previous)
        l2 = value["l2"]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(l2 > 0, ratio / l2, np.nan)
        if self.histograms:
            counts, edges = stats.histograms(x, value["min"], value["max"])
        grad = stats.moments(stats.load(self._grads()))
        columns = [stats.sizes.tolist()] + [value[k].tolist() for k in
                                            ("mean", "std", "min", "max", "l2", "neg_share")]
        columns += [grad[k].tolist() for k in ("mean", "std", "min", "max", "l2", "neg_share")]
        columns.append(ratio.tolist())
        run_id = self.run.id
        rows = []
        for i, path in enumerate(self._paths):
            hist = encode_histogram(counts[i], edges[i]) if self.histograms else (None, None)
            rows.append((run_id, path, step, *(c[i] for c in columns), *hist, now))
        self.run.store.log_param_stats(rows)
        self._log_layers(step, now)

    def _log_layers(self, step: int, now: float) -> None:
        model = self.model
        timing = model.last_step_timing
        update = float(getattr(model, "last_update_seconds", float("nan")))
        # the optimizer updates the flat buffer at once: share its time by parameter count
        shares = self._layer_sizes / self._layer_sizes.sum() if self._layers else []
        rows = []
        for layer, share in zip(self._layers, shares, strict=True):
            activation = getattr(layer, "activation_name", None)
            output = getattr(layer, "last_output", None)
            dead = saturated = float("nan")
            if output is not None and output.ndim == 2 and output.shape[0]:
                if activation in _DEAD:
                    dead = float(np.count_nonzero(~output.any(axis=0))) / output.shape[1]
                elif activation in _SATURATION:
                    flat = _SATURATION[activation](output).all(axis=0)
                    saturated = float(np.count_nonzero(flat)) / output.shape[1]
            rows.append((self.run.id, layer.name, step, timing.get(layer.name, float("nan")),
                         update * float(share), dead, saturated, now))
        self.run.store.log_layer_stats(rows)

    def _snapshot(self, step: int, label: str) -> None:
        arrays = {v.path: np.array(v.value, copy=True) for v in self.model.weights}
        self.run.store.log_snapshot(self.run.id, step, label, arrays)


def _concat(arrays: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    start = 0
    for a in arrays:
        out[start:start + a.size] = a.reshape(-1)
        start += a.size
    return out


def _flat_buffers(model, variables) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The model's flat value and gradient buffers, if the Variables are views of them in order."""
    values = getattr(model, "_flat_params", None)
    grads = getattr(model, "_flat_grads", None)
    if values is None or grads is None or values.size != sum(v.size for v in variables):
        return None, None
    offset = 0
    for v in variables:
        item = values.itemsize
        if not (v.value.flags.c_contiguous and v.grad.flags.c_contiguous) or \
                v.value.__array_interface__["data"][0] != values.__array_interface__["data"][0] + offset * item or \
                v.grad.__array_interface__["data"][0] != grads.__array_interface__["data"][0] + offset * item:
            return None, None
        offset += v.size
    return values, grads
