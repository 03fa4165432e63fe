"""What the store does when the world is hostile: a full disk, threads sharing a run."""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
import time

import numpy as np
import pytest

import glassnet.track as gt
from glassnet.errors import StoreError
from glassnet.track import writer as writer_module
from glassnet.track.blobs import INLINE_MAX
from glassnet.track.store import Store
from glassnet.track.writer import BufferedWriter


def _fill_the_disk(store) -> None:
    """The database may not grow by a single page from now on (SQLITE_FULL on a write)."""
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")


def _wait_for(condition, what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s  # a bound on a hang, not a timed assertion
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


@pytest.mark.slow
def test_a_full_disk_warns_once_keeps_what_was_written_and_fails_the_run(
        store_dir, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG, logger="glassnet.track")
    run = gt.init("full", store=store_dir)
    for step in range(100):
        run.log({"loss": 1.0 / (step + 1)})
    run.store.flush()
    _fill_the_disk(run.store)
    writer = run.store.writer
    monkeypatch.setattr(writer_module, "MAX_RETRY_S", 0.02)  # retry often: many retries
    writer.interval, writer._retry_pause = 0.01, 0.01
    for _ in range(100, 20_100):
        run.log({"loss": 0.5, "acc": 0.25})
    _wait_for(lambda: sum(r.message == "glassnet.track: retry failed"
                          for r in caplog.records) >= 5, "five failed retries")

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # not one per retry
    message = warnings[0].getMessage()
    assert f"the disk holding {run.store.root} is full" in message
    assert "kept in memory" in message and "retried" in message
    assert writer.pending == 40_000 + 1  # every row held (and the summary), none dropped

    with pytest.raises(StoreError, match=r"40001 rows could not be written.*disk holding "
                                         r".* is full.*recorded as failed"):
        run.finish()
    assert run.status == "failed"

    reader = Store(store_dir)  # a second connection: what is really on disk
    record = reader.run(run.id)
    assert record.status == "failed" and "is full" in record.error
    steps, values = reader.metrics(run.id, "loss")
    assert steps.tolist() == list(range(100))  # everything before the disk filled
    assert values[-1] == pytest.approx(1 / 100)
    assert reader.metrics(run.id, "acc")[0].size == 0
    assert reader.integrity_check() == "ok"
    reader._conn.close()
    run.store._conn.execute("PRAGMA max_page_count = 1073741823")  # room again
    run.store.flush()  # the held rows were kept in order and now land
    assert run.store.metrics(run.id, "loss")[0].tolist() == list(range(20_100))


@pytest.mark.slow
def test_a_first_flush_bigger_than_the_disk_leaves_no_orphan_blob(store_dir):
    run = gt.init("full", store=store_dir)
    _fill_the_disk(run.store)
    weights = np.arange(250_000, dtype=np.float64)  # a 2 MB snapshot
    run.store.writer.interval = 3600  # this test flushes by itself
    run.store.log_snapshot(run.id, 0, "step", {"dense/kernel": weights})
    for _ in range(20_000):  # and rows the database has no room for
        run.log({"loss": 0.5})
    with pytest.raises(StoreError, match="is full"):
        run.store.flush()
    blobs = [p for p in (store_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs == []  # its row could not be written, so neither may the blob stay
    run.store._conn.execute("PRAGMA max_page_count = 1073741823")
    run.store.flush()
    assert np.array_equal(run.store.snapshot(run.id, 0)["dense/kernel"], weights)
    assert len([p for p in (store_dir / "blobs").rglob("*") if p.is_file()]) == 1
    run.finish()


def test_held_rows_are_bounded_and_the_oldest_are_kept():
    written, failing = [], [True]

    def flush(rows, updates):
        if failing[0]:
            raise StoreError("the disk holding /x is full")
        written.extend(rows["t"])

    writer = BufferedWriter(flush, interval=60, max_held=10)
    writer.add("t", (0,))
    with pytest.raises(StoreError):
        writer.flush()  # from now on rows are held, not just waiting for the next flush
    for i in range(1, 15):
        writer.add("t", (i,))
    writer.extend("t", [(15,), (16,)])
    assert writer.pending == 10 and writer.dropped == 7  # past the bound: newer rows dropped
    failing[0] = False
    writer.flush()
    assert written == [(i,) for i in range(10)]  # a prefix of what was logged, in order
    for i in range(20):  # writing works again: no bound on rows waiting for a flush
        writer.add("t", (i,))
    assert writer.pending == 20 and writer.dropped == 7
    writer.close()


def test_held_snapshots_are_bounded_by_their_bytes():
    def flush(rows, updates):
        raise StoreError("the disk holding /x is full")

    writer = BufferedWriter(flush, interval=60, max_held_bytes=3_000)
    writer.add("snapshot", ("run", 0, np.zeros(125)), nbytes=1_000)
    with pytest.raises(StoreError):
        writer.flush()
    for step in range(1, 5):  # 1,000 bytes each: three fit in all
        writer.add("snapshot", ("run", step, np.zeros(125)), nbytes=1_000)
    writer.add("metrics", ("run", "loss", 0, 1.0, 0.0))  # small rows still fit
    assert writer.pending == 4 and writer.dropped == 2
    with pytest.raises(StoreError):
        writer.flush()
    writer.add("snapshot", ("run", 9, np.zeros(125)), nbytes=1_000)
    assert writer.pending == 4 and writer.dropped == 3  # the bound holds after a retry


def test_the_failed_rollback_of_sqlite_does_not_hide_the_cause(store_dir):
    run = gt.init("full", store=store_dir)
    store = run.store
    _fill_the_disk(store)
    with pytest.raises(StoreError, match="is full") as caught:
        store.update_run(run.id, config={"x": "y" * 100_000})
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert "full" in str(caught.value.__cause__)
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    store.update_run(run.id, config={"x": 1})  # the connection is usable again
    assert store.run(run.id).config == {"x": 1}
    run.finish()


def test_eight_threads_logging_to_one_run_store_every_row_at_distinct_steps(store):
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        run = gt.init("threads", store=store)
        start = threading.Barrier(8)

        def work():
            start.wait()
            for _ in range(3_000):
                run.log({"k": 1.0})

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    run.finish()
    steps, values = store.metrics(run.id, "k")
    assert steps.tolist() == list(range(24_000)) and values.sum() == 24_000
    assert run.step == 23_999 and store.run(run.id).summary == {"k": 1.0}


# -- a read-only store -----------------------------------------------------------------
_READ_ONLY = """
import sys
import glassnet.track as gt
from glassnet.errors import StoreError
store = gt.open_store(sys.argv[1])
run = store.runs()[0]
steps, values = store.metrics(run.id, "loss")
print(run.name, run.status, steps.tolist(), values.tolist(), store.read_only is not None)
try:
    gt.init("more", store=sys.argv[1])
except StoreError as exc:
    print("refused:", exc)
from fastapi.testclient import TestClient
from glassnet.ui.app import create_app
client = TestClient(create_app(sys.argv[1]))
r = client.get("/api/runs")
print("dashboard:", r.status_code, [x["name"] for x in r.json()["runs"]])
"""


# root writes anywhere: the child runs without the capabilities that bypass permissions
_WITHOUT_ROOT_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


@pytest.fixture
def read_only_store(tmp_path):
    import os
    import shutil

    if os.geteuid() != 0 and shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop root's permission override")
    prefix = _WITHOUT_ROOT_OVERRIDE if os.geteuid() == 0 else []
    root = tmp_path / "store"
    run = gt.init("ro", name="frozen-run", store=root)
    for step in range(5):
        run.log({"loss": float(step)})
    run.finish()
    run.store.close()
    assert not (root / "glassnet.db-shm").exists()  # closed cleanly: no WAL index left
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
        os.chmod(dirpath, 0o555)
    yield prefix, str(root)
    for dirpath, _, _ in os.walk(root):
        os.chmod(dirpath, 0o755)


@pytest.mark.slow
def test_a_read_only_store_reads_and_refuses_writes_by_name(read_only_store):
    import subprocess

    from track_helpers import child_env

    prefix, read_only_store = read_only_store
    proc = subprocess.run([*prefix, sys.executable, "-c", _READ_ONLY, read_only_store],
                          capture_output=True, text=True, env=child_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "frozen-run finished [0, 1, 2, 3, 4] [0.0, 1.0, 2.0, 3.0, 4.0] True"
    assert lines[1].startswith(f"refused: store {read_only_store} is read-only (")
    assert "no write permission" in lines[1]
    assert lines[2] == "dashboard: 200 ['frozen-run']"
    cli = subprocess.run([*prefix, sys.executable, "-c", "from glassnet.cli import main; main()",
                          "runs", "--store", read_only_store],
                         capture_output=True, text=True, env=child_env(), timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "frozen-run" in cli.stdout and "finished" in cli.stdout



@pytest.mark.slow
def test_a_blob_write_on_a_full_disk_is_named_as_such(store_dir, monkeypatch):
    import errno

    run = gt.init("full", store=store_dir)
    run.store.writer.interval = 3600

    def no_space(target, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run.store.blobs, "_write_atomic", no_space)
    big = np.ones(INLINE_MAX // 8 + 1)  # a file: small snapshots go in the database
    run.store.log_snapshot(run.id, 0, "step", {"w": big})
    with pytest.raises(StoreError, match=f"the disk holding {run.store.root} is full"):
        run.store.flush()
    monkeypatch.undo()
    run.finish()  # the held snapshot lands once there is room
    assert np.array_equal(run.store.snapshot(run.id, 0)["w"], big)


def test_a_small_snapshot_on_a_full_database_leaves_no_blob_and_lands_later(store_dir):
    """Kept in the database, its blob goes in the transaction of its row: both or none."""
    run = gt.init("full", store=store_dir)
    run.store.writer.interval = 3600  # this test flushes by itself
    _fill_the_disk(run.store)
    run.store.log_snapshot(run.id, 0, "step", {"w": np.arange(1000.0)})
    with pytest.raises(StoreError, match="is full"):
        run.store.flush()
    read = run.store.backend.read
    assert read("SELECT COUNT(*) FROM inline_blobs")[0][0] == 0
    assert read("SELECT COUNT(*) FROM snapshots")[0][0] == 0
    run.store._conn.execute("PRAGMA max_page_count = 1073741823")
    run.finish()
    assert np.array_equal(run.store.snapshot(run.id, 0)["w"], np.arange(1000.0))
    assert read("SELECT COUNT(*) FROM inline_blobs")[0][0] == 1
