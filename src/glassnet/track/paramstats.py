"""Statistics of many Variables at once, from flat arrays: the watch's hot path.

A model keeps all its trainable Variables as consecutive segments of one flat buffer
(and their gradients in a second one). Summarising them one by one costs a few NumPy
calls per statistic per Variable; here each statistic of every Variable *and* every
gradient is one ``ufunc.reduceat`` over one work buffer, and the 64-bin histograms of
all Variables are one ``np.bincount`` over bin indices computed in a handful of calls.
"""

from __future__ import annotations

import math

import numpy as np

HIST_BINS = 64
# Columns of the (n_variables, 14) array returned by FlatStats.compute, in order.
COLUMNS = ("count", "mean", "std", "min", "max", "l2", "neg_share",
           "grad_mean", "grad_std", "grad_min", "grad_max", "grad_l2", "grad_neg_share",
           "update_ratio")
# Scale so that a segment's maximum lands just inside the last bin (< 64), as np.histogram
# puts the right edge in the last bin, without a clip call.
_INSIDE = HIST_BINS * (1.0 - 2.0 ** -30)


def uniform_edges(lo: float, hi: float) -> np.ndarray:
    """The 65 edges of the 64 equal bins over [lo, hi] (a constant gets [v - 0.5, v + 0.5])."""
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo + (hi - lo) * (np.arange(HIST_BINS + 1, dtype=np.float64) / HIST_BINS)


class FlatStats:
    """Per-segment statistics of a flat array split into segments of ``sizes``.

    Work buffers are allocated once, here; :meth:`compute` fills them with ``out=``.
    """

    def __init__(self, sizes: list[int]) -> None:
        sizes = np.asarray(sizes, dtype=np.int64)
        if sizes.size == 0 or np.any(sizes <= 0):
            raise ValueError(f"segment sizes must be positive, got {sizes.tolist()}")
        k, n = len(sizes), int(sizes.sum())
        self.k, self.n, self.sizes = k, n, sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        # values in x[:n], gradients in x[n:]: 2k segments reduced together
        self._offsets2 = np.concatenate([self.offsets, self.offsets + n])
        self._count2 = np.concatenate([sizes, sizes]).astype(np.float64)
        self._x = np.empty(2 * n, dtype=np.float64)
        self._tmp = np.empty(2 * n, dtype=np.float64)
        self._neg = np.empty(2 * n, dtype=bool)
        self.segment_of = np.repeat(np.arange(k), sizes)
        self._base = (self.segment_of * HIST_BINS).astype(np.float64)
        self._pairs = np.empty((n, 2), dtype=np.float64)
        self._idx = np.empty(n, dtype=np.intp)
        self._table = np.empty((6, 2 * k), dtype=np.float64)
        self._out = np.empty((k, len(COLUMNS)), dtype=np.float64)
        self._out[:, 0] = sizes

    def compute(self, values: np.ndarray, grads: np.ndarray, previous: np.ndarray | None,
                histograms: bool = True):
        """Statistics of every segment of ``values`` and ``grads`` (flat, any float dtype).

        Returns ``(stats, counts, edges)``: ``stats`` of shape (k, 14) in :data:`COLUMNS`
        order (a fresh array); ``counts`` of shape (k, 64) or None (no histograms); and
        ``edges`` None when every histogram has the 64 equal bins over its segment's
        [min, max] (see :func:`uniform_edges`), else (k, 65) -- only when some value is
        NaN or infinite, and the bins then span the finite values. ``previous``
        (flat float64, the values before the last update) gives ``update_ratio``
        ‖values − previous‖ / ‖values‖; None gives NaN.
        """
        n, k, x, tmp = self.n, self.k, self._x, self._tmp
        np.copyto(x[:n], values, casting="unsafe")
        np.copyto(x[n:], grads, casting="unsafe")
        off, count, t = self._offsets2, self._count2, self._table
        mean, std, lo, hi, l2, neg = t  # rows of the (6, 2k) table: values, then gradients
        np.add.reduceat(np.multiply(x, x, out=tmp), off, out=l2)  # sums of squares, for now
        np.add.reduceat(x, off, out=mean)
        mean /= count
        np.divide(l2, count, out=std)
        std -= mean * mean
        np.sqrt(np.maximum(std, 0.0, out=std), out=std)
        np.sqrt(l2, out=l2)
        np.minimum.reduceat(x, off, out=lo)
        np.maximum.reduceat(x, off, out=hi)
        np.add.reduceat(np.less(x, 0, out=self._neg), off, dtype=np.float64, out=neg)
        neg /= count
        out = self._out
        out[:, 1:7] = t[:, :k].T
        out[:, 7:13] = t[:, k:].T
        ratio = out[:, 13]
        if previous is None:
            ratio.fill(np.nan)
        else:
            d = np.subtract(x[:n], previous, out=tmp[:n])
            change = np.sqrt(np.add.reduceat(np.multiply(d, d, out=d), self.offsets))
            ratio.fill(np.nan)
            np.divide(change, l2[:k], out=ratio, where=l2[:k] > 0)
        counts, edges = self._histograms(x[:n], lo[:k], hi[:k]) if histograms else (None, None)
        return out.copy(), counts, edges

    def _histograms(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        if not math.isfinite(float(lo.sum()) + float(hi.sum())):
            return self._histograms_slow(x)
        width = hi - lo
        constant = width <= 0  # np.histogram's rule: [v - 0.5, v + 0.5]
        if constant.any():
            lo = np.where(constant, lo - 0.5, lo)
            width = np.where(constant, 1.0, width)
        pairs = np.stack((lo, _INSIDE / width), axis=1)
        per_element = np.take(pairs, self.segment_of, axis=0, out=self._pairs)
        t = np.subtract(x, per_element[:, 0], out=self._tmp[:self.n])
        t *= per_element[:, 1]
        t += self._base  # bin b of segment s -> s * 64 + b
        np.copyto(self._idx, t, casting="unsafe")  # truncation is floor: t >= 0
        counts = np.bincount(self._idx, minlength=HIST_BINS * self.k)
        return counts.reshape(self.k, HIST_BINS), None

    def _histograms_slow(self, x: np.ndarray):
        """Per segment, finite values only, over their own range: NaN or inf weights."""
        counts = np.zeros((self.k, HIST_BINS), dtype=np.int64)
        edges = np.tile(uniform_edges(0.0, 0.0), (self.k, 1))
        for i, (start, size) in enumerate(zip(self.offsets, self.sizes, strict=True)):
            values = x[start:start + size]
            values = values[np.isfinite(values)]
            if values.size:
                lo, hi = values.min(), values.max()
                edges[i] = uniform_edges(lo, hi)
                counts[i] = np.histogram(values, bins=edges[i])[0]
        return counts, edges
