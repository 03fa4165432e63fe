"""The statistics process: the same rows as the summariser thread, nothing lost when it
dies or cannot start, no shared file left behind."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense, Input
from glassnet.track import init, kept_steps, open_store
from glassnet.track import stats_process as sp


@pytest.fixture
def fresh_process(monkeypatch):
    """A statistics process of this test's own, ended afterwards."""
    monkeypatch.setattr(sp, "_process", None)
    yield
    made = sp.stats_process(start=False)
    if made is not None:
        made.close()


def _ready(timeout=60.0) -> sp.StatsProcess:
    process = sp.stats_process()
    deadline = time.monotonic() + timeout
    while not process.ready and process.broken is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.ready, process.broken
    return process


def _data():
    x, y = gn.datasets.load_digits()
    x = ((x - x.mean(0)) / (x.std(0) + 1e-7)).astype(np.float32)
    return x[:300], y[:300]


def _train(store, callback_after=None, epochs=3):
    """A ReLU and a tanh layer watched every step; the run and its steps."""
    x, y = _data()
    gn.utils.set_random_seed(3)
    model = gn.Sequential([Input(shape=(64,)), Dense(20, activation="relu", name="a"),
                           Dense(12, activation="tanh", name="b"),
                           Dense(10, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    run = init("stats", store=store)
    callbacks = [run.watch(log_freq=1, snapshots=None)]
    if callback_after is not None:
        callbacks.append(callback_after)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=False,
              callbacks=callbacks)
    run.finish()
    return run, epochs * 10  # 300 rows: 10 steps an epoch, the last one of 12


def _recorded(store, run_id):
    """Everything the watch wrote but wall times: parameter rows, histograms, units."""
    params = store.param_stats(run_id)
    layers = [{key: value for key, value in row.items()
               if key not in ("backward_time", "update_time", "time")}
              for row in store.layer_stats(run_id)]
    return params, layers


def _assert_same(one, other):
    for rows, others in zip(one, other, strict=True):
        assert len(rows) == len(others)
        for row, twin in zip(rows, others, strict=True):
            assert row.keys() == twin.keys()
            for key, value in row.items():
                if key == "histogram":
                    for a, b in zip(value, twin[key], strict=True):
                        np.testing.assert_array_equal(a, b)
                elif isinstance(value, float):
                    np.testing.assert_array_equal(value, twin[key], err_msg=key)
                else:
                    assert value == twin[key], key


def _submissions(monkeypatch) -> list:
    sent = []
    submit = sp.StatsProcess.submit

    def counted(self, job):
        accepted = submit(self, job)
        sent.append(accepted)
        return accepted

    monkeypatch.setattr(sp.StatsProcess, "submit", counted)
    return sent


def test_the_process_records_what_the_thread_records(store, monkeypatch, fresh_process):
    """On both backends: the process opens the run's store by its address."""
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "0")
    in_thread, steps = _train(store)
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "1")
    _ready()
    sent = _submissions(monkeypatch)
    in_process, _ = _train(store)
    assert sent and all(sent)  # every set went to the process
    thread_rows = _recorded(store, in_thread.id)
    assert len([r for r in thread_rows[0] if r["path"] == "a/kernel"]) == steps
    _assert_same(thread_rows, _recorded(store, in_process.id))
    # and they are the statistics of the weights: the last step's, against NumPy
    last = store.param_stats(in_process.id, "a/kernel")[-1]
    assert last["count"] == 64 * 20
    assert np.isfinite(last["std"]) and last["min"] <= last["mean"] <= last["max"]


class _KillsTheProcess(gn.callbacks.Callback):
    def __init__(self, at_step):
        super().__init__()
        self.at_step, self.step = at_step, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.step == self.at_step:
            process = sp.stats_process()
            os.kill(process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while process.ready and time.monotonic() < deadline:  # until the client knows
                process.poll(timeout=0.05)
        self.step += 1


def test_a_killed_process_loses_no_logged_step(tmp_path, monkeypatch, fresh_process):
    store = open_store(tmp_path / "store")
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "0")
    truth, steps = _train(store, epochs=10)
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "1")
    process = _ready()
    sent = _submissions(monkeypatch)
    killed, _ = _train(store, _KillsTheProcess(at_step=70), epochs=10)
    assert True in sent and False in sent  # some sets went there, the rest stayed here
    assert not process.ready and process.broken
    _assert_same(_recorded(store, truth.id), _recorded(store, killed.id))


def test_without_a_process_the_thread_does_it_all(tmp_path, monkeypatch, fresh_process):
    store = open_store(tmp_path / "store")
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "0")
    truth, steps = _train(store)

    def cannot_start():
        raise OSError("no python here")

    monkeypatch.setattr(sp, "_popen", cannot_start)
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "1")
    process = sp.stats_process()
    deadline = time.monotonic() + 10
    while process.broken is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "no python here" in process.broken
    alone, _ = _train(store)
    _assert_same(_recorded(store, truth.id), _recorded(store, alone.id))


def _shared_files():
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    if folder is None:
        pytest.skip("no /dev/shm here")
    return [name for name in os.listdir(folder)
            if name.startswith(f"{kept_steps.SHARED_PREFIX}{os.getpid()}-")]


def test_no_shared_file_outlives_the_run(tmp_path, monkeypatch, fresh_process):
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "1")
    _ready()
    before = _shared_files()
    _train(open_store(tmp_path / "store"), epochs=2)
    assert _shared_files() == before


def test_stale_shared_files_of_dead_processes_are_removed(tmp_path):
    dead = 2 ** 22 + 12345  # above Linux's default pid_max: no such process
    stale = tmp_path / f"{kept_steps.SHARED_PREFIX}{dead}-0"
    mine = tmp_path / f"{kept_steps.SHARED_PREFIX}{os.getpid()}-0"
    other = tmp_path / "someone-else"
    for path in (stale, mine, other):
        path.write_bytes(b"x")
    assert kept_steps.remove_stale(str(tmp_path)) == 1
    assert not stale.exists() and mine.exists() and other.exists()


def test_a_shared_set_is_the_same_memory_in_both_mappings():
    layout = kept_steps.Layout(rows=3, sizes=(4, 2), dtype="<f4",
                               units=(("a", "relu", 5, 2, "<f4"),))
    kept = kept_steps.KeptSteps(layout, shared=True)
    try:
        other = kept_steps.KeptSteps.attach(kept.path, kept_steps.Layout.from_json(
            layout.to_json()))
        kept.rows[1] = np.arange(12)
        kept.outputs[0][2] = 7.0
        other.stats[0, 1, 3] = 2.5
        np.testing.assert_array_equal(other.rows[1], np.arange(12))
        assert other.outputs[0][2].tolist() == [[7.0, 7.0]] * 5
        assert kept.stats[0, 1, 3] == 2.5
    finally:
        kept.unlink()
    assert not os.path.exists(kept.path)


def test_a_stuck_process_is_ended_and_its_jobs_done_here(tmp_path, monkeypatch, fresh_process):
    """A process that says ready and then answers nothing (nor reads): every row still
    arrives, the set that did not fit in its input went to the thread, and the rest
    was done here once the process was ended as stuck."""
    import subprocess
    import sys

    store = open_store(tmp_path / "store")
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "0")
    truth, _ = _train(store, epochs=4)

    def stuck():
        return subprocess.Popen(
            [sys.executable, "-c", "import sys, time; print('{}', flush=True); time.sleep(600)"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    monkeypatch.setattr(sp, "_popen", stuck)
    monkeypatch.setattr(sp, "_STUCK_SECONDS", 1.0)
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "1")
    process = _ready()
    sent = _submissions(monkeypatch)
    started = time.monotonic()
    alone, _ = _train(store, epochs=4)
    assert True in sent  # it took jobs, and never answered them
    assert not process.ready and time.monotonic() - started < 30
    _assert_same(_recorded(store, truth.id), _recorded(store, alone.id))
