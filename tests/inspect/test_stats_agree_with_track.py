"""inspect.stats and the watch's batched statistics (track.paramstats) give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.inspect import summarize
from glassnet.layers import Dense, Input


def test_recorded_param_stats_equal_summarize_of_the_snapshot(tmp_path, coffee):
    X, y = coffee
    X = (X - X.mean(0)) / X.std(0)
    run = gn.track.init(project="coffee", store=tmp_path)
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="sigmoid"),
                           Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(X, y, epochs=2, batch_size=50, verbose=0,
              callbacks=[run.watch(log_freq=1, snapshots="epoch")])
    run.finish()
    store = gn.track.open_store(tmp_path)
    step = store.snapshots(run.id)[-1]  # the last step: logged (log_freq=1) and snapshotted
    snapshot = store.snapshot(run.id, step)
    recorded = {r["path"]: r for r in store.param_stats(run.id) if r["step"] == step}
    assert set(recorded) == set(snapshot)
    for path, array in snapshot.items():
        ours = summarize(array)
        a = array.astype(np.float64)  # and both against NumPy itself
        assert ours["std"] == pytest.approx(np.std(a), rel=1e-9, abs=1e-12), path
        assert ours["mean"] == pytest.approx(np.mean(a), rel=1e-9, abs=1e-12), path
        for key in ("count", "mean", "std", "min", "max", "l2", "neg_share"):
            assert recorded[path][key] == pytest.approx(ours[key], rel=1e-6, abs=1e-9), \
                (path, key)
    assert np.isfinite([r["update_ratio"] for r in recorded.values()]).all()


def test_recorded_std_of_ill_conditioned_weights_matches_numpy(tmp_path):
    # Weights at 1e6 ± 1 (mean/std = 1e6, float32): the watch's old E[x²] − mean² was
    # 2e-4 off in std here; both sides must now agree with NumPy's two-pass std.
    rs = np.random.RandomState(0)
    x, y = rs.normal(size=(64, 3)), rs.normal(size=(64, 1))
    run = gn.track.init(project="ill", store=tmp_path)
    model = gn.Sequential([Input(shape=(3,)), Dense(200), Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(1e-30), loss="mse")
    kernel = model.layers[0].kernel
    kernel.assign((1e6 + rs.normal(size=kernel.shape)).astype(np.float32))
    model.fit(x, y, epochs=1, batch_size=64, verbose=0,
              callbacks=[run.watch(log_freq=1, snapshots="epoch")])
    run.finish()
    store = gn.track.open_store(tmp_path)
    step = store.snapshots(run.id)[-1]
    weights = store.snapshot(run.id, step)["dense/kernel"].astype(np.float64)
    recorded = [r for r in store.param_stats(run.id, "dense/kernel") if r["step"] == step][0]
    assert recorded["std"] == pytest.approx(np.std(weights), rel=1e-9)
    assert recorded["mean"] == pytest.approx(np.mean(weights), rel=1e-12)
    assert summarize(weights)["std"] == pytest.approx(np.std(weights), rel=1e-9)
