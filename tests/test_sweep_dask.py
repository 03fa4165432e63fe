"""Sweeps on a dask.distributed cluster: a real LocalCluster of 2 worker processes.

Every fold's run must be written by the worker that fitted it, into the shared store
(SQLite, and a real PostgreSQL server), with its config,
metrics and sweep id, and the scores must equal those of the same sweep run serially.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError
from glassnet.sklearn.sweep_progress import WIDTH, Progress
from glassnet.sklearn.sweeps import sweep
from glassnet.track.env import process_alive
from test_sweeps import _local_cluster

distributed = pytest.importorskip("distributed")

PARAMS = {"learning_rate": [1e-3, 1e-2], "hidden": [[8], [16, 8]]}
BASE = {"epochs": 3, "batch_size": 32}
SLOW = pytest.mark.slow  # a cluster of worker processes, and many fits


@pytest.fixture(scope="module")
def digits():
    X, y = gn.datasets.load_digits()
    keep = np.random.default_rng(0).permutation(len(X))[:450]  # keep the suite quick
    return X[keep], y[keep]


@pytest.fixture(scope="module")
def cluster_client():
    """2 worker processes on loopback, one thread each, no dashboard; closed at the end."""
    cluster = _local_cluster()
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close(timeout=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_address(request, tmp_path):
    """Where the sweep's store is: a folder, or a fresh store on the throwaway PostgreSQL
    server (tests/conftest.py: its own schema, blobs under tmp_path; skipped without the
    server binaries, failed on CI)."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("postgres_store_url")


@pytest.fixture
def serial(digits, tmp_path):
    X, y = digits
    return sweep(X, y, PARAMS, base=BASE, cv=3, backend="sequential", seed=3,
                 standardize=True, store=tmp_path / "serial")


@SLOW
def test_every_fold_is_a_run_written_by_its_worker(cluster_client, digits, store_address,
                                                   serial, tmp_path):
    X, y = digits
    result = sweep(X, y, PARAMS, base=BASE, cv=3, backend="dask", client=cluster_client,
                   seed=3, standardize=True, store=store_address, project="dasked")
    store = gn.track.open_store(store_address)
    runs = store.runs(group_id=result.sweep_id)
    assert len(runs) == 4 * 3 and {r["status"] for r in runs} == {"finished"}
    assert sorted(r["id"] for r in runs) == sorted(result.run_ids)
    worker_pids = set(cluster_client.run(os.getpid).values())
    assert {r["pid"] for r in runs} <= worker_pids and os.getpid() not in worker_pids
    assert len({r["pid"] for r in runs}) == 2  # both workers fitted some
    by_fit = {(r["config"]["trial"], r["config"]["fold"]): r for r in runs}
    assert sorted(by_fit) == [(t, f) for t in range(4) for f in range(3)]
    for trial in result.trials:
        for fold, score in enumerate(trial["scores"]):
            run = by_fit[(trial["trial"], fold)]
            assert run["project"] == "dasked" and run["group_id"] == result.sweep_id
            assert run["config"]["sweep_id"] == result.sweep_id
            assert f"sweep:{result.sweep_id}" in run["tags"]
            for key, value in trial["params"].items():
                assert run["config"][key] == value
            assert run["config"]["epochs"] == BASE["epochs"]
            assert run["summary"]["cv_score"] == score
            # the epochs' metrics too, not only the summary
            assert len(store.metrics(run["id"], "epoch/val_loss")[0]) == BASE["epochs"]
    # The same configs as the sweep run serially in this process, fit by fit...
    alone_store = gn.track.open_store(tmp_path / "serial")
    alone_runs = {(r["config"]["trial"], r["config"]["fold"]): r
                  for r in alone_store.runs(group_id=serial.sweep_id)}
    assert sorted(alone_runs) == sorted(by_fit)
    ours = ("sweep_id",)  # what names the sweep differs; all else must be equal
    for fit, run in by_fit.items():
        mine = {k: v for k, v in run["config"].items() if k not in ours}
        theirs = {k: v for k, v in alone_runs[fit]["config"].items() if k not in ours}
        assert mine == theirs
        np.testing.assert_allclose(run["summary"]["cv_score"],
                                   alone_runs[fit]["summary"]["cv_score"], rtol=1e-9)
    # ...and the same seeds give the same scores.
    for dasked, alone in zip(result.trials, serial.trials):
        assert dasked["params"] == alone["params"]
        np.testing.assert_allclose(dasked["scores"], alone["scores"], rtol=1e-9)
    assert result.best_params == serial.best_params
    assert result.failed == [] and "12 fits, 12 finished, 0 failed" in result.summary


def _fail_fast_learning_rates():  # runs in each worker: fits at lr 1e-2 raise
    from glassnet.sklearn import estimators

    original = estimators.GlassClassifier.fit

    def fit(self, *args, **kwargs):
        if self.learning_rate == 1e-2:
            raise FloatingPointError("injected: this configuration blows up")
        return original(self, *args, **kwargs)

    estimators.GlassClassifier._original_fit = original
    estimators.GlassClassifier.fit = fit


def _restore_fit():
    from glassnet.sklearn import estimators

    estimators.GlassClassifier.fit = estimators.GlassClassifier._original_fit


@SLOW
def test_failed_folds_are_failed_runs_and_the_sweep_goes_on(cluster_client, digits, tmp_path,
                                                            capsys):
    X, y = digits
    cluster_client.run(_fail_fast_learning_rates)
    try:
        result = sweep(X, y, PARAMS, base=BASE, cv=3, backend="dask", client=cluster_client,
                       seed=3, standardize=True, store=tmp_path, verbose=True,
                       fits_per_task=2)
    finally:
        cluster_client.run(_restore_fit)
    failing = [t["trial"] for t in result.trials if t["params"]["learning_rate"] == 1e-2]
    assert sorted({f["trial"] for f in result.failed}) == failing and len(result.failed) == 6
    assert "12 fits, 6 finished, 6 failed" in result.summary
    assert all(np.isnan(result.trials[t]["cv_mean"]) for t in failing)
    assert result.best["params"]["learning_rate"] == 1e-3
    store = gn.track.open_store(tmp_path)
    failed = store.runs(group_id=result.sweep_id, status="failed")
    assert sorted(r["id"] for r in failed) == sorted(f["run_id"] for f in result.failed)
    assert all("FloatingPointError: injected" in r["error"] for r in failed)
    assert len(store.runs(group_id=result.sweep_id, status="finished")) == 6
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert lines[-1].startswith(f"sweep {result.sweep_id}: 12/12 fits, 6 failed, best cv")
    # Resuming redoes only the failed fits (now healthy): the finished ones are kept.
    again = sweep(X, y, PARAMS, base=BASE, cv=3, backend="dask", client=cluster_client,
                  seed=3, standardize=True, store=tmp_path, sweep_id=result.sweep_id)
    assert again.failed == [] and set(result.run_ids) <= set(again.run_ids)


INTERRUPTED = textwrap.dedent("""
    import sys, numpy as np, glassnet as gn
    if __name__ == "__main__":  # the workers are spawned: they import this file
        X, y = gn.datasets.load_digits()
        gn.sweep(X, y, {"learning_rate": [1e-3, 3e-3, 1e-2, 3e-2], "hidden": [[32], [64]]},
                 base={"epochs": 200}, cv=3, backend="dask", n_workers=2,
                 store=sys.argv[1], sweep_id="ctrlc", verbose=True)
""")


@SLOW
def test_ctrl_c_leaves_no_run_running_and_no_worker_alive(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(INTERRUPTED)
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "store")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running = []
    deadline = time.time() + 120
    try:
        while time.time() < deadline and len(running) < 2:  # both workers mid-fit
            time.sleep(0.5)
            if (tmp_path / "store" / "glassnet.db").exists():
                store = gn.track.open_store(tmp_path / "store")
                running = store.runs(group_id="ctrlc", status="running")
        assert len(running) == 2, "the workers never started fitting"
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0 and "ctrlc interrupted" in out
    store = gn.track.open_store(tmp_path / "store")
    runs = store.runs(group_id="ctrlc")
    assert not [r for r in runs if r["status"] == "running"]
    # A fit seen running before the signal is crashed if its worker was stopped mid-fit,
    # or finished if the worker's close waited for its task (it may: a loaded machine
    # takes seconds to close a cluster); never left running.
    status = {r["id"]: r["status"] for r in runs}
    assert {status[r["id"]] for r in running} <= {"finished", "crashed"}
    assert not any(process_alive(r["pid"], None) for r in runs)


@SLOW
def test_a_local_cluster_is_started_for_the_sweep_file(tmp_path):
    from click.testing import CliRunner

    from glassnet.cli import cli

    spec = tmp_path / "s.toml"
    spec.write_text('dataset = "coffee"\ncv = 2\n[fixed]\nepochs = 2\n'
                    '[params]\nlearning_rate = [0.01, 0.1]\n')
    result = CliRunner().invoke(cli, ["sweep", str(spec), "--workers", "2",
                                      "--store", str(tmp_path / "store")],
                                env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "4 fits, 4 finished, 0 failed" in result.output
    assert "4/4 fits, best cv" in result.output  # the progress line
    assert all(len(line) <= 80 for line in result.output.splitlines())
    runs = gn.track.open_store(tmp_path / "store").runs(project="s")
    assert len(runs) == 4 and os.getpid() not in {r["pid"] for r in runs}


def test_progress_line_counts_fits_and_names_the_best_complete_trial():
    stream = io.StringIO()
    progress = Progress("abcd1234", total=4, cv=2, stream=stream)
    progress.update({"trial": 0, "fold": 0, "score": 0.9, "error": None})
    assert "best" not in progress.line()  # no trial has all its folds yet
    progress.update({"trial": 1, "fold": 0, "score": 0.5, "error": None})
    progress.update({"trial": 1, "fold": 1, "score": 0.7, "error": None})
    assert progress.line() == "sweep abcd1234: 3/4 fits, best cv 0.6000 (trial 1)"
    progress.update({"trial": 0, "fold": 1, "error": "ValueError: no"})
    assert progress.line() == "sweep abcd1234: 4/4 fits, 1 failed, best cv 0.6000 (trial 1)"
    assert stream.getvalue().splitlines()[-1] == progress.line()
    assert len(Progress("x" * 90, 1, 2).line()) == WIDTH


@pytest.mark.parametrize("options, message", [
    ({"backend": "loky", "scheduler": "tcp://127.0.0.1:1"}, "go.*with backend='dask'"),
    ({"backend": "dask", "scheduler": "tcp://127.0.0.1:1", "n_workers": 2},
     "n_workers sizes the LocalCluster"),
    ({"backend": "dask", "n_workers": 0}, "n_workers must be a positive int"),
    ({"backend": "dask", "fits_per_task": "2"}, "fits_per_task must be a positive int"),
])
def test_dask_options_that_do_not_go_together_are_named(digits, tmp_path, options, message):
    X, y = digits
    with pytest.raises(ConfigError, match=message):
        sweep(X, y, PARAMS, store=tmp_path, **options)


def test_sweep_file_dask_keys_need_the_dask_backend(tmp_path):
    from glassnet.sklearn.sweep_file import read_sweep_file

    spec = tmp_path / "s.toml"
    spec.write_text("n_workers = 2\n[params]\nepochs = [1]\n")
    with pytest.raises(ConfigError, match="'n_workers' needs backend = \"dask\""):
        read_sweep_file(spec)
    spec.write_text('backend = "dask"\nscheduler = "tcp://h:1"\nn_workers = 2\n'
                    "[params]\nepochs = [1]\n")
    with pytest.raises(ConfigError, match="with 'scheduler' the cluster's own workers"):
        read_sweep_file(spec)
    spec.write_text('backend = "dask"\nn_workers = 2\nfits_per_task = 3\n'
                    "[params]\nepochs = [1]\n")
    assert read_sweep_file(spec)["n_workers"] == 2
