"""Runs: init / log / finish, names, environment, failures and runs left open at exit."""

from __future__ import annotations

import re

import numpy as np
import pytest
from track_helpers import run_python

from glassnet.track import Run, init, open_store


@pytest.mark.slow
def test_init_log_finish_records_config_metrics_and_summary(store):
    run = init("digits", config={"lr": 1e-3, "units": np.int64(25)}, store=store)
    assert isinstance(run, Run) and re.fullmatch(r"[0-9a-f]{8}", run.id), run.id
    assert store.resolve_run_id(run.id[:5]) == run.id  # the id, or a prefix, finds the run
    assert run.config == {"lr": 1e-3, "units": 25}
    run.log({"loss": 0.9, "acc": np.float32(0.5)})
    run.log({"loss": 0.7})
    run.log({"val": np.array(3.0)}, step=10)
    run.log({"loss": 0.5})
    assert run.step == 11
    run.finish()
    record = store.run(run.id)
    assert record.status == "finished" and record.finished_at >= record.created_at
    assert record.config == {"lr": 1e-3, "units": 25}
    assert record.summary == {"loss": 0.5, "acc": 0.5, "val": 3.0}
    assert store.metrics(run.id, "loss")[0].tolist() == [0, 1, 11]
    assert store.metric_keys(run.id) == ["acc", "loss", "val"]


def test_run_names_are_generated_and_distinct(store):
    runs = [init("p", store=store) for _ in range(5)]
    names = {r.name for r in runs}
    assert len(names) == 5 and all(n.count("-") == 2 for n in names)
    assert len({r.id for r in runs}) == 5
    for r in runs:
        r.finish()


def test_environment_is_recorded(store):
    import os
    import socket

    run = init("p", store=store)
    run.finish()
    env = store.run(run.id).env
    assert env["host"] == socket.gethostname() and env["pid"] == os.getpid()
    assert env["numpy"] == np.__version__ and "glassnet" in env and env["argv"]
    assert "git_commit" in env  # None outside a git checkout
    assert store.run(run.id).host == socket.gethostname()


def test_context_manager_marks_failed_with_the_error(store):
    with pytest.raises(RuntimeError):
        with init("p", store=store) as run:
            run.log({"loss": 1.0})
            raise RuntimeError("exploded at step 1")
    record = store.run(run.id)
    assert record.status == "failed" and "RuntimeError: exploded at step 1" in record.error
    assert store.metrics(run.id, "loss")[1].tolist() == [1.0]
    with init("p", store=store) as ok:
        ok.log({"loss": 2.0})
    assert store.run(ok.id).status == "finished"


def test_bad_log_calls_raise_clear_errors(store):
    run = init("p", store=store)
    with pytest.raises(TypeError, match="expects a dict"):
        run.log([1.0])
    with pytest.raises(TypeError, match="value for 'loss' must be a real number"):
        run.log({"loss": "low"})
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        run.log({"loss": 1.0}, step=-1)
    with pytest.raises(ValueError, match="project must be a non-empty string"):
        init("", store=store)
    run.finish()
    run.finish()  # a second finish does nothing
    with pytest.raises(ValueError, match="is finished"):
        run.log({"loss": 1.0})


@pytest.mark.slow
def test_a_run_left_open_is_finished_at_exit_or_failed_on_an_uncaught_error(store_dir):
    ok = run_python("""
        import sys, glassnet.track as t
        run = t.init("p", store=sys.argv[1])
        run.log({"loss": 1.0})
        print(run.id)
    """, str(store_dir))
    assert ok.returncode == 0, ok.stderr
    bad = run_python("""
        import sys, glassnet.track as t
        run = t.init("p", store=sys.argv[1])
        print(run.id, flush=True)
        raise ValueError("bad data")
    """, str(store_dir))
    assert bad.returncode != 0 and "bad data" in bad.stderr
    store = open_store(store_dir)
    assert store.run(ok.stdout.strip()).status == "finished"
    assert store.metrics(ok.stdout.strip(), "loss")[1].tolist() == [1.0]
    failed = store.run(bad.stdout.strip())
    assert failed.status == "failed" and "ValueError: bad data" in failed.error
    store.close()
