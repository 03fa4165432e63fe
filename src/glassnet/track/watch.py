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
parameters, the gradients and the ReLU/sigmoid/tanh layers' outputs into a buffer set
(:mod:`glassnet.track.kept_steps`); the statistics of a set's steps are computed
together (:mod:`glassnet.track.batch_stats`), in the statistics process when the watch
logs often (:mod:`glassnet.track.stats_process`), else in the summariser thread
(:mod:`glassnet.track.summariser`).
"""

from __future__ import annotations

import time

import numpy as np

from glassnet.callbacks import Callback
from glassnet.track import stats_process as process
from glassnet.track.batch_stats import (
    ASKED,
    FROM_PREVIOUS_ROW,
    UNIT_STATS,
    UNKNOWN,
    logged_steps,
    summarise,
)
from glassnet.track.kept_steps import KeptSteps, Layout
from glassnet.track.observe import Ask, Recorder, check_options
from glassnet.track.paramstats import FlatStats

_MAX_PENDING_STEPS = 32  # logged steps summarised together...
_PENDING_ELEMENTS = 1 << 17  # ...as long as their copies stay in cache (values per batch)
_MAX_WAIT_SECONDS = 0.25  # ...and recent: the writer gets every row within a quarter second
_MAX_SETS = 8  # buffer sets of a watch waiting to be summarised, at most (then it waits)
_CHECK_SECONDS = 0.02  # how often (in training time) the watch looks at the clock...
_MAX_CHECK_STEPS = 256  # ...and at least every this many steps
_NAN = float("nan")
_NOTHING = Ask.NOTHING
_LOGGED = Ask.PARAMETERS | Ask.GRADIENTS | Ask.ACTIVATIONS | Ask.TIMINGS
_LOGGED_UPDATE = _LOGGED | Ask.UPDATE  # made once: enum operators are slow


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
        # Logged steps wait in a buffer set, as copies, and are summarised a set at a time.
        self._max_rows = max(1, min(_MAX_PENDING_STEPS, _PENDING_ELEMENTS // max(n, 1)))
        self._stats = FlatStats(sizes, self._max_rows) if n else None
        self._n, self._dtype, self._sizes = n, dtype, sizes
        self._process = process.stats_process() if process.wanted(self.log_freq) else None
        self._kept: KeptSteps | None = None  # the set the next logged step goes into
        self._sets: list[KeptSteps] = []  # every set made, for _release_sets
        self._spare_sets: list[KeptSteps] = []  # summarised sets come back here
        self._job_lines: dict[str, bytes] = {}
        self._count = 0  # logged steps in the current set
        self._last_kept = -2  # the last logged step kept in it
        self._handed_at = time.time()
        index = {path: i for i, path in enumerate(self._paths)}
        self._layer_names = list(layers)
        layer_sizes = np.array([sum(sizes[index[p]] for p in paths if p in index)
                                for paths in layers.values()], dtype=np.float64)
        total = layer_sizes.sum()
        self._update_share = (layer_sizes / total).tolist() if total else []
        self._unit_layers: dict[str, tuple[int, str]] | None = None  # at the first logged step
        self._losses, self._loss_start = [], self.step
        self._epoch_series: dict[str, tuple[list, list]] = {}
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
        kept = self._last_kept if self._count else self._carried_step
        return _LOGGED if kept == step - 1 else _LOGGED_UPDATE

    def _job_line(self, kept: KeptSteps) -> bytes:
        """The statistics process's job line for ``kept``, to fill with (job, rows)."""
        line = self._job_lines.get(kept.path)
        if line is None:
            import json

            fixed = json.dumps({"path": kept.path, "layout": kept.layout.to_json(),
                                "histograms": self.histograms,
                                "store": self.run.store.location, "run": self.run.id,
                                "paths": self._paths, "update_share": self._update_share,
                                "unit_index": self._unit_index(kept)})
            line = self._job_lines[kept.path] = (
                '{"job": %d, "m": %d, ' + fixed[1:].replace("%", "%%") + "\n").encode()
        return line

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
        step = max(last, 0)
        summary = self.run.summary
        series = self._epoch_series
        values = {"epoch": float(epoch)}
        for key, value in (logs or {}).items():
            value = float(value)
            values[f"epoch/{key}"] = value
            if key != "loss" and not key.startswith("val_"):
                summary[key] = value  # a metric's running value at the epoch's end
        for key, value in values.items():  # written with the losses, a series per key
            steps, kept = series.setdefault(key, ([], []))
            if steps and steps[-1] >= step:  # a step again (an empty epoch): a row of its own
                self._log_epoch_series()
                steps, kept = series.setdefault(key, ([], []))
            steps.append(step)
            kept.append(value)
        summary.update(values)
        if last >= 0:
            summary["loss"] = float(self._losses[-1] if self._losses else self._last_loss)
        if self.snapshots == "epoch" and last >= 0:
            self._snapshot(last, "epoch")

    def on_train_end(self, logs=None):
        if self.recorder is None:
            return
        self._hand_over(time.time())
        self.recorder.close()  # every summary with the store, before run.finish writes
        self._release_sets()
        if self.snapshots is not None and self.step > 0:
            self._snapshot(self.step - 1, "end")
        if self.step:
            self.run.summary["loss"] = float(self._last_loss)
        self.run.store.log_summary(self.run.id, self.run.summary)

    # -- rows -------------------------------------------------------------------------
    def _layout_for(self, activations: dict, logs: dict) -> Layout:
        units = []
        for name in self._unit_layers:
            offered = activations.get(name)
            output = None if offered is None else offered[1]
            shape = np.shape(output) if output is not None else ()
            batch, width = (shape[0], shape[1]) if len(shape) == 2 else (1, 1)
            dtype = np.result_type(output).str if output is not None else "<f4"
            units.append((name, self._unit_layers[name][1], max(batch, 1), width, dtype))
        return Layout(self._max_rows, tuple(self._sizes), np.dtype(self._dtype).str,
                      tuple(units), tuple(self._layer_names),
                      tuple(key for key in logs if key != "loss"))

    def _fits(self, kept: KeptSteps, activations: dict, logs: dict) -> bool:
        """Whether ``kept`` can hold this step: the same metrics in its logs, each unit
        layer's output of a batch no larger."""
        metrics = kept.layout.metrics
        if len(logs) != len(metrics) + ("loss" in logs) or any(k not in logs for k in metrics):
            return False
        for name, _, batch, width, _ in kept.layout.units:
            offered = activations.get(name)
            if offered is None:
                continue
            shape = np.shape(offered[1])
            if len(shape) == 2 and (shape[0] > batch or shape[1] != width):
                return False
        return True

    def _take_set(self, activations: dict, logs: dict) -> KeptSteps:
        """A buffer set for this step: a spare one that fits, or a new one."""
        layout = self._layout_for(activations, logs)
        shared = self._process is not None and self._process.ready
        for i, kept in enumerate(self._spare_sets):
            if self._fits(kept, activations, logs) and (kept.path is not None) == shared:
                return self._spare_sets.pop(i)
        if len(self._sets) >= _MAX_SETS:  # summaries lag (a busy machine): wait for one
            deadline = time.monotonic() + 10.0
            while not self._spare_sets and time.monotonic() < deadline:
                time.sleep(0.0005)
            for i, kept in enumerate(self._spare_sets):
                if self._fits(kept, activations, logs):
                    return self._spare_sets.pop(i)
        kept = KeptSteps(layout, shared=shared)
        self._sets.append(kept)
        return kept

    def _keep_step(self, step: int, logs, observed) -> None:
        """Copy what a logged step offers (cheap); summarise later, many steps at once."""
        activations = observed.activations()
        logs = logs or {}
        if self._unit_layers is None:
            self._find_unit_layers(activations)
        kept = self._kept
        if kept is None:
            kept = self._kept = self._take_set(activations, logs)
        row = self._count
        if not self._keep_outputs(kept, row, activations) or not self._keep_metrics(
                kept, row, logs):
            # a larger batch, other metrics: what is kept goes, and a set that fits comes
            self._summarise_pending()
            kept = self._kept = self._take_set(activations, logs)
            row = 0
            self._keep_outputs(kept, row, activations)
            self._keep_metrics(kept, row, logs)
        now = time.time()
        kept.steps[row], kept.times[row] = step, now
        if self._n:
            flat = observed.flat("parameters")
            if flat is not None:
                np.copyto(kept.values[row], flat)
            else:
                _copy(kept.values[row], observed, "parameters")
            flat = observed.flat("gradients")
            if flat is not None:
                np.copyto(kept.grads[row], flat)
            else:
                _copy(kept.grads[row], observed, "gradients")
            if row and self._last_kept == step - 1:
                kept.kinds[row] = FROM_PREVIOUS_ROW
            elif not row and self._carried_step == step - 1:
                np.subtract(kept.values[0], self._carried, out=kept.changes[0])
                kept.kinds[0] = ASKED
            elif _copy(kept.changes[row], observed, "update"):
                kept.kinds[row] = ASKED
            else:
                kept.kinds[row] = UNKNOWN
        backward, kept.update[row] = observed.timings()
        if backward:
            kept.backward[row] = [backward.get(name, _NAN) for name in self._layer_names]
        else:
            kept.backward[row] = _NAN
        self._count, self._last_kept = row + 1, step
        if row + 1 == self._max_rows or now - self._handed_at > _MAX_WAIT_SECONDS:
            self._hand_over(now)

    def _keep_outputs(self, kept: KeptSteps, row: int, activations: dict) -> bool:
        """Copy each unit layer's output into ``row``; False if one does not fit."""
        seen = kept.seen[row]
        for i, name in enumerate(self._unit_layers):
            offered = activations.get(name)
            shape = () if offered is None else np.shape(offered[1])
            if len(shape) != 2 or not shape[0]:
                seen[i] = False
                continue
            outputs = kept.outputs[i]
            if shape[0] > outputs.shape[1] or shape[1] != outputs.shape[2]:
                return False
            kept_output, output = outputs[row], offered[1]
            np.copyto(kept_output[:shape[0]], output)
            if shape[0] < len(kept_output):  # a short batch: repeat a row, which moves no
                kept_output[shape[0]:] = output[0]  # unit's min or max
            seen[i] = True
        return True

    def _keep_metrics(self, kept: KeptSteps, row: int, logs: dict) -> bool:
        """The logs' metrics into ``row``; False if they are not the set's."""
        metrics = kept.layout.metrics
        if len(logs) != len(metrics) + ("loss" in logs):
            return False
        if metrics:
            try:
                kept.metrics[row] = [logs[key] for key in metrics]
            except KeyError:
                return False
        return True

    def _unit_index(self, kept: KeptSteps) -> list[int]:
        """Each unit layer of ``kept``'s place among the layers."""
        return [self._unit_layers[unit[0]][0] for unit in kept.layout.units]

    def _find_unit_layers(self, activations: dict) -> None:
        index = {name: i for i, name in enumerate(self._layer_names)}
        self._unit_layers = {name: (index[name], activation)
                             for name, (activation, _) in activations.items()
                             if name in index and activation in UNIT_STATS}

    def _log_epoch_series(self) -> None:
        series, self._epoch_series = self._epoch_series, {}
        for key, (steps, values) in series.items():
            self.run.log_steps(key, steps, values)
        if series:
            self.run.store.log_summary(self.run.id, self.run.summary)

    def _hand_over(self, now: float) -> None:
        """Give the recorder everything collected: the kept steps' statistics, the losses
        and the epochs' metrics."""
        self._summarise_pending()
        self._log_epoch_series()
        if self._losses:
            self._last_loss = self._losses[-1]
            self.recorder.losses(self._loss_start, self._losses)
            self._losses = []
        self.recorder.flush()
        self._loss_start = self.step
        self._handed_at = now

    def _summarise_pending(self) -> None:
        """Send the kept steps to be summarised: to the statistics process when it is
        ready, else to the summariser thread; their rows go to the store from there."""
        m, self._count = self._count, 0
        kept, self._kept = self._kept, None
        if not m:
            if kept is not None:
                self._spare_sets.append(kept)
            return
        if self._n:  # the next step's ΔW may need the last kept W
            np.copyto(self._carried, kept.values[m - 1])
        self._carried_step = self._last_kept
        job = _Job(self, kept, m)
        if kept.path is None or not self._process.submit(job):
            self.recorder.later(job)

    def _release_sets(self) -> None:
        """After the last summary: shared sets lose their names, all are dropped."""
        for kept in self._sets:
            if kept.path is not None:
                kept.unlink()
                if self._process is not None:
                    self._process.forget(kept.path)
        self._sets, self._spare_sets, self._kept = [], [], None

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


class _Job:
    """A buffer set of kept steps on its way to rows: summarised and written by the
    statistics process (``message``, then ``finish``), or here (``__call__`` in the
    summariser thread, ``run_here`` in the statistics process's client)."""

    def __init__(self, watch: Watch, kept: KeptSteps, m: int) -> None:
        self.kept, self.m = kept, m
        self.recorder = watch.recorder
        self.spares = watch._spare_sets  # the set goes back there (list ops are atomic)
        self.stats = watch._stats
        self.histograms = watch.histograms
        self.update_share = watch._update_share
        self.unit_index = watch._unit_index(kept)
        if kept.path is not None:
            self._line = watch._job_line(kept)

    def message(self, number: int) -> bytes:
        return self._line % (number, self.m)

    def __call__(self):
        """The rows, for the recorder to write (in the summariser thread)."""
        return self._rows(summarise(self.kept, self.m, self.stats, self.histograms))

    def run_here(self) -> None:
        self.recorder.write(self())

    def finish(self, irregular: bool) -> None:
        """The process has written every row: the set can be used again. (It has mapped
        the set, too: its file needs no name any more.)"""
        self.kept.unlink()
        self.spares.append(self.kept)

    def _rows(self, irregular: bool):
        rows = logged_steps(self.kept, self.m, irregular, self.histograms,
                            self.update_share, self.unit_index)
        self.spares.append(self.kept)
        return rows
