"""Summary statistics of one array of weights: count, mean, std, min, max, L2 norm, share negative.

The single-array counterpart of :mod:`glassnet.track.paramstats`, which computes the
same statistics for every Variable of a model at once on the training hot path. Both
use the population standard deviation (ddof=0) and count exact zeros as non-negative.
"""

from __future__ import annotations

import numpy as np

STAT_NAMES = ("count", "mean", "std", "min", "max", "l2", "neg_share")


def summarize(values) -> dict[str, float]:
    """``count, mean, std, min, max, l2, neg_share`` of an array, in float64.

    An empty array gives count 0 and NaN for the rest; NaN or inf in the array
    propagate into mean/std/l2 (that is the point: they must be seen).
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    n = x.size
    if n == 0:
        return {"count": 0, **{k: float("nan") for k in STAT_NAMES[1:]}}
    low, high = float(x.min()), float(x.max())
    if low == high:  # a constant array (zero or constant initialisation): exact answers
        mean, std = low, 0.0
    else:
        mean = float(x.mean())
        centred = x - mean  # two passes: no cancellation of E[x²] − mean²
        std = float(np.sqrt(np.dot(centred, centred) / n))
    return {
        "count": int(n),
        "mean": mean,
        "std": std,
        "min": low,
        "max": high,
        "l2": float(np.sqrt(np.dot(x, x))),
        "neg_share": float(np.count_nonzero(x < 0) / n),
    }
