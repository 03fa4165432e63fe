"""The one statistics implementation (inspect.moments), against NumPy on ill-conditioned data.

Ill-conditioned: |mean| / std = 1e6 in float32, where E[x²] − mean² keeps no digit of
the variance. The truth is NumPy's own two-pass std of the data in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.inspect import summarize
from glassnet.inspect.moments import SegmentSummary
from glassnet.track.paramstats import HIST_BINS, FlatStats


def _ill(rs, n, mean, std):
    return (mean + std * rs.normal(size=n)).astype(np.float32)


def test_summarize_matches_numpy_at_mean_over_std_1e6_in_float32():
    rs = np.random.RandomState(0)
    x = _ill(rs, 10_000, 1e6, 1.0)
    x64 = x.astype(np.float64)
    s = summarize(x)
    assert s["std"] == pytest.approx(np.std(x64), rel=1e-9)
    assert s["mean"] == pytest.approx(np.mean(x64), rel=1e-12)
    assert s["l2"] == pytest.approx(np.linalg.norm(x64), rel=1e-12)
    assert (s["min"], s["max"]) == (x64.min(), x64.max())
    naive = np.sqrt(np.mean(x64 * x64) - np.mean(x64) ** 2)  # what the watch used to do
    assert abs(naive - np.std(x64)) / np.std(x64) > 1e-6  # the data is ill-conditioned


def test_flat_stats_of_many_ill_conditioned_variables_match_numpy():
    rs = np.random.RandomState(1)
    values = [_ill(rs, 400, 1e6, 1.0), _ill(rs, 25, -3e7, 30.0), _ill(rs, 60, 0.5, 0.1),
              np.full(7, 1e6, np.float32)]
    grads = [_ill(rs, v.size, 2e5, 0.2) for v in values]
    sizes = [v.size for v in values]
    rows = np.concatenate(values + grads)[None, :]
    stats, counts, edges = FlatStats(sizes).compute(rows, None)
    assert edges is None
    for i, (v, g) in enumerate(zip(values, grads, strict=True)):
        v64, g64 = v.astype(np.float64), g.astype(np.float64)
        assert stats[0, i, 2] == pytest.approx(np.std(v64), rel=1e-9, abs=0)  # std
        assert stats[0, i, 8] == pytest.approx(np.std(g64), rel=1e-9)          # grad_std
        assert stats[0, i, 1] == pytest.approx(np.mean(v64), rel=1e-12)
        assert stats[0, i, 5] == pytest.approx(np.linalg.norm(v64), rel=1e-12)
        expected, _ = np.histogram(v64, bins=HIST_BINS) if v.min() < v.max() else \
            np.histogram(v64, bins=HIST_BINS, range=(v64[0] - 0.5, v64[0] + 0.5))
        np.testing.assert_array_equal(counts[0, i], expected)
    assert stats[0, 3, 2] == 0.0 and stats[0, 3, 1] == 1e6  # a constant: exact


def test_segment_summary_of_many_rows_equals_numpy_row_by_row():
    rs = np.random.RandomState(2)
    sizes = [3, 1, 50, 8]
    x = np.stack([np.concatenate([_ill(rs, n, 10.0 ** rs.randint(-3, 8), 1.0)
                                  for n in sizes]).astype(np.float64) for _ in range(6)])
    x[4, 10] = np.nan
    x[5, 0] = -np.inf
    table = SegmentSummary(sizes)(x)
    starts = np.cumsum([0] + sizes)
    for r in range(x.shape[0]):
        for s, (a, b) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
            seg = x[r, a:b]
            with np.errstate(invalid="ignore"):
                expected = [np.mean(seg), np.std(seg), seg.min(), seg.max(),
                            np.sqrt(np.sum(seg * seg)), np.mean(seg < 0)]
            np.testing.assert_allclose(table[r, s], expected, rtol=1e-9, atol=0,
                                       err_msg=f"row {r} segment {s}")
