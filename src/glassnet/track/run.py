"""A recorded run: ``gn.track.init(...)`` -> :class:`Run` with ``log``, ``watch``, ``finish``.

Shaped like W&B's ``wandb.init``: a run has an id (8 hex digits), a name (generated
when not given), a config, and a summary (the last value of every logged key). It is a
context manager: leaving the ``with`` block on an exception marks it ``failed`` with the
error. A run still open when the interpreter exits is finished then (``failed`` when the
exit came from an uncaught exception).
"""

from __future__ import annotations

import atexit
import numbers
import os
import sys
import threading
import time
import traceback

import numpy as np

from glassnet.track.env import environment, process_fingerprint
from glassnet.track.errors import ConfigError, StoreError, ValueTypeError
from glassnet.track.store import Store, open_store


class Run:
    """One training run being recorded; create it with :func:`init`.

    Threads: a Run may be shared by several threads. Each ``log``, ``log_*`` and
    ``finish`` call (and each step a ``watch`` records) holds the run's lock, so it
    happens whole, before or after any other: ``log`` without a step takes the next step
    under that lock, so N such calls from any threads store N rows at N distinct steps,
    and the summary holds, per key, the value of the call that came last. A call made
    after ``finish`` raises ConfigError. Which thread's call comes first is not
    guaranteed; a ``log_model`` from one thread makes the others' calls wait for it.
    """

    def __init__(self, store: Store, project: str, name: str | None = None,
                 config: dict | None = None, tags=None, group: str | None = None) -> None:
        if not isinstance(project, str) or not project:
            raise ConfigError(f"project must be a non-empty string, got {project!r}")
        if config is not None and not isinstance(config, dict):
            raise ValueTypeError(f"config must be a dict, got {type(config).__name__}")
        self.store = store
        self.project = project
        self.config = dict(config or {})
        tags = [tags] if isinstance(tags, str) else list(tags or [])
        self.group = group
        self.env = environment()
        self.id, self.name = store.create_run(
            project, name, self.config, tags, group, self.env, process_fingerprint()
        )
        self._tags = RunTags(self, tags)
        self.summary: dict[str, float] = {}
        self.status = "running"
        self._last_step = -1
        self._step_object = None
        self._watchers: list = []  # watched PyTorch modules: finished with the run
        self._lock = threading.RLock()  # makes each log/finish atomic across threads
        _active[self.id] = self

    def __repr__(self) -> str:
        return (f"Run(id={self.id!r}, name={self.name!r}, project={self.project!r}, "
                f"status={self.status!r})")

    def _repr_html_(self) -> str:  # a notebook cell's rich display (glassnet.report.display)
        from glassnet.report.display import run_html
        return run_html(self)

    def _repr_markdown_(self) -> str:
        from glassnet.report.display import run_markdown
        return run_markdown(self)

    @property
    def tags(self) -> RunTags:
        """The run's tags: ``run.tags.add("baseline")``, ``run.tags.remove("old")``, or
        ``run.tags = [...]``; written to the store at once, during the run or after it."""
        return self._tags

    @tags.setter
    def tags(self, tags) -> None:
        self._tags._items = self.store.set_tags(self.id, tags)

    @property
    def note(self) -> str:
        """The run's note, markdown text ("" when none); ``run.note = "..."`` writes it."""
        return self.store.run(self.id)["note"]

    @note.setter
    def note(self, text: str) -> None:
        self.store.set_note(self.id, text)

    @property
    def step(self) -> _Step:
        """The last step logged (-1 before anything is logged), an int.

        Also callable, for a PyTorch loop: ``run.step(loss=loss)`` once per optimizer
        step, after ``optimizer.step()``, tells the watcher of ``run.watch(module)``
        that a step is done (see :mod:`glassnet.track.torch_watch`)."""
        cached = self._step_object  # a PyTorch loop reads it every step: made once
        if cached is None or cached != self._last_step:
            cached = self._step_object = _Step(self._last_step, self)
        return cached

    def log_steps(self, key: str, steps, values) -> None:
        """Record many steps of one key at once: ``steps`` (ascending ints), ``values``
        (floats, one per step). What a watcher uses for the per-step ``loss``."""
        steps = range(steps.start, steps.stop) if isinstance(steps, range) else list(steps)
        values = [float(v) for v in values]
        if len(steps) != len(values):
            raise ConfigError(f"run.log_steps({key!r}): {len(steps)} steps but "
                              f"{len(values)} values")
        if not values:
            return
        with self._lock:
            self._check_open()
            self.store.log_metric_series(self.id, key, steps, values, time.time())
            self.summary[key] = values[-1]
            if steps[-1] > self._last_step:
                self._last_step = int(steps[-1])

    def log(self, data: dict, step: int | None = None) -> None:
        """Record numbers under their keys at ``step`` (default: the step after the last one)."""
        if not isinstance(data, dict):
            raise ValueTypeError(f"run.log expects a dict of numbers, got {type(data).__name__}")
        values = {}
        for key, value in data.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"run.log keys must be non-empty strings, got {key!r}")
            values[key] = _to_float(key, value)
        if step is not None and (not isinstance(step, numbers.Integral) or step < 0):
            raise ConfigError(f"step must be a non-negative integer, got {step!r}")
        with self._lock:  # read-and-increment of the step must not interleave
            self._log_floats(self._last_step + 1 if step is None else int(step), values)

    def _log_floats(self, step: int, values: dict[str, float]) -> None:
        """Fast path for trusted callers (the watch): values are already floats."""
        with self._lock:
            self._check_open()
            self.store.log_metrics(self.id, step, values, time.time())
            self.summary.update(values)
            self.store.log_summary(self.id, self.summary)
            if step > self._last_step:
                self._last_step = step

    def watch(self, model=None, log_freq: int = 100, histograms: bool = True,
              snapshots="end", include=None, timings: bool = False):
        """A training callback recording this run: pass it in ``model.fit(callbacks=[...])``.

        Given a ``torch.nn.Module`` as ``model``, it watches that module in a plain
        PyTorch loop instead: call ``run.step(loss=loss)`` after each
        ``optimizer.step()``; ``include`` (glob patterns on parameter names) selects
        what is watched; ``timings=True`` times each layer's backward pass at logged
        steps; hooks are removed at ``finish()`` (:mod:`glassnet.track.torch_watch`).

        Every step: the batch's ``loss``. Every ``log_freq`` steps: the compiled metrics,
        statistics of every Variable and its gradient, update ratios, 64-bin histograms
        (when ``histograms``), per-layer timing and dead/saturated unit shares. Every
        epoch: ``epoch/loss``, ``epoch/val_loss``, ``epoch/<metric>``... Snapshots of every
        Variable: ``"end"``, ``"epoch"``, an int N (every N steps) or None; with any of
        them, the weights before training are kept too, at step -1. The default
        (``log_freq=100``) costs a few percent of training time; ``log_freq=1`` under 2x.
        """
        from glassnet.io.frameworks import is_keras_model, is_torch_module

        if is_keras_model(model):
            raise ConfigError("run.watch() takes a glassnet model or a torch.nn.Module; for a "
                              "Keras model use glassnet.track.keras.Watch(run) in its fit")
        if is_torch_module(model):
            from glassnet.track.torch_watch import TorchWatch

            watcher = TorchWatch(self, model, log_freq=log_freq, histograms=histograms,
                                 snapshots=snapshots, include=include, timings=timings)
            self._watchers.append(watcher)
            return watcher
        if isinstance(model, numbers.Number):
            raise ConfigError(f"run.watch's first argument is the model; got {model!r} "
                              f"(pass log_freq={model!r} by name)")
        if include is not None:
            raise ConfigError("watch include= selects parameters of a PyTorch module; a "
                              "glassnet model's watch records every Variable")
        from glassnet.track.watch import Watch

        return Watch(self, log_freq=log_freq, histograms=histograms, snapshots=snapshots)

    def log_dataset(self, name: str, save: bool = True, **arrays) -> int:
        """Record the dataset this run uses (``X=..., y=...``); return its version number.

        The content (each array's bytes, shape and dtype) is hashed: the same data gets
        the same version in any process; new data under the same name gets the next.
        """
        from glassnet.track.registry import log_dataset

        with self._lock:
            self._check_open()
            return log_dataset(self.store, name, arrays, run_id=self.id, save=save)

    def log_model(self, model, name: str, aliases=("latest",)) -> int:
        """Save ``model`` as a new version of ``name`` in the registry; move ``aliases`` to it."""
        from glassnet.track.registry import log_model

        with self._lock:
            self._check_open()
            return log_model(self.store, model, name, aliases=aliases, run_id=self.id,
                             meta={"summary": dict(self.summary)})

    def log_artifact(self, path, name: str | None = None, kind: str = "file") -> str:
        """Store a file as a content-addressed blob linked to this run; return its sha256."""
        with self._lock:
            self._check_open()
            sha = self.store.blobs.put_file(path)
            self.store.add_artifact(self.id, kind, name or os.path.basename(path), sha,
                                    os.path.getsize(path))
            return sha

    def finish(self, status: str = "finished", error: str | None = None) -> None:
        """Flush every row and close the run with ``status``; calling it again does nothing.

        When rows cannot be written (the disk is full, the store read-only), the run is
        closed ``failed`` with that cause where the store still takes that much, and
        StoreError says what happened and how many rows were not written.
        """
        with self._lock:
            if self.status != "running":
                return
            watchers, self._watchers = self._watchers, []
            for watcher in watchers:  # their last rows, then their hooks removed
                watcher.finish()
            try:
                self.store.finish_run(self.id, status, self.summary, error)
            except StoreError:
                self.status = "failed"  # no more logging; the store says why
                _active.pop(self.id, None)
                raise
            self.status = status
            _active.pop(self.id, None)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish()
        else:
            self.finish("failed", error=_describe(exc_type, exc, tb))
        return False

    def _check_open(self) -> None:
        if self.status != "running":
            raise ConfigError(f"run {self.id!r} is {self.status}; start a new run to log more")


def init(project: str = "default", name: str | None = None, config: dict | None = None,
         store=None, tags=None, group: str | None = None) -> Run:
    """Start a recorded run in ``store``: a folder, default ``$GLASSNET_STORE`` or ./glassnet-runs.

    ``tags`` (a list of strings) and ``group`` (e.g. a sweep id) help find runs later.
    """
    _install_exit_hooks()
    return Run(open_store(store), project, name=name, config=config, tags=tags, group=group)


class RunTags:
    """``run.tags``: the tags of one run, kept in the store; reads like a list.

    ``add(*tags)`` and ``remove(*tags)`` (absent tags are ignored) write at once; ``==``
    compares with a list or another RunTags; ``list(run.tags)`` copies them."""

    __slots__ = ("_run", "_items")

    def __init__(self, run: Run, items: list[str]) -> None:
        self._run = run
        self._items = list(items)

    def add(self, *tags: str) -> None:
        self._items = self._run.store.tag_run(self._run.id, add=tags)

    def remove(self, *tags: str) -> None:
        self._items = self._run.store.tag_run(self._run.id, remove=tags)

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, tag) -> bool:
        return tag in self._items

    def __getitem__(self, i):
        return self._items[i]

    def __eq__(self, other) -> bool:
        if isinstance(other, RunTags):
            return self._items == other._items
        return isinstance(other, (list, tuple)) and self._items == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self._items)


class _Step(int):
    """``run.step``: the last step logged, as an int; calling it reports a PyTorch step."""

    def __new__(cls, value: int, run: Run):
        step = super().__new__(cls, value)
        step._run = run
        return step

    def __call__(self, loss=None, **logs) -> None:
        watchers = self._run._watchers
        if not watchers:
            raise ConfigError("run.step(loss=...) reports a step to a watched PyTorch module; "
                              "call run.watch(module) first")
        for watcher in watchers:
            watcher.step(loss, logs)


def _to_float(key: str, value) -> float:
    if type(value) is float:  # the common case first: a watch logs every epoch
        return value
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ValueTypeError(f"run.log value for {key!r} must be a real number, "
                         f"got {type(value).__name__}")


def _describe(exc_type, exc, tb) -> str:
    lines = traceback.format_exception(exc_type, exc, tb)
    return f"{exc_type.__name__}: {exc}\n" + "".join(lines[-6:])


# -- runs left open at exit ------------------------------------------------------------
_active: dict[str, Run] = {}
_uncaught: list = []
_hooks_installed = threading.Lock()
_installed = False


def _install_exit_hooks() -> None:
    global _installed
    with _hooks_installed:
        if _installed:
            return
        previous = sys.excepthook

        def excepthook(exc_type, exc, tb):
            _uncaught.append((exc_type, exc, tb))
            previous(exc_type, exc, tb)

        sys.excepthook = excepthook
        atexit.register(_finish_open_runs)
        _installed = True


def _finish_open_runs() -> None:
    for run in list(_active.values()):
        if run.store._pid != os.getpid():
            continue  # inherited through fork: the parent owns it
        try:
            if _uncaught:
                run.finish("failed", error=_describe(*_uncaught[-1]))
            else:
                run.finish()
        except Exception:
            pass
