"""Thinning a recorded series to at most N points without hiding what matters.

Every chart and table that shows a long series (a loss per step, a Variable's
statistics per logged step) draws at most a few hundred or thousand points. Taking
evenly spaced points can step over a loss spike or the one NaN that says training
diverged; :func:`thin_indices` instead splits the series into buckets and keeps, per
bucket, the index of its minimum and of its maximum (min-max decimation, the rule
plotting libraries use for line charts), plus the first and the last point. A bucket
holding a NaN keeps its first NaN in place of its minimum. NumPy only.
"""

from __future__ import annotations

import numpy as np

from glassnet.track.errors import ConfigError


def thin_indices(values, max_points: int) -> np.ndarray:
    """Ascending indices of at most ``max_points`` points of a series, first and last kept.

    ``values`` is the series (1-D), several series sharing one step axis (2-D,
    ``(n_points, n_series)``: each bucket keeps every series' minimum and maximum, in
    as many buckets as fit), or an int ``n`` for a series without scalar values
    (histograms per step), which gets ``max_points`` evenly spaced indices. When
    ``max_points`` leaves room for less than one bucket of every series, the points are
    evenly spaced too.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) \
            or max_points < 2:
        raise ConfigError(f"max_points must be at least 2 (first and last), got "
                          f"{max_points!r}")
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        return _evenly(int(values), max_points)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (1, 2):
        raise ConfigError(f"thin_indices expects a 1-D series or a 2-D (points, series) "
                          f"array, got shape {v.shape}")
    n = v.shape[0]
    if v.ndim == 1:
        v = v[:, None]
    fewest = (max_points - 2) // (2 * v.shape[1])  # enough for any values
    if n <= max_points or fewest < 1:
        return _evenly(n, max_points)
    # Several series often share their extremes: start from as many buckets as one
    # series would get and shrink until the union fits.
    buckets = (max_points - 2) // 2
    while True:
        keep = _extremes(v, buckets)
        if len(keep) <= max_points or buckets == fewest:
            return keep
        buckets = max(fewest, min(buckets - 1, buckets * (max_points - 2) // (len(keep) - 2)))


def _extremes(v: np.ndarray, buckets: int) -> np.ndarray:
    """First, last, and each bucket's minimum (or first NaN) and maximum of every column."""
    n = v.shape[0]
    interior = v[1:n - 1]  # the first and last points are kept whatever they hold
    starts = np.unique(np.round(np.linspace(0, len(interior), buckets + 1)[:-1])
                       .astype(np.intp))
    position = np.arange(len(interior))[:, None]
    sentinel = len(interior)
    with np.errstate(invalid="ignore"):  # an all-NaN bucket has no min or max
        low = np.fmin.reduceat(interior, starts, axis=0)    # fmin/fmax skip NaN
        high = np.fmax.reduceat(interior, starts, axis=0)
    bucket = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, sentinel)))

    def first_where(mask):  # (buckets, series): each bucket's first True, else sentinel
        return np.minimum.reduceat(np.where(mask, position, sentinel), starts, axis=0)

    first_nan = first_where(np.isnan(interior))
    lowest = np.where(first_nan < sentinel, first_nan, first_where(interior == low[bucket]))
    highest = first_where(interior == high[bucket])
    picked = np.concatenate([lowest.ravel(), highest.ravel()])
    picked = picked[picked < sentinel] + 1
    return np.unique(np.concatenate([[0, n - 1], picked]).astype(np.int64))


def _evenly(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))
