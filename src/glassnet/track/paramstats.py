"""Statistics of many Variables at once, from flat arrays: the watch's hot path.

A model keeps all its trainable Variables as consecutive segments of one flat buffer
(and their gradients in a second one). Summarising them one by one costs a few NumPy
calls per statistic per Variable; here each statistic of every Variable *and* every
gradient is one ``ufunc.reduceat`` over one work buffer, and the 64-bin histograms of
all Variables are one ``np.bincount`` over bin indices computed in a handful of calls.
"""

from __future__ import annotations

import numpy as np

from glassnet.inspect.moments import SegmentSummary
from glassnet.track.errors import ConfigError

HIST_BINS = 64
_SLOTS = HIST_BINS + 1  # per histogram in the bincount: 64 bins and the right edge
# Columns of the (n_variables, 14) array returned by FlatStats.compute, in order.
COLUMNS = ("count", "mean", "std", "min", "max", "l2", "neg_share",
           "grad_mean", "grad_std", "grad_min", "grad_max", "grad_l2", "grad_neg_share",
           "update_ratio")


def uniform_edges(lo: float, hi: float) -> np.ndarray:
    """The 65 edges of the 64 equal bins over [lo, hi] (a constant gets [v - 0.5, v + 0.5])."""
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo + (hi - lo) * (np.arange(HIST_BINS + 1, dtype=np.float64) / HIST_BINS)


class FlatStats:
    """Per-segment statistics of flat arrays split into segments of ``sizes``.

    :meth:`compute` summarises many steps at once (one row per step), so that the cost
    of each NumPy call is shared by every Variable of every step in the batch.
    """

    def __init__(self, sizes: list[int], max_rows: int = 1) -> None:
        sizes = np.asarray(sizes, dtype=np.int64)
        if sizes.size == 0 or np.any(sizes <= 0):
            raise ConfigError(f"segment sizes must be positive, got {sizes.tolist()}")
        k, n = len(sizes), int(sizes.sum())
        self.k, self.n, self.sizes = k, n, sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        # a row holds the values in [:n] and the gradients in [n:]: 2k segments reduced at once
        self._summary = SegmentSummary(np.concatenate([sizes, sizes]))
        # Work buffers for up to max_rows rows, allocated on first need and reused: fresh
        # large arrays would cost page faults on every call.
        self.max_rows = int(max_rows)
        self._capacity = 0
        self._grow(1)

    def _grow(self, rows: int) -> None:
        capacity = min(self.max_rows, max(rows, 2 * self._capacity))
        n = self.n
        self._x = np.empty((capacity, 2 * n), dtype=np.float64)
        self._tmp = np.empty((capacity, 2 * n), dtype=np.float64)
        self._idx = np.empty((capacity, n), dtype=np.intp)
        self._capacity = capacity

    def compute(self, rows: np.ndarray, previous: np.ndarray | None, histograms: bool = True,
                update: np.ndarray | None = None):
        """Statistics of every segment of each row: ``rows`` (m, 2n), values then gradients.

        Returns ``(stats, counts, edges)``: ``stats`` (m, k, 14) in :data:`COLUMNS`
        order; ``counts`` (m, k, 64) or None (no histograms); ``edges`` None when every
        histogram has the 64 equal bins over its segment's [min, max] (see
        :func:`uniform_edges`), else (m, k, 65) -- only when some value is NaN or
        infinite; such a histogram spans the segment's finite values. ``previous``
        (m, n), the values before each row's update, gives ``update_ratio``
        ‖values − previous‖ / ‖values‖; None gives NaN; or ``update`` (m, n), the
        change values − previous itself. Sums are taken in float64 whatever the dtype
        of ``rows``.
        """
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # NaN weights happen
            return self._compute(rows, previous, histograms, update)

    def _compute(self, x, previous, histograms, update=None):
        n, k = self.n, self.k
        m = x.shape[0]
        if m > self.max_rows or x.shape[1] != 2 * n:
            raise ConfigError(f"FlatStats expects at most {self.max_rows} rows of {2 * n} "
                              f"values, got shape {x.shape}")
        if m > self._capacity:
            self._grow(m)
        # one float64 copy, then reductions without casting (NumPy's casting loops are slow)
        rows, x, tmp = x, self._x[:m], self._tmp[:m]
        np.copyto(x, rows)
        if previous is not None or update is not None:  # tmp is scratch here, shifted below
            if update is None:
                d = np.subtract(x[:, :n], previous, out=tmp[:, :n])
            else:
                d = tmp[:, :n]
                np.copyto(d, update)
            change = np.sqrt(np.add.reduceat(np.multiply(d, d, out=d), self.offsets, axis=1))
        # (m, 2k, 6): mean, std, min, max, l2, neg_share; tmp becomes x − segment min
        table = self._summary(x, tmp, overwrite_x=True)  # x is not needed again
        lo, hi, l2 = table[:, :, 2], table[:, :, 3], table[:, :, 4]
        stats = np.empty((m, k, len(COLUMNS)), dtype=np.float64)
        stats[:, :, 0] = self.sizes
        stats[:, :, 1:7] = table[:, :k]
        stats[:, :, 7:13] = table[:, k:]
        ratio = stats[:, :, 13]
        ratio.fill(np.nan)
        if previous is not None or update is not None:
            np.divide(change, l2[:, :k], out=ratio, where=l2[:, :k] > 0)
        if not histograms:
            return stats, None, None
        counts, edges = self._histograms(rows[:, :n], tmp[:, :n], lo[:, :k], hi[:, :k])
        return stats, counts, edges

    def _histograms(self, x: np.ndarray, shifted: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """Counts from ``shifted`` (x − segment min, overwritten here) over [lo, hi]."""
        m, k = lo.shape
        finite = np.isfinite(lo).all(axis=1) & np.isfinite(hi).all(axis=1)
        bad = np.flatnonzero(~finite)
        if bad.size:  # histogram those rows one by one below; keep the fast pass harmless
            bad_rows = x[bad].astype(np.float64)
            shifted[bad] = 0.0
            lo, hi = lo.copy(), hi.copy()
            lo[bad], hi[bad] = 0.0, 1.0
        lo_seen, hi_seen = lo, hi
        width = hi - lo
        t = shifted
        constant = width <= 0  # np.histogram's rule: [v - 0.5, v + 0.5]
        if constant.any():
            width = np.where(constant, 1.0, width)
            t += np.repeat(np.where(constant, 0.5, 0.0), self.sizes, axis=1)
        t *= np.repeat(HIST_BINS / width, self.sizes, axis=1)  # np.histogram's formula
        slots = (np.arange(m * k, dtype=np.float64) * _SLOTS).reshape(m, k)
        t += np.repeat(slots, self.sizes, axis=1)
        idx = self._idx[:m]
        np.copyto(idx, t, casting="unsafe")  # truncation is floor: t >= 0
        # (np.bincount's minlength takes a path several times slower: pad instead)
        found = np.bincount(idx.ravel())
        counts = np.zeros(m * k * _SLOTS, dtype=found.dtype)
        counts[:found.size] = found
        counts = counts.reshape(m, k, _SLOTS)
        counts[:, :, HIST_BINS - 1] += counts[:, :, HIST_BINS]
        counts = counts[:, :, :HIST_BINS]
        if not bad.size:
            return counts, None
        edges = np.empty((m, k, HIST_BINS + 1), dtype=np.float64)
        for r in range(m):
            for i in range(k):
                edges[r, i] = uniform_edges(lo_seen[r, i], hi_seen[r, i])
        for row, r in zip(bad_rows, bad, strict=True):
            for i, (start, size) in enumerate(zip(self.offsets, self.sizes, strict=True)):
                values = row[start:start + size]
                values = values[np.isfinite(values)]
                lo_i, hi_i = (values.min(), values.max()) if values.size else (0.0, 0.0)
                edges[r, i] = uniform_edges(lo_i, hi_i)
                counts[r, i] = np.histogram(values, bins=edges[r, i])[0]
        return counts, edges
