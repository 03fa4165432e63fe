"""The training callback that records a run: ``model.fit(..., callbacks=[run.watch()])``.

Steps count optimizer steps from 0 (and keep counting over several ``fit`` calls).

- Every step: ``loss``, the loss of that batch.
- Every ``log_freq`` steps: each compiled metric (the engine's running value over the
  epoch so far, as Keras reports it); for every trainable Variable, kernel and bias
  apart: count, mean, std, min, max, L2 norm and share negative of its value and of
  its gradient, the update ratio ‖ΔW‖/‖W‖ of that step's update, and a 64-bin
  histogram of the value; per layer: seconds in backward and in the update, the share
  of dead ReLU units and of saturated sigmoid/tanh units on the batch.
- Every epoch, at its last step: ``epoch``, ``epoch/loss``, ``epoch/<metric>``,
  ``epoch/val_loss``, ``epoch/val_<metric>``.
- At the start of each ``fit``: the model's architecture, ``model.get_config()``, and
  its ``get_compile_config()`` (``store.model_config(run_id)``, ``model_compile_config``).
- Snapshots of every Variable: ``"end"`` (default), ``"epoch"``, every N steps (an int)
  or None; with any of them, one labelled ``"init"`` at step -1 holds the weights
  before the first update.

Cost: all Variables and gradients are summarised together from the model's flat
buffers (:mod:`glassnet.track.paramstats`): a logged step is a few dozen NumPy calls
whatever the number of Variables, and rows are made in the writer thread. An unlogged
step costs one method call and one list append.
"""

from __future__ import annotations

import time

import numpy as np

from glassnet.callbacks import Callback
from glassnet.track.observe import check_options
from glassnet.track.paramstats import FlatStats

# "dead": a ReLU unit that outputs 0 for every sample of the batch. "saturated": a
# sigmoid/tanh unit whose derivative is below ~2% of its peak for every sample, told
# from the unit's lowest and highest output on the batch.
_DEAD = {"relu"}
_SATURATED = {
    "sigmoid": lambda lo, hi: (lo > 0.99) | (hi < 0.01),
    "tanh": lambda lo, hi: (lo > 0.99) | (hi < -0.99),
}
_UNIT_STATS = _DEAD | set(_SATURATED)
_MAX_PENDING_STEPS = 32  # logged steps summarised together...
_PENDING_ELEMENTS = 1 << 17  # ...as long as their copies stay in cache (values per batch)
_MAX_WAIT_SECONDS = 0.25  # ...and recent: the writer gets every row within a quarter second
_CHECK_SECONDS = 0.02  # how often (in training time) the watch looks at the clock...
_MAX_CHECK_STEPS = 256  # ...and at least every this many steps
_NAN = float("nan")


class Watch(Callback):
    """Records a :class:`~glassnet.track.run.Run` during ``fit``; make it with ``run.watch()``."""

    def __init__(self, run, log_freq: int = 100, histograms: bool = True, snapshots="end"):
        super().__init__()
        self.log_freq = check_options(log_freq, snapshots)
        self.run = run
        self.histograms = bool(histograms)
        self.snapshots = snapshots
        # an int (not a bool) means every N steps; check_options made sure it is > 0
        every = isinstance(snapshots, (int, np.integer)) and not isinstance(snapshots, bool)
        self._snapshot_every = int(snapshots) if every else 0
        self.step = 0  # the next optimizer step
        self._losses: list[float] = []
        self._loss_start = 0

    # -- setup ------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        model = self.model
        self._record_architecture(model)
        self._variables = list(model.trainable_variables)
        self._paths = [v.path for v in self._variables]
        self._flat_values, self._flat_grads = _flat_buffers(model, self._variables)
        n = sum(v.size for v in self._variables)
        dtype = self._variables[0].dtype if n else np.float64
        if self._flat_values is None:
            self._gather_values = np.empty(n, dtype=dtype)
            self._gather_grads = np.empty(n, dtype=dtype)
        # Logged steps wait here, as copies, and are summarised a batch at a time.
        self._max_rows = max(1, min(_MAX_PENDING_STEPS, _PENDING_ELEMENTS // max(n, 1)))
        self._stats = FlatStats([v.size for v in self._variables], self._max_rows) if n else None
        self._dtype = dtype
        self._pending_rows = np.empty((1, 2 * n), dtype=dtype)  # values, then gradients
        self._pending_previous = np.empty((2, n), dtype=dtype)  # one more: the next step's
        self._have_previous = np.zeros(2, dtype=bool)
        self._spare_buffers: list[tuple] = []  # filled by the writer thread (list ops are atomic)
        self._pending: list[tuple] = []  # (step, time, logs, timing, update seconds)
        self._handed_at = time.time()
        self._layers = [layer for layer in model.layers if layer.trainable_weights]
        sizes = np.array([sum(v.size for v in layer.trainable_weights) for layer in self._layers],
                         dtype=np.float64)
        self._update_share = (sizes / sizes.sum()).tolist() if sizes.size else []
        self._unit_layers = [layer for layer in self._layers
                             if getattr(layer, "activation_name", None) in _UNIT_STATS
                             and hasattr(layer, "last_output") and hasattr(layer, "units")]
        self._losses, self._loss_start = [], self.step
        self._checked_at, self._checked_step = time.time(), self.step
        self._next_check = self._next_event = self.step  # the first step is an event
        if self.snapshots is not None and self.step == 0:
            self._snapshot(-1, "init")
        if self.step % self.log_freq == 0:
            self._before_logged_step()

    def _record_architecture(self, model) -> None:
        """Store ``model.get_config()`` once per fit (the store keeps an unchanged one as is)."""
        get_config = getattr(model, "get_config", None)
        if get_config is None:
            return
        try:
            config = get_config()
        except NotImplementedError:  # a model that cannot describe itself: readers guess
            return
        compile_config = getattr(model, "get_compile_config", lambda: None)()
        self.run.store.set_model_config(self.run.id, config, compile_config)

    def _grow(self, row: int) -> None:
        """Make room for kept step ``row`` (doubling, up to the batch size)."""
        capacity = len(self._pending_rows)
        if row < capacity:
            return
        capacity = min(self._max_rows, max(row + 1, 2 * capacity))
        rows = np.empty((capacity, self._pending_rows.shape[1]), dtype=self._dtype)
        rows[:len(self._pending_rows)] = self._pending_rows
        previous = np.empty((capacity + 1, self._pending_previous.shape[1]), dtype=self._dtype)
        previous[:len(self._pending_previous)] = self._pending_previous
        have = np.zeros(capacity + 1, dtype=bool)
        have[:len(self._have_previous)] = self._have_previous
        self._pending_rows, self._pending_previous, self._have_previous = rows, previous, have

    def _before_logged_step(self) -> None:
        """Keep W before the next update (for ‖ΔW‖) and time the next step's layers."""
        if self._stats is not None:
            row = len(self._pending)
            self._grow(row)
            np.copyto(self._pending_previous[row], self._values())
            self._have_previous[row] = True
        self.model.profile_layers = True

    # -- per step -----------------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        step = self.step
        self.step = step + 1
        self._losses.append(self.model.last_batch_loss)
        if step >= self._next_event:  # most steps stop here
            self._event(step, logs)

    def _event(self, step: int, logs) -> None:
        """A step that is logged, precedes a logged one, saves a snapshot or checks the time."""
        if step % self.log_freq == 0:
            self._keep_step(step, logs)
            if self.log_freq > 1:
                self.model.profile_layers = False
        if step >= self._next_check:
            now = time.time()
            if now - self._handed_at > _MAX_WAIT_SECONDS:
                self._hand_over(now)
            # look at the clock about every 20 ms of training: every step when steps are slow
            per_step = (now - self._checked_at) / max(step - self._checked_step, 1)
            every = int(_CHECK_SECONDS / per_step) if per_step > 0 else _MAX_CHECK_STEPS
            self._checked_at, self._checked_step = now, step
            self._next_check = step + max(1, min(every, _MAX_CHECK_STEPS))
        if (step + 1) % self.log_freq == 0:
            self._before_logged_step()
        if self._snapshot_every and step % self._snapshot_every == 0:
            self._snapshot(step, "step")
        following = step + 1
        self._next_event = min(self._next_check, following + (-following) % self.log_freq,
                               following + (-following - 1) % self.log_freq)
        if self._snapshot_every:
            self._next_event = min(self._next_event,
                                   following + (-following) % self._snapshot_every)

    def on_epoch_end(self, epoch, logs=None):
        now = time.time()
        if now - self._handed_at > _MAX_WAIT_SECONDS:
            self._hand_over(now)  # else keep collecting: many steps at once are cheaper
        last = self.step - 1
        values = {"epoch": float(epoch)}
        summary = self.run.summary
        for key, value in (logs or {}).items():
            value = float(value)
            values[f"epoch/{key}"] = value
            if key != "loss" and not key.startswith("val_"):
                summary[key] = value  # a metric's running value at the epoch's end
        if last >= 0:
            summary["loss"] = float(self.model.last_batch_loss)
        self.run._log_floats(max(last, 0), values)
        if self.snapshots == "epoch" and last >= 0:
            self._snapshot(last, "epoch")

    def on_train_end(self, logs=None):
        self.model.profile_layers = False
        self._hand_over(time.time())
        if self.snapshots is not None and self.step > 0:
            self._snapshot(self.step - 1, "end")
        if self.run._last_step < self.step - 1:
            self.run._last_step = self.step - 1
        if self.step:
            self.run.summary["loss"] = float(self.model.last_batch_loss)
        self.run.store.log_summary(self.run.id, self.run.summary)

    # -- rows -------------------------------------------------------------------------
    def _hand_over(self, now: float) -> None:
        """Give the writer everything collected: the kept steps' statistics and the losses."""
        self._summarise_pending()
        if self._losses:
            start = self._loss_start
            steps = range(start, start + len(self._losses))
            self.run.store.log_metric_series(self.run.id, "loss", steps, self._losses, now)
            self._losses = []
        self._loss_start = self.step
        self._handed_at = now

    def _keep_step(self, step: int, logs) -> None:
        """Copy what a logged step needs (cheap); summarise later, many steps at once."""
        model, row = self.model, len(self._pending)
        now = time.time()
        if self._stats is not None:
            self._grow(row)
            kept = self._pending_rows[row]
            n = self._stats.n
            np.copyto(kept[:n], self._values())
            np.copyto(kept[n:], self._grads())
        timing = model.last_step_timing
        if not row:  # per unit layer and kept step: each unit's lowest and highest output
            self._unit_ranges = [
                (np.full((self._max_rows, layer.units), np.nan),
                 np.full((self._max_rows, layer.units), np.nan)) for layer in self._unit_layers]
        for layer, (lo, hi) in zip(self._unit_layers, self._unit_ranges, strict=True):
            output = layer.last_output
            if output is not None and output.ndim == 2 and output.shape[0] \
                    and output.shape[1] == hi.shape[1]:
                np.maximum.reduce(output, axis=0, out=hi[row])
                if layer.activation_name not in _DEAD:
                    np.minimum.reduce(output, axis=0, out=lo[row])
        self._pending.append((step, now, logs, None,
                              [timing.get(layer.name, _NAN) for layer in self._layers],
                              getattr(model, "last_update_seconds", _NAN)))
        if len(self._pending) == self._max_rows or \
                now - self._handed_at > _MAX_WAIT_SECONDS:
            self._hand_over(now)

    def _summarise_pending(self) -> None:
        """Hand the kept steps to the writer thread, which summarises them before writing.

        NumPy releases the GIL in its loops, so the statistics of a batch are mostly
        computed on another core while training goes on.
        """
        pending, self._pending = self._pending, []
        m = len(pending)
        if not m:
            return
        rows, previous, have = self._pending_rows, self._pending_previous, self._have_previous
        spare = self._spare_buffers.pop() if self._spare_buffers else None
        if spare is None or spare[0].shape != rows.shape:
            spare = (np.empty_like(rows), np.empty_like(previous), np.zeros_like(have))
        self._pending_rows, self._pending_previous, self._have_previous = spare
        self._have_previous[:] = False
        if have[m:].any():  # W kept for the step after the batch: it opens the new buffers
            self._pending_previous[0] = previous[m]
            self._have_previous[0] = True
        batch = _Batch(self, pending, (rows, previous, have))
        self.run.store.defer(batch)

    def _values(self) -> np.ndarray:
        if self._flat_values is not None:
            return self._flat_values
        return _concat([v.value for v in self._variables], self._gather_values)

    def _grads(self) -> np.ndarray:
        if self._flat_grads is not None:
            return self._flat_grads
        return _concat([v.grad for v in self._variables], self._gather_grads)

    def _snapshot(self, step: int, label: str) -> None:
        arrays = {v.path: np.array(v.value, copy=True) for v in self.model.weights}
        self.run.store.log_snapshot(self.run.id, step, label, arrays)


class _Batch:
    """Kept steps of a watch, summarised into rows in the writer thread."""

    def __init__(self, watch: Watch, pending: list[tuple], buffers: tuple) -> None:
        self.run_id = watch.run.id
        self.pending = pending
        self.buffers = buffers
        self.spares = watch._spare_buffers  # buffers go back there once summarised
        self.stats = watch._stats
        self.histograms = watch.histograms
        self.paths = watch._paths
        self.layers = [layer.name for layer in watch._layers]
        self.update_share = watch._update_share
        self.unit_layers = [(watch._layers.index(layer), layer.activation_name)
                            for layer in watch._unit_layers]
        self.unit_ranges = watch._unit_ranges
        self.rows = None

    def __call__(self) -> list[tuple[str, tuple]]:
        if self.rows is None:  # once: a failed write retries with the same rows
            self.rows = self._summarise()
        return self.rows

    def _summarise(self) -> list[tuple[str, tuple]]:
        pending, run_id, m = self.pending, self.run_id, len(self.pending)
        steps, times = [p[0] for p in pending], [p[1] for p in pending]
        out = []
        if self.stats is not None:
            rows, previous, have = self.buffers
            have = have[:m]
            stats, counts, edges = self.stats.compute(
                rows[:m], previous[:m] if have.any() else None, self.histograms)
            stats[~have, :, 13] = _NAN  # steps without W kept from before their update
            out.append(("param_block", (run_id, steps, self.paths, stats, counts, edges, times)))
        self.spares.append(self.buffers)
        series: dict[str, tuple[list, list]] = {}
        for step, _, logs, *_ in pending:
            for key, value in (logs or {}).items():
                if key != "loss":
                    key_steps, values = series.setdefault(key, ([], []))
                    key_steps.append(step)
                    values.append(value)
        for key, (key_steps, values) in series.items():
            out.append(("metric_block", (run_id, key, key_steps, values, times[-1])))
        if self.layers:
            # (m, n_layers, 4): backward seconds, update seconds, dead share, saturated share
            data = np.full((m, len(self.layers), 4), np.nan)
            data[:, :, 0] = [p[4] for p in pending]
            data[:, :, 1] = np.outer([p[5] for p in pending], self.update_share)
            for (index, activation), (lo, hi) in zip(self.unit_layers, self.unit_ranges,
                                                     strict=True):
                if not hi.shape[1]:
                    continue
                if activation in _DEAD:  # dead: outputs 0 for the whole batch
                    flat, column = hi[:m] <= 0, 2
                else:  # saturated: in the flat region for the whole batch
                    flat, column = _SATURATED[activation](lo[:m], hi[:m]), 3
                shares = np.count_nonzero(flat, axis=1) / hi.shape[1]
                data[:, index, column] = np.where(np.isnan(hi[:m, 0]), np.nan, shares)
            out.append(("layer_block", (run_id, steps, self.layers, data, times)))
        return out


def _concat(arrays: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    start = 0
    for a in arrays:
        out[start:start + a.size] = a.reshape(-1)
        start += a.size
    return out


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _flat_buffers(model, variables) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The model's flat value and gradient buffers, if its Variables are views of them in order.

    Otherwise (None, None), and the watch gathers the Variables itself.
    """
    values = getattr(model, "_flat_params", None)
    grads = getattr(model, "_flat_grads", None)
    if values is None or grads is None or values.size != sum(v.size for v in variables):
        return None, None
    offset, item = 0, values.itemsize
    for v in variables:
        if not (v.value.flags.c_contiguous and v.grad.flags.c_contiguous) \
                or _address(v.value) != _address(values) + offset * item \
                or _address(v.grad) != _address(grads) + offset * item:
            return None, None
        offset += v.size
    return values, grads
