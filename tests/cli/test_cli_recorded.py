"""Bringing a run back: the model from its config + snapshot when it logged none, its data."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import NotFoundError
from glassnet.recorded import data_for_run, model_for_run
from glassnet.train_job import build_model, compile_for_task


def test_a_run_without_a_logged_model_is_rebuilt_from_config_and_snapshot(tmp_path):
    x, y = gn.datasets.load_coffee()
    y = y.astype(np.float32)
    gn.utils.clear_session()
    model = compile_for_task(build_model(2, (3,), "tanh", "binary", 1, x_train=x),
                             "binary", "adam", 0.01)
    store = gn.track.open_store(tmp_path / "s")
    config = {"hidden": [3], "activation": "tanh", "task": "binary", "n_features": 2,
              "n_outputs": 1, "standardize": True, "optimizer": "adam", "learning_rate": 0.01}
    with gn.track.init(project="p", config=config, store=store) as run:
        run.log_dataset("coffee", X=x, y=y)
        model.fit(x, y, epochs=2, verbose=0, callbacks=[run.watch(snapshots="end")])
    record = store.run(run.id)
    rebuilt = model_for_run(store, record)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    data_x, data_y, spec = data_for_run(store, record)
    assert spec == "coffee:v1"
    np.testing.assert_array_equal(data_x, x)
    np.testing.assert_array_equal(data_y, y)


def test_a_run_with_nothing_to_rebuild_from_says_what_is_missing(tmp_path):
    store = gn.track.open_store(tmp_path / "s")
    with gn.track.init(project="p", config={"hidden": [3]}, store=store) as run:
        run.log({"loss": 1.0})
    record = store.run(run.id)
    with pytest.raises(NotFoundError, match="config lacks activation, task, n_features"):
        model_for_run(store, record)
    with pytest.raises(NotFoundError, match=r"logged no data set with arrays X and y \(logged: "
                                            r"none\)"):
        data_for_run(store, record)
