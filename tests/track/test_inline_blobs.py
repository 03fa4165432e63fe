"""Small snapshots kept in the database (table ``inline_blobs``): read back like files,
freed by a delete with the rows naming them, collected by gc when no row names them,
and stores written before them (snapshot files) still read, delete and upgrade.

Truth from outside the store's own queries: plain SQL through the driver
(``store.backend.read``), SHA-256 computed here, files listed from the folder.
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
from safetensors.numpy import save
from test_run_delete import blob_files, inline_blobs, named_blobs, record
from track_helpers import old_store

from glassnet.track import Store, init


def _snapshot_bytes(value: float) -> tuple[str, bytes]:
    data = save({"w": np.full(3, value, dtype=np.float32)})
    return hashlib.sha256(data).hexdigest(), data


def _orphan(store, value: float) -> tuple[str, int]:
    """A blob in the database that no row names (as a hand-made change would leave)."""
    sha, data = _snapshot_bytes(value)
    with store.backend.transaction() as c:
        c.execute("INSERT INTO inline_blobs (sha, size, data) VALUES (?, ?, ?)",
                  (sha, len(data), data))
    return sha, len(data)


def test_gc_removes_unnamed_blobs_of_the_database_at_once_and_keeps_named_ones(store, tmp_path):
    a = record(store, "a", b"a's file", tmp_path)
    named_before = named_blobs(store)
    kept = set(inline_blobs(store))
    assert kept and kept <= named_before  # the run's snapshots
    orphan, size = _orphan(store, 1.0)

    dry = store.collect_garbage(dry_run=True)
    assert dry.blobs == {orphan: size} and orphan in inline_blobs(store)
    found = store.collect_garbage()  # the default hour of grace is for files only
    assert found.blobs == {orphan: size} and found.freed_bytes == size
    assert set(inline_blobs(store)) == kept
    assert named_blobs(store) == named_before
    for step in store.snapshots(a):  # every snapshot still reads
        assert set(store.snapshot(a, step)) == {"dense/kernel", "dense/bias", "dense_1/kernel",
                                                "dense_1/bias"}
    assert store.collect_garbage().blobs == {}


def test_a_delete_frees_the_database_blobs_only_its_runs_named(store, tmp_path):
    a = record(store, "a", b"a's file", tmp_path)
    b = record(store, "b", b"b's file", tmp_path)
    shas = {run: dict(store.backend.read("SELECT step, sha FROM snapshots WHERE run_id = ?",
                                         (run,))) for run in (a, b)}
    assert shas[a][-1] == shas[b][-1]  # the same initial weights: one blob for both
    own = {sha for step, sha in shas[a].items() if step >= 0}
    sizes = inline_blobs(store)
    done = store.delete_run(a)
    assert own <= set(done.blobs) and all(done.blobs[sha] == sizes[sha] for sha in own)
    assert set(inline_blobs(store)) == set(sizes) - own  # b's, and the shared one, stay
    np.testing.assert_array_equal(store.snapshot(b, -1)["dense/kernel"],
                                  store.blobs.get_arrays(shas[b][-1])["dense/kernel"])
    store.delete_run(b)
    assert inline_blobs(store) == {}


def _legacy_snapshot(store, run_id: str, step: int, value: float) -> str:
    """A snapshot as glassnet wrote it before the database kept small blobs: a file."""
    sha, data = _snapshot_bytes(value)
    store.blobs.put_bytes(data)
    then = time.time() - 2 * 3600  # written long ago (a delete leaves a file just touched)
    os.utime(store.blobs.path(sha), (then, then))
    with store.backend.transaction() as c:
        c.execute("INSERT INTO snapshots (run_id, step, label, sha, time) VALUES"
                  " (?, ?, 'epoch', ?, 0.0)", (run_id, step, sha))
    return sha


def test_snapshot_files_of_an_older_store_still_read_and_are_deleted(store):
    run = init("p", store=store)
    run.finish()
    old = _legacy_snapshot(store, run.id, 0, 2.0)
    store.log_snapshot(run.id, 1, "epoch", {"w": np.full(3, 3.0, dtype=np.float32)})
    store.flush()
    new = store.snapshot_info(run.id)[1]["sha"]
    assert set(blob_files(store)) == {old} and set(inline_blobs(store)) == {new}
    np.testing.assert_array_equal(store.snapshot(run.id, 0)["w"], np.full(3, 2.0))
    np.testing.assert_array_equal(store.snapshot(run.id, 1)["w"], np.full(3, 3.0))
    plan = store.delete_run(run.id, dry_run=True)
    assert plan.blobs == {old: len(_snapshot_bytes(2.0)[1]), new: inline_blobs(store)[new]}
    done = store.delete_run(run.id)
    assert blob_files(store) == {} and inline_blobs(store) == {}
    assert done.freed_bytes == plan.freed_bytes


def test_a_blob_both_a_file_and_in_the_database_is_freed_whole(store):
    """The same bytes stored by an older glassnet as a file and by this one in the
    database (a snapshot repeated after an upgrade): both copies go, counted once each."""
    run = init("p", store=store)
    run.finish()
    sha = _legacy_snapshot(store, run.id, 0, 4.0)
    store.log_snapshot(run.id, 1, "epoch", {"w": np.full(3, 4.0, dtype=np.float32)})
    store.flush()
    assert store.snapshot_info(run.id)[1]["sha"] == sha
    size = len(_snapshot_bytes(4.0)[1])
    assert blob_files(store) == {sha: size} and inline_blobs(store) == {sha: size}
    done = store.delete_run(run.id)
    assert done.blobs == {sha: 2 * size} and done.left == []
    assert blob_files(store) == {} and inline_blobs(store) == {}


def test_a_store_of_schema_3_upgrades_and_its_snapshot_files_read(store_dir):
    old_store(store_dir, 3, "files")
    store = Store(store_dir)
    assert store.schema_version == 4
    sha = _legacy_snapshot(store, "0ldrun00", 7, 5.0)
    np.testing.assert_array_equal(store.snapshot("0ldrun00", "end")["w"], np.full(3, 5.0))
    assert inline_blobs(store) == {} and set(blob_files(store)) == {sha}
    store.close()
