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
from glassnet.track.observe import Ask, Recorder, check_options
from glassnet.track.step_keeper import StepKeeper

_MAX_WAIT_SECONDS = 0.25  # the writer gets every row within a quarter second
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
        self._handed_at = time.time()
        index = {path: i for i, path in enumerate(self._paths)}
        layer_sizes = np.array([sum(sizes[index[p]] for p in paths if p in index)
                                for paths in layers.values()], dtype=np.float64)
        total = layer_sizes.sum()
        update_share = (layer_sizes / total).tolist() if total else []
        # Logged steps wait in buffer sets, as copies, and are summarised a set at a time.
        self._keeper = StepKeeper(self.run, self.recorder, self._paths, sizes, dtype,
                                  list(layers), update_share, self.histograms, self.log_freq)
        self._losses, self._loss_start = [], self.step
        self._epoch_series: dict[str, tuple[list, list]] = {}
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
        return _LOGGED if self._keeper.last_kept() == step - 1 else _LOGGED_UPDATE

    def _event(self, step: int, logs, observed) -> Ask:
        """A step that is logged, precedes a logged one, saves a snapshot or checks the time."""
        if observed is not None and step % self.log_freq == 0:
            now = time.time()
            if self._keeper.keep(step, logs, observed, now) or \
                    now - self._handed_at > _MAX_WAIT_SECONDS:
                self._hand_over(now)
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
        self._hand_over(time.time(), last=True)
        self.recorder.close()  # every summary with the store, before run.finish writes
        self._keeper.release()
        if self.snapshots is not None and self.step > 0:
            self._snapshot(self.step - 1, "end")
        if self.step:
            self.run.summary["loss"] = float(self._last_loss)
        self.run.store.log_summary(self.run.id, self.run.summary)

    def _log_epoch_series(self) -> None:
        series, self._epoch_series = self._epoch_series, {}
        for key, (steps, values) in series.items():
            self.run.log_steps(key, steps, values)
        if series:
            self.run.store.log_summary(self.run.id, self.run.summary)

    def _hand_over(self, now: float, last: bool = False) -> None:
        """Give the recorder everything collected: the kept steps' statistics, the losses
        and the epochs' metrics (``last``: at the end of a fit)."""
        self._keeper.send(last)
        self._log_epoch_series()
        if self._losses:
            self._last_loss = self._losses[-1]
            self.recorder.losses(self._loss_start, self._losses)
            self._losses = []
        self.recorder.flush()
        self._loss_start = self.step
        self._handed_at = now

    def _snapshot(self, step: int, label: str) -> None:
        arrays = {path: np.array(value, copy=True)
                  for path, value in self._observed.weights().items()}
        self.recorder.snapshot(step, label, arrays)
