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
    for step in range(100, 20_100):
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


def test_a_first_flush_bigger_than_the_disk_leaves_no_orphan_blob(store_dir):
    run = gt.init("full", store=store_dir)
    _fill_the_disk(run.store)
    weights = np.arange(250_000, dtype=np.float64)  # a 2 MB snapshot
    run.store.writer.interval = 3600  # this test flushes by itself
    run.store.log_snapshot(run.id, 0, "step", {"dense/kernel": weights})
    for step in range(20_000):  # and rows the database has no room for
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
    for i in range(15):
        writer.add("t", (i,))
    writer.extend("t", [(15,), (16,)])
    with pytest.raises(StoreError):
        writer.flush()
    assert writer.pending == 10 and writer.dropped == 7  # past the bound: newer rows dropped
    failing[0] = False
    writer.flush()
    assert written == [(i,) for i in range(10)]  # a prefix of what was logged, in order
    writer.close()


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
