"""Statistics of a watched torch module's logged steps, computed on its device (CUDA).

On the CPU a watch keeps its steps as glassnet's own does (:mod:`glassnet.track.torch_offer`
and :mod:`glassnet.track.step_keeper`); where the parameters live on another device,
:class:`DeviceSteps` keeps them there and :class:`TorchStats` summarises them with torch
ops, so that only small results cross to the host.

The same numbers as :class:`glassnet.track.paramstats.FlatStats` (the columns of
:data:`~glassnet.track.paramstats.COLUMNS`, the 64 bins over each tensor's [min, max]).
A logged step only copies its parameters and gradients into one row of a device buffer
(:meth:`TorchStats.keep`); a summary then takes up to ``max_rows`` kept steps together:
each statistic of every parameter *and* gradient is one reduction over a slice of the
buffer holding all kept steps, and all histograms are one ``bincount``. Only the small
results -- (m, k, 14) statistics and (m, k, 64) counts -- are copied to the host.
"""

from __future__ import annotations

import numpy as np

from glassnet.track.batch_stats import DEAD, SATURATED
from glassnet.track.observe import N_LAYER_COLUMNS, LoggedStep
from glassnet.track.paramstats import COLUMNS, HIST_BINS, uniform_edges
from glassnet.track.torch_offer import copy_tensors

_SLOTS = HIST_BINS + 1  # the right edge itself, folded into the last bin as np.histogram does


class _Buffers:
    """One set of kept rows: values then gradients, and the values before each update."""

    def __init__(self, rows, previous, k: int, shapes: list, sizes: list[int]) -> None:
        self.rows, self.previous = rows, previous
        self.has_grad = np.zeros((rows.shape[0], k), dtype=bool)
        self.has_previous = np.zeros(rows.shape[0], dtype=bool)
        # the values before row r's update are row r - 1's values (consecutive logged steps)
        self.previous_is_row_before = np.zeros(rows.shape[0], dtype=bool)
        self._shapes, self._sizes = shapes, sizes
        self._views: dict[tuple, list] = {}
        self._targets: dict[int, list] = {}

    def targets(self, row: int) -> list:
        """The views of row ``row`` that a step's values then gradients are copied into."""
        targets = self._targets.get(row)
        if targets is None:
            targets = self._targets[row] = self.views("values", row) + self.views("grads", row)
        return targets

    def views(self, kind: str, row: int) -> list:
        """Views of row ``row`` (values, gradients or previous values) shaped as each tensor."""
        key = (kind, row)
        views = self._views.get(key)
        if views is None:
            n = self.previous.shape[1]
            base = {"values": self.rows[row, :n], "grads": self.rows[row, n:],
                    "previous": self.previous[row]}[kind]
            views, start = [], 0
            for shape, size in zip(self._shapes, self._sizes, strict=True):
                views.append(base[start:start + size].view(shape))
                start += size
            self._views[key] = views
        return views


class TorchStats:
    """Per-tensor statistics of a fixed list of tensors, kept step by step on their device."""

    def __init__(self, tensors, max_rows: int = 32) -> None:
        import torch

        self.torch = torch
        sizes = [int(t.numel()) for t in tensors]
        device, dtype = tensors[0].device, tensors[0].dtype
        for t in tensors[1:]:  # one buffer holds all: in the widest of their dtypes
            dtype = torch.promote_types(dtype, t.dtype)
        self.k, self.n, self.max_rows = len(sizes), sum(sizes), int(max_rows)
        self.sizes = np.array(sizes, dtype=np.int64)
        segment = torch.repeat_interleave(torch.arange(self.k, device=device),
                                          torch.tensor(sizes, device=device))
        self._segment = segment  # each value's tensor, for the histograms' bincount
        ends = np.cumsum(sizes + sizes).tolist()
        self._bounds2 = list(zip([0] + ends[:-1], ends, strict=True))
        self._dtype, self._device = dtype, device
        self._shapes = [tuple(t.shape) for t in tensors]
        self._spare: list[_Buffers] = []  # given back by summaries (list ops are atomic)
        self._current = self._new_buffers()

    def _new_buffers(self) -> _Buffers:
        torch = self.torch
        return _Buffers(
            torch.zeros((self.max_rows, 2 * self.n), dtype=self._dtype, device=self._device),
            torch.zeros((self.max_rows, self.n), dtype=self._dtype, device=self._device),
            self.k, self._shapes, self.sizes.tolist())

    def keep(self, row: int, values, grads) -> None:
        """Copy a logged step's values and gradients (None where absent) into ``row``."""
        values = list(values)
        copied = copy_tensors(self.torch, self._current.targets(row), values + list(grads))
        self._current.has_grad[row] = True if copied is True else copied[len(values):]

    def keep_previous(self, row: int, values) -> None:
        """The values before the update of the step that will be kept in ``row``."""
        buffers = self._current
        copy_tensors(self.torch, buffers.views("previous", row), list(values))
        buffers.has_previous[row] = True

    def previous_is_kept(self, row: int) -> bool:
        """Say that the values before ``row``'s update are those just kept in ``row - 1``
        (the step before was logged and nothing moved them since): no copy at all. Row 0
        of fresh buffers has no row before it: False, and :meth:`keep_previous` copies."""
        buffers = self._current
        if row == 0:
            return False
        buffers.previous_is_row_before[row] = True
        buffers.has_previous[row] = True
        return True

    def take(self, m: int, histograms: bool):
        """The first ``m`` kept rows, as a job that summarises them (in any thread, one
        at a time); keeping goes on in fresh buffers meanwhile."""
        buffers = self._current
        self._current = self._spare.pop() if self._spare else self._new_buffers()
        return lambda: self._summarise(buffers, m, histograms)

    def _summarise(self, buffers: _Buffers, m: int, histograms: bool):
        """``(stats (m, k, 14), counts (m, k, 64) | None, edges (m, k, 65) | None)``."""
        try:
            return self._compute_on_device(buffers, m, histograms)
        finally:
            buffers.has_previous[:] = False
            buffers.previous_is_row_before[:] = False
            self._spare.append(buffers)

    def _previous(self, buffers: _Buffers, m: int):
        """(m, n) values before each row's update: kept, or the row before's values."""
        previous = buffers.previous[:m]
        before = np.flatnonzero(buffers.previous_is_row_before[:m])
        if before.size:
            previous = previous.clone()
            index = self.torch.from_numpy(before).to(previous.device)
            previous[index] = buffers.rows[index - 1, :self.n]
        return previous

    def _compute_on_device(self, buffers: _Buffers, m: int, histograms: bool):
        torch = self.torch
        k = self.k
        with torch.no_grad():
            x = buffers.rows[:m].to(torch.float64)
            # segment by segment (slices are views): a few ops per tensor beat scattering
            # every element to its segment
            columns = [_summary(x[:, a:b]) for a, b in self._bounds2]
            table = torch.stack(columns, dim=1)  # (m, 2k, 6)
            lo, hi = table[:, :, 2], table[:, :, 3]
            values = x[:, :self.n]
            d = values - self._previous(buffers, m).to(torch.float64)
            change = torch.stack([d[:, a:b].norm(dim=1) for a, b in self._bounds2[:k]], dim=1)
            counts = self._histograms(values, lo[:, :k], hi[:, :k]) if histograms else None
            table = table.cpu().numpy()
            change = change.cpu().numpy()
            counts = None if counts is None else counts.cpu().numpy()
        stats = np.empty((m, k, len(COLUMNS)), dtype=np.float64)
        stats[:, :, 0] = self.sizes
        stats[:, :, 1:7] = table[:, :k]
        stats[:, :, 7:13] = table[:, k:]
        stats[:, :, 7:13][~buffers.has_grad[:m]] = np.nan
        l2 = stats[:, :, 5]
        with np.errstate(invalid="ignore", divide="ignore"):
            stats[:, :, 13] = np.where(l2 > 0, change / np.where(l2 > 0, l2, 1.0), np.nan)
        stats[~buffers.has_previous[:m], :, 13] = np.nan
        edges = None
        if counts is not None and not np.isfinite(stats[:, :, 3:5]).all():
            counts, edges = _finite_histograms(values.cpu().numpy(), stats, counts, self.sizes)
        return stats, counts, edges

    def _histograms(self, x, lo, hi):
        torch = self.torch
        m, k = lo.shape
        width = hi - lo
        constant = width <= 0  # np.histogram's rule: [v - 0.5, v + 0.5]
        lo = torch.where(constant, lo - 0.5, lo)
        width = torch.where(constant, torch.ones_like(width), width)
        t = (x - lo[:, self._segment]) * (HIST_BINS / width[:, self._segment])
        t = torch.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0)  # redone on the host
        slots = (torch.arange(m, device=x.device) * k).unsqueeze(1) + self._segment
        index = t.to(torch.int64).clamp_(0, HIST_BINS) + slots * _SLOTS
        counts = torch.bincount(index.reshape(-1), minlength=m * k * _SLOTS)
        counts = counts.reshape(m, k, _SLOTS)
        counts[:, :, HIST_BINS - 1] += counts[:, :, HIST_BINS]
        return counts[:, :, :HIST_BINS]


class DeviceSteps:
    """A watch's logged steps kept on the parameters' device and summarised there, many
    at once, in the summariser thread; their rows go to ``recorder``."""

    def __init__(self, torch, recorder, params: list, units: list[tuple[str, str]],
                 histograms: bool, max_rows: int = 32) -> None:
        self._torch, self.recorder, self.histograms = torch, recorder, histograms
        self._params, self._units = params, units
        self._stats = TorchStats(params, max_rows) if params else None
        self._max_rows = max_rows
        self._pending: list[tuple] = []  # (step, time, outputs' ranges, logs, timings)
        self._last_kept = -2

    def prepare(self, step: int) -> None:
        """Before logged step ``step``: W kept for its ΔW (unless the row before has it)."""
        if self._stats is None:
            return
        row = len(self._pending)
        if not (self._last_kept == step - 1 and self._stats.previous_is_kept(row)):
            self._stats.keep_previous(row, self._params)

    def keep(self, step: int, logs: dict, outputs: dict, backward: dict, now: float) -> bool:
        """Copy a logged step (on the device); True when the rows are full."""
        if self._stats is not None:
            self._stats.keep(len(self._pending), self._params, [p.grad for p in self._params])
        ranges = {}
        for name, activation in self._units:
            out = outputs.get(name)
            if out is not None:
                ranges[name] = (None if activation in DEAD else out.amin(0), out.amax(0))
        self._pending.append((step, now, ranges, logs, backward))
        self._last_kept = step
        return len(self._pending) == self._max_rows

    def send(self, last: bool = False) -> None:
        """Summarise the kept steps in the summariser thread (here when ``last``)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        m = len(pending)
        summarise = self._stats.take(m, self.histograms) if self._stats is not None \
            else (lambda: (np.empty((m, 0, len(COLUMNS))), None, None))
        latest: dict[str, float] = {}
        for _, _, _, logs, _ in pending:
            latest.update(logs)
        if last:
            self.recorder.run.summary.update(latest)
            self.recorder.write(self._rows(pending, summarise))
        else:
            self.recorder.later(lambda: self._rows(pending, summarise), latest)

    def release(self) -> None:
        pass

    def _rows(self, pending, summarise) -> list[LoggedStep]:
        stats, counts, edges = summarise()
        layers = self._layer_rows(pending)
        return [LoggedStep(step, stats[r], None if counts is None else counts[r],
                           None if edges is None else edges[r], layers[r], logs, at)
                for r, (step, at, _, logs, _) in enumerate(pending)]

    def _layer_rows(self, pending) -> np.ndarray:
        torch = self._torch
        rows = np.full((len(pending), len(self._units), N_LAYER_COLUMNS), np.nan)
        for r, kept in enumerate(pending):  # backward seconds, where timed
            for i, (name, _) in enumerate(self._units):
                rows[r, i, 0] = kept[4].get(name, np.nan)
        for i, (name, activation) in enumerate(self._units):
            kept = [(r, p[2][name]) for r, p in enumerate(pending) if name in p[2]]
            if not kept:
                continue
            which = [r for r, _ in kept]
            hi = torch.stack([high for _, (_, high) in kept])
            if activation in DEAD:
                flat, column = hi <= 0, 2
            elif activation in SATURATED:
                lo = torch.stack([low for _, (low, _) in kept])
                flat, column = SATURATED[activation](lo, hi), 3
            else:
                continue
            rows[which, i, column] = (flat.sum(1).to(torch.float64) / hi.shape[1]).cpu().numpy()
        return rows


def _summary(x):
    """(m, 6): mean, std (population), min, max, L2 norm, share negative of each row."""
    import torch

    std, mean = torch.std_mean(x, dim=1, correction=0)  # two passes: stable at large means
    lo, hi = torch.aminmax(x, dim=1)
    negative = (x < 0).sum(dim=1).to(x.dtype) / x.shape[1]
    return torch.stack((mean, std, lo, hi, torch.linalg.vector_norm(x, dim=1), negative),
                       dim=1)


def _finite_histograms(values: np.ndarray, stats: np.ndarray, counts: np.ndarray,
                       sizes: np.ndarray):
    """Where a tensor holds NaN or inf, its histogram spans its finite values (as
    FlatStats does); its min/max columns keep what torch found."""
    m, k = stats.shape[:2]
    edges = np.empty((m, k, HIST_BINS + 1))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for r in range(m):
        for i, (start, size) in enumerate(zip(offsets, sizes, strict=True)):
            edges[r, i] = uniform_edges(*stats[r, i, 3:5])
            if np.isfinite(stats[r, i, 3:5]).all():
                continue
            part = values[r, start:start + size]
            part = part[np.isfinite(part)]
            lo, hi = (part.min(), part.max()) if part.size else (0.0, 0.0)
            edges[r, i] = uniform_edges(lo, hi)
            counts[r, i] = np.histogram(part, bins=edges[r, i])[0]
    return counts, edges
