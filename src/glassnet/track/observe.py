"""Between a training loop and a watcher: what a loop offers, and the rows it becomes.

A training loop — glassnet's own trainer (watched by :mod:`glassnet.track.watch`), a
plain PyTorch loop (:mod:`glassnet.track.torch_watch`), a Keras 3 ``fit``
(:mod:`glassnet.track.keras`) — offers a watcher, each step, the step number and the
batch loss (and its logs); and, at a step the watcher asked about (:class:`Ask`), what
:class:`Observed` names: the parameters by path in glassnet's (in, out) orientation,
their gradients where the loop has them, the update just applied, per-layer
activations and timings. The interface itself is stated in
:mod:`glassnet._engine.observing` (where glassnet's trainer implements it) and
re-exported here. The watcher summarises what it is offered (on the framework's device
where it has one) into plain rows and hands those to a :class:`Recorder`, which writes
them through the run's public methods under the same keys for every loop: ``loss`` every step,
``param_stats`` in :data:`glassnet.track.paramstats.COLUMNS` order, ``layer_stats``
(backward and update seconds, dead and saturated shares), ``epoch/...`` metrics,
snapshots and the architecture. Readers (tables, the dashboard, ``diagnose``) cannot
tell the runs apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from glassnet._engine.observing import Ask, Observed, StepWatcher
from glassnet.errors import ConfigError
from glassnet.track.paramstats import COLUMNS, FlatStats
from glassnet.track.summariser import summariser

_FLUSH_STEPS = 32  # logged steps handed to the writer together...
_FLUSH_SECONDS = 0.25  # ...or sooner: the writer gets every row within a quarter second
N_LAYER_COLUMNS = 4  # backward seconds, update seconds, dead share, saturated share


@dataclass
class LoggedSteps:
    """The plain rows of many logged steps at once, stacked (a watcher that batches)."""

    steps: list[int]
    times: list[float]
    stats: np.ndarray  # (m, k, 14) in COLUMNS order
    counts: np.ndarray | None = None  # (m, k, 64)
    edges: np.ndarray | None = None  # (m, k, 65) where not the 64 bins over [min, max]
    layers: np.ndarray | None = None  # (m, n_layers, 4)
    series: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)


@dataclass
class LoggedStep:
    """The plain rows of one logged step, ready for the store."""

    step: int
    stats: np.ndarray  # (k, 14) in COLUMNS order, for the Recorder's paths
    counts: np.ndarray | None = None  # (k, 64) histogram counts, or None
    edges: np.ndarray | None = None  # (k, 65) where not the 64 bins over [min, max]
    layers: np.ndarray | None = None  # (n_layers, 4) per layer, NaN where not measured
    logs: dict[str, float] = field(default_factory=dict)  # metrics at this step
    time: float = field(default_factory=time.time)


def check_options(log_freq, snapshots) -> int:
    """``log_freq`` as an int, or ConfigError; ``snapshots`` checked as the watch's."""
    if isinstance(log_freq, bool) or not isinstance(log_freq, (int, np.integer)) \
            or log_freq < 1:
        raise ConfigError(f"watch log_freq must be a positive int, got {log_freq!r}")
    every = isinstance(snapshots, (int, np.integer)) and not isinstance(snapshots, bool)
    if not (snapshots is None or snapshots in ("epoch", "end") or (every and snapshots > 0)):
        raise ConfigError(f"watch snapshots must be 'epoch', 'end', a positive int (every "
                          f"N steps) or None, got {snapshots!r}")
    return int(log_freq)


class Recorder:
    """Turns a watcher's plain rows into a run's records; one per watched model.

    ``paths`` names the parameters each :class:`LoggedStep`'s ``stats`` rows describe,
    ``layers`` the layers of its ``layers`` rows. Rows are buffered and handed over
    every 32 logged steps or quarter second, and at :meth:`flush` and :meth:`close`.
    """

    def __init__(self, run, paths: list[str], layers: list[str]) -> None:
        self.run = run
        self.paths = list(paths)
        self.layers = list(layers)
        self._losses: list[float] = []
        self._loss_start = 0
        self._logged: list[LoggedStep] = []
        self._handed_at = time.time()

    def architecture(self, config: dict | None, compile_config: dict | None = None) -> None:
        """Record the model as a glassnet ``get_config()`` (None: not describable)."""
        if config is not None:
            self.run.store.set_model_config(self.run.id, config, compile_config)

    def framework(self, name: str, version: str | None) -> None:
        """Name the framework whose model is watched (``"PyTorch"``, ``"Keras"``) in the
        run's ``env["framework"]``, which the dashboard's run page shows."""
        env = dict(self.run.env)
        env["framework"] = {"name": str(name), "version": None if version is None
                            else str(version)}
        self.run.env = env
        self.run.store.set_run_env(self.run.id, env)

    def loss(self, step: int, value: float) -> None:
        """The batch loss of ``step``."""
        self.losses(step, [value])

    def losses(self, start: int, values: list[float]) -> None:
        """The batch losses of steps ``start``, ``start + 1``... (following the last)."""
        if not values:
            return
        if self._losses and self._loss_start + len(self._losses) != start:
            self.flush()  # a gap (steps not logged): the series so far goes first
        if not self._losses:
            self._loss_start = start
        self._losses.extend(float(v) for v in values)
        if time.time() - self._handed_at > _FLUSH_SECONDS:
            self.flush()

    def logged(self, row: LoggedStep) -> None:
        """A logged step's statistics."""
        if row.stats.shape != (len(self.paths), len(COLUMNS)):
            raise ConfigError(f"a logged step's stats must be ({len(self.paths)}, "
                              f"{len(COLUMNS)}), got {row.stats.shape}")
        self._logged.append(row)
        if len(self._logged) >= _FLUSH_STEPS or time.time() - self._handed_at > _FLUSH_SECONDS:
            self.flush()

    def metrics(self, step: int, values: dict[str, float]) -> None:
        """Numbers at ``step`` (epoch metrics): written now, through ``run.log``."""
        self.flush()  # the per-step loss first, so the summary ends with the epoch's values
        self.run.log({key: float(value) for key, value in values.items()}, step=step)

    def snapshot(self, step: int, label: str, arrays: dict[str, np.ndarray]) -> None:
        """Every parameter at ``step`` (copies nobody will change), labelled as the watch's."""
        self.run.store.log_snapshot(self.run.id, step, label, arrays)

    def later(self, summarise, latest: dict[str, float] | None = None) -> None:
        """Queue ``summarise()`` -> [LoggedStep] or :class:`LoggedSteps`, run in another
        thread (:mod:`glassnet.track.summariser`), so statistics are computed while
        training goes on; its rows go to the store as they are made. ``latest``: the
        last value of each metric in those steps, for the run's summary."""
        self.run.summary.update(latest or {})
        summariser().submit(lambda: self.write(summarise()))

    def write(self, logged) -> None:
        """Hand rows made elsewhere (:class:`LoggedSteps`, or a list of LoggedStep) to
        the store's writer now: what a summary made off this thread does."""
        block = logged if isinstance(logged, LoggedSteps) else _stacked(logged)
        write_blocks(self.run.store, self.run.id, self.paths, self.layers, block)

    def close(self) -> None:
        """Hand everything over and wait until every queued summary is with the store."""
        from glassnet.track.stats_process import stats_process

        self.flush()
        summariser().wait()
        helper = stats_process(start=False)
        if helper is not None:
            helper.wait()

    def flush(self) -> None:
        """Hand everything buffered to the store's writer."""
        now = time.time()
        if self._losses:
            self.run.log_steps("loss", range(self._loss_start,
                                             self._loss_start + len(self._losses)),
                               self._losses)
            self._losses = []
        logged, self._logged = self._logged, []
        self.write(logged)
        if logged:
            self.run.summary.update(logged[-1].logs)
        self._handed_at = now


def write_blocks(store, run_id: str, paths: list[str], layers: list[str],
                 block: LoggedSteps | None) -> None:
    """Queue a run's :class:`LoggedSteps` with ``store``'s writer (``paths`` and
    ``layers`` name its stats and layers rows): the watches' and the statistics
    process's one way to the store."""
    for kind, arguments in store_blocks(run_id, paths, layers, block):
        getattr(store, f"log_{kind}")(*arguments)


def store_blocks(run_id: str, paths: list[str], layers: list[str],
                 block: LoggedSteps | None) -> list[tuple[str, tuple]]:
    """``[(kind, arguments of store.log_<kind>)]`` of a run's :class:`LoggedSteps`
    (``paths`` and ``layers`` name its stats and layers rows)."""
    if block is None or not block.steps:
        return []
    out = []
    steps, times = block.steps, block.times
    if paths:
        out.append(("param_block", (run_id, steps, paths, block.stats, block.counts,
                                    block.edges, times)))
    if layers and block.layers is not None:
        out.append(("layer_block", (run_id, steps, layers, block.layers, times)))
    for key, (key_steps, values) in block.series.items():
        out.append(("metric_series", (run_id, key, key_steps, values, times[-1])))
    return out


def _stacked(logged: list[LoggedStep]) -> LoggedSteps | None:
    if not logged:
        return None
    stats = np.stack([r.stats for r in logged])
    counts = None if any(r.counts is None for r in logged) else np.stack(
        [r.counts for r in logged])
    edges = None
    if counts is not None and any(r.edges is not None for r in logged):
        edges = np.stack([_edges(r) for r in logged])
    layers = None if any(r.layers is None for r in logged) else np.stack(
        [r.layers for r in logged])
    series: dict[str, tuple[list, list]] = {}
    for r in logged:
        for key, value in r.logs.items():
            key_steps, values = series.setdefault(key, ([], []))
            key_steps.append(r.step)
            values.append(float(value))
    return LoggedSteps([r.step for r in logged], [r.time for r in logged], stats, counts,
                       edges, layers, series)


def _edges(row: LoggedStep) -> np.ndarray:
    if row.edges is not None:
        return row.edges
    from glassnet.track.paramstats import uniform_edges

    return np.stack([uniform_edges(lo, hi) for lo, hi in row.stats[:, 3:5]])


def numpy_stats(values: list[np.ndarray], gradients: list[np.ndarray] | None,
                previous: list[np.ndarray] | None, histograms: bool):
    """``(stats (k, 14), counts (k, 64) | None, edges | None)`` of NumPy arrays, as
    glassnet's own watch computes them (:class:`~glassnet.track.paramstats.FlatStats`);
    the gradient columns are NaN without ``gradients``, ``update_ratio`` without
    ``previous``."""
    sizes = [int(np.size(v)) for v in values]
    n = sum(sizes)
    row = np.empty((1, 2 * n), dtype=np.float64)
    row[0, :n] = np.concatenate([np.ravel(v) for v in values]) if n else []
    row[0, n:] = np.concatenate([np.ravel(g) for g in gradients]) if gradients else 0.0
    before = None
    if previous is not None:
        before = np.concatenate([np.ravel(p) for p in previous]).reshape(1, n)
    stats, counts, edges = FlatStats(sizes).compute(row, before, histograms)
    stats = stats[0]
    if not gradients:
        stats[:, 7:13] = np.nan
    return (stats, None if counts is None else counts[0],
            None if edges is None else edges[0])


__all__ = ["Ask", "LoggedStep", "LoggedSteps", "Observed", "Recorder", "StepWatcher",
           "check_options", "numpy_stats", "store_blocks", "write_blocks"]
