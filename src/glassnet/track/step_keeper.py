"""A watch's logged steps on their way to rows: kept in buffer sets, sent to be summarised.

:class:`StepKeeper` copies each logged step into the next row of a
:class:`~glassnet.track.kept_steps.KeptSteps` set -- W, its gradient (and ΔW where it is
not the difference of two kept rows), the ReLU/sigmoid/tanh layers' outputs, the
layers' timings and the logs' metrics -- and sends a full set (or the rows kept when
the watch hands over) to be summarised: to the statistics process when the watch logs
often and the process is ready (:mod:`glassnet.track.stats_process`), which writes the
rows into the run itself; else to the summariser thread, whose rows go to the run's
:class:`~glassnet.track.observe.Recorder`. Sets come back when summarised; a watch
holds at most :data:`MAX_SETS` (then a logged step waits for one).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np

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
from glassnet.track.paramstats import FlatStats

MAX_PENDING_STEPS = 32  # logged steps summarised together...
_PENDING_ELEMENTS = 1 << 17  # ...as long as their copies stay in cache (values per set)
MAX_SETS = 8  # sets of a watch waiting to be summarised, at most (then it waits)
_NAN = float("nan")


class StepKeeper:
    """The logged steps of one watched model (``paths`` of ``sizes``, ``layers`` by
    name, each layer's share of the parameters for its update seconds)."""

    def __init__(self, run, recorder, paths: list[str], sizes: list[int], dtype,
                 layers: list[str], update_share: list[float], histograms: bool,
                 log_freq: int) -> None:
        self.run, self.recorder, self.histograms = run, recorder, histograms
        self._paths, self._sizes, self._layer_names = list(paths), list(sizes), list(layers)
        self._update_share = update_share
        n = self._n = sum(sizes)
        self._dtype = dtype
        self._max_rows = max(1, min(MAX_PENDING_STEPS, _PENDING_ELEMENTS // max(n, 1)))
        self._stats, self._stats_lock = _flat_stats(tuple(sizes), self._max_rows)
        self._process = process.stats_process() if process.wanted(log_freq) else None
        self._kept: KeptSteps | None = None  # the set the next logged step goes into
        self._sets: list[KeptSteps] = []  # every set made, for release()
        self._spare_sets: list[KeptSteps] = []  # summarised sets come back here
        self._job_lines: dict[str, bytes] = {}
        self._count = 0  # logged steps in the current set
        self._last_kept = -2  # the last logged step kept in it
        self._carried, self._carried_step = np.empty(n, dtype=dtype), -2  # last sent W
        self._unit_layers: dict[str, tuple[int, str]] | None = None  # at the first step

    def last_kept(self) -> int:
        """The last step whose values are kept (in this set, or carried over a send)."""
        return self._last_kept if self._count else self._carried_step

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
        if not _same_metrics(kept.layout.metrics, logs):
            return False
        for name, _, batch, width, _ in kept.layout.units:
            offered = activations.get(name)
            if offered is not None and _too_big(np.shape(offered[1]), batch, width):
                return False
        return True

    def _take_set(self, activations: dict, logs: dict) -> KeptSteps:
        """A buffer set for this step: a spare one that fits, or a new one."""
        shared = self._process is not None and self._process.ready
        kept = self._spare(activations, logs, shared)
        if kept is not None:
            return kept
        if len(self._sets) >= MAX_SETS:  # summaries lag (a busy machine): wait for one
            deadline = time.monotonic() + 10.0
            while not self._spare_sets and time.monotonic() < deadline:
                if self._process is not None:
                    self._process.poll(timeout=0.01)  # its answers free the sets
                else:
                    time.sleep(0.0005)
            kept = self._spare(activations, logs)
            if kept is not None:
                return kept
        layout = self._layout_for(activations, logs)
        kept = _pooled(layout, shared)
        if kept is None:
            kept = KeptSteps(layout, shared=shared)
        self._sets.append(kept)
        return kept

    def _spare(self, activations: dict, logs: dict, shared: bool | None = None):
        """A summarised set that fits this step (shared or not, if ``shared`` says)."""
        for i, kept in enumerate(self._spare_sets):
            if self._fits(kept, activations, logs) and (
                    shared is None or (kept.path is not None) == shared):
                return self._spare_sets.pop(i)
        return None

    def keep(self, step: int, logs, observed, now: float) -> bool:
        """Copy what a logged step offers (cheap) into the next row; True when the set
        is full (then :meth:`send` it)."""
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
            self.send()
            kept = self._kept = self._take_set(activations, logs)
            row = 0
            self._keep_outputs(kept, row, activations)
            self._keep_metrics(kept, row, logs)
        kept.steps[row], kept.times[row] = step, now
        if self._n:
            _copy(kept, row, observed, "parameters")
            kept.has_grad[row] = _copy(kept, row, observed, "gradients")
            if row and self._last_kept == step - 1:
                kept.kinds[row] = FROM_PREVIOUS_ROW
            elif not row and self._carried_step == step - 1:
                np.subtract(kept.values[0], self._carried, out=kept.changes[0])
                kept.kinds[0] = ASKED
            elif _copy(kept, row, observed, "update"):
                kept.kinds[row] = ASKED
            else:
                kept.kinds[row] = UNKNOWN
        backward, kept.update[row] = observed.timings()
        if backward:
            kept.backward[row] = [backward.get(name, _NAN) for name in self._layer_names]
        else:
            kept.backward[row] = _NAN
        self._count, self._last_kept = row + 1, step
        return row + 1 == self._max_rows

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
            if _too_big(shape, outputs.shape[1], outputs.shape[2]):
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
        if not _same_metrics(metrics, logs):
            return False
        if metrics:
            kept.metrics[row] = [logs[key] for key in metrics]
        return True

    def _unit_index(self, kept: KeptSteps) -> list[int]:
        """Each unit layer of ``kept``'s place among the layers."""
        return [self._unit_layers[unit[0]][0] for unit in kept.layout.units]

    def _find_unit_layers(self, activations: dict) -> None:
        index = {name: i for i, name in enumerate(self._layer_names)}
        self._unit_layers = {name: (index[name], activation)
                             for name, (activation, _) in activations.items()
                             if name in index and activation in UNIT_STATS}

    def send(self, last: bool = False) -> None:
        """Send the kept steps to be summarised: to the statistics process when it is
        ready, else to the summariser thread; their rows go to the store from there.
        The ``last`` ones of a fit, which the watch waits for anyway, are summarised in
        this thread when they would go to the summariser (no thread to wake and wait on:
        measured 1.2 ms for 14 steps at defaults, against 0.3 ms of work)."""
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
        if kept.path is not None and self._process.submit(job):
            return
        if last:
            self.recorder.write(job())
        else:
            self.recorder.later(job)

    def release(self) -> None:
        """After the last summary: the sets wait in a pool for the next watch of the same
        shapes (a shared one still mapped by the statistics process)."""
        for kept in self._sets:
            _pool(kept, self._process)
        self._sets, self._spare_sets, self._kept = [], [], None

    def _job_line(self, kept: KeptSteps) -> bytes:
        """The statistics process's job line for ``kept``, to fill with (job, rows)."""
        line = self._job_lines.get(kept.path)
        if line is None:
            import json

            fixed = json.dumps({  # the set, and where its rows go and what names them
                "path": kept.path, "layout": kept.layout.to_json(),
                "histograms": self.histograms, "store": self.run.store.location,
                "run": self.run.id, "paths": self._paths,
                "update_share": self._update_share, "unit_index": self._unit_index(kept)})
            line = self._job_lines[kept.path] = (
                '{"job": %d, "m": %d, ' + fixed[1:].replace("%", "%%") + "\n").encode()
        return line


# Work memory for the next watch of the same shapes (a notebook's next fit, a sweep's next
# fold): fresh memory costs a page fault per 4 KiB at first touch, ~1 ms a fit here.
_POOL_BYTES = 16 << 20
_pool_lock = threading.Lock()
_flat_pool: OrderedDict[tuple, tuple] = OrderedDict()  # (sizes, rows): (FlatStats, Lock)
_set_pool: list[tuple] = []  # (KeptSteps, the StatsProcess that may map it, or None)


def _flat_stats(sizes: tuple, rows: int):
    """A FlatStats for these segments and its lock (one summary at a time uses it)."""
    if not sum(sizes):
        return None, threading.Lock()
    with _pool_lock:
        found = _flat_pool.pop((sizes, rows), None)
        if found is None:
            found = (FlatStats(list(sizes), rows), threading.Lock())
        _flat_pool[(sizes, rows)] = found
        while len(_flat_pool) > 4:
            _flat_pool.popitem(last=False)
        return found


def _pooled(layout: Layout, shared: bool) -> KeptSteps | None:
    shapes = layout.shapes()
    with _pool_lock:
        for i, (kept, _) in enumerate(_set_pool):
            if kept.layout.shapes() == shapes and (kept.path is not None) == shared:
                kept = _set_pool.pop(i)[0]
                kept.relabel(layout)  # another model's names, the same memory
                return kept
    return None


def _pool(kept: KeptSteps, stats) -> None:
    """Keep ``kept`` for reuse; past the pool's bytes, drop the oldest (a shared one
    loses its name, and the statistics process ``stats`` its mapping)."""
    with _pool_lock:
        _set_pool.append((kept, stats))
        size = kept.layout.nbytes()
        dropped = []
        while len(_set_pool) * size > _POOL_BYTES:  # about: sets of one model are alike
            dropped.append(_set_pool.pop(0))
    for old, old_stats in dropped:
        if old.path is not None:
            old.unlink()
            if old_stats is not None:
                old_stats.forget(old.path)


def _same_metrics(metrics: tuple, logs: dict) -> bool:
    """Whether ``logs`` holds exactly these metrics (and perhaps the loss)."""
    return len(logs) == len(metrics) + ("loss" in logs) and all(k in logs for k in metrics)


def _too_big(shape: tuple, batch: int, width: int) -> bool:
    """Whether a unit layer's output of ``shape`` does not fit rows of (batch, width)."""
    return len(shape) == 2 and (shape[0] > batch or shape[1] != width)


_ROWS = {"parameters": "values", "gradients": "grads", "update": "changes"}  # in a set


def _copy(kept: KeptSteps, row: int, observed, kind: str):
    """Copy the offered ``kind`` into its row of ``kept`` (flat, in path order); False
    if not offered (or, from a loop that copies itself, which parameters' it offered)."""
    copy_into = getattr(observed, "copy_into", None)
    if copy_into is not None:  # the loop copies straight from its own tensors
        return copy_into(kind, kept, row)
    out = getattr(kept, _ROWS[kind])[row]
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

    def __init__(self, keeper: StepKeeper, kept: KeptSteps, m: int) -> None:
        self.kept, self.m = kept, m
        self.recorder = keeper.recorder
        self.spares = keeper._spare_sets  # the set goes back there (list ops are atomic)
        self.stats = keeper._stats
        self.lock = keeper._stats_lock  # one summary at a time uses its work buffers
        self.histograms = keeper.histograms
        self.update_share = keeper._update_share
        self.unit_index = keeper._unit_index(kept)
        if kept.path is not None:
            self._line = keeper._job_line(kept)

    def message(self, number: int) -> bytes:
        return self._line % (number, self.m)

    def __call__(self):
        """The rows, for the recorder to write (in the summariser thread)."""
        try:
            with self.lock:
                irregular = summarise(self.kept, self.m, self.stats, self.histograms)
        except BaseException:
            self.spares.append(self.kept)
            raise
        return self._rows(irregular)

    def run_here(self) -> None:
        self.recorder.write(self())

    def finish(self) -> None:
        """The process has summarised the set and written its rows into the run (and
        mapped the set: its file needs no name any more): the set is free again."""
        try:
            self.kept.unlink()
        except OSError:
            pass  # removed at exit, or by the next statistics process
        self.spares.append(self.kept)

    def _rows(self, irregular: bool):
        try:
            return logged_steps(self.kept, self.m, irregular, self.histograms,
                                self.update_share, self.unit_index)
        finally:  # copied out (or failed): the set is free again, whatever happened
            self.spares.append(self.kept)
