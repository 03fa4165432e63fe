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

What it reads, it is offered by ``fit`` through the stated interface of
:mod:`glassnet._engine.observing` (``observe_begin``, then one ``observe_step`` call per
step, returning what the next step must offer): nothing of the model itself. Its rows
go to the store through a :class:`~glassnet.track.observe.Recorder`, as the PyTorch
and Keras watchers' do.

Cost: an unlogged step is one call and one list append. A logged step copies the
parameters and gradients (one copy each where the loop offers them flat) and two
reductions per ReLU/sigmoid/tanh layer; the statistics of many logged steps are
computed together (:mod:`glassnet.track.paramstats`) in the summariser thread
(:mod:`glassnet.track.summariser`).
"""

from __future__ import annotations

import time

import numpy as np

from glassnet.callbacks import Callback
from glassnet.track.observe import Ask, LoggedSteps, Recorder, check_options
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
_NOTHING = Ask.NOTHING
_LOGGED = Ask.PARAMETERS | Ask.GRADIENTS | Ask.ACTIVATIONS | Ask.TIMINGS
# ΔW: asked for, or (on the step after a kept one) the difference of the two kept values
_ASKED, _FROM_PREVIOUS_ROW = 1, 2


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
        self.recorder: Recorder | None = None
        self._observed = None
        self._losses: list[float] = []
        self._loss_start = 0
        self._last_loss = _NAN

    # -- the stated interface: what fit offers ------------------------------------------
    def observe_begin(self, observed) -> Ask:
        """Set up from what the loop offers (parameters, layers, architecture)."""
        self._observed = observed
        parameters = observed.parameters()
        self._paths = list(parameters)
        sizes = [int(np.size(a)) for a in parameters.values()]
        layers = observed.layers()
        self.recorder = Recorder(self.run, self._paths, list(layers))
        described = observed.architecture()
        if described is not None:
            self.recorder.architecture(*described)
        n = sum(sizes)
        dtype = next(iter(parameters.values())).dtype if n else np.float64
        # Logged steps wait here, as copies, and are summarised a batch at a time.
        self._max_rows = max(1, min(_MAX_PENDING_STEPS, _PENDING_ELEMENTS // max(n, 1)))
        self._stats = FlatStats(sizes, self._max_rows) if n else None
        self._n, self._dtype = n, dtype
        self._new_buffers(1)
        self._spare_buffers: list[tuple] = []  # refilled by the summariser (list ops are atomic)
        self._pending: list[tuple] = []  # (step, time, logs, backward seconds, update seconds)
        self._handed_at = time.time()
        index = {path: i for i, path in enumerate(self._paths)}
        self._layer_names = list(layers)
        layer_sizes = np.array([sum(sizes[index[p]] for p in paths if p in index)
                                for paths in layers.values()], dtype=np.float64)
        total = layer_sizes.sum()
        self._update_share = (layer_sizes / total).tolist() if total else []
        self._unit_layers: dict[str, tuple[int, str]] | None = None  # at the first logged step
        self._unit_ranges: dict[str, tuple] = {}
        self._losses, self._loss_start = [], self.step
        self._carried, self._carried_step = np.empty(n, dtype=dtype), -2  # last kept W
        self._checked_at, self._checked_step = time.time(), self.step
        self._next_check = self._next_event = self.step  # the first step is an event
        if self.snapshots is not None and self.step == 0:
            self._snapshot(-1, "init")
        return self._ask(self.step)

    def observe_step(self, step, loss, logs, observed) -> Ask:
        """Step done: its loss kept; at a logged step, what it offers copied."""
        mine = self.step
        self.step = mine + 1
        self._losses.append(loss)
        if mine >= self._next_event:  # most steps stop here
            return self._event(mine, logs, observed)
        return _NOTHING

    def _ask(self, step: int) -> Ask:
        """What step ``step`` must offer: everything at a logged step; ΔW unless the step
        before was kept in this batch (then ΔW is the difference of the two copies)."""
        if step % self.log_freq:
            return _NOTHING
        return _LOGGED if self._kept_step() == step - 1 else _LOGGED | Ask.UPDATE

    def _kept_step(self) -> int:
        """The last step whose values are kept (pending, or carried over a hand-over)."""
        return self._pending[-1][0] if self._pending else self._carried_step

    def _event(self, step: int, logs, observed) -> Ask:
        """A step that is logged, precedes a logged one, saves a snapshot or checks the time."""
        if observed is not None and step % self.log_freq == 0:
            self._keep_step(step, logs, observed)
        if step >= self._next_check:
            now = time.time()
            if now - self._handed_at > _MAX_WAIT_SECONDS:
                self._hand_over(now)
            # look at the clock about every 20 ms of training: every step when steps are slow
            per_step = (now - self._checked_at) / max(step - self._checked_step, 1)
            every = int(_CHECK_SECONDS / per_step) if per_step > 0 else _MAX_CHECK_STEPS
            self._checked_at, self._checked_step = now, step
            self._next_check = step + max(1, min(every, _MAX_CHECK_STEPS))
        if self._snapshot_every and step % self._snapshot_every == 0:
            self._snapshot(step, "step")
        following = step + 1
        self._next_event = min(self._next_check, following + (-following) % self.log_freq,
                               following + (-following - 1) % self.log_freq)
        if self._snapshot_every:
            self._next_event = min(self._next_event,
                                   following + (-following) % self._snapshot_every)
        return self._ask(following)

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
            summary["loss"] = float(self._losses[-1] if self._losses else self._last_loss)
        self.run.log(values, step=max(last, 0))
        if self.snapshots == "epoch" and last >= 0:
            self._snapshot(last, "epoch")

    def on_train_end(self, logs=None):
        if self.recorder is None:
            return
        self._hand_over(time.time())
        self.recorder.close()  # every summary with the store, before run.finish writes
        if self.snapshots is not None and self.step > 0:
            self._snapshot(self.step - 1, "end")
        if self.step:
            self.run.summary["loss"] = float(self._last_loss)
        self.run.store.log_summary(self.run.id, self.run.summary)

    # -- rows -------------------------------------------------------------------------
    def _new_buffers(self, capacity: int) -> None:
        n, dtype = self._n, self._dtype
        self._rows = np.empty((capacity, 2 * n), dtype=dtype)  # values, then gradients
        self._changes = np.empty((capacity, n), dtype=dtype)  # ΔW, where asked for
        self._change_kind = np.zeros(capacity, dtype=np.int8)

    def _grow(self, row: int) -> None:
        """Make room for kept step ``row`` (doubling, up to the batch size)."""
        capacity = len(self._rows)
        if row < capacity:
            return
        rows, changes, kinds = self._rows, self._changes, self._change_kind
        self._new_buffers(min(self._max_rows, max(row + 1, 2 * capacity)))
        self._rows[:capacity], self._changes[:capacity] = rows, changes
        self._change_kind[:capacity] = kinds

    def _hand_over(self, now: float) -> None:
        """Give the recorder everything collected: the kept steps' statistics and the losses."""
        self._summarise_pending()
        if self._losses:
            self._last_loss = self._losses[-1]
            self.recorder.losses(self._loss_start, self._losses)
            self._losses = []
        self.recorder.flush()
        self._loss_start = self.step
        self._handed_at = now

    def _keep_step(self, step: int, logs, observed) -> None:
        """Copy what a logged step offers (cheap); summarise later, many steps at once."""
        row = len(self._pending)
        now = time.time()
        if self._stats is not None:
            self._grow(row)
            kept, n = self._rows[row], self._n
            _copy(kept[:n], observed, "parameters")
            _copy(kept[n:], observed, "gradients")
            if row and self._pending[-1][0] == step - 1:
                self._change_kind[row] = _FROM_PREVIOUS_ROW
            elif not row and self._carried_step == step - 1:
                np.subtract(kept[:n], self._carried, out=self._changes[row])
                self._change_kind[row] = _ASKED
            elif _copy(self._changes[row], observed, "update"):
                self._change_kind[row] = _ASKED
            else:
                self._change_kind[row] = 0
        self._keep_unit_ranges(row, observed.activations())
        backward, update_seconds = observed.timings()
        self._pending.append((step, now, dict(logs or {}),
                              [backward.get(name, _NAN) for name in self._layer_names],
                              update_seconds))
        if len(self._pending) == self._max_rows or now - self._handed_at > _MAX_WAIT_SECONDS:
            self._hand_over(now)

    def _keep_unit_ranges(self, row: int, activations: dict) -> None:
        """Each unit's lowest and highest output on the batch, per ReLU/sigmoid/tanh layer."""
        if self._unit_layers is None:
            index = {name: i for i, name in enumerate(self._layer_names)}
            self._unit_layers = {name: (index[name], activation)
                                 for name, (activation, _) in activations.items()
                                 if name in index and activation in _UNIT_STATS}
        if not row:  # new arrays per batch: the last batch's are the writer's now
            self._unit_ranges = {}
        ranges_of = self._unit_ranges
        for name, (_, activation) in self._unit_layers.items():
            offered = activations.get(name)
            if offered is None:
                continue
            output = offered[1]
            shape = np.shape(output)
            if len(shape) != 2 or not shape[0]:
                continue
            ranges = ranges_of.get(name)
            if ranges is None or ranges[1].shape[1] != shape[1]:
                ranges = ranges_of[name] = (np.full((self._max_rows, shape[1]), np.nan),
                                            np.full((self._max_rows, shape[1]), np.nan))
            np.maximum.reduce(output, axis=0, out=ranges[1][row])
            if activation not in _DEAD:
                np.minimum.reduce(output, axis=0, out=ranges[0][row])

    def _summarise_pending(self) -> None:
        """Hand the kept steps to the summariser thread, which makes their rows.

        NumPy releases the GIL in its loops, so the statistics of a batch are mostly
        computed on another core while training goes on.
        """
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._stats is not None:  # the next step's ΔW may need the last kept W
            np.copyto(self._carried, self._rows[len(pending) - 1, :self._n])
            self._carried_step = pending[-1][0]
        buffers = (self._rows, self._changes, self._change_kind)
        spare = self._spare_buffers.pop() if self._spare_buffers else None
        if spare is None or spare[0].shape != self._rows.shape:
            self._new_buffers(len(self._rows))
        else:
            self._rows, self._changes, self._change_kind = spare
        batch = _Batch(self, pending, buffers)
        self.recorder.later(batch)

    def _snapshot(self, step: int, label: str) -> None:
        arrays = {path: np.array(value, copy=True)
                  for path, value in self._observed.weights().items()}
        self.recorder.snapshot(step, label, arrays)


def _copy(out: np.ndarray, observed, kind: str) -> bool:
    """Copy the offered ``kind`` into ``out`` (flat, in path order); False if not offered."""
    flat = observed.flat(kind)
    if flat is not None:
        np.copyto(out, flat)
        return True
    arrays = getattr(observed, kind)()
    if arrays is None:
        return False
    start = 0
    for a in arrays.values():
        a = np.asarray(a)
        out[start:start + a.size] = a.reshape(-1)
        start += a.size
    return True


class _Batch:
    """Kept steps of a watch, summarised into a :class:`LoggedSteps` by the summariser."""

    def __init__(self, watch: Watch, pending: list[tuple], buffers: tuple) -> None:
        self.pending = pending
        self.buffers = buffers
        self.spares = watch._spare_buffers  # buffers go back there once summarised
        self.stats = watch._stats
        self.n = watch._n
        self.histograms = watch.histograms
        self.n_layers = len(watch._layer_names)
        self.update_share = watch._update_share
        self.unit_layers = watch._unit_layers or {}
        self.unit_ranges = watch._unit_ranges

    def __call__(self) -> LoggedSteps:
        pending, m = self.pending, len(self.pending)
        steps, times = [p[0] for p in pending], [p[1] for p in pending]
        stats = counts = edges = None
        if self.stats is not None:
            rows, changes, kinds = self.buffers
            rows, changes, kinds = rows[:m], changes[:m], kinds[:m]
            n = self.n
            chained = np.flatnonzero(kinds == _FROM_PREVIOUS_ROW)
            if chained.size:
                changes[chained] = rows[chained, :n] - rows[chained - 1, :n]
            known = kinds != 0
            stats, counts, edges = self.stats.compute(
                rows, None, self.histograms, update=changes if known.any() else None)
            stats[~known, :, 13] = _NAN  # steps without ΔW offered
        else:
            stats = np.empty((m, 0, 14))
        self.spares.append(self.buffers)
        series: dict[str, tuple[list, list]] = {}
        for step, _, logs, *_ in pending:
            for key, value in logs.items():
                if key != "loss":
                    key_steps, values = series.setdefault(key, ([], []))
                    key_steps.append(step)
                    values.append(float(value))
        layers = None
        if self.n_layers:
            # (m, n_layers, 4): backward seconds, update seconds, dead share, saturated share
            layers = np.full((m, self.n_layers, 4), np.nan)
            layers[:, :, 0] = [p[3] for p in pending]
            layers[:, :, 1] = np.outer([p[4] for p in pending], self.update_share)
            for name, (index, activation) in self.unit_layers.items():
                if name not in self.unit_ranges:
                    continue
                lo, hi = self.unit_ranges[name]
                if activation in _DEAD:  # dead: outputs 0 for the whole batch
                    flat, column = hi[:m] <= 0, 2
                else:  # saturated: in the flat region for the whole batch
                    flat, column = _SATURATED[activation](lo[:m], hi[:m]), 3
                shares = np.count_nonzero(flat, axis=1) / hi.shape[1]
                layers[:, index, column] = np.where(np.isnan(hi[:m, 0]), np.nan, shares)
        return LoggedSteps(steps, times, stats, counts, edges, layers, series)
