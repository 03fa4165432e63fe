"""LiveView: loss curves and every layer's weight and bias statistics, live in a notebook cell.

``model.fit(x, y, callbacks=[gn.report.LiveView()])`` draws one HTML view under the
cell (an inline SVG chart and a table) and redraws it in place while training runs,
through IPython's ``display(..., display_id=True)`` / ``update`` — no widgets needed.

Redrawing is throttled twice: at most once every ``every`` seconds, and never when the
time spent drawing so far would exceed ``budget`` (a share) of the time since ``fit``
began, so the view costs a bounded share of training however fast the steps are
(benchmarks/live_view.py measures it). Outside a notebook there is nothing to draw in:
LiveView then shows the progress bar (unless ``fit`` already prints one).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from glassnet._engine.observing import Ask
from glassnet.callbacks import Callback, ProgbarLogger

MAX_BATCH_POINTS = 2000   # per-batch losses kept for the chart (older ones thinned)
# Epochs of fewer steps are drawn at their ends only: fit's per-batch hook costs more
# than a short epoch is worth waiting for (measured on the digits network).
PER_BATCH_FROM_STEPS = 200


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython is looked at only if already imported)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


class _CellDisplay:
    """One display in the current cell, created by the first ``update``, then redrawn.

    Mime bundles go out raw: IPython's formatters would try a dozen representations of
    an object for nothing (this is drawn during training, so its cost counts).
    """

    def __init__(self) -> None:
        self._handle = None

    def update(self, bundle: dict, raw: bool = True) -> None:
        if self._handle is None:
            from IPython.display import display

            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


class LiveView(Callback):
    """Live loss curves and per-layer weight/bias statistics in the cell that runs ``fit``.

    Parameters
    ----------
    every : float
        Seconds between redraws at most (the last state is always drawn at the end).
    budget : float
        Largest share of training time that drawing may take (0.02: 2%).
    handle : object with ``update(bundle, raw=True)``, optional
        Where to draw (an IPython ``DisplayHandle`` will do); default: a new display in
        the current cell, or the progress bar outside a notebook.
    """

    def __init__(self, every: float = 0.5, budget: float = 0.02, handle=None) -> None:
        super().__init__()
        if not every >= 0:
            raise ValueError(f"LiveView: every must be a number of seconds >= 0, got {every!r}")
        if not 0 < budget <= 1:
            raise ValueError(f"LiveView: budget must be a share in (0, 1], got {budget!r}")
        self.every = float(every)
        self.budget = float(budget)
        self.handle = handle
        self.redraws = 0
        self.drawing_seconds = 0.0

    # -- hooks ---------------------------------------------------------------------------
    def implements(self, hook: str) -> bool:
        if hook == "on_train_batch_end":  # asked by fit once params are set
            if self.handle is None and not in_notebook():
                return not self.params.get("verbose")  # the progress bar draws per batch
            return self._draws_per_batch()
        if hook == "observe_step":  # each batch's loss, offered by fit to its watchers
            return self._draws_per_batch() and (self.handle is not None or in_notebook())
        return super().implements(hook)

    def _draws_per_batch(self) -> bool:
        return self.params.get("steps", 0) >= PER_BATCH_FROM_STEPS

    def on_train_begin(self, logs=None):
        self._handle = self.handle if self.handle is not None else \
            (_CellDisplay() if in_notebook() else None)
        self._fallback = None
        if self._handle is None and not self.params.get("verbose"):
            self._fallback = ProgbarLogger(verbose=1)
            self._fallback.set_model(self.model)
            self._fallback.set_params(self.params)
        self._start = self._last = time.perf_counter()
        self.redraws, self.drawing_seconds = 0, 0.0
        self._epoch = 0
        self._step = 0
        self._per_batch = self.implements("on_train_batch_end")
        self._stride = 1          # one batch loss kept every _stride steps
        self._batch_losses: list[float] = []
        self._epochs: list[int] = []
        self._epoch_logs: dict[str, list[float]] = {}
        self._initial = {v.path: v.numpy() for v in self.model.weights}
        self._seen = 0  # batch losses offered so far

    # -- the watcher's side of fit (glassnet._engine.observing): each batch's loss --------
    def observe_begin(self, observed):
        return Ask.NOTHING  # the loss alone: nothing more to prepare

    def observe_step(self, step, loss, logs, observed):
        # called after every step: kept to a few operations (the cost is measured)
        self._seen += 1
        if self._seen % self._stride == 0:
            self._batch_losses.append(float(loss))
            if len(self._batch_losses) > MAX_BATCH_POINTS:  # bounded memory: thin by half
                del self._batch_losses[::2]
                self._stride *= 2
        return Ask.NOTHING

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self._fallback is not None:
            self._fallback.on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        # called after every step: kept to a few operations (the cost is measured)
        if self._fallback is not None:
            self._fallback.on_train_batch_end(batch, logs)
            return
        self._step += 1
        if self._handle is None:
            return
        if self._step % 16 == 0:
            self._maybe_draw()

    def on_epoch_end(self, epoch, logs=None):
        if self._fallback is not None:
            self._fallback.on_epoch_end(epoch, logs)
            return
        if self._handle is None:
            return
        if not self._per_batch:
            self._step += self.params.get("steps", 0)
        self._epochs.append(self._step)
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)):
                self._epoch_logs.setdefault(key, []).append(float(value))
        self._maybe_draw()

    def on_train_end(self, logs=None):
        self._draw()

    # -- drawing -------------------------------------------------------------------------
    def _maybe_draw(self) -> None:
        now = time.perf_counter()
        if now - self._last < self.every:
            return
        if self.drawing_seconds > self.budget * (now - self._start):
            return  # drawing has had its share of the time: wait for training to catch up
        self._draw()

    def _draw(self) -> None:
        if self._handle is None:
            return
        began = time.perf_counter()
        html = self.render()
        self._handle.update({"text/html": html, "text/plain": self._status()}, raw=True)
        self._last = time.perf_counter()
        self.drawing_seconds += self._last - began
        self.redraws += 1

    def render(self) -> str:
        """The view's HTML as it stands: the chart, then one row per kernel and bias."""
        from glassnet.report.display import box, format_value, html_table, note, shape_text
        from glassnet.report.svg import line_chart

        steps = [self._stride * (i + 1) for i in range(len(self._batch_losses))]
        series = [("batch loss", steps, self._batch_losses)]
        for key, values in self._epoch_logs.items():
            if key.endswith("loss"):
                series.append((f"epoch {key}", self._epochs[:len(values)], values,
                               key.startswith("val_")))
        chart = line_chart(series, width=460, height=200, x_label="optimizer step")
        rows = []
        for variable in self.model.weights:
            value = variable.value
            start = self._initial.get(variable.path)
            moved = float(np.linalg.norm(value - start)) if start is not None else float("nan")
            scale = float(np.linalg.norm(start)) if start is not None else 0.0
            change = format_value(moved / scale) if scale > 0 else \
                (f"{format_value(moved)} from 0" if moved == moved else "")
            rows.append([variable.path, shape_text(value.shape),
                         format_value(float(value.mean())), format_value(float(value.std())),
                         format_value(float(value.min())), format_value(float(value.max())),
                         change])
        table = html_table(["variable", "shape", "mean", "std", "min", "max",
                            "‖Δ‖/‖start‖"], rows, [False, False] + [True] * 5)
        return box(f"Training {self.model.name}",
                   note(self._status()) + f"<div>{chart}</div>" + table, "live")

    def _status(self) -> str:
        from glassnet._engine.table import format_value

        epochs = self.params.get("epochs", "?")
        last = ", ".join(f"{k} {format_value(v[-1])}" for k, v in self._epoch_logs.items())
        return (f"epoch {self._epoch + 1}/{epochs}, step {self._step}, "
                f"{time.perf_counter() - self._start:.1f}s" + (f" — {last}" if last else ""))
