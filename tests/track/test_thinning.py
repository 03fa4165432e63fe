"""Thinning a series keeps what a chart must not hide: spikes, NaNs, first and last."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.track.thinning import thin_indices


def _noisy_loss(n=100_000, seed=0):
    rs = np.random.RandomState(seed)
    return 2.0 * np.exp(-np.arange(n) / 20_000) + 0.01 * rs.rand(n)


def test_a_spike_and_a_nan_survive_thinning_100000_points_to_200():
    loss = _noisy_loss()
    loss[31_337] = 50.0        # one spike
    loss[77_777] = np.nan      # one NaN
    loss[55_555] = -3.0        # one dip
    keep = thin_indices(loss, 200)
    assert len(keep) <= 200
    assert keep[0] == 0 and keep[-1] == len(loss) - 1
    assert np.all(np.diff(keep) > 0)
    assert {31_337, 77_777, 55_555} <= set(keep.tolist())
    thinned = loss[keep]
    assert np.nanmax(thinned) == 50.0 and np.nanmin(thinned) == -3.0
    assert np.isnan(thinned).sum() == 1
    # evenly spaced points, the old rule, would have missed all three
    even = np.unique(np.round(np.linspace(0, len(loss) - 1, 200)).astype(int))
    assert not {31_337, 77_777, 55_555} & set(even.tolist())


def test_each_bucket_keeps_its_minimum_and_maximum():
    values = np.array([0.0, 5, 1, 9, 2, 8, 3, 7, 4, 0])  # 8 interior points
    keep = thin_indices(values, 6)  # 2 buckets of the interior: [5, 1, 9, 2], [8, 3, 7, 4]
    assert keep.tolist() == [0, 2, 3, 5, 6, 9]  # 1 and 9, then 8 and 3, first and last


@pytest.mark.parametrize("n, max_points", [(100_000, 200), (1001, 7), (10, 3), (5, 50),
                                           (2, 2), (1357, 100), (3, 2)])
def test_length_bound_and_ends_for_any_series(n, max_points):
    values = np.random.RandomState(n).normal(size=n)
    keep = thin_indices(values, max_points)
    assert len(keep) <= max_points and len(keep) == min(n, len(keep))
    assert keep[0] == 0 and keep[-1] == n - 1 and np.all(np.diff(keep) > 0)
    if n <= max_points:
        assert keep.tolist() == list(range(n))


def test_several_series_keep_every_series_extremes_within_the_bound():
    rs = np.random.RandomState(3)
    table = rs.normal(size=(20_000, 9))
    table[1234, 2] = 1e6
    table[4321, 7] = np.nan
    table[9999, 5] = -1e6
    keep = thin_indices(table, 500)
    assert len(keep) <= 500 and keep[0] == 0 and keep[-1] == 19_999
    assert {1234, 4321, 9999} <= set(keep.tolist())
    assert len(keep) > 250  # the budget is used, not 2 points per 9 series per bucket


def test_all_nan_and_constant_series():
    assert len(thin_indices(np.full(1000, np.nan), 10)) <= 10
    flat = thin_indices(np.ones(1000), 10)
    assert flat[0] == 0 and flat[-1] == 999 and len(flat) <= 10


def test_a_count_gives_evenly_spaced_indices():
    keep = thin_indices(1001, 11)
    assert keep.tolist() == list(range(0, 1001, 100))


@pytest.mark.parametrize("bad", [1, 0, -5, 2.5, True])
def test_max_points_below_two_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match="max_points must be at least 2"):
        thin_indices(np.arange(10.0), bad)


def test_a_3d_array_is_refused():
    with pytest.raises(ConfigError, match="1-D series or a 2-D"):
        thin_indices(np.zeros((4, 2, 2)), 3)


def test_the_store_and_the_dashboard_keep_a_loss_spike_and_a_nan(store):
    from glassnet.track import init
    from glassnet.ui import queries

    run = init("p", store=store)
    loss = _noisy_loss(5000)
    loss[1234], loss[4321] = 40.0, np.nan
    for value in loss:
        run.log({"loss": float(value)})
    run.finish()
    for steps, values in (store.metrics(run.id, "loss", max_points=100),
                          (lambda c: (np.array(c["steps"]), np.array(c["values"])))(
                              queries.curves(store, run.id, ["loss"], 100)["loss"])):
        assert len(steps) <= 100 and steps[0] == 0 and steps[-1] == 4999
        assert 1234 in steps and 4321 in steps
        assert np.nanmax(values) == 40.0 and np.isnan(values).sum() == 1


class _Rows:
    """A store stand-in serving param_stats / layer_stats rows (queries only read these)."""

    def __init__(self, rows):
        self.rows = rows

    def resolve_run_id(self, run_id):
        return run_id

    def param_stats(self, run_id):
        return self.rows

    def layer_stats(self, run_id):
        return self.rows


def test_dashboard_statistics_series_keep_every_fields_spike():
    from glassnet.ui import queries

    fields = queries._STAT_FIELDS + queries._LAYER_FIELDS
    rs = np.random.RandomState(4)
    rows = [{"step": s, "path": "dense/kernel", "layer": "dense", "count": 10,
             **{f: float(rs.rand()) for f in fields}} for s in range(3000)]
    rows[777]["update_ratio"] = 9.0
    rows[1999]["grad_l2"] = None  # a NaN, stored as NULL
    rows[2500]["dead_share"] = 1.0 + 1e-9
    series = queries.param_series(_Rows(rows), "r", max_points=300)["dense/kernel"]
    assert len(series["steps"]) <= 300 and series["steps"][0] == 0
    assert series["steps"][-1] == 2999
    assert {777, 1999} <= set(series["steps"])
    layers = queries.layer_series(_Rows(rows), "r", max_points=300)["dense"]
    assert 2500 in layers["steps"] and len(layers["steps"]) <= 300
