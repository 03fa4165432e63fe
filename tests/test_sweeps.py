"""Sweeps: grid/random search with k-fold CV, local processes or a dask cluster, resumable."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.sklearn import GlassClassifier
from glassnet.sklearn.sweeps import sweep

PARAMS = {"learning_rate": [1e-3, 1e-2], "hidden": [[8], [16, 8]]}
BASE = {"epochs": 4, "batch_size": 32}


pytestmark = pytest.mark.slow  # many fits, a dask cluster


@pytest.fixture(scope="module")
def digits():
    X, y = gn.datasets.load_digits()
    keep = np.random.default_rng(0).permutation(len(X))[:600]  # keep the suite quick
    return X[keep], y[keep]


def _comparable(result):
    return result.records(timings=False)


@pytest.fixture(scope="module")
def local_result(digits, tmp_path_factory):
    X, y = digits
    store = tmp_path_factory.mktemp("local")
    return sweep(X, y, PARAMS, base=BASE, cv=3, n_jobs=2, store=store, seed=0,
                 standardize=True), store


def test_scores_equal_an_independent_cross_validation(local_result, digits):
    result, _ = local_result
    X, y = digits
    trial = result.trials[3]
    scores = []
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(X, y):
        scaler = StandardScaler().fit(X[train])
        clf = GlassClassifier(**BASE, **trial["params"], random_state=0)
        clf.fit(scaler.transform(X[train]).astype(np.float32), y[train])
        scores.append(clf.score(scaler.transform(X[test]).astype(np.float32), y[test]))
    np.testing.assert_allclose(trial["scores"], scores, rtol=1e-12)
    assert result.best["cv_mean"] == max(t["cv_mean"] for t in result.trials)


def test_every_fold_is_a_recorded_run_tagged_with_the_sweep(local_result):
    result, store = local_result
    runs = gn.track.open_store(store).runs(group_id=result.sweep_id)
    assert len(runs) == 4 * 3
    assert {r["status"] for r in runs} == {"finished"}
    assert all(f"sweep:{result.sweep_id}" in r["tags"] for r in runs)
    assert sorted(r["id"] for r in runs) == sorted(result.run_ids)


def test_table_has_hyperparameters_scores_and_weights(local_result):
    result, _ = local_result
    rows = result.records()
    assert len(rows) == 4
    row = rows[0]
    for column in ("learning_rate", "hidden", "cv_score", "fit_time_s", "hidden_1 mean|w|",
                   "output std w", "best"):
        assert column in row
    assert sum(r["best"] == "★" for r in rows) == 1


def _local_cluster(attempts=3):
    """glassnet's 2-worker LocalCluster (sweep_dask.local_cluster: loopback, no dashboard,
    one BLAS thread); a worker can miss its start-up on a loaded machine, so retried."""
    from glassnet.sklearn.sweep_dask import local_cluster

    for attempt in range(attempts):
        try:
            return local_cluster(2)
        except RuntimeError:  # "Cluster failed to start" / "closed without starting up"
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def test_dask_local_cluster_gives_the_same_table(local_result, digits, tmp_path):
    distributed = pytest.importorskip("distributed")
    result, _ = local_result
    X, y = digits
    with _local_cluster() as cluster, distributed.Client(cluster) as client:
        dask_result = sweep(X, y, PARAMS, base=BASE, cv=3, backend="dask", client=client,
                            n_jobs=2, store=tmp_path, seed=0, standardize=True)
    assert _comparable(dask_result) == _comparable(result)


def test_random_search_samples_n_iter_configurations(digits, tmp_path):
    X, y = digits
    result = sweep(X, y, {"learning_rate": [1e-3, 3e-3, 1e-2], "activation": ["relu", "tanh"]},
                   method="random", n_iter=2, base={"epochs": 1}, cv=2, store=tmp_path)
    assert len(result.trials) == 2
    assert len({str(t["params"]) for t in result.trials}) == 2


def test_bad_sweep_parameters_are_named(digits, tmp_path):
    X, y = digits
    with pytest.raises(ConfigError, match="unknown sweep parameter.*momentum"):
        sweep(X, y, {"momentum": [0.9]}, store=tmp_path)
    with pytest.raises(ConfigError, match="cv must be an int >= 2"):
        sweep(X, y, PARAMS, cv=1, store=tmp_path)


SCRIPT = textwrap.dedent("""
    import sys, numpy as np, glassnet as gn
    from glassnet.sklearn.sweeps import sweep
    X, y = gn.datasets.load_digits()
    keep = np.random.default_rng(0).permutation(len(X))[:600]
    print("started", flush=True)
    sweep(X[keep], y[keep], {"learning_rate": [1e-3, 1e-2, 3e-2], "hidden": [[8], [16]]},
          base={"epochs": 60}, cv=2, n_jobs=1, store=sys.argv[1], seed=0,
          sweep_id="resumeme", standardize=True)
""")


def test_interrupted_sweep_keeps_finished_fits_and_resumes(tmp_path, digits):
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "store")],
                             stdout=subprocess.PIPE, text=True)
    store = None
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until a few fits are recorded, then kill
        time.sleep(0.05)  # a fit takes a tenth of a second or so: look often
        if (tmp_path / "store" / "glassnet.db").exists():
            store = gn.track.open_store(tmp_path / "store")
            store.flush()
            if len(store.runs(group_id="resumeme", status="finished")) >= 3:
                break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    store = gn.track.open_store(tmp_path / "store")  # marks the killed fit crashed
    finished = {r["id"]: r for r in store.runs(group_id="resumeme", status="finished")}
    assert 3 <= len(finished) < 12
    # The fit running at the kill (if the kill did not fall between two fits) is crashed.
    assert len(store.runs(group_id="resumeme", status="crashed")) <= 1
    assert not store.runs(group_id="resumeme", status="running")

    X, y = digits
    result = sweep(X, y, {"learning_rate": [1e-3, 1e-2, 3e-2], "hidden": [[8], [16]]},
                   base={"epochs": 60}, cv=2, store=tmp_path / "store", seed=0,
                   sweep_id="resumeme", standardize=True)
    # Finished fits were not redone: their runs are the ones the table uses.
    assert set(finished) <= set(result.run_ids)
    assert len(result.run_ids) == 12
    store = gn.track.open_store(tmp_path / "store")
    assert len(store.runs(group_id="resumeme", status="finished")) == 12


def test_table_prints_every_configuration(local_result):
    result, _ = local_result
    table = result.table
    assert len(table) == 4
    assert table["cv_mean"] == [t["cv_mean"] for t in result.trials]
    # Trials with one hidden layer have no hidden_2 statistics.
    depths = [len(t["params"]["hidden"]) for t in result.trials]
    assert [v is None for v in table["hidden_2 mean|w|"]] == [d == 1 for d in depths]
    assert "best configuration" in table.to_markdown()


def test_report_tables_work_across_the_sweeps_runs(local_result):
    result, store = local_result
    tables = gn.report.tables(result.run_ids, store=store)
    activations = tables["activations"].to_records()
    assert activations and activations[0]["activation"] == "relu"
    assert len(tables["accuracy_vs_weights"]) > 0
