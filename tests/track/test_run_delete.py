"""Deleting runs and collecting orphan blobs: every row of the run goes, every blob
another row names stays, and the dry run says exactly what the delete then does.

Truth comes from outside the store's queries: row counts in plain SQL through the
database driver (``store.backend.read``), blobs from the files under ``blobs/`` and the
rows of ``inline_blobs`` (where small snapshots are kept).
SIGKILL in the middle of a delete is in test_run_delete_kill.py.
"""

from __future__ import annotations

import os
import sqlite3
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ConfigError, NotFoundError
from glassnet.track import Store, init, load_dataset, load_model
from glassnet.track.store.removal import BLOB_COLUMNS, REGISTRY_TABLES, RUN_TABLES


def counts(store, run_id) -> dict[str, int]:
    """Rows of ``run_id`` in every table that has a run_id column, read from the file."""
    store.flush()
    read = store.backend.read
    out = {"runs": read("SELECT COUNT(*) FROM runs WHERE id = ?", (run_id,))[0][0]}
    for table in RUN_TABLES + REGISTRY_TABLES:
        out[table] = read(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (run_id,))[0][0]
    return out


def blob_files(store) -> dict[str, int]:
    """sha -> size of every blob file on disk."""
    out = {}
    for folder, _, files in os.walk(store.blobs.root):
        for name in files:
            if not name.startswith("."):
                out[name] = os.path.getsize(os.path.join(folder, name))
    return out


def inline_blobs(store) -> dict[str, int]:
    """sha -> size of every blob the database keeps, the size measured here."""
    return {sha: len(bytes(data)) for sha, data in
            store.backend.read("SELECT sha, data FROM inline_blobs")}


def stored_blobs(store) -> dict[str, int]:
    """sha -> bytes of every blob stored, as a file or in the database (both: the sum)."""
    out = blob_files(store)
    for sha, size in inline_blobs(store).items():
        out[sha] = out.get(sha, 0) + size
    return out


def named_blobs(store) -> set[str]:
    return {r[0] for table, column in BLOB_COLUMNS for r in store.backend.read(
        f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")}


def record(store, name: str, artifact: bytes, tmp_path, seed: int = 7):
    """A finished run that fills every table: a watched fit (metrics, series, weight and
    layer statistics, snapshots at -1 and each epoch, model config), a file artifact, a
    model version and a dataset version. The same seed gives the same initial weights,
    so two such runs share their step -1 snapshot blob."""
    gn.utils.clear_session()
    gn.utils.set_random_seed(seed)
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(16, 2)
    y = (x[:, :1] > (0.0 if name == "a" else 0.5)).astype(np.float32)  # trained apart
    model = gn.Sequential([gn.layers.Input(shape=(2,)), gn.layers.Dense(3, activation="relu"),
                           gn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with init("p", name=name, store=store) as run:
        model.fit(x, y, epochs=2, batch_size=8, verbose=0,
                  callbacks=[run.watch(log_freq=1, snapshots="epoch")])
        path = tmp_path / f"{name}.txt"
        path.write_bytes(artifact)
        run.log_artifact(path)
        run.log({"test_accuracy": 0.5})  # a row of the metrics table (the watch writes series)
        run.log_model(model, f"model-{name}")
        run.log_dataset(f"data-{name}", X=x * (1 + seed), y=y)
    return run.id


@pytest.fixture
def two(store, tmp_path):
    a = record(store, "a", b"only a has this", tmp_path)
    b = record(store, "b", b"b's own file", tmp_path)
    return store, a, b


def test_every_table_with_a_run_id_is_emptied_or_unlinked_by_a_delete(store_dir):
    """A new table holding rows of a run must be added to RUN_TABLES (or REGISTRY_TABLES)."""
    Store(store_dir).close()
    with sqlite3.connect(store_dir / "glassnet.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        with_run = {t for t in tables
                    if "run_id" in [c[1] for c in db.execute(f"PRAGMA table_info({t})")]}
        with_sha = {t for t in tables
                    if "sha" in [c[1] for c in db.execute(f"PRAGMA table_info({t})")]}
    assert with_run == set(RUN_TABLES) | set(REGISTRY_TABLES)
    assert with_sha == {table for table, _ in BLOB_COLUMNS} | {"inline_blobs"}  # the bytes


def test_delete_removes_every_row_of_the_run_and_only_its_own_blobs(two):
    store, a, b = two
    before_a, before_b = counts(store, a), counts(store, b)
    assert all(before_a[t] > 0 for t in ("metrics", "metric_series", "param_layouts",
                                         "param_stats", "layer_stats", "snapshots",
                                         "model_configs", "artifacts", "models", "datasets"))
    files = stored_blobs(store)
    snapshots = dict(store._read("SELECT step, sha FROM snapshots WHERE run_id = ?", (a,)))
    shared = snapshots[-1]
    assert shared == dict(store._read("SELECT step, sha FROM snapshots WHERE run_id = ?",
                                      (b,)))[-1]  # the same initial weights, one blob
    own = {sha for step, sha in snapshots.items() if step >= 0}
    artifact = store._read("SELECT sha FROM artifacts WHERE run_id = ? AND kind = 'file'",
                           (a,))[0][0]
    model_sha = store.model_version("model-a")["sha"]
    freed = own | {artifact}

    plan = store.delete_run(a[:5], dry_run=True)
    assert counts(store, a) == before_a and stored_blobs(store) == files  # nothing changed
    assert [r.id for r in plan.runs] == [a]
    expected_rows = {t: before_a[t] for t in RUN_TABLES} | {"runs": 1}
    assert plan.rows == expected_rows
    assert plan.unlinked == {"models": 1, "datasets": 1}
    assert plan.blobs == {sha: files[sha] for sha in freed}
    assert plan.freed_bytes == sum(files[sha] for sha in freed)
    assert plan.shared == 3  # the step -1 snapshot (b's too), the model and dataset blobs

    done = store.delete_run(a)
    assert done.rows == plan.rows and done.blobs == plan.blobs and done.left == []
    assert done.freed_bytes == plan.freed_bytes
    assert counts(store, a) == {t: 0 for t in before_a}
    assert counts(store, b) == before_b  # the other run is untouched
    after = stored_blobs(store)
    assert set(after) == set(files) - freed
    dataset_sha = store.datasets("data-a")[0]["sha"]
    assert shared in after and model_sha in after and dataset_sha in after
    assert named_blobs(store) <= set(after)  # no row names a missing blob
    # the registry keeps what the run logged, without its link to the run
    assert store.model_version("model-a")["run_id"] is None
    x = np.zeros((1, 2), np.float32)
    assert load_model("model-a", store).predict(x, verbose=0).shape == (1, 1)
    assert load_dataset("data-a", store)["X"].shape == (16, 2)
    with pytest.raises(NotFoundError, match=f"no run with id '{a}'"):
        store.run(a)
    assert store.integrity_check() == "ok"


def test_deleting_both_runs_frees_the_shared_blob_too(two):
    store, a, b = two
    files = stored_blobs(store)
    done = store.delete_runs([a, b])
    assert sorted(r.name for r in done.runs) == ["a", "b"]
    kept = {store.model_version(n)["sha"] for n in ("model-a", "model-b")}
    kept |= {d["sha"] for d in store.datasets()}
    assert set(stored_blobs(store)) == kept
    assert done.freed_bytes == sum(size for sha, size in files.items() if sha not in kept)
    assert store.runs(archived=True) == []


def test_a_running_run_is_not_deleted(store):
    run = init("p", store=store)
    run.log({"loss": 1.0})
    with pytest.raises(ConfigError, match=rf"cannot delete running runs: {run.id} \(p/"):
        store.delete_run(run.id)
    assert counts(store, run.id)["metrics"] == 1
    run.finish()
    store.delete_run(run.id)
    assert counts(store, run.id)["metrics"] == 0


def test_unknown_runs_stop_the_whole_delete(two):
    store, a, b = two
    with pytest.raises(NotFoundError, match="no run with id 'nope'"):
        store.delete_runs([a, "nope"])
    assert counts(store, a)["runs"] == 1


def test_a_blob_claimed_after_its_rows_is_left_for_gc(two):
    """A writer storing the same bytes stamps the blob before naming it: a delete seeing
    the stamp leaves the blob (a row may name it in a moment); gc takes it later."""
    store, a, b = two
    time.sleep(WRITE_SLACK + 0.2)
    own = store._read("SELECT sha FROM artifacts WHERE run_id = ? AND kind = 'file'", (a,))
    sha = own[0][0]
    assert store.blobs.claim(store.blobs.path(sha))  # another writer, about to name it
    done = store.delete_run(a)
    assert done.left == [sha] and sha in stored_blobs(store)
    assert sha not in named_blobs(store)
    assert done.freed_bytes == sum(done.blobs.values()) - done.blobs[sha]
    found = store.collect_garbage()  # within the grace age: kept
    assert found.blobs == {} and found.recent == 1
    _age(store.blobs.path(sha), 2 * 3600)
    found = store.collect_garbage()
    assert list(found.blobs) == [sha] and sha not in stored_blobs(store)


WRITE_SLACK = 2.0


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_gc_removes_old_orphans_and_stale_temporary_files_and_nothing_named(two):
    store, a, b = two
    named = named_blobs(store)
    orphan = store.blobs.put_bytes(b"no row names me")
    young = store.blobs.put_bytes(b"written a moment ago")
    tmp = store.blobs.path(orphan).parent / ".tmp-99999-1-1"
    tmp.write_bytes(b"half a blob")
    live_tmp = store.blobs.path(orphan).parent / ".tmp-99999-1-2"
    live_tmp.write_bytes(b"being written")
    for sha in (named & set(blob_files(store))) | {orphan}:  # every file old; the young
        _age(store.blobs.path(sha), 7200)  # orphan and live_tmp are new
    _age(tmp, 7200)
    files = stored_blobs(store)

    dry = store.collect_garbage(dry_run=True)
    assert dry.blobs == {orphan: len(b"no row names me")} and dry.recent == 1
    assert dry.temporary == {tmp.name: len(b"half a blob")}
    assert stored_blobs(store) == files and tmp.exists()

    found = store.collect_garbage()
    assert found.blobs == dry.blobs and found.temporary == dry.temporary
    assert found.freed_bytes == len(b"no row names me") + len(b"half a blob")
    assert set(stored_blobs(store)) == set(files) - {orphan}
    assert young in stored_blobs(store) and live_tmp.exists() and not tmp.exists()
    assert named <= set(stored_blobs(store))
    assert store.collect_garbage(grace_s=0).blobs == {young: len(b"written a moment ago")}
    with pytest.raises(ConfigError, match="grace_s must be a number of seconds"):
        store.collect_garbage(grace_s=-1)


def test_a_blob_stored_twice_is_stamped_and_one_removed_meanwhile_is_written_again(store):
    sha = store.blobs.put_bytes(b"bytes")
    path = store.blobs.path(sha)
    _age(path, 7200)
    assert store.blobs.put_bytes(b"bytes") == sha
    assert path.stat().st_mtime > time.time() - 60  # claimed: gc's grace starts again
    os.unlink(path)  # a delete got there first
    created = []
    store.blobs.put_bytes(b"bytes", created)
    assert path.read_bytes() == b"bytes" and created == [path]
