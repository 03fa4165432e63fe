"""Statistics of many Variables at once, from one flat array: the watch's hot path.

A model keeps all its trainable Variables as consecutive segments of one flat buffer
(and their gradients in a second one). Summarising them one by one costs a few NumPy
calls per statistic per Variable; here every statistic of every Variable is one
``ufunc.reduceat`` over the whole buffer, and the 64-bin histograms of all Variables
are one ``np.bincount`` over precomputed bin indices.
"""

from __future__ import annotations

import numpy as np

HIST_BINS = 64


class FlatStats:
    """Per-segment statistics of a flat array split into segments of ``sizes``.

    All work buffers are allocated once, here; each call fills them with ``out=``.
    """

    def __init__(self, sizes: list[int]) -> None:
        sizes = np.asarray(sizes, dtype=np.int64)
        if sizes.size == 0 or np.any(sizes <= 0):
            raise ValueError(f"segment sizes must be positive, got {sizes.tolist()}")
        self.sizes = sizes
        self.n = int(sizes.sum())
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.segment_of = np.repeat(np.arange(len(sizes)), sizes)  # segment index per element
        self._x = np.empty(self.n, dtype=np.float64)
        self._tmp = np.empty(self.n, dtype=np.float64)
        self._idx = np.empty(self.n, dtype=np.intp)
        self._bin_base = self.segment_of * HIST_BINS
        self._steps = np.arange(HIST_BINS + 1, dtype=np.float64) / HIST_BINS

    def load(self, flat: np.ndarray) -> np.ndarray:
        """Copy ``flat`` (any float dtype) into the float64 work buffer; return it."""
        np.copyto(self._x, flat, casting="unsafe")
        return self._x

    def moments(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """``mean, std, min, max, l2, neg_share`` of each segment of ``x`` (float64, len n)."""
        off, n = self.offsets, self.sizes
        total = np.add.reduceat(x, off)
        squares = np.add.reduceat(np.multiply(x, x, out=self._tmp), off)
        mean = total / n
        var = np.maximum(squares / n - mean * mean, 0.0)
        return {
            "mean": mean,
            "std": np.sqrt(var),
            "min": np.minimum.reduceat(x, off),
            "max": np.maximum.reduceat(x, off),
            "l2": np.sqrt(squares),
            "neg_share": np.add.reduceat(x < 0, off, dtype=np.int64) / n,
        }

    def distance(self, x: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """‖x − previous‖ per segment."""
        d = np.subtract(x, previous, out=self._tmp)
        return np.sqrt(np.add.reduceat(np.multiply(d, d, out=d), self.offsets))

    def histograms(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """64-bin histograms of each segment between its ``lo`` and ``hi``.

        Returns ``(counts (k, 64) int64, edges (k, 65) float64)``; like ``np.histogram``,
        a constant segment gets the range ``[v - 0.5, v + 0.5]`` and the last bin
        includes its right edge.
        """
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            return self._histograms_slow(x)
        lo = lo.copy()
        hi = hi.copy()
        flat = hi <= lo
        lo[flat] -= 0.5
        hi[flat] += 0.5
        width = hi - lo
        scale = HIST_BINS / width
        t = np.subtract(x, lo[self.segment_of], out=self._tmp)
        t *= scale[self.segment_of]
        np.clip(t, 0, HIST_BINS - 1, out=t)
        idx = self._idx
        np.copyto(idx, t, casting="unsafe")  # truncation = floor, t >= 0
        idx += self._bin_base
        counts = np.bincount(idx, minlength=HIST_BINS * len(self.sizes))
        edges = lo[:, None] + width[:, None] * self._steps
        return counts.reshape(len(self.sizes), HIST_BINS), edges

    def _histograms_slow(self, x: np.ndarray):
        """Per segment, over finite values only: the rare case of NaN or inf weights."""
        counts = np.zeros((len(self.sizes), HIST_BINS), dtype=np.int64)
        edges = np.full((len(self.sizes), HIST_BINS + 1), np.nan)
        for i, (start, size) in enumerate(zip(self.offsets, self.sizes, strict=True)):
            values = x[start:start + size]
            values = values[np.isfinite(values)]
            if values.size:
                counts[i], edges[i] = np.histogram(values, bins=HIST_BINS)
        return counts, edges
