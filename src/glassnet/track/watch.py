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
_LOGGED_UPDATE = _LOGGED | Ask.UPDATE  # made once: enum operators are slow
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
        kept = self._pending[-1][0] if self._pending else self._carried_step
        return _LOGGED if kept == step - 1 else _LOGGED_UPDATE

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
        if self.log_freq == 1:  # every step is an event
            self._next_event = following
        else:
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
        self._values, self._grads = self._rows[:, :n], self._rows[:, n:]
        self._changes = np.empty((capacity, n), dtype=dtype)  # ΔW, where asked for
        self._change_kind = np.zeros(capacity, dtype=np.int8)
        # per ReLU/sigmoid/tanh layer: its outputs on each kept step's batch, reduced to
        # each unit's lowest and highest by the summariser (a copy is cheaper here)
        self._outputs: dict[str, np.ndarray] = {}
        self._seen: dict[str, np.ndarray] = {}

    def _grow(self, row: int) -> None:
        """Make room for kept step ``row`` (doubling, up to the batch size)."""
        capacity = len(self._rows)
        rows, changes, kinds = self._rows, self._changes, self._change_kind
        outputs, seen = self._outputs, self._seen
        self._new_buffers(min(self._max_rows, max(row + 1, 2 * capacity)))
        self._rows[:capacity], self._changes[:capacity] = rows, changes
        self._change_kind[:capacity] = kinds
        for name, kept in outputs.items():
            grown = self._outputs[name] = np.empty((len(self._rows),) + kept.shape[1:],
                                                   dtype=kept.dtype)
            grown[:capacity] = kept
            self._seen[name] = np.zeros(len(self._rows), dtype=bool)
            self._seen[name][:capacity] = seen[name]

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
        activations = observed.activations()
        if self._unit_layers is None:
            self._find_unit_layers(activations)
        row = len(self._pending)
        if self._unit_layers and not self._outputs_fit(row, activations):
            self._summarise_pending()  # the batch size grew: start new buffers
            row = 0
        now = time.time()
        if self._stats is not None:
            if row == len(self._rows):
                self._grow(row)
            flat = observed.flat("parameters")
            if flat is not None:
                np.copyto(self._values[row], flat)
            else:
                _copy(self._values[row], observed, "parameters")
            flat = observed.flat("gradients")
            if flat is not None:
                np.copyto(self._grads[row], flat)
            else:
                _copy(self._grads[row], observed, "gradients")
            if row and self._pending[-1][0] == step - 1:
                self._change_kind[row] = _FROM_PREVIOUS_ROW
            elif not row and self._carried_step == step - 1:
                np.subtract(self._values[0], self._carried, out=self._changes[0])
                self._change_kind[0] = _ASKED
            elif _copy(self._changes[row], observed, "update"):
                self._change_kind[row] = _ASKED
            else:
                self._change_kind[row] = 0
        outputs, seen = self._outputs, self._seen
        for name in self._unit_layers:
            offered = activations.get(name)
            output = None if offered is None else offered[1]
            if output is None or np.ndim(output) != 2 or not len(output):
                seen[name][row] = False
                continue
            kept, b = outputs[name][row], len(output)
            np.copyto(kept[:b], output)
            if b < len(kept):  # a short batch: repeat a row, which moves no min or max
                kept[b:] = output[0]
            seen[name][row] = True
        backward, update_seconds = observed.timings()  # made into rows by the summariser
        self._pending.append((step, now, dict(logs or {}), backward, update_seconds))
        if row + 1 == self._max_rows or now - self._handed_at > _MAX_WAIT_SECONDS:
            self._hand_over(now)

    def _find_unit_layers(self, activations: dict) -> None:
        index = {name: i for i, name in enumerate(self._layer_names)}
        self._unit_layers = {name: (index[name], activation)
                             for name, (activation, _) in activations.items()
                             if name in index and activation in _UNIT_STATS}

    def _outputs_fit(self, row: int, activations: dict) -> bool:
        """Whether the unit layers' buffers hold this step's outputs; if not, and no
        kept step needs them (``row`` 0), make them so (False: hand over first)."""
        for name in self._unit_layers:
            offered = activations.get(name)
            shape = None if offered is None else np.shape(offered[1])
            kept = self._outputs.get(name)
            if kept is not None and (shape is None or len(shape) != 2 or (
                    shape[0] <= kept.shape[1] and shape[1] == kept.shape[2])):
                continue
            if row:
                return False
            if shape is None or len(shape) != 2:
                shape = (1, 1)
            dtype = np.result_type(offered[1]) if offered is not None else np.float32
            self._outputs[name] = np.empty((len(self._rows), max(shape[0], 1), shape[1]),
                                           dtype=dtype)
            self._seen[name] = np.zeros(len(self._rows), dtype=bool)
        return True

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
        buffers = (self._rows, self._changes, self._change_kind, self._outputs, self._seen)
        spare = self._spare_buffers.pop() if self._spare_buffers else None
        if spare is None or spare[0].shape != self._rows.shape or not _same_shapes(
                spare[3], self._outputs):
            outputs = self._outputs
            self._new_buffers(len(self._rows))
            for name, kept in outputs.items():  # the same shapes, fresh memory
                self._outputs[name] = np.empty_like(kept)
                self._seen[name] = np.zeros(len(self._rows), dtype=bool)
        else:
            self._rows, self._changes, self._change_kind, self._outputs, self._seen = spare
            n = self._n
            self._values, self._grads = self._rows[:, :n], self._rows[:, n:]
        batch = _Batch(self, pending, buffers)
        self.recorder.later(batch)

    def _snapshot(self, step: int, label: str) -> None:
        arrays = {path: np.array(value, copy=True)
                  for path, value in self._observed.weights().items()}
        self.recorder.snapshot(step, label, arrays)


def _same_shapes(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)


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
        self.layer_names = watch._layer_names

    def __call__(self) -> LoggedSteps:
        pending, m = self.pending, len(self.pending)
        steps, times = [p[0] for p in pending], [p[1] for p in pending]
        stats = counts = edges = None
        if self.stats is not None:
            rows, changes, kinds = self.buffers[:3]
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
            layers[:, :, 0] = [[p[3].get(name, _NAN) for name in self.layer_names]
                               for p in pending]
            layers[:, :, 1] = np.outer([p[4] for p in pending], self.update_share)
            outputs, seen = self.buffers[3], self.buffers[4]
            for name, (index, activation) in self.unit_layers.items():
                if name not in outputs:
                    continue
                kept = outputs[name][:m]
                hi = np.maximum.reduce(kept, axis=1)
                if activation in _DEAD:  # dead: outputs 0 for the whole batch
                    flat, column = hi <= 0, 2
                else:  # saturated: in the flat region for the whole batch
                    lo = np.minimum.reduce(kept, axis=1)
                    flat, column = _SATURATED[activation](lo, hi), 3
                shares = np.count_nonzero(flat, axis=1) / hi.shape[1]
                layers[:, index, column] = np.where(seen[name][:m], shares, np.nan)
        self.spares.append(self.buffers)
        return LoggedSteps(steps, times, stats, counts, edges, layers, series)
