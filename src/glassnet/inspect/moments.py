"""Mean, standard deviation, min, max, L2 norm and share negative of array segments.

The one implementation behind :func:`glassnet.inspect.summarize` (one array) and the
watch's :class:`glassnet.track.paramstats.FlatStats` (every Variable of a model, for
many steps at once). Each statistic of every segment is one ``ufunc.reduceat``.

The variance is computed from shifted data: d = x − min of the segment, then
var = (Σd² − (Σd)²/n) / n. The one-pass E[x²] − mean² subtracts two nearly equal
numbers and keeps no digit of the variance when |mean| ≫ std (weights at 1e6 ± 1
lose all of their spread); after the shift the two terms are of the order of
n·std² times (range/std)², a few digits at most. The shifted values are also what
a histogram over [min, max] needs, so the watch's histograms reuse them.
"""

from __future__ import annotations

import numpy as np

SUMMARY = ("mean", "std", "min", "max", "l2", "neg_share")


class SegmentSummary:
    """Statistics of the segments of ``sizes`` of float64 rows, with reused work buffers."""

    def __init__(self, sizes) -> None:
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)
        self.counts = self.sizes.astype(np.float64)
        self._work = np.empty((0, int(self.sizes.sum())))
        self._squares = self._work

    def __call__(self, x: np.ndarray, shifted: np.ndarray | None = None,
                 overwrite_x: bool = False) -> np.ndarray:
        """``(m, n_segments, 6)`` in :data:`SUMMARY` order for float64 ``x`` (m, total size).

        ``shifted``, float64 of ``x``'s shape, receives x − min of its segment (else a
        buffer kept here does); with ``overwrite_x`` ``x`` is scratch space too (one
        buffer fewer in the cache: the watch's hot path). NaN in a segment makes its
        mean, std and L2 norm NaN; inf makes them what NumPy's mean, std and norm give.
        A constant segment gets its value as the mean and a std of exactly 0.
        """
        m = x.shape[0]
        if shifted is None:
            if self._work.shape[0] < m:
                self._work = np.empty((m, x.shape[1]))
            shifted = self._work[:m]
        if overwrite_x:
            scratch = x
        else:
            if self._squares.shape[0] < m:
                self._squares = np.empty((m, x.shape[1]))
            scratch = self._squares[:m]
        off, counts, sizes = self.offsets, self.counts, self.sizes
        with np.errstate(invalid="ignore", over="ignore"):
            lo = np.minimum.reduceat(x, off, axis=1)
            hi = np.maximum.reduceat(x, off, axis=1)
            neg = np.add.reduceat(np.less(x, 0).view(np.int8), off, axis=1, dtype=np.int32)
            d = np.subtract(x, np.repeat(lo, sizes, axis=1), out=shifted)
            infinite = ~np.isfinite(hi - lo)
            if infinite.any():  # x − lo is not finite: mean and L2 norm from x itself
                direct_mean = np.add.reduceat(x, off, axis=1) / counts
                np.multiply(x, x, out=scratch)  # the last read of x
                direct_l2 = np.sqrt(np.add.reduceat(scratch, off, axis=1))
            total = np.add.reduceat(d, off, axis=1)
            squares = np.add.reduceat(np.multiply(d, d, out=scratch), off, axis=1)
            shift = total / counts
            mean = lo + shift
            var = squares / counts
            var -= shift * shift
            std = np.sqrt(np.maximum(var, 0.0, out=var), out=var)
            # Σx² = Σ(d + lo)² = Σd² + lo·(2Σd + n·lo): relative error below ~3n·eps,
            # as the smallest value alone contributes lo² to Σx²
            total *= 2.0
            total += counts * lo
            total *= lo
            total += squares
            l2 = np.sqrt(np.maximum(total, 0.0, out=total), out=total)
            if infinite.any():
                mean = np.where(infinite, direct_mean, mean)
                l2 = np.where(infinite, direct_l2, l2)
                std[infinite] = np.nan
        return np.stack((mean, std, lo, hi, l2, neg / counts), axis=-1)
