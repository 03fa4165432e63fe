"""Long-lived readers see a dead run as crashed: the writer's heartbeat and the pid check."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest
from track_helpers import spawn

import glassnet.track as gt
from glassnet.track import heartbeat
from glassnet.track.store import Store


def _wait_for(condition, what: str, limit_s: float = 60.0):
    deadline = time.monotonic() + limit_s  # a bound on a hang, not a timed assertion
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_sigkilled_run_reads_crashed_in_a_reader_and_dashboard_opened_before(store_dir):
    from fastapi.testclient import TestClient

    from glassnet.ui.app import create_app

    reader = gt.open_store(store_dir)  # opened first, and kept open: a dashboard's life
    client = TestClient(create_app(reader))
    child = spawn("""
        import sys, time, glassnet.track as t
        run = t.init("hb", store=sys.argv[1])
        run.log({"loss": 1.0})
        print(run.id, flush=True)
        time.sleep(600)  # idle: nothing logged, yet the writer keeps beating
    """, str(store_dir))
    try:
        run_id = child.stdout.readline().strip()
        assert run_id, child.stderr.read()
        _wait_for(lambda: len(reader.metrics(run_id, "loss")[0]), "the child's first flush")
        first = reader.run(run_id).heartbeat_at  # from now on only the heartbeat moves it
        assert reader.run(run_id).status == "running"
        _wait_for(lambda: reader.run(run_id).heartbeat_at > first, "a heartbeat while idle")
        assert client.get(f"/api/runs/{run_id}").json()["run"]["status"] == "running"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child.kill()
    record = _wait_for(lambda: (r := reader.run(run_id)).status == "crashed" and r,
                       "the reader to see the run crashed")
    assert "ended without finishing the run" in record.error
    listed = {r["id"]: r["status"] for r in client.get("/api/runs").json()["runs"]}
    assert listed[run_id] == "crashed"
    assert [r.id for r in reader.runs(status="crashed")] == [run_id]
    assert reader.runs(status="running") == []
    raw = sqlite3.connect(store_dir / "glassnet.db").execute(
        "SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    assert raw == "crashed"  # this host's dead process: recorded, not only shown


def test_a_run_of_another_host_is_crashed_once_its_heartbeat_is_stale(store_dir):
    writer = Store(store_dir)  # another Store: the reader below does not own the run
    run_id, _ = writer.create_run("hb", None, {}, [], None, {"host": "elsewhere", "pid": 1},
                                  None)
    writer._live.clear()  # stop beating, as a host that went away would
    writer.writer.close()
    db = sqlite3.connect(store_dir / "glassnet.db", isolation_level=None)
    reader = gt.open_store(store_dir)
    now = time.time()
    db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (now - 1, run_id))
    assert reader.run(run_id).status == "running"  # beating: alive, wherever it runs
    stale = now - heartbeat.STALE_AFTER_S - 5
    db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (stale, run_id))
    record = reader.run(run_id)
    assert record.status == "crashed" and record.finished_at == stale
    assert "no heartbeat from host elsewhere" in record.error
    assert [r.id for r in reader.runs(status="crashed")] == [run_id]
    # shown, not recorded: a host cut off from the store may come back
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "running"
    db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))
    assert reader.run(run_id).status == "running"
    writer._conn.close()
