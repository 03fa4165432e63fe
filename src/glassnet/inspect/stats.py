"""Summary statistics of one array of weights: count, mean, std, min, max, L2 norm, share negative.

The single-array counterpart of :mod:`glassnet.track.paramstats`, which computes the
same statistics for every Variable of a model at once on the training hot path; both
call :mod:`glassnet.inspect.moments` (a numerically stable two-pass variance, the
population standard deviation, ddof=0; exact zeros count as non-negative).
"""

from __future__ import annotations

import numpy as np

from glassnet.inspect.moments import SUMMARY, SegmentSummary

STAT_NAMES = ("count", "mean", "std", "min", "max", "l2", "neg_share")


def summarize(values) -> dict[str, float]:
    """``count, mean, std, min, max, l2, neg_share`` of an array, in float64.

    An empty array gives count 0 and NaN for the rest; NaN or inf in the array
    propagate into mean/std/l2 (that is the point: they must be seen).
    """
    x = np.asarray(values, dtype=np.float64).reshape(1, -1)
    n = x.size
    if n == 0:
        return {"count": 0, **{k: float("nan") for k in STAT_NAMES[1:]}}
    row = SegmentSummary([n])(x)[0, 0]  # the watch's implementation, on one segment
    return {"count": int(n), **{k: float(v) for k, v in zip(SUMMARY, row, strict=True)}}
