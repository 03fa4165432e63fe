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
        for key in ("count", "mean", "std", "min", "max", "l2", "neg_share"):
            assert recorded[path][key] == pytest.approx(ours[key], rel=1e-6, abs=1e-9), \
                (path, key)
    assert np.isfinite([r["update_ratio"] for r in recorded.values()]).all()
