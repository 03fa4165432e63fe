"""What only the PostgreSQL store has: its URL, its blobs folder, crash by heartbeat,
NaN in JSON, byte-order run ids, a read-only server, forked children, the dashboard and
the command line reading it. (Everything both backends share runs in the other test
files, on both: tests/track/conftest.py.)"""

from __future__ import annotations

import hashlib
import math
import os
import time

import numpy as np
import pytest

import glassnet.track as gt
from glassnet.errors import NotFoundError, StoreError
from glassnet.track import heartbeat
from glassnet.track.env import hostname
from glassnet.track.store.postgresql_connection import parse_url

pytest.importorskip("psycopg")


def test_the_url_names_the_blob_folder_and_hides_the_password(tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSNET_BLOBS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = "postgresql://ann:s3cret@db.example:6543/runs?sslmode=require&blobs=/shared/blobs"
    where = parse_url(url)
    assert str(where.blobs) == os.path.realpath("/shared/blobs")
    assert where.label == "postgresql://ann@db.example:6543/runs?sslmode=require"
    assert "blobs" not in where.conninfo and "sslmode=require" in where.conninfo
    assert "s3cret" in where.conninfo and "s3cret" not in where.label
    monkeypatch.setenv("GLASSNET_BLOBS", str(tmp_path / "team"))
    assert parse_url("postgresql://db.example/runs").blobs == tmp_path / "team"
    monkeypatch.delenv("GLASSNET_BLOBS")
    assert parse_url("postgresql://db.example/runs").blobs == (
        tmp_path / "data" / "glassnet" / "blobs" / "db.example-5432-runs")  # local default
    # libpq reads %20, not +, as a space: the options must reach it intact
    spaced = parse_url("postgresql://h/d?options=-c%20search_path%3Dx&blobs=/b").conninfo
    assert spaced == "postgresql://h/d?options=-c%20search_path%3Dx"
    with pytest.raises(StoreError, match="object store"):
        parse_url("postgresql://h/d?blobs=s3://bucket/prefix")


def test_a_missing_database_or_server_is_a_store_error_saying_so(postgres_url):
    base = postgres_url.rsplit("/", 1)[0]
    with pytest.raises(StoreError, match=r'database "nope" does not exist.*createdb'):
        gt.open_store(base.replace("glassnet@", "glassnet:pw@") + "/nope")
    with pytest.raises(StoreError) as caught:
        gt.open_store(base.replace("glassnet@", "glassnet:pw@") + "/nope")
    assert ":pw@" not in str(caught.value)  # the password never shows


def test_blobs_go_to_the_named_folder_and_snapshots_read_back(postgres_store_url, tmp_path):
    """A big snapshot is a file in the named folder; a small one a row of the database."""
    from glassnet.track.blobs import INLINE_MAX

    store = gt.open_store(postgres_store_url)
    assert store.blobs.root == tmp_path / "pg-blobs" and store.db_path is None
    run = gt.init("p", store=store)
    big = np.arange(INLINE_MAX // 8 + 1, dtype=np.float64)
    store.log_snapshot(run.id, 3, "step", {"w": big})
    store.log_snapshot(run.id, 4, "step", {"w": np.arange(4.0)})
    run.finish()
    big_sha, small_sha = (i["sha"] for i in store.snapshot_info(run.id))
    assert (tmp_path / "pg-blobs" / big_sha[:2] / big_sha).is_file()
    assert not (tmp_path / "pg-blobs" / small_sha[:2] / small_sha).exists()
    ((data,),) = store.backend.read("SELECT data FROM inline_blobs WHERE sha = ?", (small_sha,))
    assert hashlib.sha256(bytes(data)).hexdigest() == small_sha
    np.testing.assert_array_equal(store.snapshot(run.id, 3)["w"], big)
    np.testing.assert_array_equal(store.snapshot(run.id, 4)["w"], np.arange(4.0))
    np.testing.assert_array_equal(store.blobs.get_arrays(small_sha)["w"], np.arange(4.0))


@pytest.fixture
def pg_store(postgres_store_url):
    store = gt.open_store(postgres_store_url)
    yield store
    store.close()


def test_non_finite_numbers_metrics_exact_json_as_null(pg_store):
    run = gt.init("nan", store=pg_store, config={"lr": float("nan"), "ok": 1.5})
    run.log({"loss": float("nan")}, step=0)
    run.log({"loss": float("inf")}, step=1)
    run.log({"loss": -float("inf")}, step=2)
    run.log({"loss": 0.25, "acc": np.float32("nan")}, step=3)
    run.finish()
    steps, values = pg_store.metrics(run.id, "loss")
    assert steps.tolist() == [0, 1, 2, 3]  # DOUBLE PRECISION holds NaN and +-inf exactly
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    record = pg_store.run(run.id)
    assert record.config == {"lr": None, "ok": 1.5}  # JSON has no NaN: null
    assert record.summary["loss"] == 0.25 and math.isnan(record.summary["acc"])
    found = pg_store.search_runs("summary.loss < 1 and config.ok = 1.5", as_records=True)
    assert [r.id for r in found] == [run.id]  # every document parses as jsonb


def test_a_stale_heartbeat_is_crashed_even_for_a_live_pid_of_this_host(pg_store):
    """By heartbeat, not pid: on SQLite this run (this very process) reads running."""
    from glassnet.track.store import Store

    writer = Store(pg_store.location)  # a second Store: not the reader's run
    run_id, _ = writer.create_run("hb", None, {}, [], None,
                                  {"host": hostname(), "pid": os.getpid()}, None)
    writer._live.clear()
    writer.close()
    stale = time.time() - heartbeat.STALE_AFTER_S - 5
    with pg_store.backend.transaction() as c:
        c.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (stale, run_id))
    record = pg_store.run(run_id)
    assert record.status == "crashed" and record.finished_at == stale
    assert f"no heartbeat from host {hostname()}" in record.error
    assert [r.id for r in pg_store.search_runs("status = 'crashed'", as_records=True)] == [run_id]
    assert pg_store.mark_crashed() == []  # shown, never recorded: the writer may come back
    assert pg_store.backend.read("SELECT status FROM runs")[0][0] == "running"
    with pg_store.backend.transaction() as c:
        c.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))
    assert pg_store.run(run_id).status == "running"


def test_run_id_prefixes_compare_bytewise_in_a_database_of_another_locale(postgres_url,
                                                                         tmp_path):
    """An ICU database orders 'ab12' inside ['AB', 'AB' + U+FFFF): without COLLATE "C"
    on runs.id, prefix "AB12" would find run "ab12...", which SQLite never does."""
    import psycopg

    import pg_server

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE icu_runs TEMPLATE template0 LOCALE_PROVIDER icu "
                     "ICU_LOCALE 'en-US' LOCALE 'C'")
    url = postgres_url.rsplit("/", 1)[0] + f"/icu_runs?blobs={tmp_path}"
    store = gt.open_store(url)
    try:
        run_id, _ = store.create_run("p", None, {}, [], None, {}, None)
        prefix = run_id[:4].upper()
        if prefix == run_id[:4]:  # all digits: give it letters
            with store.backend.transaction() as c:
                c.execute("UPDATE runs SET id = 'ab12cd34' WHERE id = ?", (run_id,))
            run_id, prefix = "ab12cd34", "AB12"
        hazard = store.backend.read(
            'SELECT id FROM runs WHERE id COLLATE "default" >= ? AND id COLLATE "default" < ?',
            (prefix, prefix + "\uffff"))
        assert hazard == [(run_id,)]  # the database's own order would match it
        with pytest.raises(NotFoundError, match=f"no run with id '{prefix}'"):
            store.resolve_run_id(prefix)
        assert store.resolve_run_id(run_id[:4]) == run_id
        store._live.clear()
    finally:
        store.close()
        pg_server.drop_database(postgres_url, "icu_runs")


def test_a_read_only_server_opens_for_reading_and_refuses_writes(postgres_store_url):
    store = gt.open_store(postgres_store_url)
    run = gt.init("ro", store=store)
    run.finish()
    store.close()
    read_only = postgres_store_url.replace(
        "search_path", "default_transaction_read_only%3Don%20-c%20search_path")
    reader = gt.open_store(read_only)
    try:
        assert reader.read_only is not None and "only accepts reads" in reader.read_only
        assert [r.id for r in reader.runs()] == [run.id]
        with pytest.raises(StoreError, match="read-only"):
            reader.create_run("ro", None, {}, [], None, {}, None)
    finally:
        reader.close()


def test_a_forked_child_dropping_its_copy_leaves_the_parents_connection_working(pg_store):
    run = gt.init("fork", store=pg_store)
    assert pg_store.run(run.id).status == "running"  # a pooled connection, now idle
    pg_store.flush()
    idle = list(pg_store.backend.pool._idle)
    assert idle
    pid = os.fork()
    if pid == 0:  # the child: close what it inherited, as its garbage collector would
        try:
            pg_store.backend.pool.close()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    for conn in idle:  # the very connections the child closed its copies of
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert pg_store.run(run.id).status == "running"
    run.finish()


@pytest.mark.slow
def test_rows_logged_while_the_server_is_down_are_kept_and_land_after_it_returns(tmp_path):
    """A server restart mid-run: flushing fails with a StoreError saying so, the rows
    stay in memory, and the next flush after the restart writes every one of them."""
    import pg_server

    server = pg_server.start()  # a server of its own: this test stops it
    try:
        url = pg_server.create_database(server.url, "outage") + f"?blobs={tmp_path}"
        store = gt.open_store(url)
        run = gt.init("outage", store=store)
        for step in range(100):
            run.log({"loss": float(step)}, step=step)
        store.flush()
        server.pause()
        for step in range(100, 200):
            run.log({"loss": float(step)}, step=step)
        with pytest.raises(StoreError, match="outage"):
            store.flush()
        assert store.writer.pending >= 100  # kept, not dropped
        server.resume()
        store.flush()
        run.finish()
        steps, values = store.metrics(run.id, "loss")
        assert steps.tolist() == list(range(200)) and values.tolist() == list(map(float,
                                                                              range(200)))
        assert store.run(run.id).status == "finished"
        store.close()
    finally:
        server.stop()
